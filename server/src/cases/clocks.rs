//! The statutory clocks of a case: each deadline from the day its clock
//! starts (pure). The rules start them as commands are decided; when a
//! year's holiday schedule is loaded, [`recompute`] runs the same clocks
//! again over the recorded events on the new calendar.

use chrono::{DateTime, NaiveDate, Utc};

use super::domain::{RoutingMode, Track};
use super::rules::{
    self, ACCEPT_WITHIN, Context, Deadlines, Event, Lifecycle, NORMAL_REPLY_WITHIN, OBJECT_WITHIN, REVIEW_WINDOW,
    REVIEW_WITHIN, ROUTE_WITHIN, RULE_ASSIGNMENT_REPORT_WITHIN, SIMPLE_REPLY_WITHIN,
};
use crate::calendar::rules::{Period, WorkCalendar};
use crate::time::shanghai_date;

/// The longest a case's clock runs before its deadline, in calendar days:
/// 60 days to reply plus a 30-day extension, each end moved past up to a
/// long holiday, with margin. A stored deadline counted over a year whose
/// schedule is not loaded started at most this long before it.
pub const LONGEST_CLOCK_DAYS: u64 = 130;

/// Art.22: routed within 15 days of registration (or of being registered
/// again).
pub fn route_by(calendar: &WorkCalendar, registered_on: NaiveDate) -> NaiveDate {
    calendar.deadline(registered_on, ROUTE_WITHIN)
}

/// Art.23: accepted and objected to by these days after routing.
pub fn accept_and_object_by(ctx: &Context<'_>, routed_on: NaiveDate) -> (NaiveDate, NaiveDate) {
    (ctx.calendar.deadline(routed_on, ACCEPT_WITHIN), ctx.calendar.deadline(routed_on, OBJECT_WITHIN))
}

/// The completion report of an assignment a routing rule made.
pub fn rule_report_by(ctx: &Context<'_>, routed_on: NaiveDate) -> NaiveDate {
    ctx.calendar.deadline(routed_on, RULE_ASSIGNMENT_REPORT_WITHIN)
}

/// The opinion, from acceptance, on the case's track (Art.34).
pub fn reply_by(ctx: &Context<'_>, accepted_on: NaiveDate, track: Track) -> NaiveDate {
    let period = match track {
        Track::Urgent => Period::Days(ctx.urgent_reply_days),
        Track::Simple => SIMPLE_REPLY_WITHIN,
        Track::Normal => NORMAL_REPLY_WITHIN,
    };
    ctx.calendar.deadline(accepted_on, period)
}

/// An extension of `days` from the current opinion deadline (Art.34).
pub fn extended_reply_by(ctx: &Context<'_>, current: NaiveDate, days: u32) -> NaiveDate {
    ctx.calendar.deadline(current, Period::Days(days))
}

/// Review or re-review may be requested until this, from the opinion's
/// service (Art.35–36).
pub fn request_window(ctx: &Context<'_>, served_at: DateTime<Utc>) -> NaiveDate {
    ctx.calendar.deadline(shanghai_date(served_at), REVIEW_WINDOW)
}

/// A review or re-review opinion is due this, from the request.
pub fn decision_due(ctx: &Context<'_>, requested_on: NaiveDate) -> NaiveDate {
    ctx.calendar.deadline(requested_on, REVIEW_WITHIN)
}

/// Calendar days left on a re-review clock stopped on `on`.
pub fn days_left(due: NaiveDate, on: NaiveDate) -> i64 {
    (due - on).num_days()
}

/// A re-review clock running again on `on` with `days_left` (Art.36 ¶2:
/// hearing time does not count). A clock already run out stays overdue
/// by as many days.
pub fn resumed_recheck_by(ctx: &Context<'_>, on: NaiveDate, days_left: i64) -> NaiveDate {
    match u32::try_from(days_left) {
        Ok(days) if days > 0 => ctx.calendar.deadline(on, Period::Days(days)),
        _ => on + chrono::Duration::days(days_left),
    }
}

/// A recorded event and the day (Beijing) it was recorded: the `today` its
/// rule saw.
pub struct Dated<'a> {
    pub day: NaiveDate,
    pub event: &'a Event,
}

