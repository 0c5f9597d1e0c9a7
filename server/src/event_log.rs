//! The append-only log every aggregate writes its events to: the source of
//! truth of each aggregate's state, its timeline, and the change feed.
//!
//! An event's feed position is `(xid, idx)`: the writing transaction's id
//! (`feed_xid()`, a column default) and the event's place in that
//! transaction, given by the [`Journal`] that writes all of a transaction's
//! events. Why readers see positions in order: `feed::store`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::prepared::KeepPrepared;
use crate::schema::events;
use crate::wire::wire_enum;

wire_enum! {
    /// What kind of aggregate an event belongs to (values match
    /// `petition.v1.AggregateType`).
    AggregateType {
        Case = 1,
        Dispute = 2,
        LegalAidApplication = 3,
        CourtReferral = 4,
        Rating = 5,
        Supervision = 6,
        BacklogCase = 7,
        ReceptionBooking = 8,
    }
}

/// Bits of a wire position that hold the event's place in its transaction.
const IDX_BITS: u32 = 16;
/// Most events one transaction may record.
pub const MAX_EVENTS_PER_TRANSACTION: usize = i16::MAX as usize + 1;

/// The wire position of the event `idx` of transaction `xid`.
pub fn position(xid: i64, idx: i16) -> i64 {
    (xid << IDX_BITS) | i64::from(idx)
}

/// The `(xid, idx)` of a wire position; `idx` may exceed any stored one
/// (a position between transactions).
pub fn split(position: i64) -> (i64, i32) {
    (position >> IDX_BITS, (position & ((1 << IDX_BITS) - 1)) as i32)
}

/// The greatest position of any event of a transaction below `xid`.
pub fn position_below(xid: i64) -> i64 {
    position(xid, 0) - 1
}

/// A stored event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub struct EventRow {
    pub aggregate_type: i16,
    pub aggregate_id: Uuid,
    pub sequence: i32,
    pub event_type: i16,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    /// The aggregate's state after the event.
    pub state: i16,
    pub payload: serde_json::Value,
    pub xid: i64,
    pub idx: i16,
}

impl EventRow {
    pub fn position(&self) -> i64 {
        position(self.xid, self.idx)
    }
}

/// An event to be written; its transaction id comes from the database.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub struct NewEvent {
    pub aggregate_type: i16,
    pub aggregate_id: Uuid,
    pub sequence: i32,
    pub event_type: i16,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub state: i16,
    pub payload: serde_json::Value,
    pub idx: i16,
}

/// The events one transaction records, written together at its end so that
/// each gets its place in the transaction.
#[derive(Debug, Default)]
pub struct Journal {
    pending: Vec<NewEvent>,
    /// Events recorded by this transaction so far, flushed or not.
    recorded: usize,
    /// The transaction's id once something was written.
    xid: Option<i64>,
    /// The recording time of what follows, when not now: a loader of past
    /// records (the mediation benchmark's city-year) sets it.
    clock: Option<DateTime<Utc>>,
}

/// An aggregate's events as its rules fold them: what the journal needs
/// to record a batch of them.
pub trait Folded: serde::Serialize + Sized {
    /// The lifecycle the events fold into.
    type Life;
    const AGGREGATE: AggregateType;
    /// The aggregate in errors ("a case").
    const NAME: &'static str;
    fn apply(life: Option<Self::Life>, event: &Self) -> Self::Life;
    /// The stored event type number.
    fn type_number(&self) -> i16;
    /// The stored state number of a lifecycle.
    fn state_number(life: &Self::Life) -> i16;
}

/// The event a stored row holds, as its aggregate's event type.
pub fn parse_event<E: Folded + serde::de::DeserializeOwned>(row: &EventRow) -> Result<E, AppError> {
    E::deserialize(&row.payload).map_err(|e| {
        AppError::internal(format!("event {} of {} {} does not parse: {e}", row.sequence, E::NAME, row.aggregate_id))
    })
}

/// Implements [`Folded`] for an aggregate's `$event`, folded by its rules'
/// `$apply` and numbered by `$event_type`, into a `$life` with a `state`.
#[macro_export]
macro_rules! folded_events {
    ($event:ty => $life:ty, $aggregate:expr, $name:literal, $apply:path, $event_type:path) => {
        impl $crate::event_log::Folded for $event {
            type Life = $life;
            const AGGREGATE: $crate::event_log::AggregateType = $aggregate;
            const NAME: &'static str = $name;

            fn apply(life: Option<$life>, event: &$event) -> $life {
                $apply(life, event)
            }

            fn type_number(&self) -> i16 {
                $event_type(self)
            }

            fn state_number(life: &$life) -> i16 {
                life.state.as_i16()
            }
        }
    };
}

