//! Rating writes as the pipeline runs them: the request parsed into a
//! validated command (field violations), its policy line, and the rule
//! decided at the transaction's time. The rules are in `rules.rs`.

use diesel::PgConnection;
use petition_proto::v1 as pb;

use super::aggregate::Rating;
use super::domain::RatingChannel;
use super::rules::{self, Command as Rule, Event, Score};
use crate::auth::Principal;
use crate::auth::policy::RatingAction;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::pipeline::Command;

/// The fields every rating write carries.
pub trait RatingRequest: prost::Message + Send + 'static {
    const METHOD: &'static str;
    fn rating_id(&self) -> &str;
    fn etag(&self) -> &str;
    fn request_id(&self) -> &str;
}

macro_rules! rating_requests {
    ($($request:ident => $method:literal;)+) => {
        $(
            impl RatingRequest for pb::$request {
                const METHOD: &'static str = $method;
                fn rating_id(&self) -> &str {
                    &self.rating_id
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

rating_requests! {
    SubmitRatingRequest => "SubmitRating";
    RecordRatingRequest => "RecordRating";
}

/// A rating write: its policy line and its rule.
pub struct Act {
    action: RatingAction,
    rule: Rule,
}

impl Act {
    /// `rule` under the policy line `action` (the demo seed).
    pub fn new(action: RatingAction, rule: Rule) -> Act {
        Act { action, rule }
    }
}

impl Command<Rating> for Act {
    fn action(&self, _: &Rating) -> RatingAction {
        self.action
    }

    fn decide(self, _: &mut PgConnection, rating: &Rating, principal: &Principal) -> Result<Vec<Event>, AppError> {
        rules::decide(rating.row.id, rating.life(), self.rule, principal.account_id, chrono::Utc::now())
    }
}

/// Both dimensions, validated (`acceptance`, `handling`).
fn scores(
    acceptance: Option<&pb::RatingScore>,
    handling: Option<&pb::RatingScore>,
    v: &mut Vec<FieldViolation>,
) -> (Option<Score>, Option<Score>) {
    let mut one = |field: &str, raw: Option<&pb::RatingScore>| match raw {
        Some(raw) => rules::score(field, raw.satisfaction, &raw.reasons, &raw.text, v),
        None => {
            v.push(FieldViolation::new(field, "is required: rate the acceptance and the handling"));
            None
        }
    };
    let acceptance = one("acceptance", acceptance);
    let handling = one("handling", handling);
    (acceptance, handling)
}

/// A command parsed from its request.
pub trait Parse<R>: Sized {
    fn parse(request: R) -> Result<Self, AppError>;
}

impl Parse<pb::SubmitRatingRequest> for Act {
    fn parse(req: pb::SubmitRatingRequest) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let (acceptance, handling) = scores(req.acceptance.as_ref(), req.handling.as_ref(), &mut v);
        require_valid(v)?;
        match (acceptance, handling) {
            (Some(acceptance), Some(handling)) => {
                Ok(Act::new(RatingAction::Submit, Rule::Submit { acceptance, handling }))
            }
            _ => Err(AppError::internal("a valid rating without its scores")),
        }
    }
}

impl Parse<pb::RecordRatingRequest> for Act {
    fn parse(req: pb::RecordRatingRequest) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let (acceptance, handling) = scores(req.acceptance.as_ref(), req.handling.as_ref(), &mut v);
        let channel = RatingChannel::from_i32(req.channel).filter(|c| *c != RatingChannel::Online);
        if channel.is_none() {
            v.push(FieldViolation::new("channel", "must be PHONE, RETURN_VISIT or IN_PERSON"));
        }
        require_valid(v)?;
        match (acceptance, handling, channel) {
            (Some(acceptance), Some(handling), Some(channel)) => {
                Ok(Act::new(RatingAction::Record, Rule::Record { acceptance, handling, channel }))
            }
            _ => Err(AppError::internal("a valid rating without its scores")),
        }
    }
}
