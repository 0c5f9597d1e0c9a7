//! The one mapping from the domain's case events to `petition.v1`: each
//! [`Event`] variant has its wire message, and the `match` is exhaustive, so
//! a new domain event does not compile until it has a wire arm.
//!
//! Stored events are the serde form of [`Event`] (JSONB); every shape ever
//! stored must keep deserializing (see the old-shape test in `tests/e2e`).

use chrono::NaiveDate;
use pb::case_event::Detail;
use petition_proto::v1 as pb;
use uuid::Uuid;

use super::rules::{DeadlineName, Deadlines, Event, LawyerParticipation, LawyerRequest, Opinion};
use crate::calendar::rules::format_date;
use crate::convert::timestamp;

fn date(d: NaiveDate) -> String {
    format_date(d)
}

fn optional_date(d: Option<NaiveDate>) -> String {
    d.map(format_date).unwrap_or_default()
}

fn id(value: Uuid) -> String {
    value.to_string()
}

fn optional_id(value: Option<Uuid>) -> String {
    value.map(|id| id.to_string()).unwrap_or_default()
}

/// A written opinion on the wire.
pub fn opinion(o: &Opinion) -> pb::Opinion {
    pb::Opinion {
        request: o.request.clone(),
        facts: o.facts.clone(),
        decision: o.decision as i32,
        legal_basis: o.legal_basis.clone(),
        serve_time: Some(timestamp(o.served_at)),
        organization_id: id(o.organization_id),
        mediation_dispute_id: optional_id(o.mediation_dispute_id),
    }
}

/// The `CaseEventType` of an event.
pub fn event_type(event: &Event) -> pb::CaseEventType {
    use pb::CaseEventType as T;
    match event {
        Event::Registered { .. } => T::Registered,
        Event::TrackSet { .. } => T::TrackSet,
        Event::ReportedUpward { .. } => T::ReportedUpward,
        Event::Routed { .. } => T::Routed,
        Event::Objected { .. } => T::Objected,
        Event::Accepted { .. } => T::Accepted,
        Event::Declined { .. } => T::Declined,
        Event::FollowedUp { .. } => T::FollowedUp,
        Event::DeadlineExtended { .. } => T::DeadlineExtended,
        Event::Replied { .. } => T::Replied,
        Event::CompletionReported { .. } => T::CompletionReported,
        Event::ReviewRequested { .. } => T::ReviewRequested,
        Event::ReviewReplied { .. } => T::ReviewReplied,
        Event::RecheckRequested { .. } => T::RecheckRequested,
        Event::RecheckPaused { .. } => T::RecheckPaused,
        Event::RecheckResumed { .. } => T::RecheckResumed,
        Event::RecheckReplied { .. } => T::RecheckReplied,
        Event::Withdrawn { .. } => T::Withdrawn,
        Event::RepeatLinked { .. } => T::RepeatLinked,
        Event::RepeatUnlinked { .. } => T::RepeatUnlinked,
        Event::Merged { .. } => T::Merged,
        Event::Unmerged { .. } => T::Unmerged,
        Event::AccessGranted { .. } => T::AccessGranted,
        Event::AccessRevoked { .. } => T::AccessRevoked,
        Event::DeadlinesRecomputed { .. } => T::DeadlinesRecomputed,
        Event::ReferredToMediation { .. } => T::ReferredToMediation,
        Event::MediationConcluded { .. } => T::MediationConcluded,
        Event::LawyerRequested { .. } => T::LawyerRequested,
        Event::LawyerParticipated { .. } => T::LawyerParticipated,
        Event::LegalAidApplied { .. } => T::LegalAidApplied,
        Event::ReferredToCourt { .. } => T::ReferredToCourt,
        Event::CourtReferralConcluded { .. } => T::CourtReferralConcluded,
        Event::LeaderAssigned { .. } => T::LeaderAssigned,
        Event::LeaderReleased { .. } => T::LeaderReleased,
        Event::LeaderInstructed { .. } => T::LeaderInstructed,
        Event::LeaderProgressRecorded { .. } => T::LeaderProgressRecorded,
        Event::DeadlineApproaching { .. } => T::DeadlineApproaching,
        Event::DeadlineMissed { .. } => T::DeadlineMissed,
    }
}

