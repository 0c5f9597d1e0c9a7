//! Duplicate and repeat detection at intake (智能判重): repeats linked and
//! not routed, unrelated filings left alone, related filings of other
//! petitioners, FindSimilarCases, unlink and merge — with detection on.

use anyhow::{Result, anyhow};
use petition_sdk::pb;
use petition_sdk::pb::find_similar_cases_request::Query;
use petition_sdk::tonic::Code;
use petition_tests::*;

use crate::support::{assert_typed_event, expect_error, expect_invalid};

/// A wage-arrears matter (劳动保障), worded three ways.
const ORIGINAL: &str = "我是章贡区水东镇虎岗村村民。2023年5月12日起我在宏达建筑有限公司承建的滨江苑项目务工，\
至今被拖欠工资35000元。本人多次反映未果，恳请领导高度重视，尽快解决为盼！";
const REWORDED: &str = "本人系水东镇虎岗村村民，从2023年5月12日开始在宏达建筑有限公司的滨江苑项目打工，\
该公司到现在还欠我35000元工钱，多次讨要无果。恳请领导高度重视！";
/// Same boilerplate, another matter: another employer, project, date and amount.
const OTHER_MATTER: &str = "我是章贡区水东镇虎岗村村民。2022年3月8日起我在鑫源劳务有限公司承建的翠湖花园项目务工，\
至今被拖欠工资12800元。本人多次反映未果，恳请领导高度重视，尽快解决为盼！";

fn wages(title: &str, content: &str, region_code: &str) -> pb::CaseDraft {
    pb::CaseDraft {
        kind: pb::CaseKind::Claim.into(),
        category_code: "labor".into(),
        region_code: region_code.into(),
        title: title.into(),
        content: content.into(),
        requests: "请求督促支付拖欠的工资".into(),
        facts_and_reasons: String::new(),
        attachments: vec![],
        respondent_organization_id: String::new(),
    }
}

fn submit(draft: pb::CaseDraft) -> pb::SubmitCaseRequest {
    pb::SubmitCaseRequest { draft: Some(draft), request_id: String::new() }
}

async fn world() -> Result<(TestServer, CaseWorld)> {
    let server = TestServer::spawn_with(|c| c.intake.duplicate_detection = true).await?;
    let world = CaseWorld::create(&server).await?;
    Ok((server, world))
}

/// The ids of the cases `client` sees listed as related to `case_id`.
async fn related_ids(client: &petition_sdk::Client, case_id: &str) -> Result<Vec<String>> {
    let listed = client
        .cases()
        .list_cases(pb::ListCasesRequest { related_to_case_id: case_id.to_owned(), ..Default::default() })
        .await?;
    Ok(listed.cases.into_iter().map(|c| c.id).collect())
}

