//! The sweeper's watch over disputes' and legal-aid applications' clocks
//! (issue 20 §4): as a test clock passes their deadlines, each is warned of
//! once and marked missed once however many passes run, the marks leave
//! the aggregate's etag as it was, and they reach the change feed typed.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use petition_sdk::{Client, pb};
use petition_server::clock::set_file_clock;
use petition_tests::legal_aid_world::{LegalAidWorld, Stage};
use petition_tests::mediation_world::{DisputeStage, MediationWorld};
use petition_tests::server::TestServer;

use crate::support::{assert_typed, eventually};

/// A clock file the server reads as now; removed when dropped (as in
/// `supervision.rs`).
struct TestClock(PathBuf);

impl TestClock {
    fn new() -> TestClock {
        TestClock(std::env::temp_dir().join(format!("petition-clock-{}", uuid::Uuid::now_v7().simple())))
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

/// A server whose sweeper runs every second on `clock`.
async fn server_on(clock: &TestClock) -> Result<TestServer> {
    let path = clock.0.clone();
    TestServer::spawn_with(move |c| {
        c.oversight.clock_file = Some(path);
        c.oversight.sweep_interval_secs = 1;
    })
    .await
}

/// Moves the clock to `day` and waits (at most 20 s) until two passes
/// ended after it moved: the first may have begun before.
async fn sweep_on(server: &TestServer, clock: &TestClock, day: NaiveDate) -> Result<()> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Swept {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Date>)]
        swept_through: Option<NaiveDate>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
        pass_ended_at: Option<DateTime<Utc>>,
    }
    clock.set(day)?;
    let started = Utc::now();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let Swept { swept_through, pass_ended_at } = server
            .state
            .db
            .read(|conn| {
                Ok(diesel::sql_query("SELECT swept_through, pass_ended_at FROM sweeper_state").get_result(conn)?)
            })
            .await?;
        if swept_through.is_some_and(|t| t >= day)
            && pass_ended_at.is_some_and(|e| e > started + chrono::Duration::seconds(1))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no sweep covered {day}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn day(s: &str) -> Result<NaiveDate> {
    Ok(s.parse()?)
}

/// Every change `client` may see through `filter`, each asserted typed.
async fn changes(client: &Client, filter: pb::ChangeFilter) -> Result<Vec<pb::Change>> {
    let mut all = Vec::new();
    let mut position = 0;
    loop {
        let page = client
            .feed()
            .list_changes(pb::ListChangesRequest {
                after_position: position,
                page_size: 500,
                filter: Some(filter.clone()),
            })
            .await?;
        for change in &page.changes {
            assert_typed(change);
        }
        all.extend(page.changes);
        position = page.next_position;
        if page.caught_up {
            return Ok(all);
        }
    }
}

