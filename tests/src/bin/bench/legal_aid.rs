//! `bench legal-aid`: a legal-aid centre's lists at the scale of 100,000
//! applications.
//!
//! Set-up: the directory (赣州市司法局 above 赣州市法律援助中心), the centre's
//! reviewer and a lawyer, a citizen; one application made through the API
//! serves as the template that a few big SQL statements copy
//! `--applications` times, rows and their CREATED events together (the
//! states spread over all nine, one in 200 assigned to the lawyer), then
//! `VACUUM (ANALYZE)`.
//!
//! Phases, each with `--callers` callers (8 by default):
//!
//! 1. `health`: the baseline (see the crate docs).
//! 2. `List(centre)`: the first page (50) of the centre's applications,
//!    `centre_organization_id` filter, as the centre's reviewer.
//! 3. `List(centre, state)`: the same with `states = [UNDER_REVIEW]`.
//! 4. `List(assigned_to_me)`: the lawyer's own matters.
//!
//! Target: p99 ≤ 20 ms for each list.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use petition_sdk::{Client, pb};
use petition_tests::builders::{organization, signed_in_citizen, signed_in_staff};
use uuid::Uuid;

use crate::LoadArgs;
use crate::identity::{health_phase, monitor_of};
use crate::phase::{Phase, run_phase};
use crate::report::print_results;
use crate::support::{connect, describe_sdk, exit_status, start_server, stop_server};

#[derive(Args, Debug, Clone)]
pub struct LegalAidArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Applications of the centre.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=5_000_000))]
    applications: u32,

    /// Concurrent callers of every phase.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    callers: u32,

    /// Leave the server's database in place afterwards (its name is printed).
    #[arg(long)]
    keep_database: bool,
}

const PAGE_SIZE: i32 = 50;
const LIST_TARGET_MS: f64 = 20.0;
/// Rows (and events) one statement copies: an event's place in its
/// transaction is a SMALLINT.
const BATCH: i64 = 25_000;

/// Copies application `template` `n` times with its CREATED event.
fn copy_applications(database_url: &str, template: Uuid, lawyer: Uuid, n: i64) -> Result<f64> {
    let started = Instant::now();
    let mut conn = PgConnection::establish(database_url).context("connecting to the server's database")?;
    let mut done = 0;
    while done < n {
        let count = BATCH.min(n - done);
        diesel::sql_query(
            "WITH t AS (SELECT * FROM legal_aid_applications WHERE id = $1),
                  p AS (SELECT payload FROM events WHERE aggregate_id = $1 AND sequence = 1),
                  ins AS (
                      INSERT INTO legal_aid_applications (id, centre_organization_id, bureau_organization_id,
                          origin_organization_id, case_id, applicant_account_id, applicant_name,
                          applicant_phone_masked, applicant_phone_cipher, applicant_key, adverse_parties,
                          adverse_keys, matter_type, matter_summary, lawyer_account_id, state, receive_date,
                          due_date, lifecycle, version, last_sequence, created_at, updated_at)
                      SELECT gen_random_uuid(), t.centre_organization_id, t.bureau_organization_id,
                          t.origin_organization_id, t.case_id, t.applicant_account_id, t.applicant_name,
                          t.applicant_phone_masked, t.applicant_phone_cipher, t.applicant_key,
                          ARRAY['被申请单位' || g], ARRAY['被申请单位' || g], t.matter_type, t.matter_summary,
                          CASE WHEN g % 200 = 3 THEN $2 END, (1 + g % 9)::smallint, t.receive_date,
                          t.due_date, t.lifecycle, 1, 1, t.created_at, t.updated_at
                      FROM t, generate_series($3, $4) g
                      RETURNING id, state, created_at)
             INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, actor_id, occurred_at,
                                 state, payload, idx)
             SELECT 3, ins.id, 1, 1, NULL, ins.created_at, ins.state, p.payload,
                    (row_number() OVER () - 1)::smallint
             FROM ins, p",
        )
        .bind::<SqlUuid, _>(template)
        .bind::<SqlUuid, _>(lawyer)
        .bind::<BigInt, _>(done)
        .bind::<BigInt, _>(done + count - 1)
        .execute(&mut conn)?;
        done += count;
    }
    diesel::sql_query("VACUUM (ANALYZE) legal_aid_applications").execute(&mut conn)?;
    diesel::sql_query("VACUUM (ANALYZE) events").execute(&mut conn)?;
    Ok(started.elapsed().as_secs_f64())
}

async fn list_phase(
    name: &'static str,
    clients: Arc<Vec<Client>>,
    request: pb::ListLegalAidApplicationsRequest,
    load: &LoadArgs,
    monitor: &crate::monitor::CpuMonitor,
) -> Result<Phase> {
    run_phase(name, load.concurrency as usize, load, monitor, move |caller| {
        let client = clients[caller % clients.len()].clone();
        let request = request.clone();
        async move {
            let page = client.legal_aid().list_legal_aid_applications(request).await.map_err(|e| describe_sdk(&e))?;
            match page.applications.len() {
                0 => Err("an empty page".to_owned()),
                n if n > PAGE_SIZE as usize => Err(format!("a page of {n}")),
                _ => Ok(()),
            }
        }
    })
    .await
}

