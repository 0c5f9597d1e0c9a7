//! `petitionctl cases …`: list and get.

use anyhow::Result;
use petition_sdk::{Client, pb};
use serde::Serialize;

use crate::output::{self, Format, Record};

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
}

impl CaseLine {
    pub fn of(case: &pb::Case) -> CaseLine {
        let state = pb::CaseState::try_from(case.state).map(|s| s.as_str_name()).unwrap_or("UNKNOWN");
        let kind = pb::CaseKind::try_from(case.kind).map(|k| k.as_str_name()).unwrap_or("UNKNOWN");
        CaseLine {
            id: case.id.clone(),
            number: case.number.clone(),
            state: state.trim_start_matches("CASE_STATE_").to_owned(),
            kind: kind.trim_start_matches("CASE_KIND_").to_owned(),
            category_code: case.category_code.clone(),
            region_code: case.region_code.clone(),
            due_date: case.due_date.clone(),
            overdue: case.overdue,
            title: case.title.clone(),
        }
    }
}

impl Record for CaseLine {
    const COLUMNS: &'static [&'static str] =
        &["id", "number", "state", "kind", "category_code", "region_code", "due_date", "overdue", "title"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.number.clone(),
            self.state.clone(),
            self.kind.clone(),
            self.category_code.clone(),
            self.region_code.clone(),
            self.due_date.clone(),
            self.overdue.to_string(),
            self.title.clone(),
        ]
    }
}

/// The states named on the command line (`ACCEPTED` or `CASE_STATE_ACCEPTED`).
pub fn parse_state(name: &str) -> Result<pb::CaseState, String> {
    let upper = name.to_uppercase();
    let full = if upper.starts_with("CASE_STATE_") { upper } else { format!("CASE_STATE_{upper}") };
    pb::CaseState::from_str_name(&full).ok_or_else(|| format!("no case state {name:?}"))
}

/// Up to `limit` cases, newest first, page by page.
pub async fn list(
    client: &Client,
    states: &[pb::CaseState],
    owned_by_me: bool,
    limit: usize,
    format: Format,
) -> Result<()> {
    let mut lines = Vec::new();
    let mut page_token = String::new();
    while lines.len() < limit {
        let request = pb::ListCasesRequest {
            states: states.iter().map(|s| i32::from(*s)).collect(),
            owned_by_me,
            page_size: i32::try_from((limit - lines.len()).min(100)).unwrap_or(100),
            page_token: page_token.clone(),
            ..Default::default()
        };
        let page = client.cases().list_cases(request).await?;
        lines.extend(page.cases.iter().map(CaseLine::of));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    output::print(format, &lines)
}

pub async fn get(client: &Client, id: &str, format: Format) -> Result<()> {
    let case = client.cases().get_case(id).await?;
    output::print(format, &[CaseLine::of(&case)])
}
