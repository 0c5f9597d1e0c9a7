//! Every referral transition as the pipeline runs it: the request parsed
//! into a validated command (field violations), its policy line, and the
//! facts its rule needs read before the rule decides. The rules are in
//! `rules.rs`.

use chrono::NaiveDate;
use diesel::PgConnection;
use petition_proto::v1 as pb;

use super::aggregate::Referral;
use super::case_number;
use super::domain::{CourtOutcome, HearingKind, ReturnReason};
use super::rules::{self, Command as Rule, Event};
use super::store;
use crate::auth::Principal;
use crate::auth::policy::CourtReferralAction;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::mediation::draft::optional_date;
use crate::pipeline::Command;
use crate::time::shanghai_today;

pub const MAX_TEXT_CHARS: usize = 5_000;

/// The fields every referral transition request carries.
pub trait ReferralRequest: prost::Message + Send + 'static {
    const METHOD: &'static str;
    fn referral_id(&self) -> &str;
    fn etag(&self) -> &str;
    fn request_id(&self) -> &str;
}

macro_rules! referral_requests {
    ($($request:ident => $method:literal;)+) => {
        $(
            impl ReferralRequest for pb::$request {
                const METHOD: &'static str = $method;
                fn referral_id(&self) -> &str {
                    &self.court_referral_id
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

referral_requests! {
    AcknowledgeCourtReferralRequest => "AcknowledgeCourtReferral";
    RecordCourtFilingRequest => "RecordCourtFiling";
    ScheduleCourtHearingRequest => "ScheduleCourtHearing";
    RecordCourtOutcomeRequest => "RecordCourtOutcome";
    ReturnCourtReferralRequest => "ReturnCourtReferral";
    WithdrawCourtReferralRequest => "WithdrawCourtReferral";
}

fn text(field: &str, raw: &str, min: usize, v: &mut Vec<FieldViolation>) -> String {
    crate::text::multi_line(field, raw, min, MAX_TEXT_CHARS, v)
}

/// A referral transition: its policy line and its rule.
pub struct Act {
    action: CourtReferralAction,
    rule: Rule,
}

impl Act {
    /// `rule` under the policy line `action` (the demo seed).
    pub fn new(action: CourtReferralAction, rule: Rule) -> Act {
        Act { action, rule }
    }
}

impl Command<Referral> for Act {
    fn action(&self, _: &Referral) -> CourtReferralAction {
        self.action
    }

    fn decide(self, conn: &mut PgConnection, referral: &Referral, _: &Principal) -> Result<Vec<Event>, AppError> {
        let rule = match self.rule {
            Rule::File { court_case_number, date, judge, .. } => {
                let number_in_use = store::number_in_use(
                    conn,
                    referral.row.court_organization_id,
                    &court_case_number,
                    referral.row.id,
                )?;
                Rule::File { court_case_number, date, judge, number_in_use }
            }
            rule => rule,
        };
        rules::decide(referral.row.id, referral.life(), rule, shanghai_today())
    }
}

/// A command parsed from its request.
pub trait Parse<R>: Sized {
    fn parse(request: R) -> Result<Self, AppError>;
}

impl Parse<pb::AcknowledgeCourtReferralRequest> for Act {
    fn parse(req: pb::AcknowledgeCourtReferralRequest) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let date = optional_date("acknowledge_date", &req.acknowledge_date, &mut v);
        let note = text("note", &req.note, 0, &mut v);
        require_valid(v)?;
        Ok(Act::new(CourtReferralAction::ActAsCourt, Rule::Acknowledge { date, note }))
    }
}

impl Parse<pb::RecordCourtFilingRequest> for Act {
    fn parse(req: pb::RecordCourtFilingRequest) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let court_case_number = case_number::validate("court_case_number", &req.court_case_number, true, &mut v);
        let date = optional_date("filing_date", &req.filing_date, &mut v);
        let judge = crate::text::one_line("judge", &req.judge, 0, 100, &mut v);
        require_valid(v)?;
        let rule = Rule::File { court_case_number, date, judge, number_in_use: false };
        Ok(Act::new(CourtReferralAction::ActAsCourt, rule))
    }
}

impl Parse<pb::ScheduleCourtHearingRequest> for Act {
    fn parse(req: pb::ScheduleCourtHearingRequest) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let date = optional_date("hearing_date", &req.hearing_date, &mut v);
        if req.hearing_date.is_empty() {
            v.push(FieldViolation::new("hearing_date", "is required: the day of the sitting"));
        }
        let place = crate::text::one_line("place", &req.place, 0, 200, &mut v);
        let kind = match req.kind {
            0 => Some(HearingKind::Trial),
            n => HearingKind::from_i32(n),
        };
        if kind.is_none() {
            v.push(FieldViolation::new("kind", "must be a hearing kind"));
        }
        let postpones = match req.postpones_hearing_number {
            0 => None,
            n if n < 0 => {
                v.push(FieldViolation::new("postpones_hearing_number", "must not be negative"));
                None
            }
            n => Some(n),
        };
        require_valid(v)?;
        let rule = Rule::ScheduleHearing {
            date: date.unwrap_or(NaiveDate::MIN),
            place,
            kind: kind.unwrap_or(HearingKind::Trial),
            postpones,
        };
        Ok(Act::new(CourtReferralAction::ActAsCourt, rule))
    }
}

impl Parse<pb::RecordCourtOutcomeRequest> for Act {
    fn parse(req: pb::RecordCourtOutcomeRequest) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let outcome = CourtOutcome::from_i32(req.outcome);
        if outcome.is_none() {
            v.push(FieldViolation::new("outcome", "must be JUDGMENT, COURT_MEDIATION, WITHDRAWAL or DISMISSAL"));
        }
        let date = optional_date("outcome_date", &req.outcome_date, &mut v);
        let summary = text("summary", &req.summary, 1, &mut v);
        let document_number = case_number::validate("document_number", &req.document_number, false, &mut v);
        require_valid(v)?;
        let rule =
            Rule::Conclude { outcome: outcome.unwrap_or(CourtOutcome::Judgment), date, summary, document_number };
        Ok(Act::new(CourtReferralAction::ActAsCourt, rule))
    }
}

impl Parse<pb::ReturnCourtReferralRequest> for Act {
    fn parse(req: pb::ReturnCourtReferralRequest) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let reason = ReturnReason::from_i32(req.reason);
        if reason.is_none() {
            v.push(FieldViolation::new("reason", "must be NOT_THIS_COURT, NOT_LITIGABLE, PARTY_DID_NOT_SUE or OTHER"));
        }
        let min = usize::from(reason == Some(ReturnReason::Other));
        let explanation = text("explanation", &req.explanation, min, &mut v);
        let date = optional_date("return_date", &req.return_date, &mut v);
        require_valid(v)?;
        let rule = Rule::Return { reason: reason.unwrap_or(ReturnReason::Other), explanation, date };
        Ok(Act::new(CourtReferralAction::ActAsCourt, rule))
    }
}

impl Parse<pb::WithdrawCourtReferralRequest> for Act {
    fn parse(req: pb::WithdrawCourtReferralRequest) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let reason = text("reason", &req.reason, 1, &mut v);
        let date = optional_date("withdraw_date", &req.withdraw_date, &mut v);
        require_valid(v)?;
        Ok(Act::new(CourtReferralAction::Withdraw, Rule::Withdraw { reason, date }))
    }
}
