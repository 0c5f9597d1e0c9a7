//! What each reader sees of disputes: ListDisputes lists exactly the
//! disputes GetDispute shows (the SQL twin `DisputeVisibility` agrees with
//! `policy::can_see_dispute`), and the change feed carries the events of
//! exactly those, typed; the court sees a dispute once the parties applied
//! to it. Parties' phones are whole for the team and for the party
//! themselves, masked for everyone else.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use futures::TryStreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::mediation_world::*;
use petition_tests::*;

use crate::support::{assert_typed, expect_error};

/// Every dispute change `client` may see after `after` through `filter`,
/// page by page.
async fn dispute_changes(client: &Client, filter: pb::ChangeFilter) -> Result<Vec<pb::DisputeEvent>> {
    let mut events = Vec::new();
    let mut position = 0;
    loop {
        let page = client
            .feed()
            .list_changes(pb::ListChangesRequest {
                after_position: position,
                page_size: 200,
                filter: Some(filter.clone()),
            })
            .await?;
        for change in page.changes {
            assert_typed(&change);
            let aggregate_type = change.aggregate_type();
            match change.event {
                Some(pb::change::Event::DisputeEvent(event)) => {
                    assert_eq!(aggregate_type, pb::AggregateType::Dispute);
                    assert_eq!(change.aggregate_id, event.dispute_id);
                    events.push(event);
                }
                Some(pb::change::Event::CaseEvent(_)) => {
                    assert!(filter.aggregate_types.is_empty(), "a case change through a dispute filter")
                }
                Some(pb::change::Event::LegalAidEvent(_)) => {
                    assert!(filter.aggregate_types.is_empty(), "a legal-aid change through a dispute filter")
                }
                Some(pb::change::Event::CourtReferralEvent(_)) => {
                    assert!(filter.aggregate_types.is_empty(), "a referral change through a dispute filter")
                }
                Some(pb::change::Event::RatingEvent(_)) => {
                    assert!(filter.aggregate_types.is_empty(), "a rating change through a dispute filter")
                }
                Some(pb::change::Event::SupervisionEvent(_)) => {
                    assert!(filter.aggregate_types.is_empty(), "a supervision change through a dispute filter")
                }
                Some(pb::change::Event::BacklogCaseEvent(_)) => {
                    assert!(filter.aggregate_types.is_empty(), "a backlog change through a dispute filter")
                }
                Some(pb::change::Event::ReceptionBookingEvent(_)) => {
                    assert!(filter.aggregate_types.is_empty(), "a reception change through a dispute filter")
                }
                None => bail!("a change without an event"),
            }
        }
        position = page.next_position;
        if page.caught_up {
            return Ok(events);
        }
    }
}

