//! The feed's queries: its bounds, pages of events in position order with
//! what the policy needs to know about each event's aggregate, retention.
//!
//! Why a reader never misses an event: a page holds only events of
//! transactions below the horizon, the xmin of the statement's own snapshot
//! (`feed_horizon()`). Every transaction below xmin has ended, so each of
//! them is either in that snapshot or rolled back: nothing can still appear
//! below the page's last position, nor below the horizon when the page is
//! empty. Transactions at or above the horizon are read by a later page,
//! once everything older has ended.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Int2, Int4, Jsonb, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use crate::error::AppError;
use crate::event_log::{self, EventRow};

/// Where the feed stands, as one snapshot sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Every event at or below it is readable.
    pub readable_through: i64,
    /// Every event from now on lies above it.
    pub next: i64,
    /// The newest position retention took out of the feed (0: none).
    pub expired_through: i64,
}

#[derive(QueryableByName)]
struct BoundsRow {
    #[diesel(sql_type = BigInt)]
    horizon: i64,
    #[diesel(sql_type = BigInt)]
    next_xid: i64,
    #[diesel(sql_type = BigInt)]
    expired_through: i64,
}

pub fn bounds(conn: &mut PgConnection) -> Result<Bounds, AppError> {
    let row: BoundsRow = diesel::sql_query(
        "SELECT feed_horizon() AS horizon,
                pg_snapshot_xmax(pg_current_snapshot())::text::bigint + xid_offset AS next_xid,
                expired_through
         FROM feed_state",
    )
    .get_result(conn)?;
    Ok(Bounds {
        readable_through: event_log::position_below(row.horizon),
        next: event_log::position(row.next_xid, 0),
        expired_through: row.expired_through,
    })
}

/// The position a list read after this call is consistent with: every
/// event at or below it is visible to any later snapshot.
pub fn horizon_position(conn: &mut PgConnection) -> Result<i64, AppError> {
    #[derive(QueryableByName)]
    struct Horizon {
        #[diesel(sql_type = BigInt)]
        horizon: i64,
    }
    let row: Horizon = diesel::sql_query("SELECT feed_horizon() AS horizon").get_result(conn)?;
    Ok(event_log::position_below(row.horizon))
}

/// What the policy needs about the case an event belongs to.
#[derive(Debug, Clone)]
pub struct CaseFacts {
    pub kind: i16,
    pub region_path: String,
    pub petitioner_id: Uuid,
    pub handling_organization_id: Option<Uuid>,
    pub reviewing_organization_id: Option<Uuid>,
    pub access_organization_ids: Vec<Uuid>,
}

/// What the policy needs about the dispute an event belongs to.
#[derive(Debug, Clone)]
pub struct DisputeFacts {
    pub region_path: String,
    pub team_id: Uuid,
    pub team_ids: Vec<Uuid>,
    pub mediator_account_id: Option<Uuid>,
    pub party_account_ids: Vec<Uuid>,
    pub referring_court_id: Option<Uuid>,
    pub confirmation_court_id: Option<Uuid>,
    pub referring_organization_id: Option<Uuid>,
}

/// What the policy needs about the legal-aid application an event belongs
/// to (issue 18).
#[derive(Debug, Clone)]
pub struct LegalAidFacts {
    pub centre_organization_id: Uuid,
    pub bureau_organization_id: Option<Uuid>,
    pub origin_organization_id: Option<Uuid>,
    pub applicant_account_id: Option<Uuid>,
    pub lawyer_account_id: Option<Uuid>,
}

/// An event and its aggregate's facts (`None`: the aggregate is gone, or
/// is of the other type).
pub struct FeedRow {
    pub event: EventRow,
    pub case: Option<CaseFacts>,
    pub dispute: Option<DisputeFacts>,
    pub legal_aid: Option<LegalAidFacts>,
    pub court_referral: Option<CourtReferralFacts>,
    pub rating: Option<RatingFacts>,
    pub supervision: Option<SupervisionFacts>,
    pub backlog: Option<BacklogFacts>,
    pub reception: Option<ReceptionFacts>,
}

