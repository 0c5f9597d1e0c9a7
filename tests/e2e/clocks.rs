//! The legal clocks against the times clients send and the calendar the
//! server does not have yet: an opinion's service time cannot take away the
//! petitioner's window, and a deadline counted over a year whose holiday
//! schedule is not loaded says so and is recomputed when it is.

use anyhow::Result;
use chrono::{Datelike, Days, NaiveDate, Weekday};
use diesel::prelude::*;
use petition_sdk::{Client, pb};
use petition_tests::*;
use prost_types::Timestamp;

use crate::support::{assert_typed_event, expect_invalid};

fn today() -> NaiveDate {
    petition_server::time::shanghai_today()
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn seconds_ago(seconds: i64) -> Timestamp {
    let now = chrono::Utc::now().timestamp();
    Timestamp { seconds: now - seconds, nanos: 0 }
}

async fn accepted_case(w: &CaseWorld) -> Result<pb::Case> {
    let case = w
        .owner
        .cases()
        .submit_case(pb::SubmitCaseRequest { draft: Some(claim("管道漏水")), ..Default::default() })
        .await?;
    w.clerk
        .cases()
        .forward_case(pb::ForwardCaseRequest {
            case_id: case.id.clone(),
            organization_id: w.dir.unit_a.id.clone(),
            ..Default::default()
        })
        .await?;
    Ok(w.handler.cases().accept_case(pb::AcceptCaseRequest { case_id: case.id, ..Default::default() }).await?)
}

fn served_at(time: Timestamp) -> pb::Opinion {
    pb::Opinion { serve_time: Some(time), ..opinion() }
}

/// Times that would close the petitioner's review window, or are no times
/// at all, with the reason each is refused.
fn hostile_times() -> Vec<(&'static str, Timestamp)> {
    vec![
        ("40 days ago, before the case existed", seconds_ago(40 * 86_400)),
        ("1970", Timestamp { seconds: 0, nanos: 0 }),
        ("below the Timestamp minimum", Timestamp { seconds: -62_135_596_801, nanos: 0 }),
        ("above the Timestamp maximum", Timestamp { seconds: 253_402_300_800, nanos: 0 }),
        ("negative nanos", Timestamp { seconds: chrono::Utc::now().timestamp(), nanos: -1 }),
        ("nanos of a whole second", Timestamp { seconds: chrono::Utc::now().timestamp(), nanos: 1_000_000_000 }),
        ("an hour ahead", seconds_ago(-3600)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opinion_cannot_be_served_before_the_step_it_answers_or_after_now() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = accepted_case(&w).await?;
    for (what, time) in hostile_times() {
        let refused = w
            .handler
            .cases()
            .reply_to_case(pb::ReplyToCaseRequest {
                case_id: case.id.clone(),
                opinion: Some(served_at(time)),
                ..Default::default()
            })
            .await;
        let error = expect_invalid(refused, &["opinion.serve_time"]);
        assert!(!error.message().is_empty(), "{what}");
    }
    // A time a few seconds ago (the letter was handed over, then recorded).
    let replied = w
        .handler
        .cases()
        .reply_to_case(pb::ReplyToCaseRequest {
            case_id: case.id.clone(),
            opinion: Some(served_at(seconds_ago(30))),
            ..Default::default()
        })
        .await?;
    let window = replied.deadlines.clone().unwrap_or_default().review_request_by;
    assert!(window.as_str() >= iso(today() + Days::new(30)).as_str(), "the window runs 30 days from today: {window}");
    // And the petitioner can still ask for review.
    let reviewing = w
        .owner
        .cases()
        .request_review(pb::RequestReviewRequest {
            case_id: case.id.clone(),
            reason: "对处理意见不服".into(),
            ..Default::default()
        })
        .await?;
    // The review opinion answers the request made today: not yesterday.
    for (what, time) in [("yesterday", seconds_ago(86_400 + 3600)), ("1970", Timestamp::default())] {
        let refused = w
            .reviewer
            .cases()
            .reply_to_review(pb::ReplyToReviewRequest {
                case_id: reviewing.id.clone(),
                opinion: Some(served_at(time)),
                ..Default::default()
            })
            .await;
        expect_invalid(refused, &["opinion.serve_time"]);
        let _ = what;
    }
    let reviewed = w
        .reviewer
        .cases()
        .reply_to_review(pb::ReplyToReviewRequest {
            case_id: reviewing.id.clone(),
            opinion: Some(served_at(seconds_ago(5))),
            ..Default::default()
        })
        .await?;
    let rechecking = w
        .owner
        .cases()
        .request_recheck(pb::RequestRecheckRequest {
            case_id: reviewed.id.clone(),
            reason: "仍不服".into(),
            ..Default::default()
        })
        .await?;
    let refused = w
        .rechecker
        .cases()
        .reply_to_recheck(pb::ReplyToRecheckRequest {
            case_id: rechecking.id.clone(),
            opinion: Some(served_at(seconds_ago(3 * 86_400))),
            ..Default::default()
        })
        .await;
    expect_invalid(refused, &["opinion.serve_time"]);
    // The requests carry their day, which these bounds are read from.
    let events = w
        .owner
        .cases()
        .list_case_events(pb::ListCaseEventsRequest { case_id: case.id.clone(), ..Default::default() })
        .await?
        .events;
    let requested: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.detail {
            Some(pb::case_event::Detail::ReviewRequested(r)) => Some(r.request_date.clone()),
            Some(pb::case_event::Detail::RecheckRequested(r)) => Some(r.request_date.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(requested, vec![iso(today()), iso(today())]);
    Ok(())
}

/// A server whose database knows no holiday schedule from this year on:
/// every clock from today runs over days the server knows nothing about.
async fn server_without_this_years_schedule() -> Result<TestServer> {
    let database = tokio::task::spawn_blocking(TestDatabase::create).await??;
    let year = today().year();
    let mut conn = database.connect()?;
    diesel::sql_query("DELETE FROM calendar_years WHERE year >= $1")
        .bind::<diesel::sql_types::Integer, _>(year)
        .execute(&mut conn)?;
    diesel::sql_query("DELETE FROM calendar_days WHERE EXTRACT(YEAR FROM day) >= $1")
        .bind::<diesel::sql_types::Integer, _>(year)
        .execute(&mut conn)?;
    let data_dir = std::env::temp_dir().join(format!("petition-test-{}", uuid::Uuid::now_v7().simple()));
    let config = petition_tests::server::test_config(database.url(), &data_dir);
    TestServer::start(config, Some(database), data_dir).await
}

/// The next working day after `date` in a week with no exceptions.
fn next_weekday(date: NaiveDate) -> NaiveDate {
    let mut day = date + Days::new(1);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        day = day + Days::new(1);
    }
    day
}

async fn compute(client: &Client, start: NaiveDate, days: i32) -> Result<pb::ComputeDeadlineResponse> {
    Ok(client
        .calendar()
        .compute_deadline(pb::ComputeDeadlineRequest { start_date: iso(start), days, workdays: 0 })
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_over_a_year_without_a_schedule_are_provisional_until_it_is_loaded() -> Result<()> {
    let server = server_without_this_years_schedule().await?;
    let w = CaseWorld::create(&server).await?;
    let admin = &w.admin;

    // ComputeDeadline says which answers rest on the plain week.
    let ahead = compute(admin, today(), 60).await?;
    assert!(ahead.provisional, "{ahead:?}");
    let past = compute(admin, NaiveDate::from_ymd_opt(2025, 3, 3).unwrap_or_default(), 30).await?;
    assert!(!past.provisional, "2025 is loaded: {past:?}");

    // So does the case: its opinion deadline (60 days) is provisional.
    let case = accepted_case(&w).await?;
    let deadlines = case.deadlines.clone().unwrap_or_default();
    assert_eq!(deadlines.reply_by, ahead.deadline_date);
    assert!(deadlines.provisional.contains(&"reply_by".to_owned()), "{deadlines:?}");
    let unrelated = w
        .owner
        .cases()
        .submit_case(pb::SubmitCaseRequest { draft: Some(claim("路灯不亮")), ..Default::default() })
        .await?;

    // The admin loads the schedule: every year from this one to the
    // deadline's, the deadline's day itself made a holiday.
    let reply_by = NaiveDate::parse_from_str(&deadlines.reply_by, "%Y-%m-%d")?;
    let mut recomputed = 0;
    for year in today().year()..=reply_by.year() {
        let days = if year == reply_by.year() {
            vec![pb::CalendarDay {
                date: iso(reply_by),
                kind: pb::CalendarDayKind::Holiday.into(),
                note: "春节".into(),
            }]
        } else {
            vec![]
        };
        recomputed += admin.calendar().set_calendar_year(year, days).await?.cases_recomputed;
    }
    assert_eq!(recomputed, 1, "only the accepted case's clock counted the holiday");

    // The opinion is now due the next working day, and nothing is provisional.
    let moved = w.handler.cases().get_case(&case.id).await?;
    let now = moved.deadlines.clone().unwrap_or_default();
    assert_eq!(now.reply_by, iso(next_weekday(reply_by)));
    assert!(now.provisional.is_empty(), "{now:?}");
    assert_eq!(moved.due_date, now.reply_by, "the due date follows");
    let again = compute(admin, today(), 60).await?;
    assert_eq!((again.deadline_date.as_str(), again.provisional), (now.reply_by.as_str(), false));
    let other = w.owner.cases().get_case(&unrelated.id).await?;
    assert!(other.deadlines.unwrap_or_default().provisional.is_empty());

    // The change is an event on the case's timeline and in the feed.
    let events = w
        .handler
        .cases()
        .list_case_events(pb::ListCaseEventsRequest { case_id: case.id.clone(), ..Default::default() })
        .await?
        .events;
    let last = events.last().cloned().unwrap_or_default();
    assert_typed_event(&last);
    match &last.detail {
        Some(pb::case_event::Detail::DeadlinesRecomputed(r)) => {
            assert_eq!(r.year, reply_by.year());
            assert_eq!(r.deadlines.clone().unwrap_or_default().reply_by, now.reply_by);
        }
        other => panic!("expected DEADLINES_RECOMPUTED, got {other:?}"),
    }
    // The feed serves an event once every older transaction in the cluster
    // has ended; other tests write in it too.
    let only = pb::ChangeFilter {
        case_event_types: vec![pb::CaseEventType::DeadlinesRecomputed.into()],
        ..Default::default()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let request = pb::ListChangesRequest { filter: Some(only.clone()), ..Default::default() };
        let page = admin.feed().list_changes(request).await?;
        if let Some(change) = page.changes.first() {
            assert_eq!(change.aggregate_id, case.id, "the recomputation reaches partners through the feed");
            assert_eq!(page.changes.len(), 1);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the recomputation never reached the feed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}
