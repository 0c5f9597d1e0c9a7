//! Exact re-ranking of LSH candidates, the repeat and related decisions, and
//! the reason shown to staff.
//!
//! For a query fingerprint `q` and a candidate `c`, with weight `w(x)` =
//! `idf(x)^idf_power` for shingles and, for specifics, the IDF above that
//! of a boilerplate share ([`Scoring::specific_max_df`]) times its kind's
//! weight:
//!
//! * text Jaccard `Σ_{q∩c} w / Σ_{q∪c} w` and text containment
//!   `Σ_{q∩c} w / min(Σ_q w, Σ_c w)` over the shingle sets (over the common
//!   bottom-k range when either set is a sample);
//! * the same two over the specifics sets;
//! * conflicts: amounts (dates) that both texts state without sharing any —
//!   a different amount or date is likely a different matter (dates not
//!   when the query refers back to an earlier letter: a follow-up's new
//!   dates).
//!
//! `content` mixes them (weights in [`Scoring`]; the specifics part in
//! proportion to its weight mass, [`Scoring::specifics_mass`]); the rank
//! score adds the caller's cues (same petitioner, region subtree, category, respondent
//! organization) as a bonus on what content leaves below 1. The repeat
//! decision needs the same petitioner and `content ≥ repeat_threshold`; the
//! related decision (a possible group petition) needs a different
//! petitioner, the same region subtree and `content ≥ related_threshold`.

use std::cmp::Ordering;

use super::fingerprint::{Analysis, Fingerprint};
use super::minhash::{ShingleStats, ln, pow};
use super::shingles::SpecificKind;

/// Cases counted before specifics are weighed by their rarity (before, a
/// share of a few cases says nothing).
pub const RARITY_MIN_DOCUMENTS: u64 = 100;

/// Facts about the pair that do not come from the text; the caller knows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cues {
    /// Both filed by the same petitioner (同人).
    pub same_petitioner: bool,
    /// The candidate's region is the query's region or inside it, or the
    /// other way round (same region subtree).
    pub same_region: bool,
    /// Same case category.
    pub same_category: bool,
    /// Same respondent organization (the unit complained about).
    pub same_respondent: bool,
}

/// How similar two texts are.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Similarity {
    /// IDF-weighted Jaccard of the shingle sets, in [0, 1].
    pub text_jaccard: f32,
    /// IDF-weighted containment of the smaller shingle set in the larger.
    pub text_containment: f32,
    /// IDF-weighted Jaccard of the specifics.
    pub specifics_jaccard: f32,
    /// IDF-weighted containment of the specifics.
    pub specifics_containment: f32,
    /// Both state amounts and share none of them.
    pub amount_conflict: bool,
    /// Both state dates (to the month or day) and share none of them.
    pub date_conflict: bool,
    /// Both texts have specifics (else the specifics part is the text part).
    pub both_have_specifics: bool,
    /// The query refers back to an earlier letter: a date conflict is its
    /// new dates, not another matter.
    pub refers_back: bool,
    /// The smaller of the two sides' specifics weights: how much the
    /// specifics part can be trusted ([`Scoring::specifics_mass`]).
    pub specifics_mass: f32,
    /// The combined content similarity, in [0, 1] ([`Scoring::content`]).
    pub content: f32,
}

/// Weights and thresholds of the scoring. [`Scoring::default`] holds the
/// values tuned on the quality harness (`dedup-quality --tune`); the
/// measurements are in `docs/duplicate-detection.md`, "How the parameters
/// were chosen".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scoring {
    /// Shingle weight is `idf^idf_power`.
    pub idf_power: f32,
    /// Share of Jaccard (vs containment) in the text part.
    pub text_jaccard_share: f32,
    /// Share of Jaccard (vs containment) in the specifics part.
    pub specifics_jaccard_share: f32,
    /// Share of the specifics part (vs the text part) in `content`.
    pub specifics_share: f32,
    /// Subtracted from `content` when the amounts conflict.
    pub amount_conflict_penalty: f32,
    /// Subtracted from `content` when the dates conflict.
    pub date_conflict_penalty: f32,
    /// Weight multiplier of house numbers and other counted things among
    /// the specifics (a petitioner's own address is in all their filings).
    pub address_weight: f32,
    /// Weight multiplier of bare years among the specifics.
    pub year_weight: f32,
    /// Weight multiplier of place names (estates, roads, parks, villages).
    pub place_weight: f32,
    /// Weight multiplier of the shorter forms of a name.
    pub name_form_weight: f32,
    /// A specific in more than this share of the stored cases is
    /// boilerplate (a salutation's 市委市政府, the district, 12345): it
    /// weighs nothing, and a rarer one its IDF above this share's.
    pub specific_max_df: f32,
    /// Specifics weight from which the specifics part counts fully; below
    /// it the text part stands in for the rest, so that one or two weak
    /// items cannot decide.
    pub specifics_mass: f32,
    /// Rank bonuses per cue (their sum is below 1).
    pub bonus_petitioner: f32,
    pub bonus_region: f32,
    pub bonus_category: f32,
    pub bonus_respondent: f32,
    /// Content from which a same-petitioner filing is a repeat.
    pub repeat_threshold: f32,
    /// Content from which a different petitioner's filing is related.
    pub related_threshold: f32,
}

