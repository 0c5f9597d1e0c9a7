//! Protection of personal data at rest.
//!
//! Petition records hold identity numbers, phone numbers and similar personal
//! data. The database must not contain them in clear text, yet the server
//! still needs to (a) read them back and (b) look records up by them. Hence:
//!
//! * [`FieldCipher`] — authenticated encryption of individual column values
//!   (XChaCha20-Poly1305 with a random 192-bit nonce, so nonces can be drawn
//!   at random without a realistic collision risk). The caller passes
//!   *associated data* (e.g. table, column and row id) so a ciphertext cannot
//!   be copied into another row or column undetected.
//! * [`BlindIndex`] — a keyed, deterministic HMAC-SHA256 of a value, stored in
//!   an indexed column next to the ciphertext so equality lookups work without
//!   decrypting every row. A separate key from the cipher key should be used.
//! * [`SecretKey`] — the 32-byte key material for both, loaded from base64.
//! * [`random_token`] and [`sha256`] — for opaque tokens (sessions, links)
//!   that are handed out in clear and stored only as a hash.
//!
//! All randomness comes from the operating system via the RustCrypto
//! `Generate` trait (getrandom underneath).

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, general_purpose::STANDARD};
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Key length in bytes for every key in this module.
pub const KEY_LEN: usize = 32;

/// Leading byte of every [`FieldCipher`] blob. A new algorithm or key
/// generation gets a new number so old rows stay readable during rotation.
const VERSION_1: u8 = 1;

/// XChaCha20 nonce length.
const NONCE_LEN: usize = 24;

/// Poly1305 tag length.
const TAG_LEN: usize = 16;

/// Smallest possible v1 blob: version, nonce and tag around an empty
/// plaintext.
const MIN_BLOB_LEN: usize = 1 + NONCE_LEN + TAG_LEN;

/// Prefix mixed into every blind-index input, so an index produced here can
/// never coincide with an HMAC computed elsewhere with the same key.
const BLIND_INDEX_CONTEXT: &[u8] = b"petition.blind-index.v1";

type HmacSha256 = Hmac<Sha256>;

/// Errors from key loading and decryption.
///
/// Messages never include key material or plaintext. Decryption failures are
/// deliberately not subdivided (wrong key vs. wrong associated data vs.
/// tampering): the AEAD cannot tell them apart, and neither should callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CryptoError {
    /// The key string is not valid base64 (standard or URL-safe).
    #[error("key is not valid base64")]
    InvalidKeyEncoding,
    /// The key decoded, but not to exactly 32 bytes.
    #[error("key must decode to exactly 32 bytes, got {len}")]
    InvalidKeyLength {
        /// Number of decoded bytes.
        len: usize,
    },
    /// The blob's leading version byte is not one this build understands.
    #[error("unsupported ciphertext version {version}")]
    UnsupportedVersion {
        /// The version byte found.
        version: u8,
    },
    /// The blob is shorter than version + nonce + tag.
    #[error("ciphertext is truncated ({len} bytes)")]
    Truncated {
        /// Length of the blob.
        len: usize,
    },
    /// Authentication failed: wrong key, wrong associated data, or the blob
    /// was modified.
    #[error("ciphertext failed authentication")]
    DecryptionFailed,
    /// The AEAD refused to encrypt; only possible for plaintexts of roughly
    /// 256 GiB or more.
    #[error("encryption failed")]
    EncryptionFailed,
    /// The operating system's random number generator failed.
    #[error("operating system random number generator failed")]
    Rng,
}

