//! `bench mediation`: people's mediation at the scale of a city-year.
//!
//! Set-up: a city-year written through the server's own code (see
//! `city.rs`: 1,532 teams, 6,215 members, `--disputes` disputes over the
//! year, their events stamped on the days they happened), `VACUUM
//! (ANALYZE)` and a `CHECKPOINT`. Then `GetMediationStatistics` for the
//! city and the year is checked against what the generator counted.
//!
//! Phases, each with `--callers` callers (8 by default, the issue's
//! "realistic concurrency"; `--concurrency` is not used):
//!
//! 1. `health`: the baseline (see the crate docs).
//! 2. `Statistics(year)`: `GetMediationStatistics` for the whole city and
//!    year, no breakdown, as the city's petition-bureau leader. Target:
//!    p99 ≤ 100 ms.
//! 3. `Statistics(year, by county)`: the same with the child-region
//!    breakdown (the total, then a row per county), and
//!    `Statistics(year, by month)` by month.
//!    Then the first two again with one caller: a call's own latency.
//! 4. `ListDisputes(team) head`: the first page (50) of a team's disputes,
//!    `team_id` filter, as that team's head; `--heads` heads signed in,
//!    half the busiest teams, half drawn from the rest. Target: p99 ≤ 20 ms.
//! 5. `ListDisputes(team) leader`: the same filter for any team holding
//!    disputes, as the city leader (who sees every dispute of the city).

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use petition_sdk::{Client, pb};
use uuid::Uuid;

use crate::LoadArgs;
use crate::budget::StatementWatch;
use crate::cases::{sessions, sign_in_filers};
use crate::city::{self, CITY, CityYear, LEADER};
use crate::identity::{health_phase, monitor_of};
use crate::phase::{Phase, run_phase};
use crate::report::print_results;
use crate::support::{Rng, connect, describe_sdk, exit_status, start_server, stop_server};

#[derive(Args, Debug, Clone)]
pub struct MediationArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Disputes generated over the year.
    #[arg(long, default_value_t = 18_325, value_parser = clap::value_parser!(u32).range(1..=2_000_000))]
    disputes: u32,

    /// The year the disputes arise in (acts after yesterday are not taken).
    #[arg(long, default_value_t = 2026)]
    year: i32,

    /// Database connections the generator writes over, one thread each.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    load_threads: u32,

    /// Concurrent callers of every phase.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    callers: u32,

    /// Team heads signed in for the per-team lists.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1_532))]
    heads: u32,

    /// Seed of the generator (the same seed, the same city-year).
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Leave the server's database in place afterwards (its name is printed).
    #[arg(long)]
    keep_database: bool,
}

const PAGE_SIZE: i32 = 50;
/// The targets, in milliseconds of p99.
const STATISTICS_TARGET_MS: f64 = 100.0;
const LIST_TARGET_MS: f64 = 20.0;

fn year_request(year: i32, breakdown: pb::MediationBreakdown) -> pb::GetMediationStatisticsRequest {
    pb::GetMediationStatisticsRequest {
        region_code: CITY.into(),
        start_date: format!("{year}-01-01"),
        end_date: format!("{year}-12-31"),
        breakdown: breakdown as i32,
    }
}

#[allow(clippy::too_many_arguments)]
async fn statistics_phase(
    name: &'static str,
    callers: usize,
    readers: &Arc<Vec<Client>>,
    request: pb::GetMediationStatisticsRequest,
    rows: usize,
    load: &LoadArgs,
    monitor: &crate::monitor::CpuMonitor,
) -> Result<Phase> {
    let readers = readers.clone();
    run_phase(name, callers, load, monitor, move |caller| {
        let client = readers[caller % readers.len()].clone();
        let request = request.clone();
        async move {
            let answer = client.mediation().get_mediation_statistics(request).await.map_err(|e| describe_sdk(&e))?;
            match (answer.total, answer.rows.len()) {
                (Some(total), n) if total.recorded > 0 && n == rows => Ok(()),
                (_, n) => Err(format!("an answer with {n} rows, {rows} expected, or no total")),
            }
        }
    })
    .await
}

