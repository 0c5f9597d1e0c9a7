//! Leaders owning key cases (领导包案, 重点领办) through the SDK: a leader
//! takes a case and finds it, with its clock, among their own; the bureau
//! assigns and reassigns; the owner instructs, records progress and
//! releases, each step a typed event in the timeline and the change feed;
//! every leadership RPC denied to whoever may not call it.

use anyhow::{Context, Result};
use futures::TryStreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::courts_world::all_changes;
use petition_tests::*;

use crate::support::{assert_typed, assert_typed_event, eventually, expect_error, expect_invalid, expect_precondition};

/// The case world, with leaders at every level and one elsewhere.
struct Leaders {
    w: CaseWorld,
    /// Leader of county A's government (the case's county).
    county: Client,
    county_id: String,
    /// Leader of township A's office (the case's township).
    township: Client,
    township_id: String,
    /// City leader at the city bureau.
    city_id: String,
    /// Leader in county B: outside the case's jurisdiction.
    county_b: Client,
    county_b_id: String,
    /// Leader of a village in township A.
    village: Client,
    village_id: String,
    /// Township A's village, where `village` works.
    village_region: pb::Region,
}

impl Leaders {
    async fn create(server: &TestServer) -> Result<Leaders> {
        use pb::OrganizationKind as Kind;
        let w = CaseWorld::create(server).await?;
        let county_id = w.reviewer.identity().get_me().await?.id;
        let city_id = w.leader.identity().get_me().await?.id;
        let office = organization(&w.admin, "解放街道办事处", Kind::Leadership, &w.dir.township_a, None).await?;
        let (township, township_account) =
            signed_in_staff(&w.admin, "leader.town", &office, &[pb::Role::Leader]).await?;
        let (county_b, county_b_account) =
            signed_in_staff(&w.admin, "leader.b", &w.dir.bureau_b, &[pb::Role::Leader]).await?;
        let village_region = w
            .admin
            .directory()
            .create_region(pb::CreateRegionRequest {
                code: "360702001001".into(),
                name: "厚德路社区".into(),
                level: pb::RegionLevel::Village.into(),
                parent_code: w.dir.township_a.code.clone(),
            })
            .await?;
        let committee = organization(&w.admin, "厚德路社区居委会", Kind::Leadership, &village_region, None).await?;
        let (village, village_account) =
            signed_in_staff(&w.admin, "leader.village", &committee, &[pb::Role::Leader]).await?;
        Ok(Leaders {
            county: w.reviewer.clone(),
            county_id,
            township,
            township_id: township_account.id,
            city_id,
            county_b,
            county_b_id: county_b_account.id,
            village,
            village_id: village_account.id,
            village_region,
            w,
        })
    }
}

fn take(case: &pb::Case) -> pb::TakeCaseOwnershipRequest {
    pb::TakeCaseOwnershipRequest { case_id: case.id.clone(), note: "本人包案".into(), ..Default::default() }
}

fn assign(case: &pb::Case, leader: &str) -> pb::AssignCaseLeaderRequest {
    pb::AssignCaseLeaderRequest {
        case_id: case.id.clone(),
        leader_account_id: leader.into(),
        note: "请牵头化解".into(),
        ..Default::default()
    }
}

fn release(case: &pb::Case, reason: &str) -> pb::ReleaseCaseOwnershipRequest {
    pb::ReleaseCaseOwnershipRequest { case_id: case.id.clone(), reason: reason.into(), ..Default::default() }
}

fn record(case: &pb::Case, kind: pb::LeaderNoteKind, text: &str) -> pb::RecordLeaderInstructionRequest {
    pb::RecordLeaderInstructionRequest {
        case_id: case.id.clone(),
        kind: kind.into(),
        text: text.into(),
        ..Default::default()
    }
}

/// The ids of the cases `who` lists with `filter`.
async fn listed(who: &Client, filter: pb::ListCasesRequest) -> Result<Vec<pb::Case>> {
    Ok(who.cases().list_cases(filter).await?.cases)
}

fn owned_by_me() -> pb::ListCasesRequest {
    pb::ListCasesRequest { owned_by_me: true, ..Default::default() }
}

