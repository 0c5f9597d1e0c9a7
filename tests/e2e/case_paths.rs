//! CaseService paths beyond the main one: each track's clock, every decline
//! reason, objection and re-routing, the extension, the review chain and its
//! windows, deadlines across holidays and make-up workdays, withdrawal,
//! routing rules (即时交办) and the secrecy of accusations (Art.30).
//!
//! Expected dates are worked out here by hand on a calendar the test sets
//! (the current and the next year, relative to Beijing's today) and
//! cross-checked against the server's own `ComputeDeadline`.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use chrono::{Datelike, Days, NaiveDate, Weekday};
use diesel::RunQueryDsl;
use futures::TryStreamExt;
use pb::case_event::Detail;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::*;

use crate::support::{assert_typed_event, expect_error, expect_invalid};

use pb::CaseEventType as T;
use pb::CaseState as S;
use pb::DeclineReason as Reason;

// ---------------------------------------------------------------------------
// Dates and the calendar, worked out independently of the server.

fn today() -> NaiveDate {
    petition_server::time::shanghai_today()
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn parse(date: &str) -> NaiveDate {
    NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap_or_else(|e| panic!("not a date {date:?}: {e}"))
}

fn plus(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days)).unwrap_or_else(|| panic!("{date} + {days} days"))
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The weekdays (Monday–Friday) among `from..=to`.
fn weekdays_in(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days().take_while(|d| *d <= to).filter(|d| !is_weekend(*d)).collect()
}

/// The first Saturday strictly after `date`.
fn first_saturday_after(date: NaiveDate) -> NaiveDate {
    (1..=7).map(|n| plus(date, n)).find(|d| d.weekday() == Weekday::Sat).unwrap_or_else(|| unreachable!())
}

/// A workday calendar: the plain week, minus `holidays`, plus `makeups`.
#[derive(Debug, Clone, Default)]
struct Cal {
    holidays: BTreeSet<NaiveDate>,
    makeups: BTreeSet<NaiveDate>,
}

impl Cal {
    fn new(holidays: &[NaiveDate], makeups: &[NaiveDate]) -> Cal {
        Cal { holidays: holidays.iter().copied().collect(), makeups: makeups.iter().copied().collect() }
    }

    fn is_workday(&self, date: NaiveDate) -> bool {
        if self.holidays.contains(&date) {
            false
        } else if self.makeups.contains(&date) {
            true
        } else {
            !is_weekend(date)
        }
    }

    /// `n` calendar days after `start` (not counted), moved to the next
    /// working day if that day is off (民法典 Art. 201, 203).
    fn after_days(&self, start: NaiveDate, n: u64) -> NaiveDate {
        let mut day = plus(start, n);
        while !self.is_workday(day) {
            day = plus(day, 1);
        }
        day
    }

    /// The `n`-th working day after `start`.
    fn after_workdays(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut day = start;
        let mut counted = 0;
        while counted < n {
            day = plus(day, 1);
            if self.is_workday(day) {
                counted += 1;
            }
        }
        day
    }
}

/// Replaces the current and the next year of the server's calendar (today
/// in Beijing) with exactly these exceptions, and returns the same calendar
/// for working out dates by hand.
async fn set_calendar(admin: &Client, holidays: &[NaiveDate], makeups: &[NaiveDate]) -> Result<Cal> {
    let year = today().year();
    let day = |date: &NaiveDate, kind: pb::CalendarDayKind| pb::CalendarDay {
        date: iso(*date),
        kind: kind.into(),
        note: "测试".into(),
    };
    for y in [year, year + 1] {
        let mut days: Vec<pb::CalendarDay> = Vec::new();
        days.extend(holidays.iter().filter(|d| d.year() == y).map(|d| day(d, pb::CalendarDayKind::Holiday)));
        days.extend(makeups.iter().filter(|d| d.year() == y).map(|d| day(d, pb::CalendarDayKind::Workday)));
        admin.calendar().set_calendar_year(y, days).await.with_context(|| format!("setting the year {y}"))?;
    }
    let outside = holidays.iter().chain(makeups).find(|d| d.year() != year && d.year() != year + 1);
    assert!(outside.is_none(), "calendar day {outside:?} outside the years set");
    Ok(Cal::new(holidays, makeups))
}

/// The server's answer for a period after `start`.
async fn server_deadline(client: &Client, start: NaiveDate, days: i32, workdays: i32) -> Result<String> {
    Ok(client
        .calendar()
        .compute_deadline(pb::ComputeDeadlineRequest { start_date: iso(start), days, workdays })
        .await?
        .deadline_date)
}

/// Two holidays on the first two weekdays after `start` and a make-up
/// working day on the first Saturday after it: both fall inside the first
/// five working days after `start`, whatever weekday it is.
fn early_exceptions(start: NaiveDate) -> (Vec<NaiveDate>, NaiveDate) {
    let holidays: Vec<NaiveDate> = weekdays_in(plus(start, 1), plus(start, 7)).into_iter().take(2).collect();
    (holidays, first_saturday_after(start))
}

// ---------------------------------------------------------------------------
// Cases and their timeline.

/// A claim of the owner with its own title and wording.
fn draft(title: &str) -> pb::CaseDraft {
    let mut draft = claim(title);
    draft.content = format!("{title}：{}", draft.content);
    draft
}

/// An accusation against an official, arising in county A's township.
fn accusation(title: &str, category: &str) -> pb::CaseDraft {
    pb::CaseDraft {
        kind: pb::CaseKind::Accusation.into(),
        category_code: category.into(),
        region_code: "360702001".into(),
        title: title.into(),
        content: format!("{title}：某街道干部在拆迁补偿中收受好处费两万元。"),
        requests: "请求查处违纪违法行为".into(),
        facts_and_reasons: "有转账记录为证。".into(),
        attachments: vec![pb::Attachment {
            name: "转账记录.jpg".into(),
            media_type: "image/jpeg".into(),
            size_bytes: 2048,
            sha256: "ab".repeat(32),
        }],
        respondent_organization_id: String::new(),
    }
}

fn deadlines(case: &pb::Case) -> pb::CaseDeadlines {
    case.deadlines.clone().unwrap_or_default()
}

async fn timeline(client: &Client, case_id: &str) -> Result<Vec<pb::CaseEvent>> {
    let events: Vec<pb::CaseEvent> = client.cases().case_events(case_id).try_collect().await?;
    events.iter().for_each(assert_typed_event);
    Ok(events)
}

