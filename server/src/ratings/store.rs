//! Rating queries. Every function takes the connection of the caller's
//! transaction; none decides policy.

use chrono::NaiveDate;
use diesel::pg::Pg;
use diesel::prelude::*;
use uuid::Uuid;

use super::model::{RatingChange, RatingRow};
use crate::auth::Principal;
use crate::auth::policy;
use crate::error::AppError;
use crate::literal_limit::LiteralLimit;
use crate::schema::ratings;

fn like_subtree(root: &str) -> String {
    format!("{}/%", root.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

pub fn insert_rating(conn: &mut PgConnection, row: &RatingRow) -> Result<(), AppError> {
    diesel::insert_into(ratings::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_rating(conn: &mut PgConnection, id: Uuid) -> Result<Option<RatingRow>, AppError> {
    Ok(ratings::table.find(id).select(RatingRow::as_select()).first(conn).optional()?)
}

pub fn lock_rating(conn: &mut PgConnection, id: Uuid) -> Result<Option<RatingRow>, AppError> {
    Ok(ratings::table.find(id).select(RatingRow::as_select()).for_update().first(conn).optional()?)
}

pub fn save_rating(conn: &mut PgConnection, id: Uuid, change: &RatingChange) -> Result<RatingRow, AppError> {
    Ok(diesel::update(ratings::table.find(id)).set(change).returning(RatingRow::as_returning()).get_result(conn)?)
}

/// Which ratings a caller may list: the SQL form of
/// `policy::can_see_rating`.
#[derive(Debug, Clone)]
pub enum RatingVisibility {
    /// Admins.
    All,
    /// Everyone else: their own as petitioner, their organization's (case
    /// staff), their jurisdiction's subtree (clerks, leaders, supervisors).
    Some { me: Uuid, organization: Option<Uuid>, jurisdiction: Option<String> },
}

impl RatingVisibility {
    pub fn of(principal: &Principal) -> RatingVisibility {
        if principal.is_admin() {
            return RatingVisibility::All;
        }
        let organization = principal.organization_id.filter(|_| policy::is_case_staff(principal));
        let oversees = policy::RATING_OVERSIGHT.iter().any(|role| principal.has_role(*role));
        let jurisdiction = principal.jurisdiction.clone().filter(|_| oversees);
        RatingVisibility::Some { me: principal.account_id, organization, jurisdiction }
    }
}

/// Typed rating filters, validated.
#[derive(Debug, Clone, Default)]
pub struct RatingFilter {
    pub case_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub region_root: Option<String>,
    pub rounds: Vec<i16>,
    pub awaiting: bool,
    pub rated: bool,
    pub not_rated: bool,
    pub handling: Vec<i16>,
    pub acceptance: Vec<i16>,
    pub petitioner_id: Option<Uuid>,
}

type RatingQuery<'a> = ratings::BoxedQuery<'a, Pg, diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<RatingRow, Pg>>>;

/// Ratings newest first (ids are UUIDv7) before `before`; states as of
/// `today`.
pub fn list_ratings(
    conn: &mut PgConnection,
    visibility: &RatingVisibility,
    filter: &RatingFilter,
    today: NaiveDate,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<RatingRow>, AppError> {
    let mut query: RatingQuery<'_> =
        ratings::table.select(RatingRow::as_select()).order(ratings::id.desc()).into_boxed();
    if let RatingVisibility::Some { me, organization, jurisdiction } = visibility {
        let org = organization.unwrap_or(Uuid::nil());
        let by_org = ratings::handling_organization_id.eq(org).or(ratings::acceptance_organization_id.eq(org));
        let mine = ratings::petitioner_id.eq(*me);
        query = match jurisdiction {
            Some(root) => query.filter(
                mine.or(by_org)
                    .or(ratings::region_path.eq(root.clone()))
                    .or(ratings::region_path.like(like_subtree(root))),
            ),
            None => query.filter(mine.or(by_org)),
        };
    }
    if let Some(case) = filter.case_id {
        query = query.filter(ratings::case_id.eq(case));
    }
    if let Some(org) = filter.organization_id {
        query = query.filter(ratings::handling_organization_id.eq(org).or(ratings::acceptance_organization_id.eq(org)));
    }
    if let Some(root) = &filter.region_root {
        query = query.filter(ratings::region_path.eq(root.clone()).or(ratings::region_path.like(like_subtree(root))));
    }
    if !filter.rounds.is_empty() {
        query = query.filter(ratings::round.eq_any(filter.rounds.clone()));
    }
    // States as of today: any combination of the three.
    match (filter.awaiting, filter.rated, filter.not_rated) {
        (false, false, false) | (true, true, true) => {}
        (true, false, false) => query = query.filter(ratings::rated_at.is_null().and(ratings::rate_by.ge(today))),
        (false, true, false) => query = query.filter(ratings::rated_at.is_not_null()),
        (false, false, true) => query = query.filter(ratings::rated_at.is_null().and(ratings::rate_by.lt(today))),
        (true, true, false) => query = query.filter(ratings::rated_at.is_not_null().or(ratings::rate_by.ge(today))),
        (false, true, true) => query = query.filter(ratings::rated_at.is_not_null().or(ratings::rate_by.lt(today))),
        (true, false, true) => query = query.filter(ratings::rated_at.is_null()),
    }
    if !filter.handling.is_empty() {
        query = query.filter(ratings::handling.eq_any(filter.handling.clone()));
    }
    if !filter.acceptance.is_empty() {
        query = query.filter(ratings::acceptance.eq_any(filter.acceptance.clone()));
    }
    if let Some(petitioner) = filter.petitioner_id {
        query = query.filter(ratings::petitioner_id.eq(petitioner));
    }
    if let Some(before) = before {
        query = query.filter(ratings::id.lt(before));
    }
    let limit = u32::try_from(limit).map_err(AppError::internal)?;
    Ok(LiteralLimit::new(query, limit).load(conn)?)
}
