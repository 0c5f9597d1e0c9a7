//! Supervision (issue 20): the ladder climbed as a test clock passes its
//! deadlines, the sweeper's marks on case clocks and its OVERDUE items, one
//! sweeper among two servers when the one holding the lease is killed, and
//! who may do what.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use petition_sdk::{Client, pb};
use petition_server::clock::set_file_clock;
use petition_tests::builders::signed_in_staff;
use petition_tests::process::ServerProcess;
use petition_tests::server::{TestServer, admin_at, test_config};
use petition_tests::world::CaseWorld;
use tonic::Code;

use crate::support::assert_typed;

/// A clock file the servers read as now; removed when dropped.
struct TestClock(PathBuf);

impl TestClock {
    fn new() -> Result<TestClock> {
        let path = std::env::temp_dir().join(format!("petition-clock-{}", uuid::Uuid::now_v7().simple()));
        Ok(TestClock(path))
    }

    /// Now is 10:00 Beijing time on `day`.
    fn set(&self, day: NaiveDate) -> Result<()> {
        let at = day.and_hms_opt(2, 0, 0).map(|t| DateTime::<Utc>::from_naive_utc_and_offset(t, Utc));
        let Some(at) = at else { bail!("no such instant") };
        set_file_clock(&self.0, at)?;
        Ok(())
    }
}

impl Drop for TestClock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// A server whose sweeper runs every second on `clock`.
async fn server_on(clock: &TestClock) -> Result<TestServer> {
    let path = clock.0.clone();
    TestServer::spawn_with(move |c| {
        c.oversight.clock_file = Some(path);
        c.oversight.sweep_interval_secs = 1;
    })
    .await
}

