//! `petition.v1.ChangeFeedService`: pages of the feed and a live watch.
//!
//! What a reader sees is decided per event by the policy `GetCase` uses
//! (`policy::can_see_case_event`), on the aggregate as it is when the event
//! is read; there is no second copy of the rule in SQL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use petition_proto::v1 as pb;
use petition_proto::v1::change_feed_service_server::ChangeFeedService;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::store::{
    self, BacklogFacts, CourtReferralFacts, DisputeFacts, FeedRow, LegalAidFacts, Page, RatingFacts, ReceptionFacts,
    SupervisionFacts,
};
use crate::auth::policy::{self, CaseAccess, DisputeAccess, LegalAidAccess, Membership, path_within};
use crate::auth::tokens::VerifiedToken;
use crate::auth::{Principal, require_principal};
use crate::cases::rules::Event;
use crate::cases::store::Visibility;
use crate::cases::view::{self, Viewer};
use crate::convert::timestamp;
use crate::directory::store as directory_store;
use crate::error::AppError;
use crate::event_log::{AggregateType, EventRow};
use crate::legal_aid::view as legal_aid_view;
use crate::mediation::store as mediation_store;
use crate::mediation::view as mediation_view;
use crate::state::AppState;

/// Default and largest ListChanges page.
const DEFAULT_PAGE: i64 = 500;
const MAX_PAGE: i64 = 5_000;
/// Events a watch reads at a time while catching up.
const WATCH_BATCH: i64 = 1_000;
/// How soon a watch looks again when this server committed events that are
/// not readable yet (an older transaction is still running).
const PENDING_RETRY: Duration = Duration::from_millis(2);

pub struct FeedApi {
    state: Arc<AppState>,
}

impl FeedApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// A validated filter.
#[derive(Debug, Clone, Default)]
struct Filter {
    aggregate_types: Vec<AggregateType>,
    case_event_types: Vec<i16>,
    dispute_event_types: Vec<i16>,
    legal_aid_event_types: Vec<i16>,
    backlog_case_event_types: Vec<i16>,
    court_referral_event_types: Vec<i16>,
    rating_event_types: Vec<i16>,
    supervision_event_types: Vec<i16>,
    reception_booking_event_types: Vec<i16>,
    /// The region subtree's root path.
    region_root: Option<String>,
}

/// One reader: who reads, through which filter.
struct Reader {
    principal: Principal,
    viewer: Viewer,
    /// The reader's mediation teams, as read when the reader started.
    memberships: Vec<Membership>,
    filter: Filter,
}

impl Reader {
    /// The changes of `rows` this reader may see and asked for, and the
    /// position to resume after.
    fn changes(&self, page: Page, after: i64) -> Result<(Vec<pb::Change>, i64), AppError> {
        let next = page.rows.last().map(|r| r.event.position()).unwrap_or(page.readable_through).max(after);
        let mut changes = Vec::new();
        for row in page.rows {
            if let Some(change) = self.change(row)? {
                changes.push(change);
            }
        }
        Ok((changes, next))
    }

    fn change(&self, row: FeedRow) -> Result<Option<pb::Change>, AppError> {
        let FeedRow { event, case, dispute, legal_aid, court_referral, rating, supervision, backlog, reception } = row;
        let Some(aggregate_type) = AggregateType::from_i32(i32::from(event.aggregate_type)) else {
            return Ok(None);
        };
        if !self.filter.aggregate_types.is_empty() && !self.filter.aggregate_types.contains(&aggregate_type) {
            return Ok(None);
        }
        match aggregate_type {
            AggregateType::Case => self.case_change(event, case),
            AggregateType::Dispute => self.dispute_change(event, dispute),
            AggregateType::LegalAidApplication => self.legal_aid_change(event, legal_aid),
            AggregateType::CourtReferral => self.court_referral_change(event, court_referral),
            AggregateType::Rating => self.rating_change(event, rating),
            AggregateType::Supervision => self.supervision_change(event, supervision),
            AggregateType::BacklogCase => self.backlog_change(event, backlog),
            AggregateType::ReceptionBooking => self.reception_change(event, reception),
        }
    }