impl Default for Scoring {
    fn default() -> Self {
        Self {
            idf_power: 1.0,
            text_jaccard_share: 0.5,
            specifics_jaccard_share: 0.75,
            specifics_share: 0.8,
            amount_conflict_penalty: 0.2,
            date_conflict_penalty: 0.2,
            address_weight: 0.25,
            year_weight: 0.1,
            place_weight: 0.5,
            name_form_weight: 0.25,
            specific_max_df: 0.02,
            specifics_mass: 8.0,
            bonus_petitioner: 0.10,
            bonus_region: 0.04,
            bonus_category: 0.04,
            bonus_respondent: 0.04,
            repeat_threshold: 0.36,
            related_threshold: 0.40,
        }
    }
}

/// A query fingerprint with its weights looked up once, to compare with many
/// candidates.
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    fingerprint: &'a Fingerprint,
    refers_back: bool,
    shingle_weights: Vec<f32>,
    specific_weights: Vec<f32>,
}

impl Scoring {
    /// Looks up the query's weights.
    pub fn prepare<'a>(&self, query: &'a Fingerprint, stats: &dyn ShingleStats) -> Prepared<'a> {
        let idf = |&h: &u64| stats.idf(h);
        let documents = stats.documents();
        self.prepared(query, false, documents, query.shingles.iter().map(idf), query.specifics.iter().map(idf))
    }

    /// [`Self::prepare`] of an analysis's fingerprint under the statistics
    /// it was analyzed with, from the IDFs the analysis kept (no lookups).
    pub fn prepare_analysis<'a>(&self, analysis: &'a Analysis) -> Prepared<'a> {
        let (shingles, specifics) = (&analysis.shingle_idfs, &analysis.specific_idfs);
        let (fingerprint, refers_back) = (&analysis.fingerprint, analysis.refers_back);
        self.prepared(fingerprint, refers_back, analysis.documents, shingles.iter().copied(), specifics.iter().copied())
    }

    /// The query weighed from the IDFs of its shingles and specifics.
    fn prepared<'a>(
        &self,
        query: &'a Fingerprint,
        refers_back: bool,
        documents: u64,
        shingle_idfs: impl Iterator<Item = f32>,
        specific_idfs: impl Iterator<Item = f32>,
    ) -> Prepared<'a> {
        let offset = self.rarity_offset(documents);
        Prepared {
            fingerprint: query,
            refers_back,
            shingle_weights: shingle_idfs.map(|idf| pow(idf, self.idf_power)).collect(),
            specific_weights: query
                .specifics
                .iter()
                .zip(specific_idfs)
                .map(|(&h, idf)| rarity(idf, offset) * self.specific_kind_weight(h))
                .collect(),
        }
    }

    fn shingle_weight(&self, stats: &dyn ShingleStats, h: u64) -> f32 {
        pow(stats.idf(h), self.idf_power)
    }

    /// The weight of a specific under `stats`, whose [`Self::rarity_offset`]
    /// is `offset` (looked up once for all of a candidate's specifics).
    fn specific_weight(&self, stats: &dyn ShingleStats, offset: Option<f32>, h: u64) -> f32 {
        rarity(stats.idf(h), offset) * self.specific_kind_weight(h)
    }

    /// What [`rarity`] takes off an IDF among `documents` cases, beyond 1:
    /// the IDF of [`Self::specific_max_df`]. `None` (the IDF as it is)
    /// until [`RARITY_MIN_DOCUMENTS`] are counted.
    fn rarity_offset(&self, documents: u64) -> Option<f32> {
        (documents >= RARITY_MIN_DOCUMENTS && self.specific_max_df > 0.0)
            .then(|| ln(1.0 / self.specific_max_df.min(1.0) as f64) as f32)
    }

    fn specific_kind_weight(&self, h: u64) -> f32 {
        match SpecificKind::of_hash(h) {
            Some(SpecificKind::Number) => self.address_weight,
            Some(SpecificKind::Place) => self.place_weight,
            Some(SpecificKind::NameForm) => self.name_form_weight,
            Some(SpecificKind::Year) => self.year_weight,
            _ => 1.0,
        }
    }

    /// How similar `candidate` is to the prepared query. The candidate's
    /// [`Fingerprint::shingle_idf_total`] is trusted to be under `stats`:
    /// the caller clears it otherwise.
    pub fn similarity(&self, query: &Prepared<'_>, candidate: &Fingerprint, stats: &dyn ShingleStats) -> Similarity {
        let q = query.fingerprint;
        let limit = q.shingle_limit().min(candidate.shingle_limit());
        // The stored total saves a statistics lookup per candidate shingle
        // (most of a check's time in Rust) when it covers what is compared.
        let candidate_total = candidate.shingle_idf_total.filter(|_| limit == u64::MAX && self.idf_power == 1.0);
        let text = overlap(&q.shingles, &query.shingle_weights, &candidate.shingles, limit, candidate_total, |h| {
            self.shingle_weight(stats, h)
        });
        self.with_specifics(query, &candidate.specifics, stats, text.jaccard(), text.containment())
    }

    /// The most content a candidate with these specifics can have with the
    /// prepared query, whatever its text: the specifics part and the
    /// conflicts exactly as [`Self::similarity`] finds them, the text part
    /// taken as identical. A filing skips the band candidates whose bound
    /// is below both thresholds without reading them (most of them are
    /// chance collisions of another matter: other names, amounts, dates).
    pub fn content_bound(&self, query: &Prepared<'_>, candidate_specifics: &[u64], stats: &dyn ShingleStats) -> f32 {
        self.with_specifics(query, candidate_specifics, stats, 1.0, 1.0).content
    }

    /// The least content that is decided a repeat or related.
    pub fn keep_threshold(&self) -> f32 {
        self.repeat_threshold.min(self.related_threshold)
    }

    fn with_specifics(
        &self,
        query: &Prepared<'_>,
        candidate_specifics: &[u64],
        stats: &dyn ShingleStats,
        text_jaccard: f32,
        text_containment: f32,
    ) -> Similarity {
        let q = &query.fingerprint.specifics;
        let offset = self.rarity_offset(stats.documents());
        let specifics = overlap(q, &query.specific_weights, candidate_specifics, u64::MAX, None, |h| {
            self.specific_weight(stats, offset, h)
        });
        let mut sim = Similarity {
            text_jaccard,
            text_containment,
            specifics_jaccard: specifics.jaccard(),
            specifics_containment: specifics.containment(),
            amount_conflict: conflict(q, candidate_specifics, SpecificKind::Amount),
            date_conflict: conflict(q, candidate_specifics, SpecificKind::Date),
            both_have_specifics: specifics.q_total > 0.0 && specifics.c_total > 0.0,
            refers_back: query.refers_back,
            specifics_mass: specifics.q_total.min(specifics.c_total),
            content: 0.0,
        };
        sim.content = self.content(&sim);
        sim
    }

    /// The content score of the overlap measures of `similarity` (its
    /// `content` field is ignored): the text and specifics parts mixed, less
    /// the conflict penalty, clamped to [0, 1]. The specifics part counts
    /// in proportion to the smaller side's specifics weight up to
    /// [`Self::specifics_mass`]; the text part stands in for the rest
    /// (all of it without specifics on either side).
    pub fn content(&self, similarity: &Similarity) -> f32 {
        let s = similarity;
        let text = self.text_jaccard_share * s.text_jaccard + (1.0 - self.text_jaccard_share) * s.text_containment;
        let specifics = if s.both_have_specifics {
            let own = self.specifics_jaccard_share * s.specifics_jaccard
                + (1.0 - self.specifics_jaccard_share) * s.specifics_containment;
            let confidence =
                if self.specifics_mass > 0.0 { (s.specifics_mass / self.specifics_mass).min(1.0) } else { 1.0 };
            confidence * own + (1.0 - confidence) * text
        } else {
            text
        };
        let content = (1.0 - self.specifics_share) * text + self.specifics_share * specifics
            - self.amount_conflict_penalty * s.amount_conflict as u8 as f32
            - self.date_conflict_penalty * (s.date_conflict && !s.refers_back) as u8 as f32;
        content.clamp(0.0, 1.0)
    }

    /// One-off comparison of two fingerprints.
    pub fn compare(&self, query: &Fingerprint, candidate: &Fingerprint, stats: &dyn ShingleStats) -> Similarity {
        self.similarity(&self.prepare(query, stats), candidate, stats)
    }

    /// The rank score for FindSimilarCases, in [0, 1]: content plus the cue
    /// bonuses on what content leaves below 1 (so it never reorders two
    /// candidates with the same cues).
    pub fn rank(&self, similarity: &Similarity, cues: &Cues) -> f32 {
        let bonus = self.bonus_petitioner * cues.same_petitioner as u8 as f32
            + self.bonus_region * cues.same_region as u8 as f32
            + self.bonus_category * cues.same_category as u8 as f32
            + self.bonus_respondent * cues.same_respondent as u8 as f32;
        let c = similarity.content;
        (c + (1.0 - c) * bonus.min(1.0)).clamp(0.0, 1.0)
    }

    /// Same person, same matter (同人+同事): the new filing is a repeat.
    pub fn decide_repeat(&self, similarity: &Similarity, cues: &Cues) -> bool {
        cues.same_petitioner && similarity.content >= self.repeat_threshold
    }

    /// Different person, same matter, same place: related (a possible
    /// group petition).
    pub fn decide_related(&self, similarity: &Similarity, cues: &Cues) -> bool {
        !cues.same_petitioner && cues.same_region && similarity.content >= self.related_threshold
    }
}

