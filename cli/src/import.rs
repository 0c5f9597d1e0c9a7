//! `petitionctl cases import FILE`: cases from CSV (a header row) or JSON
//! Lines (`.jsonl`), one call each, several at once. Each row's request id
//! is its own `request_id` column or is derived from the row (its fields,
//! and which repeat of an identical row it is), so a rerun after a crash
//! or a kill creates nothing twice: the server answers a replayed request
//! with the case it created. A row with `petitioner_account_id` is
//! registered by staff (RegisterCase, with its `channel`); one without is
//! filed by the signed-in citizen (SubmitCase). Rows that fail go to
//! `<FILE>.failed.jsonl` with their row number and reason; each row is one
//! call, so none is ever half applied.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use petition_sdk::{Client, pb};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use crate::output::{self, Format, Record};

/// The columns a row may have; the first five are required.
pub const COLUMNS: [&str; 10] = [
    "kind",
    "category_code",
    "region_code",
    "title",
    "content",
    "requests",
    "facts_and_reasons",
    "channel",
    "petitioner_account_id",
    "request_id",
];

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub kind: String,
    pub category_code: String,
    pub region_code: String,
    pub title: String,
    pub content: String,
    #[serde(default)]
    pub requests: String,
    #[serde(default)]
    pub facts_and_reasons: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub petitioner_account_id: String,
    #[serde(default)]
    pub request_id: String,
}

/// A row as read: its number in the file (the header is row 1 of a CSV),
/// and the row or why it could not be read.
struct Read {
    number: usize,
    row: Result<Row, String>,
}

fn enum_value<E>(column: &str, value: &str, prefix: &str, parse: fn(&str) -> Option<E>) -> Result<E, String> {
    let upper = value.trim().to_uppercase();
    let full = if upper.starts_with(prefix) { upper } else { format!("{prefix}{upper}") };
    parse(&full).ok_or_else(|| format!("column {column}: {value:?} is not one of the values"))
}

impl Row {
    /// The call this row makes.
    fn request(&self, request_id: String) -> Result<Call, String> {
        let draft = pb::CaseDraft {
            kind: enum_value("kind", &self.kind, "CASE_KIND_", pb::CaseKind::from_str_name)?.into(),
            category_code: self.category_code.clone(),
            region_code: self.region_code.clone(),
            title: self.title.clone(),
            content: self.content.clone(),
            requests: self.requests.clone(),
            facts_and_reasons: self.facts_and_reasons.clone(),
            ..Default::default()
        };
        if self.petitioner_account_id.is_empty() {
            if !self.channel.is_empty() && !self.channel.eq_ignore_ascii_case("online") {
                return Err("column channel: a row without petitioner_account_id is filed online".into());
            }
            return Ok(Call::Submit(pb::SubmitCaseRequest { draft: Some(draft), request_id }));
        }
        let channel = enum_value("channel", &self.channel, "CASE_CHANNEL_", pb::CaseChannel::from_str_name)?;
        Ok(Call::Register(pb::RegisterCaseRequest {
            draft: Some(draft),
            channel: channel.into(),
            petitioner_account_id: self.petitioner_account_id.clone(),
            request_id,
            ..Default::default()
        }))
    }

    /// The row's fields, as its request id is derived from them.
    fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        for field in [
            &self.kind,
            &self.category_code,
            &self.region_code,
            &self.title,
            &self.content,
            &self.requests,
            &self.facts_and_reasons,
            &self.channel,
            &self.petitioner_account_id,
        ] {
            hash.update(field.as_bytes());
            hash.update([0x1f]);
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

enum Call {
    Submit(pb::SubmitCaseRequest),
    Register(pb::RegisterCaseRequest),
}

/// Every row of `path`, read before anything is sent: a file that cannot
/// be read or has an unknown column stops here.
fn read(path: &Path) -> Result<Vec<Read>> {
    let jsonl = path.extension().is_some_and(|e| e == "jsonl" || e == "ndjson");
    if jsonl {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        return Ok(text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| Read {
                number: i + 1,
                row: serde_json::from_str(line).map_err(|e| format!("not a case: {e}")),
            })
            .collect());
    }
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let headers = reader.headers().with_context(|| format!("{}: no header row", path.display()))?.clone();
    for header in &headers {
        if !COLUMNS.contains(&header) {
            bail!("{}: row 1: unknown column {header:?} (the columns: {})", path.display(), COLUMNS.join(", "));
        }
    }
    for required in &COLUMNS[..5] {
        if !headers.iter().any(|h| h == *required) {
            bail!("{}: row 1: the column {required:?} is missing", path.display());
        }
    }
    Ok(reader
        .deserialize::<Row>()
        .enumerate()
        .map(|(i, row)| Read { number: i + 2, row: row.map_err(|e| e.kind_description()) })
        .collect())
}

trait KindDescription {
    fn kind_description(&self) -> String;
}

impl KindDescription for csv::Error {
    /// The reason without the position (the row number is said already).
    fn kind_description(&self) -> String {
        match self.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                format!("{len} fields where the header has {expected_len}")
            }
            csv::ErrorKind::Deserialize { err, .. } => match err.field() {
                Some(field) => format!("column {}: {}", COLUMNS.get(field as usize).unwrap_or(&"?"), err.kind()),
                None => err.kind().to_string(),
            },
            _ => self.to_string(),
        }
    }
}

