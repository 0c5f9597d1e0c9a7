//! The fingerprint a filing stores, and the analysis that makes it.

use serde::{Deserialize, Serialize};

use super::codec::{DecodeError, Reader, put_len};
use super::minhash::{Banding, MinHasher, ShingleStats, Weighting, idf};
use super::normalize::Normalized;
use super::shingles::{Specific, distinct, shingles, specifics};

/// Version of the fingerprint layout and of everything that feeds it (seeds,
/// shingle size, normalization). Version 1 also stored the MinHash
/// signature and lacked [`Fingerprint::shingle_idf_total`]; it still
/// decodes (without the total). Fingerprints of an unknown version must be
/// recomputed from the case text before they are compared.
pub const FINGERPRINT_VERSION: u16 = 2;

/// How texts are fingerprinted. [`Params::default`] holds the values
/// chosen on the quality harness (`dedup-quality`); the measurements are in
/// `docs/duplicate-detection.md`, "How the parameters were chosen".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Units per shingle (n of the n-grams). 2: one wrong character breaks
    /// fewer bigrams than trigrams, and two-character names stay whole.
    pub shingle_size: usize,
    /// MinHash functions (signature length); at least `bands × rows`.
    pub minhash_k: usize,
    /// LSH bands and rows. 16 × 2 finds repeats as well as layouts with
    /// more bands, and each band is an index entry per case.
    pub banding: Banding,
    /// How shingles are weighted for the MinHash. Dropping what more than
    /// 0.5% of the cases contain (boilerplate, template phrasing) beats IDF
    /// weights at few candidates.
    pub weighting: Weighting,
    /// Weight multiplier of specifics over shingles in the MinHash: they
    /// survive rewording.
    pub specifics_boost: f32,
    /// Most shingle hashes kept in a fingerprint (the smallest hashes: a
    /// bottom-k sample, so two sketches stay comparable); 1024 covers the
    /// 99th-percentile text whole.
    pub max_shingles: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            shingle_size: 2,
            minhash_k: 32,
            banding: Banding { bands: 16, rows: 2 },
            weighting: Weighting::Cutoff { max_df_ratio: 0.005, min_documents: 100 },
            specifics_boost: 16.0,
            max_shingles: 1024,
        }
    }
}

/// Most specifics of a case the band index holds: beyond them (a long
/// text naming many people, sums and dates) it holds none, and the case is
/// always read when it is a candidate. 128 covers 99% of petitions; every
/// fingerprint's indexed prefix, read at start, is this long.
pub const INDEXED_SPECIFICS: usize = 128;

/// What the band index keeps of a stored fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indexed {
    pub band_keys: Vec<i64>,
    /// `None` when the prefix read ends before them (more than
    /// [`INDEXED_SPECIFICS`]).
    pub specifics: Option<Vec<u64>>,
}

/// What a filing stores for duplicate detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// [`FINGERPRINT_VERSION`] it was made with.
    pub version: u16,
    /// One LSH key per band (empty for a text without units): the rows
    /// `(band, key, case_id)` of the candidate index.
    pub band_keys: Vec<i64>,
    /// Hashes of the distinct specifics, sorted (the low four bits are the
    /// [`super::SpecificKind`]).
    pub specifics: Vec<u64>,
    /// Distinct shingle hashes, sorted; only the `max_shingles` smallest.
    pub shingles: Vec<u64>,
    /// Number of distinct shingles before the cap.
    pub shingle_count: u32,
    /// Σ IDF of `shingles` under the statistics it was made with, so that a
    /// candidate's side of a comparison needs no lookups
    /// ([`super::Scoring::similarity`]); `None` when not known (decoded from
    /// version 1, or made under other statistics than the comparison uses).
    pub shingle_idf_total: Option<f32>,
}

impl Fingerprint {
    /// True when `shingles` is a sample (the text had more distinct shingles
    /// than the cap).
    pub fn is_sampled(&self) -> bool {
        self.shingles.len() < self.shingle_count as usize
    }

    /// The largest hash that a sampled shingle set could hold (every smaller
    /// shingle of the text is in it): `u64::MAX` when complete.
    pub fn shingle_limit(&self) -> u64 {
        if self.is_sampled() { self.shingles.last().copied().unwrap_or(u64::MAX) } else { u64::MAX }
    }

