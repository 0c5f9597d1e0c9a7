//! Directory queries. Every function takes the connection of the caller's
//! transaction; none decides policy.

use diesel::prelude::*;
use uuid::Uuid;

use super::model::{OrganizationRow, PlacedOrganization, RegionRow, StaffRow};
use crate::error::AppError;
use crate::error::Reason;
use crate::schema::{accounts, organizations, regions};

/// SQL condition "the column holds a path inside `root`'s subtree", matching
/// `policy::path_within`; `root` is escaped for LIKE.
pub fn region_path_within(
    root: &str,
) -> diesel::dsl::Or<diesel::dsl::Eq<regions::path, String>, diesel::dsl::Like<regions::path, String>> {
    let pattern = format!("{}/%", root.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    regions::path.eq(root.to_owned()).or(regions::path.like(pattern))
}

pub fn find_region(conn: &mut PgConnection, code: &str) -> Result<Option<RegionRow>, AppError> {
    Ok(regions::table.find(code).select(RegionRow::as_select()).first(conn).optional()?)
}

pub fn insert_region(conn: &mut PgConnection, row: &RegionRow) -> Result<RegionRow, AppError> {
    diesel::insert_into(regions::table).values(row).returning(RegionRow::as_returning()).get_result(conn).map_err(|e| {
        match AppError::from(e) {
            AppError::AlreadyExists { .. } => AppError::AlreadyExists {
                reason: Reason::RegionExists,
                message: "a region with this code exists".into(),
            },
            other => other,
        }
    })
}

/// Regions ordered by code after `after`, optionally the children of one
/// region or of one level.
pub fn list_regions(
    conn: &mut PgConnection,
    parent_code: Option<&str>,
    level: Option<i16>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<RegionRow>, AppError> {
    let mut query = regions::table.select(RegionRow::as_select()).order(regions::code).limit(limit).into_boxed();
    if let Some(parent) = parent_code {
        query = query.filter(regions::parent_code.eq(parent.to_owned()));
    }
    if let Some(level) = level {
        query = query.filter(regions::level.eq(level));
    }
    if let Some(after) = after {
        query = query.filter(regions::code.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

pub fn find_organization(conn: &mut PgConnection, id: Uuid) -> Result<Option<PlacedOrganization>, AppError> {
    let row = organizations::table
        .inner_join(regions::table)
        .filter(organizations::id.eq(id))
        .select((OrganizationRow::as_select(), regions::path))
        .first::<(OrganizationRow, String)>(conn)
        .optional()?;
    Ok(row.map(|(organization, region_path)| PlacedOrganization { organization, region_path }))
}

pub fn insert_organization(conn: &mut PgConnection, row: &OrganizationRow) -> Result<OrganizationRow, AppError> {
    Ok(diesel::insert_into(organizations::table)
        .values(row)
        .returning(OrganizationRow::as_returning())
        .get_result(conn)?)
}

/// Organizations ordered by id (UUIDv7: creation order) after `after`,
/// optionally inside a region subtree and of one kind.
pub fn list_organizations(
    conn: &mut PgConnection,
    region_root: Option<&str>,
    kind: Option<i16>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<OrganizationRow>, AppError> {
    let mut query = organizations::table
        .inner_join(regions::table)
        .select(OrganizationRow::as_select())
        .order(organizations::id)
        .limit(limit)
        .into_boxed();
    if let Some(root) = region_root {
        query = query.filter(region_path_within(root));
    }
    if let Some(kind) = kind {
        query = query.filter(organizations::kind.eq(kind));
    }
    if let Some(after) = after {
        query = query.filter(organizations::id.gt(after));
    }
    Ok(query.load(conn)?)
}

/// Saves a changed name and parent if the version still matches; `None`
/// when someone else changed the organization first.
pub fn update_organization(
    conn: &mut PgConnection,
    id: Uuid,
    expected_version: i32,
    name: &str,
    parent_id: Option<Uuid>,
) -> Result<Option<OrganizationRow>, AppError> {
    Ok(diesel::update(organizations::table)
        .filter(organizations::id.eq(id))
        .filter(organizations::version.eq(expected_version))
        .set((
            organizations::name.eq(name),
            organizations::parent_id.eq(parent_id),
            organizations::version.eq(organizations::version + 1),
            organizations::updated_at.eq(diesel::dsl::now),
        ))
        .returning(OrganizationRow::as_returning())
        .get_result(conn)
        .optional()?)
}

/// The chain of parents above `id`, nearest first, at most `limit` long.
pub fn ancestor_ids(conn: &mut PgConnection, id: Uuid, limit: usize) -> Result<Vec<Uuid>, AppError> {
    let mut chain = Vec::new();
    let mut current = id;
    while chain.len() < limit {
        let parent: Option<Option<Uuid>> =
            organizations::table.find(current).select(organizations::parent_id).first(conn).optional()?;
        match parent.flatten() {
            Some(parent) => {
                chain.push(parent);
                current = parent;
            }
            None => break,
        }
    }
    Ok(chain)
}

/// Staff accounts of organizations inside `region_root` (or of one
/// organization), ordered by account id after `after`.
pub fn list_staff(
    conn: &mut PgConnection,
    region_root: Option<&str>,
    organization_id: Option<Uuid>,
    role: Option<i16>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<StaffRow>, AppError> {
    let mut query = accounts::table
        .inner_join(organizations::table.inner_join(regions::table))
        .filter(accounts::kind.eq(crate::auth::AccountKind::Staff as i16))
        .select((accounts::id, accounts::display_name, accounts::organization_id, accounts::roles, accounts::disabled))
        .order(accounts::id)
        .limit(limit)
        .into_boxed();
    if let Some(root) = region_root {
        query = query.filter(region_path_within(root));
    }
    if let Some(org) = organization_id {
        query = query.filter(accounts::organization_id.eq(org));
    }
    if let Some(role) = role {
        query = query.filter(accounts::roles.contains(vec![Some(role)]));
    }
    if let Some(after) = after {
        query = query.filter(accounts::id.gt(after));
    }
    Ok(query.load(conn)?)
}