fn types(events: &[pb::CaseEvent]) -> Vec<i32> {
    events.iter().map(|e| e.r#type).collect()
}

fn of(types: &[T]) -> Vec<i32> {
    types.iter().map(|t| *t as i32).collect()
}

/// The typed detail of an event, which must be `$arm`.
macro_rules! detail {
    ($event:expr, $arm:ident) => {
        match &$event.detail {
            Some(Detail::$arm(detail)) => detail,
            other => panic!("expected {} detail, got {other:?}", stringify!($arm)),
        }
    };
}

fn event_of(events: &[pb::CaseEvent], kind: T) -> &pb::CaseEvent {
    events.iter().find(|e| e.r#type == kind as i32).unwrap_or_else(|| panic!("no {kind:?} in {events:?}"))
}

/// Asserts FAILED_PRECONDITION with `reason` and a PreconditionFailure
/// naming the case.
#[track_caller]
fn expect_precondition<V: std::fmt::Debug>(result: petition_sdk::Result<V>, reason: &str, case_id: &str) {
    let error = expect_error(result, Code::FailedPrecondition, Some(reason));
    let violations = error.precondition_violations();
    assert!(!violations.is_empty(), "no PreconditionFailure: {error}");
    let subject = format!("cases/{case_id}");
    assert!(violations.iter().any(|v| v.subject == subject), "{violations:?} should name {subject}");
}

async fn forward(client: &Client, case_id: &str, organization: &pb::Organization) -> petition_sdk::Result<pb::Case> {
    client
        .cases()
        .forward_case(pb::ForwardCaseRequest {
            case_id: case_id.into(),
            organization_id: organization.id.clone(),
            ..Default::default()
        })
        .await
}

async fn accept(client: &Client, case_id: &str) -> petition_sdk::Result<pb::Case> {
    client.cases().accept_case(pb::AcceptCaseRequest { case_id: case_id.into(), ..Default::default() }).await
}

async fn reply(client: &Client, case_id: &str) -> petition_sdk::Result<pb::Case> {
    client
        .cases()
        .reply_to_case(pb::ReplyToCaseRequest {
            case_id: case_id.into(),
            opinion: Some(opinion()),
            ..Default::default()
        })
        .await
}

async fn set_track(
    client: &Client,
    case_id: &str,
    track: pb::CaseTrack,
    reason: &str,
) -> petition_sdk::Result<pb::Case> {
    client
        .cases()
        .set_case_track(pb::SetCaseTrackRequest {
            case_id: case_id.into(),
            track: track.into(),
            reason: reason.into(),
            ..Default::default()
        })
        .await
}

async fn decline(
    client: &Client,
    case_id: &str,
    reason: Reason,
    diverted_to: &str,
    related_case_id: &str,
    explanation: &str,
) -> petition_sdk::Result<pb::Case> {
    client
        .cases()
        .decline_case(pb::DeclineCaseRequest {
            case_id: case_id.into(),
            reason: reason.into(),
            diverted_to: diverted_to.into(),
            related_case_id: related_case_id.into(),
            explanation: explanation.into(),
            ..Default::default()
        })
        .await
}

async fn extend(client: &Client, case_id: &str, days: i32, reason: &str) -> petition_sdk::Result<pb::Case> {
    client
        .cases()
        .extend_case_deadline(pb::ExtendCaseDeadlineRequest {
            case_id: case_id.into(),
            days,
            reason: reason.into(),
            ..Default::default()
        })
        .await
}

async fn withdraw(client: &Client, case_id: &str) -> petition_sdk::Result<pb::Case> {
    client
        .cases()
        .withdraw_case(pb::WithdrawCaseRequest {
            case_id: case_id.into(),
            reason: "问题已自行解决".into(),
            ..Default::default()
        })
        .await
}

async fn request_review(client: &Client, case_id: &str) -> petition_sdk::Result<pb::Case> {
    client
        .cases()
        .request_review(pb::RequestReviewRequest {
            case_id: case_id.into(),
            reason: "对处理意见不服".into(),
            ..Default::default()
        })
        .await
}

async fn reply_to_review(client: &Client, case_id: &str) -> petition_sdk::Result<pb::Case> {
    client
        .cases()
        .reply_to_review(pb::ReplyToReviewRequest {
            case_id: case_id.into(),
            opinion: Some(opinion()),
            ..Default::default()
        })
        .await
}

async fn request_recheck(client: &Client, case_id: &str) -> petition_sdk::Result<pb::Case> {
    client
        .cases()
        .request_recheck(pb::RequestRecheckRequest {
            case_id: case_id.into(),
            reason: "对复查意见仍不服".into(),
            ..Default::default()
        })
        .await
}

async fn reply_to_recheck(client: &Client, case_id: &str) -> petition_sdk::Result<pb::Case> {
    client
        .cases()
        .reply_to_recheck(pb::ReplyToRecheckRequest {
            case_id: case_id.into(),
            opinion: Some(opinion()),
            ..Default::default()
        })
        .await
}

/// A second responsible unit in county A, without a superior organization,
/// and a handler signed in there.
async fn second_unit(w: &CaseWorld) -> Result<(pb::Organization, Client)> {
    let unit = organization(&w.admin, "章贡区城市管理局", pb::OrganizationKind::ResponsibleUnit, &w.dir.county_a, None)
        .await?;
    let (handler, _) = signed_in_staff(&w.admin, "handler.a2", &unit, &[pb::Role::Handler]).await?;
    Ok((unit, handler))
}

// ---------------------------------------------------------------------------
// 1. Tracks.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_track_replies_within_sixty_days_rolled_to_a_working_day() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let t = today();
    // Day 60 and the two days after it are off (their weekdays are
    // holidays), so the reply deadline must roll past them.
    let cal = set_calendar(&w.admin, &weekdays_in(plus(t, 60), plus(t, 62)), &[]).await?;
    let reply_by = cal.after_days(t, 60);
    assert_ne!(reply_by, Cal::default().after_days(t, 60), "the holidays move the deadline");
    assert!(reply_by > plus(t, 62));
    assert_eq!(server_deadline(&w.owner, t, 60, 0).await?, iso(reply_by), "the server's calendar agrees");

    let case = w.submit(draft("正常办-漏水")).await?;
    assert_eq!(case.track, pb::CaseTrack::Normal as i32, "NORMAL unless triaged otherwise");
    assert_eq!(deadlines(&case).route_by, server_deadline(&w.owner, t, 15, 0).await?);
    assert_eq!(case.due_date, deadlines(&case).route_by);
    let case = forward(&w.clerk, &case.id, &w.dir.unit_a).await?;
    assert_eq!(case.state, S::Routed as i32);
    let case = accept(&w.handler, &case.id).await?;
    assert_eq!(case.state, S::Accepted as i32);
    assert_eq!(deadlines(&case).reply_by, iso(reply_by));
    assert_eq!(case.due_date, iso(reply_by), "the reply deadline binds once accepted");
    assert!(!case.extended && !case.overdue);

    let case = reply(&w.handler, &case.id).await?;
    assert_eq!(case.state, S::Replied as i32);
    assert_eq!(deadlines(&case).review_request_by, iso(cal.after_days(t, 30)));
    let events = timeline(&w.owner, &case.id).await?;
    assert_eq!(types(&events), of(&[T::Registered, T::Routed, T::Accepted, T::Replied]));
    assert_eq!(detail!(event_of(&events, T::Accepted), Accepted).reply_by, iso(reply_by));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_track_is_for_first_time_petitioners_and_runs_ten_working_days() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let t = today();
    let (holidays, makeup) = early_exceptions(t);
    let cal = set_calendar(&w.admin, &holidays, &[makeup]).await?;
    let reply_by = cal.after_workdays(t, 10);
    assert_ne!(reply_by, Cal::default().after_workdays(t, 10), "the exceptions move the deadline");
    assert_eq!(server_deadline(&w.owner, t, 0, 10).await?, iso(reply_by), "the server's calendar agrees");

    // The owner's first petition: the clerk may triage it SIMPLE.
    let first = w.submit(draft("简易办-首次信访")).await?;
    let first = set_track(&w.clerk, &first.id, pb::CaseTrack::Simple, "事实清楚、争议不大").await?;
    assert_eq!(first.track, pb::CaseTrack::Simple as i32);
    assert_eq!(first.state, S::Registered as i32);
    assert!(deadlines(&first).reply_by.is_empty(), "no handling clock before acceptance");
    forward(&w.clerk, &first.id, &w.dir.unit_a).await?;
    let first = accept(&w.handler, &first.id).await?;
    assert_eq!(first.track, pb::CaseTrack::Simple as i32);
    assert_eq!(deadlines(&first).reply_by, iso(reply_by), "10 working days from acceptance");
    assert_eq!(first.due_date, iso(reply_by));
    let first = reply(&w.handler, &first.id).await?;
    assert_eq!(first.state, S::Replied as i32);
    let events = timeline(&w.owner, &first.id).await?;
    assert_eq!(types(&events), of(&[T::Registered, T::TrackSet, T::Routed, T::Accepted, T::Replied]));

    // A second petition of the same person is not first-time.
    let second = w.submit(draft("简易办-再次信访")).await?;
    expect_precondition(
        set_track(&w.clerk, &second.id, pb::CaseTrack::Simple, "事实清楚").await,
        "NOT_FIRST_TIME",
        &second.id,
    );
    let second = w.owner.cases().get_case(&second.id).await?;
    assert_eq!(second.track, pb::CaseTrack::Normal as i32, "the refused triage changed nothing");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urgent_track_needs_a_reason_is_reported_upward_and_runs_seven_days() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let t = today();
    let cal = set_calendar(&w.admin, &weekdays_in(plus(t, 7), plus(t, 9)), &[]).await?;
    let reply_by = cal.after_days(t, 7);
    assert_ne!(reply_by, Cal::default().after_days(t, 7), "the holidays move the deadline");
    assert_eq!(server_deadline(&w.owner, t, 7, 0).await?, iso(reply_by), "the server's calendar agrees");

    // A visit recorded by county A's bureau, whose superior is the city bureau.
    let case = w
        .clerk
        .cases()
        .register_case(pb::RegisterCaseRequest {
            draft: Some(draft("紧急办-燃气泄漏")),
            channel: pb::CaseChannel::Visit.into(),
            petitioner_account_id: w.owner_id.clone(),
            ..Default::default()
        })
        .await?;
    expect_invalid(set_track(&w.clerk, &case.id, pb::CaseTrack::Urgent, "").await, &["reason"]);
    expect_invalid(set_track(&w.clerk, &case.id, pb::CaseTrack::Urgent, "   ").await, &["reason"]);
    let reason = "燃气管道泄漏，存在重大安全隐患";
    let case = set_track(&w.clerk, &case.id, pb::CaseTrack::Urgent, reason).await?;
    assert_eq!(case.track, pb::CaseTrack::Urgent as i32);
    let events = timeline(&w.owner, &case.id).await?;
    assert_eq!(types(&events), of(&[T::Registered, T::TrackSet, T::ReportedUpward]));
    let reported = event_of(&events, T::ReportedUpward);
    assert_eq!(detail!(reported, ReportedUpward).reason, reason);
    assert_eq!(detail!(reported, ReportedUpward).organization_id, w.dir.city_bureau.id, "the bureau above");

    forward(&w.clerk, &case.id, &w.dir.unit_a).await?;
    let case = accept(&w.handler, &case.id).await?;
    assert_eq!(deadlines(&case).reply_by, iso(reply_by), "7 days from acceptance");
    let case = reply(&w.handler, &case.id).await?;
    assert_eq!(case.state, S::Replied as i32);
    Ok(())
}

/// The contract: "URGENT reports the case upward at once" to "the bureau one
/// level up (Art.25)". A case filed online has no registering organization,
/// so the server reports it to no one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urgent_online_case_is_reported_to_the_bureau_above() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.submit(draft("紧急办-网上信访")).await?;
    set_track(&w.clerk, &case.id, pb::CaseTrack::Urgent, "群体性事件苗头").await?;
    let events = timeline(&w.owner, &case.id).await?;
    let reported = event_of(&events, T::ReportedUpward);
    assert_eq!(detail!(reported, ReportedUpward).organization_id, w.dir.city_bureau.id);
    Ok(())
}