    /// A reception booking's event, to those who may get the booking
    /// (`policy::can_see_reception_booking`).
    fn reception_change(&self, row: EventRow, facts: Option<ReceptionFacts>) -> Result<Option<pb::Change>, AppError> {
        let Some(f) = facts else {
            tracing::warn!(booking_id = %row.aggregate_id, "an event of a booking that is not stored; not served");
            return Ok(None);
        };
        let filter = &self.filter;
        if !filter.reception_booking_event_types.is_empty()
            && !filter.reception_booking_event_types.contains(&row.event_type)
        {
            return Ok(None);
        }
        if filter.region_root.as_deref().is_some_and(|root| !policy::path_within(&f.region_path, root)) {
            return Ok(None);
        }
        let access = policy::ReceptionAccess {
            region_path: &f.region_path,
            organization_id: f.organization_id,
            leader_account_id: f.leader_account_id,
            citizen_account_id: f.citizen_account_id,
        };
        if !policy::can_see_reception_booking(&self.principal, &access) {
            return Ok(None);
        }
        let event = crate::event_log::parse_event::<crate::reception::rules::Event>(&row)?;
        Ok(Some(pb::Change {
            position: row.position(),
            aggregate_type: pb::AggregateType::ReceptionBooking as i32,
            aggregate_id: row.aggregate_id.to_string(),
            commit_time: Some(crate::convert::timestamp(row.occurred_at)),
            event: Some(pb::change::Event::ReceptionBookingEvent(crate::reception::view::event_message(&row, &event))),
        }))
    }

    /// A backlog case's event, to those who may get the backlog case
    /// (`policy::can_see_backlog_case`).
    fn backlog_change(&self, row: EventRow, facts: Option<BacklogFacts>) -> Result<Option<pb::Change>, AppError> {
        let Some(f) = facts else {
            tracing::warn!(backlog_case_id = %row.aggregate_id, "an event of a backlog case that is not stored; not served");
            return Ok(None);
        };
        let filter = &self.filter;
        if !filter.backlog_case_event_types.is_empty() && !filter.backlog_case_event_types.contains(&row.event_type) {
            return Ok(None);
        }
        if filter.region_root.as_deref().is_some_and(|root| !path_within(&f.region_path, root)) {
            return Ok(None);
        }
        let access =
            policy::BacklogAccess { region_path: &f.region_path, handling_organization_id: f.handling_organization_id };
        if !policy::can_see_backlog_case(&self.principal, &access) {
            return Ok(None);
        }
        let event = crate::event_log::parse_event::<crate::backlog::rules::Event>(&row)?;
        Ok(Some(pb::Change {
            position: row.position(),
            aggregate_type: pb::AggregateType::BacklogCase as i32,
            aggregate_id: row.aggregate_id.to_string(),
            commit_time: Some(timestamp(row.occurred_at)),
            event: Some(pb::change::Event::BacklogCaseEvent(crate::backlog::view::event_message(&row, &event))),
        }))
    }

    /// A supervision item's event, to those who may get the item
    /// (`policy::can_see_supervision`).
    fn supervision_change(
        &self,
        row: EventRow,
        facts: Option<SupervisionFacts>,
    ) -> Result<Option<pb::Change>, AppError> {
        let Some(f) = facts else {
            tracing::warn!(supervision_id = %row.aggregate_id, "an event of an item that is not stored; not served");
            return Ok(None);
        };
        let filter = &self.filter;
        if !filter.supervision_event_types.is_empty() && !filter.supervision_event_types.contains(&row.event_type) {
            return Ok(None);
        }
        if filter.region_root.as_deref().is_some_and(|root| !path_within(&f.region_path, root)) {
            return Ok(None);
        }
        let access = policy::SupervisionAccess {
            region_path: &f.region_path,
            organization_id: f.organization_id,
            issuer_organization_id: f.issuer_organization_id,
        };
        if !policy::can_see_supervision(&self.principal, &access) {
            return Ok(None);
        }
        let event = crate::event_log::parse_event::<crate::supervision::rules::Event>(&row)?;
        Ok(Some(pb::Change {
            position: row.position(),
            aggregate_type: pb::AggregateType::Supervision as i32,
            aggregate_id: row.aggregate_id.to_string(),
            commit_time: Some(timestamp(row.occurred_at)),
            event: Some(pb::change::Event::SupervisionEvent(crate::supervision::view::event_message(&row, &event))),
        }))
    }

