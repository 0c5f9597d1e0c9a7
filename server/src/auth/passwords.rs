//! Password (and client secret) hashing with argon2id at OWASP's parameters
//! (19 MiB, 2 passes, 1 lane). Hashing is CPU- and memory-heavy, so it runs on
//! the blocking pool behind a semaphore, never on the async workers, and a
//! burst of sign-ins queues instead of exhausting memory.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::Semaphore;

use crate::error::AppError;

/// Hashes and verifies passwords off the async threads.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified against when the account does not exist, so an unknown login
    /// name costs the same time as a wrong password (no enumeration by timing).
    dummy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// Hashes synchronously; for start-up and the blocking pool only.
pub fn hash_blocking(password: &str) -> Result<String, AppError> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::internal(format!("password hashing failed: {e}")))
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    argon2().verify_password(password.as_bytes(), hash).is_ok()
}

impl PasswordHasher {
    /// `concurrency` hashes run at once at most.
    pub fn new(concurrency: usize) -> Result<Self, AppError> {
        let dummy_hash = hash_blocking("not a real password: timing equaliser")?;
        Ok(Self { permits: Arc::new(Semaphore::new(concurrency.max(1))), dummy_hash: dummy_hash.into() })
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.blocking(move || hash_blocking(&password)).await?
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown
    /// account) a dummy hash is verified and the answer is `false`.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        let dummy = self.dummy_hash.clone();
        self.blocking(move || match stored {
            Some(hash) => verify_blocking(&password, &hash),
            None => {
                verify_blocking(&password, &dummy);
                false
            }
        })
        .await
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let _permit =
            self.permits.acquire().await.map_err(|_| AppError::Unavailable { detail: "hasher closed".into() })?;
        tokio::task::spawn_blocking(f).await.map_err(|e| AppError::internal(format!("hashing task failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() -> Result<(), AppError> {
        let hasher = PasswordHasher::new(2)?;
        let hash = hasher.hash("correct horse battery".into()).await?;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse battery".into(), Some(hash.clone())).await?);
        assert!(!hasher.verify("wrong horse battery".into(), Some(hash)).await?);
        assert!(!hasher.verify("anything".into(), None).await?);
        Ok(())
    }

    #[tokio::test]
    async fn malformed_stored_hash_is_a_mismatch() -> Result<(), AppError> {
        let hasher = PasswordHasher::new(1)?;
        assert!(!hasher.verify("x".into(), Some("not-a-phc-string".into())).await?);
        Ok(())
    }
}
