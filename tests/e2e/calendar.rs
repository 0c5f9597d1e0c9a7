//! CalendarService: admins keep the workday calendar year by year; everyone
//! signed in reads it and computes deadlines on it; the SQL definition of
//! overdue agrees with the Rust one.

use anyhow::{Context, Result};
use diesel::prelude::*;
use petition_sdk::pb::{self, CalendarDayKind as Kind};
use petition_sdk::tonic::Code;
use petition_sdk::{Client, tonic};
use petition_server::calendar::rules::{self, DayKind};
use petition_server::calendar::store;
use petition_server::schema::calendar_days;
use petition_tests::*;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::{expect_error, expect_invalid};

fn day(date: &str, kind: Kind, note: &str) -> pb::CalendarDay {
    pb::CalendarDay { date: date.into(), kind: kind.into(), note: note.into() }
}

fn holiday(date: &str) -> pb::CalendarDay {
    day(date, Kind::Holiday, "")
}

fn workday(date: &str) -> pb::CalendarDay {
    day(date, Kind::Workday, "")
}

/// National Day + Mid-Autumn 2025: Oct 1–8 off (the weekdays listed),
/// Sep 28 (Sun) and Oct 11 (Sat) worked. Deliberately out of order.
fn national_day_2025() -> Vec<pb::CalendarDay> {
    vec![
        day("2025-10-11", Kind::Workday, "国庆节、中秋节调休上班"),
        day("2025-10-01", Kind::Holiday, " 国庆节 "),
        holiday("2025-10-02"),
        holiday("2025-10-03"),
        holiday("2025-10-06"),
        holiday("2025-10-07"),
        holiday("2025-10-08"),
        day("2025-09-28", Kind::Workday, "国庆节、中秋节调休上班"),
    ]
}

fn dates(days: &[pb::CalendarDay]) -> Vec<&str> {
    days.iter().map(|d| d.date.as_str()).collect()
}