    /// A rating's event, to those who may get the rating
    /// (`policy::can_see_rating`).
    fn rating_change(&self, row: EventRow, facts: Option<RatingFacts>) -> Result<Option<pb::Change>, AppError> {
        let Some(f) = facts else {
            tracing::warn!(rating_id = %row.aggregate_id, "an event of a rating that is not stored; not served");
            return Ok(None);
        };
        let filter = &self.filter;
        if !filter.rating_event_types.is_empty() && !filter.rating_event_types.contains(&row.event_type) {
            return Ok(None);
        }
        if filter.region_root.as_deref().is_some_and(|root| !path_within(&f.region_path, root)) {
            return Ok(None);
        }
        let access = policy::RatingAccess {
            region_path: &f.region_path,
            petitioner_id: f.petitioner_id,
            acceptance_organization_id: f.acceptance_organization_id,
            handling_organization_id: f.handling_organization_id,
        };
        if !policy::can_see_rating(&self.principal, &access) {
            return Ok(None);
        }
        let event = crate::event_log::parse_event::<crate::ratings::rules::Event>(&row)?;
        Ok(Some(pb::Change {
            position: row.position(),
            aggregate_type: pb::AggregateType::Rating as i32,
            aggregate_id: row.aggregate_id.to_string(),
            commit_time: Some(timestamp(row.occurred_at)),
            event: Some(pb::change::Event::RatingEvent(crate::ratings::view::event_message(&row, &event))),
        }))
    }

    // ---- Legal aid --------------------------------------------------

    /// An application's event, to those who may Get the application. A
    /// region filter leaves applications out (they are a centre's, not a
    /// region's).
    fn legal_aid_change(&self, row: EventRow, facts: Option<LegalAidFacts>) -> Result<Option<pb::Change>, AppError> {
        let Some(f) = facts else {
            tracing::warn!(application_id = %row.aggregate_id, "an event of an application that is not stored; not served");
            return Ok(None);
        };
        let filter = &self.filter;
        if !filter.legal_aid_event_types.is_empty() && !filter.legal_aid_event_types.contains(&row.event_type) {
            return Ok(None);
        }
        if filter.region_root.is_some() {
            return Ok(None);
        }
        let access = LegalAidAccess {
            centre_organization_id: f.centre_organization_id,
            bureau_organization_id: f.bureau_organization_id,
            origin_organization_id: f.origin_organization_id,
            applicant_account_id: f.applicant_account_id,
            lawyer_account_id: f.lawyer_account_id,
        };
        if !policy::can_see_legal_aid(&self.principal, &access) {
            return Ok(None);
        }
        let event = crate::event_log::parse_event::<crate::legal_aid::rules::Event>(&row)?;
        Ok(Some(pb::Change {
            position: row.position(),
            aggregate_type: pb::AggregateType::LegalAidApplication as i32,
            aggregate_id: row.aggregate_id.to_string(),
            commit_time: Some(timestamp(row.occurred_at)),
            event: Some(pb::change::Event::LegalAidEvent(legal_aid_view::event_message(&row, &event))),
        }))
    }

    /// Court linkage: a referral's event, to those who may get the referral
    /// (`policy::can_see_court_referral`), its case as it is now.
    fn court_referral_change(
        &self,
        row: EventRow,
        referral: Option<CourtReferralFacts>,
    ) -> Result<Option<pb::Change>, AppError> {
        let Some(r) = referral else {
            tracing::warn!(court_referral_id = %row.aggregate_id, "an event of a court referral that is not stored; not served");
            return Ok(None);
        };
        let filter = &self.filter;
        if !filter.court_referral_event_types.is_empty() && !filter.court_referral_event_types.contains(&row.event_type)
        {
            return Ok(None);
        }
        if filter.region_root.as_deref().is_some_and(|root| !path_within(&r.case.region_path, root)) {
            return Ok(None);
        }
        let access = policy::CourtReferralAccess {
            court_id: r.court_id,
            referring_organization_id: r.referring_organization_id,
            case: CaseAccess {
                region_path: &r.case.region_path,
                petitioner_id: r.case.petitioner_id,
                handling_organization_id: r.case.handling_organization_id,
                reviewing_organization_id: r.case.reviewing_organization_id,
                access_organization_ids: &r.case.access_organization_ids,
            },
        };
        if !policy::can_see_court_referral(&self.principal, &access) {
            return Ok(None);
        }
        let event = crate::event_log::parse_event::<crate::courts::rules::Event>(&row)?;
        Ok(Some(pb::Change {
            position: row.position(),
            aggregate_type: pb::AggregateType::CourtReferral as i32,
            aggregate_id: row.aggregate_id.to_string(),
            commit_time: Some(timestamp(row.occurred_at)),
            event: Some(pb::change::Event::CourtReferralEvent(crate::courts::view::event_message(&row, &event))),
        }))
    }

