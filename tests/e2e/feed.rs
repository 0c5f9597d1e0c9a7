//! The change feed: no gap and no double under concurrent writers and
//! resuming readers (also across a SIGKILL of the server), the same
//! visibility as GetCase, expiry, list-then-watch, and typed events.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use diesel::prelude::*;
use futures::StreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, FeedItem, pb};
use petition_server::auth::policy::CaseAction;
use petition_server::auth::{AccountKind, Principal, Role};
use petition_server::cases::aggregate::Case;
use petition_server::cases::commands::Plain;
use petition_server::cases::domain::FollowUpKind;
use petition_server::cases::rules::Command as Rule;
use petition_server::event_log::Journal;
use petition_tests::*;
use tokio::sync::Mutex;

use crate::support::assert_typed;

/// An event as the feed must deliver it: position, case, sequence.
type Key = (i64, String, i64);

fn key(change: &pb::Change) -> Key {
    let sequence = match &change.event {
        Some(pb::change::Event::CaseEvent(event)) => event.sequence,
        Some(pb::change::Event::DisputeEvent(event)) => event.sequence,
        Some(pb::change::Event::LegalAidEvent(event)) => event.sequence,
        Some(pb::change::Event::CourtReferralEvent(event)) => event.sequence,
        Some(pb::change::Event::RatingEvent(event)) => event.sequence,
        Some(pb::change::Event::BacklogCaseEvent(event)) => event.sequence,
        Some(pb::change::Event::SupervisionEvent(event)) => event.sequence,
        Some(pb::change::Event::ReceptionBookingEvent(event)) => event.sequence,
        None => -1,
    };
    (change.position, change.aggregate_id.clone(), sequence)
}

#[derive(QueryableByName)]
struct StoredEvent {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    position: i64,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    aggregate_id: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    sequence: i32,
}

/// Every committed event, in position order, read from the table itself.
fn committed(conn: &mut PgConnection) -> Result<Vec<Key>> {
    let rows: Vec<StoredEvent> =
        diesel::sql_query("SELECT xid * 65536 + idx AS position, aggregate_id, sequence FROM events ORDER BY xid, idx")
            .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.position, r.aggregate_id.to_string(), i64::from(r.sequence))).collect())
}

/// Every change `client` may see after `after`, page by page.
async fn list_all(client: &Client, after: i64) -> Result<(Vec<pb::Change>, i64)> {
    let mut changes = Vec::new();
    let mut position = after;
    loop {
        let page = client
            .feed()
            .list_changes(pb::ListChangesRequest { after_position: position, page_size: 97, filter: None })
            .await?;
        assert!(page.next_position >= position, "positions never go back");
        changes.extend(page.changes);
        position = page.next_position;
        if page.caught_up {
            return Ok((changes, position));
        }
    }
}

/// Awaits `$call` (an expression making a new call each time) until it
/// succeeds, while the server is away. Each request carries its request
/// id, so a retry is safe.
macro_rules! persist {
    ($call:expr) => {{
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            match $call.await {
                Ok(value) => break anyhow::Ok(value),
                Err(e)
                    if matches!(e.code(), Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled)
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => break Err(anyhow::Error::from(e)),
            }
        }
    }};
}

/// A small deterministic generator, so a failing run can be repeated.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// One writer: files cases in county A or B, routes, accepts, follows up,
/// and now and then merges several open cases of a county in one
/// transaction.
async fn write(w: Arc<CaseWorld>, writer: u64, rounds: usize) -> Result<()> {
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15 ^ writer.wrapping_mul(0x2545_f491_4f6c_dd1d));
    let mut open: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let county = usize::from(dice.below(3) == 0);
        let (region, clerk, unit, handler) = if county == 0 {
            (w.dir.township_a.code.clone(), &w.clerk, &w.dir.unit_a, &w.handler)
        } else {
            (w.dir.county_b.code.clone(), &w.clerk_b, &w.dir.unit_b, &w.handler_b)
        };
        let draft = pb::CaseDraft { region_code: region, ..claim(&format!("写入者{writer}第{round}件")) };
        let request = pb::SubmitCaseRequest { draft: Some(draft), request_id: petition_sdk::new_request_id() };
        let case = persist!(w.owner.cases().submit_case(request.clone()))?;
        if dice.below(4) == 0 {
            open[county].push(case.id);
            continue;
        }
        let forward = pb::ForwardCaseRequest {
            case_id: case.id.clone(),
            organization_id: unit.id.clone(),
            request_id: petition_sdk::new_request_id(),
            ..Default::default()
        };
        persist!(clerk.cases().forward_case(forward.clone()))?;
        let accept = pb::AcceptCaseRequest {
            case_id: case.id.clone(),
            request_id: petition_sdk::new_request_id(),
            ..Default::default()
        };
        persist!(handler.cases().accept_case(accept.clone()))?;
        for note in 0..dice.below(3) {
            let follow_up = pb::AddFollowUpRequest {
                case_id: case.id.clone(),
                kind: pb::FollowUpKind::Contact.into(),
                note: format!("第{note}次联系"),
                request_id: petition_sdk::new_request_id(),
            };
            persist!(handler.cases().add_follow_up(follow_up.clone()))?;
        }
        // A longer transaction: several cases merged into this one at once.
        if open[county].len() >= 2 && dice.below(2) == 0 {
            let merge = pb::MergeCasesRequest {
                primary_case_id: case.id.clone(),
                case_ids: std::mem::take(&mut open[county]),
                reason: "同一事项".into(),
                request_id: petition_sdk::new_request_id(),
            };
            persist!(clerk.cases().merge_cases(merge.clone()))?;
        }
    }
    Ok(())
}

