//! `bench metrics`: the city-year dashboard over 1,000,000 cases.
//!
//! Set-up: the demo directory (`seed-demo`), then `--cases` cases (copies of
//! a seeded case, spread over the seeded cases' places) filed over last
//! year and the year before, with their facts bulk loaded the fast way
//! (`case_facts` rows written directly, in the shapes the view computes:
//! 80% accepted, 70% replied, 1% late, a quarter repeats, 4% reviewed) and
//! one rating window per reply (six in seven rated), then
//! `VACUUM (ANALYZE)`.
//!
//! Phases, each with `--callers` callers (8 by default) signed in as the
//! city bureau's leader:
//! 1. `health`: the baseline.
//! 2. `GetMetrics(city, year, CHILD_REGION)`: last year's dashboard by
//!    county. Target: p99 ≤ 200 ms.
//! 3. `GetMetrics(county, year)`: one county's totals.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::Datelike;
use clap::Args;
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};
use petition_sdk::{Client, pb};

use crate::LoadArgs;
use crate::identity::{health_phase, monitor_of};
use crate::phase::{Phase, run_phase};
use crate::report::print_results;
use crate::support::{connect, describe_sdk, exit_status, start_server, stop_server};

#[derive(Args, Debug, Clone)]
pub struct MetricsArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Cases over the two years.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(1..=5_000_000))]
    cases: u32,

    /// Concurrent callers of every phase.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    callers: u32,

    /// Leave the server's database in place afterwards (its name is printed).
    #[arg(long)]
    keep_database: bool,
}

const DASHBOARD_TARGET_MS: f64 = 200.0;

/// Copies a seeded case `n` times over the seeded places and writes their
/// facts and ratings; returns the seconds it took.
fn bulk_load(url: &str, n: u32, year: i32) -> Result<f64> {
    let started = Instant::now();
    let mut conn = PgConnection::establish(url).context("connecting to the bench database")?;
    sql_query(
        "CREATE TEMP TABLE places AS
         SELECT row_number() OVER (ORDER BY region_path) - 1 AS p, region_path, region_code
         FROM (SELECT DISTINCT region_path, region_code FROM cases) d",
    )
    .execute(&mut conn)?;
    sql_query(
        "CREATE TEMP TABLE template AS
         SELECT c.id AS case_id, (SELECT id FROM organizations WHERE kind = 2 ORDER BY id LIMIT 1) AS unit
         FROM cases c ORDER BY c.id LIMIT 1",
    )
    .execute(&mut conn)?;
    sql_query(
        "CREATE TEMP TABLE clones AS
         SELECT i, gen_random_uuid() AS case_id,
                make_timestamptz($2 - 1, 1, 1, 10, 0, 0, 'Asia/Shanghai') + (i % 730) * interval '1 day'
                    + (i % 480) * interval '1 minute' AS filed_at,
                (SELECT count(*) FROM places) AS places
         FROM generate_series(1, $1) i",
    )
    .bind::<diesel::sql_types::Integer, _>(i32::try_from(n)?)
    .bind::<diesel::sql_types::Integer, _>(year)
    .execute(&mut conn)?;
    sql_query("CREATE INDEX ON clones (i)").execute(&mut conn)?;
    sql_query(
        "INSERT INTO cases
         SELECT (jsonb_populate_record(NULL::cases, to_jsonb(c) || jsonb_build_object(
             'id', k.case_id,
             'region_path', pl.region_path,
             'region_code', pl.region_code,
             'created_at', k.filed_at,
             'number', pl.region_code || '-' || extract(year FROM k.filed_at)::int || '-'
                       || lpad((k.i % 1000000)::text, 6, '0')))).*
         FROM template t JOIN cases c ON c.id = t.case_id CROSS JOIN clones k
         JOIN places pl ON pl.p = k.i % k.places
         ON CONFLICT DO NOTHING",
    )
    .execute(&mut conn)?;
    sql_query(
        "INSERT INTO case_facts
         SELECT k.case_id, c.region_path, c.category_code, c.channel, c.kind, c.petitioner_id,
                k.filed_at,
                k.i % 3 = 0,
                CASE WHEN k.i % 4 = 0 THEN (SELECT o.case_id FROM clones o WHERE o.i = k.i - 300) END,
                k.i % 40 = 0,
                NULL,
                k.filed_at + interval '1 day',
                CASE WHEN k.i % 10 < 8 THEN k.filed_at + interval '3 days' END,
                CASE WHEN k.i % 10 < 8 THEN k.i % 50 <> 0 END,
                CASE WHEN k.i % 10 < 8 THEN t.unit END,
                NULL,
                k.i % 20 = 0,
                CASE WHEN k.i % 10 < 7 THEN (k.filed_at + interval '63 days')::date END,
                CASE WHEN k.i % 10 < 7 THEN k.filed_at + interval '33 days' END,
                CASE WHEN k.i % 10 < 7 THEN (k.filed_at + interval '33 days')::date END,
                CASE WHEN k.i % 10 < 7 THEN k.i % 100 <> 0 END,
                CASE WHEN k.i % 10 < 7 AND k.i % 25 = 0 THEN k.filed_at + interval '53 days' END,
                NULL
         FROM clones k JOIN cases c ON c.id = k.case_id CROSS JOIN template t",
    )
    .execute(&mut conn)?;
    sql_query(
        "INSERT INTO ratings (id, case_id, round, region_path, category_code, served_at, rate_by,
                              handling_organization_id, rated_at, acceptance, handling, channel,
                              region_code, case_number, petitioner_id, lifecycle, last_sequence, created_at,
                              updated_at)
         SELECT gen_random_uuid(), f.case_id, 1, f.region_path, f.category_code, f.replied_at,
                (f.replied_at AT TIME ZONE 'Asia/Shanghai')::date + 10, t.unit,
                CASE WHEN k.i % 7 <> 0 THEN f.replied_at + interval '3 days' END,
                CASE WHEN k.i % 7 <> 0 THEN 1 END,
                CASE WHEN k.i % 7 <> 0 THEN 1 + (k.i % 11 = 0)::int + (k.i % 37 = 0)::int END,
                CASE WHEN k.i % 7 <> 0 THEN 1 END,
                c.region_code, c.number, c.petitioner_id, '{}'::jsonb, 1, f.replied_at, f.replied_at
         FROM clones k JOIN case_facts f ON f.case_id = k.case_id JOIN cases c ON c.id = k.case_id
         CROSS JOIN template t
         WHERE f.replied_at IS NOT NULL",
    )
    .execute(&mut conn)?;
    sql_query("VACUUM (ANALYZE) cases, case_facts, ratings").execute(&mut conn)?;
    Ok(started.elapsed().as_secs_f64())
}