/// Where a batch of events starts: whose they are, the lifecycle and last
/// sequence before them, who acts and when.
pub struct Batch<L> {
    pub id: Uuid,
    pub before: Option<L>,
    pub last_sequence: i32,
    pub actor: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// An event as recorded, before its transaction id is known.
pub struct Recorded {
    pub aggregate_type: AggregateType,
    pub aggregate_id: Uuid,
    pub sequence: i32,
    pub event_type: i16,
    pub actor_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub state: i16,
    pub payload: serde_json::Value,
}

impl Journal {
    /// When the events recorded next are recorded: now, unless
    /// [`Journal::set_clock`] said otherwise.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.unwrap_or_else(Utc::now)
    }

    /// Records what follows as recorded at `at` (`None`: now again). For
    /// loading past records through the server's own code; requests never
    /// set it.
    pub fn set_clock(&mut self, at: Option<DateTime<Utc>>) {
        self.clock = at;
    }

    /// Records `events` of one aggregate, numbered after
    /// `start.last_sequence`, each with the state it leaves the aggregate
    /// in; `each` sees every event with the lifecycle after it. Returns the
    /// lifecycle after them and the last sequence.
    pub fn record_batch<E: Folded>(
        &mut self,
        start: Batch<E::Life>,
        events: &[E],
        mut each: impl FnMut(&E, &E::Life),
    ) -> Result<(E::Life, i32), AppError> {
        let Batch { id, before, last_sequence, actor, at } = start;
        let mut life = before;
        let mut sequence = last_sequence;
        for event in events {
            let after = E::apply(life, event);
            sequence += 1;
            self.record(Recorded {
                aggregate_type: E::AGGREGATE,
                aggregate_id: id,
                sequence,
                event_type: event.type_number(),
                actor_id: actor,
                occurred_at: at,
                state: E::state_number(&after),
                payload: serde_json::to_value(event).map_err(AppError::internal)?,
            })?;
            each(event, &after);
            life = Some(after);
        }
        let life = life.ok_or_else(|| AppError::internal(format!("{} without events", E::NAME)))?;
        Ok((life, sequence))
    }

    /// Adds an event to write at the end of the transaction.
    pub fn record(&mut self, event: Recorded) -> Result<(), AppError> {
        let idx = i16::try_from(self.recorded)
            .map_err(|_| AppError::internal("more events in one transaction than a position can number"))?;
        self.recorded += 1;
        self.pending.push(NewEvent {
            aggregate_type: event.aggregate_type.as_i16(),
            aggregate_id: event.aggregate_id,
            sequence: event.sequence,
            event_type: event.event_type,
            actor_id: event.actor_id,
            occurred_at: event.occurred_at,
            state: event.state,
            payload: event.payload,
            idx,
        });
        Ok(())
    }

    /// Writes the recorded events in one statement.
    pub fn flush(&mut self, conn: &mut PgConnection) -> Result<(), AppError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        // One statement per batch size, kept prepared.
        let xids: Vec<i64> = diesel::insert_into(events::table)
            .values(&self.pending)
            .returning(events::xid)
            .keep_prepared()
            .get_results(conn)?;
        self.pending.clear();
        self.xid = xids.first().copied();
        Ok(())
    }

    /// The writing transaction's id on the feed's scale, once flushed.
    pub fn xid(&self) -> Option<i64> {
        self.xid
    }
}

/// Events of one aggregate after `after` (a sequence), oldest first.
pub fn timeline(
    conn: &mut PgConnection,
    aggregate_id: Uuid,
    after: i32,
    limit: i64,
) -> Result<Vec<EventRow>, AppError> {
    Ok(events::table
        .filter(events::aggregate_id.eq(aggregate_id))
        .filter(events::sequence.gt(after))
        .order(events::sequence)
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)?)
}

/// One page of aggregate `id`'s timeline after sequence `after`, each event
/// as `message` makes it, and the token of the next page (of `scope`).
pub fn timeline_page<M>(
    conn: &mut PgConnection,
    pages: &crate::pagination::PageTokens,
    scope: &str,
    id: Uuid,
    after: Option<i32>,
    limit: i64,
    message: impl Fn(&EventRow) -> Result<M, AppError>,
) -> Result<(Vec<M>, String), AppError> {
    let rows = timeline(conn, id, after.unwrap_or(0), limit + 1)?;
    let (rows, cursor) = crate::pagination::finish_page(rows, limit, |e| e.sequence);
    let messages = rows.iter().map(message).collect::<Result<Vec<_>, _>>()?;
    Ok((messages, pages.next_token(scope, cursor)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_order_by_transaction_then_place() {
        assert_eq!(split(position(42, 7)), (42, 7));
        assert_eq!(split(position(1, 32_767)), (1, 32_767));
        assert!(position(42, 32_767) < position(43, 0));
        assert!(position(42, 0) < position(42, 1));
        assert_eq!(split(position_below(43)), (42, 0xffff));
        assert!(position_below(43) >= position(42, i16::MAX));
        assert!(position_below(43) < position(43, 0));
        // A transaction id far beyond any real one still fits.
        let far = 1_i64 << 46;
        assert_eq!(split(position(far, 3)), (far, 3));
        assert_eq!(MAX_EVENTS_PER_TRANSACTION, 32_768);
    }
}
