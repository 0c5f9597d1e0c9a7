//! `bench feed`: the change feed over a preloaded backlog.
//!
//! Set-up as `bench cases` (the directory, `--citizens` citizens, template
//! cases through the API, then `--preload` cases copied in SQL with their
//! events: about 2.4 events a case, so the default 450,000 cases make a
//! backlog of over a million events).
//!
//! Phases:
//!
//! 1. `catch-up`: one `WatchChanges` from position 0 through the SDK as the
//!    city leader (staff of the whole city: every event visible, each one
//!    decided by the policy), until it reaches the newest event; events/s.
//!    Then the same through `ListChanges` pages of 5,000.
//! 2. `SubmitCase` with 64 callers in interleaved rounds (`--rounds`, on-off
//!    then off-on, …): "off" with no watcher, "on" with one live watch
//!    (the admin's) following the feed. The watch measures each filing's
//!    delivery latency: the time it received the event minus the event's
//!    commit time (taken in the server just before its transaction commits,
//!    so a little more than commit-to-delivery). Each mode's phases are
//!    counted together; the report gives on/off.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use futures::StreamExt;
use hdrhistogram::Histogram;
use petition_sdk::{Client, FeedItem, new_request_id, pb};

use crate::LoadArgs;
use crate::cases::{Prepared, REGIONS, prepare, sessions, sign_in_filers};
use crate::identity::{health_phase, monitor_of};
use crate::phase::{PAUSE_BETWEEN_PHASES, Phase, run_phase};
use crate::report::print_results;
use crate::support::{Rng, describe_sdk, exit_status, start_server, stop_server};
use crate::text;

#[derive(Args, Debug, Clone)]
pub struct FeedArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Cases preloaded (with their events) before measuring.
    #[arg(long, default_value_t = 450_000, value_parser = clap::value_parser!(u32).range(1..=5_000_000))]
    preload: u32,

    /// Citizens registered through the API: the petitioners, and the filers.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    citizens: u32,

    /// Rounds of SubmitCase without and with a live watch.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,

    /// Leave the server's database in place afterwards.
    #[arg(long)]
    keep_database: bool,
}

/// The reader of the catch-up: staff of the whole city.
const READER: &str = "leader.city";
/// Catch-up targets from the issue.
const CATCH_UP_TARGET: f64 = 50_000.0;
const LATENCY_P99_TARGET_MS: f64 = 100.0;
const THROUGHPUT_TARGET: f64 = 0.9;

/// The newest position, read from the table.
async fn head(database_url: &str) -> Result<(i64, i64)> {
    #[derive(diesel::QueryableByName)]
    struct Head {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        position: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        events: i64,
    }
    let url = database_url.to_owned();
    let head: Head = tokio::task::spawn_blocking(move || -> Result<Head> {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::PgConnection::establish(&url)?;
        Ok(diesel::sql_query("SELECT coalesce(max(xid * 65536 + idx), 0) AS position, count(*) AS events FROM events")
            .get_result(&mut conn)?)
    })
    .await??;
    Ok((head.position, head.events))
}

/// Watches from 0 until `until`; returns the changes received and the time.
async fn catch_up_watch(client: &Client, until: i64) -> Result<(u64, Duration)> {
    let started = Instant::now();
    let mut stream = client.feed().watch(0);
    let mut changes = 0u64;
    while let Some(item) = stream.next().await {
        let item = item.map_err(|e| anyhow::anyhow!(describe_sdk(&e)))?;
        if let FeedItem::Change(_) = item {
            changes += 1;
        }
        if item.position() >= until {
            return Ok((changes, started.elapsed()));
        }
    }
    bail!("the watch ended before the head")
}

/// Pages of ListChanges from 0 until `until`.
async fn catch_up_pages(client: &Client, until: i64) -> Result<(u64, Duration)> {
    let started = Instant::now();
    let mut position = 0;
    let mut changes = 0u64;
    while position < until {
        let page = client
            .feed()
            .list_changes(pb::ListChangesRequest { after_position: position, page_size: 5000, filter: None })
            .await
            .map_err(|e| anyhow::anyhow!(describe_sdk(&e)))?;
        changes += page.changes.len() as u64;
        if page.next_position <= position {
            bail!("ListChanges did not move on from {position}");
        }
        position = page.next_position;
    }
    Ok((changes, started.elapsed()))
}

