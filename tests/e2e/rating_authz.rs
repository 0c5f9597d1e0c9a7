//! Ratings' authorization matrix: every RatingService RPC denied to whoever
//! may not call it (NOT_FOUND when they may not see the rating,
//! PERMISSION_DENIED when they see it but may not act); a unit sees only
//! its own ratings, a county clerk only its subtree, the petitioner only
//! their own; the change feed carries each rating event only to those who
//! may see the rating.

use anyhow::Result;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::courts_world::all_changes;
use petition_tests::ratings_world::*;
use petition_tests::*;

use crate::support::{eventually, expect_error};

fn reason(code: Code) -> &'static str {
    match code {
        Code::NotFound => "NOT_FOUND",
        Code::PermissionDenied => "PERMISSION_DENIED",
        _ => "",
    }
}

fn events(id: &str) -> pb::ListRatingEventsRequest {
    pb::ListRatingEventsRequest { rating_id: id.into(), ..Default::default() }
}

/// The ids `who` lists with `filter`.
async fn ids(who: &Client, filter: pb::ListRatingsRequest) -> Result<Vec<String>> {
    Ok(listed(who, filter).await?.into_iter().map(|r| r.id).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rating_rpc_is_denied_to_who_may_not_call_it() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.replied_case("评价-权限").await?;
    let id = rating_of(&w.owner, &case.id, pb::RatingRound::Reply).await?.id;
    // County B's own rated case: its unit and clerk see it, county A's do not.
    let case_b = {
        let mut draft = claim("评价-乙县");
        draft.region_code = w.dir.county_b.code.clone();
        let filed = w.submit(draft).await?;
        let routed = w
            .clerk_b
            .cases()
            .forward_case(pb::ForwardCaseRequest {
                case_id: filed.id,
                organization_id: w.dir.unit_b.id.clone(),
                ..Default::default()
            })
            .await?;
        w.handler_b
            .cases()
            .accept_case(pb::AcceptCaseRequest { case_id: routed.id.clone(), ..Default::default() })
            .await?;
        w.handler_b
            .cases()
            .reply_to_case(pb::ReplyToCaseRequest {
                case_id: routed.id,
                opinion: Some(opinion()),
                ..Default::default()
            })
            .await?
    };
    let id_b = rating_of(&w.owner, &case_b.id, pb::RatingRound::Reply).await?.id;

    // Reads: the petitioner, the rated unit (handler, lead), the bureau's
    // clerk, the city's leader and supervisor, the admin.
    let seers = [&w.owner, &w.handler, &w.unit_lead, &w.clerk, &w.leader, &w.supervisor, &w.admin];
    for seer in seers {
        assert_eq!(seer.ratings().get_rating(&id).await?.id, id);
        assert_eq!(seer.ratings().list_rating_events(events(&id)).await?.events.len(), 1);
        assert!(ids(seer, pb::ListRatingsRequest::default()).await?.contains(&id));
    }
    // Strangers: another citizen, county B's clerk and unit, a unit that
    // is not rated, the court's partner: NOT_FOUND, and never listed.
    let strangers = [&w.other_citizen, &w.clerk_b, &w.handler_b, &w.discipline_handler, &w.partner];
    for stranger in strangers {
        expect_error(stranger.ratings().get_rating(&id).await, Code::NotFound, Some("NOT_FOUND"));
        expect_error(stranger.ratings().list_rating_events(events(&id)).await, Code::NotFound, Some("NOT_FOUND"));
        assert!(!ids(stranger, pb::ListRatingsRequest::default()).await?.contains(&id));
    }

    // Lists: a unit its own, a county clerk its subtree, the petitioner
    // their own; the city sees both counties.
    assert_eq!(ids(&w.handler, pb::ListRatingsRequest::default()).await?, [id.as_str()]);
    assert_eq!(ids(&w.handler_b, pb::ListRatingsRequest::default()).await?, [id_b.as_str()]);
    assert_eq!(ids(&w.clerk, pb::ListRatingsRequest::default()).await?, [id.as_str()]);
    assert_eq!(ids(&w.clerk_b, pb::ListRatingsRequest::default()).await?, [id_b.as_str()]);
    assert_eq!(ids(&w.supervisor, pb::ListRatingsRequest::default()).await?, [id_b.as_str(), id.as_str()]);
    let county_b = pb::ListRatingsRequest { region_code: w.dir.county_b.code.clone(), ..Default::default() };
    assert!(ids(&w.clerk, county_b.clone()).await?.is_empty(), "a filter never widens what one sees");
    assert_eq!(ids(&w.supervisor, county_b).await?, [id_b.as_str()]);
    assert_eq!(
        ids(&w.owner, pb::ListRatingsRequest { mine: true, ..Default::default() }).await?,
        [id_b.as_str(), id.as_str()]
    );
    assert!(ids(&w.other_citizen, pb::ListRatingsRequest::default()).await?.is_empty());
    assert!(ids(&w.partner, pb::ListRatingsRequest::default()).await?.is_empty());
    let unit_b = pb::ListRatingsRequest { organization_id: w.dir.unit_b.id.clone(), ..Default::default() };
    assert!(ids(&w.handler, unit_b).await?.is_empty());

    // SubmitRating: the petitioner only.
    for (who, code) in [
        (&w.handler, Code::PermissionDenied),
        (&w.clerk, Code::PermissionDenied),
        (&w.supervisor, Code::PermissionDenied),
        (&w.admin, Code::PermissionDenied),
        (&w.other_citizen, Code::NotFound),
        (&w.clerk_b, Code::NotFound),
        (&w.partner, Code::NotFound),
    ] {
        expect_error(
            who.ratings().submit_rating(submit(&id, satisfied(), satisfied())).await,
            code,
            Some(reason(code)),
        );
    }
    // RecordRating: a clerk of the case's jurisdiction only.
    for (who, code) in [
        (&w.owner, Code::PermissionDenied),
        (&w.handler, Code::PermissionDenied),
        (&w.leader, Code::PermissionDenied),
        (&w.admin, Code::PermissionDenied),
        (&w.clerk_b, Code::NotFound),
        (&w.handler_b, Code::NotFound),
        (&w.partner, Code::NotFound),
    ] {
        let request = record(&id, satisfied(), satisfied(), pb::RatingChannel::Phone);
        expect_error(who.ratings().record_rating(request).await, code, Some(reason(code)));
    }
    w.clerk.ratings().record_rating(record(&id, satisfied(), satisfied(), pb::RatingChannel::Phone)).await?;
    w.owner.ratings().submit_rating(submit(&id, satisfied(), satisfied())).await?;

    // The feed: each rating event to those who may see the rating only.
    let rating_events = |changes: Vec<pb::Change>, of: &str| -> Vec<i32> {
        changes
            .into_iter()
            .filter(|c| c.aggregate_id == of)
            .inspect(|c| assert_eq!(c.aggregate_type(), pb::AggregateType::Rating))
            .filter_map(|c| match c.event {
                Some(pb::change::Event::RatingEvent(e)) => {
                    crate::support::assert_typed_rating_event(&e);
                    Some(e.r#type)
                }
                _ => None,
            })
            .collect()
    };
    use pb::RatingEventType as T;
    let expected: Vec<i32> = [T::Opened, T::Rated, T::Amended].into_iter().map(|t| t as i32).collect();
    for seer in [&w.owner, &w.handler, &w.clerk, &w.supervisor, &w.admin] {
        let seen = eventually(|| async { Ok(rating_events(all_changes(seer).await?, &id)) }, |s| s.len() == 3).await?;
        assert_eq!(seen, expected);
    }
    for stranger in [&w.other_citizen, &w.clerk_b, &w.handler_b, &w.partner] {
        assert!(rating_events(all_changes(stranger).await?, &id).is_empty());
    }
    // County B's unit sees its own rating's opening, and a filter on the
    // rating event types narrows to them.
    let only_opened = pb::ChangeFilter {
        rating_event_types: vec![T::Opened as i32],
        aggregate_types: vec![pb::AggregateType::Rating as i32],
        ..Default::default()
    };
    let page = w
        .handler_b
        .feed()
        .list_changes(pb::ListChangesRequest { filter: Some(only_opened), ..Default::default() })
        .await?;
    assert_eq!(page.changes.iter().map(|c| c.aggregate_id.as_str()).collect::<Vec<_>>(), [id_b.as_str()]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_show_exactly_the_ratings_get_shows_to_everyone() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    // A reply of unit A; a reply of unit A reviewed by gov A (two ratings).
    let replied = w.replied_case("评价-一致-答复").await?;
    let reviewed = w.reviewed_case("评价-一致-复查").await?;
    let mut all = ratings_of(&w.admin, &replied.id).await?;
    all.extend(ratings_of(&w.admin, &reviewed.id).await?);
    assert_eq!(all.len(), 3);
    let everyone = [
        ("owner", &w.owner),
        ("other citizen", &w.other_citizen),
        ("clerk", &w.clerk),
        ("clerk B", &w.clerk_b),
        ("handler", &w.handler),
        ("handler B", &w.handler_b),
        ("unit lead", &w.unit_lead),
        ("reviewer", &w.reviewer),
        ("rechecker", &w.rechecker),
        ("leader", &w.leader),
        ("supervisor", &w.supervisor),
        ("discipline", &w.discipline_handler),
        ("partner", &w.partner),
        ("admin", &w.admin),
    ];
    for (who, client) in everyone {
        let listed = ids(client, pb::ListRatingsRequest::default()).await?;
        for rating in &all {
            let got = client.ratings().get_rating(&rating.id).await.is_ok();
            assert_eq!(listed.contains(&rating.id), got, "{who}: {:?} of {}", rating.round(), rating.case_number);
        }
    }
    // The reviewing body's leader sees the review's rating (its own) and,
    // as a leader of the county, the replies' too.
    assert_eq!(ids(&w.reviewer, pb::ListRatingsRequest::default()).await?.len(), 3);
    let own = pb::ListRatingsRequest { organization_id: w.gov_a.id.clone(), ..Default::default() };
    let review = all.iter().find(|r| r.round() == pb::RatingRound::Review).map(|r| r.id.clone());
    assert_eq!(ids(&w.reviewer, own).await?, review.into_iter().collect::<Vec<_>>());
    Ok(())
}
