//! `bench oversight`: the overdue sweeper at scale, the leader's and the
//! supervisor's lists, and SubmitCase while the sweeper runs.
//!
//! Set-up as `bench cases` (`--preload` cases copied in SQL, ages spread
//! over a year, the younger ones open), then:
//!
//! 1. **Catch-up pass**: the sweeper's pass (`jobs::sweeper::pass`, the
//!    server's own code, on a connection of this process) as of today over
//!    the preloaded cases, none marked yet: every running clock within the
//!    warning window is warned of, every passed one marked, an OVERDUE
//!    reminder issued where a bureau registered the case, and the backlog
//!    rule applied. Then a **steady pass** as of the same day (it warns of
//!    the new reminders' deadlines) and an **idle pass** (nothing to do:
//!    what every interval costs).
//!    The lag behind the clock is the interval (`--sweep-interval-secs`,
//!    60 s by default) plus a pass.
//! 2. `--owned` open cases are given to the city leader (in SQL); phases
//!    with `--callers` callers: the leader's ListCases (owned by them,
//!    50 a page), the city supervisor's ListSupervisions (50 a page), and
//!    the same with `overdue_only`.
//! 3. SubmitCase with `--concurrency` callers in interleaved rounds:
//!    alone, and while passes run back to back, each a day later than the
//!    one before (a day's worth of new warnings and marks each: a city's
//!    year of clocks, compressed). The report gives with/alone against the
//!    target (≤ 10% slower) and the passes' times.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query};
use petition_sdk::{new_request_id, pb};
use petition_server::feed::FeedSignal;
use petition_server::jobs::sweeper::{self, Report, Settings};

use crate::LoadArgs;
use crate::cases::{Prepared, REGIONS, prepare, sign_in_filers};
use crate::identity::{health_phase, monitor_of};
use crate::phase::{PAUSE_BETWEEN_PHASES, Phase, run_phase};
use crate::report::print_results;
use crate::support::{Rng, describe_sdk, exit_status, start_server, stop_server};
use crate::text;

#[derive(Args, Debug, Clone)]
pub struct OversightArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Cases preloaded before measuring.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(1..=5_000_000))]
    preload: u32,

    /// Citizens registered through the API: the filers.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    citizens: u32,

    /// Open cases the city leader owns.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    owned: u32,

    /// Callers of the list phases.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    callers: u32,

    /// Rounds of SubmitCase alone and while sweeping.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,

    /// Leave the server's database in place afterwards.
    #[arg(long)]
    keep_database: bool,
}

/// At most this much slower while sweeping (the target).
const SLOWDOWN_TARGET: f64 = 0.10;
/// A full pass within this (the target), seconds.
const PASS_TARGET_SECS: f64 = 60.0;
/// A list's p99 within this (the target), milliseconds.
const LIST_TARGET_MS: f64 = 20.0;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> Result<i64> {
    Ok(sql_query(sql).get_result::<Count>(conn)?.n)
}

/// The sweeper's settings as the server's defaults give them, at `now`.
fn settings(now: chrono::DateTime<chrono::Utc>) -> Settings {
    let config = petition_server::config::Config::from_defaults();
    Settings {
        now,
        duty_percent: config.oversight.sweep_duty_percent,
        warning_workdays: config.oversight.deadline_warning_workdays,
        ladder: config.oversight.ladder(),
        supervise_overdue: config.oversight.supervise_overdue,
        backlog: config.backlog.policy(),
    }
}

