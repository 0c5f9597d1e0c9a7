//! Intake checks on the matter of a filing (智能判重): its stored
//! fingerprint, the candidates that share a band key or the petitioner,
//! and the decisions — repeat of an open case (同人+同事), escalation
//! (越级), related filings of other petitioners (a possible group petition).

use diesel::PgConnection;
use uuid::Uuid;

use super::domain::CaseKind;
use super::intake_store::{self, CandidateQuery, CandidateRow, NewFingerprint, StoredCandidate};
use crate::auth::policy::path_within;
use crate::error::AppError;
use crate::similarity::{Analyzed, Cues, Fingerprint, Prepared, Similarity, SimilarityIndex};

/// How far a query reaches into the band index: the most band candidates
/// re-ranked, and the most cases read per key (the newest). A key that
/// thousands of cases share — one estate or company named in all of them —
/// says little and must not make every check slow, so candidates are
/// ranked by their shared keys, each weighing 1/n for the n cases read for
/// it: repeats share several keys, rare ones among them; chance collisions
/// share one, often a common one (`similarity::bands`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reach {
    pub band_candidates: usize,
    pub cases_per_key: usize,
    /// The least score (Σ 1/n) a band candidate needs: 0.3 passes a case
    /// that shares one key with at most two others, or several keys.
    pub min_score: f64,
    /// Only band candidates that can be kept: those whose specifics (in
    /// the band index) leave them a content bound at or above the repeat
    /// or related threshold (`Scoring::content_bound`). A filing decides
    /// and keeps nothing else; a search ranks the near misses too.
    pub keepable_only: bool,
}

impl Reach {
    /// A filing decides on the close candidates only, inside its
    /// transaction: each candidate read is a fingerprint fetched and scored,
    /// most of what detection costs a filing. Eight, of the 64 newest per
    /// key, scoring at least 0.3 and keepable, found nearly every related
    /// filing that more found, for less (`docs/duplicate-detection.md`);
    /// repeats do not depend on it (the petitioner's open cases are always
    /// compared).
    pub const FILING: Reach = Reach { band_candidates: 8, cases_per_key: 64, min_score: 0.3, keepable_only: true };
    /// FindSimilarCases ranks a page for staff and may look further.
    pub const SEARCH: Reach = Reach { band_candidates: 64, cases_per_key: 256, min_score: 0.0, keepable_only: false };
}

/// Most of the petitioner's own open cases compared directly (a reworded
/// repeat may share no band with its original).
pub const MAX_OWN_OPEN_CASES: i64 = 100;
/// Most related cases recorded per filing.
pub const MAX_RELATED: usize = 20;

/// The text of a filing that is fingerprinted.
pub fn filing_text(title: &str, content: &str, requests: &str, facts_and_reasons: &str) -> String {
    [title, content, facts_and_reasons, requests]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the query is, beyond its text: the cues it is compared by.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub petitioner_id: Option<Uuid>,
    pub region_path: Option<String>,
    pub category_code: Option<String>,
    pub respondent_organization_id: Option<Uuid>,
    pub kind: Option<CaseKind>,
    /// The query case itself, when searching by case.
    pub exclude: Option<Uuid>,
    /// A filing: the petitioner's filings take turns from the candidate
    /// read until the transaction ends, so that of two concurrent filings
    /// of one matter the second sees the first.
    pub serialize_filings: bool,
}

/// A candidate compared with the query.
#[derive(Debug, Clone)]
pub struct Match {
    pub case: CandidateRow,
    pub fingerprint: Fingerprint,
    pub similarity: Similarity,
    pub cues: Cues,
    /// Content plus cue bonuses: the order of FindSimilarCases.
    pub rank: f32,
    pub repeat: bool,
    pub related: bool,
}

fn cues(subject: &Subject, case: &CandidateRow) -> Cues {
    Cues {
        same_petitioner: subject.petitioner_id == Some(case.petitioner_id),
        same_region: subject
            .region_path
            .as_deref()
            .is_some_and(|q| path_within(&case.region_path, q) || path_within(q, &case.region_path)),
        same_category: subject.category_code.as_deref() == Some(case.category_code.as_str()),
        same_respondent: subject.respondent_organization_id.is_some()
            && subject.respondent_organization_id == case.respondent_organization_id,
    }
}

