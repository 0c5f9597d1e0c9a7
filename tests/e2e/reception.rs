//! Reception days (领导接访, issue 20 §2) through the SDK: a bureau's
//! clerk publishes a county leader's schedule; a citizen books a slot; the
//! leader receives them and the reception registers a case the leader then
//! owns (首接包案); a booking linked to an existing case; cancellation and
//! no-show; two citizens racing for the last place; every RPC denied to
//! whoever may not call it; bad input. A clock file drives time.

use std::path::PathBuf;

use anyhow::{Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_server::clock::set_file_clock;
use petition_tests::courts_world::all_changes;
use petition_tests::server::TestServer;
use petition_tests::world::{CaseWorld, claim};

use crate::support::{assert_typed, eventually, expect_error, expect_invalid, expect_precondition};

/// A clock file the server reads as now; removed when dropped.
struct TestClock(PathBuf);

impl TestClock {
    fn new() -> TestClock {
        TestClock(std::env::temp_dir().join(format!("petition-clock-{}", uuid::Uuid::now_v7().simple())))
    }

    /// Now is `hh:mm` Beijing time on `day`.
    fn set(&self, day: NaiveDate, hh: u32, mm: u32) -> Result<()> {
        let Some(local) = day.and_hms_opt(hh, mm, 0) else { bail!("no such time") };
        let at = DateTime::<Utc>::from_naive_utc_and_offset(local - chrono::Duration::hours(8), Utc);
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

/// Friday 26 February 2027; the reception day is Monday 1 March.
const FRIDAY: (i32, u32, u32) = (2027, 2, 26);
const MONDAY: &str = "2027-03-01";

struct Reception {
    _server: TestServer,
    clock: TestClock,
    w: CaseWorld,
    /// The county leader (gov A) who receives.
    leader_id: String,
    schedule: pb::ReceptionSchedule,
}

impl Reception {
    async fn create() -> Result<Reception> {
        let clock = TestClock::new();
        let (y, m, d) = FRIDAY;
        clock.set(date(y, m, d), 10, 0)?;
        let path = clock.0.clone();
        let server = TestServer::spawn_with(move |c| c.oversight.clock_file = Some(path)).await?;
        let w = CaseWorld::create(&server).await?;
        let leader_id = w.reviewer.identity().get_me().await?.id;
        let schedule = w.clerk.reception().create_reception_schedule(schedule_request(&leader_id)).await?;
        Ok(Reception { _server: server, clock, w, leader_id, schedule })
    }

    fn book(&self, start: &str, title: &str) -> pb::BookReceptionRequest {
        pb::BookReceptionRequest {
            schedule_id: self.schedule.id.clone(),
            date: MONDAY.into(),
            start_time: start.into(),
            title: title.into(),
            description: "小区公共管道漏水三个月无人处理，想当面反映。".into(),
            ..Default::default()
        }
    }

    /// Monday at `hh:mm`.
    fn monday_at(&self, hh: u32, mm: u32) -> Result<()> {
        self.clock.set(date(2027, 3, 1), hh, mm)
    }
}

/// A county leader's schedule at county A's bureau: every working day,
/// 09:00 (one place) and 09:30 (two places).
fn schedule_request(leader_id: &str) -> pb::CreateReceptionScheduleRequest {
    pb::CreateReceptionScheduleRequest {
        spec: Some(pb::ReceptionScheduleSpec {
            leader_account_id: leader_id.into(),
            address: "章贡区信访局接待大厅".into(),
            region_code: "360702".into(),
            recurrence: pb::ReceptionRecurrence::Workdays.into(),
            slots: vec![
                pb::ReceptionSlotTemplate { start_time: "09:00".into(), minutes: 30, capacity: 1 },
                pb::ReceptionSlotTemplate { start_time: "09:30".into(), minutes: 30, capacity: 2 },
            ],
            valid_from: "2027-02-01".into(),
            title: "区领导接访日".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn record(outcome: pb::ReceptionOutcome, booking: &pb::ReceptionBooking) -> pb::RecordReceptionRequest {
    pb::RecordReceptionRequest {
        booking_id: booking.id.clone(),
        outcome: outcome.into(),
        attendees: vec!["区住建局 王科长".into()],
        notes: "听取诉求，当场交办住建局核查。".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_booking_received_creates_a_case_the_receiving_leader_owns() -> Result<()> {
    let r = Reception::create().await?;
    let w = &r.w;
    // Slots: Saturday and Sunday hold none; Monday and Tuesday two each.
    let slots = w
        .owner
        .reception()
        .list_reception_slots(pb::ListReceptionSlotsRequest {
            leader_account_id: r.leader_id.clone(),
            from_date: "2027-02-27".into(),
            until_date: "2027-03-02".into(),
            ..Default::default()
        })
        .await?;
    let days: Vec<(String, String, i32)> =
        slots.iter().map(|s| (s.date.clone(), s.start_time.clone(), s.remaining)).collect();
    assert_eq!(
        days,
        [
            ("2027-03-01".into(), "09:00".into(), 1),
            ("2027-03-01".into(), "09:30".into(), 2),
            ("2027-03-02".into(), "09:00".into(), 1),
            ("2027-03-02".into(), "09:30".into(), 2),
        ]
    );
    let booking = w.owner.reception().book_reception(r.book("09:00", "楼道漏水")).await?;
    assert_eq!(booking.state(), pb::ReceptionBookingState::Booked);
    assert_eq!(booking.leader_account_id, r.leader_id);
    // One open booking per matter: the same title, however spaced.
    expect_precondition(
        w.owner.reception().book_reception(r.book("09:30", " 楼道漏水 ")).await,
        "RECEPTION_MATTER_ALREADY_BOOKED",
        &format!("receptionSchedules/{}", r.schedule.id),
    );
    // The 09:00 slot is full.
    expect_precondition(
        w.other_citizen.reception().book_reception(r.book("09:00", "噪音扰民")).await,
        "RECEPTION_SLOT_FULL",
        &format!("receptionSchedules/{}", r.schedule.id),
    );
    // Saturday holds no reception.
    let mut saturday = r.book("09:30", "噪音扰民");
    saturday.date = "2027-02-27".into();
    expect_error(
        w.other_citizen.reception().book_reception(saturday).await,
        Code::FailedPrecondition,
        Some("RECEPTION_NO_SUCH_SLOT"),
    );
    // Too early to record.
    let mut created = record(pb::ReceptionOutcome::CaseCreated, &booking);
    created.case_draft = Some(pb::CaseDraft { title: String::new(), content: String::new(), ..claim("") });
    created.take_ownership = true;
    expect_error(
        w.reviewer.reception().record_reception(created.clone()).await,
        Code::FailedPrecondition,
        Some("RECEPTION_SLOT_NOT_STARTED"),
    );
    // Monday 09:05: the leader receives the citizen.
    r.monday_at(9, 5)?;
    let received = w.reviewer.reception().record_reception(created).await?;
    assert_eq!(received.state(), pb::ReceptionBookingState::Received);
    let rec = received.record.clone().unwrap_or_default();
    assert_eq!(rec.outcome(), pb::ReceptionOutcome::CaseCreated);
    assert!(rec.ownership_taken, "首接包案");
    assert!(!rec.case_id.is_empty());
    assert_eq!(received.case_id, rec.case_id);
    // The case is the citizen's, registered as a visit, owned by the leader.
    let case = w.owner.cases().get_case(&rec.case_id).await?;
    assert_eq!(case.title, "楼道漏水", "the booking's title");
    assert_eq!(case.channel(), pb::CaseChannel::Visit);
    let case = w.reviewer.cases().get_case(&rec.case_id).await?;
    assert_eq!(case.owning_leader_id, r.leader_id);
    // It shows on the leader's own list.
    let mine = w.reviewer.cases().list_cases(pb::ListCasesRequest { owned_by_me: true, ..Default::default() }).await?;
    assert!(mine.cases.iter().any(|c| c.id == rec.case_id));
    // Recording twice is refused.
    expect_error(
        w.reviewer.reception().record_reception(record(pb::ReceptionOutcome::ResolvedOnSite, &received)).await,
        Code::FailedPrecondition,
        Some("RECEPTION_BOOKING_CLOSED"),
    );
    // The timeline and the citizen's feed carry the typed events.
    let events = w
        .owner
        .reception()
        .list_reception_booking_events(pb::ListReceptionBookingEventsRequest {
            booking_id: booking.id.clone(),
            ..Default::default()
        })
        .await?
        .events;
    let types: Vec<_> = events.iter().map(|e| e.r#type()).collect();
    assert_eq!(types, [pb::ReceptionBookingEventType::Booked, pb::ReceptionBookingEventType::Received]);
    // Read once the feed's horizon passed both (a writing transaction
    // anywhere in the cluster holds it back).
    let bookings = |changes: &Vec<pb::Change>| {
        changes.iter().filter(|c| c.aggregate_type() == pb::AggregateType::ReceptionBooking).count()
    };
    let changes = eventually(|| all_changes(&w.owner), |c| bookings(c) >= 2).await?;
    let mine: Vec<&pb::Change> =
        changes.iter().filter(|c| c.aggregate_type() == pb::AggregateType::ReceptionBooking).collect();
    assert_eq!(mine.len(), 2);
    for change in &mine {
        assert_typed(change);
    }
    let received_only = w
        .owner
        .feed()
        .list_changes(pb::ListChangesRequest {
            filter: Some(pb::ChangeFilter {
                reception_booking_event_types: vec![pb::ReceptionBookingEventType::Received.into()],
                aggregate_types: vec![pb::AggregateType::ReceptionBooking.into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?;
    assert_eq!(received_only.changes.len(), 1);
    // The slots of the county's region: the 09:00 place is taken.
    let by_region = w
        .other_citizen
        .reception()
        .list_reception_slots(pb::ListReceptionSlotsRequest {
            region_code: "360702".into(),
            from_date: MONDAY.into(),
            until_date: MONDAY.into(),
            ..Default::default()
        })
        .await?;
    let left: Vec<i32> = by_region.iter().map(|s| s.remaining).collect();
    assert_eq!(left, [0, 2]);
    // Another citizen sees none of it.
    let theirs = all_changes(&w.other_citizen).await?;
    assert!(!theirs.iter().any(|c| c.aggregate_id == booking.id));
    Ok(())
}

#[tokio::test]
async fn a_booking_links_to_an_existing_case_whose_owner_stays() -> Result<()> {
    let r = Reception::create().await?;
    let w = &r.w;
    let case = w.submit(claim("工资拖欠")).await?;
    // Another leader of the county owns the case already.
    w.reviewer
        .cases()
        .take_case_ownership(pb::TakeCaseOwnershipRequest { case_id: case.id.clone(), ..Default::default() })
        .await?;
    let mut request = r.book("09:30", "工资拖欠");
    request.case_id = case.id.clone();
    let booking = w.owner.reception().book_reception(request.clone()).await?;
    assert_eq!(booking.case_id, case.id);
    // Same case under another title: the same matter.
    request.title = "另一个说法".into();
    expect_error(
        w.owner.reception().book_reception(request).await,
        Code::FailedPrecondition,
        Some("RECEPTION_MATTER_ALREADY_BOOKED"),
    );
    // Another citizen's case cannot be named.
    let mut theirs = r.book("09:30", "别人的案件");
    theirs.case_id = case.id.clone();
    expect_invalid(w.other_citizen.reception().book_reception(theirs).await, &["case_id"]);
    r.monday_at(9, 40)?;
    let mut linked = record(pb::ReceptionOutcome::LinkedToCase, &booking);
    linked.take_ownership = true;
    // The bureau's clerk records it.
    let received = w.clerk.reception().record_reception(linked).await?;
    let rec = received.record.unwrap_or_default();
    assert_eq!(rec.case_id, case.id);
    assert!(!rec.ownership_taken, "the case already had its owner");
    Ok(())
}

#[tokio::test]
async fn bookings_are_cancelled_before_the_slot_and_no_shows_recorded_after() -> Result<()> {
    let r = Reception::create().await?;
    let w = &r.w;
    let first = w.owner.reception().book_reception(r.book("09:30", "噪音扰民")).await?;
    let cancelled = w
        .owner
        .reception()
        .cancel_reception_booking(pb::CancelReceptionBookingRequest {
            booking_id: first.id.clone(),
            etag: first.etag.clone(),
            ..Default::default()
        })
        .await?;
    assert_eq!(cancelled.state(), pb::ReceptionBookingState::Cancelled);
    // The place is free again and the matter may be booked again.
    let again = w.owner.reception().book_reception(r.book("09:30", "噪音扰民")).await?;
    let other = w.other_citizen.reception().book_reception(r.book("09:30", "路灯不亮")).await?;
    // A clerk cancels only with a reason.
    let cancel = |id: &str, reason: &str| pb::CancelReceptionBookingRequest {
        booking_id: id.into(),
        reason: reason.into(),
        ..Default::default()
    };
    expect_invalid(w.clerk.reception().cancel_reception_booking(cancel(&other.id, "")).await, &["reason"]);
    // After the slot started: no cancellation; no no-show before it ended.
    r.monday_at(9, 45)?;
    expect_error(
        w.owner.reception().cancel_reception_booking(cancel(&again.id, "")).await,
        Code::FailedPrecondition,
        Some("RECEPTION_SLOT_STARTED"),
    );
    let no_show = |id: &str| pb::RecordReceptionNoShowRequest { booking_id: id.into(), ..Default::default() };
    expect_error(
        w.reviewer.reception().record_reception_no_show(no_show(&other.id)).await,
        Code::FailedPrecondition,
        Some("RECEPTION_SLOT_NOT_STARTED"),
    );
    r.monday_at(10, 1)?;
    let missed = w.reviewer.reception().record_reception_no_show(no_show(&other.id)).await?;
    assert_eq!(missed.state(), pb::ReceptionBookingState::NoShow);
    // The citizen lists their own: two bookings of theirs only.
    let mine = w.owner.reception().list_reception_bookings(pb::ListReceptionBookingsRequest::default()).await?;
    let ids: Vec<&str> = mine.bookings.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&first.id.as_str()) && ids.contains(&again.id.as_str()));
    // The clerk lists the schedule's.
    let all = w
        .clerk
        .reception()
        .list_reception_bookings(pb::ListReceptionBookingsRequest {
            schedule_id: r.schedule.id.clone(),
            states: vec![pb::ReceptionBookingState::NoShow.into()],
            ..Default::default()
        })
        .await?;
    assert_eq!(all.bookings.len(), 1);
    Ok(())
}

#[tokio::test]
async fn two_citizens_racing_for_the_last_place_one_wins() -> Result<()> {
    let r = Reception::create().await?;
    let w = &r.w;
    for round in 0..3 {
        // A fresh one-place slot each round: Tuesday, Wednesday, Thursday.
        let day = format!("2027-03-0{}", round + 2);
        let mut a = r.book("09:00", &format!("漏水{round}"));
        a.date = day.clone();
        let mut b = r.book("09:00", &format!("噪音{round}"));
        b.date = day;
        let (owner, other) = (w.owner.reception(), w.other_citizen.reception());
        let (ra, rb) = tokio::join!(owner.book_reception(a), other.book_reception(b));
        let wins = [ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count();
        assert_eq!(wins, 1, "round {round}: {ra:?} {rb:?}");
        let loser = if ra.is_ok() { rb.map(|_| ()) } else { ra.map(|_| ()) };
        expect_error(loser, Code::FailedPrecondition, Some("RECEPTION_SLOT_FULL"));
    }
    Ok(())
}

#[tokio::test]
async fn every_reception_rpc_is_denied_to_whoever_may_not_call_it() -> Result<()> {
    let r = Reception::create().await?;
    let w = &r.w;
    let booking = w.owner.reception().book_reception(r.book("09:30", "楼道漏水")).await?;
    let not_found = Some("NOT_FOUND");
    let denied = Some("PERMISSION_DENIED");
    // Schedules: only the bureau's clerk (or an admin) manages them.
    for who in [&w.owner, &w.reviewer, &w.handler, &w.supervisor] {
        expect_error(
            who.reception().create_reception_schedule(schedule_request(&r.leader_id)).await,
            Code::PermissionDenied,
            None,
        );
        let update = pb::UpdateReceptionScheduleRequest {
            schedule_id: r.schedule.id.clone(),
            retired: true,
            ..Default::default()
        };
        expect_error(who.reception().update_reception_schedule(update).await, Code::PermissionDenied, None);
    }
    expect_error(
        w.clerk_b.reception().create_reception_schedule(schedule_request(&r.leader_id)).await,
        Code::PermissionDenied,
        None,
    );
    // Booking: citizens only.
    for who in [&w.clerk, &w.reviewer, &w.admin] {
        expect_error(who.reception().book_reception(r.book("09:30", "别的事")).await, Code::PermissionDenied, denied);
    }
    // Seeing the booking: the citizen, the leader, clerks/leaders/supervisors
    // in jurisdiction, admins; others NOT_FOUND on every call.
    for who in [&w.owner, &w.reviewer, &w.clerk, &w.leader, &w.supervisor, &w.admin] {
        who.reception().get_reception_booking(&booking.id).await?;
    }
    let events = |id: &str| pb::ListReceptionBookingEventsRequest { booking_id: id.into(), ..Default::default() };
    let cancel =
        pb::CancelReceptionBookingRequest { booking_id: booking.id.clone(), reason: "x".into(), ..Default::default() };
    let no_show = pb::RecordReceptionNoShowRequest { booking_id: booking.id.clone(), ..Default::default() };
    let rec = record(pb::ReceptionOutcome::ResolvedOnSite, &booking);
    for who in [&w.other_citizen, &w.handler, &w.handler_b, &w.clerk_b, &w.partner] {
        expect_error(who.reception().get_reception_booking(&booking.id).await, Code::NotFound, not_found);
        expect_error(
            who.reception().list_reception_booking_events(events(&booking.id)).await,
            Code::NotFound,
            not_found,
        );
        expect_error(who.reception().cancel_reception_booking(cancel.clone()).await, Code::NotFound, not_found);
        expect_error(who.reception().record_reception(rec.clone()).await, Code::NotFound, not_found);
        expect_error(who.reception().record_reception_no_show(no_show.clone()).await, Code::NotFound, not_found);
        let listed = who.reception().list_reception_bookings(pb::ListReceptionBookingsRequest::default()).await?;
        assert!(listed.bookings.is_empty());
    }
    // Seen but not theirs to act on.
    r.monday_at(9, 35)?;
    for who in [&w.owner, &w.leader, &w.supervisor, &w.admin] {
        expect_error(who.reception().record_reception(rec.clone()).await, Code::PermissionDenied, denied);
    }
    for who in [&w.reviewer, &w.leader, &w.supervisor, &w.admin] {
        expect_error(who.reception().cancel_reception_booking(cancel.clone()).await, Code::PermissionDenied, denied);
    }
    // Schedules and slots are public to signed-in accounts.
    w.other_citizen.reception().get_reception_schedule(&r.schedule.id).await?;
    let listed =
        w.other_citizen.reception().list_reception_schedules(pb::ListReceptionSchedulesRequest::default()).await?;
    assert_eq!(listed.schedules.len(), 1);
    // The clerk retires the schedule: no new bookings.
    let retired = w
        .clerk
        .reception()
        .update_reception_schedule(pb::UpdateReceptionScheduleRequest {
            schedule_id: r.schedule.id.clone(),
            retired: true,
            etag: r.schedule.etag.clone(),
            ..Default::default()
        })
        .await?;
    assert!(retired.retired);
    assert_ne!(retired.etag, r.schedule.etag);
    r.clock.set(date(2027, 3, 1), 8, 0)?;
    expect_error(
        w.other_citizen.reception().book_reception(r.book("09:30", "新事")).await,
        Code::FailedPrecondition,
        Some("RECEPTION_SCHEDULE_RETIRED"),
    );
    Ok(())
}

#[tokio::test]
async fn bad_reception_input_names_its_fields() -> Result<()> {
    let r = Reception::create().await?;
    let w = &r.w;
    let bad = pb::CreateReceptionScheduleRequest {
        spec: Some(pb::ReceptionScheduleSpec {
            leader_account_id: "nope".into(),
            address: String::new(),
            region_code: "360702".into(),
            recurrence: pb::ReceptionRecurrence::Weekly.into(),
            weekdays: vec![8],
            dates: vec!["2027-02-30".into()],
            slots: vec![
                pb::ReceptionSlotTemplate { start_time: "9:00".into(), minutes: 30, capacity: 1 },
                pb::ReceptionSlotTemplate { start_time: "10:00".into(), minutes: 1, capacity: 0 },
            ],
            valid_from: "2027-03-01".into(),
            valid_until: "2027-02-01".into(),
            title: String::new(),
        }),
        ..Default::default()
    };
    expect_invalid(
        w.clerk.reception().create_reception_schedule(bad).await,
        &[
            "spec.address",
            "spec.dates[0]",
            "spec.leader_account_id",
            "spec.slots[0].start_time",
            "spec.slots[1].capacity",
            "spec.slots[1].minutes",
            "spec.valid_until",
            "spec.weekdays[0]",
        ],
    );
    // A leader account that is not a leader.
    let clerk_id = w.clerk.identity().get_me().await?.id;
    expect_invalid(
        w.clerk.reception().create_reception_schedule(schedule_request(&clerk_id)).await,
        &["spec.leader_account_id"],
    );
    let booking = pb::BookReceptionRequest {
        schedule_id: r.schedule.id.clone(),
        date: "2027-3-1".into(),
        start_time: "25:00".into(),
        title: String::new(),
        description: String::new(),
        case_id: "x".into(),
        ..Default::default()
    };
    expect_invalid(
        w.owner.reception().book_reception(booking).await,
        &["case_id", "date", "description", "start_time", "title"],
    );
    expect_invalid(
        w.owner
            .reception()
            .list_reception_slots(pb::ListReceptionSlotsRequest {
                schedule_id: r.schedule.id.clone(),
                from_date: "2027-03-01".into(),
                until_date: "2027-06-01".into(),
                ..Default::default()
            })
            .await,
        &["until_date"],
    );
    let booking = w.owner.reception().book_reception(r.book("09:30", "楼道漏水")).await?;
    r.monday_at(9, 35)?;
    let mut rec = record(pb::ReceptionOutcome::Unspecified, &booking);
    rec.notes = String::new();
    expect_invalid(w.reviewer.reception().record_reception(rec).await, &["notes", "outcome"]);
    let rec = record(pb::ReceptionOutcome::CaseCreated, &booking);
    expect_invalid(w.reviewer.reception().record_reception(rec).await, &["case_draft"]);
    let mut rec = record(pb::ReceptionOutcome::ResolvedOnSite, &booking);
    rec.take_ownership = true;
    expect_invalid(w.reviewer.reception().record_reception(rec).await, &["take_ownership"]);
    let rec = record(pb::ReceptionOutcome::LinkedToCase, &booking);
    expect_invalid(w.reviewer.reception().record_reception(rec).await, &["case_id"]);
    expect_invalid(w.owner.reception().get_reception_booking("x").await, &["booking_id"]);
    let _ = Client::clone(&w.owner);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_two_schedules_and_a_received_booking() -> Result<()> {
    let server = TestServer::spawn().await?;
    petition_server::seed::run(&server.state).await?;
    let clerk = server.client().await?.new_session();
    clerk.login("zg.clerk", petition_server::seed::DEMO_PASSWORD).await?;
    let schedules = clerk.reception().list_reception_schedules(pb::ListReceptionSchedulesRequest::default()).await?;
    assert_eq!(schedules.schedules.len(), 2);
    let bookings = clerk.reception().list_reception_bookings(pb::ListReceptionBookingsRequest::default()).await?;
    let states: Vec<_> = bookings.bookings.iter().map(|b| b.state()).collect();
    assert!(states.contains(&pb::ReceptionBookingState::Received), "{states:?}");
    Ok(())
}
