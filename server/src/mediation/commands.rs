//! Every dispute transition as the pipeline runs it: the request parsed
//! into a validated command (`TryFrom`, field violations), its policy line
//! (`action`), and the facts its rule needs read before the rule decides
//! (`decide`). The rules themselves are in `rules.rs`.

use chrono::{Days, NaiveDate};
use diesel::PgConnection;
use petition_proto::v1 as pb;
use uuid::Uuid;

use super::aggregate::Dispute;
use super::domain::{AdvisedRoute, AgreementForm, ConfirmationState, FailureReason, TermPerformance};
use super::draft::optional_date;
use super::rules::{self, AgreementDraft, Command as Rule, Context, Event, SessionDraft, TeamFacts, TermDraft};
use super::store;
use crate::auth::Principal;
use crate::auth::policy::{DisputeAction, path_within};
use crate::auth::principal::Role;
use crate::calendar::rules::Period;
use crate::calendar::store as calendar_store;
use crate::convert::parse_id;
use crate::directory::rules::{OrganizationKind, RegionLevel};
use crate::directory::store as directory_store;
use crate::error::{AppError, FieldViolation, Reason, require_valid};
use crate::pipeline::Command;
use crate::time::shanghai_today;

/// The fields every dispute transition request carries.
pub trait DisputeRequest: prost::Message + Send + 'static {
    const METHOD: &'static str;
    fn dispute_id(&self) -> &str;
    /// Empty when the request has none (no check).
    fn etag(&self) -> &str;
    fn request_id(&self) -> &str;
}

macro_rules! dispute_requests {
    ($($request:ident => $method:literal $(, $no_etag:ident)?;)+) => {
        $(
            impl DisputeRequest for pb::$request {
                const METHOD: &'static str = $method;
                fn dispute_id(&self) -> &str {
                    &self.dispute_id
                }
                fn etag(&self) -> &str {
                    dispute_requests!(@etag self $($no_etag)?)
                }
                fn request_id(&self) -> &str {
                    &self.request_id
                }
            }
        )+
    };
    (@etag $self:ident no_etag) => { "" };
    (@etag $self:ident) => { &$self.etag };
}

dispute_requests! {
    RecordConsentRequest => "RecordConsent";
    AssignMediatorRequest => "AssignMediator";
    ObjectToMediatorRequest => "ObjectToMediator";
    RecuseMediatorRequest => "RecuseMediator";
    RecordSessionRequest => "RecordSession";
    RecordAgreementRequest => "RecordAgreement";
    RecordFailureRequest => "RecordFailure";
    RecordPerformanceRequest => "RecordPerformance";
    ApplyForCourtConfirmationRequest => "ApplyForCourtConfirmation";
    AnswerCourtConfirmationRequest => "AnswerCourtConfirmation", no_etag;
    EscalateDisputeRequest => "EscalateDispute";
}

pub const MAX_NOTE_CHARS: usize = 5_000;

fn text(field: &str, raw: &str, min: usize, max: usize, v: &mut Vec<FieldViolation>) -> String {
    crate::text::multi_line(field, raw, min, max, v)
}

/// Decides `rule` for `dispute` today, on the calendar of every day a
/// period of the decision may count from.
pub fn decide_now(
    conn: &mut PgConnection,
    dispute: &Dispute,
    rule: Rule,
    time_limit: Period,
) -> Result<Vec<Event>, AppError> {
    let today = shanghai_today();
    let (from, to) = calendar_span(dispute.life().last_act_date, today);
    let calendar = calendar_store::load_calendar(conn, from, to)?;
    let ctx = Context { today, calendar: &calendar, time_limit };
    rules::decide(dispute.id(), dispute.life(), rule, &ctx)
}

/// The days whose calendar a decision needs: an act may be dated back to
/// the dispute's latest act, and a time limit or confirmation window
/// counts from the act's day, so from then (and a margin) to well past
/// today.
pub fn calendar_span(last_act_date: NaiveDate, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let from = last_act_date.min(today);
    (
        from.checked_sub_days(Days::new(calendar_store::AROUND_BEFORE_DAYS)).unwrap_or(NaiveDate::MIN),
        today.checked_add_days(Days::new(calendar_store::AROUND_AFTER_DAYS)).unwrap_or(NaiveDate::MAX),
    )
}

/// A command whose rule needs nothing but the dispute.
pub struct Plain {
    action: DisputeAction,
    rule: Rule,
    time_limit: Period,
}

