//! A booking as the command pipeline handles it: its row locked for the
//! transaction; saving applies the decided events, rewrites the
//! projections and journals the events. Bookings are opened here too.

use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use super::model::{BookingChange, BookingRow, ScheduleRow};
use super::rules::{self, Event, Lifecycle, SlotTemplate};
use super::store;
use crate::auth::Principal;
use crate::auth::policy::{self, ReceptionAccess, ReceptionAction};
use crate::error::AppError;
use crate::event_log::{AggregateType, Batch, Journal};
use crate::jsonb::Json;
use crate::pipeline::Aggregate;

/// A stored booking.
#[derive(Debug, Clone)]
pub struct Booking {
    pub row: BookingRow,
}

impl Booking {
    pub fn life(&self) -> &Lifecycle {
        &self.row.lifecycle.0
    }

    /// Loads booking `id` (not locked).
    pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<Booking, AppError> {
        let row = store::find_booking(conn, id)?.ok_or(AppError::NotFound { resource: "reception booking" })?;
        Ok(Booking { row })
    }
}

/// What the policy needs to know about a stored booking.
pub fn access(row: &BookingRow) -> ReceptionAccess<'_> {
    ReceptionAccess {
        region_path: &row.region_path,
        organization_id: row.organization_id,
        leader_account_id: row.leader_account_id,
        citizen_account_id: row.citizen_account_id,
    }
}

crate::folded_events!(Event => Lifecycle, AggregateType::ReceptionBooking, "a reception booking", rules::apply, rules::event_type);

impl Aggregate for Booking {
    const RESOURCE: &'static str = "reception booking";
    type Action = ReceptionAction;
    type Event = Event;

    fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Booking, AppError> {
        let row = store::lock_booking(conn, id)?.ok_or(AppError::NotFound { resource: "reception booking" })?;
        Ok(Booking { row })
    }

    fn etag(&self) -> String {
        self.row.version.to_string()
    }

    fn authorize(&self, _: &mut PgConnection, principal: &Principal, action: ReceptionAction) -> Result<(), AppError> {
        policy::authorize_reception_booking(principal, action, &access(&self.row))
    }

    fn save(
        self,
        conn: &mut PgConnection,
        journal: &mut Journal,
        actor: Option<Uuid>,
        events: &[Event],
    ) -> Result<Booking, AppError> {
        if events.is_empty() {
            return Ok(self);
        }
        let Booking { row } = self;
        let at = journal.now();
        let start =
            Batch { id: row.id, before: Some(row.lifecycle.0.clone()), last_sequence: row.last_sequence, actor, at };
        let (life, last_sequence) = journal.record_batch(start, events, |_, _| ())?;
        let change = BookingChange::of(life, row.version + 1, last_sequence, at);
        Ok(Booking { row: store::save_booking(conn, row.id, &change)? })
    }
}

/// A booking to open: the matter and the slot.
pub struct Opening {
    pub citizen_account_id: Uuid,
    pub date: chrono::NaiveDate,
    pub slot: SlotTemplate,
    pub title: String,
    pub description: String,
    pub case_id: Option<Uuid>,
    pub matter_key: String,
}

/// Opens a booking of `schedule` (locked by the caller), in the caller's
/// transaction.
pub fn open(
    conn: &mut PgConnection,
    journal: &mut Journal,
    schedule: &ScheduleRow,
    opening: Opening,
    now: DateTime<Utc>,
) -> Result<Booking, AppError> {
    let Opening { citizen_account_id, date, slot, title, description, case_id, matter_key } = opening;
    let spec = &schedule.spec.0;
    let event = Event::Booked {
        schedule_id: schedule.id,
        citizen_account_id,
        date,
        minute: slot.minute,
        minutes: slot.minutes,
        title,
        description,
        address: spec.address.clone(),
        case_id,
    };
    let id = Uuid::now_v7();
    let start = Batch { id, before: None, last_sequence: 0, actor: Some(citizen_account_id), at: now };
    let (life, last_sequence) = journal.record_batch(start, &[event], |_, _| ())?;
    let starts_at = rules::slot_start(date, slot.minute);
    let row = BookingRow {
        id,
        schedule_id: schedule.id,
        leader_account_id: schedule.leader_account_id,
        organization_id: schedule.organization_id,
        region_path: schedule.region_path.clone(),
        citizen_account_id,
        slot_date: date,
        slot_minute: i16::try_from(slot.minute).map_err(AppError::internal)?,
        starts_at,
        ends_at: starts_at + Duration::minutes(i64::from(slot.minutes)),
        matter_key,
        case_id,
        state: life.state.as_i16(),
        lifecycle: Json(life),
        version: 1,
        last_sequence,
        created_at: now,
        updated_at: now,
    };
    store::insert_booking(conn, &row)?;
    Ok(Booking { row })
}