/// 32 bytes of secret key material.
///
/// `Debug` is redacted so keys cannot leak through logged configuration
/// structs. There is intentionally no `PartialEq` (a naive comparison would
/// not be constant-time) and no `Display`.
#[derive(Clone)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    /// Wraps raw key bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> SecretKey {
        SecretKey(bytes)
    }

    /// Decodes a key from base64, accepting the standard (`+/`) and URL-safe
    /// (`-_`) alphabets, with or without `=` padding, because keys arrive from
    /// environment variables and secret stores that use either. Surrounding
    /// ASCII whitespace is ignored since key files usually end in a newline.
    ///
    /// # Errors
    ///
    /// [`CryptoError::InvalidKeyEncoding`] if the text is not base64 in either
    /// alphabet, [`CryptoError::InvalidKeyLength`] if it does not decode to
    /// exactly 32 bytes.
    pub fn from_base64(encoded: &str) -> Result<SecretKey, CryptoError> {
        const CONFIG: GeneralPurposeConfig =
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
        const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
        const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);

        let trimmed = encoded.trim_ascii();
        let decoded = STANDARD_LENIENT
            .decode(trimmed)
            .or_else(|_| URL_SAFE_LENIENT.decode(trimmed))
            .map_err(|_| CryptoError::InvalidKeyEncoding)?;
        let bytes: [u8; KEY_LEN] =
            decoded.as_slice().try_into().map_err(|_| CryptoError::InvalidKeyLength { len: decoded.len() })?;
        Ok(SecretKey(bytes))
    }

    /// A fresh random key from the operating system RNG.
    ///
    /// # Panics
    ///
    /// Only if the operating system RNG fails, which the RustCrypto
    /// `Generate::generate` contract treats as unrecoverable; it does not
    /// happen on supported platforms.
    #[must_use]
    pub fn generate() -> SecretKey {
        SecretKey(<[u8; KEY_LEN]>::generate())
    }

    /// Standard base64 with padding (the format of `openssl rand -base64 32`).
    #[must_use]
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The raw key bytes, for other primitives that need them. Handle with
    /// care: never log or persist the result.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Authenticated encryption of single field values.
///
/// Blob layout (version 1):
///
/// ```text
/// 0x01 ‖ nonce (24 bytes) ‖ ciphertext ‖ Poly1305 tag (16 bytes)
/// ```
///
/// The version byte is also fed into the AEAD's associated data, so it is
/// authenticated along with the caller's associated data.
#[derive(Clone)]
pub struct FieldCipher {
    aead: XChaCha20Poly1305,
}

impl FieldCipher {
    /// Builds a cipher from its key.
    #[must_use]
    pub fn new(key: &SecretKey) -> FieldCipher {
        FieldCipher { aead: XChaCha20Poly1305::new(&Key::from(key.0)) }
    }

    /// Encrypts `plaintext`, binding it to `associated_data` (which is not
    /// stored in the blob; the same bytes must be supplied to
    /// [`FieldCipher::decrypt`]). Each call draws a fresh random nonce, so
    /// encrypting the same value twice yields different blobs.
    ///
    /// # Errors
    ///
    /// [`CryptoError::Rng`] if the OS RNG fails, [`CryptoError::EncryptionFailed`]
    /// if the plaintext exceeds the AEAD's ~256 GiB limit. Neither happens in
    /// normal operation; they are returned rather than panicking.
    pub fn encrypt(&self, plaintext: &[u8], associated_data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce = XNonce::try_generate().map_err(|_| CryptoError::Rng)?;
        let aad = versioned_aad(VERSION_1, associated_data);
        let sealed = self
            .aead
            .encrypt(&nonce, Payload { msg: plaintext, aad: &aad })
            .map_err(|_| CryptoError::EncryptionFailed)?;

        let mut blob = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        blob.push(VERSION_1);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(blob)
    }

    /// Decrypts a blob produced by [`FieldCipher::encrypt`] with the same key
    /// and associated data.
    ///
    /// # Errors
    ///
    /// [`CryptoError::Truncated`] for an empty or too-short blob,
    /// [`CryptoError::UnsupportedVersion`] for an unknown leading byte, and
    /// [`CryptoError::DecryptionFailed`] for a wrong key, wrong associated
    /// data or any modification of the blob.
    pub fn decrypt(&self, blob: &[u8], associated_data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let Some((&version, rest)) = blob.split_first() else {
            return Err(CryptoError::Truncated { len: 0 });
        };
        if version != VERSION_1 {
            return Err(CryptoError::UnsupportedVersion { version });
        }
        if blob.len() < MIN_BLOB_LEN {
            return Err(CryptoError::Truncated { len: blob.len() });
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| CryptoError::Truncated { len: blob.len() })?;
        let aad = versioned_aad(version, associated_data);
        self.aead.decrypt(&nonce, Payload { msg: sealed, aad: &aad }).map_err(|_| CryptoError::DecryptionFailed)
    }
}