    /// Compact little-endian encoding for a `bytea` column.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(&FINGERPRINT_VERSION.to_le_bytes());
        put_len(&mut out, self.band_keys.len());
        for v in &self.band_keys {
            out.extend_from_slice(&v.to_le_bytes());
        }
        put_len(&mut out, self.specifics.len());
        for v in &self.specifics {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.shingle_count.to_le_bytes());
        // NaN stands for "not known" (no statistics sum to NaN).
        out.extend_from_slice(&self.shingle_idf_total.unwrap_or(f32::NAN).to_le_bytes());
        put_len(&mut out, self.shingles.len());
        for v in &self.shingles {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// How many bytes at the start of [`Self::encode`]'s output the band
    /// index reads ([`Self::indexed_in_prefix`]): the `bands` band keys and
    /// up to [`INDEXED_SPECIFICS`] specifics.
    pub fn indexed_prefix_len(bands: usize) -> usize {
        2 + 4 + 8 * bands + 4 + 8 * INDEXED_SPECIFICS
    }

    /// What the band index keeps of a fingerprint, from the first
    /// [`Self::indexed_prefix_len`] bytes of its encoding (or more of it),
    /// when it holds `bands` keys of this version; `None` when it was keyed
    /// under another LSH layout or is of version 1 (made before this
    /// layout): its keys never meet the current ones, and
    /// `reindex-similarity` re-makes it.
    pub fn indexed_in_prefix(prefix: &[u8], bands: usize) -> Result<Option<Indexed>, DecodeError> {
        let mut r = Reader { bytes: prefix };
        match u16::from_le_bytes(r.take::<2>()?) {
            1 => return Ok(None),
            FINGERPRINT_VERSION => {}
            other => return Err(DecodeError::Version(other)),
        }
        let n = u32::from_le_bytes(r.take::<4>()?) as usize;
        // No units, no keys: under any layout.
        if n != bands && n != 0 {
            return Ok(None);
        }
        let band_keys = (0..n).map(|_| r.take::<8>().map(i64::from_le_bytes)).collect::<Result<_, _>>()?;
        let n = u32::from_le_bytes(r.take::<4>()?) as usize;
        let specifics = if r.bytes.len() / 8 >= n {
            Some((0..n).map(|_| r.take::<8>().map(u64::from_le_bytes)).collect::<Result<_, _>>()?)
        } else {
            None
        };
        Ok(Some(Indexed { band_keys, specifics }))
    }

    /// Length of [`Self::encode`]'s output in bytes.
    pub fn encoded_len(&self) -> usize {
        2 + 4 + 8 * self.band_keys.len() + 4 + 8 * self.specifics.len() + 4 + 4 + 4 + 8 * self.shingles.len()
    }

    /// Decodes [`Self::encode`]'s output, or a version 1 fingerprint.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader { bytes };
        let version = u16::from_le_bytes(r.take::<2>()?);
        if version == 1 {
            // The signature it stored is not needed to compare.
            let n = r.len()?;
            r.skip(4 * n)?;
        } else if version != FINGERPRINT_VERSION {
            return Err(DecodeError::Version(version));
        }
        let n = r.len()?;
        let band_keys = (0..n).map(|_| r.take::<8>().map(i64::from_le_bytes)).collect::<Result<_, _>>()?;
        let n = r.len()?;
        let specifics = (0..n).map(|_| r.take::<8>().map(u64::from_le_bytes)).collect::<Result<_, _>>()?;
        let shingle_count = u32::from_le_bytes(r.take::<4>()?);
        let shingle_idf_total = match version {
            1 => None,
            _ => Some(f32::from_le_bytes(r.take::<4>()?)).filter(|t| !t.is_nan()),
        };
        let n = r.len()?;
        let shingles = (0..n).map(|_| r.take::<8>().map(u64::from_le_bytes)).collect::<Result<_, _>>()?;
        if !r.bytes.is_empty() {
            return Err(DecodeError::Trailing(r.bytes.len()));
        }
        Ok(Self { version, band_keys, specifics, shingles, shingle_count, shingle_idf_total })
    }
}

/// A text taken apart: what the fingerprint was made of, kept for
/// explaining a match ([`super::score::explain`]).
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The normalized text.
    pub text: Normalized,
    /// Shingle hashes in text order (the i-th starts at unit i).
    pub shingles: Vec<u64>,
    /// Specifics in text order.
    pub specifics: Vec<Specific>,
    /// The weighted MinHash signature the band keys were cut from
    /// (`minhash_k` item ids; empty for a text without units). Not stored.
    pub signature: Vec<u32>,
    /// The IDF of each of `fingerprint.shingles` and of each of
    /// `fingerprint.specifics`, under the statistics it was analyzed with
    /// (`super::Scoring::prepare_analysis` weighs the query with them).
    pub shingle_idfs: Vec<f32>,
    pub specific_idfs: Vec<f32>,
    /// How many documents those statistics counted.
    pub documents: u64,
    /// The text refers back to an earlier letter ([`super::shingles::refers_back`]).
    pub refers_back: bool,
    /// The fingerprint to store.
    pub fingerprint: Fingerprint,
}

