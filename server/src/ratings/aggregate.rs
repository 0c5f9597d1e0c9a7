//! A rating as the command pipeline handles it: its row locked for the
//! transaction; saving applies the decided events, rewrites the
//! projections and journals the events. Ratings are opened here too, in
//! the transaction that serves an opinion.

use diesel::PgConnection;
use uuid::Uuid;

use super::model::{RatingChange, RatingRow};
use super::rules::{self, Event, Lifecycle};
use super::store;
use crate::auth::Principal;
use crate::auth::policy::{self, RatingAccess, RatingAction};
use crate::cases::aggregate::Case;
use crate::cases::rules::Event as CaseEvent;
use crate::config::RatingsConfig;
use crate::error::AppError;
use crate::event_log::{AggregateType, Batch, Journal};
use crate::jsonb::Json;
use crate::pipeline::Aggregate;

/// A stored rating.
#[derive(Debug, Clone)]
pub struct Rating {
    pub row: RatingRow,
}

impl Rating {
    pub fn life(&self) -> &Lifecycle {
        &self.row.lifecycle.0
    }

    /// Loads rating `id` (not locked).
    pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<Rating, AppError> {
        let row = store::find_rating(conn, id)?.ok_or(AppError::NotFound { resource: "rating" })?;
        Ok(Rating { row })
    }
}

/// What the policy needs to know about a stored rating.
pub fn access(row: &RatingRow) -> RatingAccess<'_> {
    RatingAccess {
        region_path: &row.region_path,
        petitioner_id: row.petitioner_id,
        acceptance_organization_id: row.acceptance_organization_id,
        handling_organization_id: row.handling_organization_id,
    }
}

crate::folded_events!(Event => Lifecycle, AggregateType::Rating, "a rating", rules::apply, rules::event_type);

impl Aggregate for Rating {
    const RESOURCE: &'static str = "rating";
    type Action = RatingAction;
    type Event = Event;

    fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Rating, AppError> {
        let row = store::lock_rating(conn, id)?.ok_or(AppError::NotFound { resource: "rating" })?;
        Ok(Rating { row })
    }

    fn etag(&self) -> String {
        self.row.version.to_string()
    }

    fn authorize(&self, _: &mut PgConnection, principal: &Principal, action: RatingAction) -> Result<(), AppError> {
        policy::authorize_rating(principal, action, &access(&self.row))
    }

    fn save(
        self,
        conn: &mut PgConnection,
        journal: &mut Journal,
        actor: Option<Uuid>,
        events: &[Event],
    ) -> Result<Rating, AppError> {
        // Nothing changed (the same values again): nothing to store.
        if events.is_empty() {
            return Ok(self);
        }
        let Rating { row } = self;
        let at = journal.now();
        let start =
            Batch { id: row.id, before: Some(row.lifecycle.0.clone()), last_sequence: row.last_sequence, actor, at };
        let (life, last_sequence) = journal.record_batch(start, events, |_, _| ())?;
        let change = RatingChange::of(life, row.version + 1, last_sequence, at);
        Ok(Rating { row: store::save_rating(conn, row.id, &change)? })
    }
}

/// Opens the ratings of the opinions `events` served on `case` (as saved
/// after them), in their transaction: one per case and round, none for a
/// matter before a court. Every path that serves an opinion calls it
/// after the case's transition (CaseService's transitions, the demo seed).
pub fn open_for_opinions(
    conn: &mut PgConnection,
    journal: &mut Journal,
    config: &RatingsConfig,
    case: &Case,
    events: &[CaseEvent],
    actor: Option<Uuid>,
) -> Result<Vec<Rating>, AppError> {
    let mut opened = Vec::new();
    for event in events {
        let Some(served) = rules::served(case.subject().kind, case.life(), event) else {
            continue;
        };
        let calendar =
            crate::calendar::store::load_calendar_around(conn, crate::time::shanghai_date(served.served_at))?;
        let round = served.round;
        let event = rules::open(case.row.id, case.row.petitioner_id, served, &calendar, config.window_workdays);
        let id = Uuid::now_v7();
        let at = journal.now();
        let start = Batch { id, before: None, last_sequence: 0, actor, at };
        let (life, last_sequence) = journal.record_batch(start, &[event], |_, _| ())?;
        let row = RatingRow {
            id,
            case_id: case.row.id,
            round: round.as_i16(),
            region_path: case.row.region_path.clone(),
            category_code: case.row.category_code.clone(),
            served_at: life.served_at,
            rate_by: life.rate_by,
            acceptance_organization_id: life.acceptance_organization_id,
            handling_organization_id: life.handling_organization_id,
            rated_at: None,
            acceptance: None,
            handling: None,
            channel: None,
            region_code: case.row.region_code.clone(),
            case_number: case.row.number.clone(),
            petitioner_id: case.row.petitioner_id,
            lifecycle: Json(life),
            version: 1,
            last_sequence,
            created_at: at,
            updated_at: at,
        };
        store::insert_rating(conn, &row)?;
        opened.push(Rating { row });
    }
    Ok(opened)
}
