//! Duplicate and repeat detection for petition texts (智能判重): pure
//! algorithms, plus [`store`] (where fingerprints live) and [`index`] (the
//! statistics a running server uses).
//!
//! A filing's text is [normalized](normalize) (NFKC, punctuation and
//! whitespace folded, one unit per Han character or ASCII alphanumeric run),
//! cut into [`shingles`] (character n-grams, stable XXH3 hashes) and
//! [specifics](shingles::specifics) (amounts, dates, numbers, names of
//! places, organizations and officials), and summarized in a stored
//! [`Fingerprint`]: the LSH band keys (the candidate index) of a weighted
//! [MinHash](minhash) signature over the shingles and specifics rarer than
//! a document-frequency cutoff (the boilerplate left out, specifics
//! weighing 16 shingles), the specifics, a bottom-k sample of the shingles
//! and their IDF total. Candidates that share a band key are [re-ranked](score) by
//! exact IDF-weighted overlap of shingles and specifics, combined with the
//! caller's cues; [`decide_repeat`] and [`decide_related`] make the
//! 同人+同事 decision.
//!
//! Parameters ([`Params`], [`Scoring`]) were chosen on the quality harness
//! (`cargo run --release -p petition-tests --bin dedup-quality`); how, in
//! `docs/duplicate-detection.md`.
//!
//! What a store keeps per case: the [`Fingerprint`] (its
//! [`Fingerprint::encode`] bytes, ≈ 1.9 KB at the median text) and
//! document frequencies of shingles and specifics ([`DocFreqTable`]: only
//! items above the cutoff matter for the MinHash, all for the IDF
//! weights). The candidate index of band keys is each server's, in memory
//! ([`bands`]), built from the stored fingerprints; it keeps each case's
//! specifics too, so that a filing reads only the candidates whose
//! specifics leave them a chance ([`Scoring::content_bound`]). A
//! fingerprint depends on the statistics it was made with: when they are
//! refreshed, recompute the stored fingerprints (`reindex-similarity`).

pub mod bands;
pub mod codec;
pub mod fingerprint;
pub mod index;
pub mod minhash;
pub mod normalize;
pub mod score;
pub mod shingles;
pub mod store;

pub use codec::DecodeError;
pub use fingerprint::{Analysis, FINGERPRINT_VERSION, Fingerprint, Fingerprinter, Params};
pub use index::{Analyzed, BandsBuilt, SimilarityIndex, Versions};
pub use minhash::{Banding, DocFreqTable, MinHasher, NoStats, ShingleStats, Weighting};
pub use normalize::Normalized;
pub use score::{Cues, Prepared, Reason, Scoring, Similarity, decide_related, decide_repeat, explain};
pub use shingles::{Specific, SpecificKind};