/// Waits until the feed serves every event of `disputes` (as the admin's
/// GetDispute counts them): an event becomes readable once every older
/// transaction in the database cluster has ended, and other tests write
/// in it too.
async fn settle(admin: &Client, disputes: &[&pb::Dispute]) -> Result<()> {
    let mut want = BTreeMap::new();
    for d in disputes {
        want.insert(d.id.clone(), admin.mediation().get_dispute(&d.id).await?.last_event_sequence);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let feed = by_dispute(&dispute_changes(admin, only_disputes()).await?);
        let got: BTreeMap<String, i64> =
            feed.into_iter().filter(|(id, _)| want.contains_key(id)).map(|(id, s)| (id, s.len() as i64)).collect();
        if got == want {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            bail!("the feed stays at {got:?}, below {want:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn only_disputes() -> pb::ChangeFilter {
    pb::ChangeFilter { aggregate_types: vec![pb::AggregateType::Dispute.into()], ..Default::default() }
}

/// Per dispute, the sequences of its events a reader's feed carries.
fn by_dispute(events: &[pb::DisputeEvent]) -> BTreeMap<String, Vec<i64>> {
    let mut map: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for e in events {
        map.entry(e.dispute_id.clone()).or_default().push(e.sequence);
    }
    map
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reader_lists_gets_and_follows_exactly_the_disputes_it_may_see() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = MediationWorld::create(&server).await?;
    let cw = &w.cw;
    let admin = &cw.admin;

    // d1: settled at the village team, between 张三 and 李四.
    let d1 = w.dispute_in(DisputeStage::Settled, "通道纠纷").await?;
    // d2: at the other village, between 李四 and a neighbour.
    let d2 = w
        .other_mediator
        .mediation()
        .create_dispute(pb::CreateDisputeRequest {
            team_id: w.other_village_team.id.clone(),
            dispute: Some(pb::DisputeDraft {
                region_code: w.village_2.code.clone(),
                parties: vec![
                    w.party_b.as_party(),
                    pb::NewDisputeParty { name: "新民村邻居".into(), phone: phone(), ..Default::default() },
                ],
                ..w.draft("新民村的事")
            }),
            source: pb::DisputeSource::Application.into(),
            ..Default::default()
        })
        .await?;
    // d3: settled at the village team; applied to the court below.
    let d3 = w.dispute_in(DisputeStage::Settled, "排水纠纷").await?;
    // d4: the court refers a dispute before filing (诉前委派).
    let d4 = cw
        .partner
        .mediation()
        .create_dispute(pb::CreateDisputeRequest {
            team_id: w.village_team.id.clone(),
            dispute: Some(w.draft("诉前委派")),
            source: pb::DisputeSource::CourtBeforeFiling.into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(d4.referring_court_id, cw.court.id);
    // d5: escalated from the village to the township.
    let d5 = w.dispute_in(DisputeStage::Accepted, "山林纠纷").await?;
    let d5 = w
        .village_head
        .mediation()
        .escalate_dispute(pb::EscalateDisputeRequest {
            dispute_id: d5.id.clone(),
            team_id: w.township_team.id.clone(),
            reason: "村调解未果".into(),
            ..Default::default()
        })
        .await?;
    // d6: an accepted case of the owner, diverted by unit A.
    let case = cw.accepted_case("物业纠纷").await?;
    let d6 = cw
        .handler
        .mediation()
        .refer_case_to_mediation(pb::ReferCaseToMediationRequest {
            case_id: case.id.clone(),
            team_id: w.township_team.id.clone(),
            other_parties: vec![pb::NewDisputeParty {
                name: "物业公司".into(),
                organization: true,
                phone: phone(),
                ..Default::default()
            }],
            category: pb::DisputeCategory::Property.into(),
            ..Default::default()
        })
        .await?;
    // d7: in county B, filed online by 李四 himself at a team there.
    let committee_b =
        organization(admin, "于都县人民调解委员会", pb::OrganizationKind::MediationCommittee, &cw.dir.county_b, None)
            .await?;
    let team_b =
        team(admin, "于都县调解中心", pb::MediationTeamKind::CountyCommittee, &committee_b, &cw.dir.county_b, &[])
            .await?;
    let d7 = w
        .party_b
        .mediation()
        .create_dispute(pb::CreateDisputeRequest {
            team_id: team_b.id.clone(),
            dispute: Some(pb::DisputeDraft {
                region_code: cw.dir.county_b.code.clone(),
                parties: vec![
                    w.party_b.as_party(),
                    pb::NewDisputeParty {
                        name: "于都某公司".into(),
                        organization: true,
                        phone: phone(),
                        ..Default::default()
                    },
                ],
                category: pb::DisputeCategory::Labour.into(),
                ..w.draft("欠薪纠纷")
            }),
            source: pb::DisputeSource::Application.into(),
            ..Default::default()
        })
        .await?;

    let readers: Vec<(&str, &Client)> = vec![
        ("village head", &w.village_head.client),
        ("village mediator", &w.village_mediator.client),
        ("other village's head", &w.other_mediator.client),
        ("township head", &w.township_head.client),
        ("county head", &w.county_head.client),
        ("clerk", &cw.clerk),
        ("clerk B", &cw.clerk_b),
        ("handler", &cw.handler),
        ("handler B", &cw.handler_b),
        ("court", &cw.partner),
        ("张三", &w.party_a.client),
        ("李四", &w.party_b.client),
        ("the owner", &cw.owner),
        ("non-party", &cw.other_citizen),
        ("admin", admin),
    ];
    let all = [&d1, &d2, &d3, &d4, &d5, &d6, &d7];
    let names: BTreeMap<String, &str> =
        all.iter().zip(["d1", "d2", "d3", "d4", "d5", "d6", "d7"]).map(|(d, name)| (d.id.clone(), name)).collect();
    let named = |ids: &BTreeSet<String>| ids.iter().map(|id| names.get(id).copied().unwrap_or("?")).collect::<Vec<_>>();

    // What each reader may get, lists and follows.
    settle(admin, &all).await?;
    let mut seen: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (who, client) in &readers {
        let mut gets = BTreeSet::new();
        for d in all {
            match client.mediation().get_dispute(&d.id).await {
                Ok(got) => {
                    assert_eq!(got.id, d.id);
                    gets.insert(d.id.clone());
                }
                Err(e) if e.code() == Code::NotFound => {}
                Err(e) => bail!("{who} gets {}: {e}", d.id),
            }
        }
        let listed: Vec<pb::Dispute> = client
            .mediation()
            .disputes(pb::ListDisputesRequest { page_size: 2, ..Default::default() })
            .try_collect()
            .await?;
        let lists: BTreeSet<String> = listed.iter().map(|d| d.id.clone()).collect();
        assert_eq!(named(&lists), named(&gets), "{who}: ListDisputes and GetDispute disagree");
        let listed_ids: Vec<&str> = listed.iter().map(|d| d.id.as_str()).collect();
        let mut newest_first = listed_ids.clone();
        newest_first.sort_by(|a, b| b.cmp(a));
        assert_eq!(listed_ids, newest_first, "{who}: newest first");
        let feed = by_dispute(&dispute_changes(client, only_disputes()).await?);
        let followed: BTreeSet<String> = feed.keys().cloned().collect();
        assert_eq!(named(&followed), named(&gets), "{who}: the feed and GetDispute disagree");
        for d in &listed {
            let want: Vec<i64> = (1..=d.last_event_sequence).collect();
            assert_eq!(feed.get(&d.id), Some(&want), "{who}: every event of {}", names[&d.id]);
        }
        seen.insert(who, named(&gets));
    }
    let village = vec!["d1", "d3", "d4", "d5"];
    let county_a = vec!["d1", "d2", "d3", "d4", "d5", "d6"];
    let want: BTreeMap<&str, Vec<&str>> = [
        ("village head", village.clone()),
        ("village mediator", village.clone()),
        ("other village's head", vec!["d2"]),
        ("township head", county_a.clone()),
        ("county head", county_a.clone()),
        ("clerk", county_a.clone()),
        ("clerk B", vec!["d7"]),
        ("handler", county_a.clone()),
        ("handler B", vec!["d7"]),
        ("court", vec!["d4"]),
        ("张三", village.clone()),
        ("李四", vec!["d1", "d2", "d3", "d4", "d5", "d7"]),
        ("the owner", vec!["d6"]),
        ("non-party", vec![]),
        ("admin", vec!["d1", "d2", "d3", "d4", "d5", "d6", "d7"]),
    ]
    .into_iter()
    .collect();
    assert_eq!(seen, want);

    // Filters narrow what a reader sees, never widen it.
    let filtered = |client: &Client, filter: pb::ListDisputesRequest| {
        let client = client.clone();
        async move {
            let found: Vec<pb::Dispute> = client.mediation().disputes(filter).try_collect().await?;
            Ok::<_, anyhow::Error>(found.into_iter().map(|d| d.id).collect::<BTreeSet<String>>())
        }
    };
    let with = |set: fn(&mut pb::ListDisputesRequest)| {
        let mut filter = pb::ListDisputesRequest::default();
        set(&mut filter);
        filter
    };
    let settled = with(|f| f.states = vec![pb::DisputeState::Settled.into()]);
    assert_eq!(named(&filtered(admin, settled.clone()).await?), ["d1", "d3"]);
    assert!(filtered(&cw.clerk_b, settled).await?.is_empty());
    let from_court = with(|f| f.source = pb::DisputeSource::CourtBeforeFiling.into());
    assert_eq!(named(&filtered(&w.party_b.client, from_court).await?), ["d4"]);
    let labour = with(|f| f.category = pb::DisputeCategory::Labour.into());
    assert_eq!(named(&filtered(admin, labour.clone()).await?), ["d7"]);
    assert!(filtered(&cw.clerk, labour).await?.is_empty());
    let in_village_2 = pb::ListDisputesRequest { region_code: w.village_2.code.clone(), ..Default::default() };
    assert_eq!(named(&filtered(&cw.clerk, in_village_2.clone()).await?), ["d2"]);
    assert!(filtered(&w.village_head.client, in_village_2).await?.is_empty());
    let by_mediator =
        pb::ListDisputesRequest { mediator_member_id: w.village_mediator.member.id.clone(), ..Default::default() };
    assert_eq!(named(&filtered(&w.township_head.client, by_mediator).await?), ["d1", "d3"]);
    let at_township = pb::ListDisputesRequest { team_id: w.township_team.id.clone(), ..Default::default() };
    assert_eq!(named(&filtered(&w.village_head.client, at_township.clone()).await?), ["d5"]);
    assert_eq!(named(&filtered(&cw.clerk, at_township).await?), ["d5", "d6"]);

    // The court sees d3, and its whole past, once the parties applied to it.
    let court = cw.partner.mediation();
    expect_error(court.get_dispute(&d3.id).await, Code::NotFound, Some("NOT_FOUND"));
    let d3 = w
        .village_mediator
        .mediation()
        .apply_for_court_confirmation(pb::ApplyForCourtConfirmationRequest {
            dispute_id: d3.id.clone(),
            court_organization_id: cw.court.id.clone(),
            all_parties_apply: true,
            ..Default::default()
        })
        .await?;
    settle(admin, &[&d3]).await?;
    let court_feed = by_dispute(&dispute_changes(&cw.partner, only_disputes()).await?);
    let want: Vec<i64> = (1..=d3.last_event_sequence).collect();
    assert_eq!(court_feed.get(&d3.id), Some(&want));
    let listed: Vec<pb::Dispute> = court.disputes(Default::default()).try_collect().await?;
    let listed: BTreeSet<String> = listed.into_iter().map(|d| d.id).collect();
    assert_eq!(named(&listed), ["d3", "d4"]);

    // A filter on event types narrows the feed to them.
    let settled_only =
        pb::ChangeFilter { dispute_event_types: vec![pb::DisputeEventType::Settled.into()], ..Default::default() };
    let settled = dispute_changes(&w.village_head.client, settled_only).await?;
    assert!(settled.iter().all(|e| e.r#type() == pb::DisputeEventType::Settled), "{settled:?}");
    let settled: BTreeSet<String> = settled.into_iter().map(|e| e.dispute_id).collect();
    assert_eq!(named(&settled), ["d1", "d3"]);

    // Phones: whole for the team and for each party's own, masked for the rest.
    let phones = |d: &pb::Dispute| d.parties.iter().map(|p| p.phone.clone()).collect::<Vec<_>>();
    let (a, b) = (w.party_a.phone.clone(), w.party_b.phone.clone());
    let (ma, mb) = (masked(&a), masked(&b));
    for (who, client, want) in [
        ("village head", &w.village_head.client, [&a, &b]),
        ("village mediator", &w.village_mediator.client, [&a, &b]),
        ("admin", admin, [&a, &b]),
        ("张三", &w.party_a.client, [&a, &mb]),
        ("李四", &w.party_b.client, [&ma, &b]),
        ("township head", &w.township_head.client, [&ma, &mb]),
        ("clerk", &cw.clerk, [&ma, &mb]),
        ("court", &cw.partner, [&ma, &mb]),
    ] {
        let got = client.mediation().get_dispute(&d3.id).await?;
        assert_eq!(phones(&got), want.map(|p| p.clone()), "{who} GetDispute");
        let listed: Vec<pb::Dispute> = client.mediation().disputes(Default::default()).try_collect().await?;
        let in_list = listed.into_iter().find(|d| d.id == d3.id).context("listed")?;
        assert_eq!(phones(&in_list), want.map(|p| p.clone()), "{who} ListDisputes");
    }
    // A transition's answer is the actor's view too.
    let answered = court
        .answer_court_confirmation(pb::AnswerCourtConfirmationRequest {
            dispute_id: d3.id.clone(),
            decision: pb::ConfirmationState::Confirmed.into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(phones(&answered), [ma.clone(), mb.clone()], "the court's answer");
    // After escalation the village team no longer calls the parties.
    let at_township = w.village_head.mediation().get_dispute(&d5.id).await?;
    assert_eq!(phones(&at_township), [ma.clone(), mb.clone()], "the village head, after d5 went up");
    let township_view = w.township_head.mediation().get_dispute(&d5.id).await?;
    assert_eq!(phones(&township_view), [a.clone(), b.clone()], "the township team now handles d5");
    // Members' phones: whole for the team and admins, masked for the county's clerk.
    let members = |client: &Client| {
        let team_id = w.village_team.id.clone();
        let client = client.clone();
        async move {
            let members: Vec<pb::TeamMember> = client.mediation().team_members(team_id).try_collect().await?;
            Ok::<_, anyhow::Error>(members.into_iter().map(|m| (m.id, m.phone)).collect::<BTreeMap<_, _>>())
        }
    };
    let head_member = &w.village_head.member.id;
    assert_eq!(members(&w.village_mediator.client).await?.get(head_member), Some(&w.village_head.phone));
    assert_eq!(members(admin).await?.get(head_member), Some(&w.village_head.phone));
    assert_eq!(members(&cw.clerk).await?.get(head_member), Some(&masked(&w.village_head.phone)));
    Ok(())
}
