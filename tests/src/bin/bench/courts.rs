//! `bench courts`: court linkage (诉访分离) for a court with 100,000
//! referrals.
//!
//! Set-up: the demo directory (`seed-demo`: 于都县人民法院 and its partner
//! `svc-yd-court`, whose seeded referrals give the row and event shapes),
//! then `--referrals` referrals of as many cases to that court, bulk
//! inserted the fast way (cases cloned from a seeded one, referrals spread
//! over the six states, one REFERRED event each in the events log, in
//! transactions of at most 30,000 events), `VACUUM (ANALYZE)`.
//!
//! Phases, each with `--callers` callers (8 by default) signed in as the
//! court's partner account:
//! 1. `health`: the baseline.
//! 2. `ListCourtReferrals(court)`: the first page (50) of the court's
//!    referrals. Target: p99 ≤ 20 ms.
//! 3. `ListCourtReferrals(court, FILED)`: with a state filter.
//! 4. `ListCourtReferrals(court, awaiting)`: the in-tray
//!    (awaiting_acknowledgment).
//! 5. `ListCourtReferrals(court) page 2`: the second page (a keyset cursor).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};
use petition_sdk::{Client, pb};

use crate::LoadArgs;
use crate::identity::{health_phase, monitor_of};
use crate::phase::{Phase, run_phase};
use crate::report::print_results;
use crate::support::{connect, describe_sdk, exit_status, start_server, stop_server};

#[derive(Args, Debug, Clone)]
pub struct CourtsArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Referrals to the court.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=2_000_000))]
    referrals: u32,

    /// Concurrent callers of every phase.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    callers: u32,

    /// Leave the server's database in place afterwards (its name is printed).
    #[arg(long)]
    keep_database: bool,
}

const PAGE_SIZE: i32 = 50;
const LIST_TARGET_MS: f64 = 20.0;
/// Events one bulk transaction writes (an event's place in its transaction
/// is a SMALLINT).
const EVENTS_PER_TRANSACTION: u32 = 30_000;

/// Clones `n` cases of the seeded referral's case and refers each to the
/// same court, with its REFERRED event; returns the seconds it took.
fn bulk_load(url: &str, n: u32) -> Result<f64> {
    let started = Instant::now();
    let mut conn = PgConnection::establish(url).context("connecting to the bench database")?;
    // The seeded 于都 referral in REFERRED is the template: its case, row and event.
    sql_query(
        "CREATE TEMP TABLE template AS
         SELECT r.id AS referral_id, r.case_id, r.court_organization_id
         FROM court_referrals r
         JOIN accounts a ON a.login_name = 'svc-yd-court' AND a.organization_id = r.court_organization_id
         WHERE r.state = 1 LIMIT 1",
    )
    .execute(&mut conn)?;
    sql_query(
        "CREATE TEMP TABLE clones AS
         SELECT i, gen_random_uuid() AS case_id, gen_random_uuid() AS referral_id
         FROM generate_series(1, $1) i",
    )
    .bind::<diesel::sql_types::Integer, _>(i32::try_from(n)?)
    .execute(&mut conn)?;
    sql_query(
        "INSERT INTO cases
         SELECT (jsonb_populate_record(NULL::cases, to_jsonb(c) || jsonb_build_object(
             'id', k.case_id,
             'number', c.region_code || '-2026-' || lpad((500000 + k.i)::text, 6, '0')))).*
         FROM template t JOIN cases c ON c.id = t.case_id CROSS JOIN clones k",
    )
    .execute(&mut conn)?;
    sql_query(
        "INSERT INTO court_referrals
         SELECT (jsonb_populate_record(NULL::court_referrals, to_jsonb(r) || jsonb_build_object(
             'id', k.referral_id,
             'case_id', k.case_id,
             'state', 1 + k.i % 6,
             'lifecycle', jsonb_set(r.lifecycle, '{state}', to_jsonb((ARRAY['REFERRED', 'ACKNOWLEDGED', 'FILED',
                 'CONCLUDED', 'RETURNED', 'WITHDRAWN'])[1 + k.i % 6]))))).*
         FROM template t JOIN court_referrals r ON r.id = t.referral_id CROSS JOIN clones k",
    )
    .execute(&mut conn)?;
    let mut from = 1;
    while from <= n {
        let to = (from + EVENTS_PER_TRANSACTION - 1).min(n);
        sql_query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, actor_id, occurred_at, state,
                                 payload, idx)
             SELECT 4, k.referral_id, 1, 1, e.actor_id, e.occurred_at, 1,
                    jsonb_set(e.payload, '{case_id}', to_jsonb(k.case_id::text)), (k.i - $1)::smallint
             FROM template t JOIN events e ON e.aggregate_id = t.referral_id AND e.sequence = 1
             CROSS JOIN clones k WHERE k.i BETWEEN $1 AND $2",
        )
        .bind::<diesel::sql_types::Integer, _>(i32::try_from(from)?)
        .bind::<diesel::sql_types::Integer, _>(i32::try_from(to)?)
        .execute(&mut conn)?;
        from = to + 1;
    }
    sql_query("VACUUM (ANALYZE) cases, court_referrals, events").execute(&mut conn)?;
    Ok(started.elapsed().as_secs_f64())
}

