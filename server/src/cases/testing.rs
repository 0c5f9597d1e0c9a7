//! Test data shared by the unit tests of `cases` (the rules, the wire
//! mapping).

use chrono::NaiveDate;
use uuid::Uuid;

use super::domain::{
    Decision, DeclineReason, FollowUpKind, LawyerCapacity, LawyerService, LawyerStage, MediationOutcome, RoutingMode,
    Track,
};
use super::rules::{Deadlines, Event, LawyerParticipation, LawyerRequest, Opinion};

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
}

/// One event of every variant: what the stored-event and wire tests go
/// through.
pub(crate) fn every_event() -> Vec<Event> {
    let org = Uuid::from_u128(7);
    let opinion = Opinion {
        request: "r".into(),
        facts: "f".into(),
        decision: Decision::Supported,
        legal_basis: "b".into(),
        served_at: chrono::DateTime::UNIX_EPOCH,
        organization_id: org,
        mediation_dispute_id: Some(org),
    };
    vec![
        Event::Registered { track: Track::Normal, registered_on: day(), route_by: day() },
        Event::TrackSet { track: Track::Urgent, reason: "r".into(), reply_by: None },
        Event::ReportedUpward { organization_id: Some(org), reason: "r".into() },
        Event::Routed {
            organization_id: org,
            mode: RoutingMode::Assign,
            routed_on: day(),
            accept_by: day(),
            object_by: day(),
            report_by: Some(day()),
            note: String::new(),
            by_rule: false,
        },
        Event::Objected { organization_id: org, reason: "r".into() },
        Event::Accepted { accepted_on: day(), reply_by: day(), note: String::new() },
        Event::Declined {
            reason: DeclineReason::Litigation,
            diverted_to: "court".into(),
            related_case_id: None,
            explanation: String::new(),
        },
        Event::FollowedUp { kind: FollowUpKind::Visit, note: "n".into() },
        Event::DeadlineExtended { days: 30, reason: "r".into(), reply_by: day() },
        Event::Replied { opinion: opinion.clone(), review_request_by: day() },
        Event::CompletionReported { report: "done".into() },
        Event::ReviewRequested {
            reason: "r".into(),
            organization_id: org,
            requested_on: Some(day()),
            review_by: day(),
        },
        Event::ReviewReplied { opinion: opinion.clone(), recheck_request_by: day() },
        Event::RecheckRequested { reason: "r".into(), organization_id: org, requested_on: None, recheck_by: day() },
        Event::RecheckPaused { reason: "r".into(), days_left: 3 },
        Event::RecheckResumed { note: String::new(), recheck_by: day() },
        Event::RecheckReplied { opinion },
        Event::Withdrawn { reason: String::new() },
        Event::RepeatLinked { of: org, escalated: true, score_permille: 912 },
        Event::RepeatUnlinked { reason: "r".into(), route_by: day() },
        Event::Merged { into: org, reason: "r".into() },
        Event::Unmerged { reason: "r".into() },
        Event::AccessGranted { organization_id: org, reason: "r".into() },
        Event::AccessRevoked { organization_id: org, reason: "r".into() },
        Event::DeadlinesRecomputed { year: 2027, deadlines: Deadlines { reply_by: Some(day()), ..Default::default() } },
        Event::ReferredToMediation { dispute_id: org, team_id: org, referred_on: day() },
        Event::MediationConcluded { dispute_id: org, outcome: MediationOutcome::Settled },
        Event::LawyerRequested {
            request: LawyerRequest {
                stage: LawyerStage::DuringHandling,
                organization_id: Some(org),
                note: "n".into(),
                requested_by_organization_id: Some(org),
                requested_on: day(),
                answered: false,
            },
        },
        Event::LawyerParticipated {
            participation: LawyerParticipation {
                stage: LawyerStage::DuringHandling,
                capacity: LawyerCapacity::PublicLawyer,
                lawyer_account_id: Some(org),
                lawyer_name: "钱律师".into(),
                affiliation: String::new(),
                service: LawyerService::Opinion,
                service_date: day(),
                summary: "s".into(),
            },
        },
        Event::LegalAidApplied { application_id: org, centre_id: org, applied_on: day() },
        Event::ReferredToCourt { referral_id: org, court_id: org, referred_on: day() },
        Event::CourtReferralConcluded {
            referral_id: org,
            court_id: org,
            state: crate::courts::domain::ReferralState::Concluded,
            court_case_number: "（2026）赣0702民初1号".into(),
            outcome: Some(crate::courts::domain::CourtOutcome::Judgment),
            close_date: day(),
        },
        Event::LeaderAssigned {
            leader_account_id: org,
            previous_leader_account_id: Some(org),
            how: super::domain::LeaderAssignment::Assigned,
            note: "n".into(),
            assigned_on: day(),
        },
        Event::LeaderReleased { leader_account_id: org, reason: "r".into() },
        Event::LeaderInstructed { text: "t".into() },
        Event::LeaderProgressRecorded { text: "t".into() },
        Event::DeadlineApproaching {
            deadline: crate::cases::rules::DeadlineName::ReplyBy,
            due_date: day(),
            organization_id: Some(org),
        },
        Event::DeadlineMissed {
            deadline: crate::cases::rules::DeadlineName::AcceptBy,
            due_date: day(),
            organization_id: None,
        },
    ]
}