async fn dashboard_phase(
    name: &'static str,
    readers: &Arc<Vec<Client>>,
    request: pb::GetMetricsRequest,
    groups: usize,
    load: &LoadArgs,
    monitor: &crate::monitor::CpuMonitor,
) -> Result<Phase> {
    let readers = readers.clone();
    run_phase(name, load.concurrency as usize, load, monitor, move |caller| {
        let client = readers[caller % readers.len()].clone();
        let request = request.clone();
        async move {
            let answer = client.metrics().get_metrics(request).await.map_err(|e| describe_sdk(&e))?;
            let filings = answer
                .total
                .as_ref()
                .and_then(|t| petition_sdk::figure(t, pb::MetricId::Filings))
                .map(|f| f.numerator)
                .unwrap_or(0);
            match answer.groups.len() {
                n if n == groups && filings > 0 => Ok(()),
                n => Err(format!("{n} groups ({groups} expected), {filings} filings")),
            }
        }
    })
    .await
}

pub async fn metrics(args: MetricsArgs) -> Result<ExitCode> {
    let mut load = args.load.clone();
    load.concurrency = args.callers;
    let (server, mut setup) = start_server("metrics", &load, |_| {}).await?;
    let database = server.database.as_ref().context("the server has no harness database")?;
    let database_url = database.url().to_owned();
    let year = chrono::Utc::now().year() - 1;

    eprintln!("preparing: the demo directory and {} cases…", args.cases);
    petition_server::seed::run(&server.state).await?;
    let url = database_url.clone();
    let n = args.cases;
    let seconds = tokio::task::spawn_blocking(move || bulk_load(&url, n, year)).await??;
    setup.lines.push((
        "cases".into(),
        format!(
            "{n} cases over {} and {year} with their facts and one rating window per reply, bulk inserted in \
             {seconds:.1}s, then VACUUM (ANALYZE)",
            year - 1
        ),
    ));

    let anonymous = connect(&server, load.connections as usize).await?;
    let mut readers = Vec::new();
    for client in &anonymous {
        let session = client.new_session();
        session.login("city.leader", petition_server::seed::DEMO_PASSWORD).await?;
        readers.push(session);
    }
    let readers = Arc::new(readers);
    setup.lines.push(("readers".into(), "the city bureau's leader city.leader".into()));
    let monitor = monitor_of(&server).await?;
    setup.print();
    eprintln!("measuring…");
    let year_period = Some(pb::MetricPeriod { period: Some(pb::metric_period::Period::Year(year)) });
    let city = pb::GetMetricsRequest {
        region_code: "360700".into(),
        period: year_period.clone(),
        breakdown: pb::MetricBreakdown::ChildRegion.into(),
        ..Default::default()
    };
    let county = pb::GetMetricsRequest { region_code: "360702".into(), period: year_period, ..Default::default() };
    let mut phases = vec![health_phase(&anonymous, &load, &monitor).await?];
    phases.push(dashboard_phase("GetMetrics(city, year, CHILD_REGION)", &readers, city, 2, &load, &monitor).await?);
    phases.push(dashboard_phase("GetMetrics(county, year)", &readers, county, 0, &load, &monitor).await?);

    drop((anonymous, readers, monitor));
    stop_server(server, args.keep_database).await;
    let notes: Vec<String> = phases
        .iter()
        .filter(|p| p.rpc.starts_with("GetMetrics(city"))
        .map(|p| {
            let p99 = p.quantile_ms(0.99);
            let verdict = if p99 <= DASHBOARD_TARGET_MS { "met" } else { "MISSED" };
            format!("{}: p99 {p99:.2} ms against the target of {DASHBOARD_TARGET_MS:.0} ms: {verdict}", p.rpc)
        })
        .collect();
    print_results(&setup, &phases, &notes);
    if load.json {
        println!("{}", serde_json::Value::Object(setup.json(&phases)));
    }
    Ok(exit_status(&phases))
}
