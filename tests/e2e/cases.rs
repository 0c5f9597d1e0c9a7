//! CaseService: the main lifecycle end to end, concurrency, idempotency,
//! numbering and the event log.

use anyhow::Result;
use futures::TryStreamExt;
use petition_sdk::pb;
use petition_sdk::tonic::Code;
use petition_tests::*;

use crate::support::{assert_typed_event, expect_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_goes_from_submission_to_final_re_review() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.submit(claim("小区漏水")).await?;
    assert_eq!(case.state, pb::CaseState::Registered as i32);
    assert!(case.number.starts_with("360702001-"), "{}", case.number);
    assert!(!case.deadlines.as_ref().map(|d| d.route_by.clone()).unwrap_or_default().is_empty());

    let case = w
        .clerk
        .cases()
        .assign_case(pb::AssignCaseRequest {
            case_id: case.id.clone(),
            organization_id: w.dir.unit_a.id.clone(),
            report_by: date_in(30),
            etag: case.etag.clone(),
            ..Default::default()
        })
        .await?;
    assert_eq!(case.state, pb::CaseState::Routed as i32);
    assert_eq!(case.routing_mode, pb::RoutingMode::Assign as i32);
    let (created, routed) = (case.create_time.unwrap_or_default(), case.route_time.unwrap_or_default());
    assert!(
        routed.seconds > 0 && (routed.seconds, routed.nanos) >= (created.seconds, created.nanos),
        "time-to-assign recorded"
    );
    let case =
        w.handler.cases().accept_case(pb::AcceptCaseRequest { case_id: case.id.clone(), ..Default::default() }).await?;
    assert_eq!(case.state, pb::CaseState::Accepted as i32);
    w.handler
        .cases()
        .add_follow_up(pb::AddFollowUpRequest {
            case_id: case.id.clone(),
            kind: pb::FollowUpKind::Visit.into(),
            note: "现场核查".into(),
            request_id: String::new(),
        })
        .await?;
    let case = w
        .handler
        .cases()
        .reply_to_case(pb::ReplyToCaseRequest {
            case_id: case.id.clone(),
            opinion: Some(opinion()),
            ..Default::default()
        })
        .await?;
    assert_eq!(case.state, pb::CaseState::Replied as i32);
    assert_eq!(case.reply.as_ref().map(|r| r.organization_id.clone()), Some(w.dir.unit_a.id.clone()));
    let case = w
        .handler
        .cases()
        .submit_completion_report(pb::SubmitCompletionReportRequest {
            case_id: case.id.clone(),
            report: "已维修完毕".into(),
            ..Default::default()
        })
        .await?;
    assert!(case.completion_reported);
    let case = w
        .owner
        .cases()
        .request_review(pb::RequestReviewRequest {
            case_id: case.id.clone(),
            reason: "维修不彻底".into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(case.state, pb::CaseState::UnderReview as i32);
    assert_eq!(case.reviewing_organization_id, w.gov_a.id);
    let case = w
        .reviewer
        .cases()
        .reply_to_review(pb::ReplyToReviewRequest {
            case_id: case.id.clone(),
            opinion: Some(opinion()),
            ..Default::default()
        })
        .await?;
    assert_eq!(case.state, pb::CaseState::Reviewed as i32);
    let case = w
        .owner
        .cases()
        .request_recheck(pb::RequestRecheckRequest {
            case_id: case.id.clone(),
            reason: "仍不满意".into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(case.state, pb::CaseState::UnderRecheck as i32);
    assert_eq!(case.reviewing_organization_id, w.city_gov.id);
    let paused = w
        .rechecker
        .cases()
        .pause_recheck(pb::PauseRecheckRequest {
            case_id: case.id.clone(),
            reason: "听证".into(),
            ..Default::default()
        })
        .await?;
    assert!(paused.recheck_paused && paused.due_date.is_empty(), "no clock runs during the hearing");
    w.rechecker
        .cases()
        .resume_recheck(pb::ResumeRecheckRequest { case_id: case.id.clone(), ..Default::default() })
        .await?;
    let case = w
        .rechecker
        .cases()
        .reply_to_recheck(pb::ReplyToRecheckRequest {
            case_id: case.id.clone(),
            opinion: Some(opinion()),
            ..Default::default()
        })
        .await?;
    assert_eq!(case.state, pb::CaseState::Final as i32);

    let events: Vec<pb::CaseEvent> = w.owner.cases().case_events(&case.id).try_collect().await?;
    events.iter().for_each(assert_typed_event);
    let types: Vec<i32> = events.iter().map(|e| e.r#type).collect();
    use pb::CaseEventType as T;
    assert_eq!(
        types,
        [
            T::Registered,
            T::Routed,
            T::Accepted,
            T::FollowedUp,
            T::Replied,
            T::CompletionReported,
            T::ReviewRequested,
            T::ReviewReplied,
            T::RecheckRequested,
            T::RecheckPaused,
            T::RecheckResumed,
            T::RecheckReplied
        ]
        .map(|t| t as i32)
    );
    // Every event carries its typed detail.
    let routed = events.iter().find(|e| e.r#type == T::Routed as i32).and_then(|e| e.detail.clone());
    match routed {
        Some(pb::case_event::Detail::Routed(routed)) => assert_eq!(routed.mode(), pb::RoutingMode::Assign),
        other => panic!("routed detail expected, got {other:?}"),
    }
    // Final: the same facts are not accepted again (Art.36 ¶3).
    expect_error(
        w.owner
            .cases()
            .request_review(pb::RequestReviewRequest {
                case_id: case.id.clone(),
                reason: "x".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        Some("INVALID_STATE"),
    );
    Ok(())
}

/// The Beijing date `days` from today, as YYYY-MM-DD.
pub fn date_in(days: i64) -> String {
    (petition_server::time::shanghai_today() + chrono::Duration::days(days)).format("%Y-%m-%d").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transitions_of_one_case_never_both_succeed() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    for round in 0..3 {
        let case = w.routed_case(&format!("并发{round}")).await?;
        let calls = (0..8).map(|i| {
            let cases = w.handler.cases();
            let id = case.id.clone();
            async move {
                if i % 2 == 0 {
                    cases.accept_case(pb::AcceptCaseRequest { case_id: id, ..Default::default() }).await
                } else {
                    cases
                        .decline_case(pb::DeclineCaseRequest {
                            case_id: id,
                            reason: pb::DeclineReason::Other.into(),
                            explanation: "不属于本单位职责".into(),
                            ..Default::default()
                        })
                        .await
                }
            }
        });
        let results = futures::future::join_all(calls).await;
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1, "round {round}: {results:?}");
        for error in results.into_iter().filter_map(Result::err) {
            assert_eq!(error.code(), Code::FailedPrecondition, "{error}");
        }
        let events: Vec<pb::CaseEvent> = w.owner.cases().case_events(&case.id).try_collect().await?;
        events.iter().for_each(assert_typed_event);
        assert_eq!(events.len(), 3, "registered, routed and exactly one decision");
    }
    // A stale etag is refused even when the transition would be allowed.
    let case = w.routed_case("过期版本").await?;
    w.handler
        .cases()
        .add_follow_up(pb::AddFollowUpRequest {
            case_id: case.id.clone(),
            kind: pb::FollowUpKind::Contact.into(),
            note: "电话联系".into(),
            request_id: String::new(),
        })
        .await?;
    expect_error(
        w.handler
            .cases()
            .accept_case(pb::AcceptCaseRequest { case_id: case.id.clone(), etag: case.etag, ..Default::default() })
            .await,
        Code::Aborted,
        Some("ETAG_MISMATCH"),
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_make_retries_safe() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let request = pb::SubmitCaseRequest { draft: Some(claim("重放")), request_id: "submit-1".into() };
    // 50 concurrent replays of one submission make exactly one case.
    let calls = (0..50).map(|_| {
        let cases = w.owner.cases();
        let request = request.clone();
        async move { cases.submit_case(request).await }
    });
    let results = futures::future::join_all(calls).await;
    let ids: std::collections::BTreeSet<String> =
        results.into_iter().map(|r| r.map(|c| c.id)).collect::<Result<_, _>>()?;
    assert_eq!(ids.len(), 1, "every replay answers with the one case");
    let mine: Vec<pb::Case> = w.owner.cases().cases(pb::ListCasesRequest::default()).try_collect().await?;
    assert_eq!(mine.len(), 1);

    // The same id with a different request is refused.
    let different = pb::SubmitCaseRequest { draft: Some(claim("另一件事")), request_id: "submit-1".into() };
    expect_error(w.owner.cases().submit_case(different).await, Code::AlreadyExists, Some("REQUEST_ID_REUSED"));

    // A replayed transition returns the first response and changes nothing.
    let case = &mine[0];
    let forward = pb::ForwardCaseRequest {
        case_id: case.id.clone(),
        organization_id: w.dir.unit_a.id.clone(),
        request_id: "forward-1".into(),
        ..Default::default()
    };
    let first = w.clerk.cases().forward_case(forward.clone()).await?;
    let again = w.clerk.cases().forward_case(forward).await?;
    assert_eq!(first, again);
    assert_eq!(w.clerk.cases().get_case(&case.id).await?.etag, first.etag, "the replay did not transition again");
    // Ids are per caller: another caller's identical id is their own.
    let theirs = pb::SubmitCaseRequest { draft: Some(claim("重放")), request_id: "submit-1".into() };
    let other = w.other_citizen.cases().submit_case(theirs).await?;
    assert_ne!(other.id, case.id);
    crate::support::expect_invalid(
        w.owner
            .cases()
            .submit_case(pb::SubmitCaseRequest { draft: Some(claim("x")), request_id: "r".repeat(129) })
            .await,
        &["request_id"],
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_numbers_are_unique_and_increasing_under_concurrency() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let calls = (0..40).map(|i| {
        let cases = w.owner.cases();
        async move {
            cases
                .submit_case(pb::SubmitCaseRequest {
                    draft: Some(claim(&format!("编号{i}"))),
                    request_id: String::new(),
                })
                .await
        }
    });
    let results = futures::future::join_all(calls).await;
    let mut sequences: Vec<u32> = Vec::new();
    for case in results {
        let number = case?.number;
        let year = petition_server::time::shanghai_today().format("%Y").to_string();
        let prefix = format!("360702001-{year}-");
        let sequence = number.strip_prefix(&prefix).ok_or_else(|| anyhow::anyhow!("{number} lacks {prefix}"))?;
        assert_eq!(sequence.len(), 6, "{number}");
        sequences.push(sequence.parse()?);
    }
    sequences.sort();
    assert_eq!(sequences, (1..=40).collect::<Vec<u32>>(), "unique, gapless, increasing");
    // Another region counts on its own.
    let elsewhere = pb::CaseDraft { region_code: "360731".into(), ..claim("于都") };
    let case = w
        .owner
        .cases()
        .submit_case(pb::SubmitCaseRequest { draft: Some(elsewhere), request_id: String::new() })
        .await?;
    assert!(case.number.starts_with("360731-") && case.number.ends_with("-000001"), "{}", case.number);
    Ok(())
}

/// A filing takes its number before the rest of its work (so filings never
/// wait for each other's commits): one refused after that leaves a gap, and
/// numbers stay unique and increasing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filing_refused_after_taking_its_number_leaves_a_gap() -> Result<()> {
    let server = TestServer::spawn_with(|config| config.intake.daily_filing_limit = 1).await?;
    let w = CaseWorld::create(&server).await?;
    let submit = |client: &petition_sdk::Client, title: &str| {
        let request = pb::SubmitCaseRequest { draft: Some(claim(title)), request_id: String::new() };
        let cases = client.cases();
        async move { cases.submit_case(request).await }
    };
    let first = submit(&w.owner, "今天第一件").await?;
    expect_error(submit(&w.owner, "今天第二件").await, Code::ResourceExhausted, Some("DAILY_LIMIT_REACHED"));
    let other = submit(&w.other_citizen, "别人的事").await?;
    let sequence = |number: &str| number.rsplit('-').next().and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
    assert_eq!((sequence(&first.number), sequence(&other.number)), (1, 3), "{} {}", first.number, other.number);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folding_the_event_log_gives_the_stored_case() -> Result<()> {
    use diesel::prelude::*;
    use petition_server::cases::rules::{Event, Lifecycle, fold};
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let replied = w.replied_case("折叠").await?;
    w.owner
        .cases()
        .request_review(pb::RequestReviewRequest {
            case_id: replied.id.clone(),
            reason: "不服".into(),
            ..Default::default()
        })
        .await?;
    let accepted = w.accepted_case("延期折叠").await?;
    w.unit_lead
        .cases()
        .extend_case_deadline(pb::ExtendCaseDeadlineRequest {
            case_id: accepted.id.clone(),
            days: 20,
            reason: "情况复杂".into(),
            ..Default::default()
        })
        .await?;
    let objected = w.routed_case("异议折叠").await?;
    w.handler
        .cases()
        .object_to_assignment(pb::ObjectToAssignmentRequest {
            case_id: objected.id.clone(),
            reason: "非本单位职责".into(),
            ..Default::default()
        })
        .await?;

    let database = server.database.as_ref().ok_or_else(|| anyhow::anyhow!("no database"))?;
    let mut conn = database.connect()?;
    for id in [&replied.id, &accepted.id, &objected.id] {
        let id = uuid::Uuid::parse_str(id)?;
        let stored: serde_json::Value = diesel::sql_query("SELECT lifecycle FROM cases WHERE id = $1")
            .bind::<diesel::sql_types::Uuid, _>(id)
            .get_result::<LifecycleColumn>(&mut conn)?
            .lifecycle;
        let payloads: Vec<PayloadColumn> =
            diesel::sql_query("SELECT payload FROM events WHERE aggregate_id = $1 ORDER BY sequence")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .load(&mut conn)?;
        let events: Vec<Event> =
            payloads.into_iter().map(|p| serde_json::from_value(p.payload)).collect::<Result<_, _>>()?;
        let folded = fold(&events);
        let stored: Lifecycle = serde_json::from_value(stored)?;
        assert_eq!(folded.as_ref(), Some(&stored), "case {id}");
    }
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct LifecycleColumn {
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    lifecycle: serde_json::Value,
}

#[derive(diesel::QueryableByName)]
struct PayloadColumn {
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    payload: serde_json::Value,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_means_the_same_in_sql_filters_and_in_each_case() -> Result<()> {
    use diesel::prelude::*;
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let today = petition_server::time::shanghai_today();
    let database = server.database.as_ref().ok_or_else(|| anyhow::anyhow!("no database"))?;
    let mut conn = database.connect()?;
    let mut expected_overdue = std::collections::BTreeSet::new();
    for offset in -3..=3i64 {
        let case = w.submit(claim(&format!("期限{offset}"))).await?;
        let due = (today + chrono::Duration::days(offset)).format("%Y-%m-%d").to_string();
        // Move the binding deadline (route_by of a registered case) in both
        // the lifecycle and its projection, as a case registered earlier would have.
        diesel::sql_query(
            "UPDATE cases SET due_date = $2::date, \
             lifecycle = jsonb_set(lifecycle, '{deadlines,route_by}', to_jsonb($2::text)) WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(&case.id)?)
        .bind::<diesel::sql_types::Text, _>(&due)
        .execute(&mut conn)?;
        if offset < 0 {
            expected_overdue.insert(case.id.clone());
        }
    }
    let listed: std::collections::BTreeSet<String> = w
        .clerk
        .cases()
        .cases(pb::ListCasesRequest { overdue_only: true, ..Default::default() })
        .map_ok(|c| c.id)
        .try_collect()
        .await?;
    assert_eq!(listed, expected_overdue, "the SQL filter");
    let all: Vec<pb::Case> = w.clerk.cases().cases(pb::ListCasesRequest::default()).try_collect().await?;
    assert_eq!(all.len(), 7);
    for case in all {
        assert_eq!(
            case.overdue,
            expected_overdue.contains(&case.id),
            "Rust's verdict on {} (due {})",
            case.id,
            case.due_date
        );
    }
    Ok(())
}

/// A `google.protobuf.Timestamp` outside the range the type defines (years
/// 1–9999, nanos 0–999,999,999) is a field violation wherever a request
/// carries one, never another time in its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_outside_the_timestamp_range_are_field_violations() -> Result<()> {
    use crate::support::expect_invalid;
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let at = |seconds: i64, nanos: i32| Some(prost_types::Timestamp { seconds, nanos });
    // The first and last instants of the range, and just outside them.
    let (first, last) = (-62_135_596_800, 253_402_300_799);
    let outside = [
        at(first - 1, 0),
        at(last + 1, 0),
        // Before any calendar PostgreSQL keeps (chrono still reads it).
        at(-8_000_000_000_000, 0),
        at(0, -1),
        at(0, 1_000_000_000),
        // A leap second as chrono writes one: not a Timestamp.
        at(59, 1_500_000_000),
    ];
    for time in outside {
        for (field, range) in [
            (
                "create_time.start_time",
                pb::ListCasesRequest {
                    create_time: Some(pb::TimeRange { start_time: time, end_time: None }),
                    ..Default::default()
                },
            ),
            (
                "update_time.end_time",
                pb::ListCasesRequest {
                    update_time: Some(pb::TimeRange { start_time: None, end_time: time }),
                    ..Default::default()
                },
            ),
        ] {
            expect_invalid(w.clerk.cases().list_cases(range).await, &[field]);
        }
    }
    for time in [at(first, 0), at(last, 999_999_999), at(0, 0)] {
        let range = pb::TimeRange { start_time: time, end_time: time };
        let listed =
            w.clerk.cases().list_cases(pb::ListCasesRequest { create_time: Some(range), ..Default::default() }).await?;
        assert!(listed.cases.is_empty(), "{time:?}");
    }
    let case = w.accepted_case("送达时间").await?;
    for time in outside {
        let reply = pb::ReplyToCaseRequest {
            case_id: case.id.clone(),
            opinion: Some(pb::Opinion { serve_time: time, ..opinion() }),
            ..Default::default()
        };
        expect_invalid(w.handler.cases().reply_to_case(reply).await, &["opinion.serve_time"]);
    }
    Ok(())
}

/// ListCases answers what a list screen shows unless asked for more
/// (AIP-157): the basic view carries no content, requests, facts,
/// attachments or opinions and decrypts no phone; the full view is what
/// GetCase answers. The view is not a filter: a page token outlives a
/// change of view. An unknown view is refused on its field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_answer_the_basic_view_unless_asked_for_the_full_one() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let photo = pb::Attachment {
        name: "漏水.jpg".into(),
        media_type: "image/jpeg".into(),
        size_bytes: 2048,
        sha256: "ab".repeat(32),
    };
    let older = w.submit(claim("先提交的")).await?;
    let case = w.submit(pb::CaseDraft { attachments: vec![photo], ..claim("视图测试") }).await?;
    let case = w
        .clerk
        .cases()
        .assign_case(pb::AssignCaseRequest {
            case_id: case.id.clone(),
            organization_id: w.dir.unit_a.id.clone(),
            report_by: date_in(30),
            etag: case.etag.clone(),
            ..Default::default()
        })
        .await?;
    w.handler.cases().accept_case(pb::AcceptCaseRequest { case_id: case.id.clone(), ..Default::default() }).await?;
    let replied = w
        .handler
        .cases()
        .reply_to_case(pb::ReplyToCaseRequest {
            case_id: case.id.clone(),
            opinion: Some(opinion()),
            ..Default::default()
        })
        .await?;
    assert!(replied.reply.is_some() && !replied.attachments.is_empty());

    let list = |view: i32, page_token: String| {
        let cases = w.owner.cases();
        async move { cases.list_cases(pb::ListCasesRequest { view, page_size: 1, page_token, ..Default::default() }).await }
    };
    let got = w.owner.cases().get_case(&case.id).await?;
    let full = list(pb::CaseView::Full as i32, String::new()).await?;
    assert_eq!(full.cases, vec![got.clone()], "the full view is GetCase's");

    for view in [pb::CaseView::Unspecified, pb::CaseView::Basic] {
        let page = list(view as i32, String::new()).await?;
        let basic = page.cases.first().ok_or_else(|| anyhow::anyhow!("an empty page"))?;
        assert_eq!((basic.id.as_str(), basic.title.as_str()), (got.id.as_str(), got.title.as_str()));
        assert_eq!(
            (basic.state, basic.deadlines.clone(), basic.etag.as_str()),
            (got.state, got.deadlines.clone(), got.etag.as_str())
        );
        assert!(
            basic.content.is_empty() && basic.requests.is_empty() && basic.facts_and_reasons.is_empty(),
            "{view:?}"
        );
        assert!(basic.attachments.is_empty() && basic.reply.is_none(), "{view:?}");
        let phone = basic.petitioner.as_ref().map(|p| p.phone.clone()).unwrap_or_default();
        assert!(phone.contains("****"), "{view:?}: the petitioner's own phone comes masked in a list: {phone}");
        assert!(!basic.content_hidden, "nothing is hidden: it is left out");
        // The next page in the other view.
        let next = list(pb::CaseView::Full as i32, page.next_page_token.clone()).await?;
        assert_eq!(next.cases.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [older.id.as_str()]);
    }

    let refused = list(7, String::new()).await.err().ok_or_else(|| anyhow::anyhow!("view 7 was accepted"))?;
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert_eq!(refused.field_violations().into_iter().map(|v| v.field).collect::<Vec<_>>(), ["view"]);
    Ok(())
}
