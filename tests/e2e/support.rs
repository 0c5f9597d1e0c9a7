//! Assertions shared by the e2e tests.

use petition_sdk::pb;
use petition_sdk::tonic::Code;

/// Asserts that `result` failed with `code` and, if given, the ErrorInfo
/// `reason`; returns the error for further checks.
#[track_caller]
pub fn expect_error<T: std::fmt::Debug>(
    result: Result<T, petition_sdk::Error>,
    code: Code,
    reason: Option<&str>,
) -> petition_sdk::Error {
    match result {
        Ok(value) => panic!("expected {code:?}, got Ok({value:?})"),
        Err(error) => {
            assert_eq!(error.code(), code, "{error}");
            // Every reason the server sends is one the contract lists.
            assert!(error.error_reason().is_some(), "reason {:?} is not in ErrorReason: {error}", error.reason());
            if let Some(reason) = reason {
                assert_eq!(error.reason(), Some(reason), "{error}");
            }
            error
        }
    }
}

/// Asserts INVALID_ARGUMENT naming exactly `fields`.
#[track_caller]
pub fn expect_invalid<T: std::fmt::Debug>(
    result: Result<T, petition_sdk::Error>,
    fields: &[&str],
) -> petition_sdk::Error {
    let error = expect_error(result, Code::InvalidArgument, Some("INVALID_ARGUMENT"));
    let mut got: Vec<String> = error.field_violations().into_iter().map(|v| v.field).collect();
    got.sort();
    let mut want: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    want.sort();
    assert_eq!(got, want, "{error}");
    error
}

