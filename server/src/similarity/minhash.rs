//! Document frequencies, weighted MinHash signatures and LSH banding.
//!
//! **Weights.** A shingle that half the petitions contain (恳请领导高度重视)
//! says nothing about the matter; a shingle of an estate's name or of an
//! amount says a lot. The caller provides document frequencies through
//! [`ShingleStats`] (a [`DocFreqTable`] counted over stored cases); the
//! weight of an item is its smoothed IDF, `ln((N + 1) / (df + 1)) + 1`, which
//! is 1 for every item when nothing has been counted yet (cold start: plain
//! unweighted shingles).
//!
//! **MinHash.** [`MinHasher::sign`] is a weighted MinHash by exponential
//! race (P-MinHash, Moulton & Jiang 2018): for each of the K hash functions,
//! every item with weight `w > 0` draws `E = -ln(U) / w` with `U` uniform from
//! a seeded hash of (item, function), and the item with the smallest `E`
//! wins. Two sets agree on a function with probability equal to their
//! *probability Jaccard*, a weighted Jaccard that weighs shared rare items
//! over shared common ones. With all weights 1 it is the classic MinHash.
//! [`Weighting`] chooses between this and dropping common items (document
//! frequency above a cutoff) before an unweighted MinHash; `super::Params`
//! uses the cutoff, which measured better.
//!
//! **Stability.** Signatures are stored, so everything here is deterministic
//! across processes and machines: the hashes are fixed (splitmix64
//! finalizers, XXH3), and the logarithm is computed by [`ln`] from IEEE basic
//! operations only (no platform `libm`, whose last bit may differ).
//!
//! **Banding.** [`Banding`] cuts a signature of `bands × rows` values into
//! `bands` bands; each band's values hash (XXH3, seeded with the band
//! number) to one `i64` key. Two texts become candidates when any band key is
//! equal, which happens with probability `1 - (1 - s^rows)^bands` for
//! signature agreement `s` (the S-curve, [`Banding::collision_probability`]).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::codec::DecodeError;

/// Seed of the MinHash functions. Changing it invalidates stored signatures.
pub const MINHASH_SEED: u64 = 0x6d69_6e68_6173_6821; // "minhash!"
/// Seed of the band keys. Changing it invalidates stored band keys.
pub const BAND_SEED: u64 = 0x6c73_685f_6261_6e64; // "lsh_band"

/// Document frequencies of shingles and specifics.
pub trait ShingleStats {
    /// How many documents were counted.
    fn documents(&self) -> u64;
    /// In how many of them `item` occurs (0 for an unknown item).
    fn doc_freq(&self, item: u64) -> u64;
    /// The smoothed inverse document frequency of `item`, ≥ 1.
    fn idf(&self, item: u64) -> f32 {
        idf(self.documents(), self.doc_freq(item))
    }
}

/// The share of `documents` that `df` is, in [0, 1] (0 when nothing has
/// been counted).
pub fn df_ratio(documents: u64, df: u64) -> f32 {
    match documents {
        0 => 0.0,
        n => (df.min(n) as f64 / n as f64) as f32,
    }
}

/// Smoothed IDF: `ln((documents + 1) / (df + 1)) + 1` (1 when nothing has
/// been counted; never below 1).
pub fn idf(documents: u64, df: u64) -> f32 {
    let df = df.min(documents);
    (ln((documents as f64 + 1.0) / (df as f64 + 1.0)) + 1.0) as f32
}

/// No statistics: every item weighs the same.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStats;

impl ShingleStats for NoStats {
    fn documents(&self) -> u64 {
        0
    }
    fn doc_freq(&self, _: u64) -> u64 {
        0
    }
}

/// Document frequencies counted over a corpus.
///
/// Rare items need no entry: an item the table does not know counts as
/// `df = 0`, i.e. maximally rare. [`Self::prune`] drops entries below a
/// minimum frequency so the table holds only the common items, which is what
/// matters for weighting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DocFreqTable {
    documents: u64,
    df: HashMap<u64, u32, BuildHasherDefault<HashKeyHasher>>,
    #[serde(skip)]
    unknown_idf: UnknownIdf,
}

