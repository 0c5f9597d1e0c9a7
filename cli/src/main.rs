//! `petitionctl`: the command line for staff scripts and operators, on the
//! SDK. Sign in once (`login`), then read, walk cases through their life,
//! administer the directory and the calendar, import and export; `--output
//! json|jsonl|csv` for scripts. Exit codes scripts can test: 0 done; 1 an
//! import with failed rows; 2 bad usage; 3 NOT_FOUND; 4 not signed in or
//! not allowed; 5 refused (INVALID_ARGUMENT, FAILED_PRECONDITION,
//! ALREADY_EXISTS, OUT_OF_RANGE, ABORTED); 6 try again later (UNAVAILABLE,
//! DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED); 7 a local error (a file, the
//! session); 8 any other server error. The error and its reason go to
//! stderr.

mod calendar;
mod cases;
mod directory;
mod enums;
mod export;
mod feed;
mod import;
mod json;
mod output;
mod progress;
mod session;
mod state_file;

use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};
use petition_sdk::pb;
use petition_sdk::tonic::Code;

use crate::output::Format;

#[derive(Parser)]
#[command(name = "petitionctl", version, about = "The petition platform from the command line")]
struct Cli {
    /// The server's URL.
    #[arg(long, global = true, env = "PETITION_SERVER", default_value = "http://127.0.0.1:50051")]
    server: String,
    /// How results are printed.
    #[arg(long, short, global = true, value_enum, default_value = "table")]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Signs in and keeps the session (0600, in the user's config directory).
    Login {
        /// A staff login name or a citizen's phone number.
        #[arg(long)]
        user: String,
        /// Reads the password from standard input (else $PETITIONCTL_PASSWORD).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Signs out on the server and forgets the session.
    Logout,
    /// The signed-in account.
    Whoami,
    /// Cases: list, get, events, similar, import, export, and every transition.
    Cases {
        #[command(subcommand)]
        command: cases::Command,
    },
    /// Regions of the directory: list, get, create.
    Regions {
        #[command(subcommand)]
        command: directory::RegionsCommand,
    },
    /// Organizations: list, get, create, update, import.
    #[command(visible_alias = "orgs")]
    Organizations {
        #[command(subcommand)]
        command: directory::organizations::Command,
    },
    /// Staff accounts: list, get, create, disable, enable, import.
    Staff {
        #[command(subcommand)]
        command: directory::staff::Command,
    },
    /// The workday calendar: get, set, import, deadline.
    Calendar {
        #[command(subcommand)]
        command: calendar::Command,
    },
    /// The change feed.
    Feed {
        #[command(subcommand)]
        command: FeedCommand,
    },
    /// Prints a shell completion script.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum FeedCommand {
    /// Changes to CSV or JSON Lines, resumable from a position.
    Export(feed::ExportArgs),
}

#[derive(serde::Serialize)]
struct Me {
    id: String,
    display_name: String,
    roles: String,
}

impl output::Record for Me {
    const COLUMNS: &'static [&'static str] = &["id", "display_name", "roles"];
    fn cells(&self) -> Vec<String> {
        vec![self.id.clone(), self.display_name.clone(), self.roles.clone()]
    }
}

fn me(account: &pb::Account) -> Me {
    let roles = enums::names::<pb::Role>(&account.roles);
    Me { id: account.id.clone(), display_name: account.display_name.clone(), roles }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let format = cli.output;
    match cli.command {
        Command::Login { user, password_stdin } => {
            let password = session::password(password_stdin, "PETITIONCTL_PASSWORD")?;
            let account = session::login(&cli.server, &user, &password).await?;
            output::print(format, &[me(&account)])?;
        }
        Command::Logout => session::logout().await?,
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "petitionctl", &mut std::io::stdout());
        }
        Command::Whoami => {
            let session = session::Session::open(&cli.server).await?;
            let account = session.client.identity().get_me().await;
            // Kept whatever the call did: a renewal may have rotated the pair.
            session.close()?;
            output::print(format, &[me(&account?)])?;
        }
        command => {
            let session = session::Session::open(&cli.server).await?;
            let client = &session.client;
            let complete = match command {
                Command::Cases { command } => cases::run(client, command, format).await,
                Command::Regions { command } => directory::regions(client, command, format).await.map(|()| true),
                Command::Organizations { command } => directory::organizations::run(client, command, format).await,
                Command::Staff { command } => directory::staff::run(client, command, format).await,
                Command::Calendar { command } => calendar::run(client, command, format).await,
                Command::Feed { command: FeedCommand::Export(args) } => {
                    feed::export(client, args, format).await.map(|()| true)
                }
                Command::Login { .. } | Command::Logout | Command::Whoami | Command::Completion { .. } => Ok(true),
            };
            // Kept whatever the command did: a renewal may have rotated the pair.
            session.close()?;
            if !complete? {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The exit code of a failure (see the crate's doc).
fn exit_code(error: &anyhow::Error) -> u8 {
    let Some(sdk) = error.downcast_ref::<petition_sdk::Error>() else { return 7 };
    match sdk.code() {
        Code::NotFound => 3,
        Code::Unauthenticated | Code::PermissionDenied => 4,
        Code::InvalidArgument | Code::FailedPrecondition | Code::AlreadyExists | Code::OutOfRange | Code::Aborted => 5,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => 6,
        _ => 8,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            match error.downcast_ref::<petition_sdk::Error>() {
                Some(sdk) => {
                    let reason = sdk.reason().map(|r| format!(" {r}")).unwrap_or_default();
                    eprintln!("petitionctl: {:?}{reason}: {}", sdk.code(), sdk.message());
                    for violation in sdk.field_violations() {
                        eprintln!("  {}: {}", violation.field, violation.description);
                    }
                }
                None => eprintln!("petitionctl: {error:#}"),
            }
            ExitCode::from(exit_code(&error))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