/// [`Scoring::decide_repeat`] with the tuned defaults.
pub fn decide_repeat(similarity: &Similarity, cues: &Cues) -> bool {
    Scoring::default().decide_repeat(similarity, cues)
}

/// [`Scoring::decide_related`] with the tuned defaults.
pub fn decide_related(similarity: &Similarity, cues: &Cues) -> bool {
    Scoring::default().decide_related(similarity, cues)
}

#[derive(Debug, Clone, Copy, Default)]
struct Overlap {
    shared: f32,
    q_total: f32,
    c_total: f32,
}

impl Overlap {
    fn jaccard(&self) -> f32 {
        let union = self.q_total + self.c_total - self.shared;
        if union > 0.0 { (self.shared / union).clamp(0.0, 1.0) } else { 0.0 }
    }

    fn containment(&self) -> f32 {
        let smaller = self.q_total.min(self.c_total);
        if smaller > 0.0 { (self.shared / smaller).clamp(0.0, 1.0) } else { 0.0 }
    }
}

/// The weight of a specific of this IDF: what it exceeds the IDF of
/// [`Scoring::specific_max_df`] by (0 for one as common or more), given
/// [`Scoring::rarity_offset`].
fn rarity(idf: f32, offset: Option<f32>) -> f32 {
    match offset {
        Some(offset) => (idf - 1.0 - offset).max(0.0),
        None => idf,
    }
}

