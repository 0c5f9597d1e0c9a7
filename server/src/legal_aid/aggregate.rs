//! An application as the command pipeline handles it: its row locked for
//! the transaction; saving applies the decided events, rewrites the
//! projections and journals the events.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use super::model::{ApplicationChange, ApplicationRow};
use super::rules::{self, Event, Lifecycle};
use super::store;
use crate::auth::Principal;
use crate::auth::policy::{self, LegalAidAccess, LegalAidAction};
use crate::error::AppError;
use crate::event_log::{AggregateType, Batch, Journal};
use crate::jsonb::Json;
use crate::pipeline::Aggregate;

/// The name of the resource in errors.
pub const RESOURCE: &str = "legal-aid application";

/// A stored application.
#[derive(Debug, Clone)]
pub struct Application {
    pub row: ApplicationRow,
}

impl Application {
    pub fn life(&self) -> &Lifecycle {
        &self.row.lifecycle.0
    }

    pub fn id(&self) -> Uuid {
        self.row.id
    }
}

/// What the policy needs to know about a stored application.
pub fn access(row: &ApplicationRow) -> LegalAidAccess {
    LegalAidAccess {
        centre_organization_id: row.centre_organization_id,
        bureau_organization_id: row.bureau_organization_id,
        origin_organization_id: row.origin_organization_id,
        applicant_account_id: row.applicant_account_id,
        lawyer_account_id: row.lawyer_account_id,
    }
}

crate::folded_events!(Event => Lifecycle, AggregateType::LegalAidApplication, "a legal-aid application", rules::apply, rules::event_type);

/// The projections of `life`, changed at `at`.
pub fn change_of(life: &Lifecycle, version: i32, last_sequence: i32, at: DateTime<Utc>) -> ApplicationChange {
    ApplicationChange {
        bureau_organization_id: life.objections.last().map(|o| o.bureau_id).or(life.bureau_id),
        lawyer_account_id: life.lawyer.as_ref().and_then(|l| l.account_id),
        state: life.state.as_i16(),
        due_date: life.running_due(),
        lifecycle: Json(life.clone()),
        version,
        last_sequence,
        updated_at: at,
    }
}

impl Aggregate for Application {
    const RESOURCE: &'static str = RESOURCE;
    type Action = LegalAidAction;
    type Event = Event;

    fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Application, AppError> {
        let row = store::lock(conn, id)?.ok_or(AppError::NotFound { resource: RESOURCE })?;
        Ok(Application { row })
    }

    fn etag(&self) -> String {
        self.row.version.to_string()
    }

    fn authorize(&self, _: &mut PgConnection, principal: &Principal, action: LegalAidAction) -> Result<(), AppError> {
        policy::authorize_legal_aid(principal, action, &access(&self.row))
    }

    fn save(
        self,
        conn: &mut PgConnection,
        journal: &mut Journal,
        actor: Option<Uuid>,
        events: &[Event],
    ) -> Result<Application, AppError> {
        let row = self.row;
        let at = journal.now();
        let clocks_before = super::sweep::tracked(&row.lifecycle.0);
        let before = Some(row.lifecycle.0.clone());
        let start = Batch { id: row.id, before, last_sequence: row.last_sequence, actor, at };
        let (life, last_sequence) = journal.record_batch(start, events, |_, _| ())?;
        let saved = store::save(conn, row.id, &change_of(&life, row.version + 1, last_sequence, at))?;
        super::sweep::MARKS.track(conn, row.id, &clocks_before, &super::sweep::tracked(&life))?;
        Ok(Application { row: saved })
    }
}
