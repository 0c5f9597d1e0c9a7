//! Backlog cases' part of `seed-demo`: one case under re-review designated
//! a backlog case by the district bureau's clerk, its four checks recorded
//! (the claim partly reasonable and resolved, responsibility carried out),
//! not yet resolved — through the same pipeline and policy as the RPCs.

use diesel::PgConnection;
use uuid::Uuid;

use super::aggregate::{self, BacklogCase};
use super::commands::Act;
use super::domain::{BacklogReason, ClaimReasonableness, ClaimResolution, ResponsibilityFinding, RootCauseCategory};
use super::rules::{Checks, ClaimReasonable, ClaimResolved, Command, Responsibility, RootCause};
use crate::auth::Principal;
use crate::auth::policy::{self, BacklogAction};
use crate::error::AppError;
use crate::event_log::Journal;
use crate::pipeline;

/// Designates `case` by `clerk` and records its four checks.
pub fn seed(conn: &mut PgConnection, journal: &mut Journal, clerk: &Principal, case: Uuid) -> Result<(), AppError> {
    let row = crate::cases::store::find_case(conn, case)?.ok_or(AppError::NotFound { resource: "case" })?;
    policy::authorize_backlog_designation(clerk, &crate::cases::aggregate::access(&row))?;
    let detail = "同一事项经答复、复查仍不服，已申请复核，群众多次来访".to_owned();
    let designated =
        aggregate::designate(conn, journal, &row, BacklogReason::ByDecision, detail, Some(clerk.account_id))?;
    let checks = Checks {
        root_cause: Some(RootCause {
            category: RootCauseCategory::Historical,
            findings: "小区建成早，公共管道产权不清，维修资金长期未落实".into(),
        }),
        claim_reasonable: Some(ClaimReasonable {
            reasonableness: ClaimReasonableness::PartlyReasonable,
            basis: "维修公共管道的诉求合理；要求物业赔偿全部损失缺乏依据（《物业管理条例》第五十五条）".into(),
        }),
        claim_resolved: Some(ClaimResolved {
            resolution: ClaimResolution::Resolved,
            findings: "街道协调动用维修资金，管道已更换".into(),
        }),
        responsibility: Some(Responsibility {
            finding: ResponsibilityFinding::CarriedOut,
            findings: "承办单位按期受理、答复，街道落实了维修".into(),
        }),
    };
    let act = Act::new(BacklogAction::RecordChecks, Command::RecordChecks(checks));
    pipeline::transition::<BacklogCase, Act>(conn, journal, clerk, designated.row.id, "", act)?;
    Ok(())
}
