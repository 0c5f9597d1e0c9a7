//! `petitionctl cases import FILE`: one case a row. A row's request id is
//! its own `request_id` column or is derived from the row (its fields, and
//! which repeat of an identical row it is), so a rerun after a crash or a
//! kill creates nothing twice: the server answers a replayed request with
//! the case it created. A row with `petitioner_account_id` is registered by
//! staff (RegisterCase, with its `channel`); one without is filed by the
//! signed-in citizen (SubmitCase).

use std::collections::HashMap;

use petition_sdk::{Client, pb};
use serde::{Deserialize, Serialize};

use crate::enums;
use crate::import::{self, Importer, Job, Outcome};

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

pub enum Call {
    Submit(pb::SubmitCaseRequest),
    Register(pb::RegisterCaseRequest),
}

fn column<E: enums::Short>(column: &str, value: &str) -> Result<E, String> {
    enums::parse::<E>(value).map_err(|e| format!("column {column}: {e}"))
}

impl Row {
    fn call(&self, request_id: String) -> Result<Call, String> {
        let draft = pb::CaseDraft {
            kind: column::<pb::CaseKind>("kind", &self.kind)?.into(),
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
        let channel = column::<pb::CaseChannel>("channel", &self.channel)?;
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
        import::fingerprint([
            self.kind.as_str(),
            &self.category_code,
            &self.region_code,
            &self.title,
            &self.content,
            &self.requests,
            &self.facts_and_reasons,
            &self.channel,
            &self.petitioner_account_id,
        ])
    }
}

pub struct Cases;

impl Importer for Cases {
    type Row = Row;
    type Call = Call;
    const COLUMNS: &'static [&'static str] = &[
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
    const REQUIRED: usize = 5;

    fn plan(&self, rows: Vec<(usize, Row)>) -> Vec<Job<Call>> {
        // Identical rows are distinct cases: the second gets another id.
        let mut seen: HashMap<String, usize> = HashMap::new();
        rows.into_iter()
            .map(|(number, row)| {
                let request_id = if row.request_id.is_empty() {
                    let fingerprint = row.fingerprint();
                    let repeat = seen.entry(fingerprint.clone()).or_insert(0);
                    *repeat += 1;
                    format!("import-{}-{}", &fingerprint[..32], repeat)
                } else {
                    row.request_id.clone()
                };
                Job::one(number, row.call(request_id))
            })
            .collect()
    }

    async fn send(&self, client: Client, call: Call) -> Result<Outcome, String> {
        let answer = match call {
            Call::Submit(request) => client.cases().submit_case(request).await.map(drop),
            Call::Register(request) => client.cases().register_case(request).await.map(drop),
        };
        answer.map(|()| Outcome::Imported).map_err(|e| import::refusal(&e))
    }
}
