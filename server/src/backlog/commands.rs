//! Backlog writes as the pipeline runs them: the request parsed into a
//! validated command (field violations), its policy line, and the rule
//! decided at the transaction's time. The rules are in `rules.rs`.

use diesel::PgConnection;
use petition_proto::v1 as pb;

use super::aggregate::BacklogCase;
use super::domain::{
    AccountabilityMeasure, ClaimReasonableness, ClaimResolution, ResponsibilityFinding, RootCauseCategory,
};
use super::rules::{
    self, ClaimReasonable, ClaimResolved, Command as Rule, Event, MAX_NAME_CHARS, MAX_TEXT_CHARS, Person,
    Responsibility, RootCause,
};
use crate::auth::Principal;
use crate::auth::policy::BacklogAction;
use crate::convert::optional_id_checked;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::pipeline::Command;
use crate::text::{multi_line, one_line};

/// The fields every write on a backlog case carries.
pub trait BacklogRequest: prost::Message + Send + 'static {
    const METHOD: &'static str;
    fn backlog_case_id(&self) -> &str;
    fn etag(&self) -> &str;
    fn request_id(&self) -> &str;
}

macro_rules! backlog_requests {
    ($($request:ident => $method:literal;)+) => {
        $(
            impl BacklogRequest for pb::$request {
                const METHOD: &'static str = $method;
                fn backlog_case_id(&self) -> &str {
                    &self.backlog_case_id
                }
                fn etag(&self) -> &str {
                    &self.etag
                }
                fn request_id(&self) -> &str {
                    &self.request_id
                }
            }
        )+
    };
}

backlog_requests! {
    RecordBacklogChecksRequest => "RecordBacklogChecks";
    RecordBacklogAccountabilityRequest => "RecordBacklogAccountability";
    ResolveBacklogCaseRequest => "ResolveBacklogCase";
    WithdrawBacklogDesignationRequest => "WithdrawBacklogDesignation";
}

/// A write on a backlog case: its policy line and its rule.
pub struct Act {
    action: BacklogAction,
    rule: Rule,
}

impl Act {
    /// `rule` under the policy line `action` (the demo seed).
    pub fn new(action: BacklogAction, rule: Rule) -> Act {
        Act { action, rule }
    }
}

impl Command<BacklogCase> for Act {
    fn action(&self, _: &BacklogCase) -> BacklogAction {
        self.action
    }

    fn decide(
        self,
        conn: &mut PgConnection,
        backlog: &BacklogCase,
        principal: &Principal,
    ) -> Result<Vec<Event>, AppError> {
        // Whom an accountability record names must exist (only ids are
        // checked: the name is as the decision spells it).
        if let Rule::RecordAccountability(person) = &self.rule {
            let mut v = Vec::new();
            if let Some(id) = person.account_id
                && crate::identity::store::find_account(conn, id)?.is_none()
            {
                v.push(FieldViolation::new("accountability.account_id", "no such account"));
            }
            if let Some(id) = person.organization_id
                && crate::directory::store::find_organization(conn, id)?.is_none()
            {
                v.push(FieldViolation::new("accountability.organization_id", "no such organization"));
            }
            require_valid(v)?;
        }
        rules::decide(backlog.row.id, backlog.life(), self.rule, principal.account_id, chrono::Utc::now())
    }
}

/// A command parsed from its request.
pub trait Parse<R>: Sized {
    fn parse(request: R) -> Result<Self, AppError>;
}

/// Free text of 1 to [`MAX_TEXT_CHARS`] characters at `field`.
pub fn text(field: &str, raw: &str, v: &mut Vec<FieldViolation>) -> String {
    multi_line(field, raw, 1, MAX_TEXT_CHARS, v)
}

/// An enum value at `field`: a violation when unset or unknown.
fn value<T>(field: &str, raw: i32, parse: impl Fn(i32) -> Option<T>, v: &mut Vec<FieldViolation>) -> Option<T> {
    let parsed = parse(raw);
    if parsed.is_none() {
        v.push(FieldViolation::new(field, "is required and must be a known value"));
    }
    parsed
}

