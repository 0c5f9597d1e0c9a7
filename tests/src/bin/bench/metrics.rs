//! `bench metrics`: the city-year dashboard over 1,000,000 cases.
//!
//! Set-up: the demo directory (`seed-demo`), 16 more counties of 16
//! townships each (18 counties, about 260 townships: a city's shape),
//! then `--cases` cases (copies of a seeded case, spread over the
//! townships, every category, five channels and the seeded units) filed
//! over last year and the year before, with their events written into the
//! log as the server writes them: 80% routed and accepted (2% after the
//! limit), 70% replied (1% late, 5% extended), a quarter repeats of an
//! earlier case (one in ten of them escalated), 4% asking for review; and
//! one rating window per reply (six in seven rated). The server's
//! follower is held off during the load, then counts the whole log anew
//! (timed), then `VACUUM (ANALYZE)`.
//!
//! Phases, each with `--callers` callers signed in as the city bureau's
//! leader:
//! 1. `health`: the baseline.
//! 2. `GetMetrics(city, year, CHILD_REGION)`: last year's dashboard by
//!    county, now. Target: p99 ≤ 200 ms.
//! 3. `GetMetrics(city, year, CATEGORY)`.
//! 4. `GetMetrics(county, year)`: one county's totals.
//! 5. `GetMetrics(city, year, as of yesterday)`: counted from the cases'
//!    facts instead of the days, with one caller (no target).

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

/// Counties and townships added to the seeded city.
const COUNTIES: i32 = 16;
const TOWNSHIPS_PER_COUNTY: i32 = 16;
/// Cases whose events one transaction writes: at most 7 events each, and
/// 3.6 on average, under the 32,768 a transaction may record.
const CASES_PER_TRANSACTION: i32 = 7_000;