/// The deadlines the recorded events give on `ctx`'s calendar: every clock
/// started again from the day it started. Earlier recomputations are left
/// out (this is one). A petitioner's window is never shorter than `told`,
/// what they were last told; an organization's deadline follows the
/// calendar either way.
pub fn recompute(history: &[Dated<'_>], ctx: &Context<'_>, told: &Deadlines) -> Option<Deadlines> {
    let mut life: Option<Lifecycle> = None;
    for Dated { day, event } in history {
        if matches!(event, Event::DeadlinesRecomputed { .. }) {
            continue;
        }
        let redone = again(event, *day, life.as_ref(), ctx);
        life = Some(rules::apply(life, &redone));
    }
    let mut deadlines = life?.deadlines;
    deadlines.review_request_by = deadlines.review_request_by.max(told.review_request_by);
    deadlines.recheck_request_by = deadlines.recheck_request_by.max(told.recheck_request_by);
    Some(deadlines)
}

/// `event` with the clocks it started run again from `day` on `ctx`'s
/// calendar, after `before`.
fn again(event: &Event, day: NaiveDate, before: Option<&Lifecycle>, ctx: &Context<'_>) -> Event {
    let mut event = event.clone();
    let accepted_on = before.and_then(|b| b.accepted_on);
    let track = before.map_or(Track::Normal, |b| b.track);
    match &mut event {
        Event::Registered { registered_on, route_by: due, .. } => *due = route_by(ctx.calendar, *registered_on),
        Event::TrackSet { track, reply_by: due, .. } => *due = accepted_on.map(|a| reply_by(ctx, a, *track)),
        Event::Routed { mode, routed_on, accept_by, object_by, report_by, by_rule, .. } => {
            (*accept_by, *object_by) = accept_and_object_by(ctx, *routed_on);
            if *by_rule && *mode == RoutingMode::Assign {
                *report_by = Some(rule_report_by(ctx, *routed_on));
            }
        }
        Event::Accepted { accepted_on, reply_by: due, .. } => *due = reply_by(ctx, *accepted_on, track),
        Event::DeadlineExtended { days, reply_by: due, .. } => {
            let current = before.and_then(|b| b.deadlines.reply_by).unwrap_or(day);
            *due = extended_reply_by(ctx, current, *days);
        }
        Event::Replied { opinion, review_request_by } => *review_request_by = request_window(ctx, opinion.served_at),
        Event::ReviewRequested { requested_on, review_by, .. } => {
            *review_by = decision_due(ctx, requested_on.unwrap_or(day));
        }
        Event::ReviewReplied { opinion, recheck_request_by } => {
            *recheck_request_by = request_window(ctx, opinion.served_at);
        }
        Event::RecheckRequested { requested_on, recheck_by, .. } => {
            *recheck_by = decision_due(ctx, requested_on.unwrap_or(day));
        }
        Event::RecheckPaused { days_left: left, .. } => {
            *left = days_left(before.and_then(|b| b.deadlines.recheck_by).unwrap_or(day), day);
        }
        Event::RecheckResumed { recheck_by, .. } => {
            let left = before.and_then(|b| b.recheck_paused_days_left).unwrap_or(0);
            *recheck_by = resumed_recheck_by(ctx, day, left);
        }
        Event::RepeatUnlinked { route_by: due, .. } => *due = route_by(ctx.calendar, day),
        _ => {}
    }
    event
}

/// The deadlines that may move when `year` is loaded: those whose clock
/// may have counted a day of it.
pub fn touched_by(year: i32) -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
    let last = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX);
    (first, last.checked_add_days(chrono::Days::new(LONGEST_CLOCK_DAYS)).unwrap_or(NaiveDate::MAX))
}

