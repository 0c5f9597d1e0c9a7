//! Helpers for rating tests, on top of the [`CaseWorld`]: ratings of a
//! case, scores, and a case whose opinion was served weeks ago.

use anyhow::{Context, Result};
use futures::TryStreamExt;
use petition_sdk::{Client, pb};

use crate::server::TestServer;
use crate::world::{CaseWorld, opinion};

/// One dimension's rating.
pub fn score(satisfaction: pb::Satisfaction, reasons: &[pb::DissatisfactionReason], text: &str) -> pb::RatingScore {
    pb::RatingScore {
        satisfaction: satisfaction.into(),
        reasons: reasons.iter().map(|r| *r as i32).collect(),
        text: text.into(),
    }
}

pub fn satisfied() -> pb::RatingScore {
    score(pb::Satisfaction::Satisfied, &[], "")
}

/// The petitioner's rating request.
pub fn submit(rating_id: &str, acceptance: pb::RatingScore, handling: pb::RatingScore) -> pb::SubmitRatingRequest {
    pb::SubmitRatingRequest {
        rating_id: rating_id.into(),
        acceptance: Some(acceptance),
        handling: Some(handling),
        ..Default::default()
    }
}

/// A clerk's record of a rating given by `channel`.
pub fn record(
    rating_id: &str,
    acceptance: pb::RatingScore,
    handling: pb::RatingScore,
    channel: pb::RatingChannel,
) -> pb::RecordRatingRequest {
    pb::RecordRatingRequest {
        rating_id: rating_id.into(),
        acceptance: Some(acceptance),
        handling: Some(handling),
        channel: channel.into(),
        ..Default::default()
    }
}

/// Every rating `client` lists with `filter`.
pub async fn listed(client: &Client, filter: pb::ListRatingsRequest) -> Result<Vec<pb::Rating>> {
    Ok(client.ratings().ratings(filter).try_collect().await?)
}

/// The ratings of case `case_id` as `client` sees them, oldest round first.
pub async fn ratings_of(client: &Client, case_id: &str) -> Result<Vec<pb::Rating>> {
    let mut ratings = listed(client, pb::ListRatingsRequest { case_id: case_id.into(), ..Default::default() }).await?;
    ratings.sort_by_key(|r| r.round);
    Ok(ratings)
}

/// The one rating of round `round` of case `case_id`.
pub async fn rating_of(client: &Client, case_id: &str, round: pb::RatingRound) -> Result<pb::Rating> {
    ratings_of(client, case_id).await?.into_iter().find(|r| r.round() == round).context("no rating of that round")
}

/// A case of the owner replied to by unit A with the opinion served
/// `days` days ago (accepted `days + 5` days ago: the stored acceptance is
/// moved back, as an import of past records would have it).
pub async fn served_days_ago(server: &TestServer, w: &CaseWorld, title: &str, days: i64) -> Result<pb::Case> {
    use diesel::RunQueryDsl;
    let case = w.accepted_case(title).await?;
    let accepted = petition_server::time::shanghai_today() - chrono::Duration::days(days + 5);
    let database = server.database.as_ref().context("the server's database")?;
    diesel::sql_query(
        "UPDATE cases SET lifecycle = jsonb_set(lifecycle, '{accepted_on}', to_jsonb($1::text)) WHERE id = $2",
    )
    .bind::<diesel::sql_types::Text, _>(accepted.format("%Y-%m-%d").to_string())
    .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(&case.id)?)
    .execute(&mut database.connect()?)?;
    let served = chrono::Utc::now() - chrono::Duration::days(days);
    Ok(w.handler
        .cases()
        .reply_to_case(pb::ReplyToCaseRequest {
            case_id: case.id,
            opinion: Some(pb::Opinion {
                serve_time: Some(prost_types::Timestamp { seconds: served.timestamp(), nanos: 0 }),
                ..opinion()
            }),
            ..Default::default()
        })
        .await?)
}
