//! The machinery of every `… import FILE`: rows from CSV (a header row) or
//! JSON Lines (`.jsonl`), checked before anything is sent, then one call
//! per job (a row, or the rows of one calendar year), several at once,
//! with a progress bar and a summary. What a row means is an [`Importer`]'s
//! business; rerunning an import must create nothing twice, which each
//! importer makes true its own way (a request id derived from the row, or
//! a stored record equal to the row). A job is one call, one transaction:
//! never half applied. Rows that fail go to `<FILE>.failed.jsonl` with
//! their row number and reason; the others go on.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use petition_sdk::Client;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use crate::output::{self, Format, Record};
use crate::progress;

/// What a rerun finds: the row made by this call, or already in and left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Imported,
    Existing,
}

/// One call covering `rows` (their numbers in the file), or why it cannot be made.
pub struct Job<C> {
    pub rows: Vec<usize>,
    pub call: Result<C, String>,
}

impl<C> Job<C> {
    pub fn one(row: usize, call: Result<C, String>) -> Job<C> {
        Job { rows: vec![row], call }
    }
}

/// What one kind of row means and how it goes in.
pub trait Importer: Send + Sync + 'static {
    type Row: DeserializeOwned + Serialize + Send + 'static;
    type Call: Send + 'static;
    /// The columns a row may have; the first `REQUIRED` must be there.
    const COLUMNS: &'static [&'static str];
    const REQUIRED: usize;
    /// The calls for the rows read well, in file order.
    fn plan(&self, rows: Vec<(usize, Self::Row)>) -> Vec<Job<Self::Call>>;
    /// Makes one call; the error is the reason written for its rows.
    fn send(&self, client: Client, call: Self::Call) -> impl Future<Output = Result<Outcome, String>> + Send;
    /// The row as the failed-rows file keeps it (without secrets).
    fn failed_record(row: &Self::Row) -> serde_json::Value {
        serde_json::to_value(row).unwrap_or_default()
    }
}

/// A server's refusal as one line: its code, reason and field violations.
pub fn refusal(error: &petition_sdk::Error) -> String {
    let reason = error.reason().map(|r| format!(" {r}")).unwrap_or_default();
    let fields: Vec<String> =
        error.field_violations().iter().map(|v| format!("{}: {}", v.field, v.description)).collect();
    let detail = if fields.is_empty() { error.message().to_owned() } else { fields.join("; ") };
    format!("{:?}{reason}: {detail}", error.code())
}

/// A hex SHA-256 of `fields`, each ended by a separator, for request ids
/// derived from a row.
pub fn fingerprint<'a>(fields: impl IntoIterator<Item = &'a str>) -> String {
    let mut hash = Sha256::new();
    for field in fields {
        hash.update(field.as_bytes());
        hash.update([0x1f]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A row as read: its number in the file (the header is row 1 of a CSV),
/// and the row or why it could not be read.
type Read<R> = (usize, Result<R, String>);

/// Every row of `path`, read before anything is sent: a file that cannot
/// be read, an unknown column or a missing required one stops here.
fn read<R: DeserializeOwned>(path: &Path, columns: &[&str], required: usize) -> Result<Vec<Read<R>>> {
    let jsonl = path.extension().is_some_and(|e| e == "jsonl" || e == "ndjson");
    if jsonl {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| (i + 1, serde_json::from_str(line).map_err(|e| e.to_string())))
            .collect());
    }
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let headers = reader.headers().with_context(|| format!("{}: row 1: no header row", path.display()))?.clone();
    for header in &headers {
        if !columns.contains(&header) {
            bail!("{}: row 1: unknown column {header:?} (the columns: {})", path.display(), columns.join(", "));
        }
    }
    for column in &columns[..required] {
        if !headers.iter().any(|h| h == *column) {
            bail!("{}: row 1: the column {column:?} is missing", path.display());
        }
    }
    Ok(reader
        .deserialize::<R>()
        .enumerate()
        .map(|(i, row)| (i + 2, row.map_err(|e| described(&e, &headers))))
        .collect())
}

/// The reason of a CSV error without its position (the row number is said
/// already), naming the column by its header.
fn described(error: &csv::Error, headers: &csv::StringRecord) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Deserialize { err, .. } => match err.field().and_then(|f| headers.get(f as usize)) {
            Some(column) => format!("column {column}: {}", err.kind()),
            None => err.kind().to_string(),
        },
        _ => error.to_string(),
    }
}