/// What the policy needs of a reception booking's event (fixed when booked).
#[derive(Debug, Clone)]
pub struct ReceptionFacts {
    pub region_path: String,
    pub organization_id: Uuid,
    pub leader_account_id: Uuid,
    pub citizen_account_id: Uuid,
}

/// What the policy needs of a backlog case's event: its case's region and
/// current handling organization.
#[derive(Debug, Clone)]
pub struct BacklogFacts {
    pub region_path: String,
    pub handling_organization_id: Option<Uuid>,
}

/// What the policy needs of a supervision item's event (fixed at issue).
#[derive(Debug, Clone)]
pub struct SupervisionFacts {
    pub region_path: String,
    pub organization_id: Uuid,
    pub issuer_organization_id: Uuid,
}

/// What the policy needs of a rating's event (fixed when it opened).
#[derive(Debug, Clone)]
pub struct RatingFacts {
    pub region_path: String,
    pub petitioner_id: Uuid,
    pub acceptance_organization_id: Option<Uuid>,
    pub handling_organization_id: Uuid,
}

/// Court linkage: what the policy needs of a court referral's event (the
/// referral's court and referring organization, and its case as it is).
#[derive(Debug, Clone)]
pub struct CourtReferralFacts {
    pub court_id: Uuid,
    pub referring_organization_id: Option<Uuid>,
    pub case: CaseFacts,
}

/// A page of the feed.
pub struct Page {
    /// In position order.
    pub rows: Vec<FeedRow>,
    /// Every event at or below it was readable when the page was read.
    pub readable_through: i64,
}

#[derive(QueryableByName)]
struct PageRow {
    #[diesel(sql_type = BigInt)]
    horizon: i64,
    #[diesel(sql_type = Nullable<SmallInt>)]
    aggregate_type: Option<i16>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    aggregate_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Int4>)]
    sequence: Option<i32>,
    #[diesel(sql_type = Nullable<Int2>)]
    event_type: Option<i16>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    actor_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    occurred_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Int2>)]
    state: Option<i16>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    payload: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<BigInt>)]
    xid: Option<i64>,
    #[diesel(sql_type = Nullable<Int2>)]
    idx: Option<i16>,
    #[diesel(sql_type = Nullable<SmallInt>)]
    kind: Option<i16>,
    #[diesel(sql_type = Nullable<Text>)]
    region_path: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    petitioner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    handling_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    reviewing_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Array<Nullable<SqlUuid>>>)]
    access_organization_ids: Option<Vec<Option<Uuid>>>,
    #[diesel(sql_type = Nullable<Text>)]
    d_region_path: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    d_team_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Array<Nullable<SqlUuid>>>)]
    d_team_ids: Option<Vec<Option<Uuid>>>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    d_mediator_account_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Array<Nullable<SqlUuid>>>)]
    d_party_account_ids: Option<Vec<Option<Uuid>>>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    d_referring_court_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    d_confirmation_court_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    d_referring_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    la_centre_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    la_bureau_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    la_origin_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    la_applicant_account_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    la_lawyer_account_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    r_court_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    r_referring_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SmallInt>)]
    r_kind: Option<i16>,
    #[diesel(sql_type = Nullable<Text>)]
    r_region_path: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    r_petitioner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    r_handling_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    r_reviewing_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Array<Nullable<SqlUuid>>>)]
    r_access_organization_ids: Option<Vec<Option<Uuid>>>,
    #[diesel(sql_type = Nullable<Text>)]
    rt_region_path: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    rt_petitioner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    rt_acceptance_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    rt_handling_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    sv_region_path: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    sv_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    sv_issuer_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    bl_region_path: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    bl_handling_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    rb_region_path: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    rb_organization_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    rb_leader_account_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    rb_citizen_account_id: Option<Uuid>,
}