impl Plain {
    /// `rule` under the policy line `action` (the demo seed).
    pub fn new(action: DisputeAction, rule: Rule) -> Plain {
        Plain { action, rule, time_limit: rules::DEFAULT_TIME_LIMIT }
    }
}

/// A command parsed from its request, with the server's time limit.
pub trait Parse<R>: Sized {
    fn parse(request: R, time_limit: Period) -> Result<Self, AppError>;
}

impl Command<Dispute> for Plain {
    fn action(&self, _: &Dispute) -> DisputeAction {
        self.action
    }

    fn decide(self, conn: &mut PgConnection, dispute: &Dispute, _: &Principal) -> Result<Vec<Event>, AppError> {
        decide_now(conn, dispute, self.rule, self.time_limit)
    }
}

impl Parse<pb::RecuseMediatorRequest> for Plain {
    fn parse(req: pb::RecuseMediatorRequest, time_limit: Period) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let reason = text("reason", &req.reason, 1, MAX_NOTE_CHARS, &mut v);
        require_valid(v)?;
        Ok(Plain { action: DisputeAction::Mediate, rule: Rule::Recuse { reason }, time_limit })
    }
}

impl Parse<pb::RecordSessionRequest> for Plain {
    fn parse(req: pb::RecordSessionRequest, time_limit: Period) -> Result<Self, AppError> {
        let raw = req.session.ok_or_else(|| AppError::invalid("session", "is required"))?;
        let mut v = Vec::new();
        let date = optional_date("session.session_date", &raw.session_date, &mut v);
        let place = crate::text::one_line("session.place", &raw.place, 0, 200, &mut v);
        if place.is_empty() && !raw.video {
            v.push(FieldViolation::new("session.place", "is required unless the session is by video"));
        }
        if raw.attendees.len() > 50 {
            v.push(FieldViolation::new("session.attendees", "at most 50"));
        }
        let attendees = raw
            .attendees
            .iter()
            .enumerate()
            .map(|(i, a)| crate::text::one_line(&format!("session.attendees[{i}]"), a, 1, 100, &mut v))
            .collect();
        let notes = text("session.notes", &raw.notes, 0, 20_000, &mut v);
        if !raw.mediator_member_id.is_empty() {
            v.push(FieldViolation::new("session.mediator_member_id", "leave empty: the assigned mediator held it"));
        }
        require_valid(v)?;
        let session =
            SessionDraft { date: date.unwrap_or_else(shanghai_today), place, video: raw.video, attendees, notes };
        Ok(Plain { action: DisputeAction::Mediate, rule: Rule::HoldSession { session }, time_limit })
    }
}

impl Parse<pb::RecordAgreementRequest> for Plain {
    fn parse(req: pb::RecordAgreementRequest, time_limit: Period) -> Result<Self, AppError> {
        let raw = req.agreement.ok_or_else(|| AppError::invalid("agreement", "is required"))?;
        let mut v = Vec::new();
        let form = AgreementForm::from_i32(raw.form);
        if form.is_none() {
            v.push(FieldViolation::new("agreement.form", "must be WRITTEN or ORAL"));
        }
        // Art.29: a written agreement states the parties, the facts, the
        // points in dispute and each party's responsibility, and the terms.
        let written = form == Some(AgreementForm::Written);
        let min = usize::from(written);
        let parties_summary = text("agreement.parties_summary", &raw.parties_summary, min, 5_000, &mut v);
        let facts = text("agreement.facts", &raw.facts, min, 20_000, &mut v);
        let issues_and_responsibility =
            text("agreement.issues_and_responsibility", &raw.issues_and_responsibility, min, 20_000, &mut v);
        if written && !raw.signed_by_all_parties {
            v.push(FieldViolation::new(
                "agreement.signed_by_all_parties",
                "a written agreement takes effect once every party signed (Art.29)",
            ));
        }
        if written && !raw.sealed_by_committee {
            v.push(FieldViolation::new(
                "agreement.sealed_by_committee",
                "a written agreement takes effect once the committee sealed it (Art.29)",
            ));
        }
        if raw.terms.is_empty() || raw.terms.len() > 50 {
            v.push(FieldViolation::new("agreement.terms", "must hold 1 to 50 terms (Art.29 (三))"));
        }
        let mut terms = Vec::new();
        for (i, t) in raw.terms.iter().enumerate() {
            let at = |name: &str| format!("agreement.terms[{i}].{name}");
            let obligor = Uuid::parse_str(&t.obligor_party_id).ok();
            if obligor.is_none() {
                v.push(FieldViolation::new(at("obligor_party_id"), "must be a party id"));
            }
            let content = text(&at("content"), &t.content, 1, 5_000, &mut v);
            let manner = text(&at("manner"), &t.manner, 1, 1_000, &mut v);
            let deadline = optional_date(&at("deadline"), &t.deadline, &mut v);
            if t.deadline.is_empty() {
                v.push(FieldViolation::new(
                    at("deadline"),
                    "is required: the manner and deadline of performance (Art.29)",
                ));
            }
            if let (Some(obligor_party_id), Some(deadline)) = (obligor, deadline) {
                terms.push(TermDraft { obligor_party_id, content, manner, deadline });
            }
        }
        let effective_date = optional_date("agreement.effective_date", &raw.effective_date, &mut v);
        require_valid(v)?;
        let agreement = AgreementDraft {
            form: form.unwrap_or(AgreementForm::Oral),
            parties_summary,
            facts,
            issues_and_responsibility,
            terms,
            effective_date,
        };
        Ok(Plain { action: DisputeAction::Mediate, rule: Rule::Agree { agreement }, time_limit })
    }
}