/// Adds the counties and townships, copies a seeded case `n` times over
/// them with their events, and writes the ratings rows; returns the
/// seconds it took. The caller holds the follower off.
fn bulk_load(url: &str, n: u32, year: i32) -> Result<f64> {
    let started = Instant::now();
    let mut conn = PgConnection::establish(url).context("connecting to the bench database")?;
    sql_query(
        "INSERT INTO regions (code, name, level, parent_code, path)
         SELECT code, '县' || k, 2, '360700', '360700/' || code
         FROM generate_series(1, $1) k, LATERAL (SELECT (360740 + k)::text AS code) c
         ON CONFLICT DO NOTHING",
    )
    .bind::<diesel::sql_types::Integer, _>(COUNTIES)
    .execute(&mut conn)?;
    sql_query(
        "INSERT INTO regions (code, name, level, parent_code, path)
         SELECT r.code || (200 + t)::text, '镇' || t, 3, r.code, r.path || '/' || r.code || (200 + t)::text
         FROM regions r, generate_series(1, $1) t
         WHERE r.level = 2 AND r.parent_code = '360700'
         ON CONFLICT DO NOTHING",
    )
    .bind::<diesel::sql_types::Integer, _>(TOWNSHIPS_PER_COUNTY)
    .execute(&mut conn)?;
    sql_query(
        "CREATE TEMP TABLE places AS
         SELECT row_number() OVER (ORDER BY path) - 1 AS p, path AS region_path, code AS region_code
         FROM regions WHERE level = 3 AND path LIKE '360700/%'",
    )
    .execute(&mut conn)?;
    sql_query("CREATE TEMP TABLE kinds AS SELECT row_number() OVER (ORDER BY code) - 1 AS k, code FROM categories")
        .execute(&mut conn)?;
    sql_query(
        "CREATE TEMP TABLE units AS SELECT row_number() OVER (ORDER BY id) - 1 AS u, id FROM organizations WHERE kind = 2",
    )
    .execute(&mut conn)?;
    sql_query(
        "CREATE TEMP TABLE clones AS
         SELECT i, gen_random_uuid() AS case_id,
                make_timestamptz($2 - 1, 1, 1, 10, 0, 0, 'Asia/Shanghai') + (i % 730) * interval '1 day'
                    + (i % 480) * interval '1 minute' AS filed_at,
                (SELECT region_path FROM places WHERE p = i % (SELECT count(*) FROM places)) AS region_path,
                (SELECT region_code FROM places WHERE p = i % (SELECT count(*) FROM places)) AS region_code,
                (SELECT code FROM kinds WHERE k = i % (SELECT count(*) FROM kinds)) AS category_code,
                1 + i % 5 AS channel,
                (SELECT id FROM units WHERE u = i % (SELECT count(*) FROM units)) AS unit
         FROM generate_series(1, $1) i",
    )
    .bind::<diesel::sql_types::Integer, _>(i32::try_from(n)?)
    .bind::<diesel::sql_types::Integer, _>(year)
    .execute(&mut conn)?;
    sql_query("CREATE UNIQUE INDEX ON clones (i)").execute(&mut conn)?;
    sql_query("ANALYZE clones").execute(&mut conn)?;
    sql_query(
        "INSERT INTO cases
         SELECT (jsonb_populate_record(NULL::cases, to_jsonb(c) || jsonb_build_object(
             'id', k.case_id,
             'region_path', k.region_path,
             'region_code', k.region_code,
             'category_code', k.category_code,
             'channel', k.channel,
             'handling_organization_id', CASE WHEN k.i % 10 < 8 THEN k.unit END,
             'created_at', k.filed_at,
             'number', k.region_code || '-' || extract(year FROM k.filed_at)::int || '-'
                       || lpad((k.i % 1000000)::text, 6, '0')))).*
         FROM (SELECT * FROM cases ORDER BY id LIMIT 1) c CROSS JOIN clones k
         ON CONFLICT DO NOTHING",
    )
    .execute(&mut conn)?;
    // The events, as the case service writes them (payloads as in
    // tests/src/metrics_world.rs), a transaction at a time.
    let day = |shift: &str| format!("((k.filed_at + interval '{shift}') AT TIME ZONE 'Asia/Shanghai')::date");
    let events = format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, occurred_at, state, payload, idx)
         SELECT 1, e.case_id, row_number() OVER (PARTITION BY e.case_id ORDER BY e.ord), e.event_type, e.at, 1,
                e.payload, (row_number() OVER (ORDER BY e.case_id, e.ord) - 1)::smallint
         FROM (
             SELECT k.case_id, 1 AS ord, 1::smallint AS event_type, k.filed_at AS at,
                    jsonb_build_object('type', 'registered', 'registered_on', {filed}) AS payload
             FROM clones k WHERE k.i >= $1 AND k.i < $2
             UNION ALL
             SELECT k.case_id, 2, 19::smallint, k.filed_at,
                    jsonb_build_object('type', 'repeat_linked', 'of', o.case_id, 'escalated', k.i % 40 = 0,
                                       'score_permille', 900)
             FROM clones k JOIN clones o ON o.i = k.i - 300 WHERE k.i >= $1 AND k.i < $2 AND k.i % 4 = 0
             UNION ALL
             SELECT k.case_id, 3, 4::smallint, k.filed_at + interval '1 day',
                    jsonb_build_object('type', 'routed', 'organization_id', k.unit,
                                       'accept_by', CASE WHEN k.i % 50 = 0 THEN {late} ELSE {accept_by} END)
             FROM clones k WHERE k.i >= $1 AND k.i < $2 AND k.i % 10 < 8
             UNION ALL
             SELECT k.case_id, 4, 6::smallint, k.filed_at + interval '3 days',
                    jsonb_build_object('type', 'accepted', 'accepted_on', {accepted}, 'reply_by', {reply_by})
             FROM clones k WHERE k.i >= $1 AND k.i < $2 AND k.i % 10 < 8
             UNION ALL
             SELECT k.case_id, 5, 9::smallint, k.filed_at + interval '20 days',
                    jsonb_build_object('type', 'deadline_extended', 'days', 30, 'reply_by', {extended})
             FROM clones k WHERE k.i >= $1 AND k.i < $2 AND k.i % 20 = 0
             UNION ALL
             SELECT k.case_id, 6, 10::smallint, k.filed_at + CASE WHEN k.i % 100 = 1 THEN interval '70 days'
                                                                 ELSE interval '33 days' END,
                    jsonb_build_object('type', 'replied', 'opinion', jsonb_build_object(
                        'served_at', k.filed_at + CASE WHEN k.i % 100 = 1 THEN interval '70 days'
                                                       ELSE interval '33 days' END - interval '1 hour'))
             FROM clones k WHERE k.i >= $1 AND k.i < $2 AND k.i % 10 < 7
             UNION ALL
             SELECT k.case_id, 7, 12::smallint, k.filed_at + interval '53 days',
                    jsonb_build_object('type', 'review_requested')
             FROM clones k WHERE k.i >= $1 AND k.i < $2 AND k.i % 10 < 7 AND k.i % 25 = 0
         ) e",
        filed = day("0 days"),
        late = day("2 days"),
        accept_by = day("16 days"),
        accepted = day("3 days"),
        reply_by = day("63 days"),
        extended = day("93 days"),
    );
    let total = i32::try_from(n)?;
    let mut from = 1;
    while from <= total {
        let to = from + CASES_PER_TRANSACTION;
        sql_query(&events)
            .bind::<diesel::sql_types::Integer, _>(from)
            .bind::<diesel::sql_types::Integer, _>(to)
            .execute(&mut conn)
            .with_context(|| format!("writing the events of cases {from} to {to}"))?;
        from = to;
    }
    sql_query(
        "INSERT INTO ratings (id, case_id, round, region_path, category_code, served_at, rate_by,
                              handling_organization_id, rated_at, acceptance, handling, channel,
                              region_code, case_number, petitioner_id, lifecycle, last_sequence, created_at,
                              updated_at)
         SELECT gen_random_uuid(), k.case_id, 1, k.region_path, k.category_code, r.served_at,
                (r.served_at AT TIME ZONE 'Asia/Shanghai')::date + 28, k.unit,
                CASE WHEN k.i % 7 <> 0 THEN r.served_at + interval '3 days' END,
                CASE WHEN k.i % 7 <> 0 THEN 1 END,
                CASE WHEN k.i % 7 <> 0 THEN 1 + (k.i % 11 = 0)::int + (k.i % 37 = 0)::int END,
                CASE WHEN k.i % 7 <> 0 THEN 1 END,
                k.region_code, c.number, c.petitioner_id, '{}'::jsonb, 1, r.served_at, r.served_at
         FROM clones k JOIN cases c ON c.id = k.case_id
         CROSS JOIN LATERAL (SELECT k.filed_at + CASE WHEN k.i % 100 = 1 THEN interval '70 days'
                                                      ELSE interval '33 days' END - interval '1 hour' AS served_at) r
         WHERE k.i % 10 < 7",
    )
    .execute(&mut conn)?;
    sql_query("VACUUM (ANALYZE) cases, events, ratings").execute(&mut conn)?;
    Ok(started.elapsed().as_secs_f64())
}

