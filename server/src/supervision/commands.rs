//! Supervision writes as the pipeline runs them: each request parsed into
//! a validated command (field violations), its policy line, and its rule
//! decided at the business clock's time. The rules are in `rules.rs`.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use petition_proto::v1 as pb;

use super::aggregate::{self, Supervision};
use super::rules::{self, Command as Rule, Event, Ladder};
use crate::auth::Principal;
use crate::auth::policy::SupervisionAction;
use crate::error::{AppError, require_valid};
use crate::pipeline::Command;
use crate::time::shanghai_date;

/// The fields every write on an existing item carries.
pub trait SupervisionRequest: prost::Message + Send + 'static {
    const METHOD: &'static str;
    fn supervision_id(&self) -> &str;
    fn etag(&self) -> &str;
    fn request_id(&self) -> &str;
    /// The request as its rule.
    fn rule(&self) -> Result<Rule, AppError>;
}

macro_rules! supervision_requests {
    ($($request:ident => $method:literal, |$req:ident| $rule:expr;)+) => {
        $(
            impl SupervisionRequest for pb::$request {
                const METHOD: &'static str = $method;
                fn supervision_id(&self) -> &str {
                    &self.supervision_id
                }
                fn etag(&self) -> &str {
                    &self.etag
                }
                fn request_id(&self) -> &str {
                    &self.request_id
                }
                fn rule(&self) -> Result<Rule, AppError> {
                    let $req = self;
                    $rule
                }
            }
        )+
    };
}

/// A note at `field`, required or not, as its own rule.
fn noted(field: &str, raw: &str, required: bool, rule: impl FnOnce(String) -> Rule) -> Result<Rule, AppError> {
    let mut v = Vec::new();
    let text = rules::note(field, raw, required, &mut v);
    require_valid(v)?;
    Ok(rule(text))
}

supervision_requests! {
    AnswerSupervisionRequest => "AnswerSupervision",
        |req| noted("text", &req.text, true, |text| Rule::Answer { text });
    ReviewSupervisionAnswerRequest => "ReviewSupervisionAnswer",
        |req| noted("note", &req.note, !req.accept, |note| Rule::Review { accept: req.accept, note });
    EscalateSupervisionRequest => "EscalateSupervision",
        |req| noted("reason", &req.reason, true, |reason| Rule::Escalate { reason });
    WithdrawSupervisionRequest => "WithdrawSupervision",
        |req| noted("reason", &req.reason, true, |reason| Rule::Withdraw { reason });
}

/// A write on an existing item: its rule, decided at `now` on `ladder`.
pub struct Act {
    pub rule: Rule,
    pub now: DateTime<Utc>,
    pub ladder: Ladder,
}

impl Command<Supervision> for Act {
    fn action(&self, _: &Supervision) -> SupervisionAction {
        match self.rule {
            Rule::Answer { .. } => SupervisionAction::Answer,
            Rule::Review { .. } | Rule::Escalate { .. } | Rule::Withdraw { .. } => SupervisionAction::Oversee,
        }
    }

    fn decide(
        self,
        conn: &mut PgConnection,
        item: &Supervision,
        principal: &Principal,
    ) -> Result<Vec<Event>, AppError> {
        let Act { rule, now, ladder } = self;
        let Rule::Escalate { reason } = rule else {
            return rules::decide(item.row.id, item.life(), rule, principal.account_id, now);
        };
        let life = item.life();
        let rung = rules::next_rung(item.row.id, life, "EscalateSupervision")?;
        let today = shanghai_date(now);
        let calendar = crate::calendar::store::load_calendar_around(conn, today)?;
        Ok(vec![aggregate::risen(conn, item, rung, today, (&ladder, &calendar), Some(reason))?])
    }
}
