//! `petitionctl staff …`: list, get, create, disable, enable, import.
//!
//! CreateStaffAccount takes no request id; login names are unique, so a
//! rerun of an import meets ALREADY_EXISTS for the rows already in. Such a
//! row counts as `existing` only when the stored account is the row's:
//! same organization, display name, roles and phone (the password cannot be
//! compared and is left as it is); otherwise it fails, naming what differs.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use futures::TryStreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use serde::{Deserialize, Serialize};

use crate::enums;
use crate::import::{self, Importer, Job, Outcome};
use crate::output::{self, Format, Record, cells};

#[derive(Subcommand)]
pub enum Command {
    /// Staff in the caller's jurisdiction (all for admins).
    List {
        #[arg(long, default_value = "")]
        organization: String,
        #[arg(long, value_parser = enums::parse::<pb::Role>)]
        role: Option<pb::Role>,
    },
    /// Any account by id (admin).
    Get { id: String },
    /// Creates a staff account (admin); the password from standard input
    /// (--password-stdin) or $PETITIONCTL_NEW_PASSWORD.
    Create {
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        organization: String,
        /// CLERK, HANDLER, UNIT_LEAD, LEADER, SUPERVISOR, MEDIATOR, LAWYER, ADMIN; repeatable.
        #[arg(long = "role", required = true, value_parser = enums::parse::<pb::Role>)]
        roles: Vec<pb::Role>,
        #[arg(long, default_value = "")]
        phone: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disables an account: it cannot sign in, its tokens are revoked (admin).
    Disable { id: String },
    /// Enables a disabled account (admin).
    Enable { id: String },
    /// Staff accounts from CSV or JSON Lines (login_name, display_name,
    /// password, organization_id, roles, phone); a rerun creates nothing twice.
    Import {
        file: PathBuf,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
}

#[derive(Debug, Serialize)]
struct AccountLine {
    id: String,
    login_name: String,
    display_name: String,
    organization_id: String,
    roles: String,
    phone: String,
    disabled: bool,
}

impl AccountLine {
    fn of(account: &pb::Account) -> AccountLine {
        AccountLine {
            id: account.id.clone(),
            login_name: account.login_name.clone(),
            display_name: account.display_name.clone(),
            organization_id: account.organization_id.clone(),
            roles: enums::names::<pb::Role>(&account.roles),
            phone: account.phone.clone(),
            disabled: account.disabled,
        }
    }
}

impl Record for AccountLine {
    const COLUMNS: &'static [&'static str] =
        &["id", "login_name", "display_name", "organization_id", "roles", "phone", "disabled"];
    fn cells(&self) -> Vec<String> {
        cells!(self: id, login_name, display_name, organization_id, roles, phone, disabled)
    }
}

#[derive(Debug, Serialize)]
struct StaffLine {
    account_id: String,
    display_name: String,
    organization_id: String,
    roles: String,
    disabled: bool,
}

impl Record for StaffLine {
    const COLUMNS: &'static [&'static str] = &["account_id", "display_name", "organization_id", "roles", "disabled"];
    fn cells(&self) -> Vec<String> {
        cells!(self: account_id, display_name, organization_id, roles, disabled)
    }
}

pub async fn run(client: &Client, command: Command, format: Format) -> Result<bool> {
    let identity = client.identity();
    let account = match command {
        Command::List { organization, role } => {
            let filter = pb::ListStaffRequest {
                organization_id: organization,
                role: role.map(i32::from).unwrap_or_default(),
                page_size: 500,
                ..Default::default()
            };
            let staff: Vec<pb::StaffMember> = client.directory().staff(filter).try_collect().await?;
            let lines: Vec<StaffLine> = staff
                .into_iter()
                .map(|s| StaffLine {
                    roles: enums::names::<pb::Role>(&s.roles),
                    account_id: s.account_id,
                    display_name: s.display_name,
                    organization_id: s.organization_id,
                    disabled: s.disabled,
                })
                .collect();
            output::print(format, &lines)?;
            return Ok(true);
        }
        Command::Get { id } => identity.get_account(id).await?,
        Command::Create { login, name, organization, roles, phone, password_stdin } => {
            let password = crate::session::password(password_stdin, "PETITIONCTL_NEW_PASSWORD")?;
            let request = pb::CreateStaffAccountRequest {
                login_name: login,
                display_name: name,
                password,
                roles: roles.into_iter().map(i32::from).collect(),
                organization_id: organization,
                phone,
            };
            identity.create_staff_account(request).await?
        }
        Command::Disable { id } => identity.set_account_disabled(id, true).await?,
        Command::Enable { id } => identity.set_account_disabled(id, false).await?,
        Command::Import { file, concurrency } => return import::run(client, Staff, &file, concurrency, format).await,
    };
    output::print(format, &[AccountLine::of(&account)])?;
    Ok(true)
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    login_name: String,
    display_name: String,
    password: String,
    organization_id: String,
    /// Separated by `,`, `;` or spaces.
    roles: String,
    #[serde(default)]
    phone: String,
}