/// Holds the follower's lock (it skips its turns) while `load` runs, then
/// asks for a count anew from the log and waits for it; returns the
/// seconds the load and the count took.
fn load_then_recount(url: &str, load: impl FnOnce() -> Result<f64>) -> Result<(f64, f64)> {
    let lock = petition_server::metrics::projection::TURN_LOCK;
    let mut holder = PgConnection::establish(url).context("connecting to the bench database")?;
    sql_query("SELECT pg_advisory_lock($1)").bind::<diesel::sql_types::BigInt, _>(lock).execute(&mut holder)?;
    let loaded = load()?;
    sql_query("UPDATE metrics_state SET layout = ''").execute(&mut holder)?;
    sql_query("SELECT pg_advisory_unlock($1)").bind::<diesel::sql_types::BigInt, _>(lock).execute(&mut holder)?;
    let started = Instant::now();
    #[derive(diesel::QueryableByName)]
    struct Built {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        built: bool,
    }
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let state: Built = sql_query("SELECT layout <> '' AS built FROM metrics_state").get_result(&mut holder)?;
        if state.built {
            break;
        }
        anyhow::ensure!(started.elapsed().as_secs() < 3_600, "the server did not count the log within an hour");
    }
    let counted = started.elapsed().as_secs_f64();
    sql_query("VACUUM (ANALYZE) case_facts, rating_facts, metric_days").execute(&mut holder)?;
    Ok((loaded, counted))
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
    let (seconds, counted) =
        tokio::task::spawn_blocking(move || load_then_recount(&url, || bulk_load(&url, n, year))).await??;
    setup.lines.push((
        "cases".into(),
        format!(
            "{n} cases over {} and {year} in 18 counties, with their events and one rating window per reply, \
             bulk inserted in {seconds:.1}s",
            year - 1
        ),
    ));
    setup.lines.push((
        "metrics".into(),
        format!("the server counted the whole log anew in {counted:.1}s, then VACUUM (ANALYZE)"),
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
    let by_category = pb::GetMetricsRequest { breakdown: pb::MetricBreakdown::Category.into(), ..city.clone() };
    let county =
        pb::GetMetricsRequest { region_code: "360702".into(), period: year_period.clone(), ..Default::default() };
    let yesterday = petition_server::time::shanghai_today() - chrono::Duration::days(1);
    let as_of = pb::GetMetricsRequest { as_of_date: yesterday.to_string(), ..city.clone() };
    let categories = {
        let mut conn = PgConnection::establish(&database_url)?;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        sql_query("SELECT count(*) AS n FROM categories").get_result::<Count>(&mut conn)?.n as usize
    };
    let mut phases = vec![health_phase(&anonymous, &load, &monitor).await?];
    phases.push(dashboard_phase("GetMetrics(city, year, CHILD_REGION)", &readers, city, 18, &load, &monitor).await?);
    phases.push(
        dashboard_phase("GetMetrics(city, year, CATEGORY)", &readers, by_category, categories, &load, &monitor).await?,
    );
    phases.push(dashboard_phase("GetMetrics(county, year)", &readers, county, 0, &load, &monitor).await?);
    let one = LoadArgs { concurrency: 1, ..load.clone() };
    phases.push(dashboard_phase("GetMetrics(city, year, as of yesterday)", &readers, as_of, 18, &one, &monitor).await?);

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
