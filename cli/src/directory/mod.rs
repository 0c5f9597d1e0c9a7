//! `petitionctl regions|organizations|staff …`: the directory
//! (DirectoryService) and staff accounts (IdentityService). Reads are open
//! to staff; writes are admin-only.

pub mod organizations;
pub mod staff;

use anyhow::Result;
use clap::Subcommand;
use futures::TryStreamExt;
use petition_sdk::{Client, pb};
use serde::Serialize;

use crate::enums;
use crate::output::{self, Format, Record, cells};

#[derive(Subcommand)]
pub enum RegionsCommand {
    /// Regions ordered by code: all, the children of one, or one level.
    List {
        /// Only the direct children of this region.
        #[arg(long, default_value = "")]
        parent: String,
        /// Only this level (CITY, COUNTY, TOWNSHIP, VILLAGE).
        #[arg(long, value_parser = enums::parse::<pb::RegionLevel>)]
        level: Option<pb::RegionLevel>,
    },
    /// One region by code.
    Get { code: String },
    /// Creates a region (admin); its code extends its parent's.
    Create {
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = enums::parse::<pb::RegionLevel>)]
        level: pb::RegionLevel,
        /// Required for every level but the city.
        #[arg(long, default_value = "")]
        parent: String,
    },
}

#[derive(Debug, Serialize)]
struct RegionLine {
    code: String,
    name: String,
    level: String,
    parent_code: String,
}

impl RegionLine {
    fn of(region: &pb::Region) -> RegionLine {
        RegionLine {
            code: region.code.clone(),
            name: region.name.clone(),
            level: enums::name::<pb::RegionLevel>(region.level),
            parent_code: region.parent_code.clone(),
        }
    }
}

impl Record for RegionLine {
    const COLUMNS: &'static [&'static str] = &["code", "name", "level", "parent_code"];
    fn cells(&self) -> Vec<String> {
        cells!(self: code, name, level, parent_code)
    }
}

pub async fn regions(client: &Client, command: RegionsCommand, format: Format) -> Result<()> {
    let directory = client.directory();
    let regions = match command {
        RegionsCommand::List { parent, level } => {
            let filter = pb::ListRegionsRequest {
                parent_code: parent,
                level: level.map(i32::from).unwrap_or_default(),
                page_size: 500,
                ..Default::default()
            };
            directory.regions(filter).try_collect().await?
        }
        RegionsCommand::Get { code } => vec![directory.get_region(code).await?],
        RegionsCommand::Create { code, name, level, parent } => {
            let request = pb::CreateRegionRequest { code, name, level: level.into(), parent_code: parent };
            vec![directory.create_region(request).await?]
        }
    };
    output::print(format, &regions.iter().map(RegionLine::of).collect::<Vec<_>>())
}