/// Weighted overlap of two sorted sets, counting only hashes ≤ `limit`;
/// `c_total`, when known, is the total weight of `c` (then `weight` is not
/// asked for `c`'s own items).
fn overlap(
    q: &[u64],
    q_weights: &[f32],
    c: &[u64],
    limit: u64,
    c_total: Option<f32>,
    weight: impl Fn(u64) -> f32,
) -> Overlap {
    let mut o = Overlap::default();
    let (mut i, mut j) = (0, 0);
    while i < q.len() || j < c.len() {
        let (a, b) = (q.get(i).copied(), c.get(j).copied());
        match (a, b) {
            (Some(a), _) if a > limit => i = q.len(),
            (_, Some(b)) if b > limit => j = c.len(),
            (Some(a), Some(b)) if a == b => {
                let w = q_weights[i];
                o.shared += w;
                o.q_total += w;
                o.c_total += w;
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                o.q_total += q_weights[i];
                i += 1;
            }
            (Some(_), None) => {
                o.q_total += q_weights[i];
                i += 1;
            }
            (_, Some(b)) => {
                if c_total.is_none() {
                    o.c_total += weight(b);
                }
                j += 1;
            }
            (None, None) => break,
        }
    }
    if let Some(total) = c_total {
        o.c_total = total;
    }
    o
}

/// Both state specifics of `kind` and share none of them. `c` is sorted
/// (a hash found in it is of the kind it is looked up as). Asked of every
/// band candidate's bound, so it allocates nothing.
fn conflict(q: &[u64], c: &[u64], kind: SpecificKind) -> bool {
    let of_kind = |h: &&u64| SpecificKind::of_hash(**h) == Some(kind);
    if !c.iter().any(|h| of_kind(&h)) {
        return false;
    }
    let mut stated = false;
    for h in q.iter().filter(of_kind) {
        if c.binary_search(h).is_ok() {
            return false;
        }
        stated = true;
    }
    stated
}

/// Why a candidate matched, for FindSimilarCases. Every text in it comes
/// from the query's own text, never from the candidate's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reason {
    /// Passages of the query whose every shingle the candidate also has,
    /// the weightiest (Σ shingle weights) first; at most the requested number.
    pub shared_passages: Vec<String>,
    /// The query's specifics that the candidate shares, in text order.
    pub shared_specifics: Vec<String>,
    pub same_petitioner: bool,
    pub same_region: bool,
    pub same_category: bool,
    pub same_respondent: bool,
}

/// Passages shorter than this many units are not reported.
pub const MIN_PASSAGE_UNITS: usize = 4;

