//! The `petition-server` command: parse the configuration, set up logging,
//! run until SIGINT or SIGTERM. The binary is this module's [`main`]; the
//! test harness builds the same command as a binary of its own, to run the
//! server as a process it can kill.

use std::process::ExitCode;

use crate::app::Application;
use crate::config::{Cli, Command, LogFormat};
use crate::identity::bootstrap::{BOOTSTRAP_ADMIN_LOGIN, Bootstrap};
use clap::Parser;
use tracing_subscriber::EnvFilter;

fn init_tracing(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only for a person at a terminal: escape codes in a log file
    // or a collector are noise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Runs the command with the process's arguments and environment.
pub fn main() -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run(Cli::parse())),
        Err(e) => {
            eprintln!("petition-server: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> ExitCode {
    init_tracing(cli.config.log_format, &cli.config.log_filter);
    let command = cli.command.unwrap_or(Command::Serve);
    let app = match Application::build(cli.config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            eprintln!("petition-server: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Bootstrap::Generated(password) = app.bootstrap() {
        // Printed once, to the terminal only, never logged.
        eprintln!(
            "\n  First start: created the admin account.\n    login:    {BOOTSTRAP_ADMIN_LOGIN}\n    password: {password}\n  This password is shown only now.\n"
        );
    }
    match command {
        Command::Migrate => return ExitCode::SUCCESS,
        Command::SeedDemo => match crate::seed::run(&app.state()).await {
            Ok(report) => crate::seed::print(&report),
            Err(e) => {
                eprintln!("petition-server: seeding failed: {e}");
                return ExitCode::FAILURE;
            }
        },
        Command::ReindexSimilarity { no_wait } => {
            return match crate::cases::reindex::run(&app.state().db, !no_wait).await {
                Ok(r) => {
                    eprintln!(
                        "petition-server: similarity statistics version {} from {} cases ({} common items); {} cases re-keyed in {:.1} s",
                        r.version,
                        r.documents,
                        r.common_items,
                        r.rekeyed,
                        r.elapsed.as_secs_f64()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("petition-server: reindex failed: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Serve => {}
    }
    match app.run_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}