/// The `(xid, idx)` to read after, with `idx` in the column's range: a
/// position past a transaction's last possible event is the position
/// before the next transaction's first.
pub(crate) fn after_key(position: i64) -> (i64, i16) {
    let (xid, idx) = event_log::split(position);
    match i16::try_from(idx) {
        Ok(idx) => (xid, idx),
        Err(_) => (xid + 1, -1),
    }
}

/// Up to `limit` events after `after`, in position order, with their cases.
pub fn page(conn: &mut PgConnection, after: i64, limit: i64) -> Result<Page, AppError> {
    let (xid, idx) = after_key(after);
    let rows: Vec<PageRow> = diesel::sql_query(
        "WITH h AS (SELECT feed_horizon() AS horizon)
         SELECT h.horizon, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.actor_id,
                e.occurred_at, e.state, e.payload, e.xid, e.idx,
                c.kind, c.region_path, c.petitioner_id, c.handling_organization_id,
                c.reviewing_organization_id, c.access_organization_ids,
                d.region_path AS d_region_path, d.team_id AS d_team_id, d.team_ids AS d_team_ids,
                (SELECT m.account_id FROM team_members m WHERE m.id = d.mediator_member_id) AS d_mediator_account_id,
                d.party_account_ids AS d_party_account_ids, d.referring_court_id AS d_referring_court_id,
                d.confirmation_court_id AS d_confirmation_court_id,
                d.referring_organization_id AS d_referring_organization_id,
                la.centre_organization_id AS la_centre_organization_id,
                la.bureau_organization_id AS la_bureau_organization_id,
                la.origin_organization_id AS la_origin_organization_id,
                la.applicant_account_id AS la_applicant_account_id,
                la.lawyer_account_id AS la_lawyer_account_id,
                r.court_organization_id AS r_court_id, r.referring_organization_id AS r_referring_organization_id,
                rc.kind AS r_kind, rc.region_path AS r_region_path, rc.petitioner_id AS r_petitioner_id,
                rc.handling_organization_id AS r_handling_organization_id,
                rc.reviewing_organization_id AS r_reviewing_organization_id,
                rc.access_organization_ids AS r_access_organization_ids,
                rt.region_path AS rt_region_path, rt.petitioner_id AS rt_petitioner_id,
                rt.acceptance_organization_id AS rt_acceptance_organization_id,
                rt.handling_organization_id AS rt_handling_organization_id,
                sv.region_path AS sv_region_path, sv.organization_id AS sv_organization_id,
                sv.issuer_organization_id AS sv_issuer_organization_id,
                bl.region_path AS bl_region_path, blc.handling_organization_id AS bl_handling_organization_id,
                rb.region_path AS rb_region_path, rb.organization_id AS rb_organization_id,
                rb.leader_account_id AS rb_leader_account_id, rb.citizen_account_id AS rb_citizen_account_id
         FROM h
         LEFT JOIN LATERAL (
             SELECT * FROM events
             WHERE (xid, idx) > ($1, $2) AND xid < h.horizon
             ORDER BY xid, idx
             LIMIT $3
         ) e ON TRUE
         LEFT JOIN cases c ON e.aggregate_type = 1 AND c.id = e.aggregate_id
         LEFT JOIN disputes d ON e.aggregate_type = 2 AND d.id = e.aggregate_id
         LEFT JOIN legal_aid_applications la ON e.aggregate_type = 3 AND la.id = e.aggregate_id
         LEFT JOIN court_referrals r ON e.aggregate_type = 4 AND r.id = e.aggregate_id
         LEFT JOIN cases rc ON rc.id = r.case_id
         LEFT JOIN ratings rt ON e.aggregate_type = 5 AND rt.id = e.aggregate_id
         LEFT JOIN supervisions sv ON e.aggregate_type = 6 AND sv.id = e.aggregate_id
         LEFT JOIN backlog_cases bl ON e.aggregate_type = 7 AND bl.id = e.aggregate_id
         LEFT JOIN cases blc ON blc.id = bl.case_id
         LEFT JOIN reception_bookings rb ON e.aggregate_type = 8 AND rb.id = e.aggregate_id
         ORDER BY e.xid, e.idx",
    )
    .bind::<BigInt, _>(xid)
    .bind::<SmallInt, _>(idx)
    .bind::<BigInt, _>(limit)
    .load(conn)?;
    let readable_through = rows.first().map(|r| event_log::position_below(r.horizon)).unwrap_or(after);
    let rows = rows
        .into_iter()
        .filter_map(|r| {
            let event = EventRow {
                aggregate_type: r.aggregate_type?,
                aggregate_id: r.aggregate_id?,
                sequence: r.sequence?,
                event_type: r.event_type?,
                actor_id: r.actor_id,
                occurred_at: r.occurred_at?,
                state: r.state?,
                payload: r.payload?,
                xid: r.xid?,
                idx: r.idx?,
            };
            let case = match (r.kind, r.region_path, r.petitioner_id) {
                (Some(kind), Some(region_path), Some(petitioner_id)) => Some(CaseFacts {
                    kind,
                    region_path,
                    petitioner_id,
                    handling_organization_id: r.handling_organization_id,
                    reviewing_organization_id: r.reviewing_organization_id,
                    access_organization_ids: r
                        .access_organization_ids
                        .unwrap_or_default()
                        .into_iter()
                        .flatten()
                        .collect(),
                }),
                _ => None,
            };
            let flat = |ids: Option<Vec<Option<Uuid>>>| ids.unwrap_or_default().into_iter().flatten().collect();
            let dispute = match (r.d_region_path, r.d_team_id) {
                (Some(region_path), Some(team_id)) => Some(DisputeFacts {
                    region_path,
                    team_id,
                    team_ids: flat(r.d_team_ids),
                    mediator_account_id: r.d_mediator_account_id,
                    party_account_ids: flat(r.d_party_account_ids),
                    referring_court_id: r.d_referring_court_id,
                    confirmation_court_id: r.d_confirmation_court_id,
                    referring_organization_id: r.d_referring_organization_id,
                }),
                _ => None,
            };
            let legal_aid = r.la_centre_organization_id.map(|centre_organization_id| LegalAidFacts {
                centre_organization_id,
                bureau_organization_id: r.la_bureau_organization_id,
                origin_organization_id: r.la_origin_organization_id,
                applicant_account_id: r.la_applicant_account_id,
                lawyer_account_id: r.la_lawyer_account_id,
            });
            let court_referral = match (r.r_court_id, r.r_kind, r.r_region_path, r.r_petitioner_id) {
                (Some(court_id), Some(kind), Some(region_path), Some(petitioner_id)) => Some(CourtReferralFacts {
                    court_id,
                    referring_organization_id: r.r_referring_organization_id,
                    case: CaseFacts {
                        kind,
                        region_path,
                        petitioner_id,
                        handling_organization_id: r.r_handling_organization_id,
                        reviewing_organization_id: r.r_reviewing_organization_id,
                        access_organization_ids: flat(r.r_access_organization_ids),
                    },
                }),
                _ => None,
            };
            let rating = match (r.rt_region_path, r.rt_petitioner_id, r.rt_handling_organization_id) {
                (Some(region_path), Some(petitioner_id), Some(handling_organization_id)) => Some(RatingFacts {
                    region_path,
                    petitioner_id,
                    acceptance_organization_id: r.rt_acceptance_organization_id,
                    handling_organization_id,
                }),
                _ => None,
            };
            let supervision = match (r.sv_region_path, r.sv_organization_id, r.sv_issuer_organization_id) {
                (Some(region_path), Some(organization_id), Some(issuer_organization_id)) => {
                    Some(SupervisionFacts { region_path, organization_id, issuer_organization_id })
                }
                _ => None,
            };
            let backlog = r.bl_region_path.map(|region_path| BacklogFacts {
                region_path,
                handling_organization_id: r.bl_handling_organization_id,
            });
            let reception =
                match (r.rb_region_path, r.rb_organization_id, r.rb_leader_account_id, r.rb_citizen_account_id) {
                    (Some(region_path), Some(organization_id), Some(leader_account_id), Some(citizen_account_id)) => {
                        Some(ReceptionFacts { region_path, organization_id, leader_account_id, citizen_account_id })
                    }
                    _ => None,
                };
            Some(FeedRow { event, case, dispute, legal_aid, court_referral, rating, supervision, backlog, reception })
        })
        .collect();
    Ok(Page { rows, readable_through })
}

