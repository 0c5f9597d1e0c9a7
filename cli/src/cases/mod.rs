//! `petitionctl cases …`: list with the typed filters, get, events,
//! similar cases, import, export, and the transitions (transition.rs).

mod import;
mod transition;

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};
use futures::TryStreamExt;
use petition_sdk::{Client, pb};
use serde::Serialize;

use crate::enums;
use crate::export::{self, Export};
use crate::output::{self, Format, Record, cells};

#[derive(Subcommand)]
pub enum Command {
    /// Cases newest first, as the caller may see them.
    List {
        #[command(flatten)]
        filter: Filter,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Continue from a page token (printed on stderr when --limit cut the list).
        #[arg(long, default_value = "")]
        page_token: String,
    },
    /// One case, by id or number.
    Get { case: String },
    /// A case's timeline, oldest first; `detail` is the event as protobuf JSON.
    Events { case: String },
    /// Cases similar to a case, or to a text (--text), best first. Staff only.
    Similar {
        /// A case id or number (or give --text).
        #[arg(required_unless_present = "text")]
        case: Option<String>,
        #[arg(long, conflicts_with = "case")]
        text: Option<String>,
        /// Cues for a text: where the matter arose, its category.
        #[arg(long, default_value = "")]
        region: String,
        #[arg(long, default_value = "")]
        category: String,
        /// At most this many (the server's maximum is 50).
        #[arg(long, default_value_t = 10)]
        limit: i32,
    },
    /// Cases from CSV or JSON Lines, each row once however often it runs.
    Import {
        file: PathBuf,
        /// Calls at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// The list to a CSV or JSON Lines file (- for stdout), resumable: a
    /// rerun continues where the last one stopped (<FILE>.position).
    Export {
        file: PathBuf,
        #[command(flatten)]
        filter: Filter,
        /// Start from this page token (the file is started afresh).
        #[arg(long)]
        page_token: Option<String>,
        /// Cases a page.
        #[arg(long, default_value_t = 500)]
        page_size: i32,
        /// Stop after this many pages; a rerun continues.
        #[arg(long)]
        max_pages: Option<usize>,
    },
    #[command(flatten)]
    Transition(transition::Command),
}

/// The typed filters of ListCases.
#[derive(Args)]
pub struct Filter {
    /// Only cases in these states (ACCEPTED, REPLIED, …); repeatable.
    #[arg(long = "state", value_parser = enums::parse::<pb::CaseState>)]
    states: Vec<pb::CaseState>,
    /// Only cases on these tracks (URGENT, SIMPLE, NORMAL); repeatable.
    #[arg(long = "track", value_parser = enums::parse::<pb::CaseTrack>)]
    tracks: Vec<pb::CaseTrack>,
    /// Only this kind (SUGGESTION, ACCUSATION, CLAIM).
    #[arg(long, value_parser = enums::parse::<pb::CaseKind>)]
    kind: Option<pb::CaseKind>,
    #[arg(long, default_value = "")]
    category: String,
    /// Only cases arising in this region's subtree.
    #[arg(long, default_value = "")]
    region: String,
    /// Only cases handled by this organization.
    #[arg(long, default_value = "")]
    handling_organization: String,
    /// Only cases past their binding deadline.
    #[arg(long)]
    overdue: bool,
    /// Only cases whose handling deadline was extended.
    #[arg(long)]
    extended: bool,
    /// Only group visits.
    #[arg(long)]
    group_visit: bool,
    /// Only escalated filings (越级).
    #[arg(long)]
    escalated: bool,
    /// Filed at or after this time (RFC 3339, e.g. 2026-01-01T00:00:00+08:00).
    #[arg(long, value_parser = parse_time)]
    created_after: Option<prost_types::Timestamp>,
    /// Filed before this time.
    #[arg(long, value_parser = parse_time)]
    created_before: Option<prost_types::Timestamp>,
    /// Changed at or after this time.
    #[arg(long, value_parser = parse_time)]
    updated_after: Option<prost_types::Timestamp>,
    /// Changed before this time.
    #[arg(long, value_parser = parse_time)]
    updated_before: Option<prost_types::Timestamp>,
    /// Only repeats linked to this case (an id).
    #[arg(long, default_value = "")]
    repeat_of: String,
    /// Only cases merged into this case (an id).
    #[arg(long, default_value = "")]
    merged_into: String,
    /// Only cases found related to this case (an id).
    #[arg(long, default_value = "")]
    related_to: String,
    /// Only the cases this leader owns (包案).
    #[arg(long, default_value = "")]
    owning_leader: String,
    /// Only the cases the signed-in leader owns.
    #[arg(long)]
    owned_by_me: bool,
}

fn parse_time(text: &str) -> Result<prost_types::Timestamp, String> {
    text.parse().map_err(|_| format!("{text:?} is not an RFC 3339 time (2026-01-01T00:00:00+08:00)"))
}

impl Filter {
    fn request(&self) -> pb::ListCasesRequest {
        let range = |start: &Option<prost_types::Timestamp>, end: &Option<prost_types::Timestamp>| {
            (start.is_some() || end.is_some()).then_some(pb::TimeRange { start_time: *start, end_time: *end })
        };
        pb::ListCasesRequest {
            states: self.states.iter().map(|s| i32::from(*s)).collect(),
            tracks: self.tracks.iter().map(|t| i32::from(*t)).collect(),
            kind: self.kind.map(i32::from).unwrap_or_default(),
            category_code: self.category.clone(),
            region_code: self.region.clone(),
            handling_organization_id: self.handling_organization.clone(),
            overdue_only: self.overdue,
            extended_only: self.extended,
            group_visit_only: self.group_visit,
            escalated_only: self.escalated,
            create_time: range(&self.created_after, &self.created_before),
            update_time: range(&self.updated_after, &self.updated_before),
            repeat_of_case_id: self.repeat_of.clone(),
            merged_into_case_id: self.merged_into.clone(),
            related_to_case_id: self.related_to.clone(),
            owning_leader_id: self.owning_leader.clone(),
            owned_by_me: self.owned_by_me,
            ..Default::default()
        }
    }
}

/// A case as the list screen and scripts see it.
#[derive(Debug, Serialize)]
pub struct CaseLine {
    pub id: String,
    pub number: String,
    pub state: String,
    pub kind: String,
    pub category_code: String,
    pub region_code: String,
    pub due_date: String,
    pub overdue: bool,
    pub title: String,
    pub etag: String,
}

impl CaseLine {
    pub fn of(case: &pb::Case) -> CaseLine {
        CaseLine {
            id: case.id.clone(),
            number: case.number.clone(),
            state: enums::name::<pb::CaseState>(case.state),
            kind: enums::name::<pb::CaseKind>(case.kind),
            category_code: case.category_code.clone(),
            region_code: case.region_code.clone(),
            due_date: case.due_date.clone(),
            overdue: case.overdue,
            title: case.title.clone(),
            etag: case.etag.clone(),
        }
    }
}

impl Record for CaseLine {
    const COLUMNS: &'static [&'static str] =
        &["id", "number", "state", "kind", "category_code", "region_code", "due_date", "overdue", "title", "etag"];