/// A writer that holds each transaction open for up to 80 ms before it
/// commits, through the server's own pipeline on a connection of its own:
/// later transactions commit first, and the feed must wait for it.
async fn write_slowly(database_url: String, handler: Principal, cases: Vec<uuid::Uuid>, rounds: usize) -> Result<()> {
    tokio::task::spawn_blocking(move || -> Result<()> {
        let mut conn = PgConnection::establish(&database_url)?;
        let mut dice = Dice(0x1234_5678_9abc_def1);
        for round in 0..rounds {
            let case = cases[dice.below(cases.len() as u64) as usize];
            let hold = Duration::from_millis(dice.below(80));
            conn.transaction(|conn| -> Result<()> {
                let mut journal = Journal::default();
                let note = Rule::FollowUp { kind: FollowUpKind::Investigation, note: format!("慢写入{round}") };
                petition_server::pipeline::transition::<Case, Plain>(
                    conn,
                    &mut journal,
                    &handler,
                    case,
                    "",
                    Plain::new(CaseAction::Handle, note),
                )?;
                journal.flush(conn)?;
                std::thread::sleep(hold);
                Ok(())
            })?;
        }
        Ok(())
    })
    .await?
}

/// One reader: watches from 0, drops the stream now and then and resumes
/// after the last position it received; `restart` readers once start over
/// from 0. Stops when its position reaches `until`.
async fn read(client: Client, reader: u64, restart: bool, until: Arc<Mutex<Option<i64>>>) -> Result<(Vec<Key>, usize)> {
    let mut dice = Dice(0xdead_beef ^ reader.wrapping_mul(0x9e37_79b9));
    let mut seen: Vec<Key> = Vec::new();
    let mut position = 0;
    let mut resumes = 0;
    let mut restarted = !restart;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let mut stream = client.feed().watch(position);
        let mut left = 5 + dice.below(40);
        loop {
            if let Some(until) = *until.lock().await
                && position >= until
            {
                return Ok((seen, resumes));
            }
            if Instant::now() > deadline {
                bail!("reader {reader} stuck at {position} (until {:?})", *until.lock().await);
            }
            let item = match tokio::time::timeout(Duration::from_millis(500), stream.next()).await {
                Ok(Some(item)) => item?,
                Ok(None) => bail!("a watch ended by itself"),
                Err(_) => continue,
            };
            if let FeedItem::Change(change) = &item {
                assert_typed(change);
                seen.push(key(change));
            }
            assert!(item.position() > position, "reader {reader}: {} after {position}", item.position());
            position = item.position();
            left = left.saturating_sub(1);
            if left == 0 {
                break;
            }
        }
        resumes += 1;
        if !restarted && seen.len() > 20 {
            restarted = true;
            seen.clear();
            position = 0;
        }
    }
}

