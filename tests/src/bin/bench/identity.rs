//! `bench identity`: health check (baseline), GetMe and Login.
//!
//! 1. `grpc.health.v1.Health/Check`: the baseline (see the crate docs).
//! 2. `IdentityService/GetMe` as a signed-in citizen, through the SDK: the
//!    bearer token is verified (JWT signature and claims), then one account
//!    is read from PostgreSQL (a pooled connection) and its personal data
//!    decrypted.
//! 3. `IdentityService/Login` of a citizen created beforehand, with fewer
//!    callers (`--login-concurrency`): argon2id password verification
//!    (19 MiB, 2 passes) bounded by the server's hashing semaphore, then a
//!    new sign-in (refresh token) written. Successful sign-ins do not count
//!    towards the login throttle, so it never kicks in.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use petition_sdk::{Client, pb};
use petition_tests::{PASSWORD, TestServer, citizen_request, signed_in_citizen};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::LoadArgs;
use crate::monitor::CpuMonitor;
use crate::phase::{Phase, run_phase};
use crate::report::{print_results, ratio};
use crate::support::{connect, describe_sdk, describe_status, exit_status, start_server, stop_server};
use crate::text::citizen_name;

#[derive(Args, Debug, Clone)]
pub struct IdentityArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Concurrent callers of Login (password hashing is bounded by the
    /// server's hashing semaphore, so more callers only queue).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    login_concurrency: u32,
}

/// The health-check phase on `clients`' connections (the generated client,
/// no SDK bookkeeping).
pub async fn health_phase(clients: &[Client], load: &LoadArgs, monitor: &CpuMonitor) -> Result<Phase> {
    let channels: Vec<tonic::transport::Channel> = clients.iter().map(|c| c.channel().clone()).collect();
    run_phase("health", load.concurrency as usize, load, monitor, move |caller| {
        let mut health = HealthClient::new(channels[caller % channels.len()].clone());
        async move {
            let response = health.check(HealthCheckRequest { service: String::new() }).await;
            match response.map(|r| r.into_inner().status) {
                Ok(status) if status == ServingStatus::Serving as i32 => Ok(()),
                Ok(status) => Err(format!("health status {status}, not SERVING")),
                Err(status) => Err(describe_status(&status)),
            }
        }
    })
    .await
}

/// A monitor of the server's database.
pub async fn monitor_of(server: &TestServer) -> Result<CpuMonitor> {
    let database_url = server.database.as_ref().map(|db| db.url().to_owned());
    Ok(tokio::task::spawn_blocking(move || CpuMonitor::new(database_url.as_deref())).await?)
}

pub async fn identity(args: IdentityArgs) -> Result<ExitCode> {
    let load = args.load.clone();
    let (server, mut setup) = start_server("identity", &load, |_| {}).await?;
    setup.lines.push(("login".into(), format!("{} callers (--login-concurrency)", args.login_concurrency)));

    eprintln!("preparing clients and citizens…");
    let connections = load.connections as usize;
    let anonymous = connect(&server, connections).await?;
    // One signed-in citizen per connection, each with its own session.
    let mut citizens = Vec::with_capacity(connections);
    for (i, client) in anonymous.iter().enumerate() {
        let (citizen, _) = signed_in_citizen(client, &citizen_name(i)).await.context("registering a GetMe citizen")?;
        citizens.push(citizen);
    }
    // The citizen whose password Login verifies.
    let login_as = citizen_request("压测登录");
    anonymous[0].identity().register_citizen(login_as.clone()).await.context("registering the Login citizen")?;
    let login_name = login_as.phone;

    let monitor = monitor_of(&server).await?;
    setup.print();
    eprintln!("measuring…");
    let mut phases = Vec::new();

    phases.push(health_phase(&anonymous, &load, &monitor).await?);

    let signed_in = citizens.clone();
    phases.push(
        run_phase("getme", load.concurrency as usize, &load, &monitor, move |caller| {
            let client = signed_in[caller % signed_in.len()].clone();
            async move { client.identity().get_me().await.map(|_| ()).map_err(|e| describe_sdk(&e)) }
        })
        .await?,
    );

    let login_clients = anonymous.clone();
    phases.push(
        run_phase("login", args.login_concurrency as usize, &load, &monitor, move |caller| {
            let client = login_clients[caller % login_clients.len()].clone();
            let request = pb::LoginRequest { login_name: login_name.clone(), password: PASSWORD.into() };
            async move {
                let response = client.identity().login(request).await.map_err(|e| describe_sdk(&e))?;
                match response.tokens {
                    Some(tokens) if !tokens.access_token.is_empty() => Ok(()),
                    _ => Err("LoginResponse without tokens".to_owned()),
                }
            }
        })
        .await?,
    );

    drop((anonymous, citizens, monitor));
    stop_server(server, false).await;

    let getme_over_health = ratio(&phases, "getme", "health");
    let notes: Vec<String> = getme_over_health
        .map(|r| format!("GetMe throughput = {:.1}% of health-check throughput", r * 100.0))
        .into_iter()
        .collect();
    print_results(&setup, &phases, &notes);
    if load.json {
        let mut json = setup.json(&phases);
        json.insert("login_concurrency".into(), args.login_concurrency.into());
        json.insert("getme_over_health".into(), getme_over_health.map(|r| (r * 10_000.0).round() / 10_000.0).into());
        println!("{}", serde_json::Value::Object(json));
    }
    Ok(exit_status(&phases))
}