/// First pages of `team_id`, by `callers` picking from `lists`
/// (client, team) at random.
async fn list_phase(
    name: &'static str,
    lists: Arc<Vec<(Client, Uuid)>>,
    load: &LoadArgs,
    monitor: &crate::monitor::CpuMonitor,
) -> Result<Phase> {
    run_phase(name, load.concurrency as usize, load, monitor, move |_| {
        let (client, team) = lists[Rng::fresh().below(lists.len())].clone();
        let request = pb::ListDisputesRequest { team_id: team.to_string(), page_size: PAGE_SIZE, ..Default::default() };
        async move {
            let page = client.mediation().list_disputes(request).await.map_err(|e| describe_sdk(&e))?;
            let team = team.to_string();
            match page.disputes.len() {
                0 => Err("an empty page".to_owned()),
                n if n > PAGE_SIZE as usize => Err(format!("a page of {n} disputes")),
                _ if page.disputes.iter().any(|d| d.team_id != team) => Err("a dispute of another team".to_owned()),
                _ => Ok(()),
            }
        }
    })
    .await
}

/// One figure of a row.
type Figure = fn(&pb::MediationFigures) -> i32;

/// How a breakdown's answer disagrees with the total without one: its
/// total must be the same, and the rows of every figure that counts a
/// dispute once per period (all but breached and escalated) add up to it.
fn breakdown_differences(
    name: &str,
    total: &pb::MediationFigures,
    answer: &pb::GetMediationStatisticsResponse,
) -> Vec<String> {
    let mut out = Vec::new();
    if answer.total.as_ref() != Some(total) {
        out.push(format!("the total by {name} differs from the total without a breakdown"));
    }
    let sum = |f: fn(&pb::MediationFigures) -> i32| answer.rows.iter().map(|r| i64::from(f(r))).sum::<i64>();
    let figures: [(&str, Figure); 9] = [
        ("recorded", |f| f.recorded),
        ("screened", |f| f.screened),
        ("accepted", |f| f.accepted),
        ("refused", |f| f.refused),
        ("settled", |f| f.settled),
        ("failed", |f| f.failed),
        ("performed", |f| f.performed),
        ("confirmations_applied", |f| f.confirmations_applied),
        ("confirmations_confirmed", |f| f.confirmations_confirmed),
    ];
    for (figure, of) in figures {
        if sum(of) != i64::from(of(total)) {
            out.push(format!("the {name} rows' {figure} add up to {}, the total says {}", sum(of), of(total)));
        }
    }
    out
}