// ---------------------------------------------------------------------------
// 2. Declining (不予受理).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_that_divert_or_explain_name_the_body_or_the_reason() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    // (reason, receiving body, declined after routing by the handling unit?)
    let diverting = [
        (Reason::Litigation, "章贡区人民法院", false),
        (Reason::Arbitration, "赣州仲裁委员会", true),
        (Reason::PartyAppeal, "赣州市中级人民法院", false),
        (Reason::AdministrativeProcedure, "章贡区人民政府行政复议办公室", true),
    ];
    let mut declined_registered = None;
    let mut declined_routed = None;
    for (reason, body, routed) in diverting {
        let title = format!("不予受理-{reason:?}");
        let (case, decliner) = if routed {
            (w.routed_case(&title).await?, &w.handler)
        } else {
            (w.submit(draft(&title)).await?, &w.clerk)
        };
        expect_invalid(decline(decliner, &case.id, reason, "", "", "").await, &["diverted_to"]);
        expect_invalid(decline(decliner, &case.id, reason, "  ", "", "").await, &["diverted_to"]);
        let declined = decline(decliner, &case.id, reason, body, "", "").await?;
        assert_eq!(declined.state, S::Declined as i32, "{reason:?}");
        assert_eq!(declined.decline_reason, reason as i32);
        assert!(declined.related_case_id.is_empty());
        assert!(declined.due_date.is_empty(), "no clock runs on a declined case");
        let events = timeline(&w.owner, &case.id).await?;
        let last = events.last().context("no events")?;
        assert_eq!(last.r#type, T::Declined as i32);
        assert_eq!(last.state, S::Declined as i32);
        assert_eq!(detail!(last, Declined).diverted_to, body, "the petitioner sees where to go");
        if routed {
            declined_routed = Some(declined);
        } else {
            declined_registered = Some(declined);
        }
    }

    let other = w.submit(draft("不予受理-其他")).await?;
    expect_invalid(decline(&w.clerk, &other.id, Reason::Other, "", "", "").await, &["explanation"]);
    let other = decline(&w.clerk, &other.id, Reason::Other, "", "", "信访人身份无法核实").await?;
    assert_eq!((other.state, other.decline_reason), (S::Declined as i32, Reason::Other as i32));
    expect_invalid(decline(&w.clerk, &other.id, Reason::Unspecified, "", "", "").await, &["reason"]);

    // DECLINED is final: nothing moves it, whoever asks.
    let registered = declined_registered.context("a case declined from REGISTERED")?;
    let routed = declined_routed.context("a case declined from ROUTED")?;
    assert_eq!(routed.handling_organization_id, w.dir.unit_a.id);
    expect_precondition(forward(&w.clerk, &registered.id, &w.dir.unit_a).await, "INVALID_STATE", &registered.id);
    expect_precondition(
        decline(&w.handler, &routed.id, Reason::Other, "", "", "再次").await,
        "INVALID_STATE",
        &routed.id,
    );
    expect_precondition(
        set_track(&w.clerk, &registered.id, pb::CaseTrack::Urgent, "紧急").await,
        "INVALID_STATE",
        &registered.id,
    );
    expect_precondition(withdraw(&w.owner, &registered.id).await, "INVALID_STATE", &registered.id);
    expect_precondition(accept(&w.handler, &routed.id).await, "INVALID_STATE", &routed.id);
    expect_precondition(
        w.handler
            .cases()
            .object_to_assignment(pb::ObjectToAssignmentRequest {
                case_id: routed.id.clone(),
                reason: "不属于本单位".into(),
                ..Default::default()
            })
            .await,
        "INVALID_STATE",
        &routed.id,
    );
    expect_precondition(reply(&w.handler, &routed.id).await, "INVALID_STATE", &routed.id);
    expect_precondition(withdraw(&w.owner, &routed.id).await, "INVALID_STATE", &routed.id);
    assert_eq!(w.owner.cases().get_case(&routed.id).await?.state, S::Declined as i32);
    Ok(())
}