impl Parse<pb::RecordFailureRequest> for Plain {
    fn parse(req: pb::RecordFailureRequest, time_limit: Period) -> Result<Self, AppError> {
        let raw = req.failure.ok_or_else(|| AppError::invalid("failure", "is required"))?;
        let mut v = Vec::new();
        let reason = FailureReason::from_i32(raw.reason);
        if reason.is_none() {
            v.push(FieldViolation::new("failure.reason", "must be a failure reason"));
        }
        let note = text("failure.note", &raw.note, 0, MAX_NOTE_CHARS, &mut v);
        let mut advised_routes = Vec::new();
        for (i, r) in raw.advised_routes.iter().enumerate() {
            match AdvisedRoute::from_i32(*r) {
                Some(route) if !advised_routes.contains(&route) => advised_routes.push(route),
                Some(_) => v.push(FieldViolation::new(format!("failure.advised_routes[{i}]"), "is given twice")),
                None => v.push(FieldViolation::new(format!("failure.advised_routes[{i}]"), "must be a route")),
            }
        }
        if raw.advised_routes.is_empty() {
            v.push(FieldViolation::new(
                "failure.advised_routes",
                "name at least one route the parties were told of: arbitration, administrative or judicial (Art.26)",
            ));
        }
        let date = optional_date("failure.failure_date", &raw.failure_date, &mut v);
        require_valid(v)?;
        let rule = Rule::Fail { reason: reason.unwrap_or(FailureReason::NoAgreement), note, advised_routes, date };
        Ok(Plain { action: DisputeAction::Mediate, rule, time_limit })
    }
}

impl Parse<pb::RecordPerformanceRequest> for Plain {
    fn parse(req: pb::RecordPerformanceRequest, time_limit: Period) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let term_index = usize::try_from(req.term_index).ok();
        if term_index.is_none() {
            v.push(FieldViolation::new("term_index", "must not be negative"));
        }
        let performance = match TermPerformance::from_i32(req.performance) {
            Some(p @ (TermPerformance::Performed | TermPerformance::Breached)) => Some(p),
            _ => {
                v.push(FieldViolation::new("performance", "must be PERFORMED or BREACHED"));
                None
            }
        };
        let date = optional_date("performance_date", &req.performance_date, &mut v);
        let note = text("note", &req.note, 0, MAX_NOTE_CHARS, &mut v);
        require_valid(v)?;
        let rule = Rule::RecordPerformance {
            term_index: term_index.unwrap_or_default(),
            performance: performance.unwrap_or(TermPerformance::Performed),
            date,
            note,
        };
        Ok(Plain { action: DisputeAction::Mediate, rule, time_limit })
    }
}

impl Parse<pb::AnswerCourtConfirmationRequest> for Plain {
    fn parse(req: pb::AnswerCourtConfirmationRequest, time_limit: Period) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let decision = match ConfirmationState::from_i32(req.decision) {
            Some(d @ (ConfirmationState::Confirmed | ConfirmationState::Rejected)) => Some(d),
            _ => {
                v.push(FieldViolation::new("decision", "must be CONFIRMED or REJECTED"));
                None
            }
        };
        let rejected = decision == Some(ConfirmationState::Rejected);
        let reason = text("reason", &req.reason, usize::from(rejected), MAX_NOTE_CHARS, &mut v);
        // Court linkage: the one case number format of every court answer.
        let court_case_number =
            crate::courts::case_number::validate("court_case_number", &req.court_case_number, false, &mut v);
        let date = optional_date("answer_date", &req.answer_date, &mut v);
        require_valid(v)?;
        let rule = Rule::AnswerConfirmation {
            decision: decision.unwrap_or(ConfirmationState::Rejected),
            reason,
            court_case_number,
            date,
        };
        Ok(Plain { action: DisputeAction::AnswerConfirmation, rule, time_limit })
    }
}

