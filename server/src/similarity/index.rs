//! The statistics a running server fingerprints and searches with.
//!
//! Band keys depend on the document frequencies they were made with
//! ([`super::Weighting::Cutoff`] leaves out the boilerplate), so every
//! stored fingerprint names its statistics version. New filings use the
//! newest version; a query computes its band keys under every *live*
//! version — the newest complete one and any newer one being rolled out
//! (`petition-server reindex-similarity` builds a version, re-keys every
//! case to it, then marks it complete and drops the older ones). Servers
//! pick a new version up within [`RELOAD_EVERY`].

use std::sync::{Arc, RwLock};
use std::time::Duration;

use diesel::PgConnection;

use super::fingerprint::{Analysis, Fingerprinter};
use super::minhash::DocFreqTable;
use super::score::Scoring;
use super::store::{self, StatsVersion};
use crate::error::AppError;

/// How often a server looks for a new statistics version.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// The versions in use, newest first.
#[derive(Debug, Clone)]
pub struct Versions {
    live: Vec<StatsVersion>,
}

impl Versions {
    /// From every stored version (newest first): those down to the newest
    /// complete one, or all of them and the empty version 0 when none is
    /// complete (fingerprints made before any statistics existed).
    pub fn from_stored(stored: Vec<StatsVersion>) -> Self {
        let mut live = Vec::new();
        for version in stored {
            let complete = version.complete;
            live.push(version);
            if complete {
                break;
            }
        }
        if !live.iter().any(|v| v.complete) {
            live.push(StatsVersion::empty());
        }
        Self { live }
    }

    /// The version new fingerprints are made with.
    pub fn newest(&self) -> &StatsVersion {
        // from_stored always leaves at least one version.
        &self.live[0]
    }

    pub fn live(&self) -> &[StatsVersion] {
        &self.live
    }
}

/// A text analyzed for storing and searching.
#[derive(Debug, Clone)]
pub struct Analyzed {
    /// Under the newest statistics: what a new filing stores.
    pub analysis: Analysis,
    /// The statistics it was analyzed under: comparisons and explanations
    /// weigh with these, even if the server has loaded newer ones meanwhile.
    versions: Arc<Versions>,
    /// Band keys under every live version, to find candidates of any.
    pub search_keys: Vec<i64>,
}

impl Analyzed {
    /// The statistics version `analysis` was made with.
    pub fn version(&self) -> i32 {
        self.versions.newest().version
    }

    /// The statistics `analysis` was made with.
    pub fn stats(&self) -> &DocFreqTable {
        &self.versions.newest().table
    }
}

/// Fingerprinting, scoring and the live statistics; shared by all calls.
#[derive(Debug)]
pub struct SimilarityIndex {
    fingerprinter: Fingerprinter,
    scoring: Scoring,
    versions: RwLock<Arc<Versions>>,
}

impl Default for SimilarityIndex {
    fn default() -> Self {
        Self::new(Versions::from_stored(Vec::new()))
    }
}

impl SimilarityIndex {
    pub fn new(versions: Versions) -> Self {
        Self {
            fingerprinter: Fingerprinter::default(),
            scoring: Scoring::default(),
            versions: RwLock::new(Arc::new(versions)),
        }
    }

    /// Loads the stored statistics.
    pub fn load(conn: &mut PgConnection) -> Result<Self, AppError> {
        Ok(Self::new(Versions::from_stored(store::load_stats(conn)?)))
    }

    pub fn fingerprinter(&self) -> &Fingerprinter {
        &self.fingerprinter
    }

    pub fn scoring(&self) -> &Scoring {
        &self.scoring
    }

    pub fn versions(&self) -> Arc<Versions> {
        // A poisoned lock still holds a consistent Arc: keep serving it.
        self.versions.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reloads the statistics when a version was added or completed.
    pub fn reload_if_changed(&self, conn: &mut PgConnection) -> Result<bool, AppError> {
        let current = self.versions();
        let latest = store::latest_version(conn)?;
        if latest == current.newest().version && current.live().len() == 1 {
            return Ok(false);
        }
        let versions = Versions::from_stored(store::load_stats(conn)?);
        let changed = versions.live().iter().map(|v| (v.version, v.complete)).collect::<Vec<_>>()
            != current.live().iter().map(|v| (v.version, v.complete)).collect::<Vec<_>>();
        if changed {
            tracing::info!(
                version = versions.newest().version,
                live = versions.live().len(),
                "similarity statistics loaded"
            );
            *self.versions.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(versions);
        }
        Ok(changed)
    }

    /// Analyzes `text` for storing (newest statistics) and searching (band
    /// keys under every live version).
    pub fn analyze(&self, text: &str) -> Analyzed {
        let versions = self.versions();
        let newest = versions.newest();
        let analysis = self.fingerprinter.analyze(text, &newest.table);
        let mut search_keys = analysis.fingerprint.band_keys.clone();
        for older in &versions.live()[1..] {
            search_keys.extend(self.fingerprinter.fingerprint(text, &older.table).band_keys);
        }
        search_keys.sort_unstable();
        search_keys.dedup();
        Analyzed { analysis, search_keys, versions }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similarity::minhash::DocFreqTable;

    fn version(version: i32, complete: bool) -> StatsVersion {
        let mut table = DocFreqTable::new();
        table.set_documents(1000 * version as u64);
        StatsVersion { version, table, complete }
    }

    fn numbers(v: &Versions) -> Vec<i32> {
        v.live().iter().map(|s| s.version).collect()
    }

    #[test]
    fn live_versions_reach_down_to_the_newest_complete_one() {
        assert_eq!(numbers(&Versions::from_stored(vec![])), [0]);
        assert_eq!(numbers(&Versions::from_stored(vec![version(1, false)])), [1, 0]);
        assert_eq!(numbers(&Versions::from_stored(vec![version(1, true)])), [1]);
        assert_eq!(
            numbers(&Versions::from_stored(vec![version(3, false), version(2, true), version(1, true)])),
            [3, 2]
        );
        assert_eq!(Versions::from_stored(vec![version(3, false), version(2, true)]).newest().version, 3);
    }

    #[test]
    fn search_keys_cover_every_live_version() {
        let text = "我是章贡区水东镇虎岗村村民，2023年5月12日起在宏达建筑有限公司务工，至今被拖欠工资3.5万元。";
        let one = SimilarityIndex::default().analyze(text);
        assert_eq!(one.version(), 0);
        let mut keys = one.analysis.fingerprint.band_keys.clone();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(one.search_keys, keys);
        // A newer version that drops common items gives other keys; both are searched.
        let mut table = DocFreqTable::new();
        for _ in 0..1000 {
            table.add_document(one.analysis.fingerprint.shingles.iter().take(10).copied());
        }
        let two =
            SimilarityIndex::new(Versions::from_stored(vec![StatsVersion { version: 1, table, complete: false }]))
                .analyze(text);
        assert_eq!(two.version(), 1);
        assert!(one.search_keys.iter().all(|k| two.search_keys.binary_search(k).is_ok()));
        assert!(two.analysis.fingerprint.band_keys.iter().all(|k| two.search_keys.binary_search(k).is_ok()));
        assert!(two.search_keys.len() > one.search_keys.len());
    }
}