async fn deadline(client: &Client, start: &str, days: i32, workdays: i32) -> petition_sdk::Result<String> {
    client
        .calendar()
        .compute_deadline(pb::ComputeDeadlineRequest { start_date: start.into(), days, workdays })
        .await
        .map(|r| r.deadline_date)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_set_list_and_replace_a_year() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let calendar = admin.calendar();

    // The migration seeds the official 2025 and 2026 schedules; later years
    // are left to admins.
    let seeded_2025 = calendar.list_calendar_days(2025).await?;
    assert_eq!(seeded_2025.len(), 23, "18 weekday holidays and 5 make-up days");
    assert!(seeded_2025.contains(&day("2025-10-01", Kind::Holiday, "国庆节、中秋节")));
    assert!(seeded_2025.contains(&day("2025-01-26", Kind::Workday, "春节调休上班")));
    assert_eq!(calendar.list_calendar_days(2026).await?.len(), 25);
    assert!(calendar.list_calendar_days(2027).await?.is_empty());

    let stored = calendar.set_calendar_year(2025, national_day_2025()).await?.days;
    assert_eq!(
        dates(&stored),
        [
            "2025-09-28",
            "2025-10-01",
            "2025-10-02",
            "2025-10-03",
            "2025-10-06",
            "2025-10-07",
            "2025-10-08",
            "2025-10-11"
        ],
        "ordered by date"
    );
    assert_eq!(stored[1], day("2025-10-01", Kind::Holiday, "国庆节"), "notes are trimmed");
    assert_eq!(stored[0].kind, i32::from(Kind::Workday));
    assert_eq!(calendar.list_calendar_days(2025).await?, stored);

    // Replacing drops every day not listed again, and only in that year.
    let replaced = calendar.set_calendar_year(2025, vec![day("2025-05-01", Kind::Holiday, "劳动节")]).await?.days;
    assert_eq!(replaced, [day("2025-05-01", Kind::Holiday, "劳动节")]);
    assert_eq!(calendar.list_calendar_days(2025).await?, replaced);
    assert_eq!(calendar.list_calendar_days(2026).await?.len(), 25, "other years untouched");

    let new_year_2027 = calendar.set_calendar_year(2027, vec![holiday("2027-01-01")]).await?.days;
    assert_eq!(dates(&new_year_2027), ["2027-01-01"]);
    assert_eq!(dates(&calendar.list_calendar_days(2027).await?), ["2027-01-01"]);

    assert!(calendar.set_calendar_year(2025, vec![]).await?.days.is_empty());
    assert!(calendar.list_calendar_days(2025).await?.is_empty(), "an empty year follows the plain week");
    assert_eq!(calendar.list_calendar_days(2027).await?.len(), 1);

    // Concurrent replacements of one year never mix: one wins whole.
    let a = calendar.set_calendar_year(2025, national_day_2025());
    let b = calendar.set_calendar_year(2025, vec![holiday("2025-05-01"), holiday("2025-05-02")]);
    let (a, b) = tokio::join!(a, b);
    let (a, b) = (a?.days, b?.days);
    let now = calendar.list_calendar_days(2025).await?;
    assert!(now == a || now == b, "{now:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_follow_the_calendar_admins_set() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let (citizen, _) = signed_in_citizen(&server.client().await?, "算期限").await?;
    admin.calendar().set_calendar_year(2025, national_day_2025()).await?;
    admin
        .calendar()
        .set_calendar_year(2026, vec![holiday("2026-01-01"), holiday("2026-01-02"), workday("2026-01-04")])
        .await?;

    // (start, days, workdays, deadline), worked out by hand.
    let table = [
        // Sep 20 + 15 = Oct 5, inside the holiday: the first working day after it.
        ("2025-09-20", 15, 0, "2025-10-09"),
        // Sep 20 + 7 = Sep 27, a Saturday: the next day is a make-up Sunday.
        ("2025-09-20", 7, 0, "2025-09-28"),
        ("2025-09-30", 12, 0, "2025-10-13"),
        ("2025-09-30", 11, 0, "2025-10-11"),
        // From Friday Sep 26: Sep 28 (Sun, worked), 29, 30, Oct 9, 10, 11 (Sat, worked), 13.
        ("2025-09-26", 0, 1, "2025-09-28"),
        ("2025-09-26", 0, 3, "2025-09-30"),
        ("2025-09-26", 0, 4, "2025-10-09"),
        ("2025-09-26", 0, 5, "2025-10-10"),
        ("2025-09-26", 0, 6, "2025-10-11"),
        ("2025-09-26", 0, 7, "2025-10-13"),
        ("2025-10-01", 0, 1, "2025-10-09"),
        // A period of zero ends on its start, even on a day off.
        ("2025-10-04", 0, 0, "2025-10-04"),
        // Across the year end: Jan 1–2 2026 off, Jan 3 Saturday, Jan 4 (Sun) worked.
        ("2025-12-31", 1, 0, "2026-01-04"),
        ("2025-12-31", 0, 2, "2026-01-05"),
        // Long periods: 60 days from acceptance (条例 Art. 34).
        ("2025-08-05", 60, 0, "2025-10-09"),
    ];
    for (start, days, workdays, want) in table {
        assert_eq!(deadline(&citizen, start, days, workdays).await?, want, "{start} +{days}d +{workdays}wd");
    }

    // Without the exceptions, the plain week applies.
    admin.calendar().set_calendar_year(2025, vec![]).await?;
    assert_eq!(deadline(&citizen, "2025-09-20", 15, 0).await?, "2025-10-06");
    assert_eq!(deadline(&citizen, "2025-09-26", 0, 1).await?, "2025-09-29");
    assert_eq!(deadline(&citizen, "2025-09-26", 0, 5).await?, "2025-10-03");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_change_the_calendar_and_everyone_signed_in_reads_it() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let dir = Directory::create(&admin).await?;
    let (clerk, _) = signed_in_staff(&admin, "clerk.cal", &dir.bureau_a, &[pb::Role::Clerk]).await?;
    let (handler, _) = signed_in_staff(&admin, "handler.cal", &dir.unit_a, &[pb::Role::Handler]).await?;
    let (citizen, _) = signed_in_citizen(&server.client().await?, "看日历").await?;
    let anonymous = server.client().await?;
    let before = admin.calendar().list_calendar_days(2025).await?;

    for reader in [&clerk, &handler, &citizen] {
        assert_eq!(reader.calendar().list_calendar_days(2025).await?, before);
        assert_eq!(deadline(reader, "2025-03-07", 1, 0).await?, "2025-03-10");
        let denied = expect_error(
            reader.calendar().set_calendar_year(2025, vec![holiday("2025-03-10")]).await,
            Code::PermissionDenied,
            Some("PERMISSION_DENIED"),
        );
        assert!(denied.to_string().contains("change the calendar"), "{denied}");
        // Denied before the request is even looked at.
        expect_error(reader.calendar().set_calendar_year(1, vec![]).await, Code::PermissionDenied, None);
    }
    assert_eq!(admin.calendar().list_calendar_days(2025).await?, before, "nothing changed");

    expect_error(anonymous.calendar().list_calendar_days(2025).await, Code::Unauthenticated, None);
    expect_error(anonymous.calendar().set_calendar_year(2025, vec![]).await, Code::Unauthenticated, None);
    expect_error(deadline(&anonymous, "2025-03-07", 1, 0).await, Code::Unauthenticated, None);
    let forged = anonymous.with_access_token("not-a-token")?;
    expect_error(forged.calendar().list_calendar_days(2025).await, Code::Unauthenticated, None);

    let mut health = HealthClient::new(anonymous.channel().clone());
    let status = health
        .check(tonic::Request::new(HealthCheckRequest { service: "petition.v1.CalendarService".into() }))
        .await?
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_rejected_field_by_field() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let calendar = admin.calendar();
    let before = calendar.list_calendar_days(2025).await?;

    for year in [0, 1999, 2101, -2025] {
        expect_invalid(calendar.list_calendar_days(year).await, &["year"]);
        expect_invalid(calendar.set_calendar_year(year, vec![]).await, &["year"]);
    }

    let bad = vec![
        holiday("2025-10-01"),                                                       // 0 fine
        holiday("2025-10-1"),                                                        // 1 not YYYY-MM-DD
        holiday("2026-01-01"),                                                       // 2 another year
        holiday("2025-10-04"),                                                       // 3 a holiday on a Saturday
        workday("2025-10-09"),                                                       // 4 a make-up day on a Thursday
        holiday("2025-10-01"),                                                       // 5 listed twice
        day("2025-10-02", Kind::Unspecified, ""),                                    // 6 no kind
        pb::CalendarDay { date: "2025-10-03".into(), kind: 9, note: String::new() }, // 7 unknown kind
        day("2025-10-06", Kind::Holiday, &"节".repeat(101)),                         // 8 note too long
        day("2025-10-07", Kind::Holiday, "国庆\u{7}"),                               // 9 control character
        holiday("2025-02-29"),                                                       // 10 no such day
        holiday(""),                                                                 // 11 missing
    ];
    let error = expect_invalid(
        calendar.set_calendar_year(2025, bad).await,
        &[
            "days[1].date",
            "days[2].date",
            "days[3].date",
            "days[4].date",
            "days[5].date",
            "days[6].kind",
            "days[7].kind",
            "days[8].note",
            "days[9].note",
            "days[10].date",
            "days[11].date",
        ],
    );
    let saturday = error.field_violations().into_iter().find(|v| v.field == "days[3].date");
    assert!(saturday.is_some_and(|v| v.description.contains("weekday")));
    let too_many: Vec<pb::CalendarDay> = (0..367).map(|_| holiday("2025-10-01")).collect();
    expect_invalid(calendar.set_calendar_year(2025, too_many).await, &["days"]);
    // A full note of exactly 100 characters is fine.
    calendar.set_calendar_year(2026, vec![day("2026-10-01", Kind::Holiday, &"节".repeat(100))]).await?;
    assert_eq!(calendar.list_calendar_days(2025).await?, before, "rejected requests change nothing");

    let cases: [(&str, i32, i32, &[&str]); 10] = [
        ("", 1, 0, &["start_date"]),
        ("2025/09/20", 1, 0, &["start_date"]),
        ("2025-9-20", 1, 0, &["start_date"]),
        ("2025-02-29", 1, 0, &["start_date"]),
        ("1999-12-31", 1, 0, &["start_date"]),
        ("2025-09-20", -1, 0, &["days"]),
        ("2025-09-20", 0, -5, &["workdays"]),
        ("2025-09-20", 3, 2, &["workdays"]),
        ("2025-09-20", 3661, 0, &["days"]),
        ("x", -1, i32::MAX, &["days", "start_date", "workdays"]),
    ];
    for (start, days, workdays, fields) in cases {
        expect_invalid(deadline(&admin, start, days, workdays).await, fields);
    }
    // The longest periods accepted still answer.
    assert!(!deadline(&admin, "2100-12-31", 3660, 0).await?.is_empty());
    assert!(!deadline(&admin, "2025-01-01", 0, 3660).await?.is_empty());
    Ok(())
}

/// The SQL `overdue` filter and `rules::is_overdue` agree around today:
/// yesterday's due date is overdue, today's is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sql_overdue_filter_agrees_with_the_rust_definition() -> Result<()> {
    #[derive(QueryableByName)]
    struct Overdue {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        overdue: bool,
    }

    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    // At most a retry: Beijing's date may change while the test runs.
    for _ in 0..3 {
        let today = petition_server::time::shanghai_today();
        let year: i32 = rules::format_date(today)[..4].parse()?;
        // Exceptions on the days around today (in today's year), each of the
        // kind its weekday allows.
        let mut around = Vec::new();
        let mut date = today;
        for _ in 0..7 {
            date = date.pred_opt().context("date underflow")?;
        }
        for _ in 0..15 {
            let iso = rules::format_date(date);
            if iso.starts_with(&year.to_string()) {
                let kind = if DayKind::Holiday.fits(date) { Kind::Holiday } else { Kind::Workday };
                around.push((date, day(&iso, kind, "")));
            }
            date = date.succ_opt().context("date overflow")?;
        }
        admin.calendar().set_calendar_year(year, around.iter().map(|(_, d)| d.clone()).collect()).await?;
        let expected_overdue = around.iter().filter(|(date, _)| rules::is_overdue(*date, today)).count() as i64;

        let database = server.database.as_ref().context("the server has its own database")?;
        let mut conn = database.connect()?;
        let (first, last) = (around[0].0, around[around.len() - 1].0);
        let counted: i64 = calendar_days::table
            .filter(calendar_days::day.between(first, last))
            .filter(store::overdue(calendar_days::day))
            .count()
            .get_result(&mut conn)?;
        let mut raw_sql_agrees = true;
        for (date, _) in &around {
            let row: Overdue = diesel::sql_query(format!(
                "SELECT {} AS overdue",
                store::overdue_sql(&format!("DATE '{}'", rules::format_date(*date)))
            ))
            .get_result(&mut conn)?;
            raw_sql_agrees &= row.overdue == rules::is_overdue(*date, today);
        }
        if petition_server::time::shanghai_today() != today {
            continue;
        }
        assert_eq!(counted, expected_overdue, "diesel expression around {today}");
        assert!(raw_sql_agrees, "SQL fragment around {today}");
        assert!(!rules::is_overdue(today, today), "the due day itself is on time");
        return Ok(());
    }
    anyhow::bail!("Beijing's date kept changing during the test")
}