/// The contract: "any other call in a state is FAILED_PRECONDITION with a
/// PreconditionFailure naming the state". A case declined (or withdrawn)
/// before routing has no handling unit, and DeclineCase in any state but
/// REGISTERED asks for the handling unit, so the bureau that declined it is
/// told PERMISSION_DENIED instead, and no one can ever get INVALID_STATE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declining_a_case_declined_before_routing_again_is_invalid_state() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.submit(draft("不予受理-再次不予受理")).await?;
    decline(&w.clerk, &case.id, Reason::Litigation, "章贡区人民法院", "", "").await?;
    expect_precondition(decline(&w.clerk, &case.id, Reason::Other, "", "", "再次").await, "INVALID_STATE", &case.id);
    let withdrawn = w.submit(draft("不予受理-撤回后不予受理")).await?;
    withdraw(&w.owner, &withdrawn.id).await?;
    expect_precondition(
        decline(&w.clerk, &withdrawn.id, Reason::Other, "", "", "已撤回").await,
        "INVALID_STATE",
        &withdrawn.id,
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declines_naming_a_related_case_need_the_petitioners_open_or_final_case() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let open = w.submit(draft("关联-正在办理")).await?;
    let strangers = w
        .other_citizen
        .cases()
        .submit_case(pb::SubmitCaseRequest { draft: Some(draft("关联-他人信访")), request_id: String::new() })
        .await?;
    let closed = w.submit(draft("关联-已不予受理")).await?;
    decline(&w.clerk, &closed.id, Reason::Other, "", "", "重复登记").await?;

    // 同一事项正在办理 (Art.19 ¶3): another OPEN case of the same petitioner.
    let repeat = w.submit(draft("关联-重复信访")).await?;
    let unknown = uuid::Uuid::now_v7().to_string();
    // Missing, malformed, unknown, another petitioner's, closed, itself.
    for related in ["", "not-an-id", &unknown, &strangers.id, &closed.id, &repeat.id] {
        expect_invalid(
            decline(&w.clerk, &repeat.id, Reason::AlreadyInProgress, "", related, "").await,
            &["related_case_id"],
        );
    }
    assert_eq!(w.owner.cases().get_case(&repeat.id).await?.state, S::Registered as i32);
    let declined = decline(&w.clerk, &repeat.id, Reason::AlreadyInProgress, "", &open.id, "").await?;
    assert_eq!(declined.state, S::Declined as i32);
    assert_eq!(declined.decline_reason, Reason::AlreadyInProgress as i32);
    assert_eq!(declined.related_case_id, open.id);

    // 复核终结 (Art.36 ¶3): a FINAL case of the same petitioner.
    let concluded = w.replied_case("关联-复核终结").await?;
    request_review(&w.owner, &concluded.id).await?;
    reply_to_review(&w.reviewer, &concluded.id).await?;
    request_recheck(&w.owner, &concluded.id).await?;
    let concluded = reply_to_recheck(&w.rechecker, &concluded.id).await?;
    assert_eq!(concluded.state, S::Final as i32);
    let again = w.routed_case("关联-同一事实再次信访").await?;
    // Missing, still open, closed but not final.
    for related in ["", &open.id, &closed.id] {
        expect_invalid(
            decline(&w.handler, &again.id, Reason::ConcludedAfterRecheck, "", related, "").await,
            &["related_case_id"],
        );
    }
    let declined = decline(&w.handler, &again.id, Reason::ConcludedAfterRecheck, "", &concluded.id, "").await?;
    assert_eq!(declined.state, S::Declined as i32);
    assert_eq!(declined.decline_reason, Reason::ConcludedAfterRecheck as i32);
    assert_eq!(declined.related_case_id, concluded.id);
    assert_eq!(w.owner.cases().get_case(&again.id).await?.related_case_id, concluded.id);
    expect_precondition(accept(&w.handler, &again.id).await, "INVALID_STATE", &again.id);
    Ok(())
}

