//! Supervision items and their events on the wire.

use chrono::NaiveDate;
use pb::supervision_event::Detail;
use petition_proto::v1 as pb;

use super::domain::SupervisionState;
use super::model::SupervisionRow;
use super::rules::{Event, Letter};
use crate::calendar::rules::{format_date, is_overdue};
use crate::convert::timestamp;
use crate::event_log::EventRow;

fn letter(l: &Letter) -> pb::SupervisionLetter {
    pb::SupervisionLetter {
        rung: l.rung as i32,
        number: l.number.clone(),
        issued_on: format_date(l.issued_on),
        due_date: format_date(l.due_date),
    }
}

fn id_or_empty(id: Option<uuid::Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

/// The wire form of an item, `overdue` as of `today`.
pub fn supervision_message(row: &SupervisionRow, today: NaiveDate) -> pb::Supervision {
    let life = &row.lifecycle.0;
    pb::Supervision {
        id: row.id.to_string(),
        case_id: row.case_id.to_string(),
        case_number: row.case_number.clone(),
        region_code: row.region_code.clone(),
        organization_id: row.organization_id.to_string(),
        issuer_organization_id: row.issuer_organization_id.to_string(),
        issued_by_account_id: id_or_empty(life.issued_by),
        trigger: life.trigger as i32,
        text: life.text.clone(),
        rung: life.rung as i32,
        state: life.state as i32,
        due_date: format_date(life.due_date),
        overdue: life.state == SupervisionState::Open && is_overdue(life.due_date, today),
        issued_on: format_date(life.issued_on),
        letters: life.letters.iter().map(letter).collect(),
        answer: life.answer.as_ref().map(|a| pb::SupervisionAnswer {
            text: a.text.clone(),
            answered_by_account_id: a.by.to_string(),
            answer_time: Some(timestamp(a.at)),
        }),
        automatic: life.automatic,
        etag: row.version.to_string(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        last_event_sequence: i64::from(row.last_sequence),
    }
}

/// The wire form of an item's event.
pub fn event_message(row: &EventRow, event: &Event) -> pb::SupervisionEvent {
    pb::SupervisionEvent {
        sequence: i64::from(row.sequence),
        r#type: i32::from(row.event_type),
        actor_account_id: id_or_empty(row.actor_id),
        time: Some(timestamp(row.occurred_at)),
        state: i32::from(row.state),
        supervision_id: row.aggregate_id.to_string(),
        detail: Some(detail(event)),
    }
}

fn note(text: &str) -> pb::SupervisionNote {
    pb::SupervisionNote { text: text.to_owned() }
}

fn detail(event: &Event) -> Detail {
    match event {
        Event::Issued {
            case_id,
            organization_id,
            issuer_organization_id,
            trigger,
            text,
            rung,
            issued_on,
            due_date,
            letter_number,
            automatic,
            ..
        } => Detail::Issued(pb::SupervisionIssued {
            case_id: case_id.to_string(),
            organization_id: organization_id.to_string(),
            issuer_organization_id: issuer_organization_id.to_string(),
            trigger: *trigger as i32,
            text: text.clone(),
            rung: *rung as i32,
            issued_on: format_date(*issued_on),
            due_date: format_date(*due_date),
            letter_number: letter_number.clone().unwrap_or_default(),
            automatic: *automatic,
        }),
        Event::Answered { text, .. } => Detail::Answered(note(text)),
        Event::AnswerAccepted { note: n } => Detail::AnswerAccepted(note(n)),
        Event::AnswerRejected { note: n } => Detail::AnswerRejected(note(n)),
        Event::Escalated { from, rung, issued_on, due_date, letter_number, automatic, reason } => {
            Detail::Escalated(pb::SupervisionEscalated {
                from_rung: *from as i32,
                rung: *rung as i32,
                issued_on: format_date(*issued_on),
                due_date: format_date(*due_date),
                letter_number: letter_number.clone().unwrap_or_default(),
                automatic: *automatic,
                reason: reason.clone(),
            })
        }
        Event::Withdrawn { reason } => Detail::Withdrawn(note(reason)),
        Event::DeadlineApproaching { due_date } => {
            Detail::DeadlineApproaching(pb::SupervisionDeadline { due_date: format_date(*due_date) })
        }
        Event::Lapsed { due_date } => Detail::Lapsed(pb::SupervisionDeadline { due_date: format_date(*due_date) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervision::domain::{Rung, Trigger};
    use crate::supervision::rules;

    #[test]
    fn each_event_type_is_carried_in_its_own_oneof_arm() {
        let at = chrono::Utc::now();
        let id = uuid::Uuid::from_u128(1);
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).expect("a date");
        let events = [
            Event::Issued {
                case_id: id,
                organization_id: id,
                issuer_organization_id: id,
                issued_by: None,
                trigger: Trigger::Delay,
                text: "t".into(),
                rung: Rung::Reminder,
                issued_on: day,
                due_date: day,
                letter_number: None,
                automatic: false,
            },
            Event::Answered { text: "t".into(), by: id, at },
            Event::AnswerAccepted { note: String::new() },
            Event::AnswerRejected { note: "n".into() },
            Event::Escalated {
                from: Rung::Reminder,
                rung: Rung::Letter,
                issued_on: day,
                due_date: day,
                letter_number: Some("n".into()),
                automatic: true,
                reason: String::new(),
            },
            Event::Withdrawn { reason: "r".into() },
            Event::DeadlineApproaching { due_date: day },
            Event::Lapsed { due_date: day },
        ];
        for event in &events {
            let t = rules::event_type(event);
            assert!(pb::SupervisionEventType::try_from(i32::from(t)).is_ok());
            let encoded = pb::SupervisionEvent { detail: Some(detail(event)), ..Default::default() };
            let bytes = prost::Message::encode_to_vec(&encoded);
            // The oneof field number is the type's offset by 9 (10 = ISSUED).
            let tag = (u64::try_from(t).expect("positive") + 9) << 3 | 2;
            let mut varint = Vec::new();
            prost::encoding::encode_varint(tag, &mut varint);
            assert!(bytes.starts_with(&varint), "{event:?}");
        }
    }
}
