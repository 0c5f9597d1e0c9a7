//! A server under pressure: calls queue for the database for a bounded
//! time, writes keep a share of the pool that reads cannot take, and the
//! server's own time limit answers DEADLINE_EXCEEDED without saving.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use diesel::{Connection, PgConnection, RunQueryDsl};
use petition_sdk::tonic::Code;
use petition_sdk::{RetryPolicy, pb};
use petition_server::error::AppError;
use petition_tests::*;
use tokio::task::JoinHandle;

/// `count` reads through the server's own pool, each holding a connection
/// for `secs` seconds (a burst of slow lists, say). Made outside any call,
/// they queue for their turn rather than being refused.
fn slow_reads(server: &TestServer, count: usize, secs: f64) -> Vec<JoinHandle<Result<(), AppError>>> {
    (0..count)
        .map(|_| {
            let db = server.state.db.clone();
            tokio::spawn(async move {
                db.read(move |conn| {
                    diesel::sql_query(format!("SELECT pg_sleep({secs})")).execute(conn)?;
                    Ok(())
                })
                .await
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_slow_reads_does_not_hold_up_a_filing() -> Result<()> {
    let server = TestServer::spawn_with(|c| {
        c.database.pool_size = 4;
        c.database.queue_timeout_ms = 500;
    })
    .await?;
    let admin = server.admin().await?;
    Directory::create(&admin).await?;
    admin
        .taxonomy()
        .create_category(pb::Category { code: "housing".into(), name: "住房".into(), retired: false })
        .await?;
    let (citizen, _) = signed_in_citizen(&admin.new_session(), "刘群众").await?;
    let citizen = citizen.with_retry_policy(RetryPolicy::none());

    // Twice as many slow reads as the pool has connections.
    let burst = slow_reads(&server, 8, 2.0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let request = pb::SubmitCaseRequest { draft: Some(claim("楼道灯坏了")), request_id: String::new() };
    citizen.cases().submit_case(request).await?;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "the filing waited behind the reads: {took:?}");

    for read in burst {
        read.await??;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_would_queue_past_the_queue_time_fails_fast_with_a_retry_delay() -> Result<()> {
    let server = TestServer::spawn_with(|c| {
        c.database.pool_size = 2;
        c.database.queue_timeout_ms = 300;
    })
    .await?;
    let admin = server.admin().await?.with_retry_policy(RetryPolicy::none());
    admin.identity().get_me().await?;

    let burst = slow_reads(&server, 1, 3.0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let error = admin.identity().get_me().await.err().context("served past the queue time")?;
    let took = started.elapsed();
    assert_eq!(error.code(), Code::Unavailable, "{error}");
    assert_eq!(error.reason(), Some("OVERLOADED"), "{error}");
    let retry_after = error.retry_after().context("UNAVAILABLE says when to retry")?;
    assert!(retry_after >= Duration::from_millis(300), "{retry_after:?}");
    assert!(took < Duration::from_millis(1500), "failed at the queue time, not after the read: {took:?}");

    // With the default policy the SDK waits as asked and gets through.
    let patient = admin.with_retry_policy(RetryPolicy::default().with_max_attempts(20));
    patient.identity().get_me().await?;
    for read in burst {
        read.await??;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_time_limit_answers_deadline_exceeded_and_saves_nothing() -> Result<()> {
    let server = TestServer::spawn_with(|c| c.limits.request_timeout_secs = 3).await?;
    let world = CaseWorld::create(&server).await?;
    let case = world.routed_case("楼道灯坏了").await?;

    // Another transaction holds the case's row: the acceptance waits for
    // it past the time limit.
    let url = server.database.as_ref().context("the server's database")?.url().to_owned();
    let case_id: uuid::Uuid = case.id.parse()?;
    let (locked, is_locked) = tokio::sync::oneshot::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = tokio::task::spawn_blocking(move || -> Result<()> {
        let mut conn = PgConnection::establish(&url)?;
        conn.transaction(|conn| {
            diesel::sql_query("SELECT id FROM cases WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::Uuid, _>(case_id)
                .execute(conn)?;
            let _ = locked.send(());
            let _ = released.recv_timeout(Duration::from_secs(30));
            Ok(())
        })
    });
    is_locked.await?;
    let request = pb::AcceptCaseRequest {
        case_id: case.id.clone(),
        request_id: petition_sdk::new_request_id(),
        ..Default::default()
    };
    let handler = world.handler.with_retry_policy(RetryPolicy::none());
    let started = Instant::now();
    let error = handler.cases().accept_case(request.clone()).await.err().context("accepted through a lock")?;
    let took = started.elapsed();
    assert_eq!(error.code(), Code::DeadlineExceeded, "{error}");
    assert_eq!(error.reason(), Some("SERVER_TIMEOUT"), "{error}");
    assert!(error.message().contains("before it saved anything"), "{error}");
    assert!(took < Duration::from_secs(6), "{took:?}");

    // The stopped transaction gets the row now, and rolls back.
    let _ = release.send(());
    holder.await??;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let unchanged = world.handler.cases().get_case(&case.id).await?;
    assert_eq!(unchanged.state(), pb::CaseState::Routed, "nothing was saved");

    // Repeated with the same request id, it is done, once.
    let accepted = handler.cases().accept_case(request.clone()).await?;
    assert_eq!(accepted.state(), pb::CaseState::Accepted);
    let replay = handler.cases().accept_case(request).await?;
    assert_eq!(replay.etag, accepted.etag, "a replay");
    let events = world
        .handler
        .cases()
        .list_case_events(pb::ListCaseEventsRequest { case_id: case.id.clone(), ..Default::default() })
        .await?
        .events;
    let accepts = events.iter().filter(|e| e.r#type() == pb::CaseEventType::Accepted).count();
    assert_eq!(accepts, 1, "{events:?}");
    Ok(())
}
