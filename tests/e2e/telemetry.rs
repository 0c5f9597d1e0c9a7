//! The metrics endpoint (`--metrics-listen`): scraped after a few calls,
//! its counts are the calls made; the readings are there; it is off unless
//! asked for.

use anyhow::{Context, Result};
use petition_sdk::tonic::Code;
use petition_tests::scrape::{get, sample};
use petition_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_counts_the_calls_made_by_method_and_code() -> Result<()> {
    let server =
        TestServer::spawn_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"))).await?;
    let url = server.metrics_url.clone().context("the endpoint was asked for")?;
    let admin = server.client().await?;
    admin.login("admin", ADMIN_PASSWORD).await?;
    for _ in 0..3 {
        admin.identity().get_me().await?;
    }
    for _ in 0..2 {
        let missing = admin.cases().get_case(uuid::Uuid::now_v7().to_string()).await;
        assert_eq!(missing.err().map(|e| e.code()), Some(Code::NotFound));
    }
    let stranger = server.client().await?;
    let refused = stranger.identity().get_me().await;
    assert_eq!(refused.err().map(|e| e.code()), Some(Code::Unauthenticated));

    let (status, content_type, text) = get(&url).await?;
    assert!(status.contains("200"), "{status}");
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let calls = "petition_rpc_calls_total";
    let get_me = r#"method="/petition.v1.IdentityService/GetMe""#;
    let get_case = r#"method="/petition.v1.CaseService/GetCase""#;
    let login = r#"method="/petition.v1.IdentityService/Login""#;
    assert_eq!(sample(&text, calls, &[get_me, r#"code="OK""#]), Some(3.0), "{text}");
    assert_eq!(sample(&text, calls, &[get_me, r#"code="UNAUTHENTICATED""#]), Some(1.0));
    assert_eq!(sample(&text, calls, &[get_case, r#"code="NOT_FOUND""#]), Some(2.0));
    assert_eq!(sample(&text, calls, &[login, r#"code="OK""#]), Some(1.0));
    assert_eq!(sample(&text, "petition_rpc_duration_seconds_count", &[get_me]), Some(4.0));
    assert_eq!(sample(&text, "petition_rpc_duration_seconds_bucket", &[get_case, r#"le="+Inf""#]), Some(2.0));
    // Nothing else was called.
    let total: f64 =
        text.lines().filter(|l| l.starts_with(calls)).filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok()).sum();
    assert_eq!(total, 7.0, "{text}");

    // The readings.
    let pool = sample(&text, "petition_db_pool_size", &[]).context("the pool's size")?;
    assert!(pool >= 1.0);
    assert!(sample(&text, "petition_db_pool_in_use", &[]).is_some());
    assert!(sample(&text, "petition_db_pool_waiting", &[]).is_some());
    assert!(sample(&text, "petition_blocking_queued", &[]).is_some());
    let held = sample(&text, "petition_feed_horizon_held_seconds", &[]).context("the feed's horizon")?;
    assert!(held >= 0.0);
    assert!(sample(&text, "petition_sweeper_lag_seconds", &[]).is_some());
    // No personal data: the sign-in names no one.
    assert!(!text.contains("admin"), "{text}");

    // A second scrape counts on: the first scrape was not a call.
    admin.identity().get_me().await?;
    let (_, _, again) = get(&url).await?;
    assert_eq!(sample(&again, calls, &[get_me, r#"code="OK""#]), Some(4.0));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_paths_share_one_label() -> Result<()> {
    let server =
        TestServer::spawn_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().expect("an address"))).await?;
    let url = server.metrics_url.clone().context("the endpoint was asked for")?;
    let client = server.client().await?;
    for path in ["/petition.v1.CaseService/NoSuch", "/x.Y/Z"] {
        let mut grpc = tonic::client::Grpc::new(client.channel().clone());
        grpc.ready().await?;
        let codec = tonic_prost::ProstCodec::<(), ()>::default();
        let answer = grpc
            .unary(tonic::Request::new(()), tonic::codegen::http::uri::PathAndQuery::from_static(path), codec)
            .await;
        assert_eq!(answer.err().map(|s| s.code()), Some(Code::Unimplemented), "{path}");
    }
    let (_, _, text) = get(&url).await?;
    assert_eq!(sample(&text, "petition_rpc_calls_total", &[r#"method="other""#, r#"code="UNIMPLEMENTED""#]), Some(2.0));
    assert!(!text.contains("NoSuch") && !text.contains("x.Y"), "{text}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_is_off_unless_asked_for() -> Result<()> {
    let server = TestServer::spawn().await?;
    assert!(server.metrics_url.is_none());
    Ok(())
}
