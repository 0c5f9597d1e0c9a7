//! The demo's reception days: a city leader's weekly schedule and a
//! county leader's daily one, a citizen's coming booking and another's
//! past reception, resolved on site.

use std::collections::HashMap;

use chrono::{Days, Utc};
use diesel::PgConnection;

use super::aggregate::{self, Booking, Opening};
use super::domain::{Outcome, Recurrence};
use super::rules::{self, Command, Reception, ScheduleSpec, SlotTemplate};
use super::schedule;
use crate::auth::Principal;
use crate::error::AppError;
use crate::event_log::Journal;
use crate::pipeline::Aggregate;
use crate::time::shanghai_today;

fn person<'a>(people: &'a HashMap<&str, Principal>, key: &str) -> Result<&'a Principal, AppError> {
    people.get(key).ok_or_else(|| AppError::internal(format!("demo person {key}")))
}

/// Seeds the schedules and bookings.
pub fn seed(conn: &mut PgConnection, journal: &mut Journal, people: &HashMap<&str, Principal>) -> Result<(), AppError> {
    let now = Utc::now();
    let today = shanghai_today();
    let from = today.checked_sub_days(Days::new(30)).unwrap_or(today);
    let slot = |hh: u16, minutes: u16, capacity: u16| SlotTemplate { minute: hh * 60, minutes, capacity };
    let city = ScheduleSpec {
        leader_account_id: person(people, "city.leader")?.account_id,
        title: "市领导接访日".into(),
        address: "赣州市信访局一楼接待大厅".into(),
        region_code: "360700".into(),
        recurrence: Recurrence::Weekly,
        weekdays: vec![3],
        dates: vec![],
        slots: vec![slot(9, 60, 5), slot(15, 60, 5)],
        valid_from: from,
        valid_until: None,
    };
    schedule::create(conn, person(people, "city.clerk")?, None, city, now)?;
    let county = ScheduleSpec {
        leader_account_id: person(people, "zg.gov")?.account_id,
        title: "区领导每日接访".into(),
        address: "章贡区信访局接待室".into(),
        region_code: "360702".into(),
        recurrence: Recurrence::Workdays,
        weekdays: vec![],
        dates: vec![],
        slots: vec![slot(9, 30, 3), slot(10, 30, 3)],
        valid_from: from,
        valid_until: None,
    };
    let county = schedule::create(conn, person(people, "zg.clerk")?, None, county, now)?;
    let calendar = crate::calendar::store::load_calendar_around(conn, today)?;
    let spec = county.spec.0.clone();
    let next = today.checked_add_days(Days::new(1)).unwrap_or(today);
    let coming = spec.days(&calendar, next, next.checked_add_days(Days::new(14)).unwrap_or(next));
    let past = spec.days(&calendar, from, today.checked_sub_days(Days::new(1)).unwrap_or(today));
    let first_slot = spec.slots.first().copied().ok_or_else(|| AppError::internal("demo slot"))?;
    let book = |citizen: &Principal, date, title: &str, description: &str| Opening {
        citizen_account_id: citizen.account_id,
        date,
        slot: first_slot,
        title: title.into(),
        description: description.into(),
        case_id: None,
        matter_key: rules::matter_key(None, title),
    };
    let liu = person(people, "13807970001")?;
    let huang = person(people, "13807970002")?;
    if let Some(day) = coming.first() {
        let opening = book(liu, *day, "小区停车位被长期占用", "小区公共停车位被个别业主加装地锁长期占用，物业不管。");
        aggregate::open(conn, journal, &county, opening, now)?;
    }
    if let Some(day) = past.last() {
        let starts = rules::slot_start(*day, first_slot.minute);
        let booked_at = starts - chrono::Duration::days(2);
        journal.set_clock(Some(booked_at));
        let opening = book(huang, *day, "门前路灯损坏", "门前路灯损坏一个月，夜间出行不便。");
        let booking = aggregate::open(conn, journal, &county, opening, booked_at)?;
        let received_at = starts + chrono::Duration::minutes(10);
        journal.set_clock(Some(received_at));
        let leader = person(people, "zg.gov")?;
        let reception = Reception {
            outcome: Outcome::ResolvedOnSite,
            attendees: vec!["区城管局 路灯所负责人".into()],
            notes: "当场协调城管局三日内修复，群众表示满意。".into(),
            case_id: None,
            ownership_taken: false,
            by: leader.account_id,
            at: received_at,
        };
        let booking = Booking::lock(conn, booking.row.id)?;
        let events = rules::decide(booking.row.id, booking.life(), Command::Record(reception), received_at)?;
        booking.save(conn, journal, Some(leader.account_id), &events)?;
        journal.set_clock(None);
    }
    Ok(())
}