/// Makes fingerprints with fixed [`Params`].
#[derive(Debug, Clone)]
pub struct Fingerprinter {
    params: Params,
    hasher: MinHasher,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Self::new(Params::default())
    }
}

impl Fingerprinter {
    /// # Panics
    /// When the parameters are inconsistent (shingle size 0, fewer MinHash
    /// functions than `bands × rows`, no band, no row, or a cap of 0).
    pub fn new(params: Params) -> Self {
        assert!(params.shingle_size >= 1, "shingle size must be at least 1");
        assert!(params.banding.bands >= 1 && params.banding.rows >= 1, "banding needs bands and rows");
        assert!(
            params.minhash_k >= params.banding.bands * params.banding.rows,
            "fewer MinHash functions than bands × rows"
        );
        assert!(params.max_shingles >= 1, "the shingle cap must be at least 1");
        Self { params, hasher: MinHasher::new(params.minhash_k) }
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Analyzes `text`, weighting with `stats`.
    pub fn analyze(&self, text: &str, stats: &dyn ShingleStats) -> Analysis {
        let normalized = Normalized::new(text);
        let positional = shingles(&normalized, self.params.shingle_size);
        let found = specifics(&normalized);
        let all_shingles = distinct(&positional);
        let specific_hashes = distinct(&found.iter().map(|s| s.hash).collect::<Vec<_>>());
        // Each item's document frequency is looked up once: the weights,
        // the IDF total and the query's scoring weights all derive from it.
        let documents = stats.documents();
        let shingle_dfs: Vec<u64> = all_shingles.iter().map(|&h| stats.doc_freq(h)).collect();
        let specific_dfs: Vec<u64> = specific_hashes.iter().map(|&h| stats.doc_freq(h)).collect();
        let (weighting, boost) = (self.params.weighting, self.params.specifics_boost);
        // Weighed as if `documents` had been counted: with 0, every item alike.
        let weigh = |documents: u64| -> Vec<(u64, f32)> {
            all_shingles
                .iter()
                .zip(&shingle_dfs)
                .map(|(&h, &df)| (h, weighting.weight(documents, df, 1.0)))
                .chain(
                    specific_hashes
                        .iter()
                        .zip(&specific_dfs)
                        .map(|(&h, &df)| (h, weighting.weight(documents, df, boost))),
                )
                .collect()
        };
        let mut signature = self.hasher.sign(&weigh(documents));
        if signature.is_empty() {
            // Nothing rarer than the cutoff (a short, generic text): sign it
            // unweighted rather than leave it out of the index.
            signature = self.hasher.sign(&weigh(0));
        }
        let band_keys = self.params.banding.keys(&signature);
        let shingle_count = all_shingles.len() as u32;
        let mut kept = all_shingles;
        kept.truncate(self.params.max_shingles);
        let shingle_idfs: Vec<f32> = shingle_dfs.iter().take(kept.len()).map(|&df| idf(documents, df)).collect();
        let specific_idfs: Vec<f32> = specific_dfs.iter().map(|&df| idf(documents, df)).collect();
        let shingle_idf_total = shingle_idfs.iter().sum();
        let refers_back = super::shingles::refers_back(&normalized);
        Analysis {
            refers_back,
            text: normalized,
            shingles: positional,
            specifics: found,
            signature,
            shingle_idfs,
            specific_idfs,
            documents,
            fingerprint: Fingerprint {
                version: FINGERPRINT_VERSION,
                band_keys,
                specifics: specific_hashes,
                shingles: kept,
                shingle_count,
                shingle_idf_total: Some(shingle_idf_total),
            },
        }
    }

    /// The fingerprint of `text`, weighting with `stats`.
    pub fn fingerprint(&self, text: &str, stats: &dyn ShingleStats) -> Fingerprint {
        self.analyze(text, stats).fingerprint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similarity::minhash::{DocFreqTable, NoStats, agreement};

    const TEXT: &str = "我是章贡区水东镇虎岗村村民，2023年5月12日起在宏达建筑有限公司务工，至今被拖欠工资3.5万元。恳请领导高度重视，尽快解决为盼！";

    #[test]
    fn fingerprint_has_every_part() {
        let a = Fingerprinter::default().analyze(TEXT, &NoStats);
        let f = a.fingerprint;
        let p = Params::default();
        assert_eq!(f.version, FINGERPRINT_VERSION);
        assert_eq!(a.signature.len(), p.minhash_k);
        assert_eq!(f.band_keys.len(), p.banding.bands);
        assert!(!f.specifics.is_empty());
        assert!(f.shingles.windows(2).all(|w| w[0] < w[1]));
        assert!(f.specifics.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(f.shingles.len(), f.shingle_count as usize);
        assert!(!f.is_sampled());
        assert_eq!(f.shingle_limit(), u64::MAX);
        // Without statistics every shingle weighs 1.
        assert_eq!(f.shingle_idf_total, Some(f.shingles.len() as f32));
    }

    #[test]
    fn analysis_keeps_positions() {
        let a = Fingerprinter::default().analyze(TEXT, &NoStats);
        assert_eq!(a.shingles.len(), a.text.len() - Params::default().shingle_size + 1);
        assert!(a.specifics.iter().any(|s| s.text == "35000元"));
    }

    #[test]
    fn same_text_same_fingerprint_punctuation_and_width_do_not_matter() {
        let fp = Fingerprinter::default();
        let a = fp.fingerprint(TEXT, &NoStats);
        let b = fp.fingerprint(&TEXT.replace('，', ",").replace('3', "３"), &NoStats);
        assert_eq!(a, b);
    }

    #[test]
    fn empty_text_has_an_empty_fingerprint() {
        let a = Fingerprinter::default().analyze("。。！", &NoStats);
        let f = a.fingerprint;
        assert!(a.signature.is_empty() && f.band_keys.is_empty() && f.shingles.is_empty() && f.specifics.is_empty());
        assert_eq!(f.shingle_count, 0);
    }

    #[test]
    fn long_text_shingles_are_a_bottom_k_sample() {
        let params = Params { max_shingles: 10, ..Params::default() };
        let a = Fingerprinter::new(params).analyze(TEXT, &NoStats);
        let full = Fingerprinter::default().analyze(TEXT, &NoStats);
        let (f, full_f) = (&a.fingerprint, &full.fingerprint);
        assert_eq!(f.shingles.len(), 10);
        assert!(f.is_sampled());
        assert_eq!(f.shingles[..], full_f.shingles[..10]);
        assert_eq!(f.shingle_limit(), full_f.shingles[9]);
        assert_eq!(f.shingle_idf_total, Some(10.0), "the total is over the sample");
        assert_eq!(a.signature, full.signature);
    }

    #[test]
    fn stats_change_the_signature_but_not_the_sets() {
        // Specifics weighing as shingles: with the boost they win most functions.
        let fp = Fingerprinter::new(Params { specifics_boost: 1.0, ..Params::default() });
        let mut stats = DocFreqTable::new();
        let boiler = fp.analyze("恳请领导高度重视，尽快解决为盼！", &NoStats);
        for _ in 0..100 {
            stats.add_document(boiler.fingerprint.shingles.iter().copied());
        }
        let plain = fp.analyze(TEXT, &NoStats);
        let weighted = fp.analyze(TEXT, &stats);
        assert_eq!(plain.fingerprint.shingles, weighted.fingerprint.shingles);
        assert_eq!(plain.fingerprint.specifics, weighted.fingerprint.specifics);
        assert_ne!(plain.signature, weighted.signature);
        assert!(weighted.fingerprint.shingle_idf_total > plain.fingerprint.shingle_idf_total);
        // The boilerplate wins fewer MinHash functions once it is known to be common.
        let b_plain = fp.analyze("恳请领导高度重视，尽快解决为盼！", &NoStats);
        let b_weighted = fp.analyze("恳请领导高度重视，尽快解决为盼！", &stats);
        assert!(
            agreement(&weighted.signature, &b_weighted.signature) < agreement(&plain.signature, &b_plain.signature)
        );
    }

    #[test]
    fn a_text_of_only_common_shingles_is_still_signed() {
        let fp = Fingerprinter::default();
        let text = "恳请领导高度重视，尽快解决为盼！";
        let mut stats = DocFreqTable::new();
        let a = fp.analyze(text, &NoStats);
        for _ in 0..200 {
            stats.add_document(a.fingerprint.shingles.iter().copied());
        }
        let b = fp.analyze(text, &stats);
        assert_eq!(b.signature, a.signature);
        assert_eq!(b.fingerprint.band_keys.len(), Params::default().banding.bands);
    }

    #[test]
    fn encode_decode_round_trip() {
        let f = Fingerprinter::default().fingerprint(TEXT, &NoStats);
        let bytes = f.encode();
        assert_eq!(bytes.len(), f.encoded_len());
        assert_eq!(Fingerprint::decode(&bytes), Ok(f.clone()));
        assert_eq!(Fingerprint::decode(&bytes[..bytes.len() - 1]), Err(DecodeError::Truncated));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Fingerprint::decode(&longer), Err(DecodeError::Trailing(1)));
        assert_eq!(Fingerprint::decode(&[]), Err(DecodeError::Truncated));
        let mut huge = bytes.clone();
        huge[2..6].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Fingerprint::decode(&huge), Err(DecodeError::Truncated));
        let mut unknown = bytes;
        unknown[0..2].copy_from_slice(&9u16.to_le_bytes());
        assert_eq!(Fingerprint::decode(&unknown), Err(DecodeError::Version(9)));
        let unknown_total = Fingerprint { shingle_idf_total: None, ..f };
        assert_eq!(Fingerprint::decode(&unknown_total.encode()), Ok(unknown_total));
    }

    #[test]
    fn the_band_index_reads_keys_and_specifics_from_a_prefix() {
        let f = Fingerprinter::default().fingerprint(TEXT, &NoStats);
        assert!(!f.specifics.is_empty());
        let bands = Params::default().banding.bands;
        let bytes = f.encode();
        let whole = Ok(Some(Indexed { band_keys: f.band_keys.clone(), specifics: Some(f.specifics.clone()) }));
        let prefix = &bytes[..Fingerprint::indexed_prefix_len(bands).min(bytes.len())];
        assert_eq!(Fingerprint::indexed_in_prefix(prefix, bands), whole);
        assert_eq!(Fingerprint::indexed_in_prefix(&bytes, bands), whole);
        let keys_end = 2 + 4 + 8 * bands;
        let cut = &bytes[..keys_end + 4 + 8 * f.specifics.len() - 1];
        assert_eq!(
            Fingerprint::indexed_in_prefix(cut, bands),
            Ok(Some(Indexed { band_keys: f.band_keys.clone(), specifics: None })),
            "specifics beyond the prefix are not known"
        );
        assert_eq!(Fingerprint::indexed_in_prefix(&bytes[..keys_end + 3], bands), Err(DecodeError::Truncated));
        assert_eq!(Fingerprint::indexed_in_prefix(prefix, 40), Ok(None), "another layout");
        assert_eq!(Fingerprint::indexed_in_prefix(&bytes[..keys_end - 1], bands), Err(DecodeError::Truncated));
        assert_eq!(Fingerprint::indexed_in_prefix(&1u16.to_le_bytes(), bands), Ok(None), "version 1");
        assert_eq!(Fingerprint::indexed_in_prefix(&7u16.to_le_bytes(), bands), Err(DecodeError::Version(7)));
        let empty = Fingerprinter::default().fingerprint("。。！", &NoStats).encode();
        assert_eq!(
            Fingerprint::indexed_in_prefix(&empty, bands),
            Ok(Some(Indexed { band_keys: vec![], specifics: Some(vec![]) })),
            "a text without units"
        );
    }

    #[test]
    fn version_1_still_decodes_without_its_signature_or_total() {
        let a = Fingerprinter::default().analyze(TEXT, &NoStats);
        let f = &a.fingerprint;
        // The version 1 layout: the signature after the version, no total.
        let mut v1 = 1u16.to_le_bytes().to_vec();
        let put = |out: &mut Vec<u8>, n: usize| out.extend_from_slice(&(n as u32).to_le_bytes());
        put(&mut v1, a.signature.len());
        a.signature.iter().for_each(|v| v1.extend_from_slice(&v.to_le_bytes()));
        put(&mut v1, f.band_keys.len());
        f.band_keys.iter().for_each(|v| v1.extend_from_slice(&v.to_le_bytes()));
        put(&mut v1, f.specifics.len());
        f.specifics.iter().for_each(|v| v1.extend_from_slice(&v.to_le_bytes()));
        v1.extend_from_slice(&f.shingle_count.to_le_bytes());
        put(&mut v1, f.shingles.len());
        f.shingles.iter().for_each(|v| v1.extend_from_slice(&v.to_le_bytes()));
        let decoded = Fingerprint::decode(&v1).expect("version 1 decodes");
        assert_eq!(decoded, Fingerprint { version: 1, shingle_idf_total: None, ..f.clone() });
    }

    #[test]
    fn serde_round_trip() {
        let f = Fingerprinter::default().fingerprint(TEXT, &NoStats);
        let json = serde_json::to_string(&f).expect("serializes");
        assert_eq!(serde_json::from_str::<Fingerprint>(&json).expect("deserializes"), f);
    }

    #[test]
    #[should_panic(expected = "fewer MinHash functions")]
    fn inconsistent_params_are_refused() {
        Fingerprinter::new(Params { minhash_k: 8, ..Params::default() });
    }
}
