//! Schedules, slots, bookings and their events on the wire.

use pb::reception_booking_event::Detail;
use petition_proto::v1 as pb;

use super::model::{BookingRow, ScheduleRow};
use super::rules::{self, Event, Reception, ScheduleSpec};
use super::schedule::Slot;
use crate::calendar::rules::format_date;
use crate::convert::timestamp;
use crate::event_log::EventRow;

fn id_or_empty(id: Option<uuid::Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

pub fn spec_message(spec: &ScheduleSpec) -> pb::ReceptionScheduleSpec {
    pb::ReceptionScheduleSpec {
        leader_account_id: spec.leader_account_id.to_string(),
        address: spec.address.clone(),
        region_code: spec.region_code.clone(),
        recurrence: spec.recurrence as i32,
        weekdays: spec.weekdays.iter().map(|d| i32::from(*d)).collect(),
        dates: spec.dates.iter().map(|d| format_date(*d)).collect(),
        slots: spec
            .slots
            .iter()
            .map(|s| pb::ReceptionSlotTemplate {
                start_time: rules::format_time(s.minute),
                minutes: i32::from(s.minutes),
                capacity: i32::from(s.capacity),
            })
            .collect(),
        valid_from: format_date(spec.valid_from),
        valid_until: spec.valid_until.map(format_date).unwrap_or_default(),
        title: spec.title.clone(),
    }
}

pub fn schedule_message(row: &ScheduleRow) -> pb::ReceptionSchedule {
    pb::ReceptionSchedule {
        id: row.id.to_string(),
        spec: Some(spec_message(&row.spec.0)),
        organization_id: row.organization_id.to_string(),
        retired: row.retired,
        etag: row.version.to_string(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
    }
}

pub fn slot_message(slot: &Slot) -> pb::ReceptionSlot {
    pb::ReceptionSlot {
        schedule_id: slot.schedule.id.to_string(),
        leader_account_id: slot.schedule.leader_account_id.to_string(),
        date: format_date(slot.date),
        start_time: rules::format_time(slot.template.minute),
        minutes: i32::from(slot.template.minutes),
        capacity: i32::from(slot.template.capacity),
        remaining: slot.remaining,
        address: slot.schedule.spec.0.address.clone(),
        start: Some(timestamp(rules::slot_start(slot.date, slot.template.minute))),
    }
}

fn record_message(r: &Reception) -> pb::ReceptionRecord {
    pb::ReceptionRecord {
        outcome: r.outcome as i32,
        attendees: r.attendees.clone(),
        notes: r.notes.clone(),
        case_id: id_or_empty(r.case_id),
        ownership_taken: r.ownership_taken,
        recorded_by_account_id: r.by.to_string(),
        record_time: Some(timestamp(r.at)),
    }
}

pub fn booking_message(row: &BookingRow) -> pb::ReceptionBooking {
    let life = &row.lifecycle.0;
    pb::ReceptionBooking {
        id: row.id.to_string(),
        schedule_id: row.schedule_id.to_string(),
        leader_account_id: row.leader_account_id.to_string(),
        citizen_account_id: row.citizen_account_id.to_string(),
        date: format_date(row.slot_date),
        start_time: rules::format_time(life.minute),
        start: Some(timestamp(row.starts_at)),
        title: life.title.clone(),
        description: life.description.clone(),
        case_id: id_or_empty(life.case_id),
        state: life.state as i32,
        cancel_reason: life.cancel_reason.clone().unwrap_or_default(),
        record: life.reception.as_ref().map(record_message),
        etag: row.version.to_string(),
        create_time: Some(timestamp(row.created_at)),
        update_time: Some(timestamp(row.updated_at)),
        address: life.address.clone(),
    }
}

/// The wire form of a booking's event.
pub fn event_message(row: &EventRow, event: &Event) -> pb::ReceptionBookingEvent {
    pb::ReceptionBookingEvent {
        sequence: i64::from(row.sequence),
        r#type: i32::from(row.event_type),
        actor_account_id: id_or_empty(row.actor_id),
        time: Some(timestamp(row.occurred_at)),
        state: i32::from(row.state),
        booking_id: row.aggregate_id.to_string(),
        detail: Some(detail(event)),
    }
}

fn detail(event: &Event) -> Detail {
    match event {
        Event::Booked { schedule_id, citizen_account_id, date, minute, title, case_id, .. } => {
            Detail::Booked(pb::ReceptionBooked {
                schedule_id: schedule_id.to_string(),
                citizen_account_id: citizen_account_id.to_string(),
                date: format_date(*date),
                start_time: rules::format_time(*minute),
                title: title.clone(),
                case_id: id_or_empty(*case_id),
            })
        }
        Event::Cancelled { reason, by_citizen } => {
            Detail::Cancelled(pb::ReceptionCancelled { reason: reason.clone(), by_citizen: *by_citizen })
        }
        Event::Received(r) => Detail::Received(record_message(r)),
        Event::NoShow { note } => Detail::NoShow(pb::ReceptionNoShow { note: note.clone() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_match_the_contract() {
        for (t, want) in [
            (1, pb::ReceptionBookingEventType::Booked),
            (2, pb::ReceptionBookingEventType::Cancelled),
            (3, pb::ReceptionBookingEventType::Received),
            (4, pb::ReceptionBookingEventType::NoShow),
        ] {
            assert_eq!(pb::ReceptionBookingEventType::try_from(t).ok(), Some(want));
        }
        let e = Event::NoShow { note: String::new() };
        assert_eq!(rules::event_type(&e), 4);
    }
}
