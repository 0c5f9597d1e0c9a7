//! Leaders owning key cases (领导包案) as the pipeline runs them: the
//! requests parsed into commands, their policy lines, the facts their rule
//! needs, and [`assign_in_transaction`] for features that make a leader the
//! owner in their own transaction. The rules are [`rules`]'.

pub mod rules;

use diesel::PgConnection;
use petition_proto::v1 as pb;
use uuid::Uuid;

use self::rules::{Assigner, Candidate, Command as Rule, MAX_NOTE_CHARS, MAX_TEXT_CHARS};
use super::aggregate::Case;
use super::commands::text;
use super::domain::{LeaderAssignment, LeaderNoteKind};
use super::rules::Event;
use crate::auth::Principal;
use crate::auth::policy::CaseAction;
use crate::auth::principal::Role;
use crate::convert::parse_id;
use crate::error::AppError;
use crate::event_log::Journal;
use crate::identity::store as identity_store;
use crate::pipeline::{Aggregate, Command};
use crate::time::shanghai_today;

/// What the directory knows of account `id` as a possible owner; `None`
/// when there is no such account.
pub fn candidate(conn: &mut PgConnection, id: Uuid) -> Result<Option<Candidate>, AppError> {
    Ok(identity_store::find_account(conn, id)?.map(|found| Candidate {
        account_id: found.account.id,
        is_leader: found.account.roles.iter().flatten().any(|r| *r == Role::Leader.as_i16()),
        disabled: found.account.disabled,
        jurisdiction: found.jurisdiction,
    }))
}

fn decide_now(case: &Case, rule: Rule) -> Result<Vec<Event>, AppError> {
    rules::decide(&case.subject(), case.life(), rule, shanghai_today())
}

/// TakeCaseOwnership: the caller, a leader, owns the case.
pub struct Take {
    note: String,
}

impl Take {
    /// Taking with `note`, already validated (the demo seed).
    pub fn new(note: String) -> Take {
        Take { note }
    }
}

impl TryFrom<pb::TakeCaseOwnershipRequest> for Take {
    type Error = AppError;
    fn try_from(req: pb::TakeCaseOwnershipRequest) -> Result<Self, AppError> {
        Ok(Take { note: text("note", &req.note, 0, MAX_NOTE_CHARS)? })
    }
}

impl Command<Case> for Take {
    fn action(&self, _: &Case) -> CaseAction {
        CaseAction::TakeOwnership
    }

    fn decide(self, conn: &mut PgConnection, case: &Case, principal: &Principal) -> Result<Vec<Event>, AppError> {
        let leader =
            candidate(conn, principal.account_id)?.ok_or_else(|| AppError::internal("the caller's account is gone"))?;
        decide_now(case, Rule::Take { leader, note: self.note })
    }
}

/// AssignCaseLeader: a clerk, or a leader above the assignee, makes a
/// leader the owner.
pub struct Assign {
    leader_account_id: Uuid,
    note: String,
}

impl Assign {
    /// Assigning `leader_account_id` with `note`, already validated (the
    /// demo seed).
    pub fn new(leader_account_id: Uuid, note: String) -> Assign {
        Assign { leader_account_id, note }
    }
}

impl TryFrom<pb::AssignCaseLeaderRequest> for Assign {
    type Error = AppError;
    fn try_from(req: pb::AssignCaseLeaderRequest) -> Result<Self, AppError> {
        let leader_account_id = parse_id("leader_account_id", &req.leader_account_id)?;
        Ok(Assign { leader_account_id, note: text("note", &req.note, 0, MAX_NOTE_CHARS)? })
    }
}

impl Command<Case> for Assign {
    fn action(&self, _: &Case) -> CaseAction {
        CaseAction::AssignLeader
    }

