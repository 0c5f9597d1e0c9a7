//! `bench import`: `petitionctl cases import` of a CSV of `--rows` random
//! cases (default 100,000) by one citizen, as an operator would run it (the
//! release binary next to this one: `cargo build --release -p petition-cli`).
//! Reports rows/s, and the server's own SubmitCase rate during it from its
//! metrics endpoint (`petition_rpc_calls_total`), beside a SubmitCase phase
//! through the SDK with as many callers as the import's `--concurrency`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use petition_sdk::{new_request_id, pb};
use petition_tests::CaseWorld;

use crate::LoadArgs;
use crate::cases::REGIONS;
use crate::identity::monitor_of;
use crate::phase::run_phase;
use crate::report::print_results;
use crate::support::{Rng, describe_sdk, exit_status, start_server, stop_server};
use crate::text;

#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Rows in the CSV.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=5_000_000))]
    rows: u32,

    /// petitionctl's calls at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    import_concurrency: u32,
}

/// The server's count of SubmitCase calls answered OK, from its endpoint.
async fn submitted(metrics_url: &str) -> Result<f64> {
    let (_, _, text) = petition_tests::scrape::get(metrics_url).await?;
    let labels = [r#"method="/petition.v1.CaseService/SubmitCase""#, r#"code="OK""#];
    Ok(petition_tests::scrape::sample(&text, "petition_rpc_calls_total", &labels).unwrap_or(0.0))
}

fn kind_name(kind: i32) -> &'static str {
    pb::CaseKind::try_from(kind).map(|k| k.as_str_name().trim_start_matches("CASE_KIND_")).unwrap_or("CLAIM")
}

pub async fn import(args: ImportArgs) -> Result<ExitCode> {
    let ctl = std::env::current_exe()?.with_file_name("petitionctl");
    if !ctl.exists() {
        bail!("{} is not built: cargo build --release -p petition-cli", ctl.display());
    }
    let load = args.load.clone();
    let (server, mut setup) = start_server("import", &load, |config| {
        config.intake.daily_filing_limit = 0;
        config.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"));
    })
    .await?;
    let metrics_url = server.metrics_url.clone().context("the metrics endpoint")?;
    let world = CaseWorld::create(&server).await?;
    let dir = std::env::temp_dir().join(format!("bench-import-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let file: PathBuf = dir.join("cases.csv");
    {
        let mut writer = csv::Writer::from_path(&file)?;
        writer.write_record([
            "kind",
            "category_code",
            "region_code",
            "title",
            "content",
            "requests",
            "facts_and_reasons",
        ])?;
        let mut rng = Rng::fresh();
        for _ in 0..args.rows {
            let d = text::draft(&mut rng, &REGIONS);
            writer.write_record([
                kind_name(d.kind),
                &d.category_code,
                &d.region_code,
                &d.title,
                &d.content,
                &d.requests,
                &d.facts_and_reasons,
            ])?;
        }
        writer.flush()?;
    }
    let bytes = std::fs::metadata(&file)?.len();
    setup.lines.push(("file".into(), format!("{} rows, {:.1} MB of CSV", args.rows, bytes as f64 / 1e6)));
    let (phone, password) = world.owner_login.clone();
    let config_dir = dir.join("config");
    let ctl_command = |args: &[&str]| {
        let mut command = tokio::process::Command::new(&ctl);
        command.args(["--server", &server.url]).args(args).env("PETITIONCTL_CONFIG_DIR", &config_dir);
        command
    };
    let login = ctl_command(&["login", "--user", &phone]).env("PETITIONCTL_PASSWORD", &password).output().await?;
    ensure!(login.status.success(), "petitionctl login: {}", String::from_utf8_lossy(&login.stderr));
    setup.print();

    eprintln!("importing {} rows with petitionctl ({} at once)…", args.rows, args.import_concurrency);
    let before = submitted(&metrics_url).await?;
    let started = Instant::now();
    let concurrency = args.import_concurrency.to_string();
    let run = ctl_command(&[
        "--output",
        "json",
        "cases",
        "import",
        file.to_str().context("a path")?,
        "--concurrency",
        &concurrency,
    ])
    .stderr(std::process::Stdio::null())
    .output()
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let after = submitted(&metrics_url).await?;
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).context("the import's summary")?;
    let imported = summary[0]["imported"].as_u64().unwrap_or(0);
    let failed = summary[0]["failed"].as_u64().unwrap_or(0);

    // The same calls through the SDK, as many at once.
    let monitor = monitor_of(&server).await?;
    let owner = world.owner.clone();
    let mut phase_load = load.clone();
    phase_load.concurrency = args.import_concurrency;
    let phase =
        run_phase("SubmitCase through the SDK", args.import_concurrency as usize, &phase_load, &monitor, move |_| {
            let client = owner.clone();
            let draft = text::draft(&mut Rng::fresh(), &REGIONS);
            let request = pb::SubmitCaseRequest { draft: Some(draft), request_id: new_request_id() };
            async move { client.cases().submit_case(request).await.map(|_| ()).map_err(|e| describe_sdk(&e)) }
        })
        .await?;
    let sdk_rate = phase.throughput();
    let phases = vec![phase];
    drop((world, monitor));
    stop_server(server, false).await;
    std::fs::remove_dir_all(&dir)?;

    let rows_per_second = imported as f64 / seconds;
    let server_rate = (after - before) / seconds;
    let notes = vec![
        format!(
            "petitionctl import: {imported} rows imported, {failed} failed, in {seconds:.1} s = {rows_per_second:.0} rows/s \
             ({} at once)",
            args.import_concurrency
        ),
        format!(
            "the server's SubmitCase rate during it (its metrics endpoint): {server_rate:.0}/s; through the SDK with as \
             many callers: {sdk_rate:.0}/s ({:.0}%)",
            100.0 * server_rate / sdk_rate
        ),
    ];
    print_results(&setup, &phases, &notes);
    if load.json {
        let mut json = setup.json(&phases);
        json.insert("import_rows_per_second".into(), rows_per_second.into());
        json.insert("server_submit_rate".into(), server_rate.into());
        println!("{}", serde_json::Value::Object(json));
    }
    if failed > 0 || !run.status.success() {
        return Ok(ExitCode::FAILURE);
    }
    Ok(exit_status(&phases))
}
