//! The printed report and the JSON line.

use petition_tests::server::SERVER_THREAD_NAME;

use crate::LoadArgs;
use crate::budget;
use crate::monitor::PRINTED_ACTIVITIES;
use crate::phase::Phase;

/// CPU used by other processes above which a phase is flagged as disturbed, in cores.
const DISTURBED_CORES: f64 = 0.2;

/// How the run was set up, printed before the results and kept in the JSON.
pub struct Setup {
    pub bench: &'static str,
    pub build: &'static str,
    pub commit: String,
    pub cores: usize,
    /// Worker threads of the load generator's runtime.
    pub worker_threads: usize,
    /// Worker threads of the server's own runtime.
    pub server_workers: usize,
    pub server_url: String,
    pub database: String,
    pub pool_size: u32,
    pub pool_size_is_default: bool,
    pub hashing_concurrency: usize,
    pub load: LoadArgs,
    /// Lines of this benchmark's own, after the common ones: (label, text).
    pub lines: Vec<(String, String)>,
}

impl Setup {
    pub fn print(&self) {
        let load = &self.load;
        println!("petition bench: {}", self.bench);
        println!("  build        {}", self.build);
        println!("  commit       {}", self.commit);
        println!(
            "  server       in-process at {} on its own tokio runtime ({} worker threads; they and its blocking \
             threads named {SERVER_THREAD_NAME}), the load generator on another ({} worker threads): separate \
             threads, so their CPU is told apart, but they still share this process and the machine's {} cores; \
             loopback only",
            self.server_url, self.server_workers, self.worker_threads, self.cores
        );
        let local = ["127.0.0.1", "localhost", "[::1]", "host=/"].iter().any(|host| self.database.contains(host));
        println!(
            "  database     {} (fresh, cloned from the migrated template){}",
            self.database,
            if local { "; PostgreSQL runs on this machine too, on the same cores" } else { "" }
        );
        println!(
            "  server cfg   DB pool size {} ({}), password-hashing concurrency {} (default); all else default",
            self.pool_size,
            if self.pool_size_is_default { "default" } else { "--db-pool-size, NOT the default" },
            self.hashing_concurrency
        );
        println!(
            "  load         {} callers over {} HTTP/2 connections; per phase {}s warm-up + {}s measured",
            load.concurrency, load.connections, load.warmup_seconds, load.seconds
        );
        for (label, text) in &self.lines {
            println!("  {label:<12} {text}");
        }
    }

