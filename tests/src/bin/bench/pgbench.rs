//! pgbench on the server's PostgreSQL, as yardsticks of what the database
//! machine does with a standard load: a scratch database next to the
//! server's, `pgbench -i -s 10`, then TPC-B (`pgbench -c 16 -j 2 -T
//! <seconds> -M prepared`, the write yardstick) and select-only (the same
//! with `-S`, the read yardstick), and the scratch database dropped.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};

use crate::monitor::{CpuSplit, machine_mark};

pub const SCALE: u32 = 10;
pub const CLIENTS: u32 = 16;
pub const THREADS: u32 = 2;

/// What pgbench measured.
pub struct Pgbench {
    pub binary: String,
    pub seconds: u64,
    pub init_seconds: f64,
    /// TPC-B.
    pub tps: f64,
    /// Select only (`-S`): one primary-key read a transaction.
    pub select_only_tps: f64,
    pub latency_ms: Option<f64>,
    pub transactions: Option<u64>,
    /// Where the machine's CPU went during the run (pgbench and its backends are "other").
    pub cpu: Option<CpuSplit>,
}

/// The newest `/usr/lib/postgresql/*/bin/pgbench`, else `pgbench` on the PATH.
fn find_pgbench() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let binary = entry.path().join("bin/pgbench");
            binary.is_file().then_some((version, binary))
        })
        .collect();
    versions.sort();
    if let Some((_, binary)) = versions.pop() {
        return Some(binary);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join("pgbench")).find(|p| p.is_file())
}

/// Drops the scratch database when dropped.
struct Scratch {
    admin_url: String,
    name: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match PgConnection::establish(&self.admin_url) {
            Ok(mut conn) => {
                if let Err(error) =
                    sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut conn)
                {
                    eprintln!("warning: could not drop the pgbench database {}: {error}", self.name);
                }
            }
            Err(error) => eprintln!("warning: could not drop the pgbench database {}: {error}", self.name),
        }
    }
}

fn pgbench(binary: &PathBuf, args: &[String]) -> Result<String> {
    let output = Command::new(binary).args(args).output().with_context(|| format!("running {}", binary.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "{} {} failed ({}): {}",
            binary.display(),
            args.first().map_or("", String::as_str),
            output.status,
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("")
        );
    }
    Ok(stdout)
}

/// The number after `prefix` on the first line starting with it.
fn number_after(output: &str, prefix: &str) -> Option<f64> {
    let line = output.lines().find(|line| line.starts_with(prefix))?;
    line[prefix.len()..].split_whitespace().next()?.parse().ok()
}

/// The pgbench phase of a benchmark: says what runs, runs it (its failure
/// is the inner error, reported and not fatal), checkpoints so that the
/// scratch database's removal is written out before the next phase, and
/// pauses like between phases.
pub async fn phase(database_url: &str, database_name: &str, seconds: u64) -> Result<Result<Pgbench>> {
    eprintln!(
        "  pgbench on the same PostgreSQL (server idle): -i -s {SCALE}, then TPC-B and select-only (-S), each -c {CLIENTS} -j {THREADS} -T {seconds} -M prepared…"
    );
    let (url, name) = (database_url.to_owned(), database_name.to_owned());
    let result = tokio::task::spawn_blocking(move || run(&url, &name, seconds)).await?;
    if let Err(error) = &result {
        eprintln!("  pgbench failed: {error:#}");
    }
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&url)?;
        sql_query("CHECKPOINT").execute(&mut conn)?;
        anyhow::Ok(())
    })
    .await??;
    tokio::time::sleep(crate::phase::PAUSE_BETWEEN_PHASES).await;
    Ok(result)
}

/// Runs pgbench against a scratch database on the server holding
/// `database_url` (whose database is named `database_name`). Blocking.
pub fn run(database_url: &str, database_name: &str, seconds: u64) -> Result<Pgbench> {
    let binary = find_pgbench().context("pgbench not found (neither /usr/lib/postgresql/*/bin/pgbench nor PATH)")?;
    let name = format!("petition_pgbench_{}", uuid::Uuid::now_v7().simple());
    let scratch_url = database_url.replacen(database_name, &name, 1);
    if scratch_url == database_url {
        bail!("cannot derive the scratch database URL");
    }
    let mut admin = PgConnection::establish(database_url).context("connecting to create the pgbench database")?;
    sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin)?;
    drop(admin);
    let scratch = Scratch { admin_url: database_url.to_owned(), name };

    let init_started = Instant::now();
    pgbench(&binary, &["-i".into(), "-q".into(), "-s".into(), SCALE.to_string(), scratch_url.clone()])?;
    let init_seconds = init_started.elapsed().as_secs_f64();
    // A checkpoint now, so the initialisation's dirty pages are not written during the run.
    if let Ok(mut conn) = PgConnection::establish(&scratch_url) {
        let _ = sql_query("CHECKPOINT").execute(&mut conn);
    }

    let load = |select_only: bool| -> Result<String> {
        let mut args: Vec<String> = vec![
            "-c".into(),
            CLIENTS.to_string(),
            "-j".into(),
            THREADS.to_string(),
            "-T".into(),
            seconds.to_string(),
            "-M".into(),
            "prepared".into(),
        ];
        if select_only {
            args.push("-S".into());
        }
        args.push(scratch_url.clone());
        pgbench(&binary, &args)
    };
    let before = machine_mark();
    let output = load(false)?;
    let after = machine_mark();
    let select_only = load(true)?;
    drop(scratch);
    let tps_of = |output: &str| {
        number_after(output, "tps = ").with_context(|| format!("no `tps = ` in pgbench's output:\n{output}"))
    };
    let tps = tps_of(&output)?;
    Ok(Pgbench {
        binary: binary.display().to_string(),
        seconds,
        init_seconds,
        tps,
        select_only_tps: tps_of(&select_only)?,
        latency_ms: number_after(&output, "latency average = "),
        transactions: number_after(&output, "number of transactions actually processed: ").map(|n| n as u64),
        cpu: before.zip(after).and_then(|(before, after)| CpuSplit::of_machine_between(before, after)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pgbench_output() {
        let output = "number of transactions actually processed: 12345\nlatency average = 12.962 ms\n\
                      initial connection time = 10.5 ms\ntps = 1234.345678 (without initial connection time)\n";
        assert_eq!(number_after(output, "tps = "), Some(1234.345678));
        assert_eq!(number_after(output, "latency average = "), Some(12.962));
        assert_eq!(number_after(output, "number of transactions actually processed: "), Some(12345.0));
    }
}
