//! The phase runner: callers looping calls back to back through a warm-up
//! and a measured window, tallied into HDR histograms.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use hdrhistogram::Histogram;
use tokio::time::Instant;

use crate::LoadArgs;
use crate::budget::{self, Statement};
use crate::monitor::{BackendActivity, CpuMonitor, CpuSplit};

/// Phases with a larger share of failed calls than this fail the run.
pub const MAX_ERROR_RATIO: f64 = 0.01;
/// Distinct error messages kept per caller (the rest are counted as "other").
const MAX_DISTINCT_ERRORS: usize = 8;
/// Distinct error messages printed per phase.
const PRINTED_ERRORS: usize = 5;
/// Highest latency the histograms hold: one minute, in microseconds.
const MAX_LATENCY_MICROS: u64 = 60_000_000;
/// Quiet time between phases, so one phase's leftovers (abandoned calls,
/// connections returning to the pool) do not land in the next.
pub const PAUSE_BETWEEN_PHASES: Duration = Duration::from_millis(500);

/// What one phase measured.
pub struct Phase {
    pub rpc: &'static str,
    pub callers: usize,
    pub seconds: f64,
    /// Latencies of successful calls, microseconds.
    pub latencies: Histogram<u64>,
    pub errors: u64,
    /// Error message → count (at most [`MAX_DISTINCT_ERRORS`] per caller).
    pub error_messages: BTreeMap<String, u64>,
    /// Calls in flight at the deadline, abandoned and not counted.
    pub abandoned: u64,
    /// Where the machine's CPU went during the measured window.
    pub cpu: Option<CpuSplit>,
    /// What the server's PostgreSQL backends did during the measured window.
    pub backends: Option<BackendActivity>,
    /// The statements of the measured window, if the monitor watched them.
    pub statements: Option<Vec<Statement>>,
}

impl Phase {
    pub fn ok(&self) -> u64 {
        self.latencies.len()
    }

    pub fn calls(&self) -> u64 {
        self.ok() + self.errors
    }

    pub fn throughput(&self) -> f64 {
        self.ok() as f64 / self.seconds
    }

    /// One phase of the same calls measured in several windows: calls and
    /// seconds add up; the CPU shares are averaged over the seconds, the
    /// backend samples pooled. `None` for no phase.
    pub fn merged(phases: Vec<Phase>) -> Result<Option<Phase>> {
        let mut phases = phases.into_iter();
        let Some(mut all) = phases.next() else { return Ok(None) };
        for phase in phases {
            all.latencies.add(&phase.latencies).map_err(|e| anyhow!("merging latencies: {e:?}"))?;
            all.errors += phase.errors;
            for (message, n) in phase.error_messages {
                *all.error_messages.entry(message).or_default() += n;
            }
            all.abandoned += phase.abandoned;
            all.cpu = match (all.cpu, phase.cpu) {
                (Some(a), Some(b)) => Some(CpuSplit::weighted(&[(a, all.seconds), (b, phase.seconds)])),
                _ => None,
            };
            all.backends = match (all.backends.take(), phase.backends) {
                (Some(a), Some(b)) => Some(a.pooled(b)),
                _ => None,
            };
            all.statements = match (all.statements.take(), phase.statements) {
                (Some(a), Some(b)) => Some(budget::merged(a, b)),
                _ => None,
            };
            all.callers = all.callers.max(phase.callers);
            all.seconds += phase.seconds;
        }
        Ok(Some(all))
    }

    pub fn error_ratio(&self) -> f64 {
        if self.calls() == 0 { 0.0 } else { self.errors as f64 / self.calls() as f64 }
    }

    pub fn failed(&self) -> bool {
        self.ok() == 0 || self.error_ratio() > MAX_ERROR_RATIO
    }

    fn millis(&self, micros: u64) -> f64 {
        micros as f64 / 1000.0
    }

    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        if self.ok() == 0 { 0.0 } else { self.millis(self.latencies.value_at_quantile(quantile)) }
    }

    pub fn max_ms(&self) -> f64 {
        if self.ok() == 0 { 0.0 } else { self.millis(self.latencies.max()) }
    }

    pub fn most_frequent_errors(&self) -> Vec<(&str, u64)> {
        let mut messages: Vec<(&str, u64)> = self.error_messages.iter().map(|(m, n)| (m.as_str(), *n)).collect();
        messages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        messages.truncate(PRINTED_ERRORS);
        messages
    }
}