/// The IDF of an item the table does not know, for the number of documents
/// it was first asked at: most of the specifics a filing weighs are that
/// rare, and each IDF is a logarithm.
#[derive(Debug, Clone, Default)]
struct UnknownIdf(OnceLock<(u64, f32)>);

impl PartialEq for UnknownIdf {
    /// A cache: it never makes two tables differ.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Hasher for keys that are already uniform 64-bit hashes (shingle and
/// specific hashes), or server-assigned numbers (the band index's case
/// ordinals): a multiply-rotate, far cheaper than SipHash. No key is
/// chosen by an attacker.
#[derive(Debug, Clone, Copy, Default)]
pub struct HashKeyHasher(u64);

impl Hasher for HashKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ self.0).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    }
}

impl DocFreqTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one document; `items` must be distinct (e.g. a fingerprint's
    /// shingles and specifics).
    pub fn add_document<I: IntoIterator<Item = u64>>(&mut self, items: I) {
        self.documents += 1;
        for item in items {
            *self.df.entry(item).or_insert(0) += 1;
        }
    }

    /// Sets the document frequency of `item` directly (e.g. loaded from storage).
    pub fn set(&mut self, item: u64, df: u32) {
        if df == 0 {
            self.df.remove(&item);
        } else {
            self.df.insert(item, df);
        }
    }

    /// Sets the number of counted documents directly (e.g. loaded from storage).
    pub fn set_documents(&mut self, documents: u64) {
        self.documents = documents;
    }

    /// Drops the entries with a document frequency below `min_df`.
    pub fn prune(&mut self, min_df: u32) {
        self.df.retain(|_, df| *df >= min_df);
    }

    /// Number of documents counted.
    pub fn documents_counted(&self) -> u64 {
        self.documents
    }

    /// Number of items with an entry.
    pub fn len(&self) -> usize {
        self.df.len()
    }

    /// True when no item has an entry.
    pub fn is_empty(&self) -> bool {
        self.df.is_empty()
    }

    /// The entries, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.df.iter().map(|(&k, &v)| (k, v))
    }

    /// Compact little-endian encoding for a `bytea` column: the document
    /// count, then `(item, df)` pairs sorted by item.
    pub fn encode(&self) -> Vec<u8> {
        let mut entries: Vec<(u64, u32)> = self.iter().collect();
        entries.sort_unstable();
        let mut out = Vec::with_capacity(12 + entries.len() * 12);
        out.extend_from_slice(&self.documents.to_le_bytes());
        out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        for (item, df) in entries {
            out.extend_from_slice(&item.to_le_bytes());
            out.extend_from_slice(&df.to_le_bytes());
        }
        out
    }

    /// Reads what [`Self::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (documents, rest) = bytes.split_first_chunk::<8>().ok_or(DecodeError::Truncated)?;
        let (count, mut rest) = rest.split_first_chunk::<4>().ok_or(DecodeError::Truncated)?;
        let count = u32::from_le_bytes(*count) as usize;
        if rest.len() != count.checked_mul(12).ok_or(DecodeError::Truncated)? {
            return Err(if rest.len() < count * 12 {
                DecodeError::Truncated
            } else {
                DecodeError::Trailing(rest.len() - count * 12)
            });
        }
        let mut table = Self::new();
        table.documents = u64::from_le_bytes(*documents);
        table.df.reserve(count);
        while let Some((item, after)) = rest.split_first_chunk::<8>() {
            let Some((df, after)) = after.split_first_chunk::<4>() else { break };
            table.set(u64::from_le_bytes(*item), u32::from_le_bytes(*df));
            rest = after;
        }
        Ok(table)
    }
}