    fn cells(&self) -> Vec<String> {
        cells!(self: id, number, state, kind, category_code, region_code, due_date, overdue, title, etag)
    }
}

/// One entry of a case's timeline.
#[derive(Debug, Serialize)]
pub struct EventLine {
    pub case_id: String,
    pub sequence: i64,
    pub r#type: String,
    pub time: String,
    pub actor_account_id: String,
    pub state: String,
    /// The event's own fields (`{"accepted": {…}}`), as protobuf JSON.
    pub detail: serde_json::Value,
}

impl EventLine {
    pub fn of(event: &pb::CaseEvent) -> Result<EventLine> {
        let mut detail = crate::json::to_json(event, "CaseEvent")?;
        if let Some(object) = detail.as_object_mut() {
            for common in ["sequence", "type", "actor_account_id", "time", "state", "case_id"] {
                object.remove(common);
            }
        }
        Ok(EventLine {
            case_id: event.case_id.clone(),
            sequence: event.sequence,
            r#type: enums::name::<pb::CaseEventType>(event.r#type),
            time: output::time(event.time.as_ref()),
            actor_account_id: event.actor_account_id.clone(),
            state: enums::name::<pb::CaseState>(event.state),
            detail,
        })
    }
}

impl Record for EventLine {
    const COLUMNS: &'static [&'static str] =
        &["case_id", "sequence", "type", "time", "actor_account_id", "state", "detail"];

    fn cells(&self) -> Vec<String> {
        cells!(self: case_id, sequence, r#type, time, actor_account_id, state, detail)
    }
}

/// A similar case, with why it matched.
#[derive(Debug, Serialize)]
struct SimilarLine {
    score: f32,
    content_score: f32,
    repeat: bool,
    related: bool,
    id: String,
    number: String,
    state: String,
    title: String,
    shared: String,
}

