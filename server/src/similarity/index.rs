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
//!
//! The candidates a query reads come from the [band index](super::bands)
//! in memory: built from the stored fingerprints in the background after
//! start (until then it holds only what was filed since, and
//! [`SimilarityIndex::bands_complete`] is false) and rebuilt when the
//! statistics change (re-keyed fingerprints hold other keys); a server's
//! own filings are added as they are stored, other servers' are followed
//! every [`FOLLOW_EVERY`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use diesel::PgConnection;
use uuid::Uuid;

use super::bands::{BandIndex, Footprint};
use super::fingerprint::{Analysis, Fingerprint, Fingerprinter};
use super::minhash::DocFreqTable;
use super::score::Scoring;
use super::store::{self, IndexedPrefix, StatsVersion};
use crate::error::AppError;

/// How often a server looks for a new statistics version.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// How often a server reads the fingerprints other servers stored into its
/// band index: until then their filings are not candidates of its queries
/// (the petitioner's own open cases always are, so repeats never wait).
pub const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// When to ask again for a search refused while the band index is built
/// (13 s at a million cases).
pub const RETRY_WHILE_BUILDING: Duration = Duration::from_secs(2);

/// Fingerprints read per statement while building the band index.
const BUILD_PAGE: i64 = 20_000;

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
    /// The band index was still being built when the text was analyzed:
    /// band candidates are only what was filed since the start.
    pub bands_partial: bool,
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

/// What a build of the band index found in the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BandsBuilt {
    pub footprint: Footprint,
    /// Fingerprints keyed under another LSH layout (or of version 1):
    /// never candidates until `reindex-similarity` re-makes them.
    pub other_layout: usize,
    /// Fingerprints whose band keys could not be read.
    pub unreadable: usize,
    pub elapsed: Duration,
}

/// What became of a stored fingerprint offered to the band index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Added {
    New,
    /// Already in the index (a server's own filing, read back).
    Known,
    OtherLayout,
    Unreadable,
}

/// Fingerprinting, scoring, the live statistics and the band index;
/// shared by all calls.
#[derive(Debug)]
pub struct SimilarityIndex {
    fingerprinter: Fingerprinter,
    scoring: Scoring,
    versions: RwLock<Arc<Versions>>,
    bands: RwLock<Arc<BandIndex>>,
    /// Fingerprints stored by this transaction or a later one may not be
    /// in `bands` yet. Held while following, and while a rebuild catches
    /// up and swaps, so that the two take turns.
    follow_from: Mutex<i64>,
    built: Mutex<BandsBuilt>,
    /// Held for a whole rebuild: rebuilds take turns, the later-started
    /// one swapping last.
    rebuilding: Mutex<()>,
    /// `bands` holds every stored fingerprint (up to the follow lag).
    complete: AtomicBool,
    /// Held by tests to keep the background build waiting.
    build_gate: Arc<tokio::sync::RwLock<()>>,
}

