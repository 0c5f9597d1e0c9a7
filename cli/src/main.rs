//! `petitionctl`: the command line for staff scripts and operators, on the
//! SDK. Sign in once (`login`), then list, get and import; `--output
//! json|jsonl|csv` for scripts. Exit codes scripts can test: 0 done; 1 an
//! import with failed rows; 2 bad usage; 3 NOT_FOUND; 4 not signed in or
//! not allowed; 5 refused as invalid (INVALID_ARGUMENT,
//! FAILED_PRECONDITION, ALREADY_EXISTS, OUT_OF_RANGE); 6 try again later
//! (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED); 7 a local error (a
//! file, the session); 8 any other server error. The error and its reason
//! go to stderr.

mod cases;
mod import;
mod output;
mod session;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
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
    /// Cases: list, get, import.
    Cases {
        #[command(subcommand)]
        command: CasesCommand,
    },
    /// Prints a shell completion script.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum CasesCommand {
    /// Cases newest first, as the caller may see them.
    List {
        /// Only cases in these states (ACCEPTED, REPLIED, …); repeatable.
        #[arg(long = "state", value_parser = cases::parse_state)]
        states: Vec<pb::CaseState>,
        /// Only the cases the signed-in leader owns.
        #[arg(long)]
        owned_by_me: bool,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One case, by id or number.
    Get { id: String },
    /// Cases from CSV or JSON Lines, each row once however often it runs.
    Import {
        file: PathBuf,
        /// Calls at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
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
    let roles = account
        .roles
        .iter()
        .map(|r| pb::Role::try_from(*r).map(|r| r.as_str_name().trim_start_matches("ROLE_")).unwrap_or("?"))
        .collect::<Vec<_>>()
        .join(",");
    Me { id: account.id.clone(), display_name: account.display_name.clone(), roles }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let format = cli.output;
    match cli.command {
        Command::Login { user, password_stdin } => {
            let password = if password_stdin {
                let mut password = String::new();
                std::io::stdin().read_to_string(&mut password).context("reading the password")?;
                password.trim_end_matches(['\r', '\n']).to_owned()
            } else {
                std::env::var("PETITIONCTL_PASSWORD")
                    .context("give the password on standard input (--password-stdin) or in $PETITIONCTL_PASSWORD")?
            };
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
        Command::Cases { command } => {
            let session = session::Session::open(&cli.server).await?;
            let client = &session.client;
            let complete = match command {
                CasesCommand::List { states, owned_by_me, limit } => {
                    cases::list(client, &states, owned_by_me, limit, format).await.map(|()| true)
                }
                CasesCommand::Get { id } => cases::get(client, &id, format).await.map(|()| true),
                CasesCommand::Import { file, concurrency } => import::import(client, &file, concurrency, format).await,
            };
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
        Code::InvalidArgument | Code::FailedPrecondition | Code::AlreadyExists | Code::OutOfRange => 5,
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
