//! The server as a process of its own (the `serve` binary of this package:
//! the `petition-server` command, whose path the e2e tests pass in as
//! `env!("CARGO_BIN_EXE_serve")`), for tests that kill it with SIGKILL and
//! start it again on the same address and database.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use petition_sdk::Client;
use petition_server::crypto::SecretKey;

use crate::database::TestDatabase;
use crate::server::{ADMIN_PASSWORD, admin_at};

/// A server process over its own database; killed when dropped.
pub struct ServerProcess {
    pub url: String,
    binary: PathBuf,
    pub database: TestDatabase,
    listen: String,
    data_dir: PathBuf,
    jwt_keys: String,
    data_key: String,
    extra_env: Vec<(String, String)>,
    /// Where the process's standard error goes, when captured.
    log: Option<PathBuf>,
    child: Option<Child>,
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl ServerProcess {
    /// The database URL and the keys (JWT keys, data key) of this server:
    /// another server on the same database (a second replica) takes them.
    pub fn shared_settings(&self) -> (String, String, String) {
        (self.database.url().to_owned(), self.jwt_keys.clone(), self.data_key.clone())
    }

    /// Starts `binary` (the server command) over a fresh database, with
    /// `env` added to its environment (settings, as `PETITION_*` variables).
    pub async fn start(binary: &str, env: &[(&str, &str)]) -> Result<ServerProcess> {
        Self::start_with_log(binary, env, false).await
    }

    /// [`start`](Self::start), with the process's standard error kept in a
    /// file (across restarts) for [`log`](Self::log) to read.
    pub async fn start_logged(binary: &str, env: &[(&str, &str)]) -> Result<ServerProcess> {
        Self::start_with_log(binary, env, true).await
    }

    async fn start_with_log(binary: &str, env: &[(&str, &str)], logged: bool) -> Result<ServerProcess> {
        let database = tokio::task::spawn_blocking(TestDatabase::create).await??;
        let listen = format!("127.0.0.1:{}", free_port()?);
        let data_dir = std::env::temp_dir().join(format!("petition-process-{}", uuid::Uuid::now_v7().simple()));
        let mut server = ServerProcess {
            url: format!("http://{listen}"),
            binary: PathBuf::from(binary),
            database,
            listen,
            data_dir,
            jwt_keys: format!("test={}", SecretKey::generate().to_base64()),
            data_key: SecretKey::generate().to_base64(),
            extra_env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            log: logged
                .then(|| std::env::temp_dir().join(format!("petition-log-{}.log", uuid::Uuid::now_v7().simple()))),
            child: None,
        };
        server.spawn().await?;
        Ok(server)
    }

    async fn spawn(&mut self) -> Result<()> {
        let stderr = match &self.log {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new().create(true).append(true).open(path).context("opening the log file")?,
            ),
            None => Stdio::inherit(),
        };
        let child = Command::new(&self.binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", self.database.url())
            .env("PETITION_LISTEN", &self.listen)
            .env("PETITION_DATA_DIR", &self.data_dir)
            .env("PETITION_JWT_KEYS", &self.jwt_keys)
            .env("PETITION_DATA_KEY", &self.data_key)
            .env("PETITION_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("PETITION_DAILY_FILING_LIMIT", "0")
            .env("PETITION_REGISTRATION_MAX_PER_ADDRESS", "0")
            .env("PETITION_DUPLICATE_DETECTION", "false")
            .env("PETITION_LOG", "warn")
            .envs(self.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context("starting the server process")?;
        self.child = Some(child);
        self.wait_until_serving().await
    }

    async fn wait_until_serving(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!("the server process exited at start: {status}");
            }
            if let Ok(client) = Client::connect(self.url.clone()).await {
                let mut health = tonic_health::pb::health_client::HealthClient::new(client.channel().clone());
                let serving = health
                    .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
                    .await
                    .is_ok_and(|r| {
                        r.get_ref().status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
                    });
                if serving {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("the server process did not start serving within a minute");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the process with SIGKILL: no drain, no goodbye to anyone.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts the process again on the same address, database and keys.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill()?;
        self.spawn().await
    }

    /// What the process has written to standard error so far (empty when
    /// not started with [`start_logged`](Self::start_logged)).
    pub fn log(&self) -> Result<String> {
        match &self.log {
            Some(path) => Ok(std::fs::read_to_string(path)?),
            None => Ok(String::new()),
        }
    }

    /// A client connected to the process, not signed in.
    pub async fn client(&self) -> Result<Client> {
        Ok(Client::connect(self.url.clone()).await?)
    }

    /// A client signed in as the bootstrap admin.
    pub async fn admin(&self) -> Result<Client> {
        admin_at(&self.url).await
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.kill();
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some(log) = &self.log {
            let _ = std::fs::remove_file(log);
        }
    }
}