    fn decide(self, conn: &mut PgConnection, case: &Case, principal: &Principal) -> Result<Vec<Event>, AppError> {
        // A clerk acts for the bureau; a leader who is not also a clerk
        // assigns by their own level.
        let by = match (&principal.jurisdiction, principal.has_role(Role::Clerk)) {
            (_, true) => Assigner::Bureau,
            (Some(jurisdiction), false) => Assigner::Leader { jurisdiction: jurisdiction.clone() },
            (None, false) => return Err(AppError::internal("a leader without a jurisdiction passed the policy")),
        };
        let leader = candidate(conn, self.leader_account_id)?;
        decide_now(case, Rule::Assign { leader, by, how: LeaderAssignment::Assigned, note: self.note })
    }
}

/// ReleaseCaseOwnership: the owner, or a clerk, ends the ownership.
pub struct Release {
    reason: String,
}

impl TryFrom<pb::ReleaseCaseOwnershipRequest> for Release {
    type Error = AppError;
    fn try_from(req: pb::ReleaseCaseOwnershipRequest) -> Result<Self, AppError> {
        Ok(Release { reason: text("reason", &req.reason, 1, MAX_NOTE_CHARS)? })
    }
}

impl Command<Case> for Release {
    fn action(&self, case: &Case) -> CaseAction {
        CaseAction::ReleaseOwnership { owner: case.life().owning_leader_id }
    }

    fn decide(self, _: &mut PgConnection, case: &Case, _: &Principal) -> Result<Vec<Event>, AppError> {
        decide_now(case, Rule::Release { reason: self.reason })
    }
}

/// RecordLeaderInstruction: the owner's instruction or progress.
pub struct Record {
    kind: LeaderNoteKind,
    text: String,
}

impl Record {
    /// Recording `text` as `kind`, already validated (the demo seed).
    pub fn new(kind: LeaderNoteKind, text: String) -> Record {
        Record { kind, text }
    }
}

impl TryFrom<pb::RecordLeaderInstructionRequest> for Record {
    type Error = AppError;
    fn try_from(req: pb::RecordLeaderInstructionRequest) -> Result<Self, AppError> {
        let kind = LeaderNoteKind::from_i32(req.kind);
        let body = text("text", &req.text, 1, MAX_TEXT_CHARS);
        match (kind, body) {
            (Some(kind), Ok(text)) => Ok(Record { kind, text }),
            (None, body) => {
                let mut v = vec![crate::error::FieldViolation::new("kind", "must be INSTRUCTION or PROGRESS")];
                if let Err(AppError::InvalidArgument(more)) = body {
                    v.extend(more);
                }
                Err(AppError::InvalidArgument(v))
            }
            (_, Err(e)) => Err(e),
        }
    }
}

impl Command<Case> for Record {
    fn action(&self, case: &Case) -> CaseAction {
        CaseAction::InstructAsOwner { owner: case.life().owning_leader_id }
    }

    fn decide(self, _: &mut PgConnection, case: &Case, principal: &Principal) -> Result<Vec<Event>, AppError> {
        decide_now(case, Rule::Record { by: principal.account_id, kind: self.kind, text: self.text })
    }
}

/// Makes `leader_account_id` own case `case_id` in the caller's
/// transaction, by the same rule as the RPCs: `how` FIRST_RECEPTION (a
/// reception day's first receiver) only when no leader owns it, ASSIGNED
/// also over an owner, TOOK as the leader's own act. No policy is asked:
/// the calling feature decided who may. FAILED_PRECONDITION
/// `CASE_ALREADY_OWNED` when the case is owned (by that leader, or by
/// another for FIRST_RECEPTION and TOOK), INVALID_ARGUMENT
/// `leader_account_id` when the account may not own it.
pub fn assign_in_transaction(
    conn: &mut PgConnection,
    journal: &mut Journal,
    actor: Option<Uuid>,
    case_id: Uuid,
    leader_account_id: Uuid,
    how: LeaderAssignment,
    note: String,
) -> Result<Case, AppError> {
    let case = Case::lock(conn, case_id)?;
    let leader = candidate(conn, leader_account_id)?;
    let rule = match (how, leader) {
        (LeaderAssignment::Took, Some(leader)) => Rule::Take { leader, note },
        (how, leader) => Rule::Assign { leader, by: Assigner::System, how, note },
    };
    let events = decide_now(&case, rule)?;
    case.save(conn, journal, actor, &events)
}
