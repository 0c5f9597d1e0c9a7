//! `bench cases`: case reads and filings over a preloaded year of cases.
//!
//! Set-up: the [`CaseWorld`] directory (a city with two counties, bureaus,
//! units, every role signed in), `--citizens` citizens registered through
//! the API, one template case per region group and state filed and moved
//! through the API, then `--preload` cases copied from the templates in a
//! few SQL statements (see `preload.rs`), `VACUUM (ANALYZE)` and a
//! `CHECKPOINT`.
//!
//! Phases, in this order (reads first, so they see exactly the preloaded
//! data; the filing phase last, since it adds cases):
//!
//! 1. `health`: the baseline (see the crate docs).
//! 2. `GetCase` by the id of a random preloaded case, as the city leader
//!    (`leader.city`, Leader at 赣州市信访局, jurisdiction: the whole city,
//!    so every case is visible; not an admin, so phone numbers come masked):
//!    the case read by primary key, the viewer's organization, the
//!    petitioner's account (phone decrypted), the lifecycle JSON parsed.
//! 3. `ListCases(50)`: pages of 50 for the same principal, newest first.
//!    Each caller alternates walks of 4 pages: an unfiltered walk, then a
//!    walk filtered by one state (REGISTERED, ROUTED, ACCEPTED, REPLIED in
//!    turn); the first page of a walk has no token, the next three follow
//!    `next_page_token` (keyset on the id). So 1/8 first pages unfiltered,
//!    1/8 first pages by state, 3/4 next pages (pages 2–4).
//! 4. pgbench TPC-B and select-only on the same PostgreSQL while the server is idle (see
//!    `pgbench.rs`), unless `--no-pgbench`.
//! 5. `SubmitCase` through the SDK as citizens, each caller its own citizen
//!    (up to `--citizens`), a realistic draft (a claim or suggestion in one
//!    of the three regions, 2–12 sentences of content) and a fresh
//!    `request_id` each call, as a careful client sends: every call files a
//!    new case (a counter row upserted, the case and its event inserted,
//!    the idempotency key recorded, in one transaction).

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use futures::{StreamExt, TryStreamExt};
use petition_sdk::{Client, new_request_id, pb};
use petition_tests::{CaseWorld, PASSWORD, citizen_request, opinion};
use uuid::Uuid;

use crate::LoadArgs;
use crate::budget::StatementWatch;
use crate::identity::{health_phase, monitor_of};
use crate::pgbench::{self, Pgbench};
use crate::phase::run_phase;
use crate::preload::{self, Preloaded, RegionGroup, Sources, TEMPLATE_STATES, Texts};
use crate::report::{print_results, ratio};
use crate::support::{Rng, connect, describe_sdk, exit_status, start_server, stop_server};
use crate::text;

#[derive(Args, Debug, Clone)]
pub struct CasesArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Cases preloaded before measuring.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=5_000_000))]
    preload: u32,

    /// Citizens registered through the API: the petitioners of the preloaded
    /// cases, and the SubmitCase callers' identities.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    citizens: u32,

    /// Skip the pgbench TPC-B yardstick.
    #[arg(long)]
    no_pgbench: bool,

    /// Filings a petitioner may make per day. The default is high enough
    /// never to refuse a filing, while the server still counts every one
    /// (a row upserted and locked per filing, as in production); the
    /// server's own default (3) would refuse almost every call of this
    /// benchmark, and 0 (the test harness's setting) skips the counting.
    #[arg(long, default_value_t = 1_000_000)]
    daily_filing_limit: u32,

    /// After SubmitCase over the three regions, SubmitCase again with the
    /// filings spread over this many new townships (0: not run).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(0..=899))]
    spread_regions: u32,

    /// Leave the server's database in place afterwards, for inspection (its
    /// name is printed; drop it yourself).
    #[arg(long)]
    keep_database: bool,
}

/// Where cases arise: county A's township, county A, county B.
pub const REGIONS: [&str; 3] = ["360702001", "360702", "360731"];
/// The principal of GetCase and ListCases.
const READER: &str = "leader.city";
const READER_DESCRIPTION: &str = "leader.city: Leader at 赣州市信访局, jurisdiction 360700 (the whole city, so every \
                                  preloaded case is visible); not an admin (phones masked)";
