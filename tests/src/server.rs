//! A real server in-process on `127.0.0.1:0` over its own database.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use petition_sdk::Client;
use petition_server::app::Application;
use petition_server::config::{Config, Secret};
use petition_server::crypto::SecretKey;
use petition_server::similarity::index::BuildHold;
use petition_server::state::AppState;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::database::TestDatabase;

/// Name of the threads of a server on its own runtime
/// ([`TestServer::start_on_own_runtime`]): its workers and blocking pool.
pub const SERVER_THREAD_NAME: &str = "petition-srv";

/// Password of the bootstrap admin in tests.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// A running server; stopped (gracefully) when dropped or by [`TestServer::stop`].
pub struct TestServer {
    pub url: String,
    /// The server's own database (none when a test brings its own server).
    pub database: Option<TestDatabase>,
    /// What the server's services share (its similarity index, say).
    pub state: Arc<AppState>,
    /// `http://…/metrics`, when the config asked for the endpoint.
    pub metrics_url: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), String>>>,
    data_dir: PathBuf,
    /// The server's own runtime, if it has one; shut down with the server.
    runtime: Option<tokio::runtime::Runtime>,
}

fn random_key() -> String {
    SecretKey::generate().to_base64()
}

/// A client of the server at `url`, signed in as the bootstrap admin.
pub async fn admin_at(url: &str) -> Result<Client> {
    let client = Client::connect(url.to_owned()).await?;
    client.login("admin", ADMIN_PASSWORD).await?;
    Ok(client)
}

/// Defaults for a test server on `database_url`; adjust before spawning.
pub fn test_config(database_url: &str, data_dir: &std::path::Path) -> Config {
    let mut config = Config::from_defaults();
    config.listen = "127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!());
    config.database_url = Some(Secret::new(database_url));
    config.data_dir = data_dir.to_path_buf();
    config.auth.jwt_keys = Some(Secret::new(format!("test={}", random_key())));
    config.auth.data_key = Some(Secret::new(random_key()));
    config.auth.bootstrap_admin_password = Some(Secret::new(ADMIN_PASSWORD));
    config.limits.shutdown_grace_secs = 5;
    // Tests file many cases per person; the limit's own tests turn it on.
    config.intake.daily_filing_limit = 0;
    // Tests file one stock text many times per person; detection would link
    // them as repeats. The intake tests turn it on.
    config.intake.duplicate_detection = false;
    // Tests register many citizens from 127.0.0.1; the registration
    // throttle's own tests turn it on.
    config.auth.registration_max_per_address = 0;
    // Feed readers that see little learn their position sooner.
    config.feed.bookmark_secs = 1;
    // The sweeper passes once at start (over an empty database); the
    // oversight tests drive it with a test clock and a short interval.
    config.oversight.sweep_interval_secs = 3600;
    config
}

impl TestServer {
    /// A server over a fresh database with default test settings.
    pub async fn spawn() -> Result<TestServer> {
        Self::spawn_with(|_| {}).await
    }

    /// A server over a fresh database, with settings changed by `adjust`.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Result<TestServer> {
        let database = tokio::task::spawn_blocking(TestDatabase::create).await??;
        let data_dir = std::env::temp_dir().join(format!("petition-test-{}", uuid::Uuid::now_v7().simple()));
        let mut config = test_config(database.url(), &data_dir);
        adjust(&mut config);
        Self::start(config, Some(database), data_dir).await
    }

    /// Starts a server with exactly `config` (whose database, if created by
    /// the harness, is `database`; it is dropped with the server).
    pub async fn start(config: Config, database: Option<TestDatabase>, data_dir: PathBuf) -> Result<TestServer> {
        Ok(Self::start_holding(config, database, data_dir, false).await?.0)
    }

    /// [`Self::start`], with the background build of the similarity band
    /// index held (if detection is on) until the hold is dropped.
    pub async fn start_holding_similarity_build(
        config: Config,
        database: Option<TestDatabase>,
        data_dir: PathBuf,
    ) -> Result<(TestServer, Option<BuildHold>)> {
        Self::start_holding(config, database, data_dir, true).await
    }

    async fn start_holding(
        config: Config,
        database: Option<TestDatabase>,
        data_dir: PathBuf,
        hold: bool,
    ) -> Result<(TestServer, Option<BuildHold>)> {
        let scheme = if config.tls.cert.is_some() { "https" } else { "http" };
        let app = Application::build(config).await.context("building the server")?;
        let url = format!("{scheme}://{}", app.local_addr()?);
        let metrics_url = app.metrics_addr().map(|address| format!("http://{address}/metrics"));
        let state = app.state();
        // Before the server runs: the build starts with it.
        let hold = state.similarity.as_ref().filter(|_| hold).and_then(|index| index.hold_builds());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| e.to_string())
        });
        let server = TestServer {
            url,
            database,
            state,
            metrics_url,
            stop: Some(stop),
            task: Some(task),
            data_dir,
            runtime: None,
        };
        Ok((server, hold))
    }

    /// [`Self::start`] on a tokio runtime of the server's own, with
    /// `workers` worker threads (the server binary's default: one per core),
    /// its threads named [`SERVER_THREAD_NAME`], so that their CPU time can
    /// be told from the caller's. Blocking threads are kept a long while
    /// (their CPU time is read per thread: one that exits loses it).
    pub async fn start_on_own_runtime(
        config: Config,
        database: Option<TestDatabase>,
        data_dir: PathBuf,
        workers: usize,
    ) -> Result<TestServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .thread_name(SERVER_THREAD_NAME)
            .thread_keep_alive(Duration::from_secs(24 * 3600))
            .enable_all()
            .build()
            .context("building the server's runtime")?;
        let started = runtime.spawn(Self::start(config, database, data_dir)).await;
        match started {
            Ok(Ok(mut server)) => {
                server.runtime = Some(runtime);
                Ok(server)
            }
            // Not dropped here: a runtime must not be dropped in async context.
            Ok(Err(error)) => {
                runtime.shutdown_background();
                Err(error)
            }
            Err(error) => {
                runtime.shutdown_background();
                Err(anyhow::anyhow!("the server's start panicked: {error}"))
            }
        }
    }

    /// A client connected to this server, not signed in (over TLS, it
    /// trusts the system's roots only: tests of TLS build their own).
    pub async fn client(&self) -> Result<Client> {
        Ok(Client::connect(self.url.clone()).await?)
    }

    /// A client connecting from local address `ip`, not signed in: on
    /// Linux every 127.x.y.z is the loopback, so the server sees another
    /// client address (sign-in and registration throttling are per address).
    pub async fn client_from(&self, ip: &str) -> Result<Client> {
        let ip: std::net::IpAddr = ip.parse().context("a client address")?;
        let channel =
            tonic::transport::Endpoint::from_shared(self.url.clone())?.local_address(Some(ip)).connect().await?;
        Ok(Client::from_channel(channel))
    }

    /// A client signed in as the bootstrap admin.
    pub async fn admin(&self) -> Result<Client> {
        admin_at(&self.url).await
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .context("server did not stop")??
                .map_err(|e| anyhow::anyhow!(e))?;
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        Ok(())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