/// What an import did.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub rows: usize,
    pub imported: usize,
    pub failed: usize,
    pub failed_file: String,
    pub seconds: f64,
}

impl Record for Summary {
    const COLUMNS: &'static [&'static str] = &["rows", "imported", "failed", "failed_file", "seconds"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.rows.to_string(),
            self.imported.to_string(),
            self.failed.to_string(),
            self.failed_file.clone(),
            format!("{:.1}", self.seconds),
        ]
    }
}

#[derive(Serialize)]
struct Failed<'a> {
    row: usize,
    error: String,
    record: Option<&'a Row>,
}

/// Imports `path` with `concurrency` calls at once; whether every row went in.
pub async fn import(client: &Client, path: &Path, concurrency: usize, format: Format) -> Result<bool> {
    let started = Instant::now();
    let rows = read(path)?;
    let failed_path = PathBuf::from(format!("{}.failed.jsonl", path.display()));
    let mut failed_file = None;
    let mut failures = 0;
    let mut fail = |row: usize, error: String, record: Option<&Row>| -> Result<()> {
        if failed_file.is_none() {
            let file = std::fs::File::create(&failed_path)
                .with_context(|| format!("cannot write {}", failed_path.display()))?;
            failed_file = Some(std::io::BufWriter::new(file));
        }
        if let Some(file) = failed_file.as_mut() {
            writeln!(file, "{}", serde_json::to_string(&Failed { row, error, record })?)?;
        }
        failures += 1;
        Ok(())
    };
    // Identical rows are distinct cases: the second gets another id.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut calls = Vec::new();
    for Read { number, row } in &rows {
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                fail(*number, format!("row {number}: {error}"), None)?;
                continue;
            }
        };
        let request_id = if row.request_id.is_empty() {
            let fingerprint = row.fingerprint();
            let repeat = seen.entry(fingerprint.clone()).or_insert(0);
            *repeat += 1;
            format!("import-{}-{}", &fingerprint[..32], repeat)
        } else {
            row.request_id.clone()
        };
        match row.request(request_id) {
            Ok(call) => calls.push((*number, row, call)),
            Err(error) => fail(*number, format!("row {number}: {error}"), Some(row))?,
        }
    }
    let total = calls.len();
    let client = Arc::new(client.clone());
    let mut running = JoinSet::new();
    let mut calls = calls.into_iter();
    let mut imported = 0;
    let mut done = 0;
    let by_number: HashMap<usize, &Row> = rows.iter().filter_map(|r| Some((r.number, r.row.as_ref().ok()?))).collect();
    loop {
        while running.len() < concurrency.max(1) {
            let Some((number, _, call)) = calls.next() else { break };
            let client = client.clone();
            running.spawn(async move {
                let answer = match call {
                    Call::Submit(request) => client.cases().submit_case(request).await.map(|_| ()),
                    Call::Register(request) => client.cases().register_case(request).await.map(|_| ()),
                };
                (number, answer)
            });
        }
        let Some(joined) = running.join_next().await else { break };
        let (number, answer) = joined.context("an import call panicked")?;
        done += 1;
        match answer {
            Ok(()) => imported += 1,
            Err(e) => {
                let reason = e.reason().map(|r| format!(" {r}")).unwrap_or_default();
                let fields: Vec<String> =
                    e.field_violations().iter().map(|v| format!("{}: {}", v.field, v.description)).collect();
                let detail = if fields.is_empty() { e.message().to_owned() } else { fields.join("; ") };
                fail(
                    number,
                    format!("row {number}: {:?}{reason}: {detail}", e.code()),
                    by_number.get(&number).copied(),
                )?;
            }
        }
        if done % 500 == 0 {
            let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-3);
            eprintln!("imported {done}/{total} ({rate:.0} rows/s)");
        }
    }
    if let Some(mut file) = failed_file {
        file.flush()?;
    }
    let summary = Summary {
        rows: rows.len(),
        imported,
        failed: failures,
        failed_file: if failures > 0 { failed_path.display().to_string() } else { String::new() },
        seconds: started.elapsed().as_secs_f64(),
    };
    output::print(format, &[summary])?;
    Ok(failures == 0)
}
