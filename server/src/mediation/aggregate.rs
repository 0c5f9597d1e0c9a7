//! A dispute as the command pipeline handles it: its row locked for the
//! transaction, its lifecycle; saving applies the decided events,
//! rewrites the projections, journals the events and tells the case it
//! came from how it ended.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use super::model::DisputeChange;
use super::rules::{self, Event, Lifecycle};
use super::store::{self, StoredDispute};
use crate::auth::Principal;
use crate::auth::policy::{self, DisputeAccess, DisputeAction};
use crate::error::AppError;
use crate::event_log::{AggregateType, Journal, Recorded};
use crate::jsonb::Json;
use crate::pipeline::Aggregate;

/// A stored dispute.
#[derive(Debug, Clone)]
pub struct Dispute {
    pub stored: StoredDispute,
}

impl Dispute {
    pub fn life(&self) -> &Lifecycle {
        &self.stored.row.lifecycle.0
    }

    pub fn id(&self) -> Uuid {
        self.stored.row.id
    }
}

/// What the policy needs to know about a stored dispute.
pub fn access(stored: &StoredDispute) -> DisputeAccess<'_> {
    let row = &stored.row;
    DisputeAccess {
        region_path: &row.region_path,
        team_id: row.team_id,
        team_ids: &row.team_ids,
        mediator_account_id: stored.mediator_account_id,
        party_account_ids: &row.party_account_ids,
        referring_court_id: row.referring_court_id,
        confirmation_court_id: row.confirmation_court_id,
        referring_organization_id: row.referring_organization_id,
    }
}

/// Records `events` of dispute `id` after `last_sequence`, each with the
/// state it leaves; returns the lifecycle after them and the last sequence.
pub fn journal_events(
    journal: &mut Journal,
    id: Uuid,
    before: Option<Lifecycle>,
    last_sequence: i32,
    actor: Option<Uuid>,
    events: &[Event],
) -> Result<(Lifecycle, i32), AppError> {
    let now = journal.now();
    let mut life = before;
    let mut sequence = last_sequence;
    for event in events {
        let after = rules::apply(life, event);
        sequence += 1;
        journal.record(Recorded {
            aggregate_type: AggregateType::Dispute,
            aggregate_id: id,
            sequence,
            event_type: rules::event_type(event),
            actor_id: actor,
            occurred_at: now,
            state: after.state.as_i16(),
            payload: serde_json::to_value(event).map_err(AppError::internal)?,
        })?;
        life = Some(after);
    }
    let life = life.ok_or_else(|| AppError::internal("a dispute without events"))?;
    Ok((life, sequence))
}

impl Aggregate for Dispute {
    const RESOURCE: &'static str = "dispute";
    type Action = DisputeAction;
    type Event = Event;

    fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Dispute, AppError> {
        let stored = store::lock_dispute(conn, id)?.ok_or(AppError::NotFound { resource: "dispute" })?;
        Ok(Dispute { stored })
    }

    fn etag(&self) -> String {
        self.stored.row.version.to_string()
    }

    fn authorize(&self, conn: &mut PgConnection, principal: &Principal, action: DisputeAction) -> Result<(), AppError> {
        let memberships = store::memberships_for(conn, principal)?;
        policy::authorize_dispute(principal, &memberships, action, &access(&self.stored))
    }

    fn save(
        self,
        conn: &mut PgConnection,
        journal: &mut Journal,
        actor: Option<Uuid>,
        events: &[Event],
    ) -> Result<Dispute, AppError> {
        let StoredDispute { row, mediator_account_id } = self.stored;
        let (life, last_sequence) =
            journal_events(journal, row.id, Some(row.lifecycle.0.clone()), row.last_sequence, actor, events)?;
        let change = change_of(&life, row.version + 1, last_sequence, journal.now());
        let mediator_changed = change.mediator_member_id != row.mediator_member_id;
        let saved = store::save_dispute(conn, row.id, &change)?;
        let mediator_account_id = match (mediator_changed, saved.mediator_member_id) {
            (false, _) => mediator_account_id,
            (true, Some(member)) => store::member_account(conn, member)?,
            (true, None) => None,
        };
        if let (Some(case_id), Some(outcome)) = (saved.case_id, rules::concluded(events)) {
            crate::cases::mediation::conclude(conn, journal, case_id, saved.id, outcome, actor)?;
        }
        Ok(Dispute { stored: StoredDispute { row: saved, mediator_account_id } })
    }
}

/// The projections of `life`, changed at `at`.
pub fn change_of(life: &Lifecycle, version: i32, last_sequence: i32, at: DateTime<Utc>) -> DisputeChange {
    DisputeChange {
        team_id: life.team_id().unwrap_or_default(),
        team_ids: life.team_ids(),
        mediator_member_id: life.mediator,
        confirmation_court_id: life.confirmation.as_ref().map(|c| c.court_id),
        state: life.state.as_i16(),
        accept_date: life.accept_date,
        due_date: life.due_date,
        lifecycle: Json(life.clone()),
        version,
        last_sequence,
        updated_at: at,
    }
}