/// The names of `deadlines` (as in `petition.v1.CaseDeadlines`) still
/// ahead on `today` that may have assumed the plain week in a year whose
/// schedule is not loaded.
pub fn provisional(deadlines: &Deadlines, today: NaiveDate, schedules: &crate::calendar::Schedules) -> Vec<String> {
    let named = [
        ("route_by", deadlines.route_by),
        ("accept_by", deadlines.accept_by),
        ("object_by", deadlines.object_by),
        ("reply_by", deadlines.reply_by),
        ("report_by", deadlines.report_by),
        ("review_request_by", deadlines.review_request_by),
        ("review_by", deadlines.review_by),
        ("recheck_request_by", deadlines.recheck_request_by),
        ("recheck_by", deadlines.recheck_by),
    ];
    named
        .into_iter()
        .filter_map(|(name, due)| due.map(|due| (name, due)))
        .filter(|(_, due)| schedules.marks(*due, today, LONGEST_CLOCK_DAYS))
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{Days, TimeZone};
    use uuid::Uuid;

    use super::*;
    use crate::calendar::rules::DayKind;
    use crate::cases::domain::{CaseKind, Decision};
    use crate::cases::rules::{Command, OpinionDraft, Organization, Subject, decide, register};
    use crate::directory::rules::OrganizationKind;

    const UNIT: Uuid = Uuid::from_u128(1);

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_else(|| panic!("bad date {y}-{m}-{day}"))
    }

    fn served(on: NaiveDate) -> OpinionDraft {
        let served_at = crate::time::shanghai()
            .from_local_datetime(&on.and_hms_opt(10, 0, 0).unwrap_or_default())
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        OpinionDraft {
            request: "r".into(),
            facts: "f".into(),
            decision: Decision::Supported,
            legal_basis: "b".into(),
            served_at,
            stated_organization_id: None,
            mediation_dispute_id: None,
        }
    }

    /// A case taken from registration to a resumed re-review, one step a
    /// week from `start`, on `calendar`: its recorded history.
    fn walk(start: NaiveDate, calendar: &WorkCalendar) -> Vec<(NaiveDate, Event)> {
        let subject = Subject {
            id: Uuid::from_u128(9),
            kind: CaseKind::Claim,
            region_path: "360700/360702/360702001".into(),
            petitioner_id: Uuid::from_u128(10),
        };
        let unit =
            Organization { id: UNIT, kind: OrganizationKind::ResponsibleUnit, region_path: "360700/360702".into() };
        let week = |n: u64| start.checked_add_days(Days::new(7 * n)).unwrap_or(start);
        let steps = [
            Command::Route {
                organization_id: UNIT,
                target: Some(unit),
                mode: RoutingMode::Forward,
                report_by: None,
                note: String::new(),
            },
            Command::Accept { note: String::new() },
            Command::Extend { days: 30, reason: "r".into() },
            Command::Reply { opinion: served(week(4)) },
            Command::RequestReview { reason: "r".into(), reviewing_organization_id: Some(Uuid::from_u128(2)) },
            Command::ReplyToReview { opinion: served(week(6)) },
            Command::RequestRecheck { reason: "r".into(), reviewing_organization_id: Some(Uuid::from_u128(3)) },
            Command::PauseRecheck { reason: "hearing".into() },
            Command::ResumeRecheck { note: String::new() },
        ];
        let mut history = vec![(start, register(Track::Normal, start, calendar))];
        let mut life = rules::fold(history.iter().map(|(_, e)| e));
        for (n, command) in steps.into_iter().enumerate() {
            let today = week(n as u64 + 1);
            let ctx = Context { today, calendar, urgent_reply_days: 7 };
            let case = life.clone().unwrap_or_else(|| panic!("registered"));
            let events = decide(&subject, &case, command, &ctx).unwrap_or_else(|e| panic!("step {n}: {e:?}"));
            for event in events {
                life = Some(rules::apply(life, &event));
                history.push((today, event));
            }
        }
        history
    }

    fn dated(history: &[(NaiveDate, Event)]) -> Vec<Dated<'_>> {
        history.iter().map(|(day, event)| Dated { day: *day, event }).collect()
    }

    fn deadlines(history: &[(NaiveDate, Event)]) -> Deadlines {
        rules::fold(history.iter().map(|(_, e)| e)).map(|l| l.deadlines).unwrap_or_default()
    }

    /// A made-up schedule for 2027: a long Spring Festival and a worked
    /// Saturday, enough to move deadlines both ways.
    fn schedule_2027() -> WorkCalendar {
        let mut days: Vec<(NaiveDate, DayKind)> = (5..=12).map(|n| (d(2027, 2, n), DayKind::Holiday)).collect();
        days.extend((15..=19).map(|n| (d(2027, 3, n), DayKind::Holiday)));
        days.push((d(2027, 1, 30), DayKind::Workday));
        days.push((d(2027, 2, 20), DayKind::Workday));
        WorkCalendar::new(days.into_iter().filter(|(day, kind)| kind.fits(*day)))
    }

    #[test]
    fn on_the_same_calendar_the_clocks_give_what_was_decided() {
        for calendar in [WorkCalendar::default(), schedule_2027()] {
            for offset in 0..60 {
                let start = d(2026, 11, 1).checked_add_days(Days::new(offset)).unwrap_or_default();
                let history = walk(start, &calendar);
                let ctx = Context { today: start, calendar: &calendar, urgent_reply_days: 7 };
                let told = deadlines(&history);
                assert_eq!(recompute(&dated(&history), &ctx, &told), Some(told.clone()), "from {start}");
                // Even against a "told" of nothing (no floor).
                assert_eq!(recompute(&dated(&history), &ctx, &Deadlines::default()), Some(told), "from {start}");
            }
        }
    }

    #[test]
    fn a_loaded_schedule_moves_organization_deadlines_but_never_shortens_a_petitioners_window() {
        let plain = WorkCalendar::default();
        let loaded = schedule_2027();
        let ctx = Context { today: d(2026, 12, 6), calendar: &loaded, urgent_reply_days: 7 };
        let mut moved_later = 0;
        let mut windows_kept = 0;
        for offset in 0..60 {
            let start = d(2026, 11, 20).checked_add_days(Days::new(offset)).unwrap_or_default();
            let history = walk(start, &plain);
            let told = deadlines(&history);
            let fresh = deadlines(&walk(start, &loaded));
            let got = recompute(&dated(&history), &ctx, &told).unwrap_or_default();
            // Organizations: exactly what deciding on the loaded calendar gives.
            for (name, now, want) in [
                ("route_by", got.route_by, fresh.route_by),
                ("accept_by", got.accept_by, fresh.accept_by),
                ("object_by", got.object_by, fresh.object_by),
                ("reply_by", got.reply_by, fresh.reply_by),
                ("review_by", got.review_by, fresh.review_by),
                ("recheck_by", got.recheck_by, fresh.recheck_by),
            ] {
                assert_eq!(now, want, "{name} from {start}");
            }
            moved_later += usize::from(got.reply_by > told.reply_by);
            // The petitioner: the later of what they were told and the new clock.
            for (now, was, new) in [
                (got.review_request_by, told.review_request_by, fresh.review_request_by),
                (got.recheck_request_by, told.recheck_request_by, fresh.recheck_request_by),
            ] {
                assert_eq!(now, was.max(new), "from {start}");
                windows_kept += usize::from(new < was);
            }
        }
        assert!(moved_later > 0, "the Spring Festival pushes some opinion deadlines");
        assert!(windows_kept > 0, "the worked Saturday would shorten some window");
    }

    #[test]
    fn the_years_a_schedule_touches_reach_back_from_the_next_one() {
        assert_eq!(touched_by(2027), (d(2027, 1, 1), d(2028, 5, 9)));
    }

    #[test]
    fn provisional_deadlines_are_named_while_ahead() {
        let schedules = crate::calendar::Schedules::new([2025, 2026]);
        let deadlines = Deadlines {
            route_by: Some(d(2026, 12, 20)),
            reply_by: Some(d(2027, 2, 4)),
            review_request_by: Some(d(2026, 11, 1)),
            ..Deadlines::default()
        };
        assert_eq!(provisional(&deadlines, d(2026, 12, 6), &schedules), vec!["reply_by".to_owned()]);
        let loaded = crate::calendar::Schedules::new([2025, 2026, 2027]);
        assert!(provisional(&deadlines, d(2026, 12, 6), &loaded).is_empty());
    }
}
