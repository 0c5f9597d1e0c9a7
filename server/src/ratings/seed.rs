//! Ratings' part of `seed-demo`: the demo cases' opinions rated in every
//! way a bureau sees them — satisfied, basically satisfied, dissatisfied
//! with reasons, recorded by phone, awaiting, a window passed without a
//! rating (an opinion served weeks ago), a review opinion rated again —
//! through the same pipeline as the RPCs.

use std::collections::HashMap;

use chrono::{Days, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::aggregate::Rating;
use super::commands::Act;
use super::domain::{DissatisfactionReason, RatingChannel, RatingRound, Satisfaction};
use super::rules::{Command as Rule, Score};
use crate::auth::Principal;
use crate::auth::policy::{CaseAction, RatingAction};
use crate::cases::aggregate::Case;
use crate::cases::commands::Plain;
use crate::cases::domain::{CaseKind, Channel, Decision};
use crate::cases::draft::Draft;
use crate::cases::filing::{self, Filing};
use crate::cases::limits::DailyLimit;
use crate::cases::rules::{Command, OpinionDraft};
use crate::config::RatingsConfig;
use crate::error::AppError;
use crate::event_log::Journal;
use crate::pipeline;
use crate::schema::ratings;
use crate::time::shanghai_today;

/// The demo cases whose opinions are rated (`seed::demo_cases`).
pub struct Rated {
    /// Replied (REPLY).
    pub replied: Uuid,
    /// Replied, review requested (REPLY).
    pub under_review: Uuid,
    /// Replied and reviewed (REPLY, REVIEW).
    pub reviewed: Uuid,
    /// Reviewed, re-review requested (REPLY, REVIEW).
    pub under_recheck: Uuid,
    /// Re-reviewed (REPLY, REVIEW, RECHECK).
    pub finished: Uuid,
}

fn person<'a>(people: &'a HashMap<&str, Principal>, key: &str) -> Result<&'a Principal, AppError> {
    people.get(key).ok_or_else(|| AppError::internal(format!("demo person {key}")))
}

fn score(satisfaction: Satisfaction, reasons: &[DissatisfactionReason], text: &str) -> Score {
    Score { satisfaction, reasons: reasons.to_vec(), text: text.into() }
}

/// The rating of `case`'s `round`.
fn rating_of(conn: &mut PgConnection, case: Uuid, round: RatingRound) -> Result<Uuid, AppError> {
    ratings::table
        .filter(ratings::case_id.eq(case))
        .filter(ratings::round.eq(round.as_i16()))
        .select(ratings::id)
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::internal(format!("demo case {case} has no {round:?} rating")))
}

/// Seeds the ratings. `people` holds the demo staff and citizens by login.
pub fn seed(
    conn: &mut PgConnection,
    journal: &mut Journal,
    config: &RatingsConfig,
    people: &HashMap<&str, Principal>,
    cases: &Rated,
) -> Result<(), AppError> {
    use DissatisfactionReason::*;
    use Satisfaction::*;
    let liu = person(people, "13807970001")?.clone();
    let clerk = person(people, "zg.clerk")?.clone();
    let handler = person(people, "zg.handler")?.clone();
    let mut act = |conn: &mut PgConnection, who: &Principal, case, round, action, rule| -> Result<(), AppError> {
        let id = rating_of(conn, case, round)?;
        pipeline::transition::<Rating, Act>(conn, journal, who, id, "", Act::new(action, rule)).map(|_| ())
    };
    let submit = |acceptance, handling| Rule::Submit { acceptance, handling };
    let (reply, review) = (RatingRound::Reply, RatingRound::Review);
    let ok = score(Satisfied, &[], "");
    let fair = score(BasicallySatisfied, &[], "");
    // Satisfied with both.
    act(
        conn,
        &liu,
        cases.replied,
        reply,
        RatingAction::Submit,
        submit(ok.clone(), score(Satisfied, &[], "维修及时，感谢")),
    )?;
    // Dissatisfied with the handling, with reasons; review asked for.
    let leaking = score(Dissatisfied, &[NotResolved, NotCarriedOut], "维修后仍有渗水，承诺的复查未落实");
    act(conn, &liu, cases.under_review, reply, RatingAction::Submit, submit(fair.clone(), leaking))?;
    // Dissatisfied with the reply, then the review opinion rated again.
    let unclear = score(Dissatisfied, &[UnclearReply], "答复未说明维修基金的使用依据");
    act(conn, &liu, cases.reviewed, reply, RatingAction::Submit, submit(ok.clone(), unclear))?;
    act(conn, &liu, cases.reviewed, review, RatingAction::Submit, submit(fair.clone(), fair.clone()))?;
    // Recorded by the bureau's clerk from a phone call (电话回访).
    let record = Rule::Record { acceptance: fair.clone(), handling: fair.clone(), channel: RatingChannel::Phone };
    act(conn, &clerk, cases.under_recheck, reply, RatingAction::Record, record)?;
    let unfair = score(Dissatisfied, &[Unfair], "复查未听取本人意见");
    act(conn, &liu, cases.under_recheck, review, RatingAction::Submit, submit(ok.clone(), unfair))?;
    // The finished case's review rated; its reply and re-review await.
    act(conn, &liu, cases.finished, review, RatingAction::Submit, submit(ok, fair))?;
    window_passed(conn, journal, config, &liu, &handler)
}

