//! The LSH band index: which cases share a band key. It lives in the
//! server's memory, not in PostgreSQL.
//!
//! Why: band keys are derived data (every stored fingerprint holds its
//! own), and as a table of `(key, case)` rows they made each filing at a
//! million cases read and write random pages of a large index — most of
//! what detection cost a filing, and most of its WAL
//! (`docs/duplicate-detection.md`). In memory a probe is a hash lookup. Each server builds the index from
//! `case_fingerprints` at start and follows what is stored after
//! ([`super::SimilarityIndex::follow`]): its own filings at once, other
//! servers' within [`super::index::FOLLOW_EVERY`].
//!
//! Layout: case ids become dense ordinals; each of [`SHARDS`] shards maps
//! a key to its newest entry, and each entry links to the next older one
//! of its key, so a probe reads the newest cases first and stops at the
//! reach. After the build each key's entries are made adjacent
//! ([`BandIndex::compact`]). ≈ 8 bytes per (key, case) entry, ≈ 14 per
//! distinct key and ≈ 40 per case: see [`Footprint`].
//!
//! Each case's specifics (names, sums, dates) are kept beside it, 8 bytes
//! apiece: a probe asks the caller
//! about them before it returns a case ([`BandIndex::candidates`]'s
//! `admit`), so that a filing does not read candidates from PostgreSQL
//! that cannot be decided its repeat or related
//! (`Scoring::content_bound`). For the same reason the index notes whose
//! cases were filed through this server: a filing reads its petitioner's
//! open cases, and need not read those of them that cannot be kept
//! ([`BandIndex::refused_of`]).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::RwLock;

use uuid::Uuid;

use super::minhash::HashKeyHasher;

/// Independently locked parts: a filing's insert and concurrent probes
/// rarely wait on one another, and no single map grows (and rehashes)
/// to the whole index's size.
pub const SHARDS: usize = 64;

/// "No older entry".
const END: u32 = u32::MAX;

pub struct BandIndex {
    shards: Box<[RwLock<Shard>]>,
    cases: RwLock<Cases>,
}

#[derive(Default)]
struct Shard {
    /// The newest entry of each key.
    newest: HashMap<i64, u32>,
    entries: Vec<Entry>,
}

#[derive(Clone, Copy)]
struct Entry {
    case: u32,
    /// The next older entry of the same key, or [`END`].
    older: u32,
}

#[derive(Default)]
struct Cases {
    ids: Vec<Uuid>,
    ordinals: HashMap<Uuid, u32>,
    /// Each case's specifics: `(start, len)` in `specifics`, `len`
    /// [`UNKNOWN`] when they were not read.
    spans: Vec<(u32, u32)>,
    specifics: Vec<u64>,
    /// The cases filed through this server since it started, by
    /// petitioner ([`BandIndex::note_petitioner`]); the stored
    /// fingerprints the index is built from do not name him.
    by_petitioner: HashMap<Uuid, Vec<u32>>,
}

/// "Specifics not known": the case is always admitted.
const UNKNOWN: u32 = u32::MAX;

impl Cases {
    fn specifics_of(&self, ordinal: u32) -> Option<&[u64]> {
        let &(start, len) = self.spans.get(ordinal as usize)?;
        if len == UNKNOWN {
            return None;
        }
        self.specifics.get(start as usize..start as usize + len as usize)
    }
}

/// What the index holds and about how much memory it takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    pub cases: usize,
    pub keys: usize,
    pub entries: usize,
    pub bytes: usize,
}

impl Default for BandIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for BandIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BandIndex").field("footprint", &self.footprint()).finish()
    }
}

