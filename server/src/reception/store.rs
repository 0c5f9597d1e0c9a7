//! Reception queries. Every function takes the connection of the caller's
//! transaction; none decides policy.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::count_star;
use diesel::pg::Pg;
use diesel::prelude::*;
use uuid::Uuid;

use super::domain::BookingState;
use super::model::{BookingChange, BookingRow, ScheduleChange, ScheduleRow};
use crate::auth::Principal;
use crate::auth::policy;
use crate::error::AppError;
use crate::literal_limit::LiteralLimit;
use crate::schema::{reception_bookings, reception_schedules};

fn like_subtree(root: &str) -> String {
    format!("{}/%", root.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// States that hold a place in a slot.
pub const HOLDING: [i16; 2] = [BookingState::Booked as i16, BookingState::Received as i16];

pub fn insert_schedule(conn: &mut PgConnection, row: &ScheduleRow) -> Result<(), AppError> {
    diesel::insert_into(reception_schedules::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_schedule(conn: &mut PgConnection, id: Uuid) -> Result<Option<ScheduleRow>, AppError> {
    Ok(reception_schedules::table.find(id).select(ScheduleRow::as_select()).first(conn).optional()?)
}

/// Locks schedule `id`: bookings of its slots wait for each other here, so
/// that counting the places and taking one is one step.
pub fn lock_schedule(conn: &mut PgConnection, id: Uuid) -> Result<Option<ScheduleRow>, AppError> {
    Ok(reception_schedules::table.find(id).select(ScheduleRow::as_select()).for_update().first(conn).optional()?)
}

pub fn save_schedule(conn: &mut PgConnection, id: Uuid, change: &ScheduleChange) -> Result<ScheduleRow, AppError> {
    Ok(diesel::update(reception_schedules::table.find(id))
        .set(change)
        .returning(ScheduleRow::as_returning())
        .get_result(conn)?)
}

/// Typed schedule filters.
#[derive(Debug, Clone, Default)]
pub struct ScheduleFilter {
    pub ids: Option<Vec<Uuid>>,
    pub leader_account_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub region_root: Option<String>,
    pub include_retired: bool,
}

/// Schedules in id order, after `after`.
pub fn list_schedules(
    conn: &mut PgConnection,
    filter: &ScheduleFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ScheduleRow>, AppError> {
    let mut query =
        reception_schedules::table.select(ScheduleRow::as_select()).order(reception_schedules::id).into_boxed::<Pg>();
    if let Some(ids) = &filter.ids {
        query = query.filter(reception_schedules::id.eq_any(ids.clone()));
    }
    if let Some(leader) = filter.leader_account_id {
        query = query.filter(reception_schedules::leader_account_id.eq(leader));
    }
    if let Some(org) = filter.organization_id {
        query = query.filter(reception_schedules::organization_id.eq(org));
    }
    if let Some(root) = &filter.region_root {
        query = query.filter(
            reception_schedules::region_path
                .eq(root.clone())
                .or(reception_schedules::region_path.like(like_subtree(root))),
        );
    }
    if !filter.include_retired {
        query = query.filter(reception_schedules::retired.eq(false));
    }
    if let Some(after) = after {
        query = query.filter(reception_schedules::id.gt(after));
    }
    Ok(query.limit(limit).load(conn)?)
}

/// Places taken (BOOKED or RECEIVED) per (schedule, date, minute) between
/// two dates.
pub fn taken(
    conn: &mut PgConnection,
    schedules: &[Uuid],
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<(Uuid, NaiveDate, i16, i64)>, AppError> {
    Ok(reception_bookings::table
        .filter(reception_bookings::schedule_id.eq_any(schedules))
        .filter(reception_bookings::slot_date.between(from, until))
        .filter(reception_bookings::state.eq_any(HOLDING))
        .group_by((reception_bookings::schedule_id, reception_bookings::slot_date, reception_bookings::slot_minute))
        .select((
            reception_bookings::schedule_id,
            reception_bookings::slot_date,
            reception_bookings::slot_minute,
            count_star(),
        ))
        .load(conn)?)
}

/// Places taken in one slot.
pub fn taken_in_slot(conn: &mut PgConnection, schedule: Uuid, date: NaiveDate, minute: i16) -> Result<i64, AppError> {
    Ok(reception_bookings::table
        .filter(reception_bookings::schedule_id.eq(schedule))
        .filter(reception_bookings::slot_date.eq(date))
        .filter(reception_bookings::slot_minute.eq(minute))
        .filter(reception_bookings::state.eq_any(HOLDING))
        .count()
        .get_result(conn)?)
}

/// The citizen's BOOKED bookings: in all, and of matter `key`.
pub fn citizen_open(conn: &mut PgConnection, citizen: Uuid, key: &str) -> Result<(i64, bool), AppError> {
    let keys: Vec<String> = reception_bookings::table
        .filter(reception_bookings::citizen_account_id.eq(citizen))
        .filter(reception_bookings::state.eq(BookingState::Booked.as_i16()))
        .select(reception_bookings::matter_key)
        .load(conn)?;
    Ok((i64::try_from(keys.len()).unwrap_or(i64::MAX), keys.iter().any(|k| k == key)))
}

pub fn insert_booking(conn: &mut PgConnection, row: &BookingRow) -> Result<(), AppError> {
    diesel::insert_into(reception_bookings::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_booking(conn: &mut PgConnection, id: Uuid) -> Result<Option<BookingRow>, AppError> {
    Ok(reception_bookings::table.find(id).select(BookingRow::as_select()).first(conn).optional()?)
}

pub fn lock_booking(conn: &mut PgConnection, id: Uuid) -> Result<Option<BookingRow>, AppError> {
    Ok(reception_bookings::table.find(id).select(BookingRow::as_select()).for_update().first(conn).optional()?)
}

pub fn save_booking(conn: &mut PgConnection, id: Uuid, change: &BookingChange) -> Result<BookingRow, AppError> {
    Ok(diesel::update(reception_bookings::table.find(id))
        .set(change)
        .returning(BookingRow::as_returning())
        .get_result(conn)?)
}

/// Which bookings a caller may list: the SQL form of
/// `policy::can_see_reception_booking`.
#[derive(Debug, Clone)]
pub enum Visibility {
    All,
    Some { citizen: Uuid, leader: Uuid, jurisdiction: Option<String> },
}

impl Visibility {
    pub fn of(principal: &Principal) -> Visibility {
        if principal.is_admin() {
            return Visibility::All;
        }
        let oversees = policy::RECEPTION_OVERSIGHT.iter().any(|role| principal.has_role(*role));
        Visibility::Some {
            citizen: principal.account_id,
            leader: principal.account_id,
            jurisdiction: principal.jurisdiction.clone().filter(|_| oversees),
        }
    }
}

/// Typed booking filters.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    pub schedule_id: Option<Uuid>,
    pub leader_account_id: Option<Uuid>,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub states: Vec<i16>,
}

/// Bookings by slot start, after `(starts_at, id)`.
pub fn list_bookings(
    conn: &mut PgConnection,
    visibility: &Visibility,
    filter: &BookingFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<BookingRow>, AppError> {
    let mut query = reception_bookings::table
        .select(BookingRow::as_select())
        .order((reception_bookings::starts_at, reception_bookings::id))
        .into_boxed::<Pg>();
    if let Visibility::Some { citizen, leader, jurisdiction } = visibility {
        let own =
            reception_bookings::citizen_account_id.eq(*citizen).or(reception_bookings::leader_account_id.eq(*leader));
        query = match jurisdiction {
            Some(root) => query.filter(
                own.or(reception_bookings::region_path.eq(root.clone()))
                    .or(reception_bookings::region_path.like(like_subtree(root))),
            ),
            None => query.filter(own),
        };
    }
    if let Some(id) = filter.schedule_id {
        query = query.filter(reception_bookings::schedule_id.eq(id));
    }
    if let Some(id) = filter.leader_account_id {
        query = query.filter(reception_bookings::leader_account_id.eq(id));
    }
    if let Some(from) = filter.from {
        query = query.filter(reception_bookings::slot_date.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(reception_bookings::slot_date.le(until));
    }
    if !filter.states.is_empty() {
        query = query.filter(reception_bookings::state.eq_any(filter.states.clone()));
    }
    if let Some((at, id)) = after {
        query = query.filter(
            reception_bookings::starts_at
                .gt(at)
                .or(reception_bookings::starts_at.eq(at).and(reception_bookings::id.gt(id))),
        );
    }
    let limit = u32::try_from(limit).map_err(AppError::internal)?;
    Ok(LiteralLimit::new(query, limit).load(conn)?)
}
