//! `petitionctl feed export FILE`: the change feed (ListChanges) to CSV or
//! JSON Lines, page after page until caught up. The position after the
//! last change written is kept in `<FILE>.position`, so a rerun appends
//! what happened since, each change once; `--after POSITION` starts the
//! file afresh after that position. The summary says the position.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use petition_sdk::{Client, pb};
use serde::Serialize;

use crate::enums;
use crate::export::{self, Export};
use crate::output::{self, Format, Record, cells};

#[derive(Args)]
pub struct ExportArgs {
    /// A .csv or .jsonl file, or - for stdout.
    file: PathBuf,
    /// Start after this position (0: the oldest kept); the file is started afresh.
    #[arg(long)]
    after: Option<i64>,
    /// Only these resource types (CASE, DISPUTE, …); repeatable.
    #[arg(long = "type", value_parser = enums::parse::<pb::AggregateType>)]
    types: Vec<pb::AggregateType>,
    /// Only case events of these types (ACCEPTED, REPLIED, …); repeatable.
    #[arg(long = "case-event", value_parser = enums::parse::<pb::CaseEventType>)]
    case_events: Vec<pb::CaseEventType>,
    /// Only resources in this region's subtree.
    #[arg(long, default_value = "")]
    region: String,
    /// Stop after this many changes; a rerun continues.
    #[arg(long)]
    limit: Option<u64>,
    /// Changes a page (the server's maximum is 5,000).
    #[arg(long, default_value_t = 1000)]
    page_size: i32,
}

/// One change: where it is, what it belongs to, and the event as protobuf JSON.
#[derive(Debug, Serialize)]
struct ChangeLine {
    position: i64,
    aggregate_type: String,
    aggregate_id: String,
    commit_time: String,
    event_type: String,
    event: serde_json::Value,
}

impl ChangeLine {
    fn of(change: &pb::Change) -> Result<ChangeLine> {
        let json = crate::json::to_json(change, "Change")?;
        // The one field of the `event` oneof, whatever its resource.
        let event = json
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.ends_with("_event")).map(|(_, v)| v.clone()))
            .unwrap_or_default();
        Ok(ChangeLine {
            position: change.position,
            aggregate_type: enums::name::<pb::AggregateType>(change.aggregate_type),
            aggregate_id: change.aggregate_id.clone(),
            commit_time: output::time(change.commit_time.as_ref()),
            event_type: event["type"].as_str().unwrap_or_default().to_owned(),
            event,
        })
    }
}

impl Record for ChangeLine {
    const COLUMNS: &'static [&'static str] =
        &["position", "aggregate_type", "aggregate_id", "commit_time", "event_type", "event"];
    fn cells(&self) -> Vec<String> {
        cells!(self: position, aggregate_type, aggregate_id, commit_time, event_type, event)
    }
}

pub async fn export(client: &Client, args: ExportArgs, format: Format) -> Result<()> {
    let filter = pb::ChangeFilter {
        aggregate_types: args.types.iter().map(|t| i32::from(*t)).collect(),
        case_event_types: args.case_events.iter().map(|t| i32::from(*t)).collect(),
        region_code: args.region.clone(),
        ..Default::default()
    };
    let what = format!("feed export {}", crate::import::fingerprint([format!("{filter:?}").as_str()]));
    let mut export = Export::open(&args.file, format, &what, args.after.map(|p| p.to_string()))?;
    let mut left = args.limit.unwrap_or(u64::MAX);
    while left > 0 {
        let after = if export.position().is_empty() { 0 } else { export.position().parse()? };
        let request =
            pb::ListChangesRequest { after_position: after, page_size: args.page_size, filter: Some(filter.clone()) };
        let page = client.feed().list_changes(request).await?;
        let taken = page.changes.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let lines = page.changes[..taken].iter().map(ChangeLine::of).collect::<Result<Vec<_>>>()?;
        // Cut short: resume after the last change written, not the page's end.
        let next = if taken < page.changes.len() { page.changes[taken - 1].position } else { page.next_position };
        left -= taken as u64;
        export.page(&lines, next.to_string())?;
        if page.caught_up && taken == page.changes.len() {
            break;
        }
    }
    export::report(&export.finish(false)?, format)
}