/// The checks of a request, validated (`checks.root_cause.category`, …).
pub fn checks(raw: Option<&pb::BacklogChecks>, v: &mut Vec<FieldViolation>) -> rules::Checks {
    let mut out = rules::Checks::default();
    let Some(raw) = raw else {
        v.push(FieldViolation::new("checks", "record at least one of the four checks"));
        return out;
    };
    if raw.root_cause.is_none()
        && raw.claim_reasonable.is_none()
        && raw.claim_resolved.is_none()
        && raw.responsibility.is_none()
    {
        v.push(FieldViolation::new("checks", "record at least one of the four checks"));
    }
    if let Some(c) = &raw.root_cause {
        let category = value("checks.root_cause.category", c.category, RootCauseCategory::from_i32, v);
        let findings = text("checks.root_cause.findings", &c.findings, v);
        out.root_cause = category.map(|category| RootCause { category, findings });
    }
    if let Some(c) = &raw.claim_reasonable {
        let reasonableness =
            value("checks.claim_reasonable.reasonableness", c.reasonableness, ClaimReasonableness::from_i32, v);
        let basis = text("checks.claim_reasonable.basis", &c.basis, v);
        out.claim_reasonable = reasonableness.map(|reasonableness| ClaimReasonable { reasonableness, basis });
    }
    if let Some(c) = &raw.claim_resolved {
        let resolution = value("checks.claim_resolved.resolution", c.resolution, ClaimResolution::from_i32, v);
        let findings = text("checks.claim_resolved.findings", &c.findings, v);
        out.claim_resolved = resolution.map(|resolution| ClaimResolved { resolution, findings });
    }
    if let Some(c) = &raw.responsibility {
        let finding = value("checks.responsibility.finding", c.finding, ResponsibilityFinding::from_i32, v);
        let findings = text("checks.responsibility.findings", &c.findings, v);
        out.responsibility = finding.map(|finding| Responsibility { finding, findings });
    }
    out
}

impl Parse<pb::RecordBacklogChecksRequest> for Act {
    fn parse(req: pb::RecordBacklogChecksRequest) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let checks = checks(req.checks.as_ref(), &mut v);
        require_valid(v)?;
        Ok(Act::new(BacklogAction::RecordChecks, Rule::RecordChecks(checks)))
    }
}

impl Parse<pb::RecordBacklogAccountabilityRequest> for Act {
    fn parse(req: pb::RecordBacklogAccountabilityRequest) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let Some(a) = req.accountability.as_ref() else {
            return Err(AppError::invalid("accountability", "is required: who, how and why"));
        };
        let account_id = optional_id_checked("accountability.account_id", &a.account_id, &mut v);
        let name = one_line("accountability.name", &a.name, 1, MAX_NAME_CHARS, &mut v);
        let organization_id = optional_id_checked("accountability.organization_id", &a.organization_id, &mut v);
        let measure = value("accountability.measure", a.measure, AccountabilityMeasure::from_i32, &mut v);
        let detail = text("accountability.detail", &a.detail, &mut v);
        require_valid(v)?;
        let measure = measure.ok_or_else(|| AppError::internal("a valid accountability without its measure"))?;
        let person = Person { account_id, name, organization_id, measure, detail };
        Ok(Act::new(BacklogAction::RecordAccountability, Rule::RecordAccountability(person)))
    }
}

impl Parse<pb::ResolveBacklogCaseRequest> for Act {
    fn parse(req: pb::ResolveBacklogCaseRequest) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let summary = text("summary", &req.summary, &mut v);
        require_valid(v)?;
        Ok(Act::new(BacklogAction::Resolve, Rule::Resolve { summary }))
    }
}

impl Parse<pb::WithdrawBacklogDesignationRequest> for Act {
    fn parse(req: pb::WithdrawBacklogDesignationRequest) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let reason = text("reason", &req.reason, &mut v);
        require_valid(v)?;
        Ok(Act::new(BacklogAction::Withdraw, Rule::Withdraw { reason }))
    }
}