/// The stored cases most like the query, best first: those sharing band
/// keys with it and the petitioner's own open cases, re-ranked exactly.
/// Only those similar enough to be decided a repeat or related — and, for
/// a search, the `keep_best` most similar — are returned. A filing passes
/// its new case as `store_as`: the query's fingerprint is stored as that
/// case's in the same round trip.
pub fn find_matches(
    conn: &mut PgConnection,
    index: &SimilarityIndex,
    query: &Analyzed,
    subject: &Subject,
    reach: Reach,
    keep_best: usize,
    store_as: Option<Uuid>,
) -> Result<Vec<Match>, AppError> {
    let stats = query.stats();
    let scoring = index.scoring();
    let prepared = scoring.prepare_analysis(&query.analysis);
    let stored = candidates(conn, index, query, &prepared, subject, reach, store_as)?;
    if stored.is_empty() {
        return Ok(Vec::new());
    }
    let mut scored: Vec<(CandidateRow, Fingerprint, Similarity)> = stored
        .into_iter()
        .filter_map(|(version, bytes, case)| match Fingerprint::decode(&bytes) {
            // Its IDF total is of other statistics than the query's.
            Ok(fingerprint) if version != query.version() => {
                Some((case, Fingerprint { shingle_idf_total: None, ..fingerprint }))
            }
            Ok(fingerprint) => Some((case, fingerprint)),
            Err(e) => {
                tracing::warn!(case_id = %case.id, error = %e, "unreadable fingerprint skipped");
                None
            }
        })
        .map(|(case, fingerprint)| {
            let similarity = scoring.similarity(&prepared, &fingerprint, stats);
            (case, fingerprint, similarity)
        })
        .collect();
    scored.sort_by(|a, b| b.2.content.total_cmp(&a.2.content).then(b.0.id.cmp(&a.0.id)));
    let kept = scored
        .iter()
        .enumerate()
        .take_while(|(i, s)| *i < keep_best || s.2.content >= scoring.keep_threshold())
        .count();
    scored.truncate(kept);
    let mut matches: Vec<Match> = scored
        .into_iter()
        .map(|(case, fingerprint, similarity)| {
            let cues = cues(subject, &case);
            let rank = scoring.rank(&similarity, &cues);
            // An accusation repeats only an accusation: a link between it and
            // the petitioner's other cases would name the accuser (Art.30).
            let same_class = case.is_accusation() == (subject.kind == Some(CaseKind::Accusation));
            let repeat = case.is_open()
                && case.repeat_of.is_none()
                && (same_class || subject.kind.is_none())
                && scoring.decide_repeat(&similarity, &cues);
            let related = !case.is_accusation()
                && subject.kind != Some(CaseKind::Accusation)
                && subject.petitioner_id.is_some()
                && scoring.decide_related(&similarity, &cues);
            Match { case, fingerprint, similarity, cues, rank, repeat, related }
        })
        .collect();
    matches.sort_by(|a, b| b.rank.total_cmp(&a.rank).then(b.case.id.cmp(&a.case.id)));
    Ok(matches)
}

/// What [`find_matches`] scores: the stored cases sharing band keys with
/// the query and the petitioner's own open cases, with their fingerprints
/// (after the filing lock, for a filing). `prepared` is the query's
/// fingerprint prepared for scoring; with `store_as`, the query's
/// fingerprint is then stored as that new case's.
pub fn candidates(
    conn: &mut PgConnection,
    index: &SimilarityIndex,
    query: &Analyzed,
    prepared: &Prepared<'_>,
    subject: &Subject,
    reach: Reach,
    store_as: Option<Uuid>,
) -> Result<Vec<StoredCandidate>, AppError> {
    let (scoring, stats) = (index.scoring(), query.stats());
    let floor = scoring.keep_threshold();
    let keepable = |specifics: &[u64]| scoring.content_bound(prepared, specifics, stats) >= floor;
    let admit: &dyn Fn(&[u64]) -> bool = if reach.keepable_only { &keepable } else { &|_| true };
    let bands = index.bands();
    let band_cases = bands.candidates(
        &query.search_keys,
        reach.cases_per_key,
        reach.band_candidates,
        reach.min_score,
        subject.exclude,
        admit,
    );
    // The petitioner's open cases are read whatever their text, except
    // those this server knows cannot be kept (a petitioner who files often
    // has many open cases, nearly all on other matters).
    let skip_own = match subject.petitioner_id {
        Some(petitioner) if reach.keepable_only => bands.refused_of(petitioner, &keepable),
        _ => Vec::new(),
    };
    intake_store::candidates(
        conn,
        &CandidateQuery {
            lock: subject.petitioner_id.filter(|_| subject.serialize_filings).map(intake_store::petitioner_lock_key),
            band_cases: &band_cases,
            petitioner: subject.petitioner_id,
            skip_own: &skip_own,
            own_limit: MAX_OWN_OPEN_CASES,
            exclude: subject.exclude,
            store: store_as.map(|case_id| NewFingerprint::new(case_id, query.version(), &query.analysis.fingerprint)),
        },
    )
}

