//! A partner agency's sync program: keeps a copy of every case shared with
//! its organization in a local JSON file, in step with the change feed.
//!
//! 1. With no copy yet, it lists the cases it may see and notes the feed
//!    position the first page gave.
//! 2. It watches the feed from the noted position. An event the copy
//!    already reflects (its sequence is at or below the case's
//!    `last_event_sequence`) is skipped; any other re-reads the case; a
//!    case the partner may no longer see (its access was revoked) is
//!    dropped from the copy.
//! 3. Every second (and on Ctrl-C) it writes the copy and the position to a
//!    new file and renames it over the old one, so a kill at any moment
//!    leaves the last saved copy whole. Started again, it resumes after the
//!    saved position; events handled again after a kill are skipped as
//!    reflected, so nothing is applied twice.
//! 4. If the feed no longer serves the saved position (`CURSOR_EXPIRED`, the
//!    program was off longer than the feed's retention), it lists again.
//!
//! # Usage
//!
//! ```sh
//! PETITION_CLIENT_ID=… PETITION_CLIENT_SECRET=… \
//!   cargo run -p petition-sdk --example partner_sync -- http://127.0.0.1:50051 mirror.json
//! ```
//!
//! The credentials are a partner service account's (`CreateServiceAccount`,
//! with the `CASES_READ` scope); an `https://` URL connects over TLS with
//! the system's roots. It prints a line per change and runs until killed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, FeedItem, pb};
use serde_json::{Value, json};

/// How often the copy is written while changes arrive.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// The local copy: each case as last read, and the feed position it
/// reflects.
#[derive(Default)]
struct Mirror {
    position: i64,
    cases: BTreeMap<String, Value>,
}

impl Mirror {
    fn load(path: &Path) -> Result<Option<Mirror>, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let value: Value = serde_json::from_str(&text).map_err(|e| format!("{} is not a copy: {e}", path.display()))?;
        let position = value["position"].as_i64().ok_or("the copy has no position")?;
        let cases = value["cases"].as_object().map(|m| m.clone().into_iter().collect()).unwrap_or_default();
        Ok(Some(Mirror { position, cases }))
    }

    /// Writes the copy whole: to a new file, synced, renamed over the old.
    fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(&json!({ "position": self.position, "cases": self.cases }))
            .map_err(|e| e.to_string())?;
        let fresh = PathBuf::from(format!("{}.new", path.display()));
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut file = std::fs::File::create(&fresh)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&fresh, path)
        };
        write().map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    fn last_sequence(&self, case_id: &str) -> i64 {
        self.cases.get(case_id).and_then(|c| c["last_event_sequence"].as_i64()).unwrap_or(0)
    }

    fn put(&mut self, case: &pb::Case) {
        let entry = json!({
            "number": case.number,
            "title": case.title,
            "state": case.state().as_str_name(),
            "handling_organization_id": case.handling_organization_id,
            "last_event_sequence": case.last_event_sequence,
        });
        self.cases.insert(case.id.clone(), entry);
    }
}

/// Lists every case the partner may see; the copy reflects the position the
/// first page gave.
async fn list(client: &Client) -> Result<Mirror, petition_sdk::Error> {
    let mut mirror = Mirror::default();
    let mut request = pb::ListCasesRequest { page_size: 200, ..Default::default() };
    let mut first = true;
    loop {
        let page = client.cases().list_cases(request.clone()).await?;
        if first {
            mirror.position = page.feed_position;
            first = false;
        }
        for case in &page.cases {
            mirror.put(case);
        }
        if page.next_page_token.is_empty() {
            return Ok(mirror);
        }
        request.page_token = page.next_page_token;
    }
}

/// Applies one change to the copy.
async fn apply(client: &Client, mirror: &mut Mirror, change: &pb::Change) -> Result<(), petition_sdk::Error> {
    let Some(pb::change::Event::CaseEvent(event)) = &change.event else {
        return Ok(());
    };
    if event.sequence <= mirror.last_sequence(&event.case_id) {
        return Ok(());
    }
    match client.cases().get_case(event.case_id.as_str()).await {
        Ok(case) => {
            println!("{} {} → {}", case.number, event.r#type().as_str_name(), case.state().as_str_name());
            mirror.put(&case);
        }
        // Revoked: no longer ours to keep.
        Err(e) if e.code() == Code::NotFound => {
            if mirror.cases.remove(&event.case_id).is_some() {
                println!("{} access ended; removed from the copy", event.case_id);
            }
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

async fn run(client: &Client, path: &Path) -> Result<(), String> {
    let mut mirror = match Mirror::load(path)? {
        Some(mirror) => {
            println!("resuming after position {} with {} cases", mirror.position, mirror.cases.len());
            mirror
        }
        None => {
            let mirror = list(client).await.map_err(|e| format!("listing: {e}"))?;
            println!("listed {} cases at position {}", mirror.cases.len(), mirror.position);
            mirror.save(path)?;
            mirror
        }
    };
    let mut save_tick = tokio::time::interval(SAVE_EVERY);
    loop {
        let mut watch = client.feed().watch(mirror.position);
        let mut dirty = false;
        loop {
            let item = tokio::select! {
                item = watch.next() => item,
                _ = save_tick.tick() => {
                    if dirty {
                        mirror.save(path)?;
                        dirty = false;
                    }
                    continue;
                }
                _ = tokio::signal::ctrl_c() => {
                    mirror.save(path)?;
                    return Ok(());
                }
            };
            match item {
                Some(Ok(item)) => {
                    if let FeedItem::Change(change) = &item {
                        apply(client, &mut mirror, change).await.map_err(|e| format!("applying a change: {e}"))?;
                    }
                    mirror.position = item.position();
                    dirty = true;
                }
                Some(Err(e)) if e.cursor_expired().is_some() => {
                    println!("the feed no longer serves position {}; listing again", mirror.position);
                    mirror = list(client).await.map_err(|e| format!("listing: {e}"))?;
                    mirror.save(path)?;
                    break;
                }
                Some(Err(e)) => return Err(format!("watching: {e}")),
                None => return Err("the watch ended".into()),
            }
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(path)) = (args.next(), args.next()) else {
        eprintln!("usage: partner_sync URL MIRROR_FILE (credentials in PETITION_CLIENT_ID, PETITION_CLIENT_SECRET)");
        return ExitCode::FAILURE;
    };
    let (Ok(id), Ok(secret)) = (std::env::var("PETITION_CLIENT_ID"), std::env::var("PETITION_CLIENT_SECRET")) else {
        eprintln!("partner_sync: set PETITION_CLIENT_ID and PETITION_CLIENT_SECRET");
        return ExitCode::FAILURE;
    };
    let client = match Client::connect(url).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("partner_sync: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = client.login_with_client_credentials(id, secret, [pb::Scope::CasesRead]).await {
        eprintln!("partner_sync: signing in: {e}");
        return ExitCode::FAILURE;
    }
    match run(&client, Path::new(&path)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("partner_sync: {e}");
            ExitCode::FAILURE
        }
    }
}
