//! A stopped database: calls fail fast with UNAVAILABLE, and the same
//! server process serves again once the database is back.

use std::time::{Duration, Instant};

use anyhow::Result;
use petition_sdk::RetryPolicy;
use petition_sdk::tonic::Code;
use petition_server::embedded_pg::EmbeddedPostgres;
use petition_tests::server::test_config;
use petition_tests::*;

async fn start_cluster(dir: std::path::PathBuf) -> Result<EmbeddedPostgres> {
    Ok(tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir)).await??)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_fails_fast_with_unavailable_and_recovers_without_restart() -> Result<()> {
    let root = std::env::temp_dir().join(format!("petition-outage-{}", uuid::Uuid::now_v7().simple()));
    let mut cluster = start_cluster(root.join("db")).await?;
    let config = test_config(&cluster.database_url(), &root.join("server"));
    let server = TestServer::start(config, None, root.join("server")).await?;
    // Each call once: this is the server's fail-fast, not the SDK's retries.
    let admin = server.admin().await?.with_retry_policy(RetryPolicy::none());
    admin.identity().get_me().await?;

    tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await?;
    for _ in 0..3 {
        let started = Instant::now();
        let error =
            admin.identity().get_me().await.err().ok_or_else(|| anyhow::anyhow!("served without a database"))?;
        assert_eq!(error.code(), Code::Unavailable, "{error}");
        assert!(error.retry_after().is_some(), "UNAVAILABLE says when to retry");
        assert!(started.elapsed() < Duration::from_secs(3), "failed fast: {:?}", started.elapsed());
    }
    let anonymous = server.client().await?.with_retry_policy(RetryPolicy::none());
    let error = anonymous.login("admin", "whatever-password").await.err();
    assert_eq!(error.map(|e| e.code()), Some(Code::Unavailable), "sign-in needs the database too");

    let _cluster = start_cluster(root.join("db")).await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match admin.identity().get_me().await {
            Ok(_) => break,
            Err(e) if e.code() == Code::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    server.client().await?.login("admin", ADMIN_PASSWORD).await?;
    server.stop().await?;
    drop(_cluster);
    let _ = std::fs::remove_dir_all(root);
    Ok(())
}
