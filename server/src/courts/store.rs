//! Court referral queries. Every function takes the connection of the
//! caller's transaction; none decides policy.

use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Uuid as SqlUuid};
use uuid::Uuid;

use super::model::{ReferralChange, ReferralRow};
use crate::auth::Principal;
use crate::auth::policy;
use crate::cases::store::Visibility;
use crate::error::AppError;
use crate::literal_limit::LiteralLimit;
use crate::schema::court_referrals;

fn like_subtree(root: &str) -> String {
    format!("{}/%", root.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

pub fn insert_referral(conn: &mut PgConnection, row: &ReferralRow) -> Result<(), AppError> {
    diesel::insert_into(court_referrals::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_referral(conn: &mut PgConnection, id: Uuid) -> Result<Option<ReferralRow>, AppError> {
    Ok(court_referrals::table.find(id).select(ReferralRow::as_select()).first(conn).optional()?)
}

pub fn lock_referral(conn: &mut PgConnection, id: Uuid) -> Result<Option<ReferralRow>, AppError> {
    Ok(court_referrals::table.find(id).select(ReferralRow::as_select()).for_update().first(conn).optional()?)
}

pub fn save_referral(conn: &mut PgConnection, id: Uuid, change: &ReferralChange) -> Result<ReferralRow, AppError> {
    Ok(diesel::update(court_referrals::table.find(id))
        .set(change)
        .returning(ReferralRow::as_returning())
        .get_result(conn)?)
}

/// Whether another referral to `court` was filed under `number`.
pub fn number_in_use(conn: &mut PgConnection, court: Uuid, number: &str, except: Uuid) -> Result<bool, AppError> {
    let found: Option<Uuid> = court_referrals::table
        .filter(court_referrals::court_organization_id.eq(court))
        .filter(court_referrals::court_case_number.eq(number))
        .filter(court_referrals::id.ne(except))
        .select(court_referrals::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Which referrals a caller may list: the SQL form of
/// `policy::can_see_court_referral` — the court's own, and those of the
/// cases the caller may see (`cases::store::Visibility`, the SQL form of
/// `can_see_case`).
#[derive(Debug, Clone)]
pub struct ReferralVisibility {
    /// The court the caller reads for (its staff, its partners with
    /// cases.read).
    pub court: Option<Uuid>,
    pub cases: Visibility,
}

impl ReferralVisibility {
    pub fn of(principal: &Principal) -> ReferralVisibility {
        let court = principal.organization_id.filter(|org| policy::reads_for(principal, *org));
        // A partner without the read scope sees no case (and no referral).
        let cases = Visibility::of(principal).unwrap_or(Visibility::Nothing);
        ReferralVisibility { court, cases }
    }
}

/// Typed referral filters, validated.
#[derive(Debug, Clone, Default)]
pub struct ReferralFilter {
    pub court_id: Option<Uuid>,
    pub states: Vec<i16>,
    pub case_id: Option<Uuid>,
    pub region_root: Option<String>,
}

type ReferralQuery<'a> =
    court_referrals::BoxedQuery<'a, Pg, diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<ReferralRow, Pg>>>;

/// The visibility clause: the court's own, or an EXISTS over the case.
fn visible<'a>(query: ReferralQuery<'a>, visibility: &ReferralVisibility) -> ReferralQuery<'a> {
    let court = visibility.court.unwrap_or(Uuid::nil());
    let by_court = court_referrals::court_organization_id.eq(court);
    const CASE: &str = "EXISTS (SELECT 1 FROM cases c WHERE c.id = court_referrals.case_id AND ";
    match &visibility.cases {
        Visibility::All => query,
        Visibility::Nothing => query.filter(by_court),
        Visibility::Petitioner(account) => {
            query.filter(by_court.or(sql::<Bool>(CASE).sql("c.petitioner_id = ").bind::<SqlUuid, _>(*account).sql(")")))
        }
        Visibility::Partner { organization } => query.filter(by_court.or(
            sql::<Bool>(CASE).sql("c.access_organization_ids @> ARRAY[").bind::<SqlUuid, _>(*organization).sql("])"),
        )),
        Visibility::Staff { jurisdiction, organization } => {
            let org = organization.unwrap_or(Uuid::nil());
            let by_case = sql::<Bool>(CASE)
                .sql("(c.handling_organization_id = ")
                .bind::<SqlUuid, _>(org)
                .sql(" OR c.reviewing_organization_id = ")
                .bind::<SqlUuid, _>(org)
                .sql(" OR c.access_organization_ids @> ARRAY[")
                .bind::<SqlUuid, _>(org)
                .sql("]))");
            match jurisdiction {
                Some(root) => query.filter(
                    by_court
                        .or(court_referrals::region_path.eq(root.clone()))
                        .or(court_referrals::region_path.like(like_subtree(root)))
                        .or(by_case),
                ),
                None => query.filter(by_court.or(by_case)),
            }
        }
    }
}

/// Referrals newest first (ids are UUIDv7) before `before`.
pub fn list_referrals(
    conn: &mut PgConnection,
    visibility: &ReferralVisibility,
    filter: &ReferralFilter,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ReferralRow>, AppError> {
    let mut query: ReferralQuery<'_> =
        court_referrals::table.select(ReferralRow::as_select()).order(court_referrals::id.desc()).into_boxed();
    // A court listing its own referrals sees all of them: no visibility
    // clause (the court's index serves the page).
    let own_court = filter.court_id.is_some() && filter.court_id == visibility.court;
    if !own_court {
        query = visible(query, visibility);
    }
    if let Some(court) = filter.court_id {
        query = query.filter(court_referrals::court_organization_id.eq(court));
    }
    if !filter.states.is_empty() {
        query = query.filter(court_referrals::state.eq_any(filter.states.clone()));
    }
    if let Some(case) = filter.case_id {
        query = query.filter(court_referrals::case_id.eq(case));
    }
    if let Some(root) = &filter.region_root {
        query = query.filter(
            court_referrals::region_path.eq(root.clone()).or(court_referrals::region_path.like(like_subtree(root))),
        );
    }
    if let Some(before) = before {
        query = query.filter(court_referrals::id.lt(before));
    }
    let limit = u32::try_from(limit).map_err(AppError::internal)?;
    Ok(LiteralLimit::new(query, limit).load(conn)?)
}

/// The human numbers of cases `ids`.
pub fn case_numbers(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>, AppError> {
    use crate::schema::cases;
    Ok(cases::table.filter(cases::id.eq_any(ids)).select((cases::id, cases::number)).load(conn)?)
}