// ---------------------------------------------------------------------------
// 3. Objection and re-routing (Art.23).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_objection_returns_the_case_to_the_bureau_which_re_routes_it() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let (unit_a2, handler_a2) = second_unit(&w).await?;
    let t = today();
    let case = w.submit(draft("异议-占道经营")).await?;
    let route_by = deadlines(&case).route_by;

    // Unit B's jurisdiction (county B) does not cover a county-A case.
    expect_invalid(forward(&w.clerk, &case.id, &w.dir.unit_b).await, &["organization_id"]);
    assert_eq!(w.owner.cases().get_case(&case.id).await?.state, S::Registered as i32);

    let case = forward(&w.clerk, &case.id, &w.dir.unit_a).await?;
    assert_eq!(case.handling_organization_id, w.dir.unit_a.id);
    assert_eq!(deadlines(&case).object_by, server_deadline(&w.owner, t, 0, 5).await?, "5 working days");
    assert_eq!(deadlines(&case).accept_by, server_deadline(&w.owner, t, 15, 0).await?, "15 days");
    expect_invalid(
        w.handler
            .cases()
            .object_to_assignment(pb::ObjectToAssignmentRequest { case_id: case.id.clone(), ..Default::default() })
            .await,
        &["reason"],
    );
    let objection = "占道经营属城市管理部门职责";
    let case = w
        .handler
        .cases()
        .object_to_assignment(pb::ObjectToAssignmentRequest {
            case_id: case.id.clone(),
            reason: objection.into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(case.state, S::Registered as i32);
    assert!(case.handling_organization_id.is_empty(), "the handling organization is cleared");
    assert_eq!(case.routing_mode, pb::RoutingMode::Unspecified as i32);
    let d = deadlines(&case);
    assert!(d.accept_by.is_empty() && d.object_by.is_empty(), "{d:?}");
    assert_eq!(d.route_by, route_by);
    assert_eq!(case.due_date, route_by, "the bureau's routing clock binds again");
    expect_error(accept(&w.handler, &case.id).await, Code::PermissionDenied, Some("PERMISSION_DENIED"));

    let case = forward(&w.clerk, &case.id, &unit_a2).await?;
    assert_eq!((case.state, case.handling_organization_id.as_str()), (S::Routed as i32, unit_a2.id.as_str()));
    let case = accept(&handler_a2, &case.id).await?;
    assert_eq!(case.state, S::Accepted as i32);

    let events = timeline(&w.owner, &case.id).await?;
    assert_eq!(types(&events), of(&[T::Registered, T::Routed, T::Objected, T::Routed, T::Accepted]));
    let objected = event_of(&events, T::Objected);
    assert_eq!(objected.state, S::Registered as i32);
    assert_eq!(detail!(objected, Objected).reason, objection);
    assert_eq!(detail!(objected, Objected).organization_id, w.dir.unit_a.id);
    assert_eq!(detail!(&events[3], Routed).organization_id, unit_a2.id);
    Ok(())
}

// ---------------------------------------------------------------------------
// 4. The extension (Art.34).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unit_lead_extends_the_reply_deadline_once() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let t = today();
    // Days 30 to 32 after the plain 60-day deadline are off: the extended
    // deadline rolls past them (and the first one is unaffected).
    let first_reply_by = Cal::default().after_days(t, 60);
    let extended_raw = plus(first_reply_by, 30);
    let cal = set_calendar(&w.admin, &weekdays_in(extended_raw, plus(extended_raw, 2)), &[]).await?;
    assert_eq!(cal.after_days(t, 60), first_reply_by);
    let extended_by = cal.after_days(first_reply_by, 30);
    assert_ne!(extended_by, Cal::default().after_days(first_reply_by, 30), "the holidays move the deadline");
    assert_eq!(server_deadline(&w.owner, first_reply_by, 30, 0).await?, iso(extended_by));

    let case = w.accepted_case("延期-历史遗留产权").await?;
    assert_eq!(deadlines(&case).reply_by, iso(first_reply_by));
    let reason = "需调取二十年前的产权档案";
    expect_error(extend(&w.handler, &case.id, 30, reason).await, Code::PermissionDenied, Some("PERMISSION_DENIED"));
    for days in [0, 31, -1] {
        expect_invalid(extend(&w.unit_lead, &case.id, days, reason).await, &["days"]);
    }
    expect_invalid(extend(&w.unit_lead, &case.id, 30, "").await, &["reason"]);
    let unchanged = w.owner.cases().get_case(&case.id).await?;
    assert!(!unchanged.extended);
    assert_eq!(deadlines(&unchanged).reply_by, iso(first_reply_by));

    let case = extend(&w.unit_lead, &case.id, 30, reason).await?;
    assert!(case.extended);
    assert_eq!(deadlines(&case).reply_by, iso(extended_by));
    assert_eq!(case.due_date, iso(extended_by));
    // The reason is told to the petitioner.
    let events = timeline(&w.owner, &case.id).await?;
    assert_eq!(types(&events), of(&[T::Registered, T::Routed, T::Accepted, T::DeadlineExtended]));
    let extended = event_of(&events, T::DeadlineExtended);
    assert_eq!(detail!(extended, DeadlineExtended).reason, reason);
    assert_eq!(detail!(extended, DeadlineExtended).reply_by, iso(extended_by));
    assert_eq!(detail!(extended, DeadlineExtended).days, 30);
    let listed =
        w.owner.cases().list_cases(pb::ListCasesRequest { extended_only: true, ..Default::default() }).await?.cases;
    assert_eq!(listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [case.id.as_str()]);

    expect_precondition(extend(&w.unit_lead, &case.id, 1, "再延一天").await, "ALREADY_EXTENDED", &case.id);
    assert_eq!(deadlines(&w.owner.cases().get_case(&case.id).await?).reply_by, iso(extended_by));

    // The shortest extension is one day.
    let short = w.accepted_case("延期-一天").await?;
    let short = extend(&w.unit_lead, &short.id, 1, "等待鉴定报告").await?;
    assert_eq!(deadlines(&short).reply_by, iso(cal.after_days(first_reply_by, 1)));
    Ok(())
}