impl fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FieldCipher(<redacted>)")
    }
}

/// `version ‖ associated_data`: authenticates the blob header. The version is
/// a fixed single byte, so the concatenation is unambiguous.
fn versioned_aad(version: u8, associated_data: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + associated_data.len());
    aad.push(version);
    aad.extend_from_slice(associated_data);
    aad
}

/// Keyed deterministic fingerprints for equality lookups on encrypted fields.
///
/// `compute(domain, value)` = HMAC-SHA256(key, context ‖ len(domain) as u64
/// big-endian ‖ domain ‖ value). The domain (e.g. `"resident_id"`,
/// `"phone"`) separates fields so equal strings in different columns do not
/// produce linkable indexes; the length prefix keeps `("ab", "c")` and
/// `("a", "bc")` distinct. Values are hashed exactly as given, so callers
/// should pass the canonical form (e.g. a parsed `ResidentId`).
#[derive(Clone)]
pub struct BlindIndex {
    /// HMAC state already keyed; cloned per computation to skip re-keying.
    keyed: HmacSha256,
}

impl BlindIndex {
    /// Builds an index function from its key (use a key distinct from the
    /// [`FieldCipher`] key).
    #[must_use]
    pub fn new(key: &SecretKey) -> BlindIndex {
        BlindIndex { keyed: keyed_hmac(&key.0) }
    }

    /// The 32-byte index of `value` within `domain`.
    #[must_use]
    pub fn compute(&self, domain: &str, value: &str) -> Vec<u8> {
        let domain_len = u64::try_from(domain.len()).unwrap_or(u64::MAX);
        self.keyed
            .clone()
            .chain_update(BLIND_INDEX_CONTEXT)
            .chain_update(domain_len.to_be_bytes())
            .chain_update(domain.as_bytes())
            .chain_update(value.as_bytes())
            .finalize()
            .into_bytes()
            .to_vec()
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndex(<redacted>)")
    }
}

/// HMAC-SHA256 keyed with a 32-byte key, built through the infallible
/// fixed-size `KeyInit::new`: HMAC's key is one hash block (64 bytes) and
/// RFC 2104 zero-pads shorter keys to that size, so padding here yields the
/// exact same MAC as keying with the 32 bytes directly, without the
/// `Result` of `new_from_slice`.
fn keyed_hmac(key: &[u8; KEY_LEN]) -> HmacSha256 {
    let mut block = hmac::digest::Key::<HmacSha256>::default();
    block[..KEY_LEN].copy_from_slice(key);
    <HmacSha256 as KeyInit>::new(&block)
}