impl ShingleStats for DocFreqTable {
    fn documents(&self) -> u64 {
        self.documents
    }
    fn doc_freq(&self, item: u64) -> u64 {
        self.df.get(&item).copied().unwrap_or(0) as u64
    }
    fn idf(&self, item: u64) -> f32 {
        match self.doc_freq(item) {
            0 => match *self.unknown_idf.0.get_or_init(|| (self.documents, idf(self.documents, 0))) {
                (documents, known) if documents == self.documents => known,
                // Counted on since: as uncached.
                _ => idf(self.documents, 0),
            },
            df => idf(self.documents, df),
        }
    }
}

impl<T: ShingleStats + ?Sized> ShingleStats for &T {
    fn documents(&self) -> u64 {
        (**self).documents()
    }
    fn doc_freq(&self, item: u64) -> u64 {
        (**self).doc_freq(item)
    }
    fn idf(&self, item: u64) -> f32 {
        (**self).idf(item)
    }
}

/// How items are weighted for the MinHash signature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Weighting {
    /// Weighted MinHash with weight `idf^power` (specifics additionally
    /// multiplied by the specifics boost).
    Idf { power: f32 },
    /// Items in more than `max_df_ratio` of the documents are dropped; the
    /// rest weigh 1 (specifics: the boost). No item is dropped while fewer
    /// than `min_documents` have been counted.
    Cutoff { max_df_ratio: f32, min_documents: u64 },
}

impl Weighting {
    /// The MinHash weight of a shingle (`boost = 1`) or specific found in
    /// `df` of `documents` (all weigh alike when `documents` is 0: nothing
    /// counted).
    pub fn weight(&self, documents: u64, df: u64, boost: f32) -> f32 {
        match *self {
            Weighting::Idf { power } => pow(idf(documents, df), power) * boost,
            Weighting::Cutoff { max_df_ratio, min_documents } => {
                if documents >= min_documents && df_ratio(documents, df) > max_df_ratio { 0.0 } else { boost }
            }
        }
    }
}

/// `x^p` for x ≥ 1 with the deterministic [`ln`]; exact for p = 1 and p = 0.
pub(crate) fn pow(x: f32, p: f32) -> f32 {
    if p == 1.0 {
        x
    } else if p == 0.0 {
        1.0
    } else if p == 2.0 {
        x * x
    } else {
        exp(ln(x as f64) * p as f64) as f32
    }
}

/// Natural logarithm of a positive, normal `x` from IEEE basic operations
/// only (deterministic on every platform); absolute error below 1e-9.
pub fn ln(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    const SQRT2: f64 = std::f64::consts::SQRT_2;
    debug_assert!(x > 0.0 && x.is_normal(), "ln of {x}");
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > SQRT2 {
        m /= 2.0;
        e += 1;
    }
    // ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| ≤ 0.172.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 2.0
        + s2 * (2.0 / 3.0
            + s2 * (2.0 / 5.0 + s2 * (2.0 / 7.0 + s2 * (2.0 / 9.0 + s2 * (2.0 / 11.0 + s2 * 2.0 / 13.0)))));
    e as f64 * LN2 + s * series
}

/// `e^x` for moderate `x` (|x| < 700) from IEEE basic operations only.
fn exp(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    let k = (x / LN2).round();
    let r = x - k * LN2; // |r| ≤ ln2 / 2
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in 1..=20 {
        term *= r / i as f64;
        sum += term;
    }
    sum * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// The splitmix64 finalizer: a fixed bijective mixer of 64 bits.
pub(crate) fn mix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The 32-bit id a signature records for an item.
pub fn item_id(item: u64) -> u32 {
    (item ^ (item >> 32)) as u32
}

/// Computes K-value weighted MinHash signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinHasher {
    seeds: Vec<u64>,
}

impl MinHasher {
    /// A hasher of `k` functions (seeds derived from [`MINHASH_SEED`]).
    pub fn new(k: usize) -> Self {
        let seeds =
            (0..k as u64).map(|i| mix64(MINHASH_SEED.wrapping_add(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))).collect();
        Self { seeds }
    }