// ---------------------------------------------------------------------------
// 5. Review and re-review (Art.35–36).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_and_re_review_go_one_level_up_each_within_thirty_days() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let t = today();
    let cal = set_calendar(&w.admin, &[], &[]).await?;

    // Served three days ago: the review window runs from service, not today.
    // (A service time may not precede acceptance, so the case was accepted
    // a week ago: its stored lifecycle says so.)
    let served_at = chrono::Utc::now() - chrono::Duration::days(3);
    let served_on = petition_server::time::shanghai_date(served_at);
    let case = w.accepted_case("复查-拆迁补偿").await?;
    let database = server.database.as_ref().context("the server's database")?;
    diesel::sql_query(
        "UPDATE cases SET lifecycle = jsonb_set(lifecycle, '{accepted_on}', to_jsonb($1::text)) WHERE id = $2",
    )
    .bind::<diesel::sql_types::Text, _>(iso(t - Days::new(7)))
    .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(&case.id)?)
    .execute(&mut database.connect()?)?;
    let case = w
        .handler
        .cases()
        .reply_to_case(pb::ReplyToCaseRequest {
            case_id: case.id.clone(),
            opinion: Some(pb::Opinion {
                serve_time: Some(prost_types::Timestamp { seconds: served_at.timestamp(), nanos: 0 }),
                ..opinion()
            }),
            ..Default::default()
        })
        .await?;
    assert_eq!(deadlines(&case).review_request_by, iso(cal.after_days(served_on, 30)));
    assert_eq!(deadlines(&case).review_request_by, server_deadline(&w.owner, served_on, 30, 0).await?);

    // Only the petitioner asks: staff are refused, other citizens see nothing.
    for staff in [&w.handler, &w.clerk, &w.reviewer] {
        expect_error(request_review(staff, &case.id).await, Code::PermissionDenied, Some("PERMISSION_DENIED"));
    }
    expect_error(request_review(&w.other_citizen, &case.id).await, Code::NotFound, None);

    let case = request_review(&w.owner, &case.id).await?;
    assert_eq!(case.state, S::UnderReview as i32);
    assert_eq!(case.reviewing_organization_id, w.gov_a.id, "unit A's superior reviews");
    assert_eq!(deadlines(&case).review_by, iso(cal.after_days(t, 30)));
    assert_eq!(case.due_date, deadlines(&case).review_by);
    for wrong in [&w.rechecker, &w.handler, &w.unit_lead, &w.clerk] {
        expect_error(reply_to_review(wrong, &case.id).await, Code::PermissionDenied, Some("PERMISSION_DENIED"));
    }
    let case = reply_to_review(&w.reviewer, &case.id).await?;
    assert_eq!(case.state, S::Reviewed as i32);
    assert_eq!(case.review_opinion.as_ref().map(|o| o.organization_id.as_str()), Some(w.gov_a.id.as_str()));
    assert_eq!(deadlines(&case).recheck_request_by, iso(cal.after_days(t, 30)));

    expect_error(request_recheck(&w.reviewer, &case.id).await, Code::PermissionDenied, Some("PERMISSION_DENIED"));
    expect_error(request_recheck(&w.other_citizen, &case.id).await, Code::NotFound, None);
    let case = request_recheck(&w.owner, &case.id).await?;
    assert_eq!(case.state, S::UnderRecheck as i32);
    assert_eq!(case.reviewing_organization_id, w.city_gov.id, "gov A's superior re-reviews");
    assert_eq!(deadlines(&case).recheck_by, iso(cal.after_days(t, 30)));
    for wrong in [&w.reviewer, &w.handler] {
        expect_error(reply_to_recheck(wrong, &case.id).await, Code::PermissionDenied, Some("PERMISSION_DENIED"));
    }
    let case = reply_to_recheck(&w.rechecker, &case.id).await?;
    assert_eq!(case.state, S::Final as i32);
    assert_eq!(case.recheck_opinion.as_ref().map(|o| o.organization_id.as_str()), Some(w.city_gov.id.as_str()));
    let events = timeline(&w.owner, &case.id).await?;
    assert_eq!(detail!(event_of(&events, T::ReviewRequested), ReviewRequested).organization_id, w.gov_a.id);
    assert_eq!(detail!(event_of(&events, T::RecheckRequested), RecheckRequested).organization_id, w.city_gov.id);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_needs_a_superior_of_the_handling_unit() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let (unit_a2, handler_a2) = second_unit(&w).await?;
    let case = w.submit(draft("复查-无上级机关")).await?;
    forward(&w.clerk, &case.id, &unit_a2).await?;
    accept(&handler_a2, &case.id).await?;
    let case = reply(&handler_a2, &case.id).await?;
    assert_eq!(case.reply.as_ref().map(|o| o.organization_id.as_str()), Some(unit_a2.id.as_str()));
    expect_precondition(request_review(&w.owner, &case.id).await, "NO_SUPERIOR_ORGANIZATION", &case.id);
    let case = w.owner.cases().get_case(&case.id).await?;
    assert_eq!(case.state, S::Replied as i32);
    assert!(case.reviewing_organization_id.is_empty());
    Ok(())
}