async fn case_events(client: &Client, case_id: &str) -> Result<Vec<pb::CaseEvent>> {
    let events: Vec<pb::CaseEvent> = client.cases().case_events(case_id).try_collect().await?;
    events.iter().for_each(assert_typed_event);
    Ok(events)
}

fn assigned(event: &pb::CaseEvent) -> Option<&pb::CaseLeaderAssigned> {
    match &event.detail {
        Some(pb::case_event::Detail::LeaderAssigned(detail)) => Some(detail),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_takes_a_case_and_lists_it_with_its_clock() -> Result<()> {
    let server = TestServer::spawn().await?;
    let l = Leaders::create(&server).await?;
    let w = &l.w;
    let case = w.accepted_case("包案-领办").await?;
    let other = w.accepted_case("包案-未领").await?;

    let request = pb::TakeCaseOwnershipRequest {
        request_id: petition_sdk::new_request_id(),
        etag: case.etag.clone(),
        ..take(&case)
    };
    let owned = l.county.cases().take_case_ownership(request.clone()).await?;
    assert_eq!(owned.owning_leader_id, l.county_id);
    assert!(!owned.ownership_start_date.is_empty());
    // A replay answers as the first call did.
    assert_eq!(l.county.cases().take_case_ownership(request).await?, owned);

    // The leader's own cases, with their clocks: this one and not the other.
    let mine = listed(&l.county, owned_by_me()).await?;
    assert_eq!(mine.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [case.id.as_str()]);
    let listed_case = &mine[0];
    assert_eq!(listed_case.due_date, case.due_date);
    assert!(!listed_case.due_date.is_empty(), "an accepted case runs its reply clock");
    assert_eq!(listed_case.deadlines.as_ref().map(|d| d.reply_by.as_str()), Some(case.due_date.as_str()));
    assert!(!listed_case.overdue);
    assert_eq!(listed_case.owning_leader_id, l.county_id);
    // The bureau finds the leader's cases by the leader's id.
    let by_id = pb::ListCasesRequest { owning_leader_id: l.county_id.clone(), ..Default::default() };
    assert_eq!(listed(&w.clerk, by_id.clone()).await?.len(), 1);
    assert!(listed(&l.township, owned_by_me()).await?.is_empty());
    // The petitioner sees who owns their case.
    assert_eq!(w.owner.cases().get_case(&case.id).await?.owning_leader_id, l.county_id);
    assert!(w.owner.cases().get_case(&other.id).await?.owning_leader_id.is_empty());
    // The two filters must name the same account.
    let both = pb::ListCasesRequest { owned_by_me: true, ..by_id };
    expect_invalid(l.township.cases().list_cases(both).await, &["owning_leader_id"]);

    // Owned: neither the owner nor another leader takes it (the bureau
    // reassigns); a stale etag is ABORTED.
    let subject = format!("cases/{}", case.id);
    expect_precondition(l.county.cases().take_case_ownership(take(&case)).await, "CASE_ALREADY_OWNED", &subject);
    expect_precondition(l.township.cases().take_case_ownership(take(&case)).await, "CASE_ALREADY_OWNED", &subject);
    let stale = pb::TakeCaseOwnershipRequest { etag: case.etag.clone(), ..take(&other) };
    let stale = pb::TakeCaseOwnershipRequest { etag: format!("{}0", stale.etag), ..stale };
    expect_error(l.township.cases().take_case_ownership(stale).await, Code::Aborted, Some("ETAG_MISMATCH"));
    // A township leader takes a case of their township.
    assert_eq!(l.township.cases().take_case_ownership(take(&other)).await?.owning_leader_id, l.township_id);

    let events = case_events(&l.county, &case.id).await?;
    let taken = events.iter().filter_map(assigned).collect::<Vec<_>>();
    assert_eq!(taken.len(), 1, "the replay recorded nothing");
    assert_eq!(
        (taken[0].leader_account_id.as_str(), taken[0].previous_leader_account_id.as_str(), taken[0].kind()),
        (l.county_id.as_str(), "", pb::LeaderAssignmentKind::Took)
    );
    assert_eq!(taken[0].start_date, owned.ownership_start_date);
    assert_eq!(taken[0].note, "本人包案");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bureau_assigns_and_reassigns_and_the_owner_instructs_and_releases() -> Result<()> {
    let server = TestServer::spawn().await?;
    let l = Leaders::create(&server).await?;
    let w = &l.w;
    let case = w.routed_case("包案-交办").await?;

    // A clerk assigns the township leader, then reassigns to the county's;
    // a city leader reassigns back below their level.
    let first = w.clerk.cases().assign_case_leader(assign(&case, &l.township_id)).await?;
    assert_eq!(first.owning_leader_id, l.township_id);
    let second = w.clerk.cases().assign_case_leader(assign(&case, &l.county_id)).await?;
    assert_eq!(second.owning_leader_id, l.county_id);
    let third = w.leader.cases().assign_case_leader(assign(&case, &l.township_id)).await?;
    assert_eq!(third.owning_leader_id, l.township_id);
    assert!(listed(&l.county, owned_by_me()).await?.is_empty(), "reassigned away");
    assert_eq!(listed(&l.township, owned_by_me()).await?.len(), 1);

    // The owner instructs and records progress.
    let owner = l.township.cases();
    owner.record_leader_instruction(record(&case, pb::LeaderNoteKind::Instruction, "限期一个月内化解")).await?;
    owner.record_leader_instruction(record(&case, pb::LeaderNoteKind::Progress, "已约谈信访人，达成初步方案")).await?;
    // Releasing needs a reason; then the case has no owner.
    expect_invalid(owner.release_case_ownership(release(&case, "  ")).await, &["reason"]);
    let released = owner.release_case_ownership(release(&case, "矛盾已化解")).await?;
    assert!(released.owning_leader_id.is_empty() && released.ownership_start_date.is_empty());
    assert!(listed(&l.township, owned_by_me()).await?.is_empty());
    let subject = format!("cases/{}", case.id);
    expect_precondition(
        w.clerk.cases().release_case_ownership(release(&case, "再次")).await,
        "INVALID_STATE",
        &subject,
    );
    // The clerk releases a leader's ownership too.
    l.county.cases().take_case_ownership(take(&case)).await?;
    assert!(w.clerk.cases().release_case_ownership(release(&case, "调整分工")).await?.owning_leader_id.is_empty());

    // The timeline: who owned it when, the previous owner on each
    // reassignment, the instruction and the progress, the releases.
    let events = case_events(&w.clerk, &case.id).await?;
    let chain: Vec<(String, String, pb::LeaderAssignmentKind)> = events
        .iter()
        .filter_map(assigned)
        .map(|a| (a.leader_account_id.clone(), a.previous_leader_account_id.clone(), a.kind()))
        .collect();
    use pb::LeaderAssignmentKind::{Assigned, Took};
    assert_eq!(
        chain,
        [
            (l.township_id.clone(), String::new(), Assigned),
            (l.county_id.clone(), l.township_id.clone(), Assigned),
            (l.township_id.clone(), l.county_id.clone(), Assigned),
            (l.county_id.clone(), String::new(), Took),
        ]
    );
    let township_id = l.township_id.clone();
    let leader_steps: Vec<(pb::CaseEventType, String)> = events
        .iter()
        .filter(|e| {
            matches!(
                e.r#type(),
                pb::CaseEventType::LeaderInstructed
                    | pb::CaseEventType::LeaderProgressRecorded
                    | pb::CaseEventType::LeaderReleased
            )
        })
        .map(|e| (e.r#type(), e.actor_account_id.clone()))
        .collect();
    let clerk_id = w.clerk.identity().get_me().await?.id;
    use pb::CaseEventType as T;
    assert_eq!(
        leader_steps,
        [
            (T::LeaderInstructed, township_id.clone()),
            (T::LeaderProgressRecorded, township_id.clone()),
            (T::LeaderReleased, township_id.clone()),
            (T::LeaderReleased, clerk_id),
        ]
    );
    let texts: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.detail {
            Some(pb::case_event::Detail::LeaderInstructed(d)) => Some(d.text.as_str()),
            Some(pb::case_event::Detail::LeaderProgressRecorded(d)) => Some(d.text.as_str()),
            Some(pb::case_event::Detail::LeaderReleased(d)) => Some(d.reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["限期一个月内化解", "已约谈信访人，达成初步方案", "矛盾已化解", "调整分工"]);

    // The change feed carries the same typed events to the bureau.
    let want = events.iter().filter(|e| e.r#type() as i32 >= T::LeaderAssigned as i32).count();
    let changes = eventually(
        || all_changes(&w.clerk),
        |changes| {
            changes
                .iter()
                .filter(|c| {
                    matches!(&c.event, Some(pb::change::Event::CaseEvent(e))
                        if e.case_id == case.id && e.r#type() as i32 >= T::LeaderAssigned as i32)
                })
                .count()
                == want
        },
    )
    .await?;
    let leader_changes: Vec<&pb::Change> = changes
        .iter()
        .filter(|c| {
            matches!(&c.event, Some(pb::change::Event::CaseEvent(e))
                if e.case_id == case.id && e.r#type() as i32 >= T::LeaderAssigned as i32)
        })
        .collect();
    assert_eq!(leader_changes.len(), want);
    leader_changes.iter().for_each(|c| assert_typed(c));
    // The leader's own case stays off an unrelated county's feed.
    let far = all_changes(&w.clerk_b).await?;
    assert!(!far.iter().any(|c| matches!(&c.event, Some(pb::change::Event::CaseEvent(e)) if e.case_id == case.id)));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_leadership_rpc_is_denied_to_who_may_not_call_it() -> Result<()> {
    let server = TestServer::spawn().await?;
    let l = Leaders::create(&server).await?;
    let w = &l.w;
    let case = w.accepted_case("包案-权限").await?;
    let denied = |code: Code| match code {
        Code::NotFound => Some("NOT_FOUND"),
        Code::PermissionDenied => Some("PERMISSION_DENIED"),
        _ => None,
    };

    // TakeCaseOwnership: leaders of the jurisdiction only.
    for (who, client, code) in [
        ("petitioner", &w.owner, Code::PermissionDenied),
        ("other citizen", &w.other_citizen, Code::NotFound),
        ("clerk", &w.clerk, Code::PermissionDenied),
        ("handler", &w.handler, Code::PermissionDenied),
        ("supervisor", &w.supervisor, Code::PermissionDenied),
        ("leader in county B", &l.county_b, Code::NotFound),
        ("clerk of county B", &w.clerk_b, Code::NotFound),
    ] {
        let error = expect_error(client.cases().take_case_ownership(take(&case)).await, code, denied(code));
        assert!(!error.to_string().is_empty(), "{who}");
    }
    // A village leader does not own cases, not even one of their village.
    let village_claim = pb::CaseDraft {
        region_code: l.village_region.code.clone(),
        content: "社区广场夜间噪音扰民，多次反映未解决。".into(),
        requests: "请求限定广场舞时间".into(),
        facts_and_reasons: "晚十点后仍有高音喇叭。".into(),
        ..claim("村里的事")
    };
    let village_case = w.submit(village_claim).await?;
    expect_error(
        l.village.cases().take_case_ownership(take(&village_case)).await,
        Code::PermissionDenied,
        Some("PERMISSION_DENIED"),
    );
    // A closed case is owned by no one.
    let withdrawn = w
        .submit(pb::CaseDraft {
            content: "邻居违规搭建阳台遮挡采光。".into(),
            requests: "请求拆除违建".into(),
            facts_and_reasons: "去年起搭建至今。".into(),
            ..claim("撤回的事")
        })
        .await?;
    let withdrawn =
        w.owner.cases().withdraw_case(pb::WithdrawCaseRequest { case_id: withdrawn.id, ..Default::default() }).await?;
    let subject = format!("cases/{}", withdrawn.id);
    expect_precondition(l.county.cases().take_case_ownership(take(&withdrawn)).await, "INVALID_STATE", &subject);

    // AssignCaseLeader: clerks of the jurisdiction and leaders above the
    // assignee; the assignee a leader who may own the case.
    for (client, code) in [
        (&w.owner, Code::PermissionDenied),
        (&w.handler, Code::PermissionDenied),
        (&w.unit_lead, Code::PermissionDenied),
        (&w.clerk_b, Code::NotFound),
        (&l.county_b, Code::NotFound),
    ] {
        expect_error(client.cases().assign_case_leader(assign(&case, &l.county_id)).await, code, denied(code));
    }
    // A leader assigns only below their level.
    expect_error(
        l.county.cases().assign_case_leader(assign(&case, &l.county_id)).await,
        Code::PermissionDenied,
        Some("PERMISSION_DENIED"),
    );
    expect_error(
        l.township.cases().assign_case_leader(assign(&case, &l.city_id)).await,
        Code::PermissionDenied,
        Some("PERMISSION_DENIED"),
    );
    let handler_id = w.handler.identity().get_me().await?.id;
    let clerk = w.clerk.cases();
    for leader in [handler_id.as_str(), l.county_b_id.as_str(), "01900000-0000-7000-8000-000000000000"] {
        expect_invalid(clerk.assign_case_leader(assign(&case, leader)).await, &["leader_account_id"]);
    }
    expect_invalid(clerk.assign_case_leader(assign(&village_case, &l.village_id)).await, &["leader_account_id"]);
    expect_invalid(clerk.assign_case_leader(assign(&case, "not-an-id")).await, &["leader_account_id"]);
    let subject = format!("cases/{}", withdrawn.id);
    expect_precondition(clerk.assign_case_leader(assign(&withdrawn, &l.county_id)).await, "INVALID_STATE", &subject);
    let owned = clerk.assign_case_leader(assign(&case, &l.county_id)).await?;
    assert_eq!(owned.owning_leader_id, l.county_id);

    // ReleaseCaseOwnership: the owner or a clerk of the jurisdiction.
    for (client, code) in [
        (&w.owner, Code::PermissionDenied),
        (&w.handler, Code::PermissionDenied),
        (&l.township, Code::PermissionDenied),
        (&w.leader, Code::PermissionDenied),
        (&l.county_b, Code::NotFound),
        (&w.clerk_b, Code::NotFound),
    ] {
        expect_error(client.cases().release_case_ownership(release(&case, "不想管")).await, code, denied(code));
    }

    // RecordLeaderInstruction: the owner only.
    let instruction = record(&case, pb::LeaderNoteKind::Instruction, "批示");
    for (client, code) in [
        (&w.owner, Code::PermissionDenied),
        (&w.clerk, Code::PermissionDenied),
        (&w.handler, Code::PermissionDenied),
        (&l.township, Code::PermissionDenied),
        (&w.leader, Code::PermissionDenied),
        (&l.county_b, Code::NotFound),
    ] {
        expect_error(client.cases().record_leader_instruction(instruction.clone()).await, code, denied(code));
    }
    let unspecified = record(&case, pb::LeaderNoteKind::Unspecified, "批示");
    expect_invalid(l.county.cases().record_leader_instruction(unspecified).await, &["kind"]);
    let empty = record(&case, pb::LeaderNoteKind::Progress, "");
    expect_invalid(l.county.cases().record_leader_instruction(empty).await, &["text"]);
    let long = record(&case, pb::LeaderNoteKind::Progress, &"长".repeat(5_001));
    expect_invalid(l.county.cases().record_leader_instruction(long).await, &["text"]);

    // Nothing denied changed the case: one assignment, no notes.
    let events = case_events(&w.clerk, &case.id).await?;
    let leader_events: Vec<pb::CaseEventType> =
        events.iter().map(|e| e.r#type()).filter(|t| *t as i32 >= pb::CaseEventType::LeaderAssigned as i32).collect();
    assert_eq!(leader_events, [pb::CaseEventType::LeaderAssigned]);
    let case = w.clerk.cases().get_case(&case.id).await.context("the case")?;
    assert_eq!(case.owning_leader_id, l.county_id);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_gives_leaders_cases_to_own() -> Result<()> {
    let server = TestServer::spawn().await?;
    petition_server::seed::run(&server.state).await?;
    let client = server.client().await?;
    let mut owned = Vec::new();
    for login in ["city.leader", "zg.gov"] {
        let leader = client.new_session();
        leader.login(login, petition_server::seed::DEMO_PASSWORD).await?;
        let cases = listed(&leader, owned_by_me()).await?;
        assert_eq!(cases.len(), 1, "{login}");
        owned.push(cases[0].id.clone());
    }
    let city_leader = client.new_session();
    city_leader.login("city.leader", petition_server::seed::DEMO_PASSWORD).await?;
    let types: Vec<pb::CaseEventType> =
        case_events(&city_leader, &owned[0]).await?.iter().map(|e| e.r#type()).collect();
    assert!(types.ends_with(&[pb::CaseEventType::LeaderAssigned, pb::CaseEventType::LeaderInstructed]), "{types:?}");
    Ok(())
}
