//! `bench ratings`: does rating slow filing? SubmitCase alone against
//! SubmitCase while petitioners rate, in the same run.
//!
//! Set-up as `bench cases` (the directory, `--citizens` citizens, template
//! cases through the API, then `--preload` cases copied in SQL), then
//! `--rated-cases` cases replied to through the API (each reply opens a
//! rating in its transaction).
//!
//! Phases: `health` (the baseline), then SubmitCase with 64 callers in
//! interleaved rounds (`--rounds`; alone, with ratings, then with, alone,
//! …): "with ratings" runs, beside the filers, the petitioner submitting
//! ratings at `--rating-rate` calls a second (each one a change of the
//! rating: satisfied and basically satisfied in turn, so every call writes
//! an AMENDED event). Each mode's phases are counted together; the report
//! gives with/alone against the target (≤ 5% slower) and the ratings'
//! own latency. `--rating-rate 0` rates back to back with 8 callers (the
//! worst case, not a realistic load: a city's petitioners rate a few
//! times a minute).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use futures::{StreamExt, TryStreamExt};
use hdrhistogram::Histogram;
use petition_sdk::{Client, new_request_id, pb};
use tokio::sync::Mutex;

use crate::LoadArgs;
use crate::cases::{Prepared, REGIONS, prepare, sign_in_filers};
use crate::identity::{health_phase, monitor_of};
use crate::phase::{PAUSE_BETWEEN_PHASES, Phase, run_phase};
use crate::report::print_results;
use crate::support::{Rng, describe_sdk, exit_status, start_server, stop_server};
use crate::text;

#[derive(Args, Debug, Clone)]
pub struct RatingsArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Cases preloaded before measuring.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=5_000_000))]
    preload: u32,

    /// Citizens registered through the API: the filers.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    citizens: u32,

    /// Cases replied to through the API: the ratings submitted, in turn.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    rated_cases: u32,

    /// SubmitRating calls a second beside the filers (0: back to back with 8 callers).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    rating_rate: u32,

    /// Rounds of SubmitCase alone and with ratings.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,

    /// Leave the server's database in place afterwards.
    #[arg(long)]
    keep_database: bool,
}

/// At most this much slower with ratings (the target).
const SLOWDOWN_TARGET: f64 = 0.05;
/// Back-to-back raters when `--rating-rate 0`.
const UNPACED_RATERS: usize = 8;

