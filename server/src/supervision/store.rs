//! Supervision queries. Every function takes the connection of the
//! caller's transaction; none decides policy.

use std::collections::HashSet;

use chrono::NaiveDate;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Date, Integer, Jsonb, SmallInt, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::domain::SupervisionState;
use super::model::{SupervisionChange, SupervisionRow};
use crate::auth::Principal;
use crate::auth::policy;
use crate::error::AppError;
use crate::literal_limit::LiteralLimit;
use crate::schema::supervisions;

fn like_subtree(root: &str) -> String {
    format!("{}/%", root.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

pub fn insert(conn: &mut PgConnection, row: &SupervisionRow) -> Result<(), AppError> {
    insert_all(conn, std::slice::from_ref(row))
}

pub fn insert_all(conn: &mut PgConnection, rows: &[SupervisionRow]) -> Result<(), AppError> {
    if !rows.is_empty() {
        diesel::insert_into(supervisions::table).values(rows).execute(conn)?;
    }
    Ok(())
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<Option<SupervisionRow>, AppError> {
    Ok(supervisions::table.find(id).select(SupervisionRow::as_select()).first(conn).optional()?)
}

pub fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<SupervisionRow>, AppError> {
    Ok(supervisions::table.find(id).select(SupervisionRow::as_select()).for_update().first(conn).optional()?)
}

/// Locks item `id` unless another transaction holds it (the sweeper
/// leaves it for its next pass rather than wait on a caller).
/// The items of `ids` that no caller holds, locked.
pub fn lock_unless_busy(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<SupervisionRow>, AppError> {
    Ok(supervisions::table
        .filter(supervisions::id.eq_any(ids))
        .select(SupervisionRow::as_select())
        .for_update()
        .skip_locked()
        .load(conn)?)
}

pub fn save(conn: &mut PgConnection, id: Uuid, change: &SupervisionChange) -> Result<SupervisionRow, AppError> {
    Ok(diesel::update(supervisions::table.find(id))
        .set(change)
        .returning(SupervisionRow::as_returning())
        .get_result(conn)?)
}

/// Stores the `changes` of a batch of items (the sweeper's) in one
/// statement.
pub fn save_all(conn: &mut PgConnection, changes: &[(Uuid, SupervisionChange)]) -> Result<(), AppError> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut lifecycles = Vec::with_capacity(changes.len());
    for (_, change) in changes {
        lifecycles.push(serde_json::to_value(&change.lifecycle.0).map_err(AppError::internal)?);
    }
    let column = |f: fn(&SupervisionChange) -> i16| changes.iter().map(|(_, c)| f(c)).collect::<Vec<_>>();
    diesel::sql_query(
        "UPDATE supervisions SET state = c.state, rung = c.rung, due_date = c.due_date, lifecycle = c.lifecycle,
                version = c.version, last_sequence = c.last_sequence, updated_at = c.updated_at
         FROM unnest($1::uuid[], $2::int2[], $3::int2[], $4::date[], $5::jsonb[], $6::int4[], $7::int4[],
                     $8::timestamptz[])
              AS c(id, state, rung, due_date, lifecycle, version, last_sequence, updated_at)
         WHERE supervisions.id = c.id",
    )
    .bind::<Array<SqlUuid>, _>(changes.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind::<Array<SmallInt>, _>(column(|c| c.state))
    .bind::<Array<SmallInt>, _>(column(|c| c.rung))
    .bind::<Array<Date>, _>(changes.iter().map(|(_, c)| c.due_date).collect::<Vec<_>>())
    .bind::<Array<Jsonb>, _>(lifecycles)
    .bind::<Array<Integer>, _>(changes.iter().map(|(_, c)| c.version).collect::<Vec<_>>())
    .bind::<Array<Integer>, _>(changes.iter().map(|(_, c)| c.last_sequence).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(changes.iter().map(|(_, c)| c.updated_at).collect::<Vec<_>>())
    .execute(conn)?;
    Ok(())
}

/// The next document number of `organization` for `year` (its own
/// sequence, taken in the caller's transaction: a rolled-back issue leaves
/// no gap).
pub fn next_number(conn: &mut PgConnection, organization: Uuid, year: i32) -> Result<i32, AppError> {
    #[derive(QueryableByName)]
    struct Last {
        #[diesel(sql_type = Integer)]
        last: i32,
    }
    let Last { last } = diesel::sql_query(
        "INSERT INTO supervision_numbers (organization_id, year, last) VALUES ($1, $2, 1)
         ON CONFLICT (organization_id, year) DO UPDATE SET last = supervision_numbers.last + 1
         RETURNING last",
    )
    .bind::<SqlUuid, _>(organization)
    .bind::<Integer, _>(year)
    .get_result(conn)?;
    Ok(last)
}

/// The (case, organization) pairs of `cases` with an OVERDUE item open or
/// answered.
pub fn overdue_items_open(conn: &mut PgConnection, cases: &[Uuid]) -> Result<HashSet<(Uuid, Uuid)>, AppError> {
    if cases.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(supervisions::table
        .filter(supervisions::case_id.eq_any(cases))
        .filter(supervisions::trigger.eq(super::domain::Trigger::Overdue.as_i16()))
        .filter(supervisions::state.eq_any([SupervisionState::Open.as_i16(), SupervisionState::Answered.as_i16()]))
        .select((supervisions::case_id, supervisions::organization_id))
        .load::<(Uuid, Uuid)>(conn)?
        .into_iter()
        .collect())
}

/// Items after `(due, id)` in deadline order, as the `(due_date, id)`
/// indexes walk: the row comparison is the scan's start, not a filter of
/// every row before it.
fn after_due(due: NaiveDate, id: Uuid) -> Box<dyn BoxableExpression<supervisions::table, Pg, SqlType = Bool>> {
    Box::new(
        diesel::dsl::sql::<Bool>("(supervisions.due_date, supervisions.id) > (")
            .bind::<Date, _>(due)
            .sql(", ")
            .bind::<SqlUuid, _>(id)
            .sql(")"),
    )
}

/// OPEN items due by `until`, after `(due, id)` in deadline order: the
/// sweeper's walk.
pub fn open_due(
    conn: &mut PgConnection,
    until: NaiveDate,
    after: Option<(NaiveDate, Uuid)>,
    limit: i64,
) -> Result<Vec<(NaiveDate, Uuid)>, AppError> {
    let mut query = supervisions::table
        .select((supervisions::due_date, supervisions::id))
        .filter(supervisions::state.eq(SupervisionState::Open.as_i16()))
        .filter(supervisions::due_date.le(until))
        .order((supervisions::due_date, supervisions::id))
        .limit(limit)
        .into_boxed();
    if let Some((due, id)) = after {
        query = query.filter(after_due(due, id));
    }
    Ok(query.load(conn)?)
}

/// Which items a caller may list: the SQL form of
/// `policy::can_see_supervision`.
#[derive(Debug, Clone)]
pub enum Visibility {
    /// Admins.
    All,
    /// Their organization's (case staff), their jurisdiction's subtree
    /// (clerks, leaders, supervisors).
    Some { organization: Option<Uuid>, jurisdiction: Option<String> },
}

impl Visibility {
    pub fn of(principal: &Principal) -> Visibility {
        if principal.is_admin() {
            return Visibility::All;
        }
        let organization = principal.organization_id.filter(|_| policy::is_case_staff(principal));
        let oversees = policy::SUPERVISION_OVERSIGHT.iter().any(|role| principal.has_role(*role));
        let jurisdiction = principal.jurisdiction.clone().filter(|_| oversees);
        Visibility::Some { organization, jurisdiction }
    }
}

/// Typed filters, validated.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub case_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub issuer_organization_id: Option<Uuid>,
    pub region_root: Option<String>,
    pub states: Vec<i16>,
    pub rungs: Vec<i16>,
    /// OPEN and due before this day.
    pub overdue_on: Option<NaiveDate>,
}

type Query<'a> = supervisions::BoxedQuery<'a, Pg, diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<SupervisionRow, Pg>>>;

/// Items the soonest deadline first, after `(due, id)`.
pub fn list(
    conn: &mut PgConnection,
    visibility: &Visibility,
    filter: &Filter,
    after: Option<(NaiveDate, Uuid)>,
    limit: i64,
) -> Result<Vec<SupervisionRow>, AppError> {
    let mut query: Query<'_> = supervisions::table
        .select(SupervisionRow::as_select())
        .order((supervisions::due_date, supervisions::id))
        .into_boxed();
    if let Visibility::Some { organization, jurisdiction } = visibility {
        let by_org = supervisions::organization_id.eq(organization.unwrap_or(Uuid::nil()));
        query = match jurisdiction {
            Some(root) => query.filter(
                by_org
                    .or(supervisions::region_path.eq(root.clone()))
                    .or(supervisions::region_path.like(like_subtree(root))),
            ),
            None => query.filter(by_org),
        };
    }
    if let Some(case) = filter.case_id {
        query = query.filter(supervisions::case_id.eq(case));
    }
    if let Some(org) = filter.organization_id {
        query = query.filter(supervisions::organization_id.eq(org));
    }
    if let Some(org) = filter.issuer_organization_id {
        query = query.filter(supervisions::issuer_organization_id.eq(org));
    }
    if let Some(root) = &filter.region_root {
        query = query
            .filter(supervisions::region_path.eq(root.clone()).or(supervisions::region_path.like(like_subtree(root))));
    }
    if !filter.states.is_empty() {
        query = query.filter(supervisions::state.eq_any(filter.states.clone()));
    }
    if !filter.rungs.is_empty() {
        query = query.filter(supervisions::rung.eq_any(filter.rungs.clone()));
    }
    if let Some(today) = filter.overdue_on {
        query = query
            .filter(supervisions::state.eq(SupervisionState::Open.as_i16()))
            .filter(supervisions::due_date.lt(today));
    }
    if let Some((due, id)) = after {
        query = query.filter(after_due(due, id));
    }
    let limit = u32::try_from(limit).map_err(AppError::internal)?;
    Ok(LiteralLimit::new(query, limit).load(conn)?)
}
