//! `petitionctl organizations …`: list, get, create, update, import.
//!
//! CreateOrganization takes no request id and organizations have no unique
//! key, so an import makes a rerun idempotent by reading first: a row whose
//! name, kind and region match a stored organization with the same parent
//! is already in (counted `existing`, nothing sent); one matching a stored
//! organization under another parent fails, naming it. Two imports of the
//! same file at the same moment could both create a row: run one at a time.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Subcommand;
use futures::TryStreamExt;
use petition_sdk::{Client, pb};
use serde::{Deserialize, Serialize};

use crate::enums;
use crate::import::{self, Importer, Job, Outcome};
use crate::output::{self, Format, Record, cells};

#[derive(Subcommand)]
pub enum Command {
    /// Organizations: all, in a region's subtree, or of one kind.
    List {
        #[arg(long, default_value = "")]
        region: String,
        /// PETITION_BUREAU, RESPONSIBLE_UNIT, COURT, LEGAL_AID_CENTRE, …
        #[arg(long, value_parser = enums::parse::<pb::OrganizationKind>)]
        kind: Option<pb::OrganizationKind>,
    },
    /// One organization by id.
    Get { id: String },
    /// Creates an organization (admin).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = enums::parse::<pb::OrganizationKind>)]
        kind: pb::OrganizationKind,
        #[arg(long)]
        region: String,
        /// The parent organization's id.
        #[arg(long, default_value = "")]
        parent: String,
    },
    /// Changes the name or the parent (admin). Without --etag the
    /// organization is read first and changed as read.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// The new parent's id ("" for none).
        #[arg(long)]
        parent: Option<String>,
        #[arg(long)]
        etag: Option<String>,
    },
    /// Organizations from CSV or JSON Lines (name, kind, region_code,
    /// parent_organization_id); a rerun creates nothing twice.
    Import {
        file: PathBuf,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
}

#[derive(Debug, Serialize)]
pub struct OrganizationLine {
    id: String,
    name: String,
    kind: String,
    region_code: String,
    parent_organization_id: String,
    etag: String,
}

impl OrganizationLine {
    fn of(organization: &pb::Organization) -> OrganizationLine {
        OrganizationLine {
            id: organization.id.clone(),
            name: organization.name.clone(),
            kind: enums::name::<pb::OrganizationKind>(organization.kind),
            region_code: organization.region_code.clone(),
            parent_organization_id: organization.parent_organization_id.clone(),
            etag: organization.etag.clone(),
        }
    }
}

impl Record for OrganizationLine {
    const COLUMNS: &'static [&'static str] = &["id", "name", "kind", "region_code", "parent_organization_id", "etag"];
    fn cells(&self) -> Vec<String> {
        cells!(self: id, name, kind, region_code, parent_organization_id, etag)
    }
}

pub async fn run(client: &Client, command: Command, format: Format) -> Result<bool> {
    let directory = client.directory();
    let organizations = match command {
        Command::List { region, kind } => {
            let filter = pb::ListOrganizationsRequest {
                region_code: region,
                kind: kind.map(i32::from).unwrap_or_default(),
                page_size: 500,
                ..Default::default()
            };
            directory.organizations(filter).try_collect().await?
        }
        Command::Get { id } => vec![directory.get_organization(id).await?],
        Command::Create { name, kind, region, parent } => {
            let request = pb::CreateOrganizationRequest {
                name,
                kind: kind.into(),
                region_code: region,
                parent_organization_id: parent,
            };
            vec![directory.create_organization(request).await?]
        }
        Command::Update { id, name, parent, etag } => {
            let mut paths = Vec::new();
            name.is_some().then(|| paths.push("name".to_owned()));
            parent.is_some().then(|| paths.push("parent_organization_id".to_owned()));
            if paths.is_empty() {
                bail!("nothing to change: give --name or --parent");
            }
            let etag = match etag {
                Some(etag) => etag,
                None => directory.get_organization(id.clone()).await?.etag,
            };
            let request = pb::UpdateOrganizationRequest {
                id,
                update_mask: Some(prost_types::FieldMask { paths }),
                name: name.unwrap_or_default(),
                parent_organization_id: parent.unwrap_or_default(),
                etag,
            };
            vec![directory.update_organization(request).await?]
        }
        Command::Import { file, concurrency } => {
            let stored: Vec<pb::Organization> = directory
                .organizations(pb::ListOrganizationsRequest { page_size: 500, ..Default::default() })
                .try_collect()
                .await?;
            let mut by_key: HashMap<Key, Vec<pb::Organization>> = HashMap::new();
            for organization in stored {
                let key = (organization.name.clone(), organization.kind, organization.region_code.clone());
                by_key.entry(key).or_default().push(organization);
            }
            return import::run(client, Organizations { stored: by_key }, &file, concurrency, format).await;
        }
    };
    output::print(format, &organizations.iter().map(OrganizationLine::of).collect::<Vec<_>>())?;
    Ok(true)
}