/// Asserts that a change carries a case event whose typed detail is the arm
/// of its type (or is withheld, and says so).
#[track_caller]
pub fn assert_typed(change: &pb::Change) {
    match &change.event {
        Some(pb::change::Event::CaseEvent(event)) => assert_typed_event(event),
        Some(pb::change::Event::DisputeEvent(event)) => assert_typed_dispute_event(event),
        Some(pb::change::Event::LegalAidEvent(event)) => assert_typed_legal_aid_event(event),
        Some(pb::change::Event::CourtReferralEvent(event)) => assert_typed_court_referral_event(event),
        Some(pb::change::Event::RatingEvent(event)) => assert_typed_rating_event(event),
        Some(pb::change::Event::BacklogCaseEvent(event)) => assert_typed_backlog_event(event),
        Some(pb::change::Event::SupervisionEvent(event)) => assert_typed_supervision_event(event),
        Some(pb::change::Event::ReceptionBookingEvent(event)) => {
            let matches = matches!(
                (event.r#type(), &event.detail),
                (pb::ReceptionBookingEventType::Booked, Some(pb::reception_booking_event::Detail::Booked(_)))
                    | (
                        pb::ReceptionBookingEventType::Cancelled,
                        Some(pb::reception_booking_event::Detail::Cancelled(_))
                    )
                    | (pb::ReceptionBookingEventType::Received, Some(pb::reception_booking_event::Detail::Received(_)))
                    | (pb::ReceptionBookingEventType::NoShow, Some(pb::reception_booking_event::Detail::NoShow(_)))
            );
            assert!(matches, "the detail is not the arm of the event's type: {event:?}");
        }
        None => panic!("a change without an event: {change:?}"),
    }
}

/// Asserts that a case event's detail is the arm of its type: every stored
/// event decodes, none falls through to an empty detail.
#[track_caller]
pub fn assert_typed_event(event: &pb::CaseEvent) {
    use pb::CaseEventType as T;
    use pb::case_event::Detail as D;
    if event.detail_hidden {
        assert!(event.detail.is_none(), "a withheld detail was sent: {event:?}");
        return;
    }
    let matches = matches!(
        (event.r#type(), &event.detail),
        (T::Registered, Some(D::Registered(_)))
            | (T::TrackSet, Some(D::TrackSet(_)))
            | (T::ReportedUpward, Some(D::ReportedUpward(_)))
            | (T::Routed, Some(D::Routed(_)))
            | (T::Objected, Some(D::Objected(_)))
            | (T::Accepted, Some(D::Accepted(_)))
            | (T::Declined, Some(D::Declined(_)))
            | (T::FollowedUp, Some(D::FollowedUp(_)))
            | (T::DeadlineExtended, Some(D::DeadlineExtended(_)))
            | (T::Replied, Some(D::Replied(_)))
            | (T::CompletionReported, Some(D::CompletionReported(_)))
            | (T::ReviewRequested, Some(D::ReviewRequested(_)))
            | (T::ReviewReplied, Some(D::ReviewReplied(_)))
            | (T::RecheckRequested, Some(D::RecheckRequested(_)))
            | (T::RecheckPaused, Some(D::RecheckPaused(_)))
            | (T::RecheckResumed, Some(D::RecheckResumed(_)))
            | (T::RecheckReplied, Some(D::RecheckReplied(_)))
            | (T::Withdrawn, Some(D::Withdrawn(_)))
            | (T::RepeatLinked, Some(D::RepeatLinked(_)))
            | (T::RepeatUnlinked, Some(D::RepeatUnlinked(_)))
            | (T::Merged, Some(D::Merged(_)))
            | (T::Unmerged, Some(D::Unmerged(_)))
            | (T::AccessGranted, Some(D::AccessGranted(_)))
            | (T::AccessRevoked, Some(D::AccessRevoked(_)))
            | (T::DeadlinesRecomputed, Some(D::DeadlinesRecomputed(_)))
            | (T::ReferredToMediation, Some(D::ReferredToMediation(_)))
            | (T::MediationConcluded, Some(D::MediationConcluded(_)))
            | (T::LegalAidApplied, Some(D::LegalAidApplied(_)))
            | (T::LawyerRequested, Some(D::LawyerRequested(_)))
            | (T::LawyerParticipated, Some(D::LawyerParticipated(_)))
            | (T::ReferredToCourt, Some(D::ReferredToCourt(_)))
            | (T::CourtReferralConcluded, Some(D::CourtReferralConcluded(_)))
            | (T::LeaderAssigned, Some(D::LeaderAssigned(_)))
            | (T::LeaderReleased, Some(D::LeaderReleased(_)))
            | (T::LeaderInstructed, Some(D::LeaderInstructed(_)))
            | (T::LeaderProgressRecorded, Some(D::LeaderProgressRecorded(_)))
            | (T::DeadlineApproaching, Some(D::DeadlineApproaching(_)))
            | (T::DeadlineMissed, Some(D::DeadlineMissed(_)))
    );
    assert!(matches, "the detail is not the arm of the event's type: {event:?}");
}

/// Asserts FAILED_PRECONDITION with `reason`, its PreconditionFailure
/// naming `subject` (such as `disputes/<id>`).
#[track_caller]
pub fn expect_precondition<T: std::fmt::Debug>(
    result: Result<T, petition_sdk::Error>,
    reason: &str,
    subject: &str,
) -> petition_sdk::Error {
    let error = expect_error(result, Code::FailedPrecondition, Some(reason));
    let subjects: Vec<String> = error.precondition_violations().into_iter().map(|v| v.subject).collect();
    assert_eq!(subjects, [subject.to_owned()], "{error}");
    error
}

/// Asserts that a dispute event's detail is the arm of its type.
#[track_caller]
pub fn assert_typed_dispute_event(event: &pb::DisputeEvent) {
    use pb::DisputeEventType as T;
    use pb::dispute_event::Detail as D;
    let matches = matches!(
        (event.r#type(), &event.detail),
        (T::Recorded, Some(D::Recorded(_)))
            | (T::ConsentRecorded, Some(D::ConsentRecorded(_)))
            | (T::Accepted, Some(D::Accepted(_)))
            | (T::MediatorAssigned, Some(D::MediatorAssigned(_)))
            | (T::MediatorObjected, Some(D::MediatorObjected(_)))
            | (T::MediatorRecused, Some(D::MediatorRecused(_)))
            | (T::SessionHeld, Some(D::SessionHeld(_)))
            | (T::Settled, Some(D::Settled(_)))
            | (T::Failed, Some(D::Failed(_)))
            | (T::PerformanceRecorded, Some(D::PerformanceRecorded(_)))
            | (T::ConfirmationApplied, Some(D::ConfirmationApplied(_)))
            | (T::ConfirmationAnswered, Some(D::ConfirmationAnswered(_)))
            | (T::Escalated, Some(D::Escalated(_)))
            | (T::DeadlineApproaching, Some(D::DeadlineApproaching(_)))
            | (T::DeadlineMissed, Some(D::DeadlineMissed(_)))
    );
    assert!(matches, "the detail is not the arm of the event's type: {event:?}");
}

/// Asserts that a legal-aid event's detail is the arm of its type.
#[track_caller]
pub fn assert_typed_legal_aid_event(event: &pb::LegalAidEvent) {
    use pb::LegalAidEventType as T;
    use pb::legal_aid_event::Detail as D;
    let matches = matches!(
        (event.r#type(), &event.detail),
        (T::Created, Some(D::Created(_)))
            | (T::MaterialsRequested, Some(D::MaterialsRequested(_)))
            | (T::MaterialsSupplied, Some(D::MaterialsSupplied(_)))
            | (T::Withdrawn, Some(D::Withdrawn(_)))
            | (T::Granted, Some(D::Granted(_)))
            | (T::Refused, Some(D::Refused(_)))
            | (T::AidFirstGranted, Some(D::AidFirstGranted(_)))
            | (T::PapersCompleted, Some(D::PapersCompleted(_)))
            | (T::ConflictFound, Some(D::ConflictFound(_)))
            | (T::ConflictCleared, Some(D::ConflictCleared(_)))
            | (T::LawyerAssigned, Some(D::LawyerAssigned(_)))
            | (T::Terminated, Some(D::Terminated(_)))
            | (T::ObjectionFiled, Some(D::ObjectionFiled(_)))
            | (T::ObjectionDecided, Some(D::ObjectionDecided(_)))
            | (T::Closed, Some(D::Closed(_)))
            | (T::DeadlineApproaching, Some(D::DeadlineApproaching(_)))
            | (T::DeadlineMissed, Some(D::DeadlineMissed(_)))
    );
    assert!(matches, "the detail is not the arm of the event's type: {event:?}");
}

/// Court linkage: a referral event's detail is the arm of its type.
#[track_caller]
pub fn assert_typed_court_referral_event(event: &pb::CourtReferralEvent) {
    use pb::CourtReferralEventType as T;
    use pb::court_referral_event::Detail as D;
    let matches = matches!(
        (event.r#type(), &event.detail),
        (T::Referred, Some(D::Referred(_)))
            | (T::Acknowledged, Some(D::Acknowledged(_)))
            | (T::Filed, Some(D::Filed(_)))
            | (T::HearingScheduled, Some(D::HearingScheduled(_)))
            | (T::Concluded, Some(D::Concluded(_)))
            | (T::Returned, Some(D::Returned(_)))
            | (T::Withdrawn, Some(D::Withdrawn(_)))
    );
    assert!(matches, "the detail is not the arm of the event's type: {event:?}");
}

/// Ratings: an event's detail is the arm of its type.
#[track_caller]
pub fn assert_typed_rating_event(event: &pb::RatingEvent) {
    use pb::RatingEventType as T;
    use pb::rating_event::Detail as D;
    let matches = matches!(
        (event.r#type(), &event.detail),
        (T::Opened, Some(D::Opened(_))) | (T::Rated, Some(D::Rated(_))) | (T::Amended, Some(D::Amended(_)))
    );
    assert!(matches, "the detail is not the arm of the event's type: {event:?}");
}

/// Asserts that a supervision event's detail is the arm of its type.
#[track_caller]
pub fn assert_typed_supervision_event(event: &pb::SupervisionEvent) {
    use pb::SupervisionEventType as T;
    use pb::supervision_event::Detail as D;
    let matches = matches!(
        (event.r#type(), &event.detail),
        (T::Issued, Some(D::Issued(_)))
            | (T::Answered, Some(D::Answered(_)))
            | (T::AnswerAccepted, Some(D::AnswerAccepted(_)))
            | (T::AnswerRejected, Some(D::AnswerRejected(_)))
            | (T::Escalated, Some(D::Escalated(_)))
            | (T::Withdrawn, Some(D::Withdrawn(_)))
            | (T::DeadlineApproaching, Some(D::DeadlineApproaching(_)))
            | (T::Lapsed, Some(D::Lapsed(_)))
    );
    assert!(matches, "the detail is not the arm of the event's type: {event:?}");
}

/// Backlog cases: an event's detail is the arm of its type.
#[track_caller]
pub fn assert_typed_backlog_event(event: &pb::BacklogCaseEvent) {
    use pb::BacklogCaseEventType as T;
    use pb::backlog_case_event::Detail as D;
    let matches = matches!(
        (event.r#type(), &event.detail),
        (T::Designated, Some(D::Designated(_)))
            | (T::ChecksRecorded, Some(D::ChecksRecorded(_)))
            | (T::AccountabilityRecorded, Some(D::AccountabilityRecorded(_)))
            | (T::Resolved, Some(D::Resolved(_)))
            | (T::Withdrawn, Some(D::Withdrawn(_)))
    );
    assert!(matches, "the detail is not the arm of the event's type: {event:?}");
}

/// Reads with `read` until `done` holds of what it read, for at most ten
/// seconds, and returns the last reading: the feed shows a commit once
/// every older transaction has ended, and on a busy machine one may still
/// be open right after a call returns.
pub async fn eventually<T, F, Fut>(mut read: F, done: impl Fn(&T) -> bool) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let value = read().await?;
        if done(&value) || std::time::Instant::now() > deadline {
            return Ok(value);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A binary of the SDK's examples, built by `cargo test --workspace`.
pub fn example(name: &str) -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    // target/<profile>/deps/e2e-… → target/<profile>/examples/<name>
    let exe = std::env::current_exe()?;
    let profile = exe.parent().and_then(|deps| deps.parent()).context("the target directory")?;
    let path = profile.join("examples").join(name);
    anyhow::ensure!(
        path.exists(),
        "{} is not built: run `cargo test --workspace` (or `cargo build -p petition-sdk --examples`)",
        path.display()
    );
    Ok(path)
}

/// Runs the example `name` against `url`; its standard output, once it
/// exited successfully.
pub async fn run_example(name: &str, url: &str) -> anyhow::Result<String> {
    let path = example(name)?;
    let url = url.to_owned();
    let out = tokio::task::spawn_blocking(move || std::process::Command::new(path).arg(url).output()).await??;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    anyhow::ensure!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    Ok(stdout)
}
