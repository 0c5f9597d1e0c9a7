//! A dispute as the command pipeline handles it: its row locked for the
//! transaction, its lifecycle; saving applies the decided events,
//! rewrites the projections, journals the events and tells the case it
//! came from how it ended.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use super::domain::{ConfirmationState, DisputeState};
use super::model::{DisputeChange, DisputeRow};
use super::rules::{self, Event, Lifecycle};
use super::store::{self, StoredDispute};
use crate::auth::Principal;
use crate::auth::policy::{self, DisputeAccess, DisputeAction};
use crate::error::AppError;
use crate::event_log::{AggregateType, Batch, Journal};
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

crate::folded_events!(Event => Lifecycle, AggregateType::Dispute, "a dispute", rules::apply, rules::event_type);

/// When each event that happens to a dispute at most once, and that the
/// statistics count, was recorded: projections of the event log kept on
/// the dispute (`stats.rs` reads them, docs/mediation.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Milestones {
    /// ACCEPTED: the last party consented.
    pub accepted_at: Option<DateTime<Utc>>,
    /// CONSENT_RECORDED leaving REFUSED.
    pub refused_at: Option<DateTime<Utc>>,
    /// SETTLED, and the agreement's effective date less the accept date.
    pub settled_at: Option<DateTime<Utc>>,
    pub days_to_settle: Option<i32>,
    pub failed_at: Option<DateTime<Utc>>,
    /// PERFORMANCE_RECORDED leaving PERFORMED.
    pub performed_at: Option<DateTime<Utc>>,
    pub confirmation_applied_at: Option<DateTime<Utc>>,
    /// CONFIRMATION_ANSWERED with CONFIRMED.
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl Milestones {
    pub fn of(row: &DisputeRow) -> Milestones {
        Milestones {
            accepted_at: row.accepted_at,
            refused_at: row.refused_at,
            settled_at: row.settled_at,
            days_to_settle: row.days_to_settle,
            failed_at: row.failed_at,
            performed_at: row.performed_at,
            confirmation_applied_at: row.confirmation_applied_at,
            confirmed_at: row.confirmed_at,
        }
    }

    /// `event`, leaving `after`, recorded at `at`.
    pub fn record(&mut self, event: &Event, after: &Lifecycle, at: DateTime<Utc>) {
        match event {
            Event::Accepted { .. } => self.accepted_at = Some(at),
            Event::ConsentRecorded { consents: false, .. } => self.refused_at = Some(at),
            Event::Settled { agreement } => {
                self.settled_at = Some(at);
                self.days_to_settle = after
                    .accept_date
                    .and_then(|accepted| i32::try_from((agreement.effective_date - accepted).num_days()).ok());
            }
            Event::Failed { .. } => self.failed_at = Some(at),
            Event::PerformanceRecorded { .. } if after.state == DisputeState::Performed => {
                self.performed_at = Some(at);
            }
            Event::ConfirmationApplied { .. } => self.confirmation_applied_at = Some(at),
            Event::ConfirmationAnswered { decision: ConfirmationState::Confirmed, .. } => {
                self.confirmed_at = Some(at);
            }
            _ => {}
        }
    }
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
        let at = journal.now();
        let mut milestones = Milestones::of(&row);
        let clocks_before = super::sweep::running(&row.lifecycle.0);
        let before = Some(row.lifecycle.0.clone());
        let start = Batch { id: row.id, before, last_sequence: row.last_sequence, actor, at };
        let (life, last_sequence) = journal.record_batch(start, events, |e, after| milestones.record(e, after, at))?;
        let change = change_of(&life, row.version + 1, last_sequence, at, &milestones);
        let mediator_changed = change.mediator_member_id != row.mediator_member_id;
        let saved = store::save_dispute(conn, row.id, &change)?;
        super::sweep::MARKS.track(conn, row.id, &clocks_before, &super::sweep::running(&life))?;
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

/// The projections of `life` and `milestones`, changed at `at`.
pub fn change_of(
    life: &Lifecycle,
    version: i32,
    last_sequence: i32,
    at: DateTime<Utc>,
    milestones: &Milestones,
) -> DisputeChange {
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
        accepted_at: milestones.accepted_at,
        refused_at: milestones.refused_at,
        settled_at: milestones.settled_at,
        failed_at: milestones.failed_at,
        performed_at: milestones.performed_at,
        confirmation_applied_at: milestones.confirmation_applied_at,
        confirmed_at: milestones.confirmed_at,
        days_to_settle: milestones.days_to_settle,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;
    use crate::mediation::domain::{AgreementForm, DisputeCategory, DisputeSource, TermPerformance};
    use crate::mediation::rules::{Agreement, Links, Term};

    fn date(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).expect("valid date")
    }

    #[test]
    fn milestones_keep_when_each_once_only_event_was_recorded() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let at = |h: u32| Utc.with_ymd_and_hms(2026, 3, 1, h, 0, 0).single().expect("a time");
        let term = |performance| Term {
            obligor_party_id: a,
            content: "赔偿".into(),
            manner: "转账".into(),
            deadline: date(3, 20),
            performance,
            performance_date: None,
            performance_note: String::new(),
        };
        let events = [
            rules::record(
                Uuid::nil(),
                DisputeSource::Screening,
                DisputeCategory::Family,
                date(3, 1),
                vec![a, b],
                Links::default(),
            ),
            Event::ConsentRecorded { party_id: a, consents: true, date: date(3, 1), note: String::new() },
            Event::ConsentRecorded { party_id: b, consents: true, date: date(3, 2), note: String::new() },
            Event::Accepted { accept_date: date(3, 2), due_date: date(4, 1) },
            Event::Settled {
                agreement: Agreement {
                    form: AgreementForm::Oral,
                    parties_summary: String::new(),
                    facts: String::new(),
                    issues_and_responsibility: String::new(),
                    terms: vec![term(TermPerformance::Pending), term(TermPerformance::Pending)],
                    effective_date: date(3, 9),
                    confirmation_apply_by: date(4, 8),
                },
            },
            Event::PerformanceRecorded {
                term_index: 0,
                performance: TermPerformance::Performed,
                date: date(3, 10),
                note: String::new(),
            },
            Event::PerformanceRecorded {
                term_index: 1,
                performance: TermPerformance::Performed,
                date: date(3, 11),
                note: String::new(),
            },
        ];
        let mut milestones = Milestones::default();
        let mut life = None;
        let mut after_first_performance = None;
        for (hour, event) in events.iter().enumerate() {
            let after = rules::apply(life, event);
            milestones.record(event, &after, at(hour as u32));
            if hour == 5 {
                after_first_performance = Some(milestones);
            }
            life = Some(after);
        }
        assert_eq!(milestones.accepted_at, Some(at(3)));
        assert_eq!((milestones.settled_at, milestones.days_to_settle), (Some(at(4)), Some(7)));
        // Performed once the last pending term is: not at the first.
        assert_eq!(after_first_performance.and_then(|m| m.performed_at), None);
        assert_eq!(milestones.performed_at, Some(at(6)));
        assert_eq!((milestones.refused_at, milestones.failed_at, milestones.confirmed_at), (None, None, None));

        let mut refused = Milestones::default();
        let life = rules::apply(None, &events[0]);
        let refusal = Event::ConsentRecorded { party_id: b, consents: false, date: date(3, 2), note: String::new() };
        let after = rules::apply(Some(life), &refusal);
        refused.record(&refusal, &after, at(9));
        assert_eq!(refused.refused_at, Some(at(9)));
    }
}