// ---------------------------------------------------------------------------
// 6. Deadlines across a public holiday and a make-up workday.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_deadlines_roll_over_holidays_and_count_make_up_workdays() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let t = today();
    // Two holidays and a make-up Saturday inside the first working week,
    // and a holiday run over days 13–17 (their weekdays).
    let (mut holidays, makeup) = early_exceptions(t);
    let late = weekdays_in(plus(t, 13), plus(t, 17));
    holidays.extend(&late);
    let cal = set_calendar(&w.admin, &holidays, &[makeup]).await?;

    let route_by = cal.after_days(t, 15);
    let object_by = cal.after_workdays(t, 5);
    // The chosen days matter: the plain-week route deadline is a holiday, and
    // the objection deadline differs from the plain week, from the week
    // without the make-up day and from the week without the holidays.
    let plain = Cal::default();
    assert!(late.contains(&plain.after_days(t, 15)), "day 15 rolls onto a holiday");
    assert!(route_by > plus(t, 17), "{route_by}");
    assert!(makeup <= object_by && holidays[..2].iter().all(|h| *h < object_by), "inside the window");
    assert_ne!(object_by, plain.after_workdays(t, 5));
    assert_ne!(object_by, Cal::new(&holidays, &[]).after_workdays(t, 5));
    assert_ne!(object_by, Cal::new(&[], &[makeup]).after_workdays(t, 5));
    // The server's calendar agrees.
    assert_eq!(server_deadline(&w.owner, t, 15, 0).await?, iso(route_by));
    assert_eq!(server_deadline(&w.owner, t, 0, 5).await?, iso(object_by));

    let case = w.submit(draft("期限-节假日")).await?;
    assert_eq!(deadlines(&case).route_by, iso(route_by));
    assert_eq!(case.due_date, iso(route_by));
    let case = forward(&w.clerk, &case.id, &w.dir.unit_a).await?;
    assert_eq!(deadlines(&case).object_by, iso(object_by), "counts the make-up Saturday, skips the holidays");
    assert_eq!(deadlines(&case).accept_by, iso(route_by), "15 days from routing today");
    assert_eq!(case.due_date, iso(route_by));
    Ok(())
}

// ---------------------------------------------------------------------------
// 7. Withdrawal.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_petitioner_withdraws_until_the_reply() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let registered = w.submit(draft("撤回-已登记")).await?;
    let routed = w.routed_case("撤回-已交办").await?;
    let accepted = w.accepted_case("撤回-已受理").await?;
    expect_error(withdraw(&w.clerk, &registered.id).await, Code::PermissionDenied, Some("PERMISSION_DENIED"));
    expect_error(withdraw(&w.handler, &accepted.id).await, Code::PermissionDenied, Some("PERMISSION_DENIED"));
    expect_error(withdraw(&w.other_citizen, &registered.id).await, Code::NotFound, None);
    for (case, state) in [(&registered, S::Registered), (&routed, S::Routed), (&accepted, S::Accepted)] {
        assert_eq!(case.state, state as i32);
        let withdrawn = withdraw(&w.owner, &case.id).await?;
        assert_eq!(withdrawn.state, S::Withdrawn as i32, "from {state:?}");
        assert!(withdrawn.due_date.is_empty());
        let events = timeline(&w.owner, &case.id).await?;
        let last = events.last().context("no events")?;
        assert_eq!((last.r#type, last.state), (T::Withdrawn as i32, S::Withdrawn as i32));
        expect_precondition(withdraw(&w.owner, &case.id).await, "INVALID_STATE", &case.id);
    }
    let replied = w.replied_case("撤回-已答复").await?;
    expect_precondition(withdraw(&w.owner, &replied.id).await, "INVALID_STATE", &replied.id);
    assert_eq!(w.owner.cases().get_case(&replied.id).await?.state, S::Replied as i32);
    Ok(())
}

// ---------------------------------------------------------------------------
// 8. Routing rules (即时交办).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_rules_route_new_filings_at_once() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let (unit_a2, handler_a2) = second_unit(&w).await?;
    let t = today();
    let rule = |category: &str, region: &pb::Region, unit: &pb::Organization, mode: pb::RoutingMode| pb::RoutingRule {
        category_code: category.into(),
        region_code: region.code.clone(),
        organization_id: unit.id.clone(),
        mode: mode.into(),
        ..Default::default()
    };
    let taxonomy = w.admin.taxonomy();
    taxonomy.set_routing_rule(rule("housing", &w.dir.county_a, &w.dir.unit_a, pb::RoutingMode::Assign)).await?;

    // A filing in the township below county A is assigned at once.
    let case = w.submit(draft("即时交办-县级规则")).await?;
    assert_eq!(case.state, S::Routed as i32);
    assert!(case.routed_on_registration);
    assert_eq!(case.routing_mode, pb::RoutingMode::Assign as i32);
    assert_eq!(case.handling_organization_id, w.dir.unit_a.id);
    let d = deadlines(&case);
    assert_eq!(d.accept_by, server_deadline(&w.owner, t, 15, 0).await?);
    assert_eq!(d.object_by, server_deadline(&w.owner, t, 0, 5).await?);
    assert!(!d.report_by.is_empty(), "an assignment owes a completion report");
    assert!(parse(&d.report_by) > parse(&d.accept_by), "{d:?}");
    let events = timeline(&w.owner, &case.id).await?;
    assert_eq!(types(&events), of(&[T::Registered, T::Routed]));
    assert!(detail!(&events[1], Routed).by_rule);
    assert_eq!(accept(&w.handler, &case.id).await?.state, S::Accepted as i32, "the unit takes it up");

    // No rule covers county B.
    let elsewhere =
        w.submit(pb::CaseDraft { region_code: w.dir.county_b.code.clone(), ..draft("即时交办-外县") }).await?;
    assert_eq!(elsewhere.state, S::Registered as i32);
    assert!(!elsewhere.routed_on_registration);

    // The nearer (township) rule wins over the county one.
    taxonomy.set_routing_rule(rule("housing", &w.dir.township_a, &unit_a2, pb::RoutingMode::Forward)).await?;
    let near = w.submit(draft("即时交办-街道规则")).await?;
    assert_eq!(near.state, S::Routed as i32);
    assert!(near.routed_on_registration);
    assert_eq!(near.handling_organization_id, unit_a2.id);
    assert_eq!(near.routing_mode, pb::RoutingMode::Forward as i32);
    assert!(deadlines(&near).report_by.is_empty(), "a forwarded case owes no report");
    assert_eq!(accept(&handler_a2, &near.id).await?.state, S::Accepted as i32);

    // An accusation never goes to a non-discipline unit, rule or not.
    let kept = w.submit(accusation("即时交办-举报住建干部", "housing")).await?;
    assert_eq!(kept.state, S::Registered as i32);
    assert!(!kept.routed_on_registration);
    assert!(kept.handling_organization_id.is_empty());
    assert_eq!(types(&timeline(&w.owner, &kept.id).await?), of(&[T::Registered]));

    // A rule to the discipline office routes the accusation there.
    taxonomy.set_routing_rule(rule("discipline", &w.dir.county_a, &w.discipline, pb::RoutingMode::Assign)).await?;
    let sent = w.submit(accusation("即时交办-举报街道干部", "discipline")).await?;
    assert_eq!(sent.state, S::Routed as i32);
    assert!(sent.routed_on_registration);
    assert_eq!(sent.handling_organization_id, w.discipline.id);
    assert_eq!(accept(&w.discipline_handler, &sent.id).await?.state, S::Accepted as i32);
    Ok(())
}

