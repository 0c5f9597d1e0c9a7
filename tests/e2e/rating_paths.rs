//! Ratings end to end: a served opinion opens a rating; the petitioner
//! rates, changes it within the window and is refused after it; a review
//! opinion is rated again, attributed to the reviewing body; a clerk
//! records a phone rating, never over the petitioner's own; dissatisfied
//! needs reasons; replays answer alike; a matter before a court is not
//! rated; the demo seeds every kind of rating.

use anyhow::{Context, Result};
use petition_sdk::pb;
use petition_sdk::tonic::Code;
use petition_tests::ratings_world::*;
use petition_tests::*;

use crate::support::{expect_error, expect_invalid, expect_precondition};

use pb::DissatisfactionReason as Why;
use pb::Satisfaction as S;

async fn event_types(client: &petition_sdk::Client, rating_id: &str) -> Result<Vec<pb::RatingEventType>> {
    use futures::TryStreamExt;
    let events: Vec<pb::RatingEvent> = client.ratings().rating_events(rating_id).try_collect().await?;
    events.iter().for_each(crate::support::assert_typed_rating_event);
    Ok(events.iter().map(|e| e.r#type()).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_is_rated_changed_within_the_window_and_final_after_it() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.replied_case("评价-漏水").await?;
    let ratings = ratings_of(&w.owner, &case.id).await?;
    assert_eq!(ratings.len(), 1, "one rating per opinion");
    let rating = &ratings[0];
    assert_eq!(rating.round(), pb::RatingRound::Reply);
    assert_eq!(rating.state(), pb::RatingState::Awaiting);
    assert_eq!(rating.case_number, case.number);
    assert_eq!(rating.acceptance_organization_id, w.dir.unit_a.id, "the unit accepted it");
    assert_eq!(rating.handling_organization_id, w.dir.unit_a.id, "the unit issued the opinion");
    assert_eq!(rating.petitioner_account_id, w.owner_id);
    assert!(rating.acceptance.is_none() && rating.rate_time.is_none());
    // 20 working days after today's service: at least four weeks ahead.
    let today = petition_server::time::shanghai_today();
    let rate_by = chrono::NaiveDate::parse_from_str(&rating.rate_by, "%Y-%m-%d")?;
    assert!(rate_by >= today + chrono::Days::new(26) && rate_by <= today + chrono::Days::new(40), "{rate_by}");

    // Dissatisfied without a reason, reasons on a satisfied dimension, no
    // handling at all: field violations.
    let r = w.owner.ratings();
    expect_invalid(
        r.submit_rating(submit(&rating.id, satisfied(), score(S::Dissatisfied, &[], "不满意"))).await,
        &["handling.reasons"],
    );
    expect_invalid(
        r.submit_rating(submit(&rating.id, score(S::Satisfied, &[Why::Late], ""), satisfied())).await,
        &["acceptance.reasons"],
    );
    expect_invalid(
        r.submit_rating(pb::SubmitRatingRequest {
            rating_id: rating.id.clone(),
            acceptance: Some(satisfied()),
            ..Default::default()
        })
        .await,
        &["handling"],
    );
    expect_invalid(
        r.submit_rating(submit(&rating.id, satisfied(), score(S::Dissatisfied, &[Why::Other], ""))).await,
        &["handling.text"],
    );

    // Hostile input: a flood of reasons or filter values is one violation;
    // a malformed id or page size is named.
    let flood = pb::RatingScore { satisfaction: S::Dissatisfied.into(), reasons: vec![1; 10_000], text: String::new() };
    expect_invalid(r.submit_rating(submit(&rating.id, satisfied(), flood)).await, &["handling.reasons"]);
    expect_invalid(r.submit_rating(submit("not-an-id", satisfied(), satisfied())).await, &["rating_id"]);
    expect_invalid(r.get_rating("").await, &["rating_id"]);
    let rounds = pb::ListRatingsRequest { rounds: vec![1; 10_000], ..Default::default() };
    expect_invalid(r.list_ratings(rounds).await, &["rounds"]);
    let states = pb::ListRatingsRequest { states: vec![0, 7], ..Default::default() };
    expect_invalid(r.list_ratings(states).await, &["states[0]", "states[1]"]);
    expect_invalid(
        r.list_ratings(pb::ListRatingsRequest { page_size: -1, ..Default::default() }).await,
        &["page_size"],
    );
    let nowhere = pb::ListRatingsRequest { region_code: "999999".into(), ..Default::default() };
    expect_invalid(r.list_ratings(nowhere).await, &["region_code"]);

    // Rated: satisfied with the acceptance, dissatisfied with the handling.
    let leaking = score(S::Dissatisfied, &[Why::NotResolved, Why::NotCarriedOut], "仍在漏水");
    let rated = r.submit_rating(submit(&rating.id, satisfied(), leaking.clone())).await?;
    assert_eq!(rated.state(), pb::RatingState::Rated);
    assert_eq!(rated.channel(), pb::RatingChannel::Online);
    assert_eq!(rated.handling, Some(leaking.clone()));
    assert!(rated.recorded_by_account_id.is_empty());
    // Changed within the window: an AMENDED event; the same values again
    // record nothing.
    let fair = score(S::BasicallySatisfied, &[], "已修好");
    let amended = r.submit_rating(submit(&rating.id, satisfied(), fair.clone())).await?;
    assert_eq!((amended.change_count, amended.handling.clone()), (1, Some(fair.clone())));
    let again = r.submit_rating(submit(&rating.id, satisfied(), fair.clone())).await?;
    assert_eq!(again.last_event_sequence, amended.last_event_sequence);
    assert_eq!(again.etag, amended.etag);
    use pb::RatingEventType as T;
    assert_eq!(event_types(&w.owner, &rating.id).await?, [T::Opened, T::Rated, T::Amended]);
    // The stored rating is the fold of its events, and its projections
    // (the columns the metrics read) say what the lifecycle says.
    let url = server.database.as_ref().context("the server's database")?.url().to_owned();
    let id: uuid::Uuid = rating.id.parse()?;
    let (stored, folded) = tokio::task::spawn_blocking(move || -> Result<_> {
        use diesel::Connection;
        let mut conn = diesel::PgConnection::establish(&url)?;
        let stored = petition_server::ratings::store::find_rating(&mut conn, id)?.context("the rating")?;
        let events = petition_server::event_log::timeline(&mut conn, id, 0, 100)?
            .iter()
            .map(petition_server::event_log::parse_event::<petition_server::ratings::rules::Event>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((stored, petition_server::ratings::rules::fold(&events)))
    })
    .await??;
    assert_eq!(folded.as_ref(), Some(&stored.lifecycle.0));
    assert_eq!((stored.handling, stored.acceptance, stored.channel), (Some(2), Some(1), Some(1)));
    assert!(stored.rated_at.is_some());
    // A stale etag is ABORTED.
    let stale = pb::SubmitRatingRequest { etag: rated.etag.clone(), ..submit(&rating.id, satisfied(), satisfied()) };
    expect_error(r.submit_rating(stale).await, Code::Aborted, None);

    // Replays: the same id and request answer alike and change nothing;
    // the same id with another request is REQUEST_ID_REUSED.
    let keyed = pb::SubmitRatingRequest {
        request_id: petition_sdk::new_request_id(),
        ..submit(&rating.id, satisfied(), satisfied())
    };
    let first = r.submit_rating(keyed.clone()).await?;
    let replay = r.submit_rating(keyed.clone()).await?;
    assert_eq!(first, replay);
    assert_eq!(first.change_count, 2);
    let other = pb::SubmitRatingRequest { handling: Some(fair), ..keyed };
    expect_error(r.submit_rating(other).await, Code::AlreadyExists, Some("REQUEST_ID_REUSED"));

    // An opinion served seven weeks ago: its window passed without a
    // rating (NOT_RATED); nothing is recorded on it any more.
    let old = served_days_ago(&server, &w, "评价-逾期", 49).await?;
    let closed = rating_of(&w.owner, &old.id, pb::RatingRound::Reply).await?;
    assert_eq!(closed.state(), pb::RatingState::NotRated);
    let subject = format!("ratings/{}", closed.id);
    expect_precondition(
        r.submit_rating(submit(&closed.id, satisfied(), satisfied())).await,
        "RATING_WINDOW_CLOSED",
        &subject,
    );
    let phone = record(&closed.id, satisfied(), satisfied(), pb::RatingChannel::Phone);
    expect_precondition(w.clerk.ratings().record_rating(phone).await, "RATING_WINDOW_CLOSED", &subject);
    // The states filter reads them as of today.
    let mine = |states: Vec<i32>| pb::ListRatingsRequest { mine: true, states, ..Default::default() };
    let not_rated = listed(&w.owner, mine(vec![pb::RatingState::NotRated.into()])).await?;
    assert_eq!(not_rated.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [closed.id.as_str()]);
    let rated = listed(&w.owner, mine(vec![pb::RatingState::Rated.into()])).await?;
    assert_eq!(rated.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [rating.id.as_str()]);
    assert!(listed(&w.owner, mine(vec![pb::RatingState::Awaiting.into()])).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_opinion_is_rated_again_and_attributed_to_the_reviewing_body() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.reviewed_case("评价-复查").await?;
    let ratings = ratings_of(&w.owner, &case.id).await?;
    let rounds: Vec<_> = ratings.iter().map(|r| r.round()).collect();
    assert_eq!(rounds, [pb::RatingRound::Reply, pb::RatingRound::Review]);
    // The reply stays the unit's; the review is the reviewing body's, for
    // the acceptance and the handling alike.
    assert_eq!(ratings[0].handling_organization_id, w.dir.unit_a.id);
    assert_eq!(ratings[1].acceptance_organization_id, w.gov_a.id);
    assert_eq!(ratings[1].handling_organization_id, w.gov_a.id);
    // Each rated on its own.
    let review = &ratings[1];
    w.owner.ratings().submit_rating(submit(&review.id, satisfied(), score(S::BasicallySatisfied, &[], ""))).await?;
    let after = ratings_of(&w.owner, &case.id).await?;
    assert_eq!(after[0].state(), pb::RatingState::Awaiting);
    assert_eq!(after[1].state(), pb::RatingState::Rated);
    // The reviewing body lists it among its own; the unit does not see it.
    let own = listed(&w.reviewer, pb::ListRatingsRequest { organization_id: w.gov_a.id.clone(), ..Default::default() })
        .await?;
    assert_eq!(own.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [review.id.as_str()]);
    let unit = listed(&w.handler, pb::ListRatingsRequest::default()).await?;
    assert_eq!(unit.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [ratings[0].id.as_str()]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_records_a_phone_rating_but_never_over_the_petitioners_own() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.replied_case("评价-电话回访").await?;
    let rating = rating_of(&w.clerk, &case.id, pb::RatingRound::Reply).await?;
    let clerk = w.clerk.ratings();
    expect_invalid(
        clerk.record_rating(record(&rating.id, satisfied(), satisfied(), pb::RatingChannel::Online)).await,
        &["channel"],
    );
    let fair = score(S::BasicallySatisfied, &[], "电话中表示基本满意");
    let recorded = clerk.record_rating(record(&rating.id, satisfied(), fair.clone(), pb::RatingChannel::Phone)).await?;
    assert_eq!(recorded.channel(), pb::RatingChannel::Phone);
    assert_eq!(recorded.state(), pb::RatingState::Rated);
    let clerk_id = w.clerk.identity().get_me().await?.id;
    assert_eq!(recorded.recorded_by_account_id, clerk_id);
    // The clerk is the actor of the event, and corrects the record.
    use futures::TryStreamExt;
    let events: Vec<pb::RatingEvent> = w.owner.ratings().rating_events(&rating.id).try_collect().await?;
    assert_eq!(events.last().map(|e| e.actor_account_id.as_str()), Some(clerk_id.as_str()));
    let visit =
        clerk.record_rating(record(&rating.id, satisfied(), satisfied(), pb::RatingChannel::ReturnVisit)).await?;
    assert_eq!((visit.channel(), visit.change_count), (pb::RatingChannel::ReturnVisit, 1));
    // The petitioner's own word replaces the record …
    let own = w.owner.ratings().submit_rating(submit(&rating.id, satisfied(), fair.clone())).await?;
    assert_eq!((own.channel(), own.recorded_by_account_id.as_str()), (pb::RatingChannel::Online, ""));
    // … and no clerk records over it.
    let subject = format!("ratings/{}", rating.id);
    expect_precondition(
        clerk.record_rating(record(&rating.id, satisfied(), satisfied(), pb::RatingChannel::Phone)).await,
        "ALREADY_RATED",
        &subject,
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matter_before_a_court_or_an_accusation_is_not_rated() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.accepted_case("评价-诉讼").await?;
    let referral = w.handler.courts().refer_case_to_court(petition_tests::courts_world::refer(&case, &w.court)).await?;
    assert_eq!(referral.state(), pb::CourtReferralState::Referred);
    w.handler
        .cases()
        .reply_to_case(pb::ReplyToCaseRequest {
            case_id: case.id.clone(),
            opinion: Some(opinion()),
            ..Default::default()
        })
        .await?;
    assert!(ratings_of(&w.owner, &case.id).await?.is_empty(), "no rating while the court has the matter");

    // An accusation is the discipline channel's (Art.30): its reply opens
    // no rating either (a rating would show the accuser to the county).
    let mut draft = claim("评价-检举");
    draft.kind = pb::CaseKind::Accusation.into();
    draft.category_code = "discipline".into();
    let accusation = w.submit(draft).await?;
    w.clerk
        .cases()
        .forward_case(pb::ForwardCaseRequest {
            case_id: accusation.id.clone(),
            organization_id: w.discipline.id.clone(),
            ..Default::default()
        })
        .await?;
    let d = w.discipline_handler.cases();
    d.accept_case(pb::AcceptCaseRequest { case_id: accusation.id.clone(), ..Default::default() }).await?;
    let replied = d
        .reply_to_case(pb::ReplyToCaseRequest {
            case_id: accusation.id.clone(),
            opinion: Some(opinion()),
            ..Default::default()
        })
        .await?;
    assert_eq!(replied.state(), pb::CaseState::Replied);
    assert!(ratings_of(&w.owner, &accusation.id).await?.is_empty(), "an accusation is not rated here");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_every_kind_of_rating() -> Result<()> {
    let server = TestServer::spawn().await?;
    petition_server::seed::run(&server.state).await?;
    let admin = server.admin().await?;
    let all = listed(&admin, pb::ListRatingsRequest::default()).await?;
    let states: std::collections::BTreeSet<i32> = all.iter().map(|r| r.state).collect();
    for state in [pb::RatingState::Awaiting, pb::RatingState::Rated, pb::RatingState::NotRated] {
        assert!(states.contains(&(state as i32)), "{state:?} in {all:?}");
    }
    let has = |f: &dyn Fn(&pb::Rating) -> bool| all.iter().any(f);
    assert!(has(&|r| r.channel() == pb::RatingChannel::Phone));
    assert!(has(&|r| r.round() == pb::RatingRound::Review && r.state() == pb::RatingState::Rated));
    assert!(has(&|r| r
        .handling
        .as_ref()
        .is_some_and(|h| h.satisfaction() == S::Dissatisfied && !h.reasons.is_empty())));
    assert!(has(&|r| r.handling.as_ref().is_some_and(|h| h.satisfaction() == S::BasicallySatisfied)));
    assert!(has(&|r| r.handling.as_ref().is_some_and(|h| h.satisfaction() == S::Satisfied)));
    // The demo petitioner sees their own.
    let liu = server.client().await?.new_session();
    liu.login("13807970001", petition_server::seed::DEMO_PASSWORD).await?;
    let own = listed(&liu, pb::ListRatingsRequest { mine: true, ..Default::default() }).await?;
    assert_eq!(own.len(), all.len(), "every demo rating is 刘群众's");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ratings_example_rates_a_reply_on_the_demo() -> Result<()> {
    let server = TestServer::spawn().await?;
    petition_server::seed::run(&server.state).await?;
    let stdout = crate::support::run_example("ratings", &server.url).await?;
    assert!(stdout.contains("rating Reply Awaiting"), "{stdout}");
    assert!(stdout.contains("changed: handling Some(BasicallySatisfied) (1 change)"), "{stdout}");
    assert!(stdout.contains("recorded by phone"), "{stdout}");
    assert!(stdout.contains("Amended"), "{stdout}");
    Ok(())
}
