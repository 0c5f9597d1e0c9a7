//! `petition-server`: parse the configuration, set up logging, run until
//! SIGINT or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use petition_server::app::Application;
use petition_server::config::{Cli, Command, LogFormat};
use petition_server::identity::bootstrap::{BOOTSTRAP_ADMIN_LOGIN, Bootstrap};
use tracing_subscriber::EnvFilter;

fn init_tracing(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
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

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
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
        Command::SeedDemo => match petition_server::seed::run(&app.state()).await {
            Ok(report) => petition_server::seed::print(&report),
            Err(e) => {
                eprintln!("petition-server: seeding failed: {e}");
                return ExitCode::FAILURE;
            }
        },
        Command::ReindexSimilarity { no_wait } => {
            return match petition_server::cases::reindex::run(&app.state().db, !no_wait).await {
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