/// The case ids `client` may see (GetCase answers).
async fn visible(client: &Client, ids: &BTreeSet<String>) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for id in ids {
        match client.cases().get_case(id.as_str()).await {
            Ok(case) => {
                out.insert(case.id);
            }
            Err(e) if e.code() == Code::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

async fn principal_of(client: &Client, roles: Vec<Role>, jurisdiction: &str) -> Result<Principal> {
    let me = client.identity().get_me().await?;
    Ok(Principal {
        account_id: me.id.parse()?,
        kind: AccountKind::Staff,
        roles,
        organization_id: Some(me.organization_id.parse()?),
        jurisdiction: Some(jurisdiction.into()),
        scopes: Vec::new(),
    })
}

/// 8 writers over the SDK and one that holds its transactions open; 4
/// readers (one narrowed by visibility, one starting over from 0) that
/// drop and resume their watches. `disrupt` runs meanwhile (a SIGKILL and
/// restart of the server, or nothing). Each reader must have received
/// exactly the committed events it may see, in position order.
async fn no_gap_no_double(admin: Client, database_url: &str, disrupt: impl Future<Output = Result<()>>) -> Result<()> {
    let w = Arc::new(CaseWorld::with(admin).await?);
    let seed = w.accepted_case("慢写入的案件").await?;
    let handler = principal_of(&w.handler, vec![Role::Handler], "360700/360702").await?;
    let until = Arc::new(Mutex::new(None));
    let clients = [w.admin.clone(), w.admin.clone(), w.leader.clone(), w.clerk.clone()];
    let readers: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(i, client)| tokio::spawn(read(client.clone(), i as u64, i == 1, until.clone())))
        .collect();
    let writers: Vec<_> = (0..8).map(|i| tokio::spawn(write(w.clone(), i, 12))).collect();
    let slow = tokio::spawn(write_slowly(database_url.to_owned(), handler, vec![seed.id.parse()?], 40));
    disrupt.await?;
    for writer in writers {
        writer.await??;
    }
    slow.await??;

    let mut conn = PgConnection::establish(database_url)?;
    let truth = committed(&mut conn)?;
    let last = truth.last().map(|k| k.0).context("no events")?;
    *until.lock().await = Some(last);
    let ids: BTreeSet<String> = truth.iter().map(|k| k.1.clone()).collect();
    let mut total_resumes = 0;
    for (i, (reader, client)) in readers.into_iter().zip(&clients).enumerate() {
        let (seen, resumes) = tokio::time::timeout(Duration::from_secs(120), reader).await.context("reader")???;
        total_resumes += resumes;
        let may_see = visible(client, &ids).await?;
        let want: Vec<Key> = truth.iter().filter(|k| may_see.contains(&k.1)).cloned().collect();
        if seen != want {
            let got: BTreeSet<&Key> = seen.iter().collect();
            let wanted: BTreeSet<&Key> = want.iter().collect();
            let missing: Vec<_> = wanted.difference(&got).take(5).collect();
            let extra: Vec<_> = got.difference(&wanted).take(5).collect();
            bail!(
                "reader {i}: {} events, want {}; missing {missing:?}; unexpected {extra:?}; in order: {}",
                seen.len(),
                want.len(),
                seen.windows(2).all(|p| p[0].0 < p[1].0)
            );
        }
        if i == 3 {
            assert!(want.len() < truth.len(), "the clerk sees county A only");
        }
    }
    assert!(total_resumes >= 8, "the readers resumed {total_resumes} times");
    assert!(truth.len() > 300, "{} events", truth.len());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_get_every_committed_event_once_in_order_while_writers_run() -> Result<()> {
    let server = TestServer::spawn().await?;
    let database_url = server.database.as_ref().context("a database of its own")?.url().to_owned();
    no_gap_no_double(server.admin().await?, &database_url, async { Ok(()) }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_lose_nothing_when_the_server_is_killed_mid_stream() -> Result<()> {
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_serve"), &[("PETITION_FEED_BOOKMARK_SECS", "1")]).await?;
    let admin = server.admin().await?;
    let database_url = server.database.url().to_owned();
    let server = Arc::new(Mutex::new(server));
    let killer = server.clone();
    let disrupt = async move {
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            killer.lock().await.restart().await?;
        }
        Ok(())
    };
    no_gap_no_double(admin, &database_url, disrupt).await
}

/// Every event of `case_ids`, as the admin's timelines show them.
async fn timelines(admin: &Client, case_ids: &[&str]) -> Result<BTreeSet<(String, i64)>> {
    let mut out = BTreeSet::new();
    for id in case_ids {
        let events: Vec<pb::CaseEvent> = futures::TryStreamExt::try_collect(admin.cases().case_events(*id)).await?;
        out.extend(events.into_iter().map(|e| (e.case_id, e.sequence)));
    }
    Ok(out)
}

/// Waits until the feed serves every committed event: an event becomes
/// readable once every older transaction in the database cluster has
/// ended, and other tests write in it too.
async fn settle(admin: &Client, database_url: &str) -> Result<()> {
    let last = committed(&mut PgConnection::establish(database_url)?)?.last().map_or(0, |k| k.0);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, position) = list_all(admin, 0).await?;
        if position >= last {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the feed stays below {last} (at {position})");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// (case, sequence) of every change `client` reads from the start.
async fn feed_of(client: &Client) -> Result<(BTreeSet<(String, i64)>, Vec<pb::Change>)> {
    let (changes, _) = list_all(client, 0).await?;
    for change in &changes {
        assert_typed(change);
    }
    Ok((changes.iter().map(|c| (c.aggregate_id.clone(), key(c).2)).collect(), changes))
}

/// Checks each reader's feed against what GetCase shows it (see the test).
async fn check_feeds(
    w: &CaseWorld,
    readers: &[(&str, &Client)],
    all_ids: &[&str],
    accusation_id: &str,
    stage: &str,
    database_url: &str,
) -> Result<()> {
    settle(&w.admin, database_url).await?;
    for (name, client) in readers {
        let ids: BTreeSet<String> = all_ids.iter().map(|id| (*id).to_owned()).collect();
        let may_get = visible(client, &ids).await?;
        let may_get: Vec<&str> = may_get.iter().map(String::as_str).collect();
        let want = timelines(&w.admin, &may_get).await?;
        let (got, changes) = feed_of(client).await?;
        let extra: BTreeSet<_> = got.difference(&want).cloned().collect();
        let only_access = changes.iter().filter(|c| extra.contains(&(c.aggregate_id.clone(), key(c).2))).all(|c| {
            matches!(
                &c.event,
                Some(pb::change::Event::CaseEvent(e))
                    if matches!(e.r#type(), pb::CaseEventType::AccessGranted | pb::CaseEventType::AccessRevoked)
            )
        });
        assert!(want.is_subset(&got), "{stage}: {name} misses {:?}", want.difference(&got).collect::<Vec<_>>());
        assert!(extra.is_empty() || (*name == "partner" && only_access), "{stage}: {name} also got {extra:?}");
        // Accusation details: the petitioner and the discipline channel only.
        for change in &changes {
            if let Some(pb::change::Event::CaseEvent(event)) = &change.event
                && event.case_id == accusation_id
            {
                let sees = matches!(*name, "petitioner" | "discipline office");
                assert_eq!(event.detail_hidden, !sees, "{stage}: {name} on the accusation");
            }
        }
    }
    Ok(())
}

/// The feed shows each principal exactly the events of the cases GetCase
/// shows them (and a partner the grant and revocation naming it); the
/// details of an accusation's events only to its petitioner and the
/// discipline channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reader_sees_exactly_the_events_of_the_cases_it_may_get() -> Result<()> {
    let server = TestServer::spawn().await?;
    let database_url = server.database.as_ref().context("a database of its own")?.url().to_owned();
    let w = CaseWorld::create(&server).await?;
    let a = w.routed_case("甲区的事").await?;
    let b = w.submit(pb::CaseDraft { region_code: w.dir.county_b.code.clone(), ..claim("乙县的事") }).await?;
    let o = w
        .other_citizen
        .cases()
        .submit_case(pb::SubmitCaseRequest { draft: Some(claim("别人的事")), request_id: String::new() })
        .await?;
    let accusation = w
        .submit(pb::CaseDraft {
            kind: pb::CaseKind::Accusation.into(),
            category_code: "discipline".into(),
            ..claim("举报某局长受贿")
        })
        .await?;
    w.clerk
        .cases()
        .forward_case(pb::ForwardCaseRequest {
            case_id: accusation.id.clone(),
            organization_id: w.discipline.id.clone(),
            ..Default::default()
        })
        .await?;
    let all_ids = [a.id.as_str(), b.id.as_str(), o.id.as_str(), accusation.id.as_str()];
    let readers = [
        ("petitioner", &w.owner),
        ("another citizen", &w.other_citizen),
        ("clerk of county A", &w.clerk),
        ("clerk of county B", &w.clerk_b),
        ("handler of county B", &w.handler_b),
        ("handler of unit A", &w.handler),
        ("discipline office", &w.discipline_handler),
        ("city leader", &w.leader),
        ("partner", &w.partner),
        ("admin", &w.admin),
    ];
    check_feeds(&w, &readers, &all_ids, &accusation.id, "before sharing", &database_url).await?;
    let (partner_before, _) = feed_of(&w.partner).await?;
    assert!(partner_before.is_empty(), "nothing is shared yet");

    w.clerk_b
        .cases()
        .grant_case_access(pb::GrantCaseAccessRequest {
            case_id: b.id.clone(),
            organization_id: w.court.id.clone(),
            reason: "移送法院".into(),
            ..Default::default()
        })
        .await?;
    check_feeds(&w, &readers, &all_ids, &accusation.id, "shared with the court", &database_url).await?;
    settle(&w.admin, &database_url).await?;
    let (partner_shared, _) = feed_of(&w.partner).await?;
    assert_eq!(partner_shared, timelines(&w.admin, &[b.id.as_str()]).await?, "the whole case, earlier events too");

    w.clerk_b
        .cases()
        .revoke_case_access(pb::RevokeCaseAccessRequest {
            case_id: b.id.clone(),
            organization_id: w.court.id.clone(),
            reason: "法院已受理".into(),
            ..Default::default()
        })
        .await?;
    check_feeds(&w, &readers, &all_ids, &accusation.id, "access revoked", &database_url).await?;
    settle(&w.admin, &database_url).await?;
    let (_, after_revoke) = feed_of(&w.partner).await?;
    let types: Vec<pb::CaseEventType> = after_revoke
        .iter()
        .filter_map(|c| match &c.event {
            Some(pb::change::Event::CaseEvent(e)) => Some(e.r#type()),
            _ => None,
        })
        .collect();
    assert_eq!(
        types,
        vec![pb::CaseEventType::AccessGranted, pb::CaseEventType::AccessRevoked],
        "after the revocation the court sees only what names it"
    );
    // Accusations are never shared (Art.30).
    let refused = w
        .clerk
        .cases()
        .grant_case_access(pb::GrantCaseAccessRequest {
            case_id: accusation.id.clone(),
            organization_id: w.court.id.clone(),
            reason: "x".into(),
            ..Default::default()
        })
        .await;
    crate::support::expect_error(refused, Code::FailedPrecondition, Some("ACCUSATION_NOT_SHARED"));
    Ok(())
}

/// Retention: a position older than the feed keeps is CURSOR_EXPIRED with
/// the oldest position to resume after, page by page and in a watch; bad
/// positions are INVALID_ARGUMENT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_position_says_where_the_feed_resumes() -> Result<()> {
    let server = TestServer::spawn_with(|config| {
        config.feed.retention_days = 30;
        config.feed.retention_sweep_secs = 1;
    })
    .await?;
    let w = CaseWorld::create(&server).await?;
    let old = w.routed_case("去年的事").await?;
    let recent = w.routed_case("今年的事").await?;
    let old_events = timelines(&w.admin, &[old.id.as_str()]).await?.len();
    // The whole feed is read before anything is old enough to expire: a
    // sweep runs every second and would otherwise race these reads.
    let database = server.database.as_ref().context("a database of its own")?;
    settle(&w.admin, database.url()).await?;
    let (all, _) = list_all(&w.admin, 0).await?;
    let last_old = all.iter().filter(|c| c.aggregate_id == old.id).map(|c| c.position).max().context("old events")?;
    // The first case's events happened 31 days ago.
    let mut conn = database.connect()?;
    diesel::sql_query("UPDATE events SET occurred_at = occurred_at - interval '31 days' WHERE aggregate_id = $1")
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(&old.id)?)
        .execute(&mut conn)?;

    // A sweep expires the old case's events, and nothing after them.
    let deadline = Instant::now() + Duration::from_secs(20);
    let earliest = loop {
        match w.admin.feed().list_changes(pb::ListChangesRequest::default()).await {
            Err(e) if e.cursor_expired().is_some() => {
                assert_eq!(e.code(), Code::FailedPrecondition);
                let expired = e.cursor_expired().unwrap_or_default();
                assert!(expired <= last_old, "nothing after the old case expired ({expired} > {last_old})");
                if expired == last_old {
                    break expired;
                }
            }
            Ok(_) => {}
            Err(other) => bail!("no expiry: {other:?}"),
        }
        if Instant::now() > deadline {
            bail!("the old case's events did not all expire within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(old_events, 2);
    // Resuming after the earliest position serves the rest.
    let (rest, _) = list_all(&w.admin, earliest).await?;
    assert!(rest.iter().all(|c| c.aggregate_id != old.id) && rest.iter().any(|c| c.aggregate_id == recent.id));
    // The watch says so too, and ends.
    let mut watch = w.admin.feed().watch(0);
    let error = watch.next().await.context("an answer")?.err().context("an error")?;
    assert_eq!(error.cursor_expired(), Some(earliest));
    assert_eq!(error.kind(), petition_sdk::ErrorKind::CursorExpired);
    assert!(watch.next().await.is_none(), "the watch ended");
    // The case's own timeline still has every event.
    assert_eq!(timelines(&w.admin, &[old.id.as_str()]).await?.len(), old_events);

    let feed = w.admin.feed();
    crate::support::expect_invalid(
        feed.list_changes(pb::ListChangesRequest { after_position: -1, ..Default::default() }).await,
        &["after_position"],
    );
    crate::support::expect_invalid(
        feed.list_changes(pb::ListChangesRequest { after_position: i64::MAX, ..Default::default() }).await,
        &["after_position"],
    );
    crate::support::expect_invalid(
        feed.list_changes(pb::ListChangesRequest { page_size: -5, after_position: earliest, ..Default::default() })
            .await,
        &["page_size"],
    );
    crate::support::expect_invalid(
        feed.list_changes(pb::ListChangesRequest {
            after_position: earliest,
            filter: Some(pb::ChangeFilter { region_code: "999999".into(), ..Default::default() }),
            ..Default::default()
        })
        .await,
        &["filter.region_code"],
    );
    crate::support::expect_invalid(
        feed.list_changes(pb::ListChangesRequest {
            after_position: earliest,
            filter: Some(pb::ChangeFilter { case_event_types: vec![99], ..Default::default() }),
            ..Default::default()
        })
        .await,
        &["filter.case_event_types[0]"],
    );
    Ok(())
}

/// A partner's mirror: list every case, then watch from the first page's
/// position while writers run. Each case's events arrive with no gap after
/// the sequence the list showed, and the mirror ends equal to GetCase.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_then_watch_misses_nothing_while_writers_run() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = Arc::new(CaseWorld::create(&server).await?);
    for i in 0..5 {
        w.accepted_case(&format!("先有的事{i}")).await?;
    }
    let writers: Vec<_> = (0..4).map(|i| tokio::spawn(write(w.clone(), 100 + i, 8))).collect();
    // List while the writers run, a page of 3 at a time.
    let mut mirror: BTreeMap<String, (i64, i32)> = BTreeMap::new();
    let mut request = pb::ListCasesRequest { page_size: 3, ..Default::default() };
    let mut from = None;
    loop {
        let page = w.admin.cases().list_cases(request.clone()).await?;
        from.get_or_insert(page.feed_position);
        for case in page.cases {
            mirror.insert(case.id, (case.last_event_sequence, case.state));
        }
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    let from = from.context("a first page")?;
    let mut watch = w.admin.feed().watch(from);
    let mut reflected = 0;
    let mut applied = 0;
    let mut done_at = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if done_at.is_none() && writers.iter().all(|h| h.is_finished()) {
            let mut conn = server.database.as_ref().context("database")?.connect()?;
            done_at = committed(&mut conn)?.last().map(|k| k.0);
        }
        let item = match tokio::time::timeout(Duration::from_millis(300), watch.next()).await {
            Ok(Some(item)) => item?,
            Ok(None) => bail!("the watch ended"),
            Err(_) => continue,
        };
        if let FeedItem::Change(change) = &item
            && let Some(pb::change::Event::CaseEvent(event)) = &change.event
        {
            let known = mirror.entry(event.case_id.clone()).or_insert((0, 0));
            if event.sequence <= known.0 {
                reflected += 1;
            } else {
                assert_eq!(event.sequence, known.0 + 1, "no gap in case {}", event.case_id);
                *known = (event.sequence, event.state);
                applied += 1;
            }
        }
        if done_at.is_some_and(|last| item.position() >= last) {
            break;
        }
        assert!(Instant::now() < deadline, "the watch did not catch up");
    }
    for writer in writers {
        writer.await??;
    }
    for (id, (sequence, state)) in &mirror {
        let case = w.admin.cases().get_case(id.as_str()).await?;
        assert_eq!((case.last_event_sequence, case.state), (*sequence, *state), "case {id}");
    }
    assert!(applied > 50, "{applied} events applied after the list ({reflected} already reflected)");
    Ok(())
}

/// Events stored before the contract was typed (the serde form of the
/// domain's events, as written since the first release) read as typed
/// events: one of each type, as the server stored it, written here straight
/// into the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stored_in_the_first_shape_read_typed() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.submit(claim("旧格式的事件")).await?;
    let org = w.dir.unit_a.id.clone();
    let other = uuid::Uuid::now_v7().to_string();
    let opinion = format!(
        r#"{{"request":"修复","facts":"属实","decision":"SUPPORTED","legal_basis":"《条例》","served_at":"2025-12-01T02:00:00Z","organization_id":"{org}"}}"#
    );
    let stored: Vec<(pb::CaseEventType, String)> = vec![
        (pb::CaseEventType::TrackSet, r#"{"type":"track_set","track":"URGENT","reason":"安全隐患","reply_by":null}"#.into()),
        (pb::CaseEventType::ReportedUpward, r#"{"type":"reported_upward","organization_id":null,"reason":"上报"}"#.into()),
        (
            pb::CaseEventType::Routed,
            format!(
                r#"{{"type":"routed","organization_id":"{org}","mode":"ASSIGN","routed_on":"2025-09-26","accept_by":"2025-10-11","object_by":"2025-10-10","report_by":"2025-12-10","note":"限期","by_rule":false}}"#
            ),
        ),
        (pb::CaseEventType::Objected, format!(r#"{{"type":"objected","organization_id":"{org}","reason":"非本单位"}}"#)),
        (
            pb::CaseEventType::Accepted,
            r#"{"type":"accepted","accepted_on":"2025-10-09","reply_by":"2025-12-08","note":""}"#.into(),
        ),
        (
            pb::CaseEventType::Declined,
            r#"{"type":"declined","reason":"LITIGATION","diverted_to":"章贡区人民法院","related_case_id":null,"explanation":""}"#.into(),
        ),
        (pb::CaseEventType::FollowedUp, r#"{"type":"followed_up","kind":"VISIT","note":"走访"}"#.into()),
        (
            pb::CaseEventType::DeadlineExtended,
            r#"{"type":"deadline_extended","days":30,"reason":"复杂","reply_by":"2026-01-07"}"#.into(),
        ),
        (pb::CaseEventType::Replied, format!(r#"{{"type":"replied","opinion":{opinion},"review_request_by":"2025-12-31"}}"#)),
        (pb::CaseEventType::CompletionReported, r#"{"type":"completion_reported","report":"已办结"}"#.into()),
        (
            pb::CaseEventType::ReviewRequested,
            format!(r#"{{"type":"review_requested","reason":"不服","organization_id":"{org}","review_by":"2026-01-10"}}"#),
        ),
        (
            pb::CaseEventType::ReviewReplied,
            format!(r#"{{"type":"review_replied","opinion":{opinion},"recheck_request_by":"2026-02-01"}}"#),
        ),
        (
            pb::CaseEventType::RecheckRequested,
            format!(r#"{{"type":"recheck_requested","reason":"仍不服","organization_id":"{org}","recheck_by":"2026-02-10"}}"#),
        ),
        (pb::CaseEventType::RecheckPaused, r#"{"type":"recheck_paused","reason":"听证","days_left":20}"#.into()),
        (pb::CaseEventType::RecheckResumed, r#"{"type":"recheck_resumed","note":"","recheck_by":"2026-03-01"}"#.into()),
        (pb::CaseEventType::RecheckReplied, format!(r#"{{"type":"recheck_replied","opinion":{opinion}}}"#)),
        (pb::CaseEventType::Withdrawn, r#"{"type":"withdrawn","reason":"和解"}"#.into()),
        (
            pb::CaseEventType::RepeatLinked,
            format!(r#"{{"type":"repeat_linked","of":"{other}","escalated":true,"score_permille":912}}"#),
        ),
        (
            pb::CaseEventType::RepeatUnlinked,
            r#"{"type":"repeat_unlinked","reason":"不同事项","route_by":"2026-03-17"}"#.into(),
        ),
        (pb::CaseEventType::Merged, format!(r#"{{"type":"merged","into":"{other}","reason":"并案"}}"#)),
        (pb::CaseEventType::Unmerged, r#"{"type":"unmerged","reason":"分开处理"}"#.into()),
    ];
    let database = server.database.as_ref().context("a database of its own")?;
    let mut conn = database.connect()?;
    conn.transaction(|conn| -> Result<()> {
        for (i, (event_type, payload)) in stored.iter().enumerate() {
            diesel::sql_query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, actor_id, occurred_at, state, payload, idx)
                 VALUES (1, $1, $2, $3, NULL, now(), 1, $4::jsonb, $5)",
            )
            .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(&case.id)?)
            .bind::<diesel::sql_types::Integer, _>(i as i32 + 2)
            .bind::<diesel::sql_types::SmallInt, _>(*event_type as i16)
            .bind::<diesel::sql_types::Text, _>(payload)
            .bind::<diesel::sql_types::SmallInt, _>(i as i16)
            .execute(conn)?;
        }
        Ok(())
    })?;
    let events: Vec<pb::CaseEvent> = futures::TryStreamExt::try_collect(w.owner.cases().case_events(&case.id)).await?;
    assert_eq!(events.len(), stored.len() + 1);
    for event in &events {
        crate::support::assert_typed_event(event);
    }
    use pb::case_event::Detail as D;
    let by_type = |t: pb::CaseEventType| events.iter().find(|e| e.r#type() == t).and_then(|e| e.detail.clone());
    match by_type(pb::CaseEventType::Routed) {
        Some(D::Routed(r)) => {
            assert_eq!(
                (r.organization_id.as_str(), r.mode(), r.report_by.as_str()),
                (org.as_str(), pb::RoutingMode::Assign, "2025-12-10")
            )
        }
        other => bail!("routed: {other:?}"),
    }
    match by_type(pb::CaseEventType::Replied) {
        Some(D::Replied(r)) => {
            let opinion = r.opinion.context("the opinion")?;
            assert_eq!(
                (opinion.decision(), opinion.organization_id.as_str()),
                (pb::OpinionDecision::Supported, org.as_str())
            );
            assert_eq!(opinion.serve_time.map(|t| t.seconds), Some(1_764_554_400));
        }
        other => bail!("replied: {other:?}"),
    }
    match by_type(pb::CaseEventType::RepeatLinked) {
        Some(D::RepeatLinked(r)) => {
            assert_eq!((r.repeat_of_case_id.as_str(), r.escalated, r.score_permille), (other.as_str(), true, 912))
        }
        other => bail!("repeat linked: {other:?}"),
    }
    match by_type(pb::CaseEventType::DeadlineExtended) {
        Some(D::DeadlineExtended(d)) => assert_eq!((d.days, d.reply_by.as_str()), (30, "2026-01-07")),
        other => bail!("extended: {other:?}"),
    }
    // The feed reads them the same way.
    settle(&w.admin, database.url()).await?;
    let (changes, _) = list_all(&w.admin, 0).await?;
    let of_case: Vec<&pb::Change> = changes.iter().filter(|c| c.aggregate_id == case.id).collect();
    assert_eq!(of_case.len(), events.len());
    for change in of_case {
        assert_typed(change);
    }
    Ok(())
}

/// Shares and unshares cases with the court now and then, until `stop`.
async fn share_now_and_then(w: Arc<CaseWorld>, stop: Arc<Mutex<bool>>) -> Result<usize> {
    let mut dice = Dice(0x5eed);
    let mut changes = 0;
    while !*stop.lock().await {
        let cases: Vec<pb::Case> =
            futures::TryStreamExt::try_collect(w.admin.cases().cases(pb::ListCasesRequest::default())).await?;
        if let Some(case) = cases.get(dice.below(cases.len() as u64) as usize) {
            let shared = case.access_organization_ids.contains(&w.court.id);
            let result = if shared {
                w.admin
                    .cases()
                    .revoke_case_access(pb::RevokeCaseAccessRequest {
                        case_id: case.id.clone(),
                        organization_id: w.court.id.clone(),
                        reason: "法院已结案".into(),
                        ..Default::default()
                    })
                    .await
            } else {
                w.admin
                    .cases()
                    .grant_case_access(pb::GrantCaseAccessRequest {
                        case_id: case.id.clone(),
                        organization_id: w.court.id.clone(),
                        reason: "移送法院".into(),
                        ..Default::default()
                    })
                    .await
            };
            match result {
                Ok(_) => changes += 1,
                // A case merged or changed meanwhile: the next round picks another.
                Err(e) if matches!(e.code(), Code::FailedPrecondition | Code::Aborted) => {}
                Err(e) => return Err(e.into()),
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(changes)
}

/// The copy `sdk/examples/partner_sync.rs` keeps: case id → last event
/// sequence.
fn mirrored(path: &std::path::Path) -> Result<BTreeMap<String, i64>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e.into()),
    };
    let value: serde_json::Value = serde_json::from_str(&text)?;
    let cases = value["cases"].as_object().context("cases")?;
    Ok(cases.iter().map(|(id, case)| (id.clone(), case["last_event_sequence"].as_i64().unwrap_or(-1))).collect())
}

/// The partner's sync program, killed (SIGKILL) twice while cases change
/// and are shared and unshared, ends with a copy equal to what the partner
/// may see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partner_sync_example_keeps_its_copy_across_kills() -> Result<()> {
    let program = crate::support::example("partner_sync")?;
    let server = TestServer::spawn().await?;
    let w = Arc::new(CaseWorld::create(&server).await?);
    for i in 0..3 {
        let case = w.routed_case(&format!("移送前的事{i}")).await?;
        w.admin
            .cases()
            .grant_case_access(pb::GrantCaseAccessRequest {
                case_id: case.id,
                organization_id: w.court.id.clone(),
                reason: "移送法院".into(),
                ..Default::default()
            })
            .await?;
    }
    let dir = std::env::temp_dir().join(format!("partner-sync-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let copy = dir.join("mirror.json");
    let start = || {
        std::process::Command::new(&program)
            .arg(&server.url)
            .arg(&copy)
            .env("PETITION_CLIENT_ID", &w.partner_credentials.0)
            .env("PETITION_CLIENT_SECRET", &w.partner_credentials.1)
            .stdout(std::process::Stdio::null())
            .spawn()
    };
    let mut running = start()?;
    let stop = Arc::new(Mutex::new(false));
    let sharer = tokio::spawn(share_now_and_then(w.clone(), stop.clone()));
    let writers: Vec<_> = (0..3).map(|i| tokio::spawn(write(w.clone(), 200 + i, 10))).collect();
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        running.kill()?;
        running.wait()?;
        running = start()?;
    }
    for writer in writers {
        writer.await??;
    }
    *stop.lock().await = true;
    let shares = sharer.await??;
    assert!(shares >= 5, "{shares} shares and revocations");

    let mut want = BTreeMap::new();
    let cases: Vec<pb::Case> =
        futures::TryStreamExt::try_collect(w.partner.cases().cases(pb::ListCasesRequest::default())).await?;
    for case in cases {
        want.insert(case.id, case.last_event_sequence);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = mirrored(&copy)?;
    while got != want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        got = mirrored(&copy)?;
    }
    running.kill()?;
    running.wait()?;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(got, want, "the copy is what the partner may see");
    assert!(!want.is_empty());
    Ok(())
}

/// A graceful shutdown does not wait for open watches: they end at once,
/// and their clients resume after their last position elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_shutting_down_ends_its_watches_at_once() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let mut watch = admin.feed().watch(0);
    // Idle: the first answer is a bookmark.
    let first = tokio::time::timeout(Duration::from_secs(10), watch.next()).await?.context("an answer")??;
    assert!(matches!(first, FeedItem::Bookmark(_)), "{first:?}");
    let started = Instant::now();
    server.stop().await?;
    assert!(started.elapsed() < Duration::from_secs(3), "the drain took {:?}", started.elapsed());
    Ok(())
}

/// A database restored into a cluster whose transaction counter is behind
/// its stored events (here: an event stored with a transaction id far
/// ahead): at start the server moves positions on above every stored
/// event, so the feed keeps increasing and a reader that was past the old
/// events sees the new ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_keep_increasing_after_a_restore_into_a_cluster_that_is_behind() -> Result<()> {
    let database = tokio::task::spawn_blocking(TestDatabase::create).await??;
    let data_dir = std::env::temp_dir().join(format!("petition-restore-{}", uuid::Uuid::now_v7().simple()));
    let config = petition_tests::server::test_config(database.url(), &data_dir);
    let server = TestServer::start(config.clone(), None, data_dir.clone()).await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.submit(claim("恢复之前的事")).await?;
    server.stop().await?;
    // What a restore elsewhere looks like: the stored events' transaction
    // ids are ahead of this cluster's counter.
    let mut conn = database.connect()?;
    diesel::sql_query("UPDATE events SET xid = xid + 1000000000 WHERE aggregate_id = $1")
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(&case.id)?)
        .execute(&mut conn)?;
    let server = TestServer::start(config, None, data_dir.clone()).await?;
    let admin = server.admin().await?;
    settle(&admin, database.url()).await?;
    let (before, position) = list_all(&admin, 0).await?;
    assert!(before.iter().any(|c| c.aggregate_id == case.id));
    // The world's clients talk to the first server; the owner signs in here.
    let citizen = server.client().await?;
    citizen.login(&w.owner_login.0, &w.owner_login.1).await?;
    let later = citizen
        .cases()
        .submit_case(pb::SubmitCaseRequest { draft: Some(claim("恢复之后的事")), request_id: String::new() })
        .await?;
    settle(&admin, database.url()).await?;
    let (after, _) = list_all(&admin, position).await?;
    assert!(after.iter().any(|c| c.aggregate_id == later.id), "the new case's events come after the restored ones");
    server.stop().await?;
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}