impl SimilarLine {
    fn of(similar: &pb::SimilarCase) -> SimilarLine {
        let case = similar.case.clone().unwrap_or_default();
        let reason = similar.reason.clone().unwrap_or_default();
        let mut shared = reason.shared_specifics.clone();
        for (same, what) in [
            (reason.same_petitioner, "petitioner"),
            (reason.same_region, "region"),
            (reason.same_category, "category"),
            (reason.same_respondent, "respondent"),
        ] {
            if same {
                shared.push(what.to_owned());
            }
        }
        SimilarLine {
            score: similar.score,
            content_score: similar.content_score,
            repeat: similar.repeat,
            related: similar.related,
            id: case.id,
            number: case.number,
            state: enums::name::<pb::CaseState>(case.state),
            title: case.title,
            shared: shared.join(", "),
        }
    }
}

impl Record for SimilarLine {
    const COLUMNS: &'static [&'static str] =
        &["score", "content_score", "repeat", "related", "id", "number", "state", "title", "shared"];

    fn cells(&self) -> Vec<String> {
        let (score, content) = (format!("{:.3}", self.score), format!("{:.3}", self.content_score));
        let mut cells = vec![score, content];
        cells.extend(cells!(self: repeat, related, id, number, state, title, shared));
        cells
    }
}

/// The id of the case named by id or number (a number costs one GetCase).
pub async fn resolve(client: &Client, case: &str) -> Result<String> {
    if uuid::Uuid::parse_str(case).is_ok() {
        return Ok(case.to_owned());
    }
    Ok(client.cases().get_case(case).await?.id)
}

/// Runs `command`; whether it did all it was asked (an import's failed rows).
pub async fn run(client: &Client, command: Command, format: Format) -> Result<bool> {
    match command {
        Command::List { filter, limit, page_token } => {
            list(client, filter.request(), limit, page_token, format).await?
        }
        Command::Get { case } => output::print(format, &[CaseLine::of(&client.cases().get_case(case).await?)])?,
        Command::Events { case } => {
            let id = resolve(client, &case).await?;
            let events: Vec<pb::CaseEvent> = client.cases().case_events(id).try_collect().await?;
            let lines = events.iter().map(EventLine::of).collect::<Result<Vec<_>>>()?;
            output::print(format, &lines)?;
        }
        Command::Similar { case, text, region, category, limit } => {
            let query = match (case, text) {
                (Some(case), _) => pb::find_similar_cases_request::Query::CaseId(case),
                (None, text) => pb::find_similar_cases_request::Query::Text(text.unwrap_or_default()),
            };
            let request = pb::FindSimilarCasesRequest {
                query: Some(query),
                region_code: region,
                category_code: category,
                page_size: limit,
                ..Default::default()
            };
            let matches = client.cases().find_similar_cases(request).await?;
            output::print(format, &matches.iter().map(SimilarLine::of).collect::<Vec<_>>())?;
        }
        Command::Import { file, concurrency } => {
            return crate::import::run(client, import::Cases, &file, concurrency, format).await;
        }
        Command::Export { file, filter, page_token, page_size, max_pages } => {
            export(client, &file, filter.request(), page_token, page_size, max_pages, format).await?;
        }
        Command::Transition(command) => transition::run(client, command, format).await?,
    }
    Ok(true)
}

/// Up to `limit` cases, newest first, page by page.
async fn list(
    client: &Client,
    filter: pb::ListCasesRequest,
    limit: usize,
    mut page_token: String,
    format: Format,
) -> Result<()> {
    let mut lines = Vec::new();
    while lines.len() < limit {
        let request = pb::ListCasesRequest {
            page_size: i32::try_from((limit - lines.len()).min(500)).unwrap_or(500),
            page_token: page_token.clone(),
            ..filter.clone()
        };
        let page = client.cases().list_cases(request).await?;
        lines.extend(page.cases.iter().map(CaseLine::of));
        page_token = page.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    output::print(format, &lines)?;
    if !page_token.is_empty() {
        eprintln!("more: --page-token {page_token}");
    }
    Ok(())
}

/// The list to `path`, page by page, resumable.
async fn export(
    client: &Client,
    path: &Path,
    filter: pb::ListCasesRequest,
    start: Option<String>,
    page_size: i32,
    max_pages: Option<usize>,
    format: Format,
) -> Result<()> {
    let what = format!("cases export {}", crate::import::fingerprint([format!("{filter:?}").as_str()]));
    let mut export = Export::open(path, format, &what, start)?;
    let mut pages = 0;
    let complete = loop {
        if max_pages.is_some_and(|max| pages >= max) {
            break false;
        }
        let request = pb::ListCasesRequest { page_size, page_token: export.position().to_owned(), ..filter.clone() };
        let page = client.cases().list_cases(request).await?;
        let lines: Vec<CaseLine> = page.cases.iter().map(CaseLine::of).collect();
        let end = page.next_page_token.is_empty();
        export.page(&lines, page.next_page_token)?;
        pages += 1;
        if end {
            break true;
        }
    };
    export::report(&export.finish(complete)?, format)
}
