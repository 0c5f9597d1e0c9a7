//! Transactions that collide: deadlocks and serialization failures reach
//! clients as ABORTED `CONCURRENT_UPDATE` (rolled back, safe to repeat), a
//! unique violation does not tell clients the constraint's name, and a
//! snapshot read sees one snapshot across its statements.

use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

use anyhow::{Context, Result};
use diesel::{Connection, PgConnection, RunQueryDsl};
use petition_sdk::tonic::{Code, Status};
use petition_server::db::Db;
use petition_server::error::AppError;
use petition_tests::*;

/// A table of two rows, `(1, 0)` and `(2, 0)`, in the server's database.
async fn probe_table(server: &TestServer) -> Result<()> {
    let url = server.database.as_ref().context("the server's database")?.url().to_owned();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let mut conn = PgConnection::establish(&url)?;
        diesel::sql_query("CREATE TABLE probe (id int PRIMARY KEY, v int NOT NULL)").execute(&mut conn)?;
        diesel::sql_query("INSERT INTO probe VALUES (1, 0), (2, 0)").execute(&mut conn)?;
        Ok(())
    })
    .await?
}

fn exec(conn: &mut PgConnection, sql: &str) -> Result<(), AppError> {
    diesel::sql_query(sql).execute(conn)?;
    Ok(())
}

/// What a client is told for `result`'s error: its code and reason.
fn told(result: Result<(), AppError>) -> Option<(Code, Option<String>)> {
    let status = Status::from(result.err()?);
    let error = petition_sdk::Error::from(status);
    Some((error.code(), error.reason().map(str::to_owned)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_is_a_retryable_abort() -> Result<()> {
    let server = TestServer::spawn().await?;
    probe_table(&server).await?;
    let both_locked = Arc::new(Barrier::new(2));
    let transfer = |db: Db, first: i32, second: i32, both_locked: Arc<Barrier>| async move {
        db.run(move |conn| {
            exec(conn, &format!("UPDATE probe SET v = v + 1 WHERE id = {first}"))?;
            both_locked.wait();
            exec(conn, &format!("UPDATE probe SET v = v + 1 WHERE id = {second}"))
        })
        .await
    };
    let (a, b) = tokio::join!(
        transfer(server.state.db.clone(), 1, 2, both_locked.clone()),
        transfer(server.state.db.clone(), 2, 1, both_locked),
    );
    let outcomes = [told(a), told(b)];
    let aborted = Some((Code::Aborted, Some("CONCURRENT_UPDATE".to_owned())));
    assert!(outcomes.contains(&None) && outcomes.contains(&aborted), "one rolled back, one done: {outcomes:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serialization_failure_is_a_retryable_abort_not_an_etag_mismatch() -> Result<()> {
    let server = TestServer::spawn().await?;
    probe_table(&server).await?;
    let (read, has_read) = mpsc::channel::<()>();
    let (written, was_written) = mpsc::channel::<()>();
    let db = server.state.db.clone();
    let stale = tokio::spawn(async move {
        db.run(move |conn| {
            exec(conn, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")?;
            exec(conn, "SELECT v FROM probe WHERE id = 1")?;
            let _ = read.send(());
            let _ = was_written.recv_timeout(Duration::from_secs(10));
            exec(conn, "UPDATE probe SET v = 10 WHERE id = 1")
        })
        .await
    });
    tokio::task::spawn_blocking(move || has_read.recv_timeout(Duration::from_secs(10))).await??;
    server.state.db.run(|conn| exec(conn, "UPDATE probe SET v = 5 WHERE id = 1")).await?;
    let _ = written.send(());
    assert_eq!(told(stale.await?), Some((Code::Aborted, Some("CONCURRENT_UPDATE".into()))));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_read_sees_one_snapshot_and_a_plain_read_does_not() -> Result<()> {
    let server = TestServer::spawn().await?;
    probe_table(&server).await?;
    let url = server.database.as_ref().context("the server's database")?.url().to_owned();
    // Reads v, lets another connection commit a change, reads v again.
    let twice = move |conn: &mut PgConnection| -> Result<(i32, i32), AppError> {
        #[derive(diesel::QueryableByName)]
        struct V {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            v: i32,
        }
        let read = |conn: &mut PgConnection| -> Result<i32, AppError> {
            Ok(diesel::sql_query("SELECT v FROM probe WHERE id = 1").get_result::<V>(conn)?.v)
        };
        let before = read(conn)?;
        let mut other = PgConnection::establish(&url).map_err(AppError::internal)?;
        exec(&mut other, "UPDATE probe SET v = v + 1 WHERE id = 1")?;
        Ok((before, read(conn)?))
    };
    let (before, after) = server.state.db.read_snapshot(twice.clone()).await?;
    assert_eq!(after, before, "one snapshot");
    let (before, after) = server.state.db.read(twice).await?;
    assert_eq!(after, before + 1, "each statement sees what is committed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unique_violation_does_not_name_its_constraint() -> Result<()> {
    let server = TestServer::spawn().await?;
    probe_table(&server).await?;
    let duplicate = server.state.db.run(|conn| exec(conn, "INSERT INTO probe VALUES (1, 0)")).await;
    let status = Status::from(duplicate.err().context("inserted twice")?);
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(!status.message().contains("probe"), "{}", status.message());
    Ok(())
}