    /// Number of hash functions (signature length).
    pub fn k(&self) -> usize {
        self.seeds.len()
    }

    /// The signature of distinct `items` with their weights: for each
    /// function the [`item_id`] of the winning item. Items of weight ≤ 0 (or
    /// NaN) take no part; empty when none is left.
    pub fn sign(&self, items: &[(u64, f32)]) -> Vec<u32> {
        const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
        let k = self.seeds.len();
        let mut best = vec![f64::INFINITY; k];
        let mut ids = vec![0u32; k];
        let mut any = false;
        for &(item, w) in items {
            if w.is_nan() || w <= 0.0 {
                continue;
            }
            any = true;
            let inv = 1.0 / w as f64;
            let id = item_id(item);
            for ((&seed, best), winner) in self.seeds.iter().zip(&mut best).zip(&mut ids) {
                let x = mix64(item ^ seed);
                // Below 2^53: exact through i64, whose conversion is one instruction.
                let u = ((x >> 11) + 1) as i64 as f64 * SCALE; // (0, 1]
                // -ln(u) ≥ 1 - u: skip the logarithm when even the bound loses.
                if (1.0 - u) * inv >= *best {
                    continue;
                }
                let e = -ln(u) * inv;
                if e < *best || (e == *best && id < *winner) {
                    *best = e;
                    *winner = id;
                }
            }
        }
        if any { ids } else { Vec::new() }
    }
}

/// Share of positions where two signatures agree (0 when either is empty or
/// their lengths differ): the estimate of their (weighted) Jaccard.
pub fn agreement(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

/// LSH banding of a signature: `bands` bands of `rows` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Banding {
    pub bands: usize,
    pub rows: usize,
}

impl Banding {
    /// The band keys of `signature` (one per band; the band number is part of
    /// the hash, so keys of different bands never meet). Empty for an empty
    /// signature.
    ///
    /// # Panics
    /// When a non-empty signature is shorter than `bands × rows`.
    pub fn keys(&self, signature: &[u32]) -> Vec<i64> {
        if signature.is_empty() {
            return Vec::new();
        }
        assert!(signature.len() >= self.bands * self.rows, "signature of {} values, {self:?}", signature.len());
        let mut buf = Vec::with_capacity(self.rows * 4);
        (0..self.bands)
            .map(|b| {
                buf.clear();
                for v in &signature[b * self.rows..(b + 1) * self.rows] {
                    buf.extend_from_slice(&v.to_le_bytes());
                }
                xxh3_64_with_seed(&buf, BAND_SEED ^ b as u64) as i64
            })
            .collect()
    }

    /// Probability that two texts whose signatures agree with probability
    /// `s` share at least one band key: `1 - (1 - s^rows)^bands`.
    pub fn collision_probability(&self, s: f64) -> f64 {
        1.0 - (1.0 - s.powi(self.rows as i32)).powi(self.bands as i32)
    }