/// Keeps background builds of the band index waiting while held (tests).
pub type BuildHold = tokio::sync::OwnedRwLockWriteGuard<()>;

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
            bands: RwLock::new(Arc::new(BandIndex::new())),
            follow_from: Mutex::new(0),
            built: Mutex::new(BandsBuilt::default()),
            rebuilding: Mutex::new(()),
            complete: AtomicBool::new(false),
            build_gate: Arc::default(),
        }
    }

    /// Loads the stored statistics and builds the band index.
    pub fn load(conn: &mut PgConnection) -> Result<Self, AppError> {
        let index = Self::load_statistics(conn)?;
        index.rebuild_bands(conn)?;
        Ok(index)
    }

    /// Loads the stored statistics only (quick): the band index starts
    /// empty, [`Self::follow`] fills it with what is stored from now on,
    /// and [`Self::rebuild_bands`] (in the background) with the rest.
    pub fn load_statistics(conn: &mut PgConnection) -> Result<Self, AppError> {
        let index = Self::new(Versions::from_stored(store::load_stats(conn)?));
        *index.follow_from.lock().unwrap_or_else(|e| e.into_inner()) = store::oldest_running_xact(conn)?;
        Ok(index)
    }

    /// Whether the band index holds every stored fingerprint: false until
    /// the first build after start is done.
    pub fn bands_complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }

    /// Makes background builds wait until the hold is dropped (for tests
    /// of the start-up; `None` if already held).
    #[doc(hidden)]
    pub fn hold_builds(&self) -> Option<BuildHold> {
        self.build_gate.clone().try_write_owned().ok()
    }

    /// Waits while a test holds builds ([`Self::hold_builds`]).
    pub async fn build_allowed(&self) {
        drop(self.build_gate.read().await);
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

    /// The band index as of now (a rebuild replaces it whole).
    pub fn bands(&self) -> Arc<BandIndex> {
        self.bands.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// What the last build of the band index found.
    pub fn bands_built(&self) -> BandsBuilt {
        *self.built.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes a fingerprint this server stores a candidate at once, and
    /// notes whose case it is. Called inside the storing transaction: if
    /// it rolls back, the keys name a case without a fingerprint, which no
    /// query reads (and that no query need skip).
    pub fn remember(&self, case_id: Uuid, petitioner: Uuid, fingerprint: &Fingerprint) {
        let bands = self.bands();
        bands.insert(case_id, &fingerprint.band_keys, Some(&fingerprint.specifics));
        bands.note_petitioner(case_id, petitioner);
    }

    fn indexed_prefix_len(&self) -> i32 {
        let bands = self.fingerprinter.params().banding.bands;
        i32::try_from(Fingerprint::indexed_prefix_len(bands)).unwrap_or(i32::MAX)
    }

    /// Builds the band index anew from every stored fingerprint and puts it
    /// in place of the old one, which serves queries (and takes this
    /// server's filings) meanwhile. Fingerprints stored during the build
    /// are read again before the swap, and the following goes on from there.
    pub fn rebuild_bands(&self, conn: &mut PgConnection) -> Result<BandsBuilt, AppError> {
        let _turn = self.rebuilding.lock().unwrap_or_else(|e| e.into_inner());
        self.rebuild_bands_in_turn(conn)
    }

    fn rebuild_bands_in_turn(&self, conn: &mut PgConnection) -> Result<BandsBuilt, AppError> {
        let started = Instant::now();
        // Whatever commits while the pages are read is stored at or after it.
        let from = store::oldest_running_xact(conn)?;
        tracing::info!(complete = self.bands_complete(), "band index build started");
        let index = BandIndex::new();
        let mut built = BandsBuilt::default();
        let prefix_len = self.indexed_prefix_len();
        let mut after = None;
        loop {
            let page = store::indexed_prefixes_page(conn, after, BUILD_PAGE, prefix_len)?;
            let Some(last) = page.last() else { break };
            after = Some(last.case_id);
            for stored in &page {
                self.count(&mut built, self.add_stored(&index, stored));
            }
        }
        index.compact();
        // Follows take turns with the catch-up: none adds to the old index
        // after it, and the next goes on from where it ended.
        let mut follow_from = self.follow_from.lock().unwrap_or_else(|e| e.into_inner());
        let (next, stored) = store::indexed_prefixes_stored_since(conn, from, prefix_len)?;
        // Not counted: most were read in the pages already.
        let caught_up = stored.iter().filter(|row| self.add_stored(&index, row) == Added::New).count();
        built.footprint = index.footprint();
        built.elapsed = started.elapsed();
        *self.bands.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(index);
        *follow_from = next;
        drop(follow_from);
        self.complete.store(true, Ordering::Release);
        *self.built.lock().unwrap_or_else(|e| e.into_inner()) = built;
        tracing::info!(
            cases = built.footprint.cases,
            keys = built.footprint.keys,
            mib = built.footprint.bytes / (1 << 20),
            seconds = (built.elapsed.as_millis() as f64 / 1000.0),
            caught_up,
            "band index built"
        );
        if built.other_layout > 0 {
            tracing::warn!(
                cases = built.other_layout,
                "stored cases were fingerprinted under another LSH layout: until `petition-server \
                 reindex-similarity` has run, duplicate detection finds them only as their petitioner's own \
                 open cases"
            );
        }
        if built.unreadable > 0 {
            tracing::warn!(cases = built.unreadable, "unreadable fingerprints left out of the band index");
        }
        Ok(built)
    }

    fn count(&self, built: &mut BandsBuilt, added: Added) {
        match added {
            Added::New | Added::Known => {}
            Added::OtherLayout => built.other_layout += 1,
            Added::Unreadable => built.unreadable += 1,
        }
    }

    /// Adds the fingerprints stored since the last look (other servers'
    /// filings, and re-read own ones); returns how many were new.
    pub fn follow(&self, conn: &mut PgConnection) -> Result<usize, AppError> {
        let mut follow_from = self.follow_from.lock().unwrap_or_else(|e| e.into_inner());
        let (next, stored) = store::indexed_prefixes_stored_since(conn, *follow_from, self.indexed_prefix_len())?;
        let index = self.bands();
        let added = stored.iter().filter(|row| self.add_stored(&index, row) == Added::New).count();
        *follow_from = next;
        Ok(added)
    }

    fn add_stored(&self, index: &BandIndex, stored: &IndexedPrefix) -> Added {
        let bands = self.fingerprinter.params().banding.bands;
        match Fingerprint::indexed_in_prefix(&stored.prefix, bands) {
            Ok(Some(indexed)) if index.insert(stored.case_id, &indexed.band_keys, indexed.specifics.as_deref()) => {
                Added::New
            }
            Ok(Some(_)) => Added::Known,
            Ok(None) => Added::OtherLayout,
            Err(e) => {
                tracing::debug!(case_id = %stored.case_id, error = %e, "unreadable fingerprint");
                Added::Unreadable
            }
        }
    }

    /// Reloads the statistics when a version was added or completed, and
    /// rebuilds the band index for them.
    pub fn reload_if_changed(&self, conn: &mut PgConnection) -> Result<bool, AppError> {
        let Some(versions) = self.changed_versions(conn)? else { return Ok(false) };
        self.rebuild_for(conn, versions)?;
        Ok(true)
    }

    /// The stored statistics, when a version was added or completed since
    /// they were loaded.
    pub fn changed_versions(&self, conn: &mut PgConnection) -> Result<Option<Versions>, AppError> {
        let current = self.versions();
        let latest = store::latest_version(conn)?;
        if latest == current.newest().version && current.live().len() == 1 {
            return Ok(None);
        }
        let versions = Versions::from_stored(store::load_stats(conn)?);
        let changed = versions.live().iter().map(|v| (v.version, v.complete)).collect::<Vec<_>>()
            != current.live().iter().map(|v| (v.version, v.complete)).collect::<Vec<_>>();
        Ok(changed.then_some(versions))
    }

    /// Rebuilds the band index for `versions`, then puts them in use.
    pub fn rebuild_for(&self, conn: &mut PgConnection, versions: Versions) -> Result<(), AppError> {
        let _turn = self.rebuilding.lock().unwrap_or_else(|e| e.into_inner());
        // Another rebuild may have put these, or later ones, in use meanwhile.
        let progress = |v: &Versions| (v.newest().version, v.newest().complete);
        if progress(&versions) <= progress(&self.versions()) {
            return Ok(());
        }
        tracing::info!(
            version = versions.newest().version,
            live = versions.live().len(),
            "similarity statistics loaded"
        );
        // Re-keyed fingerprints hold other band keys. Rebuilt before the
        // versions change: until then queries still search under the
        // older keys too.
        self.rebuild_bands_in_turn(conn)?;
        *self.versions.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(versions);
        Ok(())
    }

    /// Analyzes `text` for storing (newest statistics) and searching (band
    /// keys under every live version).
    pub fn analyze(&self, text: &str) -> Analyzed {
        // Before the candidates are read: a build ending meanwhile leaves
        // the answer "partial", never the other way round.
        let bands_partial = !self.bands_complete();
        let versions = self.versions();
        let newest = versions.newest();
        let analysis = self.fingerprinter.analyze(text, &newest.table);
        let mut search_keys = analysis.fingerprint.band_keys.clone();
        for older in &versions.live()[1..] {
            search_keys.extend(self.fingerprinter.fingerprint(text, &older.table).band_keys);
        }
        search_keys.sort_unstable();
        search_keys.dedup();
        Analyzed { analysis, search_keys, versions, bands_partial }
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
