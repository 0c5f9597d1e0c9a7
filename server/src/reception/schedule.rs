//! Schedules: configuration rows (like mediation teams), created and
//! changed by a bureau's clerks; each change raises the version (etag) and
//! `updated_at`. Slots are computed from a schedule and the workday
//! calendar, never stored. Shared by the service and `seed-demo`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use super::model::{ScheduleChange, ScheduleRow};
use super::rules::{self, ScheduleSpec};
use super::store;
use crate::auth::Principal;
use crate::auth::policy;
use crate::auth::principal::Role;
use crate::error::AppError;
use crate::jsonb::Json;

/// The region path of `code`, or INVALID_ARGUMENT at `field`.
fn region_path(conn: &mut PgConnection, code: &str, field: &str) -> Result<String, AppError> {
    Ok(crate::directory::store::find_region(conn, code)?
        .ok_or_else(|| AppError::invalid(field, "no such region"))?
        .path)
}

/// INVALID_ARGUMENT unless `id` is a LEADER account.
fn check_leader(conn: &mut PgConnection, id: Uuid, field: &str) -> Result<(), AppError> {
    let leader = crate::identity::store::find_account(conn, id)?;
    if leader.is_some_and(|l| l.account.roles.contains(&Some(Role::Leader.as_i16()))) {
        Ok(())
    } else {
        Err(AppError::invalid(field, "no such leader account"))
    }
}

/// Creates a schedule of `organization` (the caller's when `None`).
pub fn create(
    conn: &mut PgConnection,
    principal: &Principal,
    organization: Option<Uuid>,
    spec: ScheduleSpec,
    now: DateTime<Utc>,
) -> Result<ScheduleRow, AppError> {
    let Some(organization) = organization.or(principal.organization_id) else {
        // Who may not manage schedules at all learns that first.
        if !principal.is_admin() {
            policy::authorize_reception_schedule(principal, Uuid::nil(), "")?;
        }
        return Err(AppError::invalid("organization_id", "is required (name the bureau running the schedule)"));
    };
    let path = region_path(conn, &spec.region_code, "spec.region_code")?;
    policy::authorize_reception_schedule(principal, organization, &path)?;
    if crate::directory::store::find_organization(conn, organization)?.is_none() {
        return Err(AppError::invalid("organization_id", "no such organization"));
    }
    check_leader(conn, spec.leader_account_id, "spec.leader_account_id")?;
    let row = ScheduleRow {
        id: Uuid::now_v7(),
        leader_account_id: spec.leader_account_id,
        organization_id: organization,
        region_code: spec.region_code.clone(),
        region_path: path,
        valid_from: spec.valid_from,
        valid_until: spec.valid_until,
        spec: Json(spec),
        retired: false,
        version: 1,
        created_by: principal.account_id,
        created_at: now,
        updated_at: now,
    };
    store::insert_schedule(conn, &row)?;
    Ok(row)
}

/// Replaces schedule `id`'s spec (when given) and its retirement.
pub fn update(
    conn: &mut PgConnection,
    principal: &Principal,
    id: Uuid,
    etag: &str,
    spec: Option<ScheduleSpec>,
    retired: bool,
    now: DateTime<Utc>,
) -> Result<ScheduleRow, AppError> {
    let row = store::lock_schedule(conn, id)?.ok_or(AppError::NotFound { resource: "reception schedule" })?;
    policy::authorize_reception_schedule(principal, row.organization_id, &row.region_path)?;
    if !etag.is_empty() && etag != row.version.to_string() {
        return Err(AppError::Aborted { resource: "reception schedule" });
    }
    let (spec, path) = match spec {
        Some(spec) => {
            let path = region_path(conn, &spec.region_code, "spec.region_code")?;
            // The new region must be the clerk's too.
            policy::authorize_reception_schedule(principal, row.organization_id, &path)?;
            check_leader(conn, spec.leader_account_id, "spec.leader_account_id")?;
            (spec, path)
        }
        None => (row.spec.0.clone(), row.region_path.clone()),
    };
    let change = ScheduleChange {
        leader_account_id: spec.leader_account_id,
        region_code: spec.region_code.clone(),
        region_path: path,
        valid_from: spec.valid_from,
        valid_until: Some(spec.valid_until),
        spec: Json(spec),
        retired,
        version: row.version + 1,
        updated_at: now,
    };
    store::save_schedule(conn, id, &change)
}

/// A computed slot.
#[derive(Debug, Clone)]
pub struct Slot {
    pub schedule: ScheduleRow,
    pub date: NaiveDate,
    pub template: rules::SlotTemplate,
    pub remaining: i32,
}

/// The slots of `schedules` from `from` to `until`, in time order.
pub fn slots(
    conn: &mut PgConnection,
    schedules: Vec<ScheduleRow>,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<Slot>, AppError> {
    let calendar = crate::calendar::store::load_calendar(conn, from, until)?;
    let ids: Vec<Uuid> = schedules.iter().map(|s| s.id).collect();
    let taken: HashMap<(Uuid, NaiveDate, i16), i64> =
        store::taken(conn, &ids, from, until)?.into_iter().map(|(s, d, m, n)| ((s, d, m), n)).collect();
    let mut out = Vec::new();
    for schedule in schedules {
        let spec = schedule.spec.0.clone();
        for date in spec.days(&calendar, from, until) {
            for template in &spec.slots {
                let minute = i16::try_from(template.minute).unwrap_or(i16::MAX);
                let n = taken.get(&(schedule.id, date, minute)).copied().unwrap_or(0);
                out.push(Slot {
                    schedule: schedule.clone(),
                    date,
                    template: *template,
                    remaining: rules::remaining(template.capacity, n),
                });
            }
        }
    }
    out.sort_by_key(|s| (s.date, s.template.minute, s.schedule.id));
    Ok(out)
}

/// The dates a slot listing covers, validated.
pub fn range(from: &str, until: &str) -> Result<(NaiveDate, NaiveDate), AppError> {
    let mut v = Vec::new();
    let from_date = crate::calendar::rules::parse_date(from);
    if from_date.is_none() {
        v.push(crate::error::FieldViolation::new("from_date", "must be a date YYYY-MM-DD"));
    }
    let until_date = crate::calendar::rules::parse_date(until);
    if until_date.is_none() {
        v.push(crate::error::FieldViolation::new("until_date", "must be a date YYYY-MM-DD"));
    }
    if let (Some(f), Some(u)) = (from_date, until_date) {
        if u < f {
            v.push(crate::error::FieldViolation::new("until_date", "must not be before from_date"));
        } else if u - f > Duration::days(rules::MAX_SLOT_RANGE_DAYS) {
            v.push(crate::error::FieldViolation::new(
                "until_date",
                format!("at most {} days after from_date", rules::MAX_SLOT_RANGE_DAYS),
            ));
        }
    }
    crate::error::require_valid(v)?;
    match (from_date, until_date) {
        (Some(f), Some(u)) => Ok((f, u)),
        _ => Err(AppError::internal("a valid range without its dates")),
    }
}