/// Explains why `candidate` matches the analyzed query.
pub fn explain(
    query: &Analysis,
    candidate: &Fingerprint,
    cues: &Cues,
    stats: &dyn ShingleStats,
    max_passages: usize,
) -> Reason {
    let limit = candidate.shingle_limit();
    let shared = |h: u64| h <= limit && candidate.shingles.binary_search(&h).is_ok();
    let n = query.text.len().saturating_sub(query.shingles.len()) + 1;
    // Runs of consecutive shared shingles: [start, end) in shingle positions.
    let mut runs: Vec<(f32, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < query.shingles.len() {
        if !shared(query.shingles[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut weight = 0.0;
        while i < query.shingles.len() && shared(query.shingles[i]) {
            weight += stats.idf(query.shingles[i]);
            i += 1;
        }
        let units = (i - start) + n - 1;
        if units >= MIN_PASSAGE_UNITS.min(query.text.len()) {
            runs.push((weight, start, i));
        }
    }
    runs.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(Ordering::Equal).then(a.1.cmp(&b.1)));
    let shared_passages = runs
        .into_iter()
        .take(max_passages)
        .map(|(_, start, end)| query.text.excerpt(start..(end + n - 1).min(query.text.len())).to_owned())
        .collect();
    let shared_specifics = query
        .specifics
        .iter()
        .filter(|s| candidate.specifics.binary_search(&s.hash).is_ok())
        .map(|s| s.text.clone())
        .collect();
    Reason {
        shared_passages,
        shared_specifics,
        same_petitioner: cues.same_petitioner,
        same_region: cues.same_region,
        same_category: cues.same_category,
        same_respondent: cues.same_respondent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similarity::fingerprint::{Fingerprinter, Params};
    use crate::similarity::minhash::{DocFreqTable, NoStats};

    const ORIGINAL: &str = "我是章贡区水东镇虎岗村村民。2023年5月12日起我在宏达建筑有限公司承建的滨江苑项目务工，至今被拖欠工资35000元。本人多次反映未果，恳请领导高度重视，尽快解决为盼！";
    const PARAPHRASE: &str = "本人系水东镇虎岗村村民，从2023年5月12日开始在宏达建筑有限公司的滨江苑项目打工，该公司到现在还欠我3.5万元工钱。恳请领导高度重视！";
    const OTHER: &str = "我是章贡区水东镇虎岗村村民。2022年3月8日起我在鑫源劳务有限公司承建的翠湖花园项目务工，至今被拖欠工资12800元。本人多次反映未果，恳请领导高度重视，尽快解决为盼！";

    /// Fingerprinted without statistics and compared under others: the
    /// stored total does not apply.
    fn fp(text: &str) -> Fingerprint {
        Fingerprint { shingle_idf_total: None, ..Fingerprinter::default().fingerprint(text, &NoStats) }
    }

    fn stats() -> DocFreqTable {
        let mut t = DocFreqTable::new();
        let f = Fingerprinter::default();
        for text in [
            ORIGINAL,
            OTHER,
            "恳请领导高度重视，尽快解决为盼！本人多次反映未果。",
            "小区物业乱收费，本人多次反映未果。",
        ] {
            let x = f.fingerprint(text, &NoStats);
            t.add_document(x.shingles.iter().chain(&x.specifics).copied());
        }
        t
    }

    #[test]
    fn identical_texts_score_one() {
        let s = Scoring::default().compare(&fp(ORIGINAL), &fp(ORIGINAL), &stats());
        assert_eq!((s.text_jaccard, s.text_containment, s.content), (1.0, 1.0, 1.0));
        assert_eq!((s.specifics_jaccard, s.specifics_containment), (1.0, 1.0));
        assert!(!s.amount_conflict && !s.date_conflict);
        assert!(s.both_have_specifics);
    }

    #[test]
    fn paraphrase_beats_same_boilerplate_different_matter() {
        let stats = stats();
        let scoring = Scoring::default();
        let para = scoring.compare(&fp(PARAPHRASE), &fp(ORIGINAL), &stats);
        let other = scoring.compare(&fp(OTHER), &fp(ORIGINAL), &stats);
        assert!(para.content > other.content, "{para:?} vs {other:?}");
        assert!(other.amount_conflict && other.date_conflict, "{other:?}");
        assert!(!para.amount_conflict && !para.date_conflict);
        assert!(para.specifics_jaccard > other.specifics_jaccard);
    }

    #[test]
    fn the_stored_total_gives_what_the_lookups_give() {
        let stats = stats();
        let scoring = Scoring::default();
        let made_under = |text| Fingerprinter::default().fingerprint(text, &stats);
        for (a, b) in [(PARAPHRASE, ORIGINAL), (OTHER, ORIGINAL), (ORIGINAL, ORIGINAL)] {
            let stored = scoring.compare(&made_under(a), &made_under(b), &stats);
            let looked_up = scoring.compare(&fp(a), &fp(b), &stats);
            assert!((stored.content - looked_up.content).abs() < 1e-5, "{stored:?} vs {looked_up:?}");
            assert!((stored.text_jaccard - looked_up.text_jaccard).abs() < 1e-5);
        }
    }

    #[test]
    fn similarity_is_symmetric_without_sampling() {
        let stats = stats();
        let s = Scoring::default();
        let ab = s.compare(&fp(PARAPHRASE), &fp(ORIGINAL), &stats);
        let ba = s.compare(&fp(ORIGINAL), &fp(PARAPHRASE), &stats);
        assert!((ab.content - ba.content).abs() < 1e-6);
        assert!((ab.text_jaccard - ba.text_jaccard).abs() < 1e-6);
    }

    #[test]
    fn truncation_is_contained() {
        let cut: String = ORIGINAL.chars().take(60).collect();
        let s = Scoring::default().compare(&fp(&cut), &fp(ORIGINAL), &NoStats);
        assert_eq!(s.text_containment, 1.0);
        assert!(s.text_jaccard < 0.8);
    }

    #[test]
    fn empty_texts_score_zero() {
        let s = Scoring::default().compare(&fp(""), &fp(ORIGINAL), &NoStats);
        assert_eq!(s.content, 0.0);
        let s = Scoring::default().compare(&fp("。"), &fp(""), &NoStats);
        assert_eq!(s, Similarity::default());
    }

    #[test]
    fn without_specifics_the_text_decides() {
        let a = fp("电梯坏了没人修");
        assert!(a.specifics.is_empty());
        let s = Scoring::default().compare(&a, &a, &NoStats);
        assert_eq!(s.content, 1.0);
        assert_eq!(s.specifics_jaccard, 0.0);
        assert!(!s.both_have_specifics);
    }

    #[test]
    fn content_mixes_the_parts() {
        let sim = Similarity {
            text_jaccard: 0.2,
            text_containment: 0.6,
            specifics_jaccard: 0.5,
            specifics_containment: 1.0,
            amount_conflict: false,
            date_conflict: false,
            both_have_specifics: true,
            refers_back: false,
            specifics_mass: 100.0,
            content: 0.0,
        };
        let s = Scoring {
            text_jaccard_share: 0.5,
            specifics_jaccard_share: 0.5,
            specifics_share: 0.5,
            amount_conflict_penalty: 0.2,
            date_conflict_penalty: 0.1,
            ..Scoring::default()
        };
        // text 0.4, specifics 0.75 → 0.575
        assert!((s.content(&sim) - 0.575).abs() < 1e-6);
        let conflicted = Similarity { amount_conflict: true, ..sim };
        assert!((s.content(&conflicted) - 0.375).abs() < 1e-6);
        let dated = Similarity { date_conflict: true, ..sim };
        assert!((s.content(&dated) - 0.475).abs() < 1e-6);
        let bare = Similarity { both_have_specifics: false, ..sim };
        assert!((s.content(&bare) - 0.4).abs() < 1e-6);
        let negative =
            Similarity { amount_conflict: true, date_conflict: true, text_jaccard: 0.0, text_containment: 0.0, ..bare };
        assert_eq!(s.content(&negative), 0.0);
    }

    #[test]
    fn sampled_sets_compare_on_their_common_range() {
        let params = Params { max_shingles: 20, ..Params::default() };
        let f = Fingerprinter::new(params);
        let a = f.fingerprint(ORIGINAL, &NoStats);
        assert!(a.is_sampled());
        let s = Scoring::default().compare(&a, &a, &NoStats);
        assert_eq!(s.text_jaccard, 1.0);
        let full = fp(ORIGINAL);
        let s = Scoring::default().compare(&a, &full, &NoStats);
        assert_eq!(s.text_jaccard, 1.0);
    }

    #[test]
    fn overlap_counts_weights() {
        let o = overlap(&[1, 2, 3], &[1.0, 2.0, 3.0], &[2, 3, 4], u64::MAX, None, |h| h as f32);
        assert_eq!((o.shared, o.q_total, o.c_total), (5.0, 6.0, 9.0));
        assert!((o.jaccard() - 0.5).abs() < 1e-6);
        assert!((o.containment() - 5.0 / 6.0).abs() < 1e-6);
        let o = overlap(&[1, 2, 3], &[1.0, 2.0, 3.0], &[2, 3, 4], 2, None, |h| h as f32);
        assert_eq!((o.shared, o.q_total, o.c_total), (2.0, 3.0, 2.0));
        let o = overlap(&[1, 2, 3], &[1.0, 2.0, 3.0], &[2, 3, 4], u64::MAX, Some(9.0), |_| panic!("looked up"));
        assert_eq!((o.shared, o.q_total, o.c_total), (5.0, 6.0, 9.0));
        assert_eq!(Overlap::default().jaccard(), 0.0);
        assert_eq!(Overlap::default().containment(), 0.0);
    }

    #[test]
    fn conflicts_need_both_sides() {
        use crate::similarity::shingles::specific_hash;
        let a1 = specific_hash(SpecificKind::Amount, "100元");
        let a2 = specific_hash(SpecificKind::Amount, "200元");
        let p = specific_hash(SpecificKind::Place, "阳光花园");
        let sorted = |mut v: Vec<u64>| {
            v.sort_unstable();
            v
        };
        assert!(conflict(&sorted(vec![a1, p]), &sorted(vec![a2, p]), SpecificKind::Amount));
        assert!(!conflict(&sorted(vec![a1, p]), &sorted(vec![a1, a2]), SpecificKind::Amount));
        assert!(!conflict(&sorted(vec![p]), &sorted(vec![a2]), SpecificKind::Amount));
        assert!(!conflict(&sorted(vec![a1]), &sorted(vec![a2]), SpecificKind::Date));
        assert!(!conflict(&sorted(vec![a1]), &sorted(vec![p]), SpecificKind::Amount), "only one side states one");
        assert!(!conflict(&[], &sorted(vec![a2]), SpecificKind::Amount));
    }

    #[test]
    fn address_and_year_weights_scale_those_specifics() {
        let f = Fingerprinter::default();
        let a = f.fingerprint("阳光花园3栋漏水，2023年", &NoStats);
        let b = f.fingerprint("阳光花园3栋电梯坏了，2023年，赔偿500元", &NoStats);
        let plain = Scoring::default().compare(&a, &b, &NoStats);
        let light = Scoring { address_weight: 0.1, year_weight: 0.1, ..Scoring::default() }.compare(&a, &b, &NoStats);
        // Everything shared is an address or a year: lighter, they share less of the weight.
        assert!(light.specifics_jaccard < plain.specifics_jaccard, "{light:?} {plain:?}");
        assert_eq!(light.specifics_containment, 1.0);
    }

    #[test]
    fn rank_adds_cues_without_leaving_the_unit_interval() {
        let s = Scoring::default();
        let sim = Similarity { content: 0.5, ..Similarity::default() };
        let none = s.rank(&sim, &Cues::default());
        let all = Cues { same_petitioner: true, same_region: true, same_category: true, same_respondent: true };
        assert_eq!(none, 0.5);
        assert!(s.rank(&sim, &all) > s.rank(&sim, &Cues { same_region: true, ..Cues::default() }));
        assert!(s.rank(&sim, &all) > none);
        let top = Similarity { content: 1.0, ..Similarity::default() };
        assert_eq!(s.rank(&top, &all), 1.0);
        // Monotone in content under the same cues.
        let low = Similarity { content: 0.2, ..Similarity::default() };
        assert!(s.rank(&low, &all) < s.rank(&sim, &all));
    }

    #[test]
    fn repeat_needs_the_same_petitioner_and_related_a_different_one() {
        let s = Scoring::default();
        let high = Similarity { content: 0.95, ..Similarity::default() };
        let low = Similarity { content: 0.05, ..Similarity::default() };
        let same = Cues { same_petitioner: true, ..Cues::default() };
        let other = Cues { same_region: true, ..Cues::default() };
        assert!(s.decide_repeat(&high, &same) && decide_repeat(&high, &same));
        assert!(!decide_repeat(&high, &other));
        assert!(!decide_repeat(&low, &same));
        assert!(decide_related(&high, &other));
        assert!(!decide_related(&high, &same));
        assert!(!decide_related(&low, &other));
        assert!(!decide_related(&high, &Cues::default()), "elsewhere it is another matter");
        let at = Similarity { content: s.repeat_threshold, ..Similarity::default() };
        assert!(decide_repeat(&at, &same));
    }

    #[test]
    fn reason_quotes_the_query_only() {
        let f = Fingerprinter::default();
        let stats = stats();
        let query = f.analyze(PARAPHRASE, &stats);
        let candidate = f.fingerprint(ORIGINAL, &stats);
        let cues = Cues { same_petitioner: true, same_region: true, ..Cues::default() };
        let r = explain(&query, &candidate, &cues, &stats, 3);
        assert!(!r.shared_passages.is_empty() && r.shared_passages.len() <= 3);
        for p in &r.shared_passages {
            assert!(query.text.folded().contains(p.as_str()), "{p}");
            assert!(p.chars().filter(|c| !c.is_ascii_punctuation()).count() >= MIN_PASSAGE_UNITS);
        }
        assert!(r.shared_passages.iter().any(|p| p.contains("宏达建筑有限公司")), "{:?}", r.shared_passages);
        for s in ["虎岗村", "35000元", "2023年5月12日"] {
            assert!(r.shared_specifics.iter().any(|x| x == s), "{s} in {:?}", r.shared_specifics);
        }
        assert!(r.same_petitioner && r.same_region && !r.same_category && !r.same_respondent);
    }

    #[test]
    fn an_analysis_prepares_as_its_fingerprint_does_under_its_statistics() {
        let stats = stats();
        let fingerprinter = Fingerprinter::default();
        for scoring in [Scoring::default(), Scoring { idf_power: 2.0, ..Scoring::default() }] {
            for table in [&stats as &dyn ShingleStats, &NoStats] {
                for text in [ORIGINAL, PARAPHRASE, OTHER, "电梯坏了", ""] {
                    let analysis = fingerprinter.analyze(text, table);
                    let (a, b) = (scoring.prepare_analysis(&analysis), scoring.prepare(&analysis.fingerprint, table));
                    assert_eq!(a.shingle_weights, b.shingle_weights, "{text}");
                    assert_eq!(a.specific_weights, b.specific_weights, "{text}");
                    assert_eq!(
                        analysis.fingerprint.shingle_idf_total,
                        Some(analysis.fingerprint.shingles.iter().map(|&h| table.idf(h)).sum()),
                        "{text}"
                    );
                }
            }
        }
    }

    #[test]
    fn prepared_query_matches_one_off_comparison() {
        let stats = stats();
        let s = Scoring::default();
        let q = fp(PARAPHRASE);
        let prepared = s.prepare(&q, &stats);
        for c in [ORIGINAL, OTHER, "电梯坏了"] {
            assert_eq!(s.similarity(&prepared, &fp(c), &stats), s.compare(&q, &fp(c), &stats));
        }
    }

    #[test]
    fn the_content_bound_is_never_below_the_content() {
        let stats = stats();
        let s = Scoring::default();
        let cut: String = ORIGINAL.chars().take(40).collect();
        let texts = [ORIGINAL, PARAPHRASE, OTHER, cut.as_str(), "电梯坏了", "", "小区物业乱收费，本人多次反映未果。"];
        for q in texts {
            let q = fp(q);
            for table in [&stats as &dyn ShingleStats, &NoStats] {
                let prepared = s.prepare(&q, table);
                for c in texts {
                    let c = fp(c);
                    let content = s.similarity(&prepared, &c, table).content;
                    let bound = s.content_bound(&prepared, &c.specifics, table);
                    assert!(bound >= content, "{bound} < {content}");
                }
            }
        }
        // Another matter in the same template: its amount, date and company
        // differ, and no wording can make up for that.
        let original = fp(ORIGINAL);
        let prepared = s.prepare(&original, &stats);
        assert!(s.content_bound(&prepared, &fp(OTHER).specifics, &stats) < s.keep_threshold());
        assert!(s.content_bound(&prepared, &fp(PARAPHRASE).specifics, &stats) >= s.keep_threshold());
        // Without specifics on one side the text decides: nothing is known.
        assert_eq!(s.content_bound(&prepared, &[], &stats), 1.0);
    }

    #[test]
    fn reason_ignores_shingles_beyond_a_sampled_candidate() {
        let f = Fingerprinter::new(Params { max_shingles: 8, ..Params::default() });
        let query = Fingerprinter::default().analyze(ORIGINAL, &NoStats);
        let candidate = f.fingerprint(ORIGINAL, &NoStats);
        let r = explain(&query, &candidate, &Cues::default(), &NoStats, 10);
        let full = explain(&query, &fp(ORIGINAL), &Cues::default(), &NoStats, 10);
        // The same text: one passage, all of it.
        assert_eq!(full.shared_passages.len(), 1);
        // Only the 8 smallest shingle hashes are known: what is shared is a part of that.
        for p in &r.shared_passages {
            assert!(full.shared_passages[0].contains(p.as_str()), "{p}");
        }
        let chars = |v: &[String]| v.iter().map(|p| p.chars().count()).sum::<usize>();
        assert!(chars(&r.shared_passages) < chars(&full.shared_passages));
    }

    #[test]
    fn defaults_link_a_reworded_repeat_and_not_a_template_twin() {
        let stats = stats();
        let s = Scoring::default();
        let same = Cues { same_petitioner: true, same_region: true, same_category: true, same_respondent: false };
        let para = s.compare(&fp(PARAPHRASE), &fp(ORIGINAL), &stats);
        let twin = s.compare(&fp(OTHER), &fp(ORIGINAL), &stats);
        assert!(decide_repeat(&para, &same), "{para:?}");
        assert!(!decide_repeat(&twin, &same), "{twin:?}");
        assert!(decide_related(&para, &Cues { same_petitioner: false, ..same }));
    }

    #[test]
    fn reason_for_unrelated_texts_is_empty() {
        let f = Fingerprinter::default();
        let query = f.analyze("电梯坏了", &NoStats);
        let r = explain(&query, &f.fingerprint(ORIGINAL, &NoStats), &Cues::default(), &NoStats, 3);
        assert!(r.shared_passages.is_empty() && r.shared_specifics.is_empty());
        assert_eq!(
            explain(&query, &f.fingerprint(ORIGINAL, &NoStats), &Cues::default(), &NoStats, 0).shared_passages.len(),
            0
        );
    }
}