/// An organization's natural key: name, kind, region.
type Key = (String, i32, String);

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    name: String,
    kind: String,
    region_code: String,
    #[serde(default)]
    parent_organization_id: String,
}

pub enum Call {
    Create(pb::CreateOrganizationRequest),
    /// Stored already as the row says.
    Existing,
}

/// The organizations stored when the import began, by natural key.
struct Organizations {
    stored: HashMap<Key, Vec<pb::Organization>>,
}

impl Organizations {
    fn call(&self, key: &Key, row: &Row) -> Result<Call, String> {
        let Some(stored) = self.stored.get(key) else {
            return Ok(Call::Create(pb::CreateOrganizationRequest {
                name: key.0.clone(),
                kind: key.1,
                region_code: key.2.clone(),
                parent_organization_id: row.parent_organization_id.clone(),
            }));
        };
        if stored.iter().any(|o| o.parent_organization_id == row.parent_organization_id) {
            return Ok(Call::Existing);
        }
        let ids: Vec<String> =
            stored.iter().map(|o| format!("{} (parent {:?})", o.id, o.parent_organization_id)).collect();
        Err(format!("column parent_organization_id: {:?} exists as {} under another parent", key.0, ids.join(", ")))
    }
}

impl Importer for Organizations {
    type Row = Row;
    type Call = Call;
    const COLUMNS: &'static [&'static str] = &["name", "kind", "region_code", "parent_organization_id"];
    const REQUIRED: usize = 3;

    fn plan(&self, rows: Vec<(usize, Row)>) -> Vec<Job<Call>> {
        let mut jobs: Vec<Job<Call>> = Vec::new();
        // The rows naming one organization share its job.
        let mut first: HashMap<Key, (usize, usize, String)> = HashMap::new();
        for (number, row) in rows {
            let kind = match enums::parse::<pb::OrganizationKind>(&row.kind) {
                Ok(kind) => i32::from(kind),
                Err(e) => {
                    jobs.push(Job::one(number, Err(format!("column kind: {e}"))));
                    continue;
                }
            };
            let key = (row.name.trim().to_owned(), kind, row.region_code.trim().to_owned());
            match first.get(&key) {
                Some((job, _, parent)) if *parent == row.parent_organization_id => jobs[*job].rows.push(number),
                Some((_, earlier, _)) => jobs.push(Job::one(
                    number,
                    Err(format!(
                        "column parent_organization_id: row {earlier} names this organization with another parent"
                    )),
                )),
                None => {
                    first.insert(key.clone(), (jobs.len(), number, row.parent_organization_id.clone()));
                    jobs.push(Job::one(number, self.call(&key, &row)));
                }
            }
        }
        jobs
    }

    async fn send(&self, client: Client, call: Call) -> Result<Outcome, String> {
        match call {
            Call::Existing => Ok(Outcome::Existing),
            Call::Create(request) => client
                .directory()
                .create_organization(request)
                .await
                .map(|_| Outcome::Imported)
                .map_err(|e| import::refusal(&e)),
        }
    }
}