/// A command a party may make for themselves, or the team record for them.
pub struct ForParty {
    party_id: Uuid,
    rule: Rule,
    time_limit: Period,
}

impl ForParty {
    /// `rule` for party `party_id` (the demo seed).
    pub fn new(party_id: Uuid, rule: Rule) -> ForParty {
        ForParty { party_id, rule, time_limit: rules::DEFAULT_TIME_LIMIT }
    }
}

impl Command<Dispute> for ForParty {
    fn action(&self, _: &Dispute) -> DisputeAction {
        DisputeAction::ActForParty
    }

    fn decide(self, conn: &mut PgConnection, dispute: &Dispute, principal: &Principal) -> Result<Vec<Event>, AppError> {
        // A citizen party answers for themselves only; the team records
        // what any party said.
        if dispute.stored.row.party_account_ids.contains(&principal.account_id) && principal.has_role(Role::Citizen) {
            let own = store::parties_of(conn, &[dispute.id()])?
                .into_iter()
                .any(|p| p.id == self.party_id && p.account_id == Some(principal.account_id));
            if !own {
                return Err(AppError::permission_denied(
                    Reason::PermissionDenied,
                    "a party answers for themselves only",
                ));
            }
        }
        decide_now(conn, dispute, self.rule, self.time_limit)
    }
}

impl Parse<pb::RecordConsentRequest> for ForParty {
    fn parse(req: pb::RecordConsentRequest, time_limit: Period) -> Result<Self, AppError> {
        let party_id = parse_id("party_id", &req.party_id)?;
        let mut v = Vec::new();
        let date = optional_date("consent_date", &req.consent_date, &mut v);
        let note = text("note", &req.note, 0, MAX_NOTE_CHARS, &mut v);
        require_valid(v)?;
        let rule = Rule::Consent { party_id, consents: req.consents, date, note };
        Ok(ForParty { party_id, rule, time_limit })
    }
}

impl Parse<pb::ObjectToMediatorRequest> for ForParty {
    fn parse(req: pb::ObjectToMediatorRequest, time_limit: Period) -> Result<Self, AppError> {
        let party_id = parse_id("party_id", &req.party_id)?;
        let mut v = Vec::new();
        let reason = text("reason", &req.reason, 1, MAX_NOTE_CHARS, &mut v);
        require_valid(v)?;
        Ok(ForParty { party_id, rule: Rule::ObjectToMediator { party_id, reason }, time_limit })
    }
}

/// Naming the mediator: an active member of the dispute's team.
pub struct Assign {
    member_id: Uuid,
    time_limit: Period,
}

impl Assign {
    /// Naming `member_id` (the demo seed).
    pub fn new(member_id: Uuid) -> Assign {
        Assign { member_id, time_limit: rules::DEFAULT_TIME_LIMIT }
    }
}

impl Command<Dispute> for Assign {
    fn action(&self, _: &Dispute) -> DisputeAction {
        DisputeAction::Manage
    }

    fn decide(self, conn: &mut PgConnection, dispute: &Dispute, _: &Principal) -> Result<Vec<Event>, AppError> {
        let member = store::find_member(conn, dispute.stored.row.team_id, self.member_id)?;
        if !member.is_some_and(|m| m.row.active) {
            return Err(AppError::invalid("member_id", "is not an active member of the dispute's team"));
        }
        decide_now(conn, dispute, Rule::AssignMediator { member_id: self.member_id }, self.time_limit)
    }
}

impl Parse<pb::AssignMediatorRequest> for Assign {
    fn parse(req: pb::AssignMediatorRequest, time_limit: Period) -> Result<Self, AppError> {
        Ok(Assign { member_id: parse_id("member_id", &req.member_id)?, time_limit })
    }
}

/// Applying for a court's confirmation: the court is a court of the
/// directory.
pub struct Apply {
    court_id: Uuid,
    date: Option<NaiveDate>,
    time_limit: Period,
}

impl Apply {
    /// Applying to `court_id` on `date` (the demo seed).
    pub fn new(court_id: Uuid, date: Option<NaiveDate>) -> Apply {
        Apply { court_id, date, time_limit: rules::DEFAULT_TIME_LIMIT }
    }
}