    /// The similarity where the S-curve is steepest, `(1/bands)^(1/rows)`.
    pub fn threshold(&self) -> f64 {
        (1.0 / self.bands as f64).powf(1.0 / self.rows as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn unweighted(items: &[u64]) -> Vec<(u64, f32)> {
        items.iter().map(|&i| (i, 1.0)).collect()
    }

    #[test]
    fn ln_matches_the_platform_logarithm() {
        for x in [1e-16, 1.0 / 3.0, 0.5, 0.999_999, 1.0, 1.5, std::f64::consts::E, 10.0, 12345.678, 1e300] {
            assert!((ln(x) - x.ln()).abs() < 1e-9 * x.ln().abs().max(1.0), "ln({x})");
        }
        assert_eq!(ln(1.0), 0.0);
    }

    #[test]
    fn exp_and_pow() {
        for x in [-5.0, -0.5, 0.0, 0.3, 1.0, 7.5] {
            assert!((exp(x) - x.exp()).abs() < 1e-12 * x.exp(), "exp({x})");
        }
        assert_eq!(pow(3.0, 1.0), 3.0);
        assert_eq!(pow(3.0, 0.0), 1.0);
        assert_eq!(pow(3.0, 2.0), 9.0);
        assert!((pow(4.0, 0.5) - 2.0).abs() < 1e-6);
    }

    #[test]
    fn idf_is_one_without_documents_and_grows_with_rarity() {
        assert_eq!(idf(0, 0), 1.0);
        assert!(idf(1000, 0) > idf(1000, 10));
        assert!(idf(1000, 10) > idf(1000, 900));
        assert!((idf(1000, 1000) - 1.0).abs() < 1e-6);
        // A df above the document count is clamped.
        assert!((idf(10, 50) - 1.0).abs() < 1e-6);
        assert_eq!(NoStats.idf(42), 1.0);
        assert_eq!(df_ratio(NoStats.documents(), NoStats.doc_freq(42)), 0.0);
    }

    #[test]
    fn a_table_weighs_unknown_items_as_counted_now() {
        let mut t = DocFreqTable::new();
        t.add_document([1, 2]);
        assert_eq!(t.idf(9), idf(1, 0));
        assert_eq!(<&DocFreqTable as ShingleStats>::idf(&&t, 1), idf(1, 1));
        // Counted on after the first question: not the cached answer.
        t.add_document([2]);
        assert_eq!(t.idf(9), idf(2, 0));
        t.set_documents(5000);
        assert_eq!(t.idf(9), idf(5000, 0));
        assert_eq!(t.clone(), t);
    }

    #[test]
    fn doc_freq_table_counts_prunes_and_serializes() {
        let mut t = DocFreqTable::new();
        t.add_document([1, 2, 3]);
        t.add_document([2, 3]);
        t.add_document([3]);
        assert_eq!(t.documents(), 3);
        assert_eq!((t.doc_freq(1), t.doc_freq(2), t.doc_freq(3), t.doc_freq(4)), (1, 2, 3, 0));
        assert!((df_ratio(t.documents(), t.doc_freq(2)) - 2.0 / 3.0).abs() < 1e-6);
        assert!(t.idf(1) > t.idf(3));
        assert_eq!(t.idf(4), idf(3, 0));
        let json = serde_json::to_string(&t).expect("serializes");
        assert_eq!(serde_json::from_str::<DocFreqTable>(&json).expect("deserializes"), t);
        t.prune(2);
        assert_eq!(t.len(), 2);
        assert_eq!(t.doc_freq(1), 0);
        t.set(9, 5);
        t.set(3, 0);
        t.set_documents(10);
        assert_eq!((t.doc_freq(9), t.doc_freq(3), t.documents()), (5, 0, 10));
        assert!(!t.is_empty());
        assert_eq!(t.iter().count(), 2);
        let by_ref: &DocFreqTable = &t;
        assert_eq!(ShingleStats::doc_freq(&by_ref, 9), 5);
    }

    #[test]
    fn hash_key_hasher_spreads_keys() {
        let hash = |n: u64| {
            let mut h = HashKeyHasher::default();
            h.write_u64(n);
            h.finish()
        };
        assert_ne!(hash(1), hash(2));
        assert_eq!(hash(7), hash(7));
        let mut h = HashKeyHasher::default();
        h.write(b"ab");
        assert_ne!(h.finish(), 0);
        // Consecutive ordinals (u32) spread over the high bits a hash table
        // tags with and the low bits it picks buckets by.
        let ordinals: Vec<u64> = (0u32..1024)
            .map(|n| {
                let mut h = HashKeyHasher::default();
                h.write_u32(n);
                h.finish()
            })
            .collect();
        let distinct = |bits: fn(u64) -> u64| ordinals.iter().map(|&h| bits(h)).collect::<HashSet<_>>().len();
        assert_eq!(distinct(|h| h >> 57), 128);
        assert!(distinct(|h| h & 1023) > 600, "{}", distinct(|h| h & 1023));
    }

    #[test]
    fn cutoff_weighting_drops_common_items_once_enough_documents_are_counted() {
        let mut t = DocFreqTable::new();
        for i in 0..10 {
            t.add_document([1, 100 + i]);
        }
        let weight = |w: Weighting, item: u64, boost: f32| w.weight(t.documents(), t.doc_freq(item), boost);
        let cutoff = Weighting::Cutoff { max_df_ratio: 0.5, min_documents: 5 };
        assert_eq!(weight(cutoff, 1, 1.0), 0.0);
        assert_eq!(weight(cutoff, 100, 1.0), 1.0);
        assert_eq!(weight(cutoff, 100, 3.0), 3.0);
        let early = Weighting::Cutoff { max_df_ratio: 0.5, min_documents: 50 };
        assert_eq!(weight(early, 1, 1.0), 1.0);
        let weighted = Weighting::Idf { power: 1.0 };
        assert!(weight(weighted, 100, 1.0) > weight(weighted, 1, 1.0));
        assert_eq!(weight(weighted, 100, 2.0), 2.0 * t.idf(100));
    }

    #[test]
    fn signature_is_deterministic_and_order_free() {
        let h = MinHasher::new(64);
        assert_eq!(h.k(), 64);
        let a = h.sign(&unweighted(&[1, 2, 3, 4, 5]));
        let b = h.sign(&unweighted(&[5, 4, 3, 2, 1]));
        assert_eq!(a.len(), 64);
        assert_eq!(a, b);
        assert_eq!(a, MinHasher::new(64).sign(&unweighted(&[1, 2, 3, 4, 5])));
    }

    #[test]
    fn signature_values_are_item_ids() {
        let items = [10u64, 20, 30];
        let ids: Vec<u32> = items.iter().map(|&i| item_id(i)).collect();
        assert!(MinHasher::new(32).sign(&unweighted(&items)).iter().all(|v| ids.contains(v)));
    }

    #[test]
    fn empty_or_weightless_sets_have_no_signature() {
        let h = MinHasher::new(16);
        assert!(h.sign(&[]).is_empty());
        assert!(h.sign(&[(1, 0.0), (2, -1.0), (3, f32::NAN)]).is_empty());
        assert_eq!(h.sign(&[(1, 0.0), (2, 1.0)]), h.sign(&[(2, 1.0)]));
    }

    #[test]
    fn agreement_estimates_jaccard() {
        let h = MinHasher::new(512);
        // |A ∩ B| = 50, |A ∪ B| = 150: J = 1/3.
        let a: Vec<u64> = (0..100).collect();
        let b: Vec<u64> = (50..150).collect();
        let s = agreement(&h.sign(&unweighted(&a)), &h.sign(&unweighted(&b)));
        assert!((s - 1.0 / 3.0).abs() < 0.07, "{s}");
        assert_eq!(agreement(&h.sign(&unweighted(&a)), &h.sign(&unweighted(&a))), 1.0);
        assert_eq!(agreement(&[], &[]), 0.0);
        assert_eq!(agreement(&[1], &[1, 2]), 0.0);
    }

    #[test]
    fn weights_move_the_agreement() {
        let h = MinHasher::new(512);
        // Shared items 0..10 are heavy in one case and light in the other.
        let shared: Vec<u64> = (0..10).collect();
        let a_only: Vec<u64> = (100..140).collect();
        let b_only: Vec<u64> = (200..240).collect();
        let set = |shared_w: f32, own: &[u64]| -> Vec<(u64, f32)> {
            shared.iter().map(|&i| (i, shared_w)).chain(own.iter().map(|&i| (i, 1.0))).collect()
        };
        let heavy = agreement(&h.sign(&set(10.0, &a_only)), &h.sign(&set(10.0, &b_only)));
        let light = agreement(&h.sign(&set(1.0, &a_only)), &h.sign(&set(1.0, &b_only)));
        // Probability Jaccard: heavy 100/180 ≈ 0.56, light 10/90 ≈ 0.11.
        assert!((heavy - 100.0 / 180.0).abs() < 0.08, "{heavy}");
        assert!((light - 10.0 / 90.0).abs() < 0.06, "{light}");
    }

    #[test]
    fn items_win_in_proportion_to_their_weight() {
        let items = [(0x0123_4567_89ab_cdef, 1.0), (0x5555_0000_aaaa_1111, 2.5), (0x0f0f_0f0f_f0f0_0000, 0.5)];
        let sig = MinHasher::new(4000).sign(&items);
        for (item, w) in items {
            let share = sig.iter().filter(|&&v| v == item_id(item)).count() as f64 / sig.len() as f64;
            assert!((share - w as f64 / 4.0).abs() < 0.03, "{item:x}: {share}");
        }
    }

    #[test]
    fn signature_is_stable_across_versions() {
        // Stored in PostgreSQL: these values must never change.
        let items = [(0x0123_4567_89ab_cdef, 1.0), (0x5555_0000_aaaa_1111, 2.5), (0x0f0f_0f0f_f0f0_0000, 0.5)];
        let sig = MinHasher::new(8).sign(&items);
        let (a, b) = (item_id(0x5555_0000_aaaa_1111), item_id(0x0123_4567_89ab_cdef));
        assert_eq!(sig, vec![a, a, a, b, a, a, b, a]);
        let keys = Banding { bands: 4, rows: 2 }.keys(&sig);
        assert_eq!(keys, vec![2836201063096874094, -1881209951408469210, -5041810381366329114, -7791482274554105889]);
    }

    #[test]
    fn band_keys_differ_by_band_and_follow_values() {
        let b = Banding { bands: 4, rows: 2 };
        let keys = b.keys(&[7, 7, 7, 7, 7, 7, 7, 7]);
        assert_eq!(keys.len(), 4);
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), 4);
        let other = b.keys(&[7, 7, 7, 7, 7, 7, 7, 8]);
        assert_eq!(keys[..3], other[..3]);
        assert_ne!(keys[3], other[3]);
        assert!(b.keys(&[]).is_empty());
    }