// ---------------------------------------------------------------------------
// 9. Accusations (Art.30).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accusation_content_reaches_only_the_petitioner_and_the_discipline_channel() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let filed = w.submit(accusation("检举-拆迁补偿受贿", "discipline")).await?;
    assert!(!filed.content_hidden);
    assert!(!filed.content.is_empty() && !filed.requests.is_empty() && !filed.facts_and_reasons.is_empty());
    assert_eq!(filed.attachments.len(), 1);
    let owners = w.owner.cases().get_case(&filed.id).await?;
    assert_eq!((owners.content.as_str(), owners.content_hidden), (filed.content.as_str(), false));
    let owner_events = timeline(&w.owner, &filed.id).await?;
    assert!(owner_events.iter().all(|e| e.detail.is_some()), "the petitioner sees the payloads");

    // Non-discipline staff of the jurisdiction see that it exists, not what it says.
    let hidden = |case: &pb::Case| {
        assert!(case.content_hidden, "{case:?}");
        assert!(case.content.is_empty() && case.requests.is_empty() && case.facts_and_reasons.is_empty());
        assert!(case.attachments.is_empty());
        assert_eq!(case.petitioner, Some(pb::Petitioner::default()), "nor who accuses (Art.30)");
    };
    for staff in [&w.clerk, &w.handler] {
        hidden(&staff.cases().get_case(&filed.id).await?);
        let events = timeline(staff, &filed.id).await?;
        assert_eq!(types(&events), of(&[T::Registered]));
        assert!(events.iter().all(|e| e.detail.is_none()), "payloads withheld: {events:?}");
    }
    let listed = w
        .clerk
        .cases()
        .list_cases(pb::ListCasesRequest { kind: pb::CaseKind::Accusation.into(), ..Default::default() })
        .await?
        .cases;
    assert_eq!(listed.len(), 1);
    hidden(&listed[0]);

    // Only the discipline channel may receive it.
    expect_invalid(forward(&w.clerk, &filed.id, &w.dir.unit_a).await, &["organization_id"]);
    expect_invalid(
        w.clerk
            .cases()
            .assign_case(pb::AssignCaseRequest {
                case_id: filed.id.clone(),
                organization_id: w.dir.unit_a.id.clone(),
                report_by: crate::cases::date_in(30),
                ..Default::default()
            })
            .await,
        &["organization_id"],
    );
    assert_eq!(w.owner.cases().get_case(&filed.id).await?.state, S::Registered as i32);
    let routed = forward(&w.clerk, &filed.id, &w.discipline).await?;
    assert_eq!(routed.state, S::Routed as i32);
    assert_eq!(routed.handling_organization_id, w.discipline.id);
    hidden(&routed);

    let seen = w.discipline_handler.cases().get_case(&filed.id).await?;
    assert!(!seen.content_hidden);
    assert_eq!(seen.content, filed.content);
    assert_eq!(seen.requests, filed.requests);
    assert_eq!(seen.facts_and_reasons, filed.facts_and_reasons);
    assert_eq!(seen.attachments, filed.attachments);
    let accepted = accept(&w.discipline_handler, &filed.id).await?;
    assert_eq!(accepted.state, S::Accepted as i32);
    assert!(!accepted.content_hidden && !accepted.content.is_empty());
    let events = timeline(&w.discipline_handler, &filed.id).await?;
    assert_eq!(types(&events), of(&[T::Registered, T::Routed, T::Accepted]));
    assert!(events.iter().all(|e| e.detail.is_some()));
    assert_eq!(detail!(&events[1], Routed).organization_id, w.discipline.id);
    hidden(&w.clerk.cases().get_case(&filed.id).await?);
    assert!(timeline(&w.clerk, &filed.id).await?.iter().all(|e| e.detail.is_none()));
    Ok(())
}

/// Only an organization that can handle the matter receives it: not the
/// clerk's own petition bureau, a court, a legal-aid centre or a mediation
/// committee (they are reached by referral), nor the discipline channel
/// for anything but an accusation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_are_routed_only_to_organizations_that_handle_them() -> Result<()> {
    use pb::OrganizationKind as Kind;
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let legal_aid = organization(&w.admin, "章贡区法律援助中心", Kind::LegalAidCentre, &w.dir.county_a, None).await?;
    let mediation =
        organization(&w.admin, "解放街道人民调解委员会", Kind::MediationCommittee, &w.dir.township_a, None).await?;
    let case = w.submit(claim("转给谁")).await?;
    for target in [&w.dir.bureau_a, &w.court, &legal_aid, &mediation, &w.discipline] {
        expect_invalid(forward(&w.clerk, &case.id, target).await, &["organization_id"]);
        let assigned = w
            .clerk
            .cases()
            .assign_case(pb::AssignCaseRequest {
                case_id: case.id.clone(),
                organization_id: target.id.clone(),
                report_by: iso(petition_server::time::shanghai_today() + Days::new(30)),
                ..Default::default()
            })
            .await;
        expect_invalid(assigned, &["organization_id"]);
    }
    // A government handles matters itself; so does a unit.
    assert_eq!(forward(&w.clerk, &case.id, &w.gov_a).await?.state, S::Routed as i32);
    // A routing rule stored before kinds were checked, naming a bureau,
    // routes nothing at filing.
    let database = server.database.as_ref().context("a database of its own")?;
    diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO routing_rules (id, category_code, region_code, organization_id, mode) VALUES ($1, 'labor', $2, $3, 1)",
        )
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::now_v7())
        .bind::<diesel::sql_types::Text, _>(&w.dir.county_a.code)
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(&w.dir.bureau_a.id)?),
        &mut database.connect()?,
    )?;
    let filed = w.submit(pb::CaseDraft { category_code: "labor".into(), ..claim("按规则转") }).await?;
    assert_eq!(filed.state, S::Registered as i32, "a rule naming a bureau routes nothing");
    Ok(())
}
