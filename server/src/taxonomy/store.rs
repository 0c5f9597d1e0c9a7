//! Taxonomy and routing-rule queries.

use diesel::prelude::*;
use uuid::Uuid;

use super::model::{CategoryRow, RoutingRuleRow};
use crate::error::AppError;
use crate::error::Reason;
use crate::schema::{categories, regions, routing_rules};

pub fn insert_category(conn: &mut PgConnection, row: &CategoryRow) -> Result<CategoryRow, AppError> {
    diesel::insert_into(categories::table).values(row).returning(CategoryRow::as_returning()).get_result(conn).map_err(
        |e| match AppError::from(e) {
            AppError::AlreadyExists { .. } => AppError::AlreadyExists {
                reason: Reason::CategoryExists,
                message: "a category with this code exists".into(),
            },
            other => other,
        },
    )
}

pub fn find_category(conn: &mut PgConnection, code: &str) -> Result<Option<CategoryRow>, AppError> {
    Ok(categories::table.find(code).select(CategoryRow::as_select()).first(conn).optional()?)
}

pub fn list_categories(conn: &mut PgConnection, include_retired: bool) -> Result<Vec<CategoryRow>, AppError> {
    let mut query = categories::table.select(CategoryRow::as_select()).order(categories::code).into_boxed();
    if !include_retired {
        query = query.filter(categories::retired.eq(false));
    }
    Ok(query.load(conn)?)
}

/// Changes the given fields; `None` keeps the stored value.
pub fn update_category(
    conn: &mut PgConnection,
    code: &str,
    name: Option<&str>,
    retired: Option<bool>,
) -> Result<Option<CategoryRow>, AppError> {
    let Some(current) = find_category(conn, code)? else { return Ok(None) };
    Ok(diesel::update(categories::table.find(code))
        .set((
            categories::name.eq(name.unwrap_or(&current.name)),
            categories::retired.eq(retired.unwrap_or(current.retired)),
            categories::updated_at.eq(diesel::dsl::now),
        ))
        .returning(CategoryRow::as_returning())
        .get_result(conn)
        .optional()?)
}

/// Creates or replaces the rule of (category, region).
pub fn upsert_routing_rule(conn: &mut PgConnection, row: &RoutingRuleRow) -> Result<RoutingRuleRow, AppError> {
    Ok(diesel::insert_into(routing_rules::table)
        .values(row)
        .on_conflict((routing_rules::category_code, routing_rules::region_code))
        .do_update()
        .set((
            routing_rules::organization_id.eq(row.organization_id),
            routing_rules::mode.eq(row.mode),
            routing_rules::updated_at.eq(row.updated_at),
        ))
        .returning(RoutingRuleRow::as_returning())
        .get_result(conn)?)
}

pub fn list_routing_rules(conn: &mut PgConnection, category: Option<&str>) -> Result<Vec<RoutingRuleRow>, AppError> {
    let mut query = routing_rules::table
        .select(RoutingRuleRow::as_select())
        .order((routing_rules::category_code, routing_rules::region_code))
        .into_boxed();
    if let Some(category) = category {
        query = query.filter(routing_rules::category_code.eq(category.to_owned()));
    }
    Ok(query.load(conn)?)
}

pub fn delete_routing_rule(conn: &mut PgConnection, id: Uuid) -> Result<bool, AppError> {
    Ok(diesel::delete(routing_rules::table.find(id)).execute(conn)? > 0)
}

/// Where a routing rule routes, and the region it is set for.
#[derive(Debug, Clone)]
pub struct RuleTarget {
    pub organization_id: Uuid,
    pub mode: i16,
    pub region_path: String,
}

/// Category `code` with the targets of every routing rule for it, in one
/// statement (a filing needs both).
pub fn category_with_rules(
    conn: &mut PgConnection,
    code: &str,
) -> Result<Option<(CategoryRow, Vec<RuleTarget>)>, AppError> {
    type Row = (CategoryRow, Option<Uuid>, Option<i16>, Option<String>);
    let rows: Vec<Row> = categories::table
        .left_join(routing_rules::table.on(routing_rules::category_code.eq(categories::code)))
        .left_join(regions::table.on(regions::code.eq(routing_rules::region_code)))
        .filter(categories::code.eq(code))
        .select((
            CategoryRow::as_select(),
            routing_rules::organization_id.nullable(),
            routing_rules::mode.nullable(),
            regions::path.nullable(),
        ))
        .load(conn)?;
    let Some(category) = rows.first().map(|(category, ..)| category.clone()) else { return Ok(None) };
    let rules = rows
        .into_iter()
        .filter_map(|(_, organization_id, mode, region_path)| {
            Some(RuleTarget { organization_id: organization_id?, mode: mode?, region_path: region_path? })
        })
        .collect();
    Ok(Some((category, rules)))
}

/// Of `rules`, the one set for the region closest to `region_path` whose
/// subtree holds it.
pub fn matching_rule(rules: Vec<RuleTarget>, region_path: &str) -> Option<RuleTarget> {
    rules
        .into_iter()
        .filter(|rule| crate::auth::policy::path_within(region_path, &rule.region_path))
        .max_by_key(|rule| rule.region_path.len())
}
