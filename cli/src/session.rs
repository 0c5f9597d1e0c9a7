//! The signed-in session, kept between runs: the server and the token pair
//! in `session.json` under the user's config directory
//! (`$PETITIONCTL_CONFIG_DIR`, else `$XDG_CONFIG_HOME/petitionctl`, else
//! `~/.config/petitionctl`), readable by the user alone (0600). The SDK
//! renews the access token; the renewed pair is written back after the
//! command. A service account signs in from the environment instead
//! (`PETITION_CLIENT_ID`, `PETITION_CLIENT_SECRET`) and keeps nothing.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use petition_sdk::{Client, pb};
use serde::{Deserialize, Serialize};

use crate::state_file;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Stored {
    server: String,
    access_token: String,
    refresh_token: String,
}

fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PETITIONCTL_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("petitionctl"));
    }
    let home = std::env::var_os("HOME").context("no HOME to keep the session under (set PETITIONCTL_CONFIG_DIR)")?;
    Ok(PathBuf::from(home).join(".config").join("petitionctl"))
}

fn session_file() -> Result<PathBuf> {
    Ok(config_dir()?.join("session.json"))
}

/// Writes the session, readable by the user alone, replacing the old one
/// whole.
fn store(stored: &Stored) -> Result<()> {
    let path = session_file()?;
    let dir = path.parent().context("the session file has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    state_file::replace(&path, stored, true)
}

fn load() -> Result<Option<Stored>> {
    state_file::read(&session_file()?)
}

/// Signs in with a password and keeps the session.
pub async fn login(server: &str, user: &str, password: &str) -> Result<pb::Account> {
    let client = Client::connect(server.to_owned()).await?;
    let account = client.login(user, password).await?;
    let tokens = client.tokens().context("signed in without tokens")?;
    store(&Stored {
        server: server.to_owned(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
    })?;
    Ok(account)
}

/// Signs out on the server and forgets the session.
pub async fn logout() -> Result<()> {
    if let Some(stored) = load()? {
        let client = Client::connect(stored.server.clone()).await?;
        client.set_tokens(pb::TokenPair {
            access_token: stored.access_token,
            refresh_token: stored.refresh_token,
            ..Default::default()
        })?;
        // Forgotten here whatever the server said: signing out must not
        // leave a session behind.
        let revoked = client.logout().await;
        std::fs::remove_file(session_file()?)?;
        revoked?;
    }
    Ok(())
}

/// A signed-in client for `server`: a service account from the
/// environment, else the kept session.
pub struct Session {
    pub client: Client,
    kept: Option<Stored>,
}

impl Session {
    pub async fn open(server: &str) -> Result<Session> {
        let client = Client::connect(server.to_owned()).await?;
        if let (Ok(id), Ok(secret)) = (std::env::var("PETITION_CLIENT_ID"), std::env::var("PETITION_CLIENT_SECRET")) {
            client.login_with_client_credentials(id, secret, []).await?;
            return Ok(Session { client, kept: None });
        }
        let Some(stored) = load()? else { bail!("not signed in: run `petitionctl login`") };
        if stored.server != server {
            bail!("signed in to {}, not {server}: run `petitionctl login --server {server}`", stored.server);
        }
        client.set_tokens(pb::TokenPair {
            access_token: stored.access_token.clone(),
            refresh_token: stored.refresh_token.clone(),
            ..Default::default()
        })?;
        Ok(Session { client, kept: Some(stored) })
    }

    /// Keeps the tokens the SDK renewed meanwhile.
    pub fn close(self) -> Result<()> {
        let (Some(kept), Some(tokens)) = (self.kept, self.client.tokens()) else { return Ok(()) };
        let now = Stored {
            server: kept.server.clone(),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
        };
        if now != kept { store(&now) } else { Ok(()) }
    }
}

/// A password from standard input (`stdin`), else from the variable `env`;
/// never an argument, which every user of the machine could see.
pub fn password(stdin: bool, env: &str) -> Result<String> {
    if stdin {
        let mut password = String::new();
        std::io::stdin().read_to_string(&mut password).context("reading the password")?;
        return Ok(password.trim_end_matches(['\r', '\n']).to_owned());
    }
    std::env::var(env).with_context(|| format!("give the password on standard input (--password-stdin) or in ${env}"))
}