    fn dispute_change(&self, row: EventRow, dispute: Option<DisputeFacts>) -> Result<Option<pb::Change>, AppError> {
        let Some(d) = dispute else {
            tracing::warn!(dispute_id = %row.aggregate_id, "an event of a dispute that is not stored; not served");
            return Ok(None);
        };
        let filter = &self.filter;
        if !filter.dispute_event_types.is_empty() && !filter.dispute_event_types.contains(&row.event_type) {
            return Ok(None);
        }
        if filter.region_root.as_deref().is_some_and(|root| !path_within(&d.region_path, root)) {
            return Ok(None);
        }
        let access = DisputeAccess {
            region_path: &d.region_path,
            team_id: d.team_id,
            team_ids: &d.team_ids,
            mediator_account_id: d.mediator_account_id,
            party_account_ids: &d.party_account_ids,
            referring_court_id: d.referring_court_id,
            confirmation_court_id: d.confirmation_court_id,
            referring_organization_id: d.referring_organization_id,
        };
        if !policy::can_see_dispute(&self.principal, &self.memberships, &access) {
            return Ok(None);
        }
        let event = crate::event_log::parse_event::<crate::mediation::rules::Event>(&row)?;
        Ok(Some(pb::Change {
            position: row.position(),
            aggregate_type: pb::AggregateType::Dispute as i32,
            aggregate_id: row.aggregate_id.to_string(),
            commit_time: Some(timestamp(row.occurred_at)),
            event: Some(pb::change::Event::DisputeEvent(mediation_view::event_message(&row, &event))),
        }))
    }

    fn case_change(&self, row: EventRow, case: Option<store::CaseFacts>) -> Result<Option<pb::Change>, AppError> {
        let Some(case) = case else {
            tracing::warn!(case_id = %row.aggregate_id, "an event of a case that is not stored; not served");
            return Ok(None);
        };
        let filter = &self.filter;
        if !filter.case_event_types.is_empty() && !filter.case_event_types.contains(&row.event_type) {
            return Ok(None);
        }
        if filter.region_root.as_deref().is_some_and(|root| !path_within(&case.region_path, root)) {
            return Ok(None);
        }
        let access = CaseAccess {
            region_path: &case.region_path,
            petitioner_id: case.petitioner_id,
            handling_organization_id: case.handling_organization_id,
            reviewing_organization_id: case.reviewing_organization_id,
            access_organization_ids: &case.access_organization_ids,
        };
        let sees_case = policy::can_see_case(&self.principal, &access);
        let access_change = row.event_type == pb::CaseEventType::AccessGranted as i16
            || row.event_type == pb::CaseEventType::AccessRevoked as i16;
        if !sees_case && !access_change {
            return Ok(None);
        }
        let event: Event = crate::event_log::parse_event(&row)?;
        let addressed_to = match &event {
            Event::AccessGranted { organization_id, .. } | Event::AccessRevoked { organization_id, .. } => {
                Some(*organization_id)
            }
            _ => None,
        };
        if !policy::can_see_case_event(&self.principal, &access, addressed_to) {
            return Ok(None);
        }
        let sees_content = self.viewer.sees_content_of(case.kind, case.petitioner_id);
        Ok(Some(pb::Change {
            position: row.position(),
            aggregate_type: pb::AggregateType::Case as i32,
            aggregate_id: row.aggregate_id.to_string(),
            commit_time: Some(timestamp(row.occurred_at)),
            event: Some(pb::change::Event::CaseEvent(view::event_message(
                &row,
                &event,
                case.petitioner_id,
                sees_content,
            ))),
        }))
    }
}

