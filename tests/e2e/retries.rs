//! The SDK's retries against the real server: a filing that meets a
//! restarting server is retried under the request id the SDK gave it, and
//! files one case.

use std::time::{Duration, Instant};

use anyhow::Result;
use diesel::prelude::*;
use petition_sdk::{RetryPolicy, pb};
use petition_server::schema::idempotency_keys;
use petition_tests::server::test_config;
use petition_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filing_retried_across_a_server_restart_files_one_case() -> Result<()> {
    let database = tokio::task::spawn_blocking(TestDatabase::create).await??;
    let root = std::env::temp_dir().join(format!("petition-restart-{}", uuid::Uuid::now_v7().simple()));
    let config = test_config(database.url(), &root.join("first"));
    let first = TestServer::start(config.clone(), None, root.join("first")).await?;
    let address = first.url.trim_start_matches("http://").parse()?;
    let world = CaseWorld::create(&first).await?;
    let citizen = world.owner.with_retry_policy(
        RetryPolicy::default()
            .with_max_attempts(200)
            .with_max_backoff(Duration::from_millis(100))
            .with_max_elapsed(Duration::from_secs(30)),
    );

    // The server goes away, and comes back on the same port (same keys,
    // same database) a moment later.
    first.stop().await?;
    let restart = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let mut config = config;
        config.listen = address;
        config.data_dir = root.join("second");
        TestServer::start(config, None, root.join("second")).await
    });
    let started = Instant::now();
    let request = pb::SubmitCaseRequest { draft: Some(claim("重启期间提交")), request_id: String::new() };
    let case = citizen.cases().submit_case(request).await?;
    assert!(started.elapsed() >= Duration::from_millis(500), "answered without the server: {:?}", started.elapsed());
    let second = restart.await??;

    let mine = citizen.cases().list_cases(pb::ListCasesRequest::default()).await?.cases;
    assert_eq!(mine.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [case.id.as_str()], "one case");
    // The SDK gave the filing its id: one idempotency record, a UUIDv7.
    let mut conn = database.connect()?;
    let keys: Vec<String> = idempotency_keys::table.select(idempotency_keys::request_id).load(&mut conn)?;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(uuid::Uuid::parse_str(&keys[0])?.get_version_num(), 7);
    second.stop().await?;
    Ok(())
}