/// A case replied to six weeks ago whose window passed without a rating
/// (NOT_RATED): accepted and served on back-dated days, as a bureau's
/// imported history would be.
fn window_passed(
    conn: &mut PgConnection,
    journal: &mut Journal,
    config: &RatingsConfig,
    petitioner: &Principal,
    handler: &Principal,
) -> Result<(), AppError> {
    let region = "360702001001";
    let draft = Draft {
        kind: CaseKind::Claim,
        category_code: "housing.property".into(),
        region_code: region.into(),
        title: "厚德路小区地下车库积水".into(),
        content: "小区地下车库雨后积水，排水泵长期损坏，物业未修。".into(),
        requests: "请求督促物业修复排水泵".into(),
        facts_and_reasons: String::new(),
        attachments: vec![],
        respondent_organization_id: None,
    };
    let numbered = filing::take_number(conn, petitioner, Channel::Online, region)?;
    let filing = Filing {
        principal: petitioner.clone(),
        draft,
        channel: Channel::Online,
        petitioner_id: petitioner.account_id,
        group_visit: None,
        daily_limit: DailyLimit::NONE,
        similarity: None,
    };
    let kinds = crate::directory::kinds::OrganizationKinds::default();
    let case = filing::file(conn, journal, filing, numbered, &kinds)?.row.id;
    let step = |conn: &mut PgConnection, journal: &mut Journal, action, command| -> Result<(), AppError> {
        let (saved, events) =
            pipeline::transition::<Case, Plain>(conn, journal, handler, case, "", Plain::new(action, command))?;
        crate::ratings::open_for_opinions(conn, journal, config, &saved, &events, Some(handler.account_id)).map(|_| ())
    };
    step(conn, journal, CaseAction::RespondToRouting, Command::Accept { note: "已受理".into() })?;
    let accepted_on = shanghai_today().checked_sub_days(Days::new(60)).unwrap_or_else(shanghai_today);
    // Imported history: the acceptance happened 60 days ago. The event
    // and the stored lifecycle say so alike (the fold stays the stored
    // case); an opinion may not be served before its acceptance.
    journal.flush(conn)?;
    let day = crate::calendar::rules::format_date(accepted_on);
    diesel::sql_query(
        "UPDATE events SET payload = jsonb_set(payload, '{accepted_on}', to_jsonb($1::text))
         WHERE aggregate_type = 1 AND aggregate_id = $2 AND payload->>'type' = 'accepted'",
    )
    .bind::<diesel::sql_types::Text, _>(&day)
    .bind::<diesel::sql_types::Uuid, _>(case)
    .execute(conn)?;
    diesel::sql_query(
        "UPDATE cases SET lifecycle = jsonb_set(lifecycle, '{accepted_on}', to_jsonb($1::text)) WHERE id = $2",
    )
    .bind::<diesel::sql_types::Text, _>(&day)
    .bind::<diesel::sql_types::Uuid, _>(case)
    .execute(conn)?;
    let opinion = OpinionDraft {
        request: "请求修复地下车库排水泵".into(),
        facts: "经核查，排水泵已于上月更换".into(),
        decision: Decision::Supported,
        legal_basis: "《物业管理条例》第三十五条".into(),
        served_at: Utc::now() - chrono::Duration::days(42),
        stated_organization_id: None,
        mediation_dispute_id: None,
    };
    step(conn, journal, CaseAction::Handle, Command::Reply { opinion })
}
