//! Supervision's part of `seed-demo`: the city bureau's supervisor chases
//! the district's housing bureau on three cases, each on another rung —
//! a leak case whose reminder and letter went unanswered (summoned for
//! talks), a case under review with a fresh reminder, and a replied case
//! whose letter was answered and accepted. Issued in the past through the
//! same rules as the RPCs and the sweeper.

use chrono::{DateTime, Days, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use super::aggregate::{self, Supervision};
use super::domain::{Rung, Trigger};
use super::rules::{self, Command, Issue, Issuing, Ladder};
use crate::auth::Principal;
use crate::auth::policy::{self, SupervisionAccess, SupervisionAction};
use crate::error::AppError;
use crate::event_log::Journal;
use crate::pipeline::{self, Aggregate};
use crate::time::shanghai_date;

/// The demo cases it chases.
pub struct Chased {
    /// Accepted and extended (the leak).
    pub accepted: Uuid,
    pub under_review: Uuid,
    pub replied: Uuid,
}

fn ago(days: u64) -> DateTime<Utc> {
    Utc::now().checked_sub_days(Days::new(days)).unwrap_or_else(Utc::now)
}

/// Opens an item by `supervisor` on `case`, `days` ago.
fn issue(
    conn: &mut PgConnection,
    journal: &mut Journal,
    supervisor: &Principal,
    case: Uuid,
    issue: Issue,
    days: u64,
) -> Result<Supervision, AppError> {
    let row = crate::cases::store::find_case(conn, case)?.ok_or(AppError::NotFound { resource: "case" })?;
    let organization_id = row
        .reviewing_organization_id
        .filter(|_| row.state == crate::cases::domain::CaseState::UnderReview.as_i16())
        .or(row.handling_organization_id)
        .ok_or_else(|| AppError::internal("a demo case without its unit"))?;
    let issuer = supervisor.organization_id.ok_or_else(|| AppError::internal("a supervisor without a bureau"))?;
    let access = SupervisionAccess { region_path: &row.region_path, organization_id, issuer_organization_id: issuer };
    policy::authorize_supervision(supervisor, SupervisionAction::Issue, &access)?;
    let at = ago(days);
    journal.set_clock(Some(at));
    let issuing = Issuing {
        case_id: case,
        organization_id,
        issuer_organization_id: issuer,
        issued_by: Some(supervisor.account_id),
        today: shanghai_date(at),
        automatic: false,
    };
    let calendar = crate::calendar::store::load_calendar_around(conn, shanghai_date(at))?;
    aggregate::open(conn, journal, (&Ladder::default(), &calendar), aggregate::OnCase::of(&row), issue, issuing)
}

/// Raises `item` one rung as the sweeper does, `days` ago.
fn rise(conn: &mut PgConnection, journal: &mut Journal, item: Supervision, days: u64) -> Result<Supervision, AppError> {
    let at = ago(days);
    journal.set_clock(Some(at));
    let today = shanghai_date(at);
    let rung = rules::next_rung(item.row.id, item.life(), "seed")?;
    let calendar = crate::calendar::store::load_calendar_around(conn, today)?;
    let event = aggregate::risen(conn, &item, rung, today, (&Ladder::default(), &calendar), None)?;
    item.save(conn, journal, None, &[event])
}

/// Seeds the three items.
pub fn seed(
    conn: &mut PgConnection,
    journal: &mut Journal,
    supervisor: &Principal,
    handler: &Principal,
    cases: &Chased,
) -> Result<(), AppError> {
    let delay = |text: &str, rung: Rung| Issue { trigger: Trigger::Delay, text: text.into(), rung, due_date: None };
    // The leak: reminder 20 days ago, letter and talks as deadlines passed.
    let leak = issue(
        conn,
        journal,
        supervisor,
        cases.accepted,
        delay("漏水维修延期后仍无进展，请说明原因。", Rung::Reminder),
        20,
    )?;
    let leak = rise(conn, journal, leak, 14)?;
    rise(conn, journal, leak, 6)?;
    // Under review: a fresh reminder.
    let perfunctory = Issue {
        trigger: Trigger::Perfunctory,
        text: "复查意见未回应申请人提出的新证据，请补充核查。".into(),
        rung: Rung::Reminder,
        due_date: None,
    };
    issue(conn, journal, supervisor, cases.under_review, perfunctory, 1)?;
    // Replied: a letter, answered and accepted.
    let refused = Issue {
        trigger: Trigger::RefusedOpinion,
        text: "答复意见确定的维修措施未落实，请督促落实并反馈。".into(),
        rung: Rung::Letter,
        due_date: None,
    };
    let letter = issue(conn, journal, supervisor, cases.replied, refused, 10)?;
    journal.set_clock(Some(ago(8)));
    let answer = super::commands::Act {
        rule: Command::Answer { text: "物业已于本周完成维修，申请人确认。".into() },
        now: ago(8),
        ladder: Ladder::default(),
    };
    pipeline::transition::<Supervision, _>(conn, journal, handler, letter.row.id, "", answer)?;
    let accept = super::commands::Act {
        rule: Command::Review { accept: true, note: "已核实。".into() },
        now: ago(7),
        ladder: Ladder::default(),
    };
    journal.set_clock(Some(ago(7)));
    pipeline::transition::<Supervision, _>(conn, journal, supervisor, letter.row.id, "", accept)?;
    journal.set_clock(None);
    Ok(())
}