const PAGE_SIZE: i32 = 50;
/// Pages per walk of ListCases.
const WALK_PAGES: u64 = 4;
/// Callers of the second ListCases phase (the latency target's load).
const LIST_FEW_CALLERS: usize = 8;
/// States ListCases filters by, in turn.
const LIST_STATES: [pb::CaseState; 4] =
    [pb::CaseState::Registered, pb::CaseState::Routed, pb::CaseState::Accepted, pb::CaseState::Replied];
/// Registrations and sign-ins in flight at once while preparing (each hashes a password).
pub const SETUP_CONCURRENCY: usize = 8;

/// ListCases(50) walks by `callers` callers (see the module docs).
async fn list_phase(
    name: &'static str,
    callers: usize,
    readers: &[Client],
    mix: &Arc<ListMix>,
    load: &LoadArgs,
    monitor: &crate::monitor::CpuMonitor,
) -> Result<crate::phase::Phase> {
    // Callers start at different steps of their cycle, so the mix holds at every instant.
    let walks: Arc<Vec<Mutex<Walk>>> = Arc::new(
        (0..callers)
            .map(|i| Mutex::new(Walk { calls: (i as u64) % (2 * WALK_PAGES), state: 0, token: String::new() }))
            .collect(),
    );
    let (readers, mix) = (Arc::new(readers.to_vec()), mix.clone());
    run_phase(name, callers, load, monitor, move |caller| {
        let client = readers[caller % readers.len()].clone();
        let request = {
            let mut walk = walks[caller].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let step = walk.calls % (2 * WALK_PAGES);
            let cycle = walk.calls / (2 * WALK_PAGES);
            walk.calls += 1;
            if step == 0 {
                walk.state = 0;
                walk.token.clear();
            } else if step == WALK_PAGES {
                walk.state = LIST_STATES[(cycle as usize + caller) % LIST_STATES.len()] as i32;
                walk.token.clear();
            }
            let counter = match (walk.token.is_empty(), walk.state) {
                (false, _) => &mix.next,
                (true, 0) => &mix.first,
                (true, _) => &mix.first_by_state,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            pb::ListCasesRequest {
                states: if walk.state == 0 { vec![] } else { vec![walk.state] },
                page_size: PAGE_SIZE,
                page_token: walk.token.clone(),
                ..Default::default()
            }
        };
        let walks = walks.clone();
        async move {
            let page = client.cases().list_cases(request).await.map_err(|e| describe_sdk(&e))?;
            walks[caller].lock().unwrap_or_else(std::sync::PoisonError::into_inner).token = page.next_page_token;
            match page.cases.len() {
                0 => Err("an empty page".to_owned()),
                n if n > PAGE_SIZE as usize => Err(format!("a page of {n} cases")),
                _ => Ok(()),
            }
        }
    })
    .await
}

/// SubmitCase by `filers` in turn, each draft in one of `regions`.
async fn submit_phase(
    name: &'static str,
    filers: &Arc<Vec<Client>>,
    regions: Arc<Vec<String>>,
    load: &LoadArgs,
    monitor: &crate::monitor::CpuMonitor,
) -> Result<crate::phase::Phase> {
    let filers = filers.clone();
    run_phase(name, load.concurrency as usize, load, monitor, move |caller| {
        let client = filers[caller % filers.len()].clone();
        let regions: Vec<&str> = regions.iter().map(String::as_str).collect();
        let draft = text::draft(&mut Rng::fresh(), &regions);
        let request = pb::SubmitCaseRequest { draft: Some(draft), request_id: new_request_id() };
        async move {
            let case = client.cases().submit_case(request).await.map_err(|e| describe_sdk(&e))?;
            if case.state == pb::CaseState::Registered as i32 {
                Ok(())
            } else {
                Err(format!("a new case in state {}", case.state))
            }
        }
    })
    .await
}

/// Creates `n` townships of county A (360702101, 360702102, …) through
/// the API: where the spread filings go.
async fn create_townships(admin: &Client, n: u32) -> Result<Vec<String>> {
    let mut codes = Vec::with_capacity(n as usize);
    for i in 0..n {
        let code = format!("360702{:03}", 101 + i);
        admin
            .directory()
            .create_region(pb::CreateRegionRequest {
                code: code.clone(),
                name: format!("测试镇{}", i + 1),
                level: pb::RegionLevel::Township as i32,
                parent_code: "360702".into(),
            })
            .await
            .map_err(|e| anyhow!("creating township {code}: {}", describe_sdk(&e)))?;
        codes.push(code);
    }
    Ok(codes)
}

/// Registers `n` citizens; returns their account ids and phone numbers.
pub async fn register_citizens(client: &Client, n: usize) -> Result<Vec<(Uuid, String)>> {
    futures::stream::iter(0..n)
        .map(|i| async move {
            let request = citizen_request(&text::person_name(i));
            let account = client.identity().register_citizen(request.clone()).await.context("registering a citizen")?;
            let id = Uuid::parse_str(&account.id).context("a citizen's account id")?;
            anyhow::Ok((id, request.phone))
        })
        .buffered(SETUP_CONCURRENCY)
        .try_collect()
        .await
}

/// Files one case per (region group, template state) through the API and
/// moves it to that state; returns their ids, region-major.
pub async fn file_templates(world: &CaseWorld) -> Result<Vec<Uuid>> {
    let mut rng = Rng::fresh();
    let groups = [
        (REGIONS[0], &world.clerk, &world.handler, &world.dir.unit_a),
        (REGIONS[1], &world.clerk, &world.handler, &world.dir.unit_a),
        (REGIONS[2], &world.clerk_b, &world.handler_b, &world.dir.unit_b),
    ];
    let mut ids = Vec::new();
    for (region, clerk, handler, unit) in groups {
        for (rank, state) in TEMPLATE_STATES.iter().enumerate() {
            let case = world.submit(text::draft(&mut rng, &[region])).await?;
            let id = case.id.clone();
            if *state == "DECLINED" {
                clerk
                    .cases()
                    .decline_case(pb::DeclineCaseRequest {
                        case_id: id.clone(),
                        reason: pb::DeclineReason::Other.into(),
                        explanation: "所反映事项不属于信访事项受理范围。".into(),
                        ..Default::default()
                    })
                    .await?;
            } else if rank >= 1 {
                let forward = pb::ForwardCaseRequest {
                    case_id: id.clone(),
                    organization_id: unit.id.clone(),
                    note: "请依法依规处理并按时答复。".into(),
                    ..Default::default()
                };
                clerk.cases().forward_case(forward).await?;
                if rank >= 2 {
                    let note = "已受理，将在六十日内调查核实并书面答复。".into();
                    handler
                        .cases()
                        .accept_case(pb::AcceptCaseRequest { case_id: id.clone(), note, ..Default::default() })
                        .await?;
                }
                if rank >= 3 {
                    let reply =
                        pb::ReplyToCaseRequest { case_id: id.clone(), opinion: Some(opinion()), ..Default::default() };
                    handler.cases().reply_to_case(reply).await?;
                }
            }
            let stored = world.admin.cases().get_case(id.clone()).await?;
            let expected = format!("CASE_STATE_{state}");
            let actual = pb::CaseState::try_from(stored.state).map_or("?", |s| s.as_str_name());
            if actual != expected {
                return Err(anyhow!("template case {id} is {actual}, expected {expected}"));
            }
            ids.push(Uuid::parse_str(&id)?);
        }
    }
    Ok(ids)
}

/// Signs the first `n` of `citizens` in (at most all of them), spread over `clients`.
/// What the preload copies from: the citizens, the three regions with the
/// clerk and bureau that register there, and the template cases.
pub async fn sources(world: &CaseWorld, citizens: &[(Uuid, String)], templates: Vec<Uuid>) -> Result<Sources> {
    let clerk_a = Uuid::parse_str(&world.clerk.identity().get_me().await?.id)?;
    let clerk_b = Uuid::parse_str(&world.clerk_b.identity().get_me().await?.id)?;
    let bureau_a = Uuid::parse_str(&world.dir.bureau_a.id)?;
    let bureau_b = Uuid::parse_str(&world.dir.bureau_b.id)?;
    Ok(Sources {
        citizens: citizens.iter().map(|(id, _)| *id).collect(),
        regions: vec![
            RegionGroup { code: REGIONS[0].into(), clerk: clerk_a, bureau: bureau_a },
            RegionGroup { code: REGIONS[1].into(), clerk: clerk_a, bureau: bureau_a },
            RegionGroup { code: REGIONS[2].into(), clerk: clerk_b, bureau: bureau_b },
        ],
        templates,
    })
}

/// Signs each of `logins` (login names or phones; the benchmark password)
/// in, a session each, spread over `clients`' connections.
pub async fn sign_in_filers(clients: &[Client], logins: &[String]) -> Result<Vec<Client>> {
    let logins: Vec<(Client, String)> =
        logins.iter().enumerate().map(|(i, login)| (clients[i % clients.len()].clone(), login.clone())).collect();
    futures::stream::iter(logins)
        .map(|(client, login)| async move {
            let session = client.new_session();
            session.login(login, PASSWORD).await.context("signing in a filing citizen")?;
            anyhow::Ok(session)
        })
        .buffered(SETUP_CONCURRENCY)
        .try_collect()
        .await
}

/// Signs `login_name` in once per client, each its own session on that client's connection.
pub async fn sessions(clients: &[Client], login_name: &str) -> Result<Vec<Client>> {
    futures::stream::iter(clients.iter())
        .map(|client| async move {
            let session = client.new_session();
            session.login(login_name, PASSWORD).await.with_context(|| format!("signing in as {login_name}"))?;
            anyhow::Ok(session)
        })
        .buffered(SETUP_CONCURRENCY)
        .try_collect()
        .await
}

/// One ListCases caller's walk through the pages.
struct Walk {
    calls: u64,
    /// 0: unfiltered.
    state: i32,
    token: String,
}

/// ListCases calls issued, by kind (warm-up included).
#[derive(Default)]
struct ListMix {
    first: AtomicU64,
    first_by_state: AtomicU64,
    next: AtomicU64,
}

impl ListMix {
    fn describe(&self) -> (u64, u64, u64, String) {
        let (first, by_state, next) = (
            self.first.load(Ordering::Relaxed),
            self.first_by_state.load(Ordering::Relaxed),
            self.next.load(Ordering::Relaxed),
        );
        let total = (first + by_state + next).max(1) as f64;
        let text = format!(
            "first page unfiltered {:.1}%, first page filtered by one state {:.1}%, next pages via page token \
             {:.1}% (pages 2–{WALK_PAGES}) of {} calls issued",
            first as f64 * 100.0 / total,
            by_state as f64 * 100.0 / total,
            next as f64 * 100.0 / total,
            first + by_state + next
        );
        (first, by_state, next, text)
    }
}

fn megabytes(bytes: i64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// The preload's lines of the set-up.
pub fn preload_lines(
    preloaded: &Preloaded,
    api_seconds: f64,
    total_seconds: f64,
    citizens: usize,
) -> Vec<(String, String)> {
    let templates = preloaded.cases - preloaded.ids.len() as i64;
    let size = |s: &preload::TableSize| {
        format!(
            "{:.1} MB (heap {:.1}, TOAST {:.1}, indexes {:.1})",
            megabytes(s.total),
            megabytes(s.heap),
            megabytes(s.toast),
            megabytes(s.indexes)
        )
    };
    let per_case = |bytes: i64| bytes as f64 / preloaded.cases.max(1) as f64;
    vec![
        (
            "preload".into(),
            format!(
                "{} cases ({} through SQL + {templates} templates filed through the API), {} events, in {:.1}s: API \
                 set-up {:.1}s (directory, {citizens} citizens, templates), SQL inserts {:.1}s, VACUUM (ANALYZE) \
                 {:.1}s, CHECKPOINT {:.1}s; autovacuum is {} on this PostgreSQL",
                preloaded.cases,
                preloaded.ids.len(),
                preloaded.events,
                total_seconds,
                api_seconds,
                preloaded.insert_seconds,
                preloaded.vacuum_seconds,
                preloaded.checkpoint_seconds,
                preloaded.autovacuum
            ),
        ),
        (
            "states".into(),
            preloaded.states.iter().map(|(state, n)| format!("{state} {n}")).collect::<Vec<_>>().join(", ")
                + if preloaded.distinct_numbers_ok { "; case numbers all distinct" } else { "; DUPLICATE numbers" },
        ),
        (
            "storage".into(),
            format!(
                "cases {}; events {}; per case {:.0} bytes (cases {:.0} + events {:.0})",
                size(&preloaded.cases_size),
                size(&preloaded.events_size),
                per_case(preloaded.cases_size.total + preloaded.events_size.total),
                per_case(preloaded.cases_size.total),
                per_case(preloaded.events_size.total),
            ),
        ),
    ]
}

/// The pgbench result as a note; `between` says when it ran.
pub fn pgbench_line(result: &Result<Pgbench>, between: &str) -> String {
    match result {
        Ok(p) => format!(
            "pgbench TPC-B: {:.1} tps, select-only (-S): {:.1} tps (scale {}, {} clients, {} threads, -M prepared, \
             {}s each; TPC-B latency avg {}; init {:.1}s){}; run on the same PostgreSQL while the server was idle, \
             {between}",
            p.tps,
            p.select_only_tps,
            pgbench::SCALE,
            pgbench::CLIENTS,
            pgbench::THREADS,
            p.seconds,
            p.latency_ms.map_or("n/a".to_owned(), |l| format!("{l:.2} ms")),
            p.init_seconds,
            p.cpu.map_or(String::new(), |cpu| format!(
                "; machine CPU meanwhile: {:.2} cores busy (pgbench + its backends + rest), {:.2} idle",
                cpu.other + cpu.this_process,
                cpu.idle
            )),
        ),
        Err(error) => format!("pgbench: NOT MEASURED: {error:#}"),
    }
}

/// What `prepare` made.
pub struct Prepared {
    pub world: CaseWorld,
    /// One client per connection, none signed in.
    pub anonymous: Vec<Client>,
    /// The registered citizens: account ids and phone numbers.
    pub citizens: Vec<(Uuid, String)>,
    pub preloaded: Preloaded,
    /// Seconds the API set-up took, and the whole preparation.
    pub api_seconds: f64,
    pub preload_seconds: f64,
}

/// The directory, `citizens` citizens and the template cases through the
/// API, then `count` cases copied from the templates in SQL; the set-up
/// lines say what was made.
pub async fn prepare(
    server: &petition_tests::TestServer,
    load: &LoadArgs,
    setup: &mut crate::report::Setup,
    citizens: u32,
    count: u32,
) -> Result<Prepared> {
    let database_url = server.database.as_ref().context("the server has no harness database")?.url().to_owned();
    eprintln!("preparing: the directory, {citizens} citizens and the template cases through the API…");
    let started = Instant::now();
    let world = CaseWorld::create(server).await.context("creating the case world")?;
    let anonymous = connect(server, load.connections as usize).await?;
    let citizens = register_citizens(&anonymous[0], citizens as usize).await?;
    let templates = file_templates(&world).await.context("filing the template cases")?;
    let sources = sources(&world, &citizens, templates).await?;
    let api_seconds = started.elapsed().as_secs_f64();
    eprintln!("preloading {count} cases and their events through SQL…");
    let preloaded = tokio::task::spawn_blocking(move || {
        let mut conn = diesel::Connection::establish(&database_url).context("connecting to the server's database")?;
        preload::preload(&mut conn, &Texts::Random { count }, &sources)
    })
    .await??;
    let preload_seconds = started.elapsed().as_secs_f64();
    setup.lines.extend(preload_lines(&preloaded, api_seconds, preload_seconds, citizens.len()));
    Ok(Prepared { world, anonymous, citizens, preloaded, api_seconds, preload_seconds })
}

pub async fn cases(args: CasesArgs) -> Result<ExitCode> {
    let load = args.load.clone();
    let limit = args.daily_filing_limit;
    let mut channels = String::new();
    let (server, mut setup) = start_server("cases", &load, |config| {
        config.intake.daily_filing_limit = limit;
        channels = format!("{:?}", config.intake.daily_limit_channels).to_lowercase();
        crate::support::sweep_as_deployed(config);
    })
    .await?;
    setup.lines.push((
        "intake".into(),
        if limit == 0 {
            "daily filing limit OFF (--daily-filing-limit 0): filings are not counted".to_owned()
        } else {
            format!(
                "daily filing limit {limit} per petitioner (channels: {channels}): every filing is counted, none \
                 refused (the server's default of 3 would refuse this load)"
            )
        },
    ));
    let database = server.database.as_ref().context("the server has no harness database")?;
    let (database_url, database_name) = (database.url().to_owned(), database.name().to_owned());

    let Prepared { world, anonymous, citizens, preloaded, api_seconds, preload_seconds } =
        prepare(&server, &load, &mut setup, args.citizens, args.preload).await?;
    setup.lines.push(("reader".into(), format!("GetCase and ListCases as {READER_DESCRIPTION}")));

    eprintln!("signing in the reader and the filing citizens…");
    let readers = sessions(&anonymous, READER).await?;
    let phones: Vec<String> = citizens.iter().take(load.concurrency as usize).map(|(_, phone)| phone.clone()).collect();
    let filers = sign_in_filers(&anonymous, &phones).await?;
    setup.lines.push((
        "filers".into(),
        format!(
            "SubmitCase as {} citizens (caller i files as citizen i mod {}), a fresh request_id per call",
            filers.len(),
            filers.len()
        ),
    ));

    eprintln!("settling: the sweeper's passes and the metrics projection over the preload…");
    let settled = crate::support::settle(&database_url, chrono::Utc::now(), 2).await?;
    setup.lines.push((
        "settled".into(),
        format!(
            "measured after the server caught up with the preload ({settled:.0} s: two sweeper passes, the \
             metrics projection at the newest event)"
        ),
    ));
    let monitor = monitor_of(&server).await?;
    let (statements, line) = StatementWatch::open_described(&database_url).await?;
    setup.lines.push(("statements".into(), line));
    setup.print();
    eprintln!("measuring…");
    let mut phases = Vec::new();
    phases.push(health_phase(&anonymous, &load, &monitor).await?);
    let watching = monitor.with_statements(statements.as_ref());

    let ids: Arc<Vec<String>> = Arc::new(preloaded.ids.iter().map(Uuid::to_string).collect());
    {
        let (readers, ids) = (readers.clone(), ids.clone());
        phases.push(
            run_phase("GetCase", load.concurrency as usize, &load, &watching, move |caller| {
                let client = readers[caller % readers.len()].clone();
                let id = ids[Rng::fresh().below(ids.len())].clone();
                async move {
                    let case = client.cases().get_case(id.clone()).await.map_err(|e| describe_sdk(&e))?;
                    if case.id == id { Ok(()) } else { Err("GetCase answered another case".to_owned()) }
                }
            })
            .await?,
        );
    }

    let mix = Arc::new(ListMix::default());
    phases.push(list_phase("ListCases(50)", load.concurrency as usize, &readers, &mix, &load, &watching).await?);
    // The latency target is at 8 callers.
    phases.push(list_phase("ListCases(50) x8", LIST_FEW_CALLERS, &readers, &mix, &load, &watching).await?);

    let pgbench_result = if args.no_pgbench {
        Err(anyhow!("skipped (--no-pgbench)"))
    } else {
        pgbench::phase(&database_url, &database_name, load.seconds).await?
    };

    let cases_before = count_cases(&database_url).await?;
    let filers = Arc::new(filers);
    let three: Arc<Vec<String>> = Arc::new(REGIONS.iter().map(|r| (*r).to_owned()).collect());
    phases.push(submit_phase("SubmitCase", &filers, three, &load, &watching).await?);
    if args.spread_regions > 0 {
        let townships = create_townships(&world.admin, args.spread_regions).await?;
        phases.push(submit_phase("SubmitCase(spread)", &filers, Arc::new(townships), &load, &watching).await?);
    }
    let filed = count_cases(&database_url).await? - cases_before;

    drop((anonymous, readers, filers, world, monitor, watching, statements));
    stop_server(server, args.keep_database).await;

    let (first, by_state, next, mix_text) = mix.describe();
    let mut notes = vec![
        pgbench_line(&pgbench_result, "between the ListCases and SubmitCase phases"),
        format!("ListCases(50) mix: {mix_text}"),
        format!("SubmitCase filed {filed} cases during its phases (warm-up included)"),
    ];
    for rpc in ["GetCase", "ListCases(50)", "SubmitCase"] {
        if let Some(r) = ratio(&phases, rpc, "health") {
            notes.push(format!("{rpc} throughput = {:.1}% of health-check throughput", r * 100.0));
        }
    }
    if let Ok(p) = &pgbench_result
        && p.tps > 0.0
    {
        for submit in phases.iter().filter(|phase| phase.rpc.starts_with("SubmitCase")) {
            let share = submit.throughput() * 100.0 / p.tps;
            notes.push(format!("{} calls/s = {share:.1}% of pgbench TPC-B tps", submit.rpc));
        }
    }
    if let Ok(p) = &pgbench_result
        && p.select_only_tps > 0.0
    {
        for rpc in ["GetCase", "ListCases(50)", "ListCases(50) x8"] {
            if let Some(read) = phases.iter().find(|phase| phase.rpc == rpc) {
                let share = read.throughput() * 100.0 / p.select_only_tps;
                notes.push(format!("{rpc} calls/s = {share:.1}% of pgbench select-only tps"));
            }
        }
    }
    print_results(&setup, &phases, &notes);

    if load.json {
        let mut json = setup.json(&phases);
        json.insert("reader".into(), READER_DESCRIPTION.into());
        json.insert("daily_filing_limit".into(), args.daily_filing_limit.into());
        json.insert(
            "preload".into(),
            serde_json::json!({
                "cases": preloaded.cases,
                "preloaded_through_sql": preloaded.ids.len(),
                "events": preloaded.events,
                "citizens": citizens.len(),
                "seconds_total": (preload_seconds * 10.0).round() / 10.0,
                "seconds_api": (api_seconds * 10.0).round() / 10.0,
                "seconds_sql": (preloaded.insert_seconds * 10.0).round() / 10.0,
                "seconds_vacuum_analyze": (preloaded.vacuum_seconds * 10.0).round() / 10.0,
                "seconds_checkpoint": (preloaded.checkpoint_seconds * 10.0).round() / 10.0,
                "cases_bytes": preloaded.cases_size.total,
                "events_bytes": preloaded.events_size.total,
                "bytes_per_case": (preloaded.cases_size.total + preloaded.events_size.total) / preloaded.cases.max(1),
                "states": preloaded.states.iter().map(|(s, n)| (s.clone(), serde_json::json!(n)))
                    .collect::<serde_json::Map<_, _>>(),
            }),
        );
        json.insert(
            "pgbench".into(),
            match &pgbench_result {
                Ok(p) => serde_json::json!({
                    "tps": (p.tps * 10.0).round() / 10.0,
                    "select_only_tps": (p.select_only_tps * 10.0).round() / 10.0,
                    "latency_ms": p.latency_ms,
                    "transactions": p.transactions,
                    "scale": pgbench::SCALE, "clients": pgbench::CLIENTS, "threads": pgbench::THREADS,
                    "seconds": p.seconds, "init_seconds": (p.init_seconds * 10.0).round() / 10.0,
                    "binary": p.binary,
                }),
                Err(error) => serde_json::json!({"error": format!("{error:#}")}),
            },
        );
        json.insert(
            "listcases_mix".into(),
            serde_json::json!({"first_page": first, "first_page_by_state": by_state, "next_page": next}),
        );
        json.insert("submitcase_filed".into(), filed.into());
        println!("{}", serde_json::Value::Object(json));
    }
    Ok(exit_status(&phases))
}

/// Cases in the server's database now.
async fn count_cases(database_url: &str) -> Result<i64> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn: diesel::PgConnection = diesel::Connection::establish(&url)?;
        let count: Count =
            diesel::RunQueryDsl::get_result(diesel::sql_query("SELECT count(*) AS n FROM cases"), &mut conn)?;
        anyhow::Ok(count.n)
    })
    .await?
}