/// The typed detail of an event.
pub fn detail(event: &Event) -> Detail {
    match event {
        Event::Registered { track, registered_on, route_by } => Detail::Registered(pb::CaseRegistered {
            track: *track as i32,
            register_date: date(*registered_on),
            route_by: date(*route_by),
        }),
        Event::TrackSet { track, reason, reply_by } => Detail::TrackSet(pb::CaseTrackSet {
            track: *track as i32,
            reason: reason.clone(),
            reply_by: optional_date(*reply_by),
        }),
        Event::ReportedUpward { organization_id, reason } => Detail::ReportedUpward(pb::CaseReportedUpward {
            organization_id: optional_id(*organization_id),
            reason: reason.clone(),
        }),
        Event::Routed { organization_id, mode, routed_on, accept_by, object_by, report_by, note, by_rule } => {
            Detail::Routed(pb::CaseRouted {
                organization_id: id(*organization_id),
                mode: *mode as i32,
                route_date: date(*routed_on),
                accept_by: date(*accept_by),
                object_by: date(*object_by),
                report_by: optional_date(*report_by),
                note: note.clone(),
                by_rule: *by_rule,
            })
        }
        Event::Objected { organization_id, reason } => {
            Detail::Objected(pb::CaseObjected { organization_id: id(*organization_id), reason: reason.clone() })
        }
        Event::Accepted { accepted_on, reply_by, note } => Detail::Accepted(pb::CaseAccepted {
            accept_date: date(*accepted_on),
            reply_by: date(*reply_by),
            note: note.clone(),
        }),
        Event::Declined { reason, diverted_to, related_case_id, explanation } => Detail::Declined(pb::CaseDeclined {
            reason: *reason as i32,
            diverted_to: diverted_to.clone(),
            related_case_id: optional_id(*related_case_id),
            explanation: explanation.clone(),
        }),
        Event::FollowedUp { kind, note } => {
            Detail::FollowedUp(pb::CaseFollowedUp { kind: *kind as i32, note: note.clone() })
        }
        Event::DeadlineExtended { days, reason, reply_by } => Detail::DeadlineExtended(pb::CaseDeadlineExtended {
            days: i32::try_from(*days).unwrap_or(i32::MAX),
            reason: reason.clone(),
            reply_by: date(*reply_by),
        }),
        Event::Replied { opinion: o, review_request_by } => {
            Detail::Replied(pb::CaseReplied { opinion: Some(opinion(o)), review_request_by: date(*review_request_by) })
        }
        Event::CompletionReported { report } => {
            Detail::CompletionReported(pb::CaseCompletionReported { report: report.clone() })
        }
        Event::ReviewRequested { reason, organization_id, requested_on, review_by } => {
            Detail::ReviewRequested(pb::CaseReviewRequested {
                reason: reason.clone(),
                organization_id: id(*organization_id),
                review_by: date(*review_by),
                request_date: optional_date(*requested_on),
            })
        }
        Event::ReviewReplied { opinion: o, recheck_request_by } => Detail::ReviewReplied(pb::CaseReviewReplied {
            opinion: Some(opinion(o)),
            recheck_request_by: date(*recheck_request_by),
        }),
        Event::RecheckRequested { reason, organization_id, requested_on, recheck_by } => {
            Detail::RecheckRequested(pb::CaseRecheckRequested {
                reason: reason.clone(),
                organization_id: id(*organization_id),
                recheck_by: date(*recheck_by),
                request_date: optional_date(*requested_on),
            })
        }
        Event::RecheckPaused { reason, days_left } => {
            Detail::RecheckPaused(pb::CaseRecheckPaused { reason: reason.clone(), days_left: *days_left })
        }
        Event::RecheckResumed { note, recheck_by } => {
            Detail::RecheckResumed(pb::CaseRecheckResumed { note: note.clone(), recheck_by: date(*recheck_by) })
        }
        Event::RecheckReplied { opinion: o } => {
            Detail::RecheckReplied(pb::CaseRecheckReplied { opinion: Some(opinion(o)) })
        }
        Event::Withdrawn { reason } => Detail::Withdrawn(pb::CaseWithdrawn { reason: reason.clone() }),
        Event::RepeatLinked { of, escalated, score_permille } => Detail::RepeatLinked(pb::CaseRepeatLinked {
            repeat_of_case_id: id(*of),
            escalated: *escalated,
            score_permille: i32::from(*score_permille),
        }),
        Event::RepeatUnlinked { reason, route_by } => {
            Detail::RepeatUnlinked(pb::CaseRepeatUnlinked { reason: reason.clone(), route_by: date(*route_by) })
        }
        Event::Merged { into, reason } => {
            Detail::Merged(pb::CaseMerged { merged_into_case_id: id(*into), reason: reason.clone() })
        }
        Event::Unmerged { reason } => Detail::Unmerged(pb::CaseUnmerged { reason: reason.clone() }),
        Event::AccessGranted { organization_id, reason } => Detail::AccessGranted(pb::CaseAccessGranted {
            organization_id: id(*organization_id),
            reason: reason.clone(),
        }),
        Event::AccessRevoked { organization_id, reason } => Detail::AccessRevoked(pb::CaseAccessRevoked {
            organization_id: id(*organization_id),
            reason: reason.clone(),
        }),
        Event::DeadlinesRecomputed { year, deadlines: d } => Detail::DeadlinesRecomputed(pb::CaseDeadlinesRecomputed {
            year: *year,
            deadlines: Some(deadlines(d, Vec::new())),
        }),
        Event::ReferredToMediation { dispute_id, team_id, referred_on } => {
            Detail::ReferredToMediation(pb::CaseReferredToMediation {
                dispute_id: id(*dispute_id),
                team_id: id(*team_id),
                refer_date: format_date(*referred_on),
            })
        }
        Event::MediationConcluded { dispute_id, outcome } => Detail::MediationConcluded(pb::CaseMediationConcluded {
            dispute_id: id(*dispute_id),
            outcome: *outcome as i32,
        }),
        Event::ReferredToCourt { referral_id, court_id, referred_on } => {
            Detail::ReferredToCourt(pb::CaseReferredToCourt {
                court_referral_id: id(*referral_id),
                court_organization_id: id(*court_id),
                refer_date: format_date(*referred_on),
            })
        }
        Event::CourtReferralConcluded { referral_id, court_id, state, court_case_number, outcome, close_date } => {
            Detail::CourtReferralConcluded(pb::CaseCourtReferralConcluded {
                court_referral_id: id(*referral_id),
                court_organization_id: id(*court_id),
                state: *state as i32,
                court_case_number: court_case_number.clone(),
                outcome: outcome.map_or(0, |o| o as i32),
                close_date: format_date(*close_date),
            })
        }
        Event::LegalAidApplied { application_id, centre_id, applied_on } => {
            Detail::LegalAidApplied(pb::CaseLegalAidApplied {
                application_id: id(*application_id),
                centre_organization_id: id(*centre_id),
                apply_date: format_date(*applied_on),
            })
        }
        Event::LawyerRequested { request } => {
            Detail::LawyerRequested(pb::CaseLawyerRequested { request: Some(lawyer_request(request)) })
        }
        Event::LawyerParticipated { participation } => Detail::LawyerParticipated(pb::CaseLawyerParticipated {
            participation: Some(lawyer_participation(participation)),
        }),
        Event::LeaderAssigned { leader_account_id, previous_leader_account_id, how, note, assigned_on } => {
            Detail::LeaderAssigned(pb::CaseLeaderAssigned {
                leader_account_id: id(*leader_account_id),
                previous_leader_account_id: optional_id(*previous_leader_account_id),
                kind: *how as i32,
                note: note.clone(),
                start_date: date(*assigned_on),
            })
        }
        Event::LeaderReleased { leader_account_id, reason } => Detail::LeaderReleased(pb::CaseLeaderReleased {
            leader_account_id: id(*leader_account_id),
            reason: reason.clone(),
        }),
        Event::LeaderInstructed { text } => Detail::LeaderInstructed(pb::CaseLeaderInstructed { text: text.clone() }),
        Event::LeaderProgressRecorded { text } => {
            Detail::LeaderProgressRecorded(pb::CaseLeaderProgressRecorded { text: text.clone() })
        }
        Event::DeadlineApproaching { deadline, due_date, organization_id } => {
            Detail::DeadlineApproaching(deadline_mark(*deadline, *due_date, *organization_id))
        }
        Event::DeadlineMissed { deadline, due_date, organization_id } => {
            Detail::DeadlineMissed(deadline_mark(*deadline, *due_date, *organization_id))
        }
    }
}