/// The generator's lines of the set-up.
fn city_lines(city: &CityYear, disputes: u32, threads: u32) -> Vec<(String, String)> {
    let total = city.directory_seconds + city.disputes_seconds + city.vacuum_seconds + city.checkpoint_seconds;
    let per_team: Vec<usize> = {
        let mut v: Vec<usize> = city.disputes_at.values().copied().collect();
        v.sort_unstable();
        v
    };
    let quantile = |q: f64| per_team.get(((per_team.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0);
    vec![
        (
            "city-year".into(),
            format!(
                "{} teams, {} members ({} staff and service accounts), {} screening rounds, {disputes} disputes, {} \
                 dispute events, in {total:.1}s: directory, teams, members and rounds {:.1}s, disputes {:.1}s ({:.0} \
                 disputes/s over {threads} connections, through draft::record and pipeline::transition), VACUUM \
                 (ANALYZE) {:.1}s, CHECKPOINT {:.1}s",
                city.teams.len(),
                city::MEMBERS,
                city.accounts,
                city.screenings,
                city.events,
                city.directory_seconds,
                city.disputes_seconds,
                f64::from(disputes) / city.disputes_seconds.max(1e-9),
                city.vacuum_seconds,
                city.checkpoint_seconds
            ),
        ),
        (
            "states".into(),
            city.states.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", ")
                + &format!(
                    "; settlement rate {:.1}%, escalated {}, confirmations applied {} (confirmed {})",
                    city.expected.settlement_rate() * 100.0,
                    city.expected.escalated,
                    city.expected.confirmations_applied,
                    city.expected.confirmations_confirmed
                ),
        ),
        (
            "per team".into(),
            format!(
                "disputes now at a team: {} teams hold some; median {}, p90 {}, max {}",
                per_team.len(),
                quantile(0.5),
                quantile(0.9),
                per_team.last().copied().unwrap_or(0)
            ),
        ),
    ]
}

pub async fn mediation(args: MediationArgs) -> Result<ExitCode> {
    let mut load = args.load.clone();
    load.concurrency = args.callers;
    let (server, mut setup) = start_server("mediation", &load, |_| {}).await?;
    let database = server.database.as_ref().context("the server has no harness database")?;
    let database_url = database.url().to_owned();

    eprintln!("preparing: the city-year through the server's code…");
    let state = server.state.clone();
    let (disputes, year, threads, seed) = (args.disputes, args.year, args.load_threads, args.seed);
    let url = database_url.clone();
    let city = tokio::task::spawn_blocking(move || {
        city::load(&url, &state.pii, disputes as usize, year, threads as usize, seed)
    })
    .await??;
    setup.lines.extend(city_lines(&city, disputes, threads));

    eprintln!("signing in the leader and {} team heads…", args.heads);
    let anonymous = connect(&server, load.connections as usize).await?;
    let leaders = Arc::new(sessions(&anonymous, LEADER).await?);
    let mut busiest: Vec<(Uuid, usize)> = city.disputes_at.iter().map(|(t, n)| (*t, *n)).collect();
    busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let heads = (args.heads as usize).min(busiest.len());
    let mut chosen: Vec<Uuid> = busiest.iter().take(heads / 2).map(|(t, _)| *t).collect();
    let mut rest: Vec<Uuid> = busiest.iter().skip(heads / 2).map(|(t, _)| *t).collect();
    Rng::new(args.seed).shuffle(&mut rest);
    chosen.extend(rest.into_iter().take(heads - chosen.len()));
    let login_of: HashMap<Uuid, &str> = city.teams.iter().map(|(id, login)| (*id, login.as_str())).collect();
    let logins: Vec<String> = chosen.iter().filter_map(|t| login_of.get(t).map(|l| (*l).to_owned())).collect();
    let head_clients = sign_in_filers(&anonymous, &logins).await?;
    let by_head: Vec<(Client, Uuid)> = head_clients.into_iter().zip(chosen.iter().copied()).collect();
    let chosen_sizes: Vec<usize> = chosen.iter().map(|t| city.disputes_at.get(t).copied().unwrap_or(0)).collect();
    let leader_lists: Vec<(Client, Uuid)> =
        busiest.iter().enumerate().map(|(i, (team, _))| (leaders[i % leaders.len()].clone(), *team)).collect();
    setup.lines.push((
        "readers".into(),
        format!(
            "statistics and the leader's lists as {LEADER} (Leader at the city's petition bureau, jurisdiction \
             {CITY}: every dispute); heads of {} teams holding {}–{} disputes ({} busiest + {} drawn)",
            by_head.len(),
            chosen_sizes.iter().min().copied().unwrap_or(0),
            chosen_sizes.iter().max().copied().unwrap_or(0),
            heads / 2,
            heads - heads / 2
        ),
    ));

    // The figures, checked against the generator's count.
    let started = Instant::now();
    let answer = leaders[0]
        .mediation()
        .get_mediation_statistics(year_request(city.year, pb::MediationBreakdown::Unspecified))
        .await?;
    let first_ms = started.elapsed().as_secs_f64() * 1000.0;
    let total = answer.total.unwrap_or_default();
    let differences = city.expected.differences(&total);
    let by_county = leaders[0]
        .mediation()
        .get_mediation_statistics(year_request(city.year, pb::MediationBreakdown::ChildRegion))
        .await?;
    let county_rows = by_county.rows.len();
    let by_month =
        leaders[0].mediation().get_mediation_statistics(year_request(city.year, pb::MediationBreakdown::Month)).await?;
    let month_rows = by_month.rows.len();
    let mut check = if differences.is_empty() {
        format!(
            "GetMediationStatistics({CITY}, {}) = what the generator counted, every figure (recorded {}, settled {}, \
             failed {}, settlement rate {:.4}, average days to settle {:.2}); first call {first_ms:.1} ms",
            city.year, total.recorded, total.settled, total.failed, total.settlement_rate, total.average_days_to_settle
        )
    } else {
        format!("!!! MISMATCH: {}", differences.join("; "))
    };
    let mut inconsistent = Vec::new();
    for (name, answer) in [("county", &by_county), ("month", &by_month)] {
        inconsistent.extend(breakdown_differences(name, &total, answer));
    }
    if inconsistent.is_empty() {
        check.push_str(&format!(
            "; the {county_rows} county and {month_rows} month rows add up to it and carry the same total"
        ));
    } else {
        check.push_str(&format!("; !!! {}", inconsistent.join("; ")));
    }
    setup.lines.push(("check".into(), check));

    let monitor = monitor_of(&server).await?;
    let (statements, line) = StatementWatch::open_described(&database_url).await?;
    setup.lines.push(("statements".into(), line));
    let watching = monitor.with_statements(statements.as_ref());
    setup.print();
    eprintln!("measuring…");
    let mut phases = Vec::new();
    phases.push(health_phase(&anonymous, &load, &monitor).await?);
    let year_of = city.year;
    let callers = load.concurrency as usize;
    let statistics = [
        ("Statistics(year)", callers, pb::MediationBreakdown::Unspecified, 0),
        ("Statistics(year, by county)", callers, pb::MediationBreakdown::ChildRegion, county_rows),
        ("Statistics(year, by month)", callers, pb::MediationBreakdown::Month, month_rows),
        // One caller: a call's own latency, without the queue of the others.
        ("Statistics(year) 1 caller", 1, pb::MediationBreakdown::Unspecified, 0),
        ("Statistics(year, by county) 1 caller", 1, pb::MediationBreakdown::ChildRegion, county_rows),
    ];
    for (name, callers, breakdown, rows) in statistics {
        let request = year_request(year_of, breakdown);
        phases.push(statistics_phase(name, callers, &leaders, request, rows, &load, &watching).await?);
    }
    phases.push(list_phase("ListDisputes(team) head", Arc::new(by_head), &load, &monitor).await?);
    phases.push(list_phase("ListDisputes(team) leader", Arc::new(leader_lists), &load, &monitor).await?);

    drop((anonymous, leaders, monitor, watching, statements));
    stop_server(server, args.keep_database).await;

    let verdict = |rpc: &str, target: f64| {
        phases.iter().find(|p| p.rpc == rpc).map(|p| {
            let p99 = p.quantile_ms(0.99);
            format!(
                "{rpc}: p99 {p99:.2} ms against the target of {target:.0} ms: {}",
                if p99 <= target { "met" } else { "MISSED" }
            )
        })
    };
    let notes: Vec<String> = [
        verdict("Statistics(year)", STATISTICS_TARGET_MS),
        verdict("Statistics(year, by county)", STATISTICS_TARGET_MS),
        verdict("Statistics(year, by month)", STATISTICS_TARGET_MS),
        verdict("Statistics(year) 1 caller", STATISTICS_TARGET_MS),
        verdict("Statistics(year, by county) 1 caller", STATISTICS_TARGET_MS),
        verdict("ListDisputes(team) head", LIST_TARGET_MS),
        verdict("ListDisputes(team) leader", LIST_TARGET_MS),
    ]
    .into_iter()
    .flatten()
    .collect();
    print_results(&setup, &phases, &notes);
    if load.json {
        let mut json = setup.json(&phases);
        json.insert(
            "city_year".into(),
            serde_json::json!({
                "disputes": disputes,
                "events": city.events,
                "seconds_directory": (city.directory_seconds * 10.0).round() / 10.0,
                "seconds_disputes": (city.disputes_seconds * 10.0).round() / 10.0,
                "seconds_vacuum_analyze": (city.vacuum_seconds * 10.0).round() / 10.0,
                "seconds_checkpoint": (city.checkpoint_seconds * 10.0).round() / 10.0,
                "statistics_match": differences.is_empty(),
            }),
        );
        println!("{}", serde_json::Value::Object(json));
    }
    if !differences.is_empty() || !inconsistent.is_empty() {
        eprintln!("benchmark FAILED: the statistics do not match what was loaded");
        return Ok(ExitCode::FAILURE);
    }
    Ok(exit_status(&phases))
}
