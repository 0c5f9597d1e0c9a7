//! `petition.v1.RatingService`: the petitioner's ratings of served
//! opinions, and clerks' records of ratings given offline.
//!
//! Writes go through the command pipeline (`commands.rs` holds the policy
//! lines); ratings are opened by the case transitions that serve opinions
//! (`aggregate::open_for_opinions`), never by a call here.

use std::sync::Arc;

use diesel::PgConnection;
use petition_proto::v1 as pb;
use petition_proto::v1::rating_service_server::RatingService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::aggregate::{self, Rating};
use super::commands::{Act, Parse, RatingRequest};
use super::domain::{RatingRound, RatingState, Satisfaction};
use super::model::RatingRow;
use super::store::{self, RatingFilter, RatingVisibility};
use super::view;
use crate::auth::policy::{self, RatingAction};
use crate::auth::{Principal, require_principal};
use crate::convert::{enum_values, optional_id_checked, parse_id};
use crate::directory::store as directory_store;
use crate::error::{AppError, require_valid};
use crate::event_log;
use crate::pagination::{finish_page, page_size};
use crate::pipeline::{self, Envelope};
use crate::state::AppState;
use crate::time::shanghai_today;

pub struct RatingApi {
    state: Arc<AppState>,
}

impl RatingApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// The wire form of `row` today.
fn message(row: &RatingRow) -> pb::Rating {
    view::rating_message(row, shanghai_today())
}

impl RatingApi {
    /// A rating write: the request parsed into its command, run by the
    /// pipeline, answered with the rating.
    async fn transition<R>(&self, request: Request<R>) -> Result<pb::Rating, Status>
    where
        R: RatingRequest,
        Act: Parse<R>,
    {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, R::METHOD, req.request_id(), &req)?;
        let id = parse_id("rating_id", req.rating_id())?;
        let etag = req.etag().to_owned();
        let command = Act::parse(req)?;
        let rating = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let (saved, _) = pipeline::transition::<Rating, Act>(conn, journal, principal, id, &etag, command)?;
            Ok(message(&saved.row))
        })
        .await?;
        Ok(rating)
    }

    /// Reads rating `id` for `principal`: NOT_FOUND unless they may see it.
    async fn readable<T, F>(&self, principal: Principal, id: Uuid, then: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection, Rating) -> Result<T, AppError> + Send + 'static,
    {
        self.state
            .db
            .read(move |conn| {
                let rating = Rating::find(conn, id)?;
                policy::authorize_rating(&principal, RatingAction::Read, &aggregate::access(&rating.row))?;
                then(conn, rating)
            })
            .await
    }
}

#[tonic::async_trait]
impl RatingService for RatingApi {
    async fn get_rating(
        &self,
        request: Request<pb::GetRatingRequest>,
    ) -> Result<Response<pb::GetRatingResponse>, Status> {
        let principal = require_principal(&request)?;
        let id = parse_id("rating_id", &request.get_ref().rating_id)?;
        let rating = self.readable(principal, id, |_, rating| Ok(message(&rating.row))).await?;
        Ok(Response::new(pb::GetRatingResponse { rating: Some(rating) }))
    }

    async fn list_ratings(
        &self,
        request: Request<pb::ListRatingsRequest>,
    ) -> Result<Response<pb::ListRatingsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let mut v = Vec::new();
        let case_id = optional_id_checked("case_id", &req.case_id, &mut v);
        let organization_id = optional_id_checked("organization_id", &req.organization_id, &mut v);
        let rounds = enum_values("rounds", &req.rounds, RatingRound::from_i32, &mut v);
        let states = enum_values("states", &req.states, RatingState::from_i32, &mut v);
        let handling =
            enum_values("handling_satisfactions", &req.handling_satisfactions, Satisfaction::from_i32, &mut v);
        let acceptance =
            enum_values("acceptance_satisfactions", &req.acceptance_satisfactions, Satisfaction::from_i32, &mut v);
        require_valid(v)?;
        let mut filter = RatingFilter {
            case_id,
            organization_id,
            region_root: None,
            rounds: rounds.iter().map(|r| r.as_i16()).collect(),
            awaiting: states.contains(&RatingState::Awaiting),
            rated: states.contains(&RatingState::Rated),
            not_rated: states.contains(&RatingState::NotRated),
            handling: handling.iter().map(|s| s.as_i16()).collect(),
            acceptance: acceptance.iter().map(|s| s.as_i16()).collect(),
            petitioner_id: req.mine.then_some(principal.account_id),
        };
        // The same filter on the same day pages alike; another day's states
        // differ, so the day is part of the scope.
        let today = shanghai_today();
        let scope = format!(
            "ratings:{case_id:?}:{organization_id:?}:{}:{:?}:{:?}:{:?}:{:?}:{}:{}:{today}",
            req.region_code, filter.rounds, states, filter.handling, filter.acceptance, req.mine, principal.account_id
        );
        let before: Option<Uuid> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (ratings, next) = self
            .state
            .db
            .read(move |conn| {
                if !req.region_code.is_empty() {
                    filter.region_root = Some(
                        directory_store::find_region(conn, &req.region_code)?
                            .ok_or_else(|| AppError::invalid("region_code", "no such region"))?
                            .path,
                    );
                }
                let visibility = RatingVisibility::of(&principal);
                let rows = store::list_ratings(conn, &visibility, &filter, today, before, limit + 1)?;
                let (rows, cursor) = finish_page(rows, limit, |r| r.id);
                let ratings = rows.iter().map(|row| view::rating_message(row, today)).collect();
                Ok((ratings, state.pages.next_token(&scope, cursor)?))
            })
            .await?;
        Ok(Response::new(pb::ListRatingsResponse { ratings, next_page_token: next }))
    }

    async fn list_rating_events(
        &self,
        request: Request<pb::ListRatingEventsRequest>,
    ) -> Result<Response<pb::ListRatingEventsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let id = parse_id("rating_id", &req.rating_id)?;
        let limit = page_size(req.page_size)?;
        let scope = format!("rating-events:{id}");
        let after: Option<i32> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (events, next) = self
            .readable(principal, id, move |conn, _| {
                event_log::timeline_page(conn, &state.pages, &scope, id, after, limit, |row| {
                    event_log::parse_event(row).map(|event| view::event_message(row, &event))
                })
            })
            .await?;
        Ok(Response::new(pb::ListRatingEventsResponse { events, next_page_token: next }))
    }

    async fn submit_rating(
        &self,
        request: Request<pb::SubmitRatingRequest>,
    ) -> Result<Response<pb::SubmitRatingResponse>, Status> {
        let rating = self.transition(request).await?;
        Ok(Response::new(pb::SubmitRatingResponse { rating: Some(rating) }))
    }

    async fn record_rating(
        &self,
        request: Request<pb::RecordRatingRequest>,
    ) -> Result<Response<pb::RecordRatingResponse>, Status> {
        let rating = self.transition(request).await?;
        Ok(Response::new(pb::RecordRatingResponse { rating: Some(rating) }))
    }
}
