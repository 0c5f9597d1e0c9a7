//! Mediation teams and their members as an admin and a team head manage
//! them: who covers a place, the places nobody covers, a retired team, a
//! member who still mediates open disputes, a member removed.

use anyhow::Result;
use futures::TryStreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::mediation_world::*;
use petition_tests::*;

use crate::support::{expect_error, expect_invalid, expect_precondition};

async fn team_ids(client: &Client, filter: pb::ListTeamsRequest) -> Result<Vec<String>> {
    let teams: Vec<pb::MediationTeam> = client.mediation().teams(filter).try_collect().await?;
    Ok(teams.into_iter().map(|t| t.id).collect())
}

async fn uncovered(client: &Client, region: &pb::Region, level: pb::RegionLevel) -> Result<Vec<String>> {
    let answer = client
        .mediation()
        .list_uncovered_regions(pb::ListUncoveredRegionsRequest {
            region_code: region.code.clone(),
            level: level.into(),
            ..Default::default()
        })
        .await?;
    Ok(answer.regions.into_iter().map(|r| r.code).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_cover_places_and_members_leave_only_when_free() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = MediationWorld::create(&server).await?;
    let admin = &w.cw.admin;
    let county = &w.cw.dir.county_a;

    // Who may take a dispute arising in 和平村: its team, the township's, the county's.
    let covering = team_ids(
        &w.party_a.client,
        pb::ListTeamsRequest { covering_region_code: w.village.code.clone(), ..Default::default() },
    )
    .await?;
    let mut want = vec![w.village_team.id.clone(), w.township_team.id.clone(), w.county_team.id.clone()];
    want.sort();
    assert_eq!(covering, want);
    let villages = team_ids(
        admin,
        pb::ListTeamsRequest { kind: pb::MediationTeamKind::VillageCommittee.into(), ..Default::default() },
    )
    .await?;
    assert_eq!(villages.len(), 2);
    let in_village_2 =
        team_ids(admin, pb::ListTeamsRequest { region_code: w.village_2.code.clone(), ..Default::default() }).await?;
    assert_eq!(in_village_2, [w.other_village_team.id.as_str()]);
    assert!(uncovered(admin, county, pb::RegionLevel::Village).await?.is_empty(), "both villages have a team");

    // Retired, the other village's team takes nothing new and its village is uncovered.
    let current = admin.mediation().get_team(&w.other_village_team.id).await?;
    let retire = |etag: &str| pb::UpdateTeamRequest {
        team: Some(pb::MediationTeam { id: current.id.clone(), retired: true, ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["retired".into()] }),
        etag: etag.into(),
        ..Default::default()
    };
    expect_error(admin.mediation().update_team(retire("999")).await, Code::Aborted, Some("ETAG_MISMATCH"));
    let mut bad_mask = retire(&current.etag);
    bad_mask.update_mask = Some(prost_types::FieldMask { paths: vec!["region_code".into()] });
    expect_invalid(admin.mediation().update_team(bad_mask).await, &["update_mask"]);
    let retired = admin.mediation().update_team(retire(&current.etag)).await?;
    assert!(retired.retired);
    assert_ne!(retired.etag, current.etag);
    assert!(
        uncovered(&w.cw.clerk, county, pb::RegionLevel::Village).await?.is_empty(),
        "新民村 is still the township team's"
    );
    assert!(uncovered(&w.county_head.client, county, pb::RegionLevel::Township).await?.is_empty());
    expect_precondition(
        w.other_mediator
            .mediation()
            .create_dispute(pb::CreateDisputeRequest {
                team_id: w.other_village_team.id.clone(),
                dispute: Some(pb::DisputeDraft { region_code: w.village_2.code.clone(), ..w.draft("退役后") }),
                source: pb::DisputeSource::Application.into(),
                ..Default::default()
            })
            .await,
        "TEAM_NOT_COVERING",
        &format!("teams/{}", w.other_village_team.id),
    );
    // In county B nobody mediates yet; a village team covers its village
    // until it retires.
    let county_b = &w.cw.dir.county_b;
    let region = |code: &str, level: pb::RegionLevel, parent: &str| pb::CreateRegionRequest {
        code: code.into(),
        name: format!("于都 {code}"),
        level: level.into(),
        parent_code: parent.into(),
    };
    let township_b =
        admin.directory().create_region(region("360731001", pb::RegionLevel::Township, &county_b.code)).await?;
    let village_b =
        admin.directory().create_region(region("360731001001", pb::RegionLevel::Village, &township_b.code)).await?;
    let clerk_b = &w.cw.clerk_b;
    assert_eq!(uncovered(clerk_b, county_b, pb::RegionLevel::Village).await?, [village_b.code.as_str()]);
    assert_eq!(uncovered(clerk_b, county_b, pb::RegionLevel::Township).await?, [township_b.code.as_str()]);
    let committee_b =
        organization(admin, "于都村调委会", pb::OrganizationKind::MediationCommittee, &village_b, None).await?;
    let team_b =
        team(admin, "于都村调委会", pb::MediationTeamKind::VillageCommittee, &committee_b, &village_b, &[]).await?;
    assert!(uncovered(clerk_b, county_b, pb::RegionLevel::Village).await?.is_empty());
    assert_eq!(uncovered(clerk_b, county_b, pb::RegionLevel::Township).await?, [township_b.code.as_str()]);
    let retire_b = pb::UpdateTeamRequest {
        team: Some(pb::MediationTeam { id: team_b.id.clone(), retired: true, ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["retired".into()] }),
        ..Default::default()
    };
    admin.mediation().update_team(retire_b).await?;
    assert_eq!(uncovered(clerk_b, county_b, pb::RegionLevel::Village).await?, [village_b.code.as_str()]);

    let active = team_ids(admin, pb::ListTeamsRequest::default()).await?;
    assert!(!active.contains(&w.other_village_team.id), "ListTeams leaves retired teams out");
    let all = team_ids(admin, pb::ListTeamsRequest { include_retired: true, ..Default::default() }).await?;
    assert!(all.contains(&w.other_village_team.id), "… unless asked");

    // Members: a staff account must hold ROLE_MEDIATOR; one without an account needs a phone.
    let head = w.village_head.mediation();
    let member = |account_id: &str, phone: &str| pb::AddTeamMemberRequest {
        team_id: w.village_team.id.clone(),
        display_name: "新调解员".into(),
        role: pb::TeamMemberRole::Mediator.into(),
        account_id: account_id.into(),
        phone: phone.into(),
        ..Default::default()
    };
    let (_, clerk_account) =
        signed_in_staff(admin, "clerk.not.mediator", &w.cw.dir.bureau_a, &[pb::Role::Clerk]).await?;
    expect_invalid(head.add_team_member(member(&clerk_account.id, "")).await, &["account_id"]);
    expect_invalid(head.add_team_member(member("", "")).await, &["phone"]);
    expect_error(
        head.add_team_member(member(&w.village_mediator.account_id, "")).await,
        Code::AlreadyExists,
        Some("ALREADY_EXISTS"),
    );

    // The plain mediator mediates an open dispute: he stays until it is reassigned.
    let open = w.dispute_in(DisputeStage::Accepted, "未结纠纷").await?;
    let members: Vec<pb::TeamMember> = head.team_members(&w.village_team.id).try_collect().await?;
    let load = members.iter().find(|m| m.id == w.village_mediator.member.id).map(|m| m.open_dispute_count);
    assert_eq!(load, Some(1));
    let remove = pb::RemoveTeamMemberRequest {
        team_id: w.village_team.id.clone(),
        member_id: w.village_mediator.member.id.clone(),
        ..Default::default()
    };
    expect_precondition(
        head.remove_team_member(remove.clone()).await,
        "MEMBER_HAS_OPEN_DISPUTES",
        &format!("teams/{}/members/{}", w.village_team.id, w.village_mediator.member.id),
    );
    head.recuse_mediator(pb::RecuseMediatorRequest {
        dispute_id: open.id.clone(),
        reason: "调离".into(),
        ..Default::default()
    })
    .await?;
    let removed = head.remove_team_member(remove.clone()).await?;
    assert!(!removed.active);
    let listed: Vec<pb::TeamMember> = head.team_members(&w.village_team.id).try_collect().await?;
    assert!(listed.iter().all(|m| m.id != removed.id), "an ended membership is not listed");
    let with_inactive = head
        .list_team_members(pb::ListTeamMembersRequest {
            team_id: w.village_team.id.clone(),
            include_inactive: true,
            ..Default::default()
        })
        .await?;
    assert!(with_inactive.members.iter().any(|m| m.id == removed.id && !m.active), "… unless asked");
    // No longer a member, he no longer sees the team's disputes nor acts for it.
    let former = w.village_mediator.mediation();
    expect_error(former.get_dispute(&open.id).await, Code::NotFound, Some("NOT_FOUND"));
    assert!(former.list_disputes(Default::default()).await?.disputes.is_empty());
    expect_error(
        former
            .record_screening(pb::RecordScreeningRequest {
                team_id: w.village_team.id.clone(),
                area: "一组".into(),
                zero_report: true,
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        Some("PERMISSION_DENIED"),
    );
    // Nor can a member of another team be removed through this one.
    expect_error(
        head.remove_team_member(pb::RemoveTeamMemberRequest {
            team_id: w.village_team.id.clone(),
            member_id: w.township_head.member.id.clone(),
            ..Default::default()
        })
        .await,
        Code::NotFound,
        Some("NOT_FOUND"),
    );
    let team = head.get_team(&w.village_team.id).await?;
    assert_eq!((team.member_count, team.open_dispute_count), (1, 1));
    expect_error(head.get_team(uuid::Uuid::now_v7().to_string()).await, Code::NotFound, Some("NOT_FOUND"));
    Ok(())
}

/// A mediator's app opens on their own teams and their own disputes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mediator_lists_their_own_teams_and_disputes() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = MediationWorld::create(&server).await?;
    let admin = &w.cw.admin;
    // A mediator's own teams, and the disputes they are the mediator of.
    let mine = team_ids(&w.village_head.client, pb::ListTeamsRequest { mine: true, ..Default::default() }).await?;
    assert_eq!(mine, [w.village_team.id.as_str()]);
    assert!(team_ids(admin, pb::ListTeamsRequest { mine: true, ..Default::default() }).await?.is_empty());
    let assigned = w.dispute_in(DisputeStage::Awaiting, "院墙渗水").await?;
    w.dispute_in(DisputeStage::Recorded, "无人调解").await?;
    let own = |client: &petition_sdk::Client| {
        let mediation = client.mediation();
        async move {
            let request = pb::ListDisputesRequest { assigned_to_me: true, ..Default::default() };
            Ok::<_, petition_sdk::Error>(
                mediation.list_disputes(request).await?.disputes.into_iter().map(|d| d.id).collect::<Vec<_>>(),
            )
        }
    };
    assert_eq!(own(&w.village_mediator.client).await?, [assigned.id.as_str()]);
    assert!(own(&w.village_head.client).await?.is_empty(), "the head sees both, mediates neither");
    Ok(())
}
