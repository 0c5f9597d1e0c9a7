//! A case as the command pipeline handles it: its row, locked for the
//! transaction, and its lifecycle; saving applies the decided events,
//! rewrites the projections and journals the events.

use chrono::Utc;
use diesel::PgConnection;
use uuid::Uuid;

use super::domain::{CaseKind, RoutingMode};
use super::model::{CaseRow, LifecycleChange};
use super::rules::{self, Event, Lifecycle, Subject};
use super::store;
use crate::auth::Principal;
use crate::auth::policy::{self, CaseAccess, CaseAction};
use crate::error::AppError;
use crate::event_log::{AggregateType, Batch, Journal};
use crate::jsonb::Json;
use crate::pipeline::Aggregate;

/// A stored case and its lifecycle.
#[derive(Debug, Clone)]
pub struct Case {
    pub row: CaseRow,
}

impl Case {
    /// The lifecycle, as stored with the row.
    pub fn life(&self) -> &Lifecycle {
        &self.row.lifecycle.0
    }

    pub fn id(&self) -> Uuid {
        self.row.id
    }

    /// What the rules know of it besides its lifecycle.
    pub fn subject(&self) -> Subject {
        Subject {
            id: self.row.id,
            kind: CaseKind::from_i32(i32::from(self.row.kind)).unwrap_or(CaseKind::Claim),
            region_path: self.row.region_path.clone(),
            petitioner_id: self.row.petitioner_id,
        }
    }
}

/// What the policy needs to know about a stored case.
pub fn access(row: &CaseRow) -> CaseAccess<'_> {
    CaseAccess {
        region_path: &row.region_path,
        petitioner_id: row.petitioner_id,
        handling_organization_id: row.handling_organization_id,
        reviewing_organization_id: row.reviewing_organization_id,
        access_organization_ids: &row.access_organization_ids,
    }
}

crate::folded_events!(Event => Lifecycle, AggregateType::Case, "a case", rules::apply, rules::event_type);

impl Aggregate for Case {
    const RESOURCE: &'static str = "case";
    type Action = CaseAction;
    type Event = Event;

    fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Case, AppError> {
        let row = store::lock_case(conn, id)?.ok_or(AppError::NotFound { resource: "case" })?;
        Ok(Case { row })
    }

    fn etag(&self) -> String {
        self.row.version.to_string()
    }

    fn authorize(&self, _: &mut PgConnection, principal: &Principal, action: CaseAction) -> Result<(), AppError> {
        policy::authorize_case(principal, action, &access(&self.row))
    }

    fn save(
        self,
        conn: &mut PgConnection,
        journal: &mut Journal,
        actor: Option<Uuid>,
        events: &[Event],
    ) -> Result<Case, AppError> {
        let Case { row } = self;
        let now = Utc::now();
        let before = Some(row.lifecycle.0.clone());
        let start = Batch { id: row.id, before, last_sequence: row.last_sequence, actor, at: now };
        let (life, last_sequence) = journal.record_batch(start, events, |_, _| ())?;
        let routed_now = events.iter().any(|e| matches!(e, Event::Routed { .. }));
        let change = LifecycleChange {
            state: life.state.as_i16(),
            track: life.track.as_i16(),
            handling_organization_id: life.handling_organization_id,
            routing_mode: life.routing_mode.map(RoutingMode::as_i16),
            reviewing_organization_id: life.reviewing_organization_id,
            due_date: rules::due_date(&life),
            extended: life.extended,
            first_routed_at: row.first_routed_at.or(routed_now.then_some(now)),
            version: row.version + 1,
            updated_at: now,
            repeat_of: life.repeat_of,
            merged_into: life.merged_into,
            last_sequence,
            access_organization_ids: life.access_organization_ids.clone(),
            owning_leader_id: life.owning_leader_id,
            lifecycle: Json(life),
        };
        let row = store::save_lifecycle(conn, row.id, &change)?;
        Ok(Case { row })
    }
}
