//! Ratings and their events on the wire. Whoever may see a rating sees
//! all of it: reasons and text are what the rated organizations and the
//! supervisors need; no ID or phone numbers are in it.

use chrono::NaiveDate;
use pb::rating_event::Detail;
use petition_proto::v1 as pb;

use super::model::RatingRow;
use super::rules::{self, Event, Given, Score};
use crate::calendar::rules::format_date;
use crate::convert::timestamp;
use crate::event_log::EventRow;

fn score(s: &Score) -> pb::RatingScore {
    pb::RatingScore {
        satisfaction: s.satisfaction as i32,
        reasons: s.reasons.iter().map(|r| *r as i32).collect(),
        text: s.text.clone(),
    }
}

fn given(g: &Given) -> pb::RatingGiven {
    pb::RatingGiven {
        acceptance: Some(score(&g.acceptance)),
        handling: Some(score(&g.handling)),
        channel: g.channel as i32,
        rate_time: Some(timestamp(g.rated_at)),
    }
}

/// The wire form of a rating, its state as of `today`.
pub fn rating_message(row: &RatingRow, today: NaiveDate) -> pb::Rating {
    let life = &row.lifecycle.0;
    let g = life.given.as_ref();
    pb::Rating {
        id: row.id.to_string(),
        case_id: row.case_id.to_string(),
        case_number: row.case_number.clone(),
        round: i32::from(row.round),
        state: rules::state_on(life.state, row.rate_by, today) as i32,
        region_code: row.region_code.clone(),
        category_code: row.category_code.clone(),
        serve_time: Some(timestamp(row.served_at)),
        rate_by: format_date(row.rate_by),
        acceptance_organization_id: row.acceptance_organization_id.map(|id| id.to_string()).unwrap_or_default(),
        handling_organization_id: row.handling_organization_id.to_string(),
        petitioner_account_id: row.petitioner_id.to_string(),
        acceptance: g.map(|g| score(&g.acceptance)),
        handling: g.map(|g| score(&g.handling)),
        channel: g.map_or(0, |g| g.channel as i32),
        rate_time: g.map(|g| timestamp(g.rated_at)),
        recorded_by_account_id: g.and_then(|g| g.recorded_by).map(|id| id.to_string()).unwrap_or_default(),
        change_count: life.changes,
        etag: row.version.to_string(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        last_event_sequence: i64::from(row.last_sequence),
    }
}

/// The wire form of a rating event.
pub fn event_message(row: &EventRow, event: &Event) -> pb::RatingEvent {
    pb::RatingEvent {
        sequence: i64::from(row.sequence),
        r#type: i32::from(row.event_type),
        actor_account_id: row.actor_id.map(|id| id.to_string()).unwrap_or_default(),
        time: Some(timestamp(row.occurred_at)),
        state: i32::from(row.state),
        rating_id: row.aggregate_id.to_string(),
        detail: Some(detail(event)),
    }
}

fn detail(event: &Event) -> Detail {
    match event {
        Event::Opened {
            case_id,
            round,
            served_at,
            rate_by,
            acceptance_organization_id,
            handling_organization_id,
            ..
        } => Detail::Opened(pb::RatingOpened {
            case_id: case_id.to_string(),
            round: *round as i32,
            serve_time: Some(timestamp(*served_at)),
            rate_by: format_date(*rate_by),
            acceptance_organization_id: acceptance_organization_id.map(|id| id.to_string()).unwrap_or_default(),
            handling_organization_id: handling_organization_id.to_string(),
        }),
        Event::Rated { rating } => Detail::Rated(given(rating)),
        Event::Amended { rating } => Detail::Amended(given(rating)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratings::domain::{RatingChannel, RatingRound, Satisfaction};

    #[test]
    fn each_event_type_is_carried_in_its_own_oneof_arm() {
        let at = chrono::Utc::now();
        let id = uuid::Uuid::from_u128(1);
        let s = Score { satisfaction: Satisfaction::Satisfied, reasons: Vec::new(), text: String::new() };
        let g = Given {
            acceptance: s.clone(),
            handling: s,
            channel: RatingChannel::Phone,
            rated_at: at,
            recorded_by: None,
        };
        let events = [
            Event::Opened {
                case_id: id,
                round: RatingRound::Review,
                served_at: at,
                rate_by: NaiveDate::from_ymd_opt(2026, 3, 2).expect("a date"),
                acceptance_organization_id: None,
                handling_organization_id: id,
                petitioner_id: id,
            },
            Event::Rated { rating: g.clone() },
            Event::Amended { rating: g },
        ];
        for event in &events {
            let t = rules::event_type(event);
            assert!(pb::RatingEventType::try_from(i32::from(t)).is_ok());
            let encoded = pb::RatingEvent { detail: Some(detail(event)), ..Default::default() };
            let bytes = prost::Message::encode_to_vec(&encoded);
            // The oneof field number is the type's offset by 9 (10 = OPENED).
            let tag = (u64::try_from(t).expect("positive") + 9) << 3 | 2;
            let mut varint = Vec::new();
            prost::encoding::encode_varint(tag, &mut varint);
            assert!(bytes.starts_with(&varint), "{event:?}");
        }
    }
}