/// The ratings submitted beside a phase: their count, failures, latencies.
struct Raters {
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    latencies: Arc<Mutex<Histogram<u64>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Raters {
    fn start(
        petitioner: &Client,
        ratings: &Arc<Vec<String>>,
        rate: u32,
        latencies: &Arc<Mutex<Histogram<u64>>>,
    ) -> Raters {
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let next = Arc::new(AtomicU64::new(0));
        let one = {
            let (petitioner, ratings, ok, failed, next, latencies) =
                (petitioner.clone(), ratings.clone(), ok.clone(), failed.clone(), next.clone(), latencies.clone());
            move || {
                let (petitioner, ratings, ok, failed, latencies) =
                    (petitioner.clone(), ratings.clone(), ok.clone(), failed.clone(), latencies.clone());
                let n = next.fetch_add(1, Ordering::Relaxed);
                async move {
                    let id = &ratings[(n % ratings.len() as u64) as usize];
                    // Alternate per pass over the ratings: every call changes one.
                    let pass = n / ratings.len() as u64;
                    let satisfaction = if pass.is_multiple_of(2) {
                        pb::Satisfaction::Satisfied
                    } else {
                        pb::Satisfaction::BasicallySatisfied
                    };
                    let score = pb::RatingScore { satisfaction: satisfaction.into(), ..Default::default() };
                    let request = pb::SubmitRatingRequest {
                        rating_id: id.clone(),
                        acceptance: Some(score.clone()),
                        handling: Some(score),
                        request_id: new_request_id(),
                        ..Default::default()
                    };
                    let started = std::time::Instant::now();
                    match petitioner.ratings().submit_rating(request).await {
                        Ok(_) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                            let micros = started.elapsed().as_micros() as u64;
                            let _ = latencies.lock().await.record(micros.max(1));
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        };
        let tasks = if rate == 0 {
            (0..UNPACED_RATERS)
                .map(|_| {
                    let one = one.clone();
                    tokio::spawn(async move {
                        loop {
                            one().await;
                        }
                    })
                })
                .collect()
        } else {
            let every = Duration::from_secs_f64(1.0 / f64::from(rate));
            vec![tokio::spawn(async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    tokio::spawn(one());
                }
            })]
        };
        Raters { ok, failed, latencies: latencies.clone(), tasks }
    }

    fn stop(self) -> (u64, u64) {
        for task in self.tasks {
            task.abort();
        }
        let _ = &self.latencies;
        (self.ok.load(Ordering::Relaxed), self.failed.load(Ordering::Relaxed))
    }
}

pub async fn ratings(args: RatingsArgs) -> Result<ExitCode> {
    let load = args.load.clone();
    let (server, mut setup) = start_server("ratings", &load, |config| {
        // Count every filing, refuse none (as bench cases).
        config.intake.daily_filing_limit = 1_000_000;
    })
    .await?;
    let Prepared { world, anonymous, citizens, .. } =
        prepare(&server, &load, &mut setup, args.citizens, args.preload).await?;
    eprintln!("preparing: {} cases replied to (a rating each)…", args.rated_cases);
    let replied: Vec<pb::Case> = futures::stream::iter(0..args.rated_cases)
        .map(|i| {
            let world = &world;
            async move { world.replied_case(&format!("评价基准-{i}")).await }
        })
        .buffered(8)
        .try_collect()
        .await?;
    let mut ratings = Vec::with_capacity(replied.len());
    for case in &replied {
        let filter = pb::ListRatingsRequest { case_id: case.id.clone(), ..Default::default() };
        let page = world.owner.ratings().list_ratings(filter).await?;
        ratings.push(page.ratings.first().context("a replied case without its rating")?.id.clone());
    }
    let ratings = Arc::new(ratings);
    setup.lines.push((
        "ratings".into(),
        format!(
            "{} ratings open (one per replied case), rated by their petitioner at {} beside the filers",
            ratings.len(),
            if args.rating_rate == 0 {
                format!("full speed ({UNPACED_RATERS} back-to-back callers)")
            } else {
                format!("{} calls/s", args.rating_rate)
            }
        ),
    ));
    let phones: Vec<String> = citizens.iter().take(load.concurrency as usize).map(|(_, phone)| phone.clone()).collect();
    let filers = sign_in_filers(&anonymous, &phones).await?;
    let monitor = monitor_of(&server).await?;
    setup.print();

    eprintln!("measuring…");
    let mut phases = vec![health_phase(&anonymous, &load, &monitor).await?];
    let latencies = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).map_err(|e| anyhow::anyhow!("a histogram: {e:?}"))?,
    ));
    let (mut alone, mut with) = (Vec::new(), Vec::new());
    let (mut rated, mut rating_failures) = (0u64, 0u64);
    for round in 0..args.rounds {
        let order = if round % 2 == 0 { [false, true] } else { [true, false] };
        for rating in order {
            tokio::time::sleep(PAUSE_BETWEEN_PHASES).await;
            let raters = rating.then(|| Raters::start(&world.owner, &ratings, args.rating_rate, &latencies));
            let filers = filers.clone();
            let phase = run_phase(
                if rating { "SubmitCase, with ratings" } else { "SubmitCase, alone" },
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
            if let Some(raters) = raters {
                let (ok, failed) = raters.stop();
                rated += ok;
                rating_failures += failed;
                with.push(phase);
            } else {
                alone.push(phase);
            }
        }
    }
    let alone = Phase::merged(alone)?.context("no phase alone")?;
    let with = Phase::merged(with)?.context("no phase with ratings")?;
    let ratio = with.throughput() / alone.throughput();
    phases.push(alone);
    phases.push(with);

    drop((anonymous, filers, world, monitor));
    stop_server(server, args.keep_database).await;

    let latencies = latencies.lock().await;
    let ms = |q: f64| latencies.value_at_quantile(q) as f64 / 1000.0;
    let verdict = if ratio >= 1.0 - SLOWDOWN_TARGET { "met" } else { "NOT met" };
    let notes = vec![
        format!(
            "SubmitCase with ratings / alone: {:.1}% (target ≥ {:.0}%: {verdict})",
            ratio * 100.0,
            (1.0 - SLOWDOWN_TARGET) * 100.0
        ),
        format!(
            "SubmitRating beside the filers (warm-up included): {rated} ok, {rating_failures} failed, latency p50 \
             {:.1} ms, p99 {:.1} ms",
            ms(0.5),
            ms(0.99)
        ),
    ];
    print_results(&setup, &phases, &notes);
    if load.json {
        let mut json = setup.json(&phases);
        json.insert("submit_with_ratings_over_alone".into(), ratio.into());
        json.insert("ratings_submitted".into(), rated.into());
        json.insert("rating_p99_ms".into(), ms(0.99).into());
        println!("{}", serde_json::Value::Object(json));
    }
    Ok(exit_status(&phases))
}