fn deadline_mark(deadline: DeadlineName, due: NaiveDate, organization_id: Option<Uuid>) -> pb::CaseDeadlineMark {
    pb::CaseDeadlineMark {
        deadline: deadline.field().to_owned(),
        due_date: format_date(due),
        organization_id: organization_id.map(id).unwrap_or_default(),
    }
}

pub fn lawyer_request(r: &LawyerRequest) -> pb::LawyerRequest {
    pb::LawyerRequest {
        stage: r.stage as i32,
        organization_id: optional_id(r.organization_id),
        note: r.note.clone(),
        requested_by_organization_id: optional_id(r.requested_by_organization_id),
        request_date: format_date(r.requested_on),
        answered: r.answered,
    }
}

pub fn lawyer_participation(p: &LawyerParticipation) -> pb::LawyerParticipation {
    pb::LawyerParticipation {
        stage: p.stage as i32,
        capacity: p.capacity as i32,
        lawyer_account_id: optional_id(p.lawyer_account_id),
        lawyer_name: p.lawyer_name.clone(),
        affiliation: p.affiliation.clone(),
        service: p.service as i32,
        service_date: format_date(p.service_date),
        summary: p.summary.clone(),
    }
}

/// A case's deadlines on the wire; `provisional` names those that may
/// still move (see `clocks::provisional`).
pub fn deadlines(d: &Deadlines, provisional: Vec<String>) -> pb::CaseDeadlines {
    pb::CaseDeadlines {
        route_by: optional_date(d.route_by),
        accept_by: optional_date(d.accept_by),
        object_by: optional_date(d.object_by),
        reply_by: optional_date(d.reply_by),
        report_by: optional_date(d.report_by),
        review_request_by: optional_date(d.review_request_by),
        review_by: optional_date(d.review_by),
        recheck_request_by: optional_date(d.recheck_request_by),
        recheck_by: optional_date(d.recheck_by),
        provisional,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::testing::every_event;

    #[test]
    fn every_event_has_its_own_type_and_the_detail_of_that_type() {
        let events = every_event();
        let mut types: Vec<i32> = events.iter().map(|e| event_type(e) as i32).collect();
        let every_type = (1..=255).filter(|t| pb::CaseEventType::try_from(*t).is_ok()).count();
        assert_eq!(types.len(), every_type, "one sample per event type");
        // The stored event type number is the wire's.
        for event in &events {
            assert_eq!(i32::from(crate::cases::rules::event_type(event)), event_type(event) as i32);
        }
        types.sort_unstable();
        types.dedup();
        assert_eq!(types.len(), events.len(), "distinct types");
        for event in &events {
            // The oneof field number is the type's offset by 9 (10 = REGISTERED).
            let encoded = pb::CaseEvent { detail: Some(detail(event)), ..Default::default() };
            let bytes = prost::Message::encode_to_vec(&encoded);
            let tag = (event_type(event) as u64 + 9) << 3 | 2;
            let mut varint = Vec::new();
            prost::encoding::encode_varint(tag, &mut varint);
            assert!(bytes.starts_with(&varint), "{event:?} is carried in its own oneof arm");
        }
    }
}