/// Keeps positions increasing after a restore into a cluster whose
/// transaction counter is behind the stored events: raises the offset
/// added to transaction ids so the next one lands above every stored event.
/// Run at start, in its own transaction.
pub fn keep_positions_increasing(conn: &mut PgConnection) -> Result<Option<i64>, AppError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Nullable<BigInt>)]
        newest: Option<i64>,
        #[diesel(sql_type = BigInt)]
        current: i64,
    }
    diesel::sql_query("LOCK TABLE feed_state IN EXCLUSIVE MODE").execute(conn)?;
    let row: Row =
        diesel::sql_query("SELECT (SELECT max(xid) FROM events) AS newest, feed_xid() AS current").get_result(conn)?;
    match row.newest {
        Some(newest) if newest >= row.current => {
            let raise = newest - row.current + 1;
            diesel::sql_query("UPDATE feed_state SET xid_offset = xid_offset + $1")
                .bind::<BigInt, _>(raise)
                .execute(conn)?;
            Ok(Some(raise))
        }
        _ => Ok(None),
    }
}

/// Takes events older than `cutoff` out of the feed: `expired_through`
/// moves to the last position of the oldest run of such events. Returns
/// the new value when it moved.
pub fn expire_before(conn: &mut PgConnection, cutoff: DateTime<Utc>) -> Result<Option<i64>, AppError> {
    const BATCH: i64 = 10_000;
    let bounds = bounds(conn)?;
    let mut through = bounds.expired_through;
    loop {
        let page = page_of_times(conn, through, BATCH)?;
        let full = page.len() as i64 == BATCH;
        let mut reached_recent = false;
        for (position, occurred_at) in page {
            if occurred_at >= cutoff {
                reached_recent = true;
                break;
            }
            through = position;
        }
        if reached_recent || !full {
            break;
        }
    }
    if through <= bounds.expired_through {
        return Ok(None);
    }
    diesel::sql_query("UPDATE feed_state SET expired_through = GREATEST(expired_through, $1)")
        .bind::<BigInt, _>(through)
        .execute(conn)?;
    Ok(Some(through))
}

/// Positions and times of readable events after `after`.
fn page_of_times(conn: &mut PgConnection, after: i64, limit: i64) -> Result<Vec<(i64, DateTime<Utc>)>, AppError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        xid: i64,
        #[diesel(sql_type = SmallInt)]
        idx: i16,
        #[diesel(sql_type = Timestamptz)]
        occurred_at: DateTime<Utc>,
    }
    let (xid, idx) = after_key(after);
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT xid, idx, occurred_at FROM events
         WHERE (xid, idx) > ($1, $2) AND xid < feed_horizon()
         ORDER BY xid, idx LIMIT $3",
    )
    .bind::<BigInt, _>(xid)
    .bind::<SmallInt, _>(idx)
    .bind::<BigInt, _>(limit)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (event_log::position(r.xid, r.idx), r.occurred_at)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_after_a_position_between_transactions_starts_at_the_next_one() {
        assert_eq!(after_key(event_log::position(42, 3)), (42, 3));
        assert_eq!(after_key(event_log::position_below(43)), (43, -1));
        assert_eq!(after_key(0), (0, 0));
    }
}