    #[test]
    #[should_panic(expected = "signature of 3 values")]
    fn band_keys_need_a_long_enough_signature() {
        Banding { bands: 2, rows: 2 }.keys(&[1, 2, 3]);
    }

    #[test]
    fn s_curve() {
        let b = Banding { bands: 16, rows: 2 };
        assert_eq!(b.collision_probability(0.0), 0.0);
        assert_eq!(b.collision_probability(1.0), 1.0);
        assert!((b.collision_probability(0.5) - (1.0 - 0.75f64.powi(16))).abs() < 1e-12);
        assert!((b.threshold() - 0.25).abs() < 1e-12);
        assert!(b.collision_probability(0.6) > b.collision_probability(0.3));
    }

    #[test]
    fn doc_freq_table_round_trips_and_rejects_corrupt_bytes() {
        let mut t = DocFreqTable::new();
        t.add_document([1, 2, 3]);
        t.add_document([2, 3]);
        t.add_document([3, u64::MAX]);
        let bytes = t.encode();
        assert_eq!(DocFreqTable::decode(&bytes), Ok(t.clone()));
        assert_eq!(bytes.len(), 12 + 4 * 12);
        assert_eq!(DocFreqTable::decode(&bytes[..bytes.len() - 1]), Err(DecodeError::Truncated));
        assert_eq!(DocFreqTable::decode(&[bytes.as_slice(), &[0]].concat()), Err(DecodeError::Trailing(1)));
        assert_eq!(DocFreqTable::decode(&[]), Err(DecodeError::Truncated));
        assert_eq!(DocFreqTable::decode(&DocFreqTable::new().encode()), Ok(DocFreqTable::new()));
    }
}