/// `bytes` random bytes from the OS, as URL-safe base64 without padding, for
/// opaque tokens (use at least 32 bytes for anything security-relevant).
/// Store only [`sha256`] of the token server-side.
///
/// # Panics
///
/// Only if the operating system RNG fails (see [`SecretKey::generate`]).
#[must_use]
pub fn random_token(bytes: usize) -> String {
    // `Generate` is implemented for fixed-size arrays, so fill in 32-byte
    // blocks and truncate the last one.
    let mut buf = vec![0u8; bytes];
    for chunk in buf.chunks_mut(KEY_LEN) {
        let block = <[u8; KEY_LEN]>::generate();
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
    URL_SAFE_NO_PAD.encode(&buf)
}

/// SHA-256 digest, e.g. for storing tokens from [`random_token`] hashed.
#[must_use]
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    use crate::convert::hex;

    fn key(seed: u8) -> SecretKey {
        SecretKey::from_bytes(std::array::from_fn(|i| seed.wrapping_add(i as u8)))
    }

    const AD: &[u8] = b"petitioner.resident_id:0190a1b2";

    // ---------------------------------------------------------------- cipher

    #[test]
    fn round_trip() {
        let cipher = FieldCipher::new(&key(0));
        for plaintext in [&b""[..], b"x", b"11010519491231002X", &[0u8; 1000][..]] {
            let blob = cipher.encrypt(plaintext, AD).unwrap();
            assert_eq!(cipher.decrypt(&blob, AD).unwrap(), plaintext);
        }
    }

    #[test]
    fn round_trip_with_empty_associated_data() {
        let cipher = FieldCipher::new(&key(0));
        let blob = cipher.encrypt(b"secret", b"").unwrap();
        assert_eq!(cipher.decrypt(&blob, b"").unwrap(), b"secret");
        assert_eq!(cipher.decrypt(&blob, b"x"), Err(CryptoError::DecryptionFailed));
    }

    #[test]
    fn blob_layout() {
        let cipher = FieldCipher::new(&key(0));
        let blob = cipher.encrypt(b"13812345678", AD).unwrap();
        assert_eq!(blob[0], 1);
        assert_eq!(blob.len(), 1 + 24 + 11 + 16);
        assert!(!blob.windows(11).any(|w| w == b"13812345678"));
        assert_eq!(cipher.encrypt(b"", AD).unwrap().len(), MIN_BLOB_LEN);
    }

    #[test]
    fn wrong_associated_data_fails() {
        let cipher = FieldCipher::new(&key(0));
        let blob = cipher.encrypt(b"secret", AD).unwrap();
        assert_eq!(cipher.decrypt(&blob, b"petitioner.phone:0190a1b2"), Err(CryptoError::DecryptionFailed));
        assert_eq!(cipher.decrypt(&blob, b""), Err(CryptoError::DecryptionFailed));
    }

    #[test]
    fn every_tampered_byte_fails() {
        let cipher = FieldCipher::new(&key(0));
        let blob = cipher.encrypt(b"11010519491231002X", AD).unwrap();
        // Byte 0 is the version: flipping it is reported as unsupported; every
        // other byte (nonce, ciphertext, tag) must fail authentication.
        for index in 0..blob.len() {
            let mut tampered = blob.clone();
            tampered[index] ^= 0x01;
            let result = cipher.decrypt(&tampered, AD);
            if index == 0 {
                assert_eq!(result, Err(CryptoError::UnsupportedVersion { version: 0 }));
            } else {
                assert_eq!(result, Err(CryptoError::DecryptionFailed), "byte {index}");
            }
        }
    }

    #[test]
    fn truncated_or_extended_blob_fails() {
        let cipher = FieldCipher::new(&key(0));
        let blob = cipher.encrypt(b"secret", AD).unwrap();
        assert_eq!(cipher.decrypt(&blob[..blob.len() - 1], AD), Err(CryptoError::DecryptionFailed));
        let mut extended = blob.clone();
        extended.push(0);
        assert_eq!(cipher.decrypt(&extended, AD), Err(CryptoError::DecryptionFailed));
    }

    #[test]
    fn wrong_key_fails() {
        let blob = FieldCipher::new(&key(0)).encrypt(b"secret", AD).unwrap();
        assert_eq!(FieldCipher::new(&key(1)).decrypt(&blob, AD), Err(CryptoError::DecryptionFailed));
    }

    #[test]
    fn unknown_version_is_rejected() {
        let cipher = FieldCipher::new(&key(0));
        let mut blob = cipher.encrypt(b"secret", AD).unwrap();
        for version in [0u8, 2, 0xff] {
            blob[0] = version;
            assert_eq!(cipher.decrypt(&blob, AD), Err(CryptoError::UnsupportedVersion { version }));
        }
        assert_eq!(cipher.decrypt(&[7], AD), Err(CryptoError::UnsupportedVersion { version: 7 }));
    }

    #[test]
    fn short_input_is_rejected() {
        let cipher = FieldCipher::new(&key(0));
        assert_eq!(cipher.decrypt(&[], AD), Err(CryptoError::Truncated { len: 0 }));
        assert_eq!(cipher.decrypt(&[1], AD), Err(CryptoError::Truncated { len: 1 }));
        let almost = vec![1u8; MIN_BLOB_LEN - 1];
        assert_eq!(cipher.decrypt(&almost, AD), Err(CryptoError::Truncated { len: MIN_BLOB_LEN - 1 }));
        // Exactly the minimum length is parsed and then fails authentication.
        let minimum = vec![1u8; MIN_BLOB_LEN];
        assert_eq!(cipher.decrypt(&minimum, AD), Err(CryptoError::DecryptionFailed));
    }

    #[test]
    fn two_encryptions_of_same_value_differ() {
        let cipher = FieldCipher::new(&key(0));
        let blobs: HashSet<Vec<u8>> = (0..64).map(|_| cipher.encrypt(b"same", AD).unwrap()).collect();
        assert_eq!(blobs.len(), 64);
        let nonces: HashSet<Vec<u8>> = blobs.iter().map(|b| b[1..25].to_vec()).collect();
        assert_eq!(nonces.len(), 64);
        for blob in &blobs {
            assert_eq!(cipher.decrypt(blob, AD).unwrap(), b"same");
        }
    }

    #[test]
    fn cipher_from_base64_key_interoperates() {
        let original = SecretKey::generate();
        let reloaded = SecretKey::from_base64(&original.to_base64()).unwrap();
        let blob = FieldCipher::new(&original).encrypt(b"secret", AD).unwrap();
        assert_eq!(FieldCipher::new(&reloaded).decrypt(&blob, AD).unwrap(), b"secret");
    }

    // ----------------------------------------------------------- blind index

    #[test]
    fn keyed_hmac_matches_rfc_4231_test_case_2() {
        // Key "Jefe" zero-padded to 32 bytes: HMAC pads short keys with zeros
        // anyway, so this must equal the published HMAC-SHA256("Jefe", ...).
        let mut jefe = [0u8; KEY_LEN];
        jefe[..4].copy_from_slice(b"Jefe");
        let mac = keyed_hmac(&jefe).chain_update(b"what do ya want for nothing?").finalize().into_bytes();
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn keyed_hmac_equals_new_from_slice() {
        let key = key(42);
        let a = keyed_hmac(&key.0).chain_update(b"abc").finalize().into_bytes();
        let b = <HmacSha256 as KeyInit>::new_from_slice(&key.0).unwrap().chain_update(b"abc").finalize().into_bytes();
        assert_eq!(a, b);
    }

    #[test]
    fn blind_index_known_answer() {
        // Independently computed with Python's hmac module:
        // hmac.new(bytes(range(32)), b"petition.blind-index.v1"
        //          + len(domain).to_bytes(8, "big") + domain + value, sha256)
        let index = BlindIndex::new(&key(0));
        assert_eq!(
            hex(&index.compute("resident_id", "11010519491231002X")),
            "018a8f367f095cf45c14d2a5e6b0ddd66ce02f6ac1a27f27b11e96d2fb50c217"
        );
    }

    #[test]
    fn blind_index_is_deterministic() {
        let a = BlindIndex::new(&key(0));
        let b = BlindIndex::new(&key(0));
        let first = a.compute("phone", "13812345678");
        assert_eq!(first.len(), 32);
        assert_eq!(first, a.compute("phone", "13812345678"));
        assert_eq!(first, b.compute("phone", "13812345678"));
    }

    #[test]
    fn blind_index_is_domain_separated() {
        let index = BlindIndex::new(&key(0));
        assert_ne!(index.compute("phone", "13812345678"), index.compute("resident_id", "13812345678"));
        assert_ne!(index.compute("", "x"), index.compute("x", ""));
        // The length prefix prevents shifting bytes between domain and value.
        assert_ne!(index.compute("ab", "c"), index.compute("a", "bc"));
    }

    #[test]
    fn blind_index_is_key_dependent_and_value_sensitive() {
        let a = BlindIndex::new(&key(0));
        let b = BlindIndex::new(&key(1));
        assert_ne!(a.compute("phone", "13812345678"), b.compute("phone", "13812345678"));
        assert_ne!(a.compute("phone", "13812345678"), a.compute("phone", "13812345679"));
        // Not a plain hash of the value.
        assert_ne!(a.compute("phone", "13812345678"), sha256(b"13812345678").to_vec());
    }

    // ------------------------------------------------------------------ keys

    #[test]
    fn key_base64_round_trip() {
        let key = key(7);
        let encoded = key.to_base64();
        assert_eq!(encoded.len(), 44);
        assert!(encoded.ends_with('='));
        assert_eq!(SecretKey::from_base64(&encoded).unwrap().as_bytes(), key.as_bytes());
    }

    #[test]
    fn key_accepts_both_alphabets_padding_and_surrounding_whitespace() {
        // 0xfb 0xff in the key forces '+'/'/' vs '-'/'_' in the encodings.
        let bytes = [0xfbu8; KEY_LEN];
        let standard = STANDARD.encode(bytes);
        assert!(standard.contains('+') || standard.contains('/'));
        let url = base64::engine::general_purpose::URL_SAFE.encode(bytes);
        assert!(url.contains('-') || url.contains('_'));
        for encoded in [
            standard.clone(),
            standard.trim_end_matches('=').to_owned(),
            url.clone(),
            URL_SAFE_NO_PAD.encode(bytes),
            format!("{standard}\n"),
            format!("  {url}\r\n"),
        ] {
            let key = SecretKey::from_base64(&encoded).unwrap();
            assert_eq!(key.as_bytes(), &bytes, "{encoded:?}");
        }
    }

    #[test]
    fn key_base64_errors() {
        // Valid base64, wrong length.
        for len in [0usize, 1, 16, 31, 33, 64] {
            let encoded = STANDARD.encode(vec![0u8; len]);
            assert_eq!(
                SecretKey::from_base64(&encoded).unwrap_err(),
                CryptoError::InvalidKeyLength { len },
                "len {len}"
            );
        }
        // Not base64 at all.
        for garbage in [
            "not base64!",
            "@@@@",
            "a",
            "AAAA AAAA",
            "AAAA+-AA",
            "=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "０１２３",
        ] {
            assert_eq!(SecretKey::from_base64(garbage).unwrap_err(), CryptoError::InvalidKeyEncoding, "{garbage:?}");
        }
    }

    #[test]
    fn generated_keys_differ() {
        let a = SecretKey::generate();
        let b = SecretKey::generate();
        assert_ne!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn debug_is_redacted() {
        let key = key(0);
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
        assert!(!format!("{key:#?}").contains(&key.to_base64()));
        assert_eq!(format!("{:?}", FieldCipher::new(&key)), "FieldCipher(<redacted>)");
        assert_eq!(format!("{:?}", BlindIndex::new(&key)), "BlindIndex(<redacted>)");
    }

    #[test]
    fn error_messages_do_not_leak_secrets() {
        let encoded = STANDARD.encode([9u8; 16]);
        let msg = SecretKey::from_base64(&encoded).unwrap_err().to_string();
        assert!(!msg.contains(&encoded));
        assert_eq!(msg, "key must decode to exactly 32 bytes, got 16");
    }

    // ---------------------------------------------------------------- tokens

    #[test]
    fn random_token_length_alphabet_and_uniqueness() {
        for bytes in [0usize, 1, 16, 31, 32, 33, 64, 100] {
            let token = random_token(bytes);
            assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), bytes);
            assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
        assert_eq!(random_token(32).len(), 43);
        let tokens: HashSet<String> = (0..100).map(|_| random_token(32)).collect();
        assert_eq!(tokens.len(), 100);
        // Multi-block tokens do not repeat the same 32-byte block.
        let long = URL_SAFE_NO_PAD.decode(random_token(64)).unwrap();
        assert_ne!(long[..32], long[32..]);
    }

    #[test]
    fn sha256_known_answers() {
        assert_eq!(hex(&sha256(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(hex(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