fn shard_of(key: i64) -> usize {
    // Keys are hashes already; the multiply spreads any that are not.
    ((key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % SHARDS
}

impl BandIndex {
    pub fn new() -> Self {
        Self { shards: (0..SHARDS).map(|_| RwLock::default()).collect(), cases: RwLock::default() }
    }

    /// Adds a case under its band keys, as the newest case of each, with
    /// its specifics when known. A case already in the index is left as it
    /// is (a follower sees a server's own filings again); false then.
    pub fn insert(&self, case: Uuid, keys: &[i64], specifics: Option<&[u64]>) -> bool {
        let ordinal = {
            let mut cases = write(&self.cases);
            if cases.ordinals.contains_key(&case) {
                return false;
            }
            let Ok(ordinal) = u32::try_from(cases.ids.len()) else { return false };
            if ordinal == END {
                return false;
            }
            let start = u32::try_from(cases.specifics.len()).ok();
            let span = match (specifics, start) {
                (Some(s), Some(start)) if u32::try_from(s.len()).is_ok_and(|n| n != UNKNOWN) => {
                    cases.specifics.extend_from_slice(s);
                    (start, s.len() as u32)
                }
                _ => (0, UNKNOWN),
            };
            cases.ids.push(case);
            cases.ordinals.insert(case, ordinal);
            cases.spans.push(span);
            ordinal
        };
        let mut keys = keys.to_vec();
        // Two bands may hash alike; a case is listed once per key.
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            let mut shard = write(&self.shards[shard_of(key)]);
            let Ok(at) = u32::try_from(shard.entries.len()) else { continue };
            let older = shard.newest.insert(key, at).unwrap_or(END);
            shard.entries.push(Entry { case: ordinal, older });
        }
        true
    }

    /// Lays each key's entries out one after the other, newest first.
    /// Built case by case, a key's entries are scattered over its shard
    /// (megabytes), so that a probe missed the cache at every entry: at a
    /// million cases that was most of its time. Entries inserted later are
    /// appended as before (few, and recent ones are cached).
    pub fn compact(&self) {
        for shard in &self.shards {
            let mut shard = write(shard);
            let Shard { newest, entries } = &mut *shard;
            let mut packed: Vec<Entry> = Vec::with_capacity(entries.len());
            for head in newest.values_mut() {
                let mut at = *head;
                // Indices of `packed` fit: it holds at most what `entries` holds.
                let start = packed.len();
                while let Some(entry) = entries.get(at as usize) {
                    let next = packed.len() as u32 + 1;
                    packed.push(Entry { case: entry.case, older: if entry.older == END { END } else { next } });
                    at = entry.older;
                }
                // A broken link (never made) ends the key where it breaks.
                *head = if packed.len() == start { END } else { start as u32 };
                if let Some(last) = packed[start..].last_mut().filter(|_| at != END) {
                    last.older = END;
                }
            }
            *entries = packed;
        }
    }

    /// Records whose case `case` (already inserted) is, for
    /// [`Self::refused_of`].
    pub fn note_petitioner(&self, case: Uuid, petitioner: Uuid) {
        let mut cases = write(&self.cases);
        if let Some(&ordinal) = cases.ordinals.get(&case) {
            cases.by_petitioner.entry(petitioner).or_default().push(ordinal);
        }
    }

    /// The cases of `petitioner` noted here whose specifics `admit`
    /// refuses: a filing need not read them (cases of his not noted, or
    /// whose specifics are not known, are not returned).
    pub fn refused_of(&self, petitioner: Uuid, admit: &dyn Fn(&[u64]) -> bool) -> Vec<Uuid> {
        let cases = read(&self.cases);
        let Some(own) = cases.by_petitioner.get(&petitioner) else { return Vec::new() };
        own.iter()
            .filter(|&&ordinal| cases.specifics_of(ordinal).is_some_and(|s| !admit(s)))
            .filter_map(|&ordinal| cases.ids.get(ordinal as usize).copied())
            .collect()
    }

    pub fn contains(&self, case: Uuid) -> bool {
        read(&self.cases).ordinals.contains_key(&case)
    }

    /// The cases sharing keys with `keys`, most alike first: of each key
    /// the `per_key` newest cases are read, and a case scores Σ 1/n over
    /// the keys it shares, n the cases read for the key — a key that
    /// hundreds of cases share (one estate, one company) says little.
    /// Equal scores go newest first. At most `limit`, none scoring below
    /// `min_score`, none whose known specifics `admit` refuses (it is asked
    /// in rank order, until `limit` are admitted); never `exclude`.
    pub fn candidates(
        &self,
        keys: &[i64],
        per_key: usize,
        limit: usize,
        min_score: f64,
        exclude: Option<Uuid>,
        admit: &dyn Fn(&[u64]) -> bool,
    ) -> Vec<Uuid> {
        // Up to `per_key` entries per key are summed here at every check.
        let mut scores: HashMap<u32, f64, BuildHasherDefault<HashKeyHasher>> =
            HashMap::with_capacity_and_hasher(keys.len() * per_key.min(64), BuildHasherDefault::default());
        let mut read_for_key = Vec::with_capacity(per_key.min(256));
        for &key in keys {
            read_for_key.clear();
            {
                let shard = read(&self.shards[shard_of(key)]);
                let mut at = shard.newest.get(&key).copied().unwrap_or(END);
                while at != END && read_for_key.len() < per_key {
                    let Some(entry) = shard.entries.get(at as usize) else { break };
                    read_for_key.push(entry.case);
                    at = entry.older;
                }
            }
            let weight = 1.0 / read_for_key.len().max(1) as f64;
            for &case in &read_for_key {
                *scores.entry(case).or_default() += weight;
            }
        }
        let cases = read(&self.cases);
        let mut ranked: Vec<(f64, Uuid, u32)> = scores
            .into_iter()
            .filter(|(_, score)| *score >= min_score)
            .filter_map(|(ordinal, score)| cases.ids.get(ordinal as usize).map(|id| (score, *id, ordinal)))
            .filter(|(_, id, _)| Some(*id) != exclude)
            .collect();
        ranked.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        ranked
            .into_iter()
            .filter(|(_, _, ordinal)| cases.specifics_of(*ordinal).is_none_or(admit))
            .take(limit)
            .map(|(_, id, _)| id)
            .collect()
    }

    pub fn footprint(&self) -> Footprint {
        let cases = read(&self.cases);
        let mut footprint = Footprint {
            cases: cases.ids.len(),
            bytes: cases.ids.capacity() * size_of::<Uuid>()
                + map_bytes(&cases.ordinals)
                + map_bytes(&cases.by_petitioner)
                + cases.by_petitioner.values().map(|v| v.capacity() * size_of::<u32>()).sum::<usize>()
                + cases.spans.capacity() * size_of::<(u32, u32)>()
                + cases.specifics.capacity() * size_of::<u64>(),
            ..Footprint::default()
        };
        drop(cases);
        for shard in &self.shards {
            let shard = read(shard);
            footprint.keys += shard.newest.len();
            footprint.entries += shard.entries.len();
            footprint.bytes += shard.entries.capacity() * size_of::<Entry>() + map_bytes(&shard.newest);
        }
        footprint
    }
}

/// A hash map's table: a slot and a control byte per bucket.
fn map_bytes<K, V>(map: &HashMap<K, V>) -> usize {
    map.capacity() * (size_of::<(K, V)>() + 1)
}

// A poisoned lock guards data that each insert leaves consistent at every
// step (a case's keys are added one by one): keep serving it.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: fn(&[u64]) -> bool = |_| true;

    fn ids(n: usize) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        ids.sort();
        ids
    }

    #[test]
    fn cases_sharing_more_and_rarer_keys_come_first() {
        let [a, b, c, d] = ids(4)[..] else { unreachable!() };
        let index = BandIndex::new();
        // Key 1 is common (every case), key 2 shared by b and c, key 3 by c only.
        assert!(index.insert(a, &[1, 10], None));
        assert!(index.insert(b, &[1, 2, 20], None));
        assert!(index.insert(c, &[1, 2, 3], None));
        assert!(index.insert(d, &[1, 40], None));
        assert_eq!(index.candidates(&[1, 2, 3], 64, 10, 0.0, None, &ALL), [c, b, d, a]);
        assert_eq!(index.candidates(&[1, 2, 3], 64, 2, 0.0, None, &ALL), [c, b]);
        assert_eq!(index.candidates(&[1, 2, 3], 64, 10, 0.0, Some(c), &ALL), [b, d, a]);
        assert_eq!(index.candidates(&[99], 64, 10, 0.0, None, &ALL), Vec::<Uuid>::new());
        // c 1.75, b 0.75, a and d 0.25.
        assert_eq!(index.candidates(&[1, 2, 3], 64, 10, 0.5, None, &ALL), [c, b]);
        assert_eq!(index.candidates(&[], 64, 10, 0.0, None, &ALL), Vec::<Uuid>::new());
    }

    #[test]
    fn a_probe_reads_only_the_newest_cases_of_a_key() {
        let all = ids(10);
        let index = BandIndex::new();
        for id in &all {
            index.insert(*id, &[7], None);
        }
        let newest: Vec<Uuid> = all.iter().rev().take(3).copied().collect();
        assert_eq!(index.candidates(&[7], 3, 10, 0.0, None, &ALL), newest);
        // A rare key outweighs one that the reach cuts off.
        let rare = Uuid::now_v7();
        index.insert(rare, &[7, 8], None);
        assert_eq!(index.candidates(&[7, 8], 3, 1, 0.0, None, &ALL), [rare]);
    }

    #[test]
    fn a_case_is_indexed_once_and_repeated_keys_count_once() {
        let [a, b] = ids(2)[..] else { unreachable!() };
        let index = BandIndex::new();
        assert!(index.insert(a, &[5, 5, 6], None));
        assert!(!index.insert(a, &[5, 7], None), "already indexed");
        assert!(index.contains(a) && !index.contains(b));
        assert_eq!(index.candidates(&[7], 64, 10, 0.0, None, &ALL), Vec::<Uuid>::new());
        let footprint = index.footprint();
        assert_eq!((footprint.cases, footprint.keys, footprint.entries), (1, 2, 2));
        assert!(footprint.bytes > 0);
        // Key 5 held once: b, with one shared key, ties with a and is newer.
        index.insert(b, &[5], None);
        assert_eq!(index.candidates(&[5], 64, 10, 0.0, None, &ALL), [b, a]);
    }

    #[test]
    fn admission_is_asked_of_known_specifics_in_rank_order() {
        let [a, b, c, d] = ids(4)[..] else { unreachable!() };
        let index = BandIndex::new();
        assert!(index.insert(a, &[1, 2, 3], Some(&[10, 11])));
        assert!(index.insert(b, &[1, 2], Some(&[20])));
        assert!(index.insert(c, &[1], None));
        assert!(index.insert(d, &[1], Some(&[])));
        let no_tens = |s: &[u64]| !s.contains(&10);
        // a ranks first but is refused; c's specifics are not known.
        assert_eq!(index.candidates(&[1, 2, 3], 64, 10, 0.0, None, &no_tens), [b, d, c]);
        assert_eq!(index.candidates(&[1, 2, 3], 64, 1, 0.0, None, &no_tens), [b], "the limit counts admitted cases");
        let asked = std::cell::RefCell::new(Vec::new());
        let record = |s: &[u64]| {
            asked.borrow_mut().push(s.to_vec());
            true
        };
        assert_eq!(index.candidates(&[1, 2, 3], 64, 2, 0.0, None, &record), [a, b]);
        assert_eq!(*asked.borrow(), [vec![10, 11], vec![20]], "asked until the limit");
        assert!(index.footprint().bytes > 0);
    }

    #[test]
    fn compacting_changes_no_answer_and_inserts_go_on_after_it() {
        let all = ids(400);
        let index = BandIndex::new();
        // Keys shared by many cases, by few and by one, interleaved.
        let keys_of = |i: usize| [(i % 3) as i64, 10 + (i % 17) as i64, 100 + i as i64];
        for (i, id) in all.iter().enumerate() {
            index.insert(*id, &keys_of(i), None);
        }
        let probes: Vec<Vec<i64>> = vec![vec![0], vec![1, 12], vec![2, 15, 150], vec![0, 1, 2], vec![399, 1000]];
        let answers = |index: &BandIndex| -> Vec<Vec<Uuid>> {
            probes
                .iter()
                .flat_map(|p| {
                    [index.candidates(p, 64, 10, 0.0, None, &ALL), index.candidates(p, 5, 3, 0.1, None, &ALL)]
                })
                .collect()
        };
        let before = answers(&index);
        let footprint = index.footprint();
        index.compact();
        assert_eq!(answers(&index), before);
        assert_eq!(index.footprint().entries, footprint.entries);
        // A case inserted after is the newest of its keys.
        let later = Uuid::now_v7();
        index.insert(later, &[0, 1000], None);
        assert_eq!(index.candidates(&[0], 1, 1, 0.0, None, &ALL), [later]);
        assert_eq!(index.candidates(&[0], 1000, 1000, 0.0, None, &ALL).len(), 135);
    }

    #[test]
    fn a_petitioners_noted_cases_that_admission_refuses() {
        let [a, b, c, d, unindexed] = ids(5)[..] else { unreachable!() };
        let (p, q) = (Uuid::now_v7(), Uuid::now_v7());
        let index = BandIndex::new();
        assert!(index.insert(a, &[1], Some(&[10])));
        assert!(index.insert(b, &[1], Some(&[20])));
        assert!(index.insert(c, &[1], None));
        assert!(index.insert(d, &[1], Some(&[10])));
        for case in [a, b, c, unindexed] {
            index.note_petitioner(case, p);
        }
        index.note_petitioner(d, q);
        let no_tens = |s: &[u64]| !s.contains(&10);
        // b is admitted, c's specifics are not known, d is q's, the last one is not indexed.
        assert_eq!(index.refused_of(p, &no_tens), [a]);
        assert_eq!(index.refused_of(q, &no_tens), [d]);
        assert_eq!(index.refused_of(Uuid::now_v7(), &no_tens), Vec::<Uuid>::new());
        assert_eq!(index.refused_of(p, &ALL), Vec::<Uuid>::new());
    }

    #[test]
    fn keys_spread_over_every_shard() {
        let mut used = [false; SHARDS];
        for key in 0..10_000i64 {
            used[shard_of(key.wrapping_mul(0x2545_F491_4F6C_DD1D))] = true;
            used[shard_of(key)] = true;
        }
        assert!(used.iter().all(|u| *u));
    }

    #[test]
    fn concurrent_inserts_and_probes_agree() {
        let index = std::sync::Arc::new(BandIndex::new());
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let index = index.clone();
                std::thread::spawn(move || {
                    for i in 0..500i64 {
                        index.insert(Uuid::now_v7(), &[t, 1000 + i % 50], None);
                        index.candidates(&[t], 8, 4, 0.0, None, &ALL);
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().expect("writer");
        }
        let footprint = index.footprint();
        assert_eq!(footprint.cases, 2000);
        assert_eq!(footprint.entries, 4000);
        assert_eq!(footprint.keys, 4 + 50);
        assert_eq!(index.candidates(&[0], 10_000, 10_000, 0.0, None, &ALL).len(), 500);
    }
}