/// One pass as of `now`: its report and seconds.
fn timed_pass(conn: &mut PgConnection, now: chrono::DateTime<chrono::Utc>) -> Result<(Report, f64)> {
    let started = Instant::now();
    let report = sweeper::pass(conn, &settings(now), &FeedSignal::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((report, started.elapsed().as_secs_f64()))
}

/// Passes back to back, each a day after the last, until stopped: the
/// number of passes and their total seconds.
struct Sweeping {
    stop: Arc<AtomicBool>,
    passes: Arc<AtomicU64>,
    micros: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Sweeping {
    fn start(url: String, first_day: Arc<AtomicU64>) -> Sweeping {
        let (stop, passes, micros) =
            (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let task = {
            let (stop, passes, micros) = (stop.clone(), passes.clone(), micros.clone());
            tokio::task::spawn_blocking(move || -> Result<()> {
                let mut conn = PgConnection::establish(&url)?;
                while !stop.load(Ordering::Relaxed) {
                    let days = first_day.fetch_add(1, Ordering::Relaxed);
                    let now = chrono::Utc::now() + chrono::Duration::days(i64::try_from(days)?);
                    let (_, seconds) = timed_pass(&mut conn, now)?;
                    passes.fetch_add(1, Ordering::Relaxed);
                    micros.fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
                }
                Ok(())
            })
        };
        Sweeping { stop, passes, micros, task }
    }

    async fn stop(self) -> Result<(u64, f64)> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await??;
        Ok((self.passes.load(Ordering::Relaxed), self.micros.load(Ordering::Relaxed) as f64 / 1e6))
    }
}

pub async fn oversight(args: OversightArgs) -> Result<ExitCode> {
    let load = args.load.clone();
    let (server, mut setup) = start_server("oversight", &load, |config| {
        // Count every filing, refuse none (as bench cases).
        config.intake.daily_filing_limit = 1_000_000;
    })
    .await?;
    let Prepared { world, anonymous, citizens, .. } =
        prepare(&server, &load, &mut setup, args.citizens, args.preload).await?;
    let url = server.database.as_ref().context("the server has no harness database")?.url().to_owned();
    let leader_id = world.leader.identity().get_me().await?.id;

    // 1. The catch-up pass and a steady one, as of now.
    let owned = args.owned;
    let catch_up = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || -> Result<_> {
            let mut conn = PgConnection::establish(&url)?;
            let open = count(&mut conn, "SELECT count(*) AS n FROM cases WHERE due_date IS NOT NULL")?;
            let now = chrono::Utc::now();
            let first = timed_pass(&mut conn, now)?;
            let steady = timed_pass(&mut conn, now)?;
            // What every interval costs once the day's work is done.
            let idle = timed_pass(&mut conn, now)?;
            // 2. The leader's cases: open ones of the city, newest first.
            sql_query(
                "UPDATE cases SET owning_leader_id = $1::uuid,
                     lifecycle = lifecycle || jsonb_build_object('owning_leader_id', $1::text,
                                                                 'owned_since', lifecycle ->> 'registered_on')
                 WHERE id IN (SELECT id FROM cases WHERE due_date IS NOT NULL ORDER BY id DESC LIMIT $2)",
            )
            .bind::<diesel::sql_types::Text, _>(&leader_id)
            .bind::<diesel::sql_types::BigInt, _>(i64::from(owned))
            .execute(&mut conn)?;
            let items = count(&mut conn, "SELECT count(*) AS n FROM supervisions")?;
            sql_query("VACUUM (ANALYZE) cases, supervisions, case_clock_marks").execute(&mut conn)?;
            Ok((open, first, steady, idle, items))
        })
        .await??
    };
    let (open, (first, first_secs), (steady, steady_secs), (idle, idle_secs), items) = catch_up;
    setup.lines.push((
        "sweeper".into(),
        format!(
            "{open} cases with a running clock; catch-up pass {first_secs:.1} s ({first:?}); steady pass \
             {steady_secs:.2} s ({steady:?}); idle pass {idle_secs:.2} s ({idle:?}); {items} supervision items"
        ),
    ));
    setup.lines.push(("leader".into(), format!("the city leader owns {owned} open cases")));
    let phones: Vec<String> = citizens.iter().take(load.concurrency as usize).map(|(_, phone)| phone.clone()).collect();
    let filers = sign_in_filers(&anonymous, &phones).await?;
    let monitor = monitor_of(&server).await?;
    setup.print();

    eprintln!("measuring…");
    let mut phases = vec![health_phase(&anonymous, &load, &monitor).await?];
    let callers = args.callers as usize;
    let leader = world.leader.clone();
    phases.push(
        run_phase("ListCases, the leader's own (50)", callers, &load, &monitor, move |_| {
            let leader = leader.clone();
            let request = pb::ListCasesRequest { owned_by_me: true, page_size: 50, ..Default::default() };
            async move { leader.cases().list_cases(request).await.map(|_| ()).map_err(|e| describe_sdk(&e)) }
        })
        .await?,
    );
    for (rpc, overdue_only) in
        [("ListSupervisions, the city supervisor (50)", false), ("ListSupervisions, overdue only (50)", true)]
    {
        tokio::time::sleep(PAUSE_BETWEEN_PHASES).await;
        let supervisor = world.supervisor.clone();
        phases.push(
            run_phase(rpc, callers, &load, &monitor, move |_| {
                let supervisor = supervisor.clone();
                let request = pb::ListSupervisionsRequest { overdue_only, page_size: 50, ..Default::default() };
                async move {
                    supervisor.supervision().list_supervisions(request).await.map(|_| ()).map_err(|e| describe_sdk(&e))
                }
            })
            .await?,
        );
    }

    // 3. SubmitCase alone and while sweeping, interleaved.
    let (mut alone, mut with) = (Vec::new(), Vec::new());
    let next_day = Arc::new(AtomicU64::new(1));
    let (mut passes, mut pass_seconds) = (0u64, 0.0f64);
    for round in 0..args.rounds {
        let order = if round % 2 == 0 { [false, true] } else { [true, false] };
        for sweeping in order {
            tokio::time::sleep(PAUSE_BETWEEN_PHASES).await;
            let sweeper = sweeping.then(|| Sweeping::start(url.clone(), next_day.clone()));
            let filers = filers.clone();
            let phase = run_phase(
                if sweeping { "SubmitCase, while sweeping" } else { "SubmitCase, alone" },
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
            if let Some(sweeper) = sweeper {
                let (n, seconds) = sweeper.stop().await?;
                passes += n;
                pass_seconds += seconds;
                with.push(phase);
            } else {
                alone.push(phase);
            }
        }
    }
    let alone = Phase::merged(alone)?.context("no phase alone")?;
    let with = Phase::merged(with)?.context("no phase while sweeping")?;
    let ratio = with.throughput() / alone.throughput();

    let list_p99: Vec<(String, f64)> =
        phases.iter().skip(1).map(|p| (p.rpc.to_string(), p.quantile_ms(0.99))).collect();
    phases.push(alone);
    phases.push(with);
    drop((anonymous, filers, world, monitor));
    stop_server(server, args.keep_database).await;

    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let mut notes = vec![
        format!(
            "catch-up pass over {open} running clocks: {first_secs:.1} s (target ≤ {PASS_TARGET_SECS:.0} s: {}); \
             steady pass {steady_secs:.2} s; idle pass {idle_secs:.2} s",
            verdict(first_secs <= PASS_TARGET_SECS)
        ),
        format!(
            "SubmitCase while sweeping / alone: {:.1}% (target ≥ {:.0}%: {}); {passes} passes meanwhile, {:.2} s \
             each on average (a day of clocks each)",
            ratio * 100.0,
            (1.0 - SLOWDOWN_TARGET) * 100.0,
            verdict(ratio >= 1.0 - SLOWDOWN_TARGET),
            if passes > 0 { pass_seconds / passes as f64 } else { 0.0 }
        ),
    ];
    for (rpc, p99) in &list_p99 {
        notes.push(format!(
            "{rpc}: p99 {p99:.1} ms (target ≤ {LIST_TARGET_MS:.0} ms: {})",
            verdict(*p99 <= LIST_TARGET_MS)
        ));
    }
    print_results(&setup, &phases, &notes);
    if load.json {
        let mut json = setup.json(&phases);
        json.insert("catch_up_pass_seconds".into(), first_secs.into());
        json.insert("steady_pass_seconds".into(), steady_secs.into());
        json.insert("idle_pass_seconds".into(), idle_secs.into());
        json.insert("submit_while_sweeping_over_alone".into(), ratio.into());
        println!("{}", serde_json::Value::Object(json));
    }
    Ok(exit_status(&phases))
}