/// Pages of the court's referrals with `filter`, the `page`-th (1 or 2).
async fn list_phase(
    name: &'static str,
    partners: &[Client],
    filter: pb::ListCourtReferralsRequest,
    page: usize,
    load: &LoadArgs,
    monitor: &crate::monitor::CpuMonitor,
) -> Result<Phase> {
    let mut request = filter.clone();
    if page == 2 {
        let first = partners[0].courts().list_court_referrals(filter.clone()).await?;
        request.page_token = first.next_page_token;
    }
    let partners = partners.to_vec();
    let court = filter.court_organization_id.clone();
    run_phase(name, load.concurrency as usize, load, monitor, move |caller| {
        let client = partners[caller % partners.len()].clone();
        let request = request.clone();
        let court = court.clone();
        async move {
            let page = client.courts().list_court_referrals(request).await.map_err(|e| describe_sdk(&e))?;
            match page.court_referrals.len() {
                n if n != PAGE_SIZE as usize => Err(format!("a page of {n} referrals")),
                _ if page.court_referrals.iter().any(|r| r.court_organization_id != court) => {
                    Err("a referral of another court".to_owned())
                }
                _ => Ok(()),
            }
        }
    })
    .await
}

pub async fn courts(args: CourtsArgs) -> Result<ExitCode> {
    let mut load = args.load.clone();
    load.concurrency = args.callers;
    let (server, mut setup) = start_server("courts", &load, |_| {}).await?;
    let database = server.database.as_ref().context("the server has no harness database")?;
    let database_url = database.url().to_owned();

    eprintln!("preparing: the demo directory and {} referrals…", args.referrals);
    petition_server::seed::run(&server.state).await?;
    let url = database_url.clone();
    let n = args.referrals;
    let seconds = tokio::task::spawn_blocking(move || bulk_load(&url, n)).await??;
    setup.lines.push((
        "referrals".into(),
        format!(
            "{n} referrals of {n} cases to 于都县人民法院 (a sixth in each state), one event each, bulk inserted in \
             {seconds:.1}s, then VACUUM (ANALYZE)"
        ),
    ));

    let anonymous = connect(&server, load.connections as usize).await?;
    let mut partners = Vec::new();
    for client in &anonymous {
        let session = client.new_session();
        session
            .login_with_client_credentials(
                petition_server::courts::seed::DEMO_YD_COURT_CLIENT_ID,
                petition_server::seed::DEMO_PASSWORD,
                [],
            )
            .await?;
        partners.push(session);
    }
    let court = partners[0]
        .courts()
        .list_court_referrals(pb::ListCourtReferralsRequest { page_size: 1, ..Default::default() })
        .await?
        .court_referrals
        .first()
        .map(|r| r.court_organization_id.clone())
        .context("the court's referrals")?;
    setup.lines.push(("readers".into(), "the court's partner account svc-yd-court (cases.read, cases.write)".into()));
    let monitor = monitor_of(&server).await?;
    setup.print();
    eprintln!("measuring…");
    let base =
        pb::ListCourtReferralsRequest { court_organization_id: court, page_size: PAGE_SIZE, ..Default::default() };
    let mut phases = vec![health_phase(&anonymous, &load, &monitor).await?];
    phases.push(list_phase("ListCourtReferrals(court)", &partners, base.clone(), 1, &load, &monitor).await?);
    let filed = pb::ListCourtReferralsRequest { states: vec![pb::CourtReferralState::Filed.into()], ..base.clone() };
    phases.push(list_phase("ListCourtReferrals(court, FILED)", &partners, filed, 1, &load, &monitor).await?);
    let awaiting = pb::ListCourtReferralsRequest { awaiting_acknowledgment: true, ..base.clone() };
    phases.push(list_phase("ListCourtReferrals(court, awaiting)", &partners, awaiting, 1, &load, &monitor).await?);
    phases.push(list_phase("ListCourtReferrals(court) page 2", &partners, base, 2, &load, &monitor).await?);

    drop((anonymous, partners, monitor));
    stop_server(server, args.keep_database).await;
    let notes: Vec<String> = phases
        .iter()
        .filter(|p| p.rpc.starts_with("ListCourtReferrals"))
        .map(|p| {
            let p99 = p.quantile_ms(0.99);
            let verdict = if p99 <= LIST_TARGET_MS { "met" } else { "MISSED" };
            format!("{}: p99 {p99:.2} ms against the target of {LIST_TARGET_MS:.0} ms: {verdict}", p.rpc)
        })
        .collect();
    print_results(&setup, &phases, &notes);
    if load.json {
        println!("{}", serde_json::Value::Object(setup.json(&phases)));
    }
    Ok(exit_status(&phases))
}
