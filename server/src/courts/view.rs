//! Referral rows and events on the wire. Everyone who may see a referral
//! sees all of it: it carries names and the court's acts, no contact
//! details or ID numbers (those stay on the case, shown as the case's
//! policy allows).

use chrono::NaiveDate;
use pb::court_referral_event::Detail;
use petition_proto::v1 as pb;

use super::model::ReferralRow;
use super::rules::{Event, Hearing};
use crate::calendar::rules::format_date;
use crate::convert::timestamp;
use crate::event_log::EventRow;

fn optional_id(id: Option<uuid::Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(format_date).unwrap_or_default()
}

fn hearing(h: &Hearing) -> pb::CourtHearing {
    pb::CourtHearing {
        number: h.number,
        hearing_date: format_date(h.date),
        place: h.place.clone(),
        kind: h.kind as i32,
        postponed: h.postponed,
    }
}

/// The wire form of a referral of the case numbered `case_number`.
pub fn referral_message(row: &ReferralRow, case_number: &str) -> pb::CourtReferral {
    let life = &row.lifecycle.0;
    pb::CourtReferral {
        id: row.id.to_string(),
        case_id: row.case_id.to_string(),
        case_number: case_number.to_owned(),
        court_organization_id: row.court_organization_id.to_string(),
        referring_organization_id: optional_id(row.referring_organization_id),
        region_code: row.region_code.clone(),
        state: i32::from(row.state),
        claim_summary: life.claim_summary.clone(),
        parties: life.parties.iter().map(|p| pb::CourtParty { name: p.name.clone(), role: p.role as i32 }).collect(),
        refer_date: format_date(life.refer_date),
        acknowledge_date: date(life.acknowledge_date),
        court_case_number: life.court_case_number.clone(),
        filing_date: date(life.filing_date),
        judge: life.judge.clone(),
        hearings: life.hearings.iter().map(hearing).collect(),
        outcome: life.outcome.map_or(0, |o| o as i32),
        outcome_date: if life.outcome.is_some() { date(life.close_date) } else { String::new() },
        outcome_summary: life.outcome_summary.clone(),
        document_number: life.document_number.clone(),
        return_reason: life.return_reason.map_or(0, |r| r as i32),
        close_explanation: life.close_explanation.clone(),
        close_date: date(life.close_date),
        etag: row.version.to_string(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        last_event_sequence: i64::from(row.last_sequence),
    }
}

/// The wire form of a referral event.
pub fn event_message(row: &EventRow, event: &Event) -> pb::CourtReferralEvent {
    pb::CourtReferralEvent {
        sequence: i64::from(row.sequence),
        r#type: i32::from(row.event_type),
        actor_account_id: optional_id(row.actor_id),
        time: Some(timestamp(row.occurred_at)),
        state: i32::from(row.state),
        court_referral_id: row.aggregate_id.to_string(),
        detail: Some(detail(event)),
    }
}

fn detail(event: &Event) -> Detail {
    match event {
        Event::Referred { case_id, court_id, referring_organization_id, parties, refer_date, .. } => {
            Detail::Referred(pb::CourtReferralReferred {
                case_id: case_id.to_string(),
                court_organization_id: court_id.to_string(),
                referring_organization_id: optional_id(*referring_organization_id),
                refer_date: format_date(*refer_date),
                party_count: i32::try_from(parties.len()).unwrap_or(i32::MAX),
            })
        }
        Event::Acknowledged { date, note } => Detail::Acknowledged(pb::CourtReferralAcknowledged {
            acknowledge_date: format_date(*date),
            note: note.clone(),
        }),
        Event::Filed { court_case_number, date, judge } => Detail::Filed(pb::CourtReferralFiled {
            court_case_number: court_case_number.clone(),
            filing_date: format_date(*date),
            judge: judge.clone(),
        }),
        Event::HearingScheduled { hearing: h, postponed } => Detail::HearingScheduled(pb::CourtHearingScheduled {
            hearing: Some(hearing(h)),
            postponed_hearing_number: postponed.unwrap_or_default(),
        }),
        Event::Concluded { outcome, date, summary, document_number } => Detail::Concluded(pb::CourtReferralConcluded {
            outcome: *outcome as i32,
            outcome_date: format_date(*date),
            summary: summary.clone(),
            document_number: document_number.clone(),
        }),
        Event::Returned { reason, explanation, date } => Detail::Returned(pb::CourtReferralReturned {
            reason: *reason as i32,
            explanation: explanation.clone(),
            return_date: format_date(*date),
        }),
        Event::Withdrawn { reason, date } => {
            Detail::Withdrawn(pb::CourtReferralWithdrawn { reason: reason.clone(), withdraw_date: format_date(*date) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_type_is_carried_in_its_own_oneof_arm() {
        use crate::courts::domain::{CourtOutcome, HearingKind, ReturnReason};
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).expect("a date");
        let id = uuid::Uuid::from_u128(1);
        let events = [
            Event::Referred {
                case_id: id,
                court_id: id,
                referring_organization_id: None,
                claim_summary: "c".into(),
                parties: Vec::new(),
                refer_date: day,
            },
            Event::Acknowledged { date: day, note: String::new() },
            Event::Filed { court_case_number: "（2026）赣0702民初1号".into(), date: day, judge: String::new() },
            Event::HearingScheduled {
                hearing: Hearing {
                    number: 1,
                    date: day,
                    place: String::new(),
                    kind: HearingKind::Trial,
                    postponed: false,
                },
                postponed: None,
            },
            Event::Concluded {
                outcome: CourtOutcome::Judgment,
                date: day,
                summary: "s".into(),
                document_number: String::new(),
            },
            Event::Returned { reason: ReturnReason::NotLitigable, explanation: String::new(), date: day },
            Event::Withdrawn { reason: "r".into(), date: day },
        ];
        for event in &events {
            let t = super::super::rules::event_type(event);
            assert!(pb::CourtReferralEventType::try_from(i32::from(t)).is_ok());
            let encoded = pb::CourtReferralEvent { detail: Some(detail(event)), ..Default::default() };
            let bytes = prost::Message::encode_to_vec(&encoded);
            // The oneof field number is the type's offset by 9 (10 = REFERRED).
            let tag = (u64::try_from(t).expect("positive") + 9) << 3 | 2;
            let mut varint = Vec::new();
            prost::encoding::encode_varint(tag, &mut varint);
            assert!(bytes.starts_with(&varint), "{event:?}");
        }
    }
}
