//! Personal data at rest: resident ID and phone numbers are stored sealed
//! (XChaCha20-Poly1305, bound to the owning account's id so a ciphertext
//! cannot be moved to another row) beside a keyed blind index used for
//! uniqueness and lookup. Both keys derive from the one configured data key.

use uuid::Uuid;

use crate::crypto::{BlindIndex, FieldCipher, SecretKey};
use crate::error::AppError;

pub struct Pii {
    cipher: FieldCipher,
    index: BlindIndex,
}

impl Pii {
    pub fn new(encryption_key: &SecretKey, index_key: &SecretKey) -> Self {
        Self { cipher: FieldCipher::new(encryption_key), index: BlindIndex::new(index_key) }
    }

    /// Encrypts `value` for the account `owner`.
    pub fn seal(&self, owner: Uuid, value: &str) -> Result<Vec<u8>, AppError> {
        self.cipher.encrypt(value.as_bytes(), owner.as_bytes()).map_err(AppError::internal)
    }

    /// Decrypts a sealed value of `owner`; empty when nothing is stored.
    pub fn reveal(&self, owner: Uuid, sealed: Option<&[u8]>) -> Result<String, AppError> {
        let Some(sealed) = sealed else { return Ok(String::new()) };
        let plain = self
            .cipher
            .decrypt(sealed, owner.as_bytes())
            .map_err(|e| AppError::internal(format!("cannot decrypt personal data of account {owner}: {e}")))?;
        String::from_utf8(plain).map_err(AppError::internal)
    }

    /// The blind index of `value` in `domain` (e.g. "phone").
    pub fn index(&self, domain: &str, value: &str) -> Vec<u8> {
        self.index.compute(domain, value)
    }
}