/// Waits (at most 20 s) until item `id` satisfies `done`; returns it.
async fn item_until(client: &Client, id: &str, done: impl Fn(&pb::Supervision) -> bool) -> Result<pb::Supervision> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let item = client.supervision().get_supervision(id).await?;
        if done(&item) {
            return Ok(item);
        }
        if Instant::now() > deadline {
            bail!("item {id} never reached the expected state: {item:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until a sweeper pass covered `day` (a whole pass after the clock
/// moved there).
async fn swept(server: &TestServer, day: NaiveDate) -> Result<()> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Swept {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Date>)]
        swept_through: Option<NaiveDate>,
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    // Two passes that end after the clock moved: the first may have begun
    // before it did.
    let started = Utc::now();
    loop {
        let (through, ended): (Option<NaiveDate>, Option<DateTime<Utc>>) = server
            .state
            .db
            .read(|conn| {
                let Swept { swept_through } =
                    diesel::sql_query("SELECT swept_through FROM sweeper_state").get_result(conn)?;
                #[derive(QueryableByName)]
                struct Ended {
                    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
                    pass_ended_at: Option<DateTime<Utc>>,
                }
                let Ended { pass_ended_at } =
                    diesel::sql_query("SELECT pass_ended_at FROM sweeper_state").get_result(conn)?;
                Ok((swept_through, pass_ended_at))
            })
            .await?;
        if through.is_some_and(|t| t >= day) && ended.is_some_and(|e| e > started + chrono::Duration::seconds(1)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no sweep covered {day}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn events(client: &Client, id: &str) -> Result<Vec<pb::SupervisionEvent>> {
    Ok(client.supervision().supervision_events(id).try_collect().await?)
}

fn issue(case_id: &str, text: &str) -> pb::IssueSupervisionRequest {
    pb::IssueSupervisionRequest {
        case_id: case_id.into(),
        trigger: pb::SupervisionTrigger::Delay.into(),
        text: text.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_unanswered_item_climbs_every_rung_as_its_deadlines_pass() -> Result<()> {
    let clock = TestClock::new()?;
    // Monday 1 March 2027; no holiday schedule loaded: weekends only.
    clock.set(date(2027, 3, 1))?;
    let server = server_on(&clock).await?;
    let world = CaseWorld::create(&server).await?;
    let case = world.routed_case("物业拖延维修").await?;
    let item =
        world.supervisor.supervision().issue_supervision(issue(&case.id, "受理后迟迟未办理，请说明原因。")).await?;
    assert_eq!(item.rung(), pb::SupervisionRung::Reminder);
    assert_eq!(item.state(), pb::SupervisionState::Open);
    assert_eq!(item.organization_id, world.dir.unit_a.id, "addressed to the handling unit by default");
    assert_eq!(item.issued_on, "2027-03-01");
    assert_eq!(item.due_date, "2027-03-04", "three working days");
    assert!(item.letters.is_empty(), "a reminder has no number");

    // Two working days before the deadline: warned, once.
    clock.set(date(2027, 3, 2))?;
    swept(&server, date(2027, 3, 2)).await?;
    clock.set(date(2027, 3, 3))?;
    swept(&server, date(2027, 3, 3)).await?;
    let warned = events(&world.supervisor, &item.id).await?;
    let warnings = warned.iter().filter(|e| e.r#type() == pb::SupervisionEventType::DeadlineApproaching).count();
    assert_eq!(warnings, 1, "one warning per deadline: {warned:?}");
    let now = world.supervisor.supervision().get_supervision(&item.id).await?;
    assert_eq!(now.etag, item.etag, "a warning leaves the etag a caller holds");

    // Each deadline passes unanswered: one rung up, numbered, due anew.
    let rungs = [
        (date(2027, 3, 5), pb::SupervisionRung::Letter, "督办函〔2027〕1号", "2027-03-12"),
        (date(2027, 3, 13), pb::SupervisionRung::Talks, "约谈通知〔2027〕2号", "2027-03-19"),
        (date(2027, 3, 20), pb::SupervisionRung::Notice, "通报〔2027〕3号", "2027-04-02"),
    ];
    for (day, rung, number, due) in rungs {
        clock.set(day)?;
        let risen = item_until(&world.supervisor, &item.id, |i| i.rung() == rung).await?;
        assert_eq!(risen.state(), pb::SupervisionState::Open);
        assert_eq!(risen.due_date, due, "{rung:?}");
        assert_eq!(risen.letters.last().map(|l| l.number.as_str()), Some(number));
        assert_eq!(risen.letters.last().map(|l| l.issued_on.clone()), Some(day.to_string()));
        assert!(!risen.overdue);
    }
    // The notice's deadline passes: recorded once, nothing higher.
    clock.set(date(2027, 4, 3))?;
    swept(&server, date(2027, 4, 3)).await?;
    clock.set(date(2027, 4, 6))?;
    swept(&server, date(2027, 4, 6)).await?;
    let item = world.supervisor.supervision().get_supervision(&item.id).await?;
    assert_eq!(item.rung(), pb::SupervisionRung::Notice);
    assert!(item.overdue);
    let log = events(&world.supervisor, &item.id).await?;
    let types: Vec<_> = log.iter().map(|e| e.r#type()).collect();
    use pb::SupervisionEventType as T;
    assert_eq!(types.iter().filter(|t| **t == T::Escalated).count(), 3, "one rise per rung: {types:?}");
    assert_eq!(types.iter().filter(|t| **t == T::Lapsed).count(), 1, "{types:?}");
    for event in log.iter().filter(|e| e.r#type() == T::Escalated) {
        assert!(event.actor_account_id.is_empty(), "the sweeper acts as no one");
        let Some(pb::supervision_event::Detail::Escalated(detail)) = &event.detail else { bail!("{event:?}") };
        assert!(detail.automatic);
    }
    // A supervisor cannot raise it beyond the top.
    let top = world
        .supervisor
        .supervision()
        .escalate_supervision(pb::EscalateSupervisionRequest {
            supervision_id: item.id.clone(),
            reason: "再升一级".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(top.err().and_then(|e| e.reason().map(str::to_owned)), Some("SUPERVISION_AT_TOP_RUNG".to_owned()));

    // The feed carries the item's typed events to those who may see it.
    // Once the feed's horizon passed them (a writing transaction anywhere
    // in the cluster holds it back).
    let supervisor = world.supervisor.clone();
    let read = || {
        let supervisor = supervisor.clone();
        async move {
            let request = pb::ListChangesRequest {
                after_position: 0,
                page_size: 500,
                filter: Some(pb::ChangeFilter {
                    aggregate_types: vec![pb::AggregateType::Supervision.into()],
                    ..Default::default()
                }),
            };
            Ok(supervisor.feed().list_changes(request).await?)
        }
    };
    let page = crate::support::eventually(read, |page: &pb::ListChangesResponse| {
        page.changes.iter().filter(|c| c.aggregate_id == item.id).count() >= log.len()
    })
    .await?;
    let fed: Vec<_> = page.changes.iter().filter(|c| c.aggregate_id == item.id).collect();
    fed.iter().for_each(|c| assert_typed(c));
    assert_eq!(fed.len(), log.len(), "every event of the item is in the feed");
    let outsider = world
        .handler_b
        .feed()
        .list_changes(pb::ListChangesRequest { after_position: 0, page_size: 500, filter: None })
        .await?;
    assert!(outsider.changes.iter().all(|c| c.aggregate_id != item.id), "not to a unit elsewhere");
    Ok(())
}

#[tokio::test]
async fn an_answer_stops_the_climb_until_the_issuer_rejects_it() -> Result<()> {
    let clock = TestClock::new()?;
    clock.set(date(2027, 3, 1))?;
    let server = server_on(&clock).await?;
    let world = CaseWorld::create(&server).await?;
    let case = world.accepted_case("答复迟缓").await?;
    let item = world.supervisor.supervision().issue_supervision(issue(&case.id, "请说明办理进度。")).await?;
    let answered = world
        .handler
        .supervision()
        .answer_supervision(pb::AnswerSupervisionRequest {
            supervision_id: item.id.clone(),
            text: "已约见信访人，正在协调物业。".into(),
            etag: item.etag.clone(),
            ..Default::default()
        })
        .await?;
    assert_eq!(answered.state(), pb::SupervisionState::Answered);
    // Past its deadline, an answered item waits for the issuer.
    clock.set(date(2027, 3, 8))?;
    swept(&server, date(2027, 3, 8)).await?;
    let waiting = world.supervisor.supervision().get_supervision(&item.id).await?;
    assert_eq!((waiting.rung(), waiting.state()), (pb::SupervisionRung::Reminder, pb::SupervisionState::Answered));
    // Rejected: open again under its passed deadline, so it rises.
    let rejected = world
        .supervisor
        .supervision()
        .review_supervision_answer(pb::ReviewSupervisionAnswerRequest {
            supervision_id: item.id.clone(),
            accept: false,
            note: "未见实质进展。".into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(rejected.state(), pb::SupervisionState::Open);
    let risen = item_until(&world.supervisor, &item.id, |i| i.rung() == pb::SupervisionRung::Letter).await?;
    assert_eq!(risen.due_date, "2027-03-15");
    // Answered again and accepted: closed, and nothing more is recorded.
    world
        .unit_lead
        .supervision()
        .answer_supervision(pb::AnswerSupervisionRequest {
            supervision_id: item.id.clone(),
            text: "管道已修复，信访人表示认可。".into(),
            ..Default::default()
        })
        .await?;
    let closed = world
        .supervisor
        .supervision()
        .review_supervision_answer(pb::ReviewSupervisionAnswerRequest {
            supervision_id: item.id.clone(),
            accept: true,
            ..Default::default()
        })
        .await?;
    assert_eq!(closed.state(), pb::SupervisionState::Closed);
    let again = world
        .handler
        .supervision()
        .answer_supervision(pb::AnswerSupervisionRequest {
            supervision_id: item.id.clone(),
            text: "补充".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(again.err().and_then(|e| e.reason().map(str::to_owned)), Some("SUPERVISION_ENDED".to_owned()));
    clock.set(date(2027, 4, 1))?;
    swept(&server, date(2027, 4, 1)).await?;
    let still = world.supervisor.supervision().get_supervision(&item.id).await?;
    assert_eq!((still.rung(), still.state()), (pb::SupervisionRung::Letter, pb::SupervisionState::Closed));
    // Listed for the unit, soonest deadline first; overdue filter.
    let listed = world
        .handler
        .supervision()
        .list_supervisions(pb::ListSupervisionsRequest { case_id: case.id.clone(), ..Default::default() })
        .await?;
    assert_eq!(listed.supervisions.len(), 1);
    Ok(())
}

#[tokio::test]
async fn the_sweeper_marks_a_passed_case_clock_once_and_supervises_it() -> Result<()> {
    let clock = TestClock::new()?;
    let today = petition_server::time::shanghai_today();
    clock.set(today)?;
    let server = server_on(&clock).await?;
    let world = CaseWorld::create(&server).await?;
    let case = world.routed_case("转送后未受理").await?;
    let accept_by: NaiveDate = case.deadlines.as_ref().map(|d| d.accept_by.clone()).unwrap_or_default().parse()?;
    // The deadline passes.
    let after = accept_by + chrono::Duration::days(1);
    clock.set(after)?;
    swept(&server, after).await?;
    clock.set(after + chrono::Duration::days(2))?;
    swept(&server, after + chrono::Duration::days(2)).await?;
    let timeline: Vec<pb::CaseEvent> = world.clerk.cases().case_events(&case.id).try_collect().await?;
    let missed: Vec<_> = timeline.iter().filter(|e| e.r#type() == pb::CaseEventType::DeadlineMissed).collect();
    assert_eq!(missed.len(), 1, "marked once: {timeline:?}");
    let Some(pb::case_event::Detail::DeadlineMissed(mark)) = &missed[0].detail else { bail!("{:?}", missed[0]) };
    assert_eq!((mark.deadline.as_str(), mark.due_date.clone()), ("accept_by", accept_by.to_string()));
    assert_eq!(mark.organization_id, world.dir.unit_a.id);
    // The mark changes nothing of the case: a caller's etag still holds.
    let now = world.clerk.cases().get_case(&case.id).await?;
    assert_eq!(now.etag, case.etag);
    // The unit got an OVERDUE reminder in the registering bureau's name (if
    // it registered the case), once.
    let items = world
        .supervisor
        .supervision()
        .list_supervisions(pb::ListSupervisionsRequest { case_id: case.id.clone(), ..Default::default() })
        .await?
        .supervisions;
    if case.registering_organization_id.is_empty() {
        assert!(items.is_empty(), "no bureau to issue it: {items:?}");
    } else {
        assert_eq!(items.len(), 1, "{items:?}");
        assert_eq!(items[0].trigger(), pb::SupervisionTrigger::Overdue);
        assert!(items[0].automatic && items[0].issued_by_account_id.is_empty());
        assert_eq!(items[0].organization_id, world.dir.unit_a.id);
    }
    // Accepting starts the reply clock: a new deadline, marked when it nears.
    let accepted = world
        .handler
        .cases()
        .accept_case(pb::AcceptCaseRequest { case_id: case.id.clone(), ..Default::default() })
        .await?;
    let reply_by: NaiveDate = accepted.deadlines.as_ref().map(|d| d.reply_by.clone()).unwrap_or_default().parse()?;
    let near = reply_by - chrono::Duration::days(1);
    clock.set(near)?;
    swept(&server, near).await?;
    let timeline: Vec<pb::CaseEvent> = world.clerk.cases().case_events(&case.id).try_collect().await?;
    assert!(
        timeline.iter().any(|e| e.r#type() == pb::CaseEventType::DeadlineApproaching),
        "warned of the reply deadline: {timeline:?}"
    );
    Ok(())
}

#[tokio::test]
async fn one_sweeper_of_two_servers_acts_and_another_takes_over_when_it_is_killed() -> Result<()> {
    let clock = TestClock::new()?;
    clock.set(date(2027, 3, 1))?;
    let clock_path = clock.0.to_string_lossy().into_owned();
    let env = [("PETITION_CLOCK_FILE", clock_path.as_str()), ("PETITION_SWEEP_INTERVAL_SECS", "1")];
    let mut first = ServerProcess::start(env!("CARGO_BIN_EXE_serve"), &env).await?;
    let admin = first.admin().await?;
    let world = CaseWorld::with(admin).await?;
    // The second server: same database and keys, in this process.
    let (url, jwt_keys, data_key) = first.shared_settings();
    let data_dir = std::env::temp_dir().join(format!("petition-second-{}", uuid::Uuid::now_v7().simple()));
    let mut config = test_config(&url, &data_dir);
    config.auth.jwt_keys = Some(petition_server::config::Secret::new(jwt_keys));
    config.auth.data_key = Some(petition_server::config::Secret::new(data_key));
    config.oversight.clock_file = Some(clock.0.clone());
    config.oversight.sweep_interval_secs = 1;
    let second = TestServer::start(config, None, data_dir).await?;
    let watcher = admin_at(&second.url).await?;

    let mut ids = Vec::new();
    for n in 0..6 {
        let case = world.routed_case(&format!("两台服务器 {n}")).await?;
        ids.push(world.supervisor.supervision().issue_supervision(issue(&case.id, "请说明。")).await?.id);
    }
    // Both servers run; the items rise once each.
    clock.set(date(2027, 3, 5))?;
    for id in &ids {
        item_until(&watcher, id, |i| i.rung() == pb::SupervisionRung::Letter).await?;
    }
    // The lease holder dies (SIGKILL); the other server must take over.
    first.kill()?;
    let killed = Instant::now();
    clock.set(date(2027, 3, 13))?;
    for id in &ids {
        item_until(&watcher, id, |i| i.rung() == pb::SupervisionRung::Talks).await?;
    }
    let took_over = killed.elapsed();
    assert!(took_over < Duration::from_secs(20), "took over after {took_over:?}");
    // No item rose twice; the issuer's numbers are each used once.
    let mut numbers = Vec::new();
    for id in &ids {
        let log = events(&watcher, id).await?;
        let rises = log.iter().filter(|e| e.r#type() == pb::SupervisionEventType::Escalated).count();
        assert_eq!(rises, 2, "{id}: {log:?}");
        let item = watcher.supervision().get_supervision(id).await?;
        numbers.extend(item.letters.into_iter().map(|l| l.number));
    }
    numbers.sort();
    let count = numbers.len();
    numbers.dedup();
    assert_eq!((numbers.len(), count), (12, 12), "every number once: {numbers:?}");
    second.stop().await?;
    Ok(())
}

#[tokio::test]
async fn who_may_issue_answer_and_oversee_an_item() -> Result<()> {
    let server = TestServer::spawn().await?;
    let world = CaseWorld::create(&server).await?;
    let case = world.routed_case("权限").await?;
    let admin = &world.admin;
    let (supervisor_b, _) =
        signed_in_staff(admin, "supervisor.b", &world.dir.bureau_b, &[pb::Role::Supervisor]).await?;
    let kind = |r: petition_sdk::Result<pb::Supervision>| r.err().map(|e| e.code());
    // Issue.
    let request = issue(&case.id, "请说明。");
    assert_eq!(
        kind(world.handler.supervision().issue_supervision(request.clone()).await),
        Some(Code::PermissionDenied)
    );
    assert_eq!(kind(world.clerk.supervision().issue_supervision(request.clone()).await), Some(Code::PermissionDenied));
    assert_eq!(kind(world.leader.supervision().issue_supervision(request.clone()).await), Some(Code::PermissionDenied));
    assert_eq!(kind(world.owner.supervision().issue_supervision(request.clone()).await), Some(Code::NotFound));
    assert_eq!(kind(supervisor_b.supervision().issue_supervision(request.clone()).await), Some(Code::NotFound));
    assert_eq!(kind(world.partner.supervision().issue_supervision(request.clone()).await), Some(Code::NotFound));
    // Bad input: every field named.
    let bad = world
        .supervisor
        .supervision()
        .issue_supervision(pb::IssueSupervisionRequest {
            case_id: "not-an-id".into(),
            trigger: pb::SupervisionTrigger::Overdue.into(),
            text: String::new(),
            rung: 9,
            due_date: "2020-01-01".into(),
            ..Default::default()
        })
        .await
        .err();
    let fields: Vec<String> =
        bad.as_ref().map(|e| e.field_violations().iter().map(|v| v.field.clone()).collect()).unwrap_or_default();
    assert_eq!(bad.map(|e| e.code()), Some(Code::InvalidArgument));
    assert_eq!(fields, ["case_id", "trigger", "rung", "text", "due_date"]);
    let item = world.supervisor.supervision().issue_supervision(request).await?;
    // Read.
    for reader in [&world.supervisor, &world.clerk, &world.leader, &world.handler, &world.unit_lead, admin] {
        reader.supervision().get_supervision(&item.id).await?;
    }
    for outsider in
        [&world.owner, &world.other_citizen, &world.handler_b, &world.clerk_b, &supervisor_b, &world.partner]
    {
        assert_eq!(kind(outsider.supervision().get_supervision(&item.id).await), Some(Code::NotFound));
        let listed = outsider.supervision().list_supervisions(pb::ListSupervisionsRequest::default()).await;
        assert!(listed.map(|l| l.supervisions.is_empty()).unwrap_or(true), "listed to an outsider");
    }
    // Answer: the addressed unit's handlers and leads only.
    let answer = |text: &str| pb::AnswerSupervisionRequest {
        supervision_id: item.id.clone(),
        text: text.into(),
        ..Default::default()
    };
    for denied in [&world.supervisor, &world.clerk, &world.leader, admin] {
        assert_eq!(kind(denied.supervision().answer_supervision(answer("x")).await), Some(Code::PermissionDenied));
    }
    assert_eq!(kind(world.handler_b.supervision().answer_supervision(answer("x")).await), Some(Code::NotFound));
    let empty = world.handler.supervision().answer_supervision(answer("")).await.err();
    assert_eq!(empty.map(|e| e.code()), Some(Code::InvalidArgument));
    // Review before an answer: a precondition.
    let early = world
        .supervisor
        .supervision()
        .review_supervision_answer(pb::ReviewSupervisionAnswerRequest {
            supervision_id: item.id.clone(),
            accept: true,
            ..Default::default()
        })
        .await;
    assert_eq!(early.err().and_then(|e| e.reason().map(str::to_owned)), Some("SUPERVISION_NOT_ANSWERED".to_owned()));
    world.handler.supervision().answer_supervision(answer("已处理")).await?;
    let twice = world.handler.supervision().answer_supervision(answer("再答")).await;
    assert_eq!(twice.err().and_then(|e| e.reason().map(str::to_owned)), Some("SUPERVISION_ANSWERED".to_owned()));
    // Oversee (review, escalate, withdraw): the issuing bureau's supervisors.
    let review =
        pb::ReviewSupervisionAnswerRequest { supervision_id: item.id.clone(), accept: false, ..Default::default() };
    let no_note = world.supervisor.supervision().review_supervision_answer(review.clone()).await.err();
    assert_eq!(no_note.map(|e| e.code()), Some(Code::InvalidArgument), "a rejection says why");
    let review = pb::ReviewSupervisionAnswerRequest { note: "不充分".into(), ..review };
    let escalate =
        pb::EscalateSupervisionRequest {
            supervision_id: item.id.clone(), reason: "拖延".into(), ..Default::default()
        };
    let withdraw =
        pb::WithdrawSupervisionRequest {
            supervision_id: item.id.clone(), reason: "误发".into(), ..Default::default()
        };
    for denied in [&world.handler, &world.unit_lead, &world.clerk, &world.leader, admin] {
        let s = denied.supervision();
        assert_eq!(kind(s.review_supervision_answer(review.clone()).await), Some(Code::PermissionDenied));
        assert_eq!(kind(s.escalate_supervision(escalate.clone()).await), Some(Code::PermissionDenied));
        assert_eq!(kind(s.withdraw_supervision(withdraw.clone()).await), Some(Code::PermissionDenied));
    }
    for hidden in [&world.owner, &world.handler_b, &supervisor_b] {
        let s = hidden.supervision();
        assert_eq!(kind(s.review_supervision_answer(review.clone()).await), Some(Code::NotFound));
        assert_eq!(kind(s.escalate_supervision(escalate.clone()).await), Some(Code::NotFound));
        assert_eq!(kind(s.withdraw_supervision(withdraw.clone()).await), Some(Code::NotFound));
    }
    let raised = world.supervisor.supervision().escalate_supervision(escalate).await?;
    assert_eq!(raised.rung(), pb::SupervisionRung::Letter);
    assert_eq!(raised.letters.len(), 1);
    let withdrawn = world.supervisor.supervision().withdraw_supervision(withdraw).await?;
    assert_eq!(withdrawn.state(), pb::SupervisionState::Withdrawn);
    // The timeline: every event typed.
    let log = events(&world.handler, &item.id).await?;
    assert_eq!(log.len(), 4, "{log:?}");
    let stale = world
        .handler
        .supervision()
        .answer_supervision(pb::AnswerSupervisionRequest { etag: "1".into(), ..answer("旧") })
        .await;
    assert_eq!(stale.err().map(|e| e.code()), Some(Code::Aborted));
    Ok(())
}

#[tokio::test]
async fn the_sweeper_designates_a_case_open_too_long_as_a_backlog_case_once() -> Result<()> {
    let clock = TestClock::new()?;
    let today = petition_server::time::shanghai_today();
    clock.set(today)?;
    let server = server_on(&clock).await?;
    let world = CaseWorld::create(&server).await?;
    let stuck = world.accepted_case("久拖不决").await?;
    let replied = world.replied_case("已答复").await?;
    // Past the default 90 days: the accepted case is still with the unit,
    // the replied one waits on the petitioner.
    let later = today + chrono::Duration::days(95);
    clock.set(later)?;
    swept(&server, later).await?;
    // A pass on the next day designates nothing more.
    clock.set(later + chrono::Duration::days(1))?;
    swept(&server, later + chrono::Duration::days(1)).await?;
    let listed = |case_id: String| pb::ListBacklogCasesRequest { case_id, ..Default::default() };
    let designated = world.supervisor.backlog().list_backlog_cases(listed(stuck.id.clone())).await?.backlog_cases;
    assert_eq!(designated.len(), 1, "designated once: {designated:?}");
    assert_eq!(designated[0].reason(), pb::BacklogReason::OpenTooLong);
    assert!(designated[0].by_rule && designated[0].designated_by_account_id.is_empty());
    let other = world.supervisor.backlog().list_backlog_cases(listed(replied.id.clone())).await?.backlog_cases;
    assert!(other.is_empty(), "a replied case waits on the petitioner: {other:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_supervision_on_three_rungs() -> Result<()> {
    let server = TestServer::spawn().await?;
    petition_server::seed::run(&server.state).await?;
    let supervisor = server.client().await?.new_session();
    supervisor.login("city.supervisor", petition_server::seed::DEMO_PASSWORD).await?;
    let all: Vec<pb::Supervision> =
        supervisor.supervision().supervisions(pb::ListSupervisionsRequest::default()).try_collect().await?;
    let mut seen: Vec<_> = all.iter().map(|i| (i.rung(), i.state(), i.letters.len())).collect();
    seen.sort_by_key(|(rung, _, _)| *rung as i32);
    use pb::SupervisionRung as R;
    use pb::SupervisionState as S;
    assert_eq!(seen, [(R::Reminder, S::Open, 0), (R::Letter, S::Closed, 1), (R::Talks, S::Open, 2)], "{all:?}");
    let talks = all.iter().find(|i| i.rung() == R::Talks).map(|i| i.letters.clone()).unwrap_or_default();
    assert_eq!(talks[0].number.split('〔').next(), Some("督办函"));
    assert_eq!(talks[1].number.split('〔').next(), Some("约谈通知"));
    // The handling unit sees the items addressed to it.
    let handler = server.client().await?.new_session();
    handler.login("zg.handler", petition_server::seed::DEMO_PASSWORD).await?;
    let theirs = handler.supervision().list_supervisions(pb::ListSupervisionsRequest::default()).await?;
    assert_eq!(theirs.supervisions.len(), 2, "the two addressed to the housing bureau");
    Ok(())
}