impl Command<Dispute> for Apply {
    fn action(&self, _: &Dispute) -> DisputeAction {
        DisputeAction::Mediate
    }

    fn decide(self, conn: &mut PgConnection, dispute: &Dispute, _: &Principal) -> Result<Vec<Event>, AppError> {
        let court = directory_store::find_organization(conn, self.court_id)?;
        if court.is_none_or(|c| c.organization.kind != OrganizationKind::Court.as_i16()) {
            return Err(AppError::invalid("court_organization_id", "is not a court of the directory"));
        }
        decide_now(
            conn,
            dispute,
            Rule::ApplyForConfirmation { court_id: self.court_id, date: self.date },
            self.time_limit,
        )
    }
}

impl Parse<pb::ApplyForCourtConfirmationRequest> for Apply {
    fn parse(req: pb::ApplyForCourtConfirmationRequest, time_limit: Period) -> Result<Self, AppError> {
        let court_id = parse_id("court_organization_id", &req.court_organization_id)?;
        let mut v = Vec::new();
        if !req.all_parties_apply {
            v.push(FieldViolation::new("all_parties_apply", "the parties apply jointly (Art.33): must be true"));
        }
        let date = optional_date("apply_date", &req.apply_date, &mut v);
        require_valid(v)?;
        Ok(Apply { court_id, date, time_limit })
    }
}

/// Escalation to a team one level up.
pub struct Escalate {
    team_id: Uuid,
    reason: String,
    date: Option<NaiveDate>,
    time_limit: Period,
}

impl Escalate {
    /// Escalating to `team_id` on `date` (the demo seed).
    pub fn new(team_id: Uuid, reason: String, date: Option<NaiveDate>) -> Escalate {
        Escalate { team_id, reason, date, time_limit: rules::DEFAULT_TIME_LIMIT }
    }
}

impl Command<Dispute> for Escalate {
    fn action(&self, _: &Dispute) -> DisputeAction {
        DisputeAction::Manage
    }

    fn decide(self, conn: &mut PgConnection, dispute: &Dispute, _: &Principal) -> Result<Vec<Event>, AppError> {
        let row = &dispute.stored.row;
        let from =
            store::find_team(conn, row.team_id)?.ok_or_else(|| AppError::internal("a dispute's team is gone"))?;
        let to = store::find_team(conn, self.team_id)?.ok_or_else(|| AppError::invalid("team_id", "no such team"))?;
        let level = |l: i16| RegionLevel::from_i32(i32::from(l)).ok_or_else(|| AppError::internal("a team's level"));
        let facts = TeamFacts {
            id: to.row.id,
            level: level(to.row.level)?,
            takes_region: !to.row.retired && to.row.covered_paths.iter().any(|p| path_within(&row.region_path, p)),
        };
        let rule =
            Rule::Escalate { from_level: level(from.row.level)?, to: facts, reason: self.reason, date: self.date };
        decide_now(conn, dispute, rule, self.time_limit)
    }
}

impl Parse<pb::EscalateDisputeRequest> for Escalate {
    fn parse(req: pb::EscalateDisputeRequest, time_limit: Period) -> Result<Self, AppError> {
        let team_id = parse_id("team_id", &req.team_id)?;
        let mut v = Vec::new();
        let reason = text("reason", &req.reason, 1, MAX_NOTE_CHARS, &mut v);
        let date = optional_date("escalate_date", &req.escalate_date, &mut v);
        require_valid(v)?;
        Ok(Escalate { team_id, reason, date, time_limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn the_calendar_reaches_back_to_the_latest_act() {
        // An agreement recorded in December, dated back to 20 January: its
        // 30-day confirmation window ends in the Spring Festival (Feb 16–22,
        // 2026), whose rest days must be known to roll the last day on.
        let (from, to) = calendar_span(date(2026, 1, 20), date(2026, 12, 6));
        assert!(from <= date(2026, 1, 20) && to >= date(2026, 12, 6) + Days::new(60));
        assert!((from..=to).contains(&date(2026, 2, 19)));
        // A dispute whose acts are all recent: the usual window around today.
        let (from, to) = calendar_span(date(2026, 12, 5), date(2026, 12, 6));
        assert_eq!(from, date(2026, 11, 5));
        assert_eq!(to, date(2026, 12, 6) + Days::new(calendar_store::AROUND_AFTER_DAYS));
    }
}
