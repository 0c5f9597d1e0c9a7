//! `bench tls`: what serving TLS costs, against plain HTTP/2 in the same run.
//!
//! Two servers with default settings, one plain and one serving TLS with a
//! certificate from a CA made here (rcgen, ECDSA P-256), each over its own
//! fresh database. Each phase runs plain, then over TLS:
//!
//! 1. `grpc.health.v1.Health/Check` on `--connections` open connections:
//!    the transport alone, so the difference is the record layer
//!    (encryption both ways);
//! 2. `IdentityService/GetMe` as a signed-in citizen, through the SDK;
//! 3. a new connection per call from 8 callers (TCP, for TLS the
//!    handshake, then one health check): what clients that do not keep
//!    their connections pay. The client side builds its TLS configuration
//!    (the CA parsed) for each connection, as a new `ClientBuilder` does.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use petition_sdk::{Client, ClientBuilder, RetryPolicy};
use petition_tests::signed_in_citizen;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::LoadArgs;
use crate::identity::monitor_of;
use crate::monitor::CpuMonitor;
use crate::phase::{Phase, run_phase};
use crate::report::{print_results, ratio};
use crate::support::{describe_sdk, describe_status, exit_status, start_server, stop_server};
use crate::text::citizen_name;

#[derive(Args, Debug, Clone)]
pub struct TlsArgs {
    #[command(flatten)]
    pub load: LoadArgs,
}

/// A CA's certificate (PEM) and a server certificate for `127.0.0.1` it
/// issued, with its key.
fn certificates() -> Result<(String, String, String)> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name.push(DnType::CommonName, "bench CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
    let leaf_key = KeyPair::generate()?;
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])?.signed_by(&leaf_key, &ca)?;
    Ok((ca.pem(), leaf.pem(), leaf_key.serialize_pem()))
}

/// How clients reach one of the two servers.
#[derive(Clone)]
struct Target {
    url: String,
    ca: Option<Arc<String>>,
}

impl Target {
    /// A client on a new connection, making each call once.
    async fn client(&self) -> petition_sdk::Result<Client> {
        let builder = ClientBuilder::new(self.url.clone()).retry_policy(RetryPolicy::none());
        match &self.ca {
            Some(ca) => builder.ca_certificate(ca.as_bytes()).connect().await,
            None => builder.connect().await,
        }
    }
}

async fn health(channel: tonic::transport::Channel) -> Result<(), String> {
    let response = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await;
    response.map(|_| ()).map_err(|status| describe_status(&status))
}

/// Callers opening connections: each new connection also leaves a socket
/// in TIME_WAIT, so fewer than the RPC phases' callers.
const CONNECT_CALLERS: usize = 8;

/// Open connections to one server and a signed-in citizen on each.
struct Prepared {
    target: Target,
    channels: Vec<tonic::transport::Channel>,
    citizens: Vec<Client>,
}

async fn prepare(target: Target, load: &LoadArgs) -> Result<Prepared> {
    let mut channels = Vec::new();
    let mut citizens = Vec::new();
    for i in 0..load.connections as usize {
        let client = target.client().await.context("connecting")?;
        let (citizen, _) = signed_in_citizen(&client, &citizen_name(i)).await.context("registering a citizen")?;
        channels.push(client.channel().clone());
        citizens.push(citizen);
    }
    Ok(Prepared { target, channels, citizens })
}

async fn health_phase(name: &'static str, on: &Prepared, load: &LoadArgs, monitor: &CpuMonitor) -> Result<Phase> {
    let channels = on.channels.clone();
    run_phase(name, load.concurrency as usize, load, monitor, move |caller| {
        health(channels[caller % channels.len()].clone())
    })
    .await
}

async fn getme_phase(name: &'static str, on: &Prepared, load: &LoadArgs, monitor: &CpuMonitor) -> Result<Phase> {
    let citizens = on.citizens.clone();
    run_phase(name, load.concurrency as usize, load, monitor, move |caller| {
        let client = citizens[caller % citizens.len()].clone();
        async move { client.identity().get_me().await.map(|_| ()).map_err(|e| describe_sdk(&e)) }
    })
    .await
}

async fn connect_phase(name: &'static str, on: &Prepared, load: &LoadArgs, monitor: &CpuMonitor) -> Result<Phase> {
    let target = on.target.clone();
    run_phase(name, CONNECT_CALLERS, load, monitor, move |_| {
        let target = target.clone();
        async move {
            let client = target.client().await.map_err(|e| describe_sdk(&e))?;
            health(client.channel().clone()).await
        }
    })
    .await
}

pub async fn tls(args: TlsArgs) -> Result<ExitCode> {
    let load = args.load.clone();
    let (ca, cert, key) = certificates()?;
    let dir = std::env::temp_dir().join(format!("petition-bench-tls-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let (cert_path, key_path) = (dir.join("server.crt"), dir.join("server.key"));
    std::fs::write(&cert_path, cert)?;
    std::fs::write(&key_path, key)?;

    let (plain, mut setup) = start_server("tls", &load, |_| {}).await?;
    let (secure, _) = start_server("tls", &load, |config| {
        config.tls.cert = Some(cert_path.clone());
        config.tls.key = Some(key_path.clone());
    })
    .await?;
    setup.lines.push(("tls server".into(), format!("{} (rustls on ring, ECDSA P-256 certificate)", secure.url)));
    let monitor = monitor_of(&secure).await?;
    setup.print();

    eprintln!("measuring…");
    let open = prepare(Target { url: plain.url.clone(), ca: None }, &load).await?;
    let sealed = prepare(Target { url: secure.url.clone(), ca: Some(Arc::new(ca)) }, &load).await?;
    let measured = vec![
        health_phase("health", &open, &load, &monitor).await?,
        health_phase("health-tls", &sealed, &load, &monitor).await?,
        getme_phase("getme", &open, &load, &monitor).await?,
        getme_phase("getme-tls", &sealed, &load, &monitor).await?,
        connect_phase("connect", &open, &load, &monitor).await?,
        connect_phase("connect-tls", &sealed, &load, &monitor).await?,
    ];

    drop((open, sealed, monitor));
    stop_server(plain, false).await;
    stop_server(secure, false).await;
    let _ = std::fs::remove_dir_all(&dir);

    let pairs = [("health", "health-tls"), ("getme", "getme-tls"), ("connect", "connect-tls")];
    let notes: Vec<String> = pairs
        .iter()
        .filter_map(|(plain, tls)| {
            ratio(&measured, tls, plain).map(|r| format!("{tls} throughput = {:.1}% of {plain}", r * 100.0))
        })
        .collect();
    print_results(&setup, &measured, &notes);
    if load.json {
        let mut json = setup.json(&measured);
        for (plain, tls) in pairs {
            let r = ratio(&measured, tls, plain).map(|r| (r * 10_000.0).round() / 10_000.0);
            json.insert(format!("{tls}_over_{plain}"), r.into());
        }
        println!("{}", serde_json::Value::Object(json));
    }
    Ok(exit_status(&measured))
}