struct Staff;

impl Importer for Staff {
    type Row = Row;
    type Call = pb::CreateStaffAccountRequest;
    const COLUMNS: &'static [&'static str] =
        &["login_name", "display_name", "password", "organization_id", "roles", "phone"];
    const REQUIRED: usize = 5;

    fn plan(&self, rows: Vec<(usize, Row)>) -> Vec<Job<Self::Call>> {
        let mut jobs: Vec<Job<Self::Call>> = Vec::new();
        // A login name twice: one account, if the rows agree.
        let mut first: HashMap<String, (usize, usize, Row)> = HashMap::new();
        for (number, row) in rows {
            if let Some((job, earlier, seen)) = first.get(&row.login_name) {
                if *seen == row {
                    jobs[*job].rows.push(number);
                } else {
                    let error = format!("column login_name: row {earlier} has this login name with other fields");
                    jobs.push(Job::one(number, Err(error)));
                }
                continue;
            }
            let call =
                enums::parse_list::<pb::Role>(&row.roles).map_err(|e| format!("column roles: {e}")).map(|roles| {
                    pb::CreateStaffAccountRequest {
                        login_name: row.login_name.clone(),
                        display_name: row.display_name.clone(),
                        password: row.password.clone(),
                        roles: roles.into_iter().map(i32::from).collect(),
                        organization_id: row.organization_id.clone(),
                        phone: row.phone.clone(),
                    }
                });
            first.insert(row.login_name.clone(), (jobs.len(), number, row));
            jobs.push(Job::one(number, call));
        }
        jobs
    }

    async fn send(&self, client: Client, request: Self::Call) -> Result<Outcome, String> {
        match client.identity().create_staff_account(request.clone()).await {
            Ok(_) => Ok(Outcome::Imported),
            Err(e) if e.code() == Code::AlreadyExists => same_as_stored(&client, &request).await,
            Err(e) => Err(import::refusal(&e)),
        }
    }

    fn failed_record(row: &Row) -> serde_json::Value {
        let mut record = serde_json::to_value(row).unwrap_or_default();
        record["password"] = "(left out)".into();
        record
    }
}

/// After ALREADY_EXISTS: whether the account holding the login name is the
/// row's, looked for among the staff of the row's organization.
async fn same_as_stored(client: &Client, row: &pb::CreateStaffAccountRequest) -> Result<Outcome, String> {
    let failed = |e: petition_sdk::Error| format!("looking for the stored account: {}", import::refusal(&e));
    let filter =
        pb::ListStaffRequest { organization_id: row.organization_id.clone(), page_size: 500, ..Default::default() };
    let mut members: Vec<pb::StaffMember> = client.directory().staff(filter).try_collect().await.map_err(failed)?;
    // The likeliest first.
    members.sort_by_key(|m| m.display_name != row.display_name);
    for member in members {
        let account = client.identity().get_account(member.account_id).await.map_err(failed)?;
        if account.login_name != row.login_name {
            continue;
        }
        let mut differs = Vec::new();
        if account.display_name != row.display_name {
            differs.push(format!("display_name {:?}", account.display_name));
        }
        let (mut stored, mut wanted) = (account.roles.clone(), row.roles.clone());
        stored.sort_unstable();
        wanted.sort_unstable();
        if stored != wanted {
            differs.push(format!("roles {}", enums::names::<pb::Role>(&account.roles)));
        }
        if account.phone != row.phone {
            differs.push(format!("phone {:?}", account.phone));
        }
        if differs.is_empty() {
            return Ok(Outcome::Existing);
        }
        return Err(format!("login name {:?} exists as {} with {}", row.login_name, account.id, differs.join(", ")));
    }
    Err(format!("login name {:?} is taken by an account outside organization {}", row.login_name, row.organization_id))
}