/// A live watch recording each change's delivery latency (receipt minus
/// commit time, microseconds) with its commit time.
struct LiveWatch {
    latencies: Arc<Mutex<Vec<(std::time::SystemTime, u64)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl LiveWatch {
    async fn start(client: &Client, database_url: &str) -> Result<LiveWatch> {
        let (from, _) = head(database_url).await?;
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let record = latencies.clone();
        let mut stream = client.feed().watch(from);
        let task = tokio::spawn(async move {
            while let Some(Ok(item)) = stream.next().await {
                let FeedItem::Change(change) = item else { continue };
                let Some(commit) = change.commit_time.and_then(|t| std::time::SystemTime::try_from(t).ok()) else {
                    continue;
                };
                let now = std::time::SystemTime::now();
                let latency = now.duration_since(commit).unwrap_or_default().as_micros() as u64;
                record.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((commit, latency));
            }
        });
        Ok(LiveWatch { latencies, task })
    }

    /// The latencies of changes committed between `from` and `until`.
    fn stop(self, from: std::time::SystemTime, until: std::time::SystemTime) -> Vec<u64> {
        self.task.abort();
        let all = self.latencies.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        all.iter().filter(|(commit, _)| *commit >= from && *commit <= until).map(|(_, l)| *l).collect()
    }
}

pub async fn feed(args: FeedArgs) -> Result<ExitCode> {
    let load = args.load.clone();
    let (server, mut setup) = start_server("feed", &load, |config| {
        // Count every filing, refuse none (as bench cases).
        config.intake.daily_filing_limit = 1_000_000;
    })
    .await?;
    let database = server.database.as_ref().context("the server has no harness database")?;
    let database_url = database.url().to_owned();

    let Prepared { world, anonymous, citizens, .. } =
        prepare(&server, &load, &mut setup, args.citizens, args.preload).await?;
    let readers = sessions(&anonymous, READER).await?;
    let phones: Vec<String> = citizens.iter().take(load.concurrency as usize).map(|(_, phone)| phone.clone()).collect();
    let filers = sign_in_filers(&anonymous, &phones).await?;
    let admin = world.admin.clone();
    let monitor = monitor_of(&server).await?;
    setup.print();

    eprintln!("measuring…");
    let mut phases = vec![health_phase(&anonymous, &load, &monitor).await?];
    let (until, backlog) = head(&database_url).await?;
    eprintln!("  catch-up: {backlog} events through one watch as {READER}…");
    let (watched, watch_time) = catch_up_watch(&readers[0], until).await?;
    eprintln!("  catch-up: the same through ListChanges pages of 5,000…");
    let (paged, page_time) = catch_up_pages(&readers[0], until).await?;
    tokio::time::sleep(PAUSE_BETWEEN_PHASES).await;

    let mut off = Vec::new();
    let mut on = Vec::new();
    let mut latencies =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| anyhow::anyhow!("a histogram: {e:?}"))?;
    for round in 0..args.rounds {
        let order = if round % 2 == 0 { [false, true] } else { [true, false] };
        for watched in order {
            let live = if watched { Some(LiveWatch::start(&admin, &database_url).await?) } else { None };
            let from = std::time::SystemTime::now() + Duration::from_secs(load.warmup_seconds);
            let filers = filers.clone();
            let phase = run_phase(
                if watched { "SubmitCase, live watch" } else { "SubmitCase, no watch" },
                load.concurrency as usize,
                &load,
                &monitor,
                move |caller| {
                    let client = filers[caller % filers.len()].clone();
                    let draft = text::draft(&mut Rng::fresh(), &REGIONS);
                    let request = pb::SubmitCaseRequest { draft: Some(draft), request_id: new_request_id() };
                    async move { client.cases().submit_case(request).await.map(|_| ()).map_err(|e| describe_sdk(&e)) }
                },
            )
            .await?;
            let until = from + Duration::from_secs(load.seconds);
            if let Some(live) = live {
                // Events committed near the end still arrive: give them a moment.
                tokio::time::sleep(Duration::from_millis(500)).await;
                for latency in live.stop(from, until) {
                    latencies.record(latency.max(1)).map_err(|e| anyhow::anyhow!("recording: {e:?}"))?;
                }
                on.push(phase);
            } else {
                off.push(phase);
            }
        }
    }
    let off = Phase::merged(off)?.context("no phase without a watch")?;
    let on = Phase::merged(on)?.context("no phase with a watch")?;
    let ratio = on.throughput() / off.throughput();
    phases.push(off);
    phases.push(on);

    drop((anonymous, readers, filers, world, monitor, admin));
    stop_server(server, args.keep_database).await;

    let per_second = |n: u64, t: Duration| n as f64 / t.as_secs_f64();
    let ms = |q: f64| latencies.value_at_quantile(q) as f64 / 1000.0;
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let notes = vec![
        format!(
            "catch-up, one WatchChanges from 0 as {READER}: {watched} of {backlog} events in {:.1} s = {:.0} events/s \
             (target {CATCH_UP_TARGET:.0}: {})",
            watch_time.as_secs_f64(),
            per_second(watched, watch_time),
            verdict(per_second(watched, watch_time) >= CATCH_UP_TARGET)
        ),
        format!(
            "catch-up, ListChanges pages of 5,000: {paged} events in {:.1} s = {:.0} events/s",
            page_time.as_secs_f64(),
            per_second(paged, page_time)
        ),
        format!(
            "live watch while 64 callers file: {} filings' events delivered, latency (receipt − commit time) p50 \
             {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms (p99 target {LATENCY_P99_TARGET_MS:.0} ms: {})",
            latencies.len(),
            ms(0.5),
            ms(0.9),
            ms(0.99),
            latencies.max() as f64 / 1000.0,
            verdict(ms(0.99) <= LATENCY_P99_TARGET_MS)
        ),
        format!(
            "SubmitCase with a live watch / without: {:.1}% (target ≥ {:.0}%: {})",
            ratio * 100.0,
            THROUGHPUT_TARGET * 100.0,
            verdict(ratio >= THROUGHPUT_TARGET)
        ),
    ];
    print_results(&setup, &phases, &notes);
    if load.json {
        let mut json = setup.json(&phases);
        json.insert("catch_up_events".into(), watched.into());
        json.insert("catch_up_events_per_second".into(), per_second(watched, watch_time).into());
        json.insert("list_changes_events_per_second".into(), per_second(paged, page_time).into());
        json.insert("delivery_p50_ms".into(), ms(0.5).into());
        json.insert("delivery_p99_ms".into(), ms(0.99).into());
        json.insert("submit_on_off".into(), ratio.into());
        println!("{}", serde_json::Value::Object(json));
    }
    Ok(exit_status(&phases))
}
