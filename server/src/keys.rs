//! Key material: JWT signing keys and the personal-data key, from the
//! configuration or, when not configured, generated once and kept in
//! `<data-dir>/keys.json` (mode 0600) so that a newcomer's server keeps its
//! data readable and its tokens valid across restarts.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::auth::tokens::{SigningKey, parse_keys};
use crate::config::AuthConfig;
use crate::crypto::{BlindIndex, SecretKey};

/// Every key the server uses.
pub struct Keys {
    pub jwt: Vec<SigningKey>,
    pub pii_encryption: SecretKey,
    pub pii_index: SecretKey,
    pub page_tokens: SecretKey,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    jwt_keys: String,
    data_key: String,
}

fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.join("keys.json")
}

/// Derives independent keys for each use from the one data key.
fn derive(master: &SecretKey, purpose: &str) -> SecretKey {
    let bytes = BlindIndex::new(master).compute("key-derivation", purpose);
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes[..32]);
    SecretKey::from_bytes(key)
}

fn load_or_create_file(data_dir: &Path) -> Result<KeyFile, String> {
    let path = key_file(data_dir);
    match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|e| format!("{} is not a valid key file: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
            let file = KeyFile {
                jwt_keys: format!("k1={}", SecretKey::generate().to_base64()),
                data_key: SecretKey::generate().to_base64(),
            };
            let json = serde_json::to_vec_pretty(&serde_json::json!({
                "jwt_keys": file.jwt_keys, "data_key": file.data_key
            }))
            .map_err(|e| e.to_string())?;
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            out.write_all(&json)
                .and_then(|()| out.sync_all())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            tracing::warn!(path = %path.display(), "no keys configured: generated keys into the data directory; back this file up, or set PETITION_JWT_KEYS and PETITION_DATA_KEY");
            Ok(file)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Keys from the configuration, falling back to the data directory's file.
pub fn load(config: &AuthConfig, data_dir: &Path) -> Result<Keys, String> {
    let file = if config.jwt_keys.is_none() || config.data_key.is_none() {
        Some(load_or_create_file(data_dir)?)
    } else {
        None
    };
    let jwt_spec =
        config.jwt_keys.as_ref().map(|s| s.expose().to_owned()).or_else(|| file.as_ref().map(|f| f.jwt_keys.clone()));
    let data_spec =
        config.data_key.as_ref().map(|s| s.expose().to_owned()).or_else(|| file.as_ref().map(|f| f.data_key.clone()));
    let jwt = parse_keys(&jwt_spec.unwrap_or_default()).map_err(|e| format!("PETITION_JWT_KEYS: {e}"))?;
    let master =
        SecretKey::from_base64(&data_spec.unwrap_or_default()).map_err(|e| format!("PETITION_DATA_KEY: {e}"))?;
    Ok(Keys {
        jwt,
        pii_encryption: derive(&master, "pii-encryption"),
        pii_index: derive(&master, "pii-blind-index"),
        page_tokens: derive(&master, "page-tokens"),
    })
}