/// What an import did: `imported` rows went in by this run's calls (a
/// case's replay counts here), `existing` were found already in.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub rows: usize,
    pub imported: usize,
    pub existing: usize,
    pub failed: usize,
    pub failed_file: String,
    pub seconds: f64,
}

impl Record for Summary {
    const COLUMNS: &'static [&'static str] = &["rows", "imported", "existing", "failed", "failed_file", "seconds"];

    fn cells(&self) -> Vec<String> {
        let seconds = format!("{:.1}", self.seconds);
        vec![
            self.rows.to_string(),
            self.imported.to_string(),
            self.existing.to_string(),
            self.failed.to_string(),
            self.failed_file.clone(),
            seconds,
        ]
    }
}

/// `<FILE>.failed.jsonl`, created at the first failure.
struct FailedRows {
    path: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
    count: usize,
}

#[derive(Serialize)]
struct Failed<'a> {
    row: usize,
    error: &'a str,
    record: Option<&'a serde_json::Value>,
}

impl FailedRows {
    /// Removes the failed rows of an earlier run: they would mislead.
    fn new(path: &Path) -> Result<FailedRows> {
        let path = PathBuf::from(format!("{}.failed.jsonl", path.display()));
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", path.display()));
            }
            _ => {}
        }
        Ok(FailedRows { path, file: None, count: 0 })
    }

    fn write(&mut self, row: usize, error: &str, record: Option<&serde_json::Value>) -> Result<()> {
        if self.file.is_none() {
            let file =
                std::fs::File::create(&self.path).with_context(|| format!("cannot write {}", self.path.display()))?;
            self.file = Some(std::io::BufWriter::new(file));
        }
        if let Some(file) = self.file.as_mut() {
            let error = format!("row {row}: {error}");
            writeln!(file, "{}", serde_json::to_string(&Failed { row, error: &error, record })?)?;
        }
        self.count += 1;
        Ok(())
    }
}

/// Imports `path` through `importer` with `concurrency` calls at once;
/// whether every row went in.
pub async fn run<I: Importer>(
    client: &Client,
    importer: I,
    path: &Path,
    concurrency: usize,
    format: Format,
) -> Result<bool> {
    let started = Instant::now();
    let rows = read::<I::Row>(path, I::COLUMNS, I::REQUIRED)?;
    let total = rows.len();
    let mut failed = FailedRows::new(path)?;
    let bar = progress::bar(Some(total as u64), "import");
    let mut records: HashMap<usize, serde_json::Value> = HashMap::new();
    let mut good = Vec::new();
    for (number, row) in rows {
        match row {
            Ok(row) => {
                records.insert(number, I::failed_record(&row));
                good.push((number, row));
            }
            Err(error) => {
                failed.write(number, &error, None)?;
                bar.inc(1);
            }
        }
    }
    let mut calls = Vec::new();
    for job in importer.plan(good) {
        match job.call {
            Ok(call) => calls.push((job.rows, call)),
            Err(error) => {
                for number in &job.rows {
                    failed.write(*number, &error, records.get(number))?;
                }
                bar.inc(job.rows.len() as u64);
            }
        }
    }
    let importer = Arc::new(importer);
    let mut running = JoinSet::new();
    let mut calls = calls.into_iter();
    let (mut imported, mut existing) = (0, 0);
    loop {
        while running.len() < concurrency.max(1) {
            let Some((rows, call)) = calls.next() else { break };
            let (client, importer) = (client.clone(), importer.clone());
            running.spawn(async move { (rows, importer.send(client, call).await) });
        }
        let Some(joined) = running.join_next().await else { break };
        let (rows, outcome) = joined.context("an import call panicked")?;
        match outcome {
            Ok(Outcome::Imported) => imported += rows.len(),
            Ok(Outcome::Existing) => existing += rows.len(),
            Err(error) => {
                for number in &rows {
                    failed.write(*number, &error, records.get(number))?;
                }
            }
        }
        bar.inc(rows.len() as u64);
    }
    bar.finish_and_clear();
    if let Some(mut file) = failed.file.take() {
        file.flush()?;
    }
    let summary = Summary {
        rows: total,
        imported,
        existing,
        failed: failed.count,
        failed_file: if failed.count > 0 { failed.path.display().to_string() } else { String::new() },
        seconds: started.elapsed().as_secs_f64(),
    };
    output::print(format, &[summary])?;
    Ok(failed.count == 0)
}