/// One caller's tally, merged into the phase's at the end.
struct Tally {
    latencies: Histogram<u64>,
    errors: u64,
    error_messages: BTreeMap<String, u64>,
    abandoned: u64,
}

fn histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3).map_err(|e| anyhow!("creating a histogram: {e:?}"))
}

/// Runs `callers` tasks calling `call(caller_index)` back to back for
/// `warmup` and then `measured`, and tallies the calls completed in the
/// measured window.
pub async fn run_phase<F, Fut>(
    rpc: &'static str,
    callers: usize,
    load: &LoadArgs,
    monitor: &CpuMonitor,
    call: F,
) -> Result<Phase>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let warmup = Duration::from_secs(load.warmup_seconds);
    let measured = Duration::from_secs(load.seconds);
    eprintln!("  {rpc}: {callers} callers, {}s warm-up + {}s measured…", load.warmup_seconds, load.seconds);

    let start = Instant::now();
    let measuring_from = start + warmup;
    let deadline = measuring_from + measured;
    let cpu = {
        let monitor = monitor.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(measuring_from).await;
            let watch = match monitor.statements() {
                Some(watch) => match watch.reset().await {
                    Ok(()) => Some(watch),
                    Err(error) => {
                        eprintln!("warning: {rpc}: no statements: {error:#}");
                        None
                    }
                },
                None => None,
            };
            let before = monitor.snapshot().await;
            tokio::time::sleep_until(deadline).await;
            let after = monitor.snapshot_again(&before).await;
            let statements = match watch {
                Some(watch) => match watch.read().await {
                    Ok(statements) => Some(statements),
                    Err(error) => {
                        eprintln!("warning: {rpc}: no statements: {error:#}");
                        None
                    }
                },
                None => None,
            };
            (CpuSplit::between(&before, &after), statements)
        })
    };
    let backends = {
        let monitor = monitor.clone();
        tokio::spawn(async move { monitor.sample_backends(measuring_from, deadline).await })
    };
    let mut tasks = Vec::with_capacity(callers);
    for caller in 0..callers {
        let call = call.clone();
        let mut tally = Tally { latencies: histogram()?, errors: 0, error_messages: BTreeMap::new(), abandoned: 0 };
        tasks.push(tokio::spawn(async move {
            loop {
                let began = Instant::now();
                if began >= deadline {
                    break;
                }
                let Ok(outcome) = tokio::time::timeout_at(deadline, call(caller)).await else {
                    tally.abandoned += 1;
                    break;
                };
                let ended = Instant::now();
                if ended < measuring_from {
                    continue;
                }
                match outcome {
                    Ok(()) => {
                        let micros = u64::try_from(ended.duration_since(began).as_micros()).unwrap_or(u64::MAX);
                        tally.latencies.saturating_record(micros.max(1));
                    }
                    Err(message) => {
                        tally.errors += 1;
                        let known = tally.error_messages.len() < MAX_DISTINCT_ERRORS
                            || tally.error_messages.contains_key(&message);
                        let key = if known { message } else { "(other messages)".to_owned() };
                        *tally.error_messages.entry(key).or_default() += 1;
                    }
                }
            }
            tally
        }));
    }

    let mut phase = Phase {
        rpc,
        callers,
        seconds: measured.as_secs_f64(),
        latencies: histogram()?,
        errors: 0,
        error_messages: BTreeMap::new(),
        abandoned: 0,
        cpu: None,
        backends: None,
        statements: None,
    };
    for task in tasks {
        let tally = task.await.context("a caller task panicked")?;
        phase.latencies.add(&tally.latencies).map_err(|e| anyhow!("merging histograms: {e:?}"))?;
        phase.errors += tally.errors;
        phase.abandoned += tally.abandoned;
        for (message, count) in tally.error_messages {
            *phase.error_messages.entry(message).or_default() += count;
        }
    }
    (phase.cpu, phase.statements) = cpu.await.context("the CPU monitor panicked")?;
    phase.backends = backends.await.context("the backend sampler panicked")?;
    tokio::time::sleep(PAUSE_BETWEEN_PHASES).await;
    Ok(phase)
}