/// `login` signed in once per client.
async fn sessions_of(clients: &[Client], login: &str) -> Result<Vec<Client>> {
    let mut out = Vec::new();
    for client in clients {
        let session = client.new_session();
        session.login(login, petition_tests::builders::PASSWORD).await?;
        out.push(session);
    }
    Ok(out)
}

pub async fn legal_aid(args: LegalAidArgs) -> Result<ExitCode> {
    let mut load = args.load.clone();
    load.concurrency = args.callers;
    let (server, mut setup) = start_server("legal-aid", &load, |_| {}).await?;
    let database_url = server.database.as_ref().context("the server has no harness database")?.url().to_owned();

    eprintln!("preparing: the directory and a template application…");
    let admin = server.admin().await?;
    let city = admin
        .directory()
        .create_region(pb::CreateRegionRequest {
            code: "360700".into(),
            name: "赣州市".into(),
            level: pb::RegionLevel::City.into(),
            parent_code: String::new(),
        })
        .await?;
    use pb::OrganizationKind as Kind;
    let justice = organization(&admin, "赣州市司法局", Kind::JusticeBureau, &city, None).await?;
    let centre = organization(&admin, "赣州市法律援助中心", Kind::LegalAidCentre, &city, Some(&justice)).await?;
    let (_, _) = signed_in_staff(&admin, "la.reviewer", &centre, &[pb::Role::Handler]).await?;
    let (_, lawyer) = signed_in_staff(&admin, "la.lawyer", &centre, &[pb::Role::Lawyer]).await?;
    let (citizen, _) = signed_in_citizen(&admin.new_session(), "申请人").await?;
    let template = citizen
        .legal_aid()
        .create_legal_aid_application(pb::CreateLegalAidApplicationRequest {
            centre_organization_id: centre.id.clone(),
            matter_type: pb::LegalAidMatterType::Labour.into(),
            matter_summary: "工地欠薪三个月，请求支付劳动报酬".into(),
            adverse_parties: vec!["某建筑劳务有限公司".into()],
            hardship: Some(pb::LegalAidHardship {
                statement: "家庭无其他收入来源".into(),
                verification: pb::HardshipVerification::PersonalCommitment.into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?;
    eprintln!("copying it {} times with its events…", args.applications);
    let (url, template_id, lawyer_id, n) =
        (database_url.clone(), template.id.parse::<Uuid>()?, lawyer.id.parse::<Uuid>()?, i64::from(args.applications));
    let seconds = tokio::task::spawn_blocking(move || copy_applications(&url, template_id, lawyer_id, n)).await??;
    setup.lines.push((
        "centre".into(),
        format!(
            "{} applications of one centre (+ the template) with their CREATED events, states spread over all \
             nine, one in 200 assigned to the lawyer ({} matters), copied in {seconds:.1}s, VACUUM (ANALYZE) \
             included",
            args.applications,
            args.applications / 200
        ),
    ));
    let anonymous = connect(&server, load.connections as usize).await?;
    let reviewers = Arc::new(sessions_of(&anonymous, "la.reviewer").await?);
    let lawyers = Arc::new(sessions_of(&anonymous, "la.lawyer").await?);
    setup.lines.push((
        "readers".into(),
        "the centre's reviewer (Handler: sees the centre's applications) and its lawyer (sees the matters \
         assigned to them)"
            .into(),
    ));
    let monitor = monitor_of(&server).await?;
    setup.print();
    eprintln!("measuring…");
    let centre_page = pb::ListLegalAidApplicationsRequest {
        centre_organization_id: centre.id.clone(),
        page_size: PAGE_SIZE,
        ..Default::default()
    };
    let mut phases = vec![health_phase(&anonymous, &load, &monitor).await?];
    phases.push(list_phase("List(centre)", reviewers.clone(), centre_page.clone(), &load, &monitor).await?);
    let by_state = pb::ListLegalAidApplicationsRequest {
        states: vec![pb::LegalAidState::UnderReview.into()],
        ..centre_page.clone()
    };
    phases.push(list_phase("List(centre, state)", reviewers.clone(), by_state, &load, &monitor).await?);
    let mine = pb::ListLegalAidApplicationsRequest { assigned_to_me: true, page_size: PAGE_SIZE, ..Default::default() };
    phases.push(list_phase("List(assigned_to_me)", lawyers.clone(), mine, &load, &monitor).await?);

    drop((anonymous, reviewers, lawyers, monitor));
    stop_server(server, args.keep_database).await;
    let notes: Vec<String> = ["List(centre)", "List(centre, state)", "List(assigned_to_me)"]
        .iter()
        .filter_map(|rpc| {
            phases.iter().find(|p| p.rpc == *rpc).map(|p| {
                let p99 = p.quantile_ms(0.99);
                format!(
                    "{rpc}: p99 {p99:.2} ms against the target of {LIST_TARGET_MS:.0} ms: {}",
                    if p99 <= LIST_TARGET_MS { "met" } else { "MISSED" }
                )
            })
        })
        .collect();
    print_results(&setup, &phases, &notes);
    if load.json {
        println!("{}", serde_json::Value::Object(setup.json(&phases)));
    }
    Ok(exit_status(&phases))
}
