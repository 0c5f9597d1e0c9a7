//! CaseService: the main lifecycle end to end, concurrency, idempotency,
//! numbering and the event log.

use anyhow::Result;
use futures::TryStreamExt;
use petition_sdk::pb;
use petition_sdk::tonic::Code;
use petition_tests::*;

use crate::support::expect_error;

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