/// The sweeper's marks among `events`: (type, clock, due date).
fn dispute_marks(events: &[pb::DisputeEvent]) -> Vec<(pb::DisputeEventType, pb::DisputeClock, String)> {
    events
        .iter()
        .filter_map(|e| match &e.detail {
            Some(pb::dispute_event::Detail::DeadlineApproaching(m) | pb::dispute_event::Detail::DeadlineMissed(m)) => {
                Some((e.r#type(), m.clock(), m.due_date.clone()))
            }
            _ => None,
        })
        .collect()
}

fn legal_aid_marks(events: &[pb::LegalAidEvent]) -> Vec<(pb::LegalAidEventType, pb::LegalAidClock, String)> {
    events
        .iter()
        .filter_map(|e| match &e.detail {
            Some(
                pb::legal_aid_event::Detail::DeadlineApproaching(m) | pb::legal_aid_event::Detail::DeadlineMissed(m),
            ) => Some((e.r#type(), m.clock(), m.due_date.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_disputes_clocks_are_warned_of_and_missed_once_without_touching_its_etag() -> Result<()> {
    use pb::DisputeClock as C;
    use pb::DisputeEventType as T;
    let clock = TestClock::new();
    let today = petition_server::time::shanghai_today();
    clock.set(today)?;
    let server = server_on(&clock).await?;
    let world = MediationWorld::create(&server).await?;
    // An accepted dispute: the team owes the time limit.
    let accepted = world.dispute_in(DisputeStage::Accepted, "邻里排水沟纠纷").await?;
    let limit = day(&accepted.due_date)?;
    // A settled one: two terms due in 30 days, and the window to apply for
    // the court's confirmation.
    let settled = world.dispute_in(DisputeStage::Settled, "宅基地通道纠纷").await?;
    let agreement = settled.agreement.clone().unwrap_or_default();
    let term_due = day(&agreement.terms[0].deadline)?;
    let window = day(&agreement.confirmation_apply_by)?;
    let last = limit.max(term_due).max(window);
    // Several passes on each side of every deadline.
    let mut days: Vec<NaiveDate> =
        [limit.pred_opt(), term_due.pred_opt(), window.pred_opt()].into_iter().flatten().collect();
    days.extend([limit.succ_opt(), term_due.succ_opt(), window.succ_opt()].into_iter().flatten());
    days.push(last + chrono::Duration::days(5));
    days.sort();
    days.dedup();
    for d in days {
        sweep_on(&server, &clock, d).await?;
    }
    let head = world.village_head.mediation();
    let events: Vec<pb::DisputeEvent> = head.dispute_events(&accepted.id).try_collect().await?;
    assert_eq!(
        dispute_marks(&events),
        [
            (T::DeadlineApproaching, C::TimeLimit, limit.to_string()),
            (T::DeadlineMissed, C::TimeLimit, limit.to_string())
        ],
        "{events:?}"
    );
    let Some(pb::dispute_event::Detail::DeadlineMissed(mark)) = &events[events.len() - 1].detail else {
        bail!("the last event is not the miss: {events:?}")
    };
    assert_eq!(mark.team_id, world.village_team.id);
    // Recorded with the state the dispute is in, which they leave.
    let marked = events.iter().filter(|e| matches!(e.r#type(), T::DeadlineApproaching | T::DeadlineMissed));
    assert!(marked.into_iter().all(|e| e.state() == pb::DisputeState::Accepted), "{events:?}");
    let events: Vec<pb::DisputeEvent> = head.dispute_events(&settled.id).try_collect().await?;
    let marks = dispute_marks(&events);
    for (kind, clock, due, times) in [
        (T::DeadlineApproaching, C::TermPerformance, term_due, 2),
        (T::DeadlineMissed, C::TermPerformance, term_due, 2),
        (T::DeadlineApproaching, C::ConfirmationWindow, window, 1),
        (T::DeadlineMissed, C::ConfirmationWindow, window, 1),
    ] {
        let n = marks.iter().filter(|m| **m == (kind, clock, due.to_string())).count();
        assert_eq!(n, times, "{kind:?} {clock:?}: {marks:?}");
    }
    assert_eq!(marks.len(), 6, "{marks:?}");
    let obligors: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.detail {
            Some(pb::dispute_event::Detail::DeadlineMissed(m)) if m.clock() == C::TermPerformance => {
                Some(m.obligor_party_id.clone())
            }
            _ => None,
        })
        .collect();
    let mut parties: Vec<String> = settled.parties.iter().map(|p| p.id.clone()).collect();
    let mut got = obligors.clone();
    got.sort();
    parties.sort();
    assert_eq!(got, parties, "each term's obligor");
    // The marks change nothing of the disputes: a caller's etag holds.
    for d in [&accepted, &settled] {
        let now = head.get_dispute(&d.id).await?;
        assert_eq!((now.etag.as_str(), now.state), (d.etag.as_str(), d.state));
        assert!(now.last_event_sequence > d.last_event_sequence);
    }
    // The feed carries them, typed.
    let filter = pb::ChangeFilter {
        aggregate_types: vec![pb::AggregateType::Dispute.into()],
        dispute_event_types: vec![T::DeadlineApproaching.into(), T::DeadlineMissed.into()],
        ..Default::default()
    };
    let admin = &world.cw.admin;
    let fed = eventually(|| changes(admin, filter.clone()), |c: &Vec<pb::Change>| c.len() >= 8).await?;
    let mut per_dispute = std::collections::BTreeMap::<String, usize>::new();
    for change in &fed {
        let Some(pb::change::Event::DisputeEvent(e)) = &change.event else { bail!("{change:?}") };
        *per_dispute.entry(e.dispute_id.clone()).or_default() += 1;
    }
    assert_eq!(per_dispute.get(&accepted.id), Some(&2), "{fed:?}");
    assert_eq!(per_dispute.get(&settled.id), Some(&6), "{fed:?}");
    Ok(())
}

#[tokio::test]
async fn a_legal_aid_applications_clocks_are_warned_of_and_missed_once_without_touching_its_etag() -> Result<()> {
    use pb::LegalAidClock as C;
    use pb::LegalAidEventType as T;
    let clock = TestClock::new();
    let today = petition_server::time::shanghai_today();
    clock.set(today)?;
    let server = server_on(&clock).await?;
    let world = LegalAidWorld::create(&server).await?;
    // The centre owes the decision; the applicant owes the materials.
    let review = world.application_in(Stage::UnderReview, "赣南").await?;
    let waiting = world.application_in(Stage::AwaitingMaterials, "章贡").await?;
    let decision = day(&review.decision_due)?;
    let materials = day(&waiting.materials_due)?;
    let mut days = Vec::new();
    for d in [decision, materials] {
        days.extend(
            [d.pred_opt(), Some(d), d.succ_opt(), d.succ_opt().and_then(|d| d.succ_opt())].into_iter().flatten(),
        );
    }
    days.sort();
    days.dedup();
    for d in days {
        sweep_on(&server, &clock, d).await?;
    }
    let reviewer = world.reviewer.legal_aid();
    for (app, clock, due, owed_by) in
        [(&review, C::Decision, decision, world.centre.id.clone()), (&waiting, C::Materials, materials, String::new())]
    {
        let events: Vec<pb::LegalAidEvent> = reviewer.application_events(&app.id).try_collect().await?;
        assert_eq!(
            legal_aid_marks(&events),
            [(T::DeadlineApproaching, clock, due.to_string()), (T::DeadlineMissed, clock, due.to_string())],
            "{events:?}"
        );
        let Some(pb::legal_aid_event::Detail::DeadlineMissed(mark)) = &events[events.len() - 1].detail else {
            bail!("the last event is not the miss: {events:?}")
        };
        assert_eq!(mark.organization_id, owed_by);
        // Nothing of the application changed: its etag holds, and materials
        // never supplied are a withdrawal only when the centre records it
        // (WithdrawApplication, MATERIALS_NOT_SUPPLIED).
        let now = reviewer.get_legal_aid_application(&app.id).await?;
        assert_eq!((now.etag.as_str(), now.state()), (app.etag.as_str(), app.state()));
    }
    // The feed carries the marks, typed.
    let filter = pb::ChangeFilter {
        aggregate_types: vec![pb::AggregateType::LegalAidApplication.into()],
        legal_aid_event_types: vec![T::DeadlineApproaching.into(), T::DeadlineMissed.into()],
        ..Default::default()
    };
    let fed = eventually(|| changes(&world.reviewer, filter.clone()), |c: &Vec<pb::Change>| c.len() >= 4).await?;
    let ids: Vec<String> = fed
        .iter()
        .filter_map(|c| match &c.event {
            Some(pb::change::Event::LegalAidEvent(e)) => Some(e.application_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 4, "{fed:?}");
    assert_eq!(ids.iter().filter(|id| **id == review.id).count(), 2);
    assert_eq!(ids.iter().filter(|id| **id == waiting.id).count(), 2);
    Ok(())
}