fn event_types(events: &[pb::CaseEvent]) -> Vec<pb::CaseEventType> {
    events.iter().for_each(assert_typed_event);
    events.iter().map(|e| e.r#type()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_is_linked_to_the_open_case_and_not_routed() -> Result<()> {
    let (_server, w) = world().await?;
    let township = w.dir.township_a.code.clone();
    let (first, intake) = w.owner.cases().submit_case_with_intake(submit(wages("讨薪", ORIGINAL, &township))).await?;
    assert_eq!(intake.filing_kind(), pb::FilingKind::FirstTime);
    assert_eq!(first.filing_kind(), pb::FilingKind::FirstTime);
    let first = w
        .clerk
        .cases()
        .forward_case(pb::ForwardCaseRequest {
            case_id: first.id.clone(),
            organization_id: w.dir.unit_a.id.clone(),
            ..Default::default()
        })
        .await?;

    let (repeat, intake) =
        w.owner.cases().submit_case_with_intake(submit(wages("再次反映工资被拖欠", REWORDED, &township))).await?;
    assert_eq!(intake.filing_kind(), pb::FilingKind::Repeat, "{intake:?}");
    assert_eq!(
        (intake.repeat_of_case_id.as_str(), intake.repeat_of_case_number.as_str()),
        (first.id.as_str(), first.number.as_str())
    );
    assert!(!intake.escalated);
    assert!(intake.related_case_ids.is_empty(), "a citizen is never told of other filings");
    // Recorded (it has its own number), linked, declined as in progress, never routed.
    assert_ne!(repeat.number, first.number);
    assert_eq!(repeat.filing_kind(), pb::FilingKind::Repeat);
    assert_eq!(repeat.repeat_of_case_id, first.id);
    assert_eq!(repeat.state(), pb::CaseState::Declined);
    assert_eq!(repeat.decline_reason(), pb::DeclineReason::AlreadyInProgress);
    assert_eq!(repeat.related_case_id, first.id);
    assert!(repeat.handling_organization_id.is_empty() && repeat.route_time.is_none());
    assert!(repeat.due_date.is_empty(), "a linked repeat owes no one anything");
    let events = w
        .owner
        .cases()
        .list_case_events(pb::ListCaseEventsRequest { case_id: repeat.id.clone(), ..Default::default() })
        .await?;
    assert_eq!(event_types(&events.events), [pb::CaseEventType::Registered, pb::CaseEventType::RepeatLinked]);
    // The original is untouched; staff find the repeats of it.
    let original = w.clerk.cases().get_case(&first.id).await?;
    assert_eq!((original.state(), original.etag.as_str()), (pb::CaseState::Routed, first.etag.as_str()));
    let repeats = w
        .clerk
        .cases()
        .list_cases(pb::ListCasesRequest { repeat_of_case_id: first.id.clone(), ..Default::default() })
        .await?;
    assert_eq!(repeats.cases.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [repeat.id.as_str()]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unrelated_filing_is_not_flagged() -> Result<()> {
    let (_server, w) = world().await?;
    let township = w.dir.township_a.code.clone();
    w.owner.cases().submit_case(submit(wages("讨薪", ORIGINAL, &township))).await?;
    // Same person, same boilerplate, another matter.
    let (other, intake) =
        w.owner.cases().submit_case_with_intake(submit(wages("讨薪", OTHER_MATTER, &township))).await?;
    assert_eq!(intake.filing_kind(), pb::FilingKind::FirstTime, "{intake:?}");
    assert_eq!(other.state(), pb::CaseState::Registered);
    assert!(other.repeat_of_case_id.is_empty());
    // Another matter entirely (the stock housing claim).
    let (housing, intake) = w.owner.cases().submit_case_with_intake(submit(claim("漏水"))).await?;
    assert_eq!((intake.filing_kind(), housing.state()), (pb::FilingKind::FirstTime, pb::CaseState::Registered));
    Ok(())
}

/// The server leaves out of the comparison the petitioner's open cases it
/// knows cannot be kept (another matter: other employer, date and sum);
/// the one that can still is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_is_found_among_many_open_cases_of_its_petitioner() -> Result<()> {
    let (_server, w) = world().await?;
    let township = w.dir.township_a.code.clone();
    let mut others = Vec::new();
    for title in ["讨薪", "再次讨薪"] {
        others.push(w.owner.cases().submit_case(submit(wages(title, OTHER_MATTER, &township))).await?.id);
    }
    w.owner.cases().submit_case(submit(claim("漏水"))).await?;
    let (first, intake) = w.owner.cases().submit_case_with_intake(submit(wages("讨薪", ORIGINAL, &township))).await?;
    assert_eq!(intake.filing_kind(), pb::FilingKind::FirstTime, "{intake:?}");
    let (_, intake) =
        w.owner.cases().submit_case_with_intake(submit(wages("再次反映工资被拖欠", REWORDED, &township))).await?;
    assert_eq!(intake.filing_kind(), pb::FilingKind::Repeat, "{intake:?}");
    assert_eq!(intake.repeat_of_case_id, first.id);
    // The second filing of the other matter was a repeat of the first.
    let second = w.clerk.cases().get_case(&others[1]).await?;
    assert_eq!(second.repeat_of_case_id, others[0]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_matter_from_other_petitioners_is_related_not_linked() -> Result<()> {
    let (server, w) = world().await?;
    let township = w.dir.township_a.code.clone();
    let first = w.owner.cases().submit_case(submit(wages("讨薪", ORIGINAL, &township))).await?;
    // A co-worker files the same matter: a possible group petition.
    let (second, intake) =
        w.other_citizen.cases().submit_case_with_intake(submit(wages("工资被拖欠", REWORDED, &township))).await?;
    assert_eq!(intake.filing_kind(), pb::FilingKind::FirstTime);
    assert!(intake.related_case_ids.is_empty(), "citizens are not told");
    assert_eq!(second.state(), pb::CaseState::Registered, "another petitioner's filing is handled");
    // Staff see the relation both ways.
    for (case, related) in [(&first, &second), (&second, &first)] {
        assert_eq!(related_ids(&w.clerk, &case.id).await?, [related.id.as_str()]);
    }
    // A clerk registering a third co-worker's visit is told at once.
    let anonymous = server.client().await?;
    let (third, _) = signed_in_citizen(&anonymous, "钟三").await?;
    let me = third.identity().get_me().await?;
    let (_, intake) = w
        .clerk
        .cases()
        .register_case_with_intake(pb::RegisterCaseRequest {
            draft: Some(wages("来访反映欠薪", ORIGINAL, &township)),
            channel: pb::CaseChannel::Visit.into(),
            petitioner_account_id: me.id.clone(),
            ..Default::default()
        })
        .await?;
    let mut related = intake.related_case_ids.clone();
    related.sort();
    let mut want = vec![first.id.clone(), second.id.clone()];
    want.sort();
    assert_eq!(related, want);
    // The clerk of another county sees none of them.
    assert!(related_ids(&w.clerk_b, &first.id).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_unlink_a_repeat_with_a_reason_and_it_goes_back_to_registration() -> Result<()> {
    let (_server, w) = world().await?;
    let township = w.dir.township_a.code.clone();
    let first = w.owner.cases().submit_case(submit(wages("讨薪", ORIGINAL, &township))).await?;
    let repeat = w.owner.cases().submit_case(submit(wages("再次讨薪", REWORDED, &township))).await?;
    assert_eq!(repeat.repeat_of_case_id, first.id);
    let unlink = |reason: &str| pb::UnlinkCaseRequest {
        case_id: repeat.id.clone(),
        reason: reason.into(),
        etag: String::new(),
        request_id: String::new(),
    };
    // Who may not: the petitioner, a handler, another county's clerk; and no reason.
    expect_error(w.owner.cases().unlink_case(unlink("不是同一事项")).await, Code::PermissionDenied, None);
    expect_error(w.handler.cases().unlink_case(unlink("不是同一事项")).await, Code::PermissionDenied, None);
    expect_error(w.clerk_b.cases().unlink_case(unlink("不是同一事项")).await, Code::NotFound, None);
    expect_invalid(w.clerk.cases().unlink_case(unlink(" ")).await, &["reason"]);
    assert_eq!(w.clerk.cases().get_case(&repeat.id).await?.etag, repeat.etag, "denials change nothing");

    let unlinked = w.clerk.cases().unlink_case(unlink("项目不同，系另一事项")).await?;
    assert_eq!(unlinked.state(), pb::CaseState::Registered);
    assert_eq!(unlinked.filing_kind(), pb::FilingKind::FirstTime);
    assert!(unlinked.repeat_of_case_id.is_empty() && unlinked.related_case_id.is_empty());
    assert_eq!(unlinked.decline_reason(), pb::DeclineReason::Unspecified);
    let route_by = unlinked.deadlines.as_ref().map(|d| d.route_by.clone()).unwrap_or_default();
    assert!(!route_by.is_empty() && unlinked.due_date == route_by, "a new routing clock");
    let events = w
        .clerk
        .cases()
        .list_case_events(pb::ListCaseEventsRequest { case_id: repeat.id.clone(), ..Default::default() })
        .await?;
    assert_eq!(
        event_types(&events.events),
        [pb::CaseEventType::Registered, pb::CaseEventType::RepeatLinked, pb::CaseEventType::RepeatUnlinked]
    );
    // Now it is routed like any filing; unlinking again has nothing to undo.
    w.clerk
        .cases()
        .forward_case(pb::ForwardCaseRequest {
            case_id: repeat.id.clone(),
            organization_id: w.dir.unit_a.id.clone(),
            ..Default::default()
        })
        .await?;
    expect_error(w.clerk.cases().unlink_case(unlink("再次")).await, Code::FailedPrecondition, Some("NOT_LINKED"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_cases_keep_their_own_record_and_clocks() -> Result<()> {
    let (_server, w) = world().await?;
    let primary = w.routed_case("一号楼漏水").await?;
    let second = w.other_citizen.cases().submit_case(submit(claim("二号楼漏水"))).await?;
    let merge = |ids: Vec<String>, reason: &str| pb::MergeCasesRequest {
        primary_case_id: primary.id.clone(),
        case_ids: ids,
        reason: reason.into(),
        request_id: String::new(),
    };
    // Who may not, and what is not a merge.
    expect_error(
        w.handler.cases().merge_cases(merge(vec![second.id.clone()], "同一事项")).await,
        Code::PermissionDenied,
        None,
    );
    expect_error(
        w.owner.cases().merge_cases(merge(vec![second.id.clone()], "同一事项")).await,
        Code::PermissionDenied,
        None,
    );
    expect_error(w.clerk_b.cases().merge_cases(merge(vec![second.id.clone()], "同一事项")).await, Code::NotFound, None);
    expect_invalid(w.clerk.cases().merge_cases(merge(vec![], "")).await, &["case_ids", "reason"]);
    expect_invalid(
        w.clerk.cases().merge_cases(merge(vec![primary.id.clone(), "x".into()], "同一事项")).await,
        &["case_ids[0]", "case_ids[1]"],
    );

    let merged = w.clerk.cases().merge_cases(merge(vec![second.id.clone()], "同一楼栋管道，并案办理")).await?;
    let primary_after = merged.primary.ok_or_else(|| anyhow!("no primary"))?;
    assert_eq!(primary_after.etag, primary.etag, "the primary is not changed");
    let [after] = merged.merged.as_slice() else { panic!("one merged case expected") };
    assert_eq!(after.merged_into_case_id, primary.id);
    // Its own state, deadlines and petitioner; only the link is new.
    assert_eq!(
        (after.state(), after.deadlines.clone(), after.due_date.clone()),
        (second.state(), second.deadlines.clone(), second.due_date.clone())
    );
    assert_eq!(
        after.petitioner.as_ref().map(|p| p.account_id.clone()),
        second.petitioner.as_ref().map(|p| p.account_id.clone())
    );
    let listed = w
        .clerk
        .cases()
        .list_cases(pb::ListCasesRequest { merged_into_case_id: primary.id.clone(), ..Default::default() })
        .await?;
    assert_eq!(listed.cases.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [second.id.as_str()]);
    // It goes on through its own lifecycle.
    let routed = w
        .clerk
        .cases()
        .forward_case(pb::ForwardCaseRequest {
            case_id: second.id.clone(),
            organization_id: w.dir.unit_a.id.clone(),
            ..Default::default()
        })
        .await?;
    assert_eq!((routed.state(), routed.merged_into_case_id.as_str()), (pb::CaseState::Routed, primary.id.as_str()));
    expect_error(
        w.clerk.cases().merge_cases(merge(vec![second.id.clone()], "再并")).await,
        Code::FailedPrecondition,
        Some("ALREADY_MERGED"),
    );
    // One level only: the primary cannot itself be merged away.
    let third = w.owner.cases().submit_case(submit(wages("讨薪", ORIGINAL, &w.dir.township_a.code))).await?;
    expect_error(
        w.clerk
            .cases()
            .merge_cases(pb::MergeCasesRequest {
                primary_case_id: third.id.clone(),
                case_ids: vec![primary.id.clone()],
                reason: "再并".into(),
                request_id: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        Some("HAS_MERGED_CASES"),
    );
    let unmerged = w
        .clerk
        .cases()
        .unlink_case(pb::UnlinkCaseRequest {
            case_id: second.id.clone(),
            reason: "分开办理".into(),
            ..Default::default()
        })
        .await?;
    assert!(unmerged.merged_into_case_id.is_empty());
    assert_eq!(unmerged.state(), pb::CaseState::Routed);
    let events = w
        .clerk
        .cases()
        .list_case_events(pb::ListCaseEventsRequest { case_id: second.id.clone(), ..Default::default() })
        .await?;
    assert_eq!(
        event_types(&events.events),
        [
            pb::CaseEventType::Registered,
            pb::CaseEventType::Merged,
            pb::CaseEventType::Routed,
            pb::CaseEventType::Unmerged
        ]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_similar_cases_ranks_with_reasons_and_respects_visibility() -> Result<()> {
    let (_server, w) = world().await?;
    let township = w.dir.township_a.code.clone();
    let first = w.owner.cases().submit_case(submit(wages("讨薪", ORIGINAL, &township))).await?;
    let other = w.owner.cases().submit_case(submit(wages("讨薪", OTHER_MATTER, &township))).await?;
    let coworker = w.other_citizen.cases().submit_case(submit(wages("欠薪", REWORDED, &township))).await?;
    // An accusation with the same words: only the discipline channel may find it.
    let mut accusation = wages("举报", ORIGINAL, &township);
    accusation.kind = pb::CaseKind::Accusation.into();
    accusation.category_code = "discipline".into();
    let accused = w.other_citizen.cases().submit_case(submit(accusation)).await?;

    let by_text = pb::FindSimilarCasesRequest {
        query: Some(Query::Text(REWORDED.into())),
        category_code: "labor".into(),
        ..Default::default()
    };
    let matches = w.clerk.cases().find_similar_cases(by_text.clone()).await?;
    let ids: Vec<&str> = matches.iter().filter_map(|m| m.case.as_ref()).map(|c| c.id.as_str()).collect();
    assert!(ids.len() >= 2, "{ids:?}");
    assert!(ids[..2].contains(&first.id.as_str()) && ids[..2].contains(&coworker.id.as_str()), "{ids:?}");
    assert!(!ids.contains(&accused.id.as_str()), "accusations stay hidden from the clerk (Art.30)");
    let best = &matches[0];
    assert!(best.score > 0.3 && best.score <= 1.0 && best.content_score <= best.score + 1e-6, "{best:?}");
    let reason = best.reason.clone().unwrap_or_default();
    assert!(reason.same_category);
    assert!(reason.shared_specifics.iter().any(|s| s.contains("35000") || s.contains("宏达")), "{reason:?}");
    assert!(!reason.shared_passages.is_empty());
    if let Some(pos) = ids.iter().position(|id| *id == other.id) {
        assert!(pos >= 2, "the other matter ranks below both filings of this one");
    }
    // By case: the owner's open case finds its co-worker's filing (related) first.
    let by_case = w
        .clerk
        .cases()
        .find_similar_cases(pb::FindSimilarCasesRequest {
            query: Some(Query::CaseId(first.number.clone())),
            ..Default::default()
        })
        .await?;
    let top = by_case.first().and_then(|m| m.case.as_ref()).map(|c| c.id.clone());
    assert_eq!(top.as_deref(), Some(coworker.id.as_str()));
    assert!(by_case[0].related && !by_case[0].repeat);
    assert!(by_case.iter().all(|m| m.case.as_ref().is_some_and(|c| c.id != first.id)), "never the query itself");
    // The discipline office finds the accusation.
    let discipline = w.discipline_handler.cases().find_similar_cases(by_text.clone()).await?;
    assert!(discipline.iter().any(|m| m.case.as_ref().is_some_and(|c| c.id == accused.id)));
    // Who may not search, and what is not a query.
    expect_error(w.owner.cases().find_similar_cases(by_text.clone()).await, Code::PermissionDenied, None);
    expect_error(w.partner.cases().find_similar_cases(by_text.clone()).await, Code::PermissionDenied, None);
    assert!(w.clerk_b.cases().find_similar_cases(by_text.clone()).await?.is_empty(), "another county sees none");
    expect_error(
        w.clerk_b
            .cases()
            .find_similar_cases(pb::FindSimilarCasesRequest {
                query: Some(Query::CaseId(first.id.clone())),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        None,
    );
    expect_invalid(w.clerk.cases().find_similar_cases(pb::FindSimilarCasesRequest::default()).await, &["query"]);
    expect_invalid(
        w.clerk.cases().find_similar_cases(pb::FindSimilarCasesRequest { page_size: 51, ..by_text.clone() }).await,
        &["page_size"],
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filing_the_open_matter_one_level_up_is_escalation() -> Result<()> {
    let (_server, w) = world().await?;
    let first = w.owner.cases().submit_case(submit(wages("讨薪", ORIGINAL, &w.dir.county_a.code))).await?;
    // The same matter to the city while the county has it open (越级, Art.19 ¶3).
    let (up, intake) =
        w.owner.cases().submit_case_with_intake(submit(wages("向市里反映欠薪", REWORDED, &w.dir.city.code))).await?;
    assert_eq!((intake.filing_kind(), intake.escalated), (pb::FilingKind::Repeat, true), "{intake:?}");
    assert_eq!((up.repeat_of_case_id.as_str(), up.escalated), (first.id.as_str(), true));
    let escalated =
        w.leader.cases().list_cases(pb::ListCasesRequest { escalated_only: true, ..Default::default() }).await?;
    assert_eq!(escalated.cases.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [up.id.as_str()]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_detection_off_nothing_is_linked_and_search_says_so() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let township = w.dir.township_a.code.clone();
    w.owner.cases().submit_case(submit(wages("讨薪", ORIGINAL, &township))).await?;
    let (_, intake) = w.owner.cases().submit_case_with_intake(submit(wages("讨薪", ORIGINAL, &township))).await?;
    assert_eq!(intake.filing_kind(), pb::FilingKind::FirstTime);
    expect_error(
        w.clerk
            .cases()
            .find_similar_cases(pb::FindSimilarCasesRequest {
                query: Some(Query::Text(ORIGINAL.into())),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        Some("DUPLICATE_DETECTION_OFF"),
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_filings_of_one_matter_make_one_first_time_case() -> Result<()> {
    let (_server, w) = world().await?;
    let township = w.dir.township_a.code.clone();
    let calls = (0..8).map(|i| {
        let cases = w.owner.cases();
        let draft = wages(&format!("讨薪{i}"), if i % 2 == 0 { ORIGINAL } else { REWORDED }, &township);
        async move { cases.submit_case_with_intake(submit(draft)).await }
    });
    let results = futures::future::join_all(calls).await;
    let filed: Vec<(pb::Case, pb::IntakeResult)> = results.into_iter().collect::<Result<_, _>>()?;
    let first: Vec<&pb::Case> =
        filed.iter().filter(|(_, i)| i.filing_kind() == pb::FilingKind::FirstTime).map(|(c, _)| c).collect();
    assert_eq!(first.len(), 1, "exactly one filing is the first");
    for (case, intake) in filed.iter().filter(|(_, i)| i.filing_kind() == pb::FilingKind::Repeat) {
        assert_eq!(intake.repeat_of_case_id, first[0].id);
        assert_eq!(case.state(), pb::CaseState::Declined);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindexing_rebuilds_the_statistics_and_rekeys_every_case() -> Result<()> {
    use diesel::prelude::*;
    use petition_server::schema::{case_fingerprints, similarity_stats};

    let (server, w) = world().await?;
    let township = w.dir.township_a.code.clone();
    w.owner.cases().submit_case(submit(wages("讨薪", ORIGINAL, &township))).await?;
    w.owner.cases().submit_case(submit(wages("讨薪", OTHER_MATTER, &township))).await?;
    w.other_citizen.cases().submit_case(submit(claim("漏水"))).await?;
    let url = server.database.as_ref().ok_or_else(|| anyhow!("no test database"))?.url().to_owned();
    let db = petition_server::db::Db::new(&url, &petition_server::config::Config::from_defaults().database);

    let report = petition_server::cases::reindex::run(&db, false).await?;
    assert_eq!((report.version, report.documents, report.rekeyed), (1, 3, 3));
    let mut conn = diesel::PgConnection::establish(&url)?;
    let versions: Vec<i32> = case_fingerprints::table.select(case_fingerprints::stats_version).load(&mut conn)?;
    assert_eq!(versions, [1, 1, 1], "every case re-keyed");
    let stats: Vec<(i32, bool)> =
        similarity_stats::table.select((similarity_stats::version, similarity_stats::complete)).load(&mut conn)?;
    assert_eq!(stats, [(1, true)]);

    // A server started now files under the new statistics and still links repeats.
    let data_dir = std::env::temp_dir().join(format!("petition-test-{}", uuid::Uuid::now_v7().simple()));
    let mut config = petition_tests::server::test_config(&url, &data_dir);
    config.intake.duplicate_detection = true;
    let restarted = TestServer::start(config, None, data_dir).await?;
    let (citizen, _) = signed_in_citizen(&restarted.client().await?, "钟四").await?;
    let own = citizen.cases().submit_case(submit(wages("讨薪", ORIGINAL, &township))).await?;
    let (repeat, intake) =
        citizen.cases().submit_case_with_intake(submit(wages("又一次", REWORDED, &township))).await?;
    assert_eq!(intake.repeat_of_case_id, own.id);
    let version: i32 = case_fingerprints::table
        .find(uuid::Uuid::parse_str(&repeat.id)?)
        .select(case_fingerprints::stats_version)
        .first(&mut conn)?;
    assert_eq!(version, 1, "filed under the statistics the restarted server loaded");

    // The next reindex re-keys every case but one already keyed to its
    // version (as a case filed while it runs is).
    let stored: i64 = case_fingerprints::table.count().get_result(&mut conn)?;
    diesel::update(case_fingerprints::table.find(uuid::Uuid::parse_str(&own.id)?))
        .set(case_fingerprints::stats_version.eq(2))
        .execute(&mut conn)?;
    let report = petition_server::cases::reindex::run(&db, false).await?;
    assert_eq!((report.version, report.rekeyed), (2, u64::try_from(stored)? - 1));
    let versions: Vec<i32> = case_fingerprints::table.select(case_fingerprints::stats_version).load(&mut conn)?;
    assert!(versions.iter().all(|&v| v == 2), "{versions:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fingerprints_of_an_older_lsh_layout_are_found_again_after_reindexing() -> Result<()> {
    use diesel::prelude::*;
    use petition_server::cases::intake::filing_text;
    use petition_server::schema::case_fingerprints;
    use petition_server::similarity::store::replace_fingerprint;
    use petition_server::similarity::{Banding, Fingerprinter, NoStats, Params};

    let (server, w) = world().await?;
    let index = server.state.similarity.clone().ok_or_else(|| anyhow!("detection is on"))?;
    let township = w.dir.township_a.code.clone();
    let draft = wages("讨薪", ORIGINAL, &township);
    let text = filing_text(&draft.title, &draft.content, &draft.requests, &draft.facts_and_reasons);
    let first = w.owner.cases().submit_case(submit(draft)).await?;
    let url = server.database.as_ref().ok_or_else(|| anyhow!("no test database"))?.url().to_owned();
    let mut conn = diesel::PgConnection::establish(&url)?;
    assert_eq!(index.rebuild_bands(&mut conn)?.other_layout, 0);
    let by_text = pb::FindSimilarCasesRequest { query: Some(Query::Text(REWORDED.into())), ..Default::default() };
    let found = |matches: &[pb::SimilarCase]| matches.iter().any(|m| m.case.as_ref().is_some_and(|c| c.id == first.id));
    assert!(found(&w.clerk.cases().find_similar_cases(by_text.clone()).await?));

    // A store fingerprinted under the older layout (40 × 3), as a server
    // built on it at start finds it.
    let id = uuid::Uuid::parse_str(&first.id)?;
    let version: i32 = case_fingerprints::table.find(id).select(case_fingerprints::stats_version).first(&mut conn)?;
    let older =
        Fingerprinter::new(Params { minhash_k: 120, banding: Banding { bands: 40, rows: 3 }, ..Params::default() });
    replace_fingerprint(&mut conn, id, version, &older.fingerprint(&text, &NoStats))?;
    let built = index.rebuild_bands(&mut conn)?;
    assert_eq!((built.other_layout, built.footprint.cases), (1, 0), "the server warns at start");
    assert!(!found(&w.clerk.cases().find_similar_cases(by_text.clone()).await?), "no band key, no candidate");
    // The petitioner's own open cases are still compared directly.
    let (_, intake) = w.owner.cases().submit_case_with_intake(submit(wages("再次反映", REWORDED, &township))).await?;
    assert_eq!(intake.repeat_of_case_id, first.id);

    // Reindexing stores new statistics; a server picks them up and re-reads
    // every band key.
    let db = petition_server::db::Db::new(&url, &petition_server::config::Config::from_defaults().database);
    petition_server::cases::reindex::run(&db, false).await?;
    // (The server's own follower may have got there first.)
    index.reload_if_changed(&mut conn)?;
    let built = index.bands_built();
    assert_eq!((built.other_layout, built.footprint.cases), (0, 2));
    assert!(found(&w.clerk.cases().find_similar_cases(by_text).await?), "found by band key again");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filing_on_one_server_becomes_a_candidate_on_the_others() -> Result<()> {
    use petition_server::similarity::index::FOLLOW_EVERY;

    let database = tokio::task::spawn_blocking(TestDatabase::create).await??;
    let data_dir = || std::env::temp_dir().join(format!("petition-test-{}", uuid::Uuid::now_v7().simple()));
    let (dir_a, dir_b) = (data_dir(), data_dir());
    let mut config = petition_tests::server::test_config(database.url(), &dir_a);
    config.intake.duplicate_detection = true;
    // Two instances behind one load balancer share their keys and database.
    let mut config_b = config.clone();
    config_b.data_dir = dir_b.clone();
    let a = TestServer::start(config, Some(database), dir_a).await?;
    let w = CaseWorld::create(&a).await?;
    let b = TestServer::start(config_b, None, dir_b).await?;
    let on_b = b.client().await?;
    let as_on_b = |client: &petition_sdk::Client| {
        on_b.with_access_token(client.access_token().ok_or_else(|| anyhow!("signed in"))?).map_err(anyhow::Error::from)
    };
    let township = w.dir.township_a.code.clone();

    // Filed through A after B built its band index.
    let first = w.owner.cases().submit_case(submit(wages("讨薪", ORIGINAL, &township))).await?;
    let filed = std::time::Instant::now();
    let clerk_on_b = as_on_b(&w.clerk)?;
    let by_text = pb::FindSimilarCasesRequest { query: Some(Query::Text(REWORDED.into())), ..Default::default() };
    loop {
        let matches = clerk_on_b.cases().find_similar_cases(by_text.clone()).await?;
        if matches.iter().any(|m| m.case.as_ref().is_some_and(|c| c.id == first.id)) {
            break;
        }
        assert!(filed.elapsed() < FOLLOW_EVERY * 10, "B never followed A's filing");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Through B, another petitioner's filing of the matter is related to it.
    let (second, _) = as_on_b(&w.other_citizen)?
        .cases()
        .submit_case_with_intake(submit(wages("工资被拖欠", REWORDED, &township)))
        .await?;
    assert_eq!(related_ids(&w.clerk, &first.id).await?, [second.id.as_str()]);
    drop(b);
    Ok(())
}

/// A server answers as soon as it starts and files while its band index
/// is built in the background: the petitioner's own open cases are still
/// compared (repeats found), the answer says the wider check was partial,
/// and searches are refused with a retry hint. Once built, the cases
/// stored before the start and those filed meanwhile (through it or
/// another server) are candidates again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_files_while_its_band_index_is_built() -> Result<()> {
    use petition_sdk::RetryPolicy;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    let database = tokio::task::spawn_blocking(TestDatabase::create).await??;
    let data_dir = || std::env::temp_dir().join(format!("petition-test-{}", uuid::Uuid::now_v7().simple()));
    let (dir_a, dir_b) = (data_dir(), data_dir());
    let mut config = petition_tests::server::test_config(database.url(), &dir_a);
    config.intake.duplicate_detection = true;
    let mut config_b = config.clone();
    config_b.data_dir = dir_b.clone();
    let a = TestServer::start(config, Some(database), dir_a).await?;
    let w = CaseWorld::create(&a).await?;
    let township = w.dir.township_a.code.clone();
    let first = w.owner.cases().submit_case(submit(wages("讨薪", ORIGINAL, &township))).await?;

    // B (sharing A's keys and database) starts; its build waits until released.
    let (b, hold) = TestServer::start_holding_similarity_build(config_b, None, dir_b).await?;
    let hold = hold.ok_or_else(|| anyhow!("detection is on"))?;
    let index = b.state.similarity.clone().ok_or_else(|| anyhow!("detection is on"))?;
    let on_b = b.client().await?;
    let mut health = HealthClient::new(on_b.channel().clone());
    let status = health.check(tonic::Request::new(HealthCheckRequest { service: String::new() })).await?;
    assert_eq!(status.into_inner().status, ServingStatus::Serving as i32, "serving while it builds");
    assert!(!index.bands_complete());
    let as_on_b = |client: &petition_sdk::Client| {
        on_b.with_access_token(client.access_token().ok_or_else(|| anyhow!("signed in"))?).map_err(anyhow::Error::from)
    };

    // The owner's repeat is found among his open cases; the check says it was partial.
    let (_, intake) =
        as_on_b(&w.owner)?.cases().submit_case_with_intake(submit(wages("再次反映", REWORDED, &township))).await?;
    assert_eq!((intake.filing_kind(), intake.repeat_of_case_id.as_str()), (pb::FilingKind::Repeat, first.id.as_str()));
    assert!(intake.similarity_partial, "{intake:?}");
    // Another petitioner's filing of the matter: the check says it was
    // partial (whether the original was a candidate depends on whether the
    // server had followed it into the index it serves while it builds).
    let (second, intake) = as_on_b(&w.other_citizen)?
        .cases()
        .submit_case_with_intake(submit(wages("工资被拖欠", REWORDED, &township)))
        .await?;
    assert!(intake.similarity_partial);
    // A search is refused, with a hint when to ask again.
    let by_text = pb::FindSimilarCasesRequest { query: Some(Query::Text(REWORDED.into())), ..Default::default() };
    let clerk_on_b = as_on_b(&w.clerk)?;
    let refused = expect_error(
        clerk_on_b.with_retry_policy(RetryPolicy::none()).cases().find_similar_cases(by_text.clone()).await,
        Code::Unavailable,
        Some("UNAVAILABLE"),
    );
    assert!(refused.retry_after().is_some(), "{refused}");
    // Filed through A meanwhile.
    let (third, _) = signed_in_citizen(&a.client().await?, "钟三").await?;
    let on_a = third.cases().submit_case(submit(wages("讨要工钱", ORIGINAL, &township))).await?;

    drop(hold);
    let released = std::time::Instant::now();
    while !index.bands_complete() {
        assert!(released.elapsed() < std::time::Duration::from_secs(20), "B never built its band index");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A clerk registering a fourth co-worker's visit through B is told of
    // them all, in full.
    let (fourth, _) = signed_in_citizen(&a.client().await?, "钟四").await?;
    let me = fourth.identity().get_me().await?;
    let (_, intake) = clerk_on_b
        .cases()
        .register_case_with_intake(pb::RegisterCaseRequest {
            draft: Some(wages("来访反映欠薪", ORIGINAL, &township)),
            channel: pb::CaseChannel::Visit.into(),
            petitioner_account_id: me.id.clone(),
            ..Default::default()
        })
        .await?;
    assert!(!intake.similarity_partial);
    for case in [&first, &second, &on_a] {
        assert!(intake.related_case_ids.contains(&case.id), "{} missing from {intake:?}", case.id);
    }
    let found = clerk_on_b.cases().find_similar_cases(by_text).await?;
    assert!(found.iter().any(|m| m.case.as_ref().is_some_and(|c| c.id == first.id)));
    drop(b);
    Ok(())
}