    /// The common part of the JSON line.
    pub fn json(&self, phases: &[Phase]) -> serde_json::Map<String, serde_json::Value> {
        let round = |x: f64| (x * 100.0).round() / 100.0;
        let results: Vec<serde_json::Value> = phases
            .iter()
            .map(|p| {
                serde_json::json!({
                    "rpc": p.rpc,
                    "callers": p.callers,
                    "seconds": p.seconds,
                    "calls": p.calls(),
                    "errors": p.errors,
                    "abandoned_at_deadline": p.abandoned,
                    "cpu_cores": p.cpu.map(|cpu| serde_json::json!({
                        "this_process": round(cpu.this_process),
                        "server": cpu.server.map(round),
                        "load_generator": cpu.load_generator().map(round),
                        "postgres": round(cpu.postgres),
                        "other": round(cpu.other),
                        "idle": round(cpu.idle),
                    })),
                    "pg_backends": p.backends.as_ref().map(|b| serde_json::json!({
                        "samples": b.samples,
                        "average_busy": round(b.average_busy()),
                        "activity_shares": b.top(usize::MAX).into_iter()
                            .map(|(what, share)| (what.to_owned(), serde_json::json!(round(share * 100.0) / 100.0)))
                            .collect::<serde_json::Map<_, _>>(),
                    })),
                    "budget_per_call": budget::json(p),
                    "statements": p.statements.as_ref().map(|s| budget::statements_json(s, p.ok())),
                    "throughput": round(p.throughput()),
                    "p50_ms": round(p.quantile_ms(0.50)),
                    "p90_ms": round(p.quantile_ms(0.90)),
                    "p99_ms": round(p.quantile_ms(0.99)),
                    "max_ms": round(p.max_ms()),
                    "failed": p.failed(),
                    "error_messages": p.most_frequent_errors().into_iter()
                        .map(|(m, n)| serde_json::json!({"message": m, "count": n}))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        let value = serde_json::json!({
            "bench": self.bench,
            "build": self.build,
            "commit": self.commit,
            "in_process_server": true,
            "cores": self.cores,
            "worker_threads": self.worker_threads,
            "server_worker_threads": self.server_workers,
            "db_pool_size": self.pool_size,
            "db_pool_size_is_default": self.pool_size_is_default,
            "hashing_concurrency": self.hashing_concurrency,
            "concurrency": self.load.concurrency,
            "connections": self.load.connections,
            "warmup_seconds": self.load.warmup_seconds,
            "seconds": self.load.seconds,
            "results": results,
        });
        match value {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }
}

/// The results table, `notes` under it, the CPU table, the backends'
/// activity, and warnings.
pub fn print_results(setup: &Setup, phases: &[Phase], notes: &[String]) {
    let width = phases.iter().map(|p| p.rpc.len()).max().unwrap_or(3).max(8);
    println!();
    println!(
        "{:<width$} | {:>9} | {:>7} | {:>10} | {:>8} | {:>8} | {:>8} | {:>8}",
        "rpc", "calls", "errors", "calls/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    println!("{}", "-".repeat(width + 81));
    for phase in phases {
        println!(
            "{:<width$} | {:>9} | {:>7} | {:>10.1} | {:>8.2} | {:>8.2} | {:>8.2} | {:>8.2}",
            phase.rpc,
            phase.calls(),
            phase.errors,
            phase.throughput(),
            phase.quantile_ms(0.50),
            phase.quantile_ms(0.90),
            phase.quantile_ms(0.99),
            phase.max_ms(),
        );
    }
    println!();
    println!("calls: completed in the measured window; calls/s and latencies: successful calls only");
    for note in notes {
        println!("{note}");
    }
    println!();
    println!(
        "CPU during the measured window, in cores (of {}): load generator and server = this process's threads \
         (the server's are its runtime's); postgres = the server's backends",
        setup.cores
    );
    println!(
        "{:<width$} | {:>9} | {:>8} | {:>8} | {:>15} | {:>6}",
        "rpc", "load gen", "server", "postgres", "other processes", "idle"
    );
    for phase in phases {
        let cores = |x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{x:.2}"));
        match phase.cpu {
            Some(cpu) => println!(
                "{:<width$} | {:>9} | {:>8} | {:>8.2} | {:>15.2} | {:>6.2}",
                phase.rpc,
                cores(cpu.load_generator()),
                cores(cpu.server),
                cpu.postgres,
                cpu.other,
                cpu.idle
            ),
            None => println!(
                "{:<width$} | {:>9} | {:>8} | {:>8} | {:>15} | {:>6}",
                phase.rpc, "n/a", "n/a", "n/a", "n/a", "n/a"
            ),
        }
    }
    println!();
    budget::print(phases, width);
    println!();
    println!(
        "The server's PostgreSQL backends during the measured window (pool of {}; sampled every 25 ms): \
         busy = running a statement or inside a transaction",
        setup.pool_size
    );
    println!("{:<width$} | {:>8} | what the busy ones did (share of busy samples)", "rpc", "busy avg");
    for phase in phases {
        match &phase.backends {
            Some(b) if b.samples > 0 => {
                println!("{:<width$} | {:>8.2} | {}", phase.rpc, b.average_busy(), b.describe(PRINTED_ACTIVITIES))
            }
            _ => println!("{:<width$} | {:>8} | n/a", phase.rpc, "n/a"),
        }
    }
    budget::print_statements(phases);
    for phase in phases {
        if let Some(cpu) = phase.cpu.filter(|cpu| cpu.other > DISTURBED_CORES) {
            println!(
                "!!! {}: other processes used {:.2} cores meanwhile: the machine was not quiet, expect noise",
                phase.rpc, cpu.other
            );
        }
    }
    for phase in phases {
        if phase.errors > 0 || phase.ok() == 0 {
            println!();
            println!(
                "!!! {}: {} of {} calls FAILED ({:.2}%){}",
                phase.rpc,
                phase.errors,
                phase.calls(),
                phase.error_ratio() * 100.0,
                if phase.ok() == 0 { " and NO call succeeded" } else { "" }
            );
            for (message, count) in phase.most_frequent_errors() {
                println!("!!!   {count:>8} × {message}");
            }
        }
    }
    if cfg!(debug_assertions) {
        println!();
        println!("!!! DEBUG BUILD: these numbers are meaningless; run with cargo run --release");
    }
}

/// Throughput of `numerator` over that of `denominator`.
pub fn ratio(phases: &[Phase], numerator: &str, denominator: &str) -> Option<f64> {
    let of = |rpc: &str| phases.iter().find(|p| p.rpc == rpc).map(Phase::throughput);
    let (n, d) = (of(numerator)?, of(denominator)?);
    (d > 0.0).then(|| n / d)
}