impl FeedApi {
    /// The reader `principal` is through `filter`: INVALID_ARGUMENT for a
    /// bad filter, PERMISSION_DENIED for a token that may not read cases.
    async fn reader(&self, principal: Principal, filter: Option<pb::ChangeFilter>) -> Result<Reader, AppError> {
        Visibility::of(&principal)?;
        let filter = filter.unwrap_or_default();
        let aggregate_types = filter
            .aggregate_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                AggregateType::from_i32(*t)
                    .ok_or_else(|| AppError::invalid(format!("filter.aggregate_types[{i}]"), "unknown aggregate type"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let case_event_types = filter
            .case_event_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                pb::CaseEventType::try_from(*t)
                    .ok()
                    .filter(|t| *t != pb::CaseEventType::Unspecified)
                    .map(|t| t as i16)
                    .ok_or_else(|| AppError::invalid(format!("filter.case_event_types[{i}]"), "unknown event type"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let dispute_event_types = filter
            .dispute_event_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                pb::DisputeEventType::try_from(*t)
                    .ok()
                    .filter(|t| *t != pb::DisputeEventType::Unspecified)
                    .map(|t| t as i16)
                    .ok_or_else(|| AppError::invalid(format!("filter.dispute_event_types[{i}]"), "unknown event type"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let legal_aid_event_types = filter
            .legal_aid_event_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                pb::LegalAidEventType::try_from(*t)
                    .ok()
                    .filter(|t| *t != pb::LegalAidEventType::Unspecified)
                    .map(|t| t as i16)
                    .ok_or_else(|| {
                        AppError::invalid(format!("filter.legal_aid_event_types[{i}]"), "unknown event type")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let court_referral_event_types = filter
            .court_referral_event_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                pb::CourtReferralEventType::try_from(*t)
                    .ok()
                    .filter(|t| *t != pb::CourtReferralEventType::Unspecified)
                    .map(|t| t as i16)
                    .ok_or_else(|| {
                        AppError::invalid(format!("filter.court_referral_event_types[{i}]"), "unknown event type")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rating_event_types = filter
            .rating_event_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                pb::RatingEventType::try_from(*t)
                    .ok()
                    .filter(|t| *t != pb::RatingEventType::Unspecified)
                    .map(|t| t as i16)
                    .ok_or_else(|| AppError::invalid(format!("filter.rating_event_types[{i}]"), "unknown event type"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let supervision_event_types = filter
            .supervision_event_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                pb::SupervisionEventType::try_from(*t)
                    .ok()
                    .filter(|t| *t != pb::SupervisionEventType::Unspecified)
                    .map(|t| t as i16)
                    .ok_or_else(|| {
                        AppError::invalid(format!("filter.supervision_event_types[{i}]"), "unknown event type")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let backlog_case_event_types = filter
            .backlog_case_event_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                pb::BacklogCaseEventType::try_from(*t)
                    .ok()
                    .filter(|t| *t != pb::BacklogCaseEventType::Unspecified)
                    .map(|t| t as i16)
                    .ok_or_else(|| {
                        AppError::invalid(format!("filter.backlog_case_event_types[{i}]"), "unknown event type")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let reception_booking_event_types = filter
            .reception_booking_event_types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                pb::ReceptionBookingEventType::try_from(*t)
                    .ok()
                    .filter(|t| *t != pb::ReceptionBookingEventType::Unspecified)
                    .map(|t| t as i16)
                    .ok_or_else(|| {
                        AppError::invalid(format!("filter.reception_booking_event_types[{i}]"), "unknown event type")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let region_code = filter.region_code;
        let state = self.state.clone();
        let (viewer, region_root, principal, memberships) = self
            .state
            .feed_db
            .read(move |conn| {
                let region_root = match region_code.as_str() {
                    "" => None,
                    code => Some(
                        directory_store::find_region(conn, code)?
                            .ok_or_else(|| AppError::invalid("filter.region_code", "no such region"))?
                            .path,
                    ),
                };
                let memberships = mediation_store::memberships_for(conn, &principal)?;
                Ok((Viewer::of(conn, &state.organization_kinds, &principal)?, region_root, principal, memberships))
            })
            .await?;
        Ok(Reader {
            principal,
            viewer,
            memberships,
            filter: Filter {
                aggregate_types,
                case_event_types,
                dispute_event_types,
                legal_aid_event_types,
                region_root,
                court_referral_event_types,
                rating_event_types,
                backlog_case_event_types,
                supervision_event_types,
                reception_booking_event_types,
            },
        })
    }

    /// CURSOR_EXPIRED for a position retention took away; INVALID_ARGUMENT
    /// for one the feed has not reached.
    async fn check_position(&self, after: i64) -> Result<(), AppError> {
        if after < 0 {
            return Err(AppError::invalid("after_position", "must not be negative"));
        }
        let bounds = self.state.feed_db.read(store::bounds).await?;
        if after < bounds.expired_through {
            return Err(AppError::CursorExpired { earliest_position: bounds.expired_through });
        }
        if after >= bounds.next {
            return Err(AppError::invalid("after_position", "is past every event: use a position the feed gave"));
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl ChangeFeedService for FeedApi {
    async fn list_changes(
        &self,
        request: Request<pb::ListChangesRequest>,
    ) -> Result<Response<pb::ListChangesResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let limit = match req.page_size {
            n if n < 0 => return Err(AppError::invalid("page_size", "must not be negative").into()),
            0 => DEFAULT_PAGE,
            n => i64::from(n).min(MAX_PAGE),
        };
        let reader = self.reader(principal, req.filter).await?;
        let after = req.after_position;
        self.check_position(after).await?;
        let response = self
            .state
            .feed_db
            .read(move |conn| {
                let page = store::page(conn, after, limit)?;
                let caught_up = (page.rows.len() as i64) < limit;
                let (changes, next_position) = reader.changes(page, after)?;
                Ok(pb::ListChangesResponse { changes, next_position, caught_up })
            })
            .await?;
        Ok(Response::new(response))
    }

    type WatchChangesStream = ReceiverStream<Result<pb::WatchChangesResponse, Status>>;

    async fn watch_changes(
        &self,
        request: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let principal = require_principal(&request)?;
        let token = request.extensions().get::<VerifiedToken>().cloned();
        let req = request.into_inner();
        let reader = self.reader(principal, req.filter).await?;
        self.check_position(req.after_position).await?;
        // Two batches in flight: the next page is read while one is sent.
        let (sender, receiver) = mpsc::channel(2);
        tokio::spawn(follow(self.state.clone(), reader, token, req.after_position, sender));
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}

type Sender = mpsc::Sender<Result<pb::WatchChangesResponse, Status>>;

/// Serves one watch until the client goes away, a read fails (the client
/// resumes from the last position it received) or its token is revoked.
async fn follow(state: Arc<AppState>, reader: Reader, token: Option<VerifiedToken>, mut position: i64, sender: Sender) {
    let reader = Arc::new(reader);
    let mut commits = state.feed.subscribe();
    let closing = state.feed.closing();
    tokio::pin!(closing);
    let bookmark_every = Duration::from_secs(state.feed_config.bookmark_secs.max(1));
    let poll_every = Duration::from_millis(state.feed_config.poll_ms.max(1));
    let mut last_sent = Instant::now();
    loop {
        if let Some(token) = &token
            && let Err(revoked) = state.revocations.check(token)
        {
            let _ = sender.send(Err(revoked.into())).await;
            return;
        }
        let newest_local = *commits.borrow_and_update();
        let read = {
            let reader = reader.clone();
            state
                .feed_db
                .read(move |conn| {
                    let page = store::page(conn, position, WATCH_BATCH)?;
                    let full = page.rows.len() as i64 == WATCH_BATCH;
                    let readable_through = page.readable_through;
                    let (changes, next) = reader.changes(page, position)?;
                    Ok((changes, next, full, readable_through))
                })
                .await
        };
        let (changes, next, full, readable_through) = match read {
            Ok(read) => read,
            Err(e) => {
                let _ = sender.send(Err(e.into())).await;
                return;
            }
        };
        position = next;
        if !changes.is_empty() {
            if sender.send(Ok(pb::WatchChangesResponse { changes, position })).await.is_err() {
                return;
            }
            last_sent = Instant::now();
        }
        if full {
            continue;
        }
        if last_sent.elapsed() >= bookmark_every {
            if sender.send(Ok(pb::WatchChangesResponse { changes: Vec::new(), position })).await.is_err() {
                return;
            }
            last_sent = Instant::now();
        }
        // This server committed events an older transaction still holds back.
        let horizon_xid = crate::event_log::split(readable_through.saturating_add(1)).0;
        if newest_local >= horizon_xid {
            tokio::time::sleep(PENDING_RETRY).await;
            continue;
        }
        let bookmark_due = tokio::time::Instant::from_std(last_sent + bookmark_every);
        tokio::select! {
            _ = commits.changed() => {}
            () = tokio::time::sleep(poll_every) => {}
            () = tokio::time::sleep_until(bookmark_due) => {}
            () = sender.closed() => return,
            // The stream ends; the client resumes after its last position.
            () = &mut closing => return,
        }
    }
}