/// What intake decided about a new filing.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The open case it repeats, with the content similarity.
    pub repeat_of: Option<(CandidateRow, f32)>,
    /// Filed above the level where that case is open.
    pub escalated: bool,
    /// Other petitioners' cases on the same matter, with the content similarity.
    pub related: Vec<(Uuid, f32)>,
    /// The band index was still being built: `related` may be incomplete
    /// (the petitioner's own open cases were all compared).
    pub partial: bool,
}

/// Decides a filing's outcome from its matches. `filed_at_path` is the
/// region path of the level it was filed at (the registering clerk's
/// jurisdiction, or the region an online filing names); `partial`: the
/// band index was still being built ([`Analyzed::bands_partial`]).
pub fn decide(matches: &[Match], filed_at_path: &str, partial: bool) -> Outcome {
    let repeat_of = matches
        .iter()
        .filter(|m| m.repeat)
        .max_by(|a, b| a.similarity.content.total_cmp(&b.similarity.content))
        .map(|m| (m.case.clone(), m.similarity.content));
    let escalated = repeat_of
        .as_ref()
        .is_some_and(|(case, _)| case.region_path != filed_at_path && path_within(&case.region_path, filed_at_path));
    let related =
        matches.iter().filter(|m| m.related).take(MAX_RELATED).map(|m| (m.case.id, m.similarity.content)).collect();
    Outcome { repeat_of, escalated, related, partial }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::domain::CaseState;

    fn row(petitioner: Uuid, region_path: &str, state: CaseState) -> CandidateRow {
        CandidateRow {
            id: Uuid::now_v7(),
            number: "360702-2026-000001".into(),
            kind: CaseKind::Claim.as_i16(),
            state: state.as_i16(),
            petitioner_id: petitioner,
            region_path: region_path.into(),
            category_code: "labor".into(),
            respondent_organization_id: None,
            handling_organization_id: None,
            reviewing_organization_id: None,
            repeat_of: None,
        }
    }

    fn matched(case: CandidateRow, content: f32, repeat: bool, related: bool) -> Match {
        Match {
            case,
            fingerprint: Fingerprint {
                version: 1,
                band_keys: vec![],
                specifics: vec![],
                shingles: vec![],
                shingle_count: 0,
                shingle_idf_total: None,
            },
            similarity: Similarity { content, ..Similarity::default() },
            cues: Cues::default(),
            rank: content,
            repeat,
            related,
        }
    }

    #[test]
    fn the_most_similar_repeat_wins_and_escalation_needs_a_higher_level() {
        let me = Uuid::now_v7();
        let county = "360700/360702";
        let weak = matched(row(me, county, CaseState::Accepted), 0.5, true, false);
        let strong = matched(row(me, county, CaseState::Routed), 0.9, true, false);
        let other = matched(row(Uuid::now_v7(), county, CaseState::Routed), 0.95, false, true);
        let matches = [weak, strong.clone(), other.clone()];

        let same_level = decide(&matches, county, false);
        assert_eq!(same_level.repeat_of.as_ref().map(|(c, _)| c.id), Some(strong.case.id));
        assert!(!same_level.escalated);
        assert_eq!(same_level.related, vec![(other.case.id, 0.95)]);

        assert!(decide(&matches, "360700", false).escalated, "the city above the county");
        assert!(!decide(&matches, "360700/360703", false).escalated, "a sibling county is not above");
        assert!(!decide(&matches, "360700/360702/360702001", false).escalated, "below is not above");

        let none = decide(&[other], "360700", false);
        assert!(none.repeat_of.is_none() && !none.escalated);
    }

    #[test]
    fn filing_text_joins_the_non_empty_fields() {
        assert_eq!(filing_text("标题", "内容", "", "事实"), "标题\n内容\n事实");
    }
}
