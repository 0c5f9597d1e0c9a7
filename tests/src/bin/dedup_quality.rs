//! Quality of duplicate and repeat detection (智能判重), measured on a
//! labelled synthetic corpus of Chinese petition texts.
//!
//! ```text
//! cargo run --release -p petition-tests --bin dedup-quality -- [--cases 10000] [--seed N]
//! ```
//!
//! The corpus comes from the shared generator ([`petition_tests::petition_texts`]):
//! petitions across ten categories with lengths from a dozen to a few
//! thousand characters (median about 200), the boilerplate petitioners
//! reuse, planted near-duplicates (paraphrase, reordering, insertions, typos,
//! truncation, a mix of these) filed by the same petitioner (repeats), the
//! same matter filed by other petitioners (related, not repeats), and hard
//! negatives (the same petitioner's other matters, "template twins"), in
//! the quality mix ([`petition_tests::petition_texts::Mix::QUALITY`]).
//!
//! Each filing, in time order, is checked against the filings before it as
//! a real filing would be: candidates from the LSH band index only, re-ranked
//! by `similarity::Scoring`. Document frequencies come from a separate
//! background corpus (another seed), as from a city's archive.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Instant;

use clap::Parser;
use hdrhistogram::Histogram;
use petition_server::similarity::{
    Cues, DocFreqTable, Fingerprint, Fingerprinter, Params, Scoring, Similarity, Weighting,
};
use petition_tests::petition_texts::{Corpus, Kind, REPEAT_KINDS, Rng, generate};

#[path = "dedup_quality/pairs.rs"]
mod pairs;

// ---------------------------------------------------------------------------
// Command line

#[derive(Parser, Debug, Clone)]
#[command(about = "Precision/recall of repeat detection and recall@5 of FindSimilarCases on a labelled corpus")]
struct Args {
    /// Filings in the evaluated corpus.
    #[arg(long, default_value_t = 10_000)]
    cases: usize,
    /// Seed of the evaluated corpus (tune on one seed, report on another).
    #[arg(long, default_value_t = 2)]
    seed: u64,
    /// Filings in the background corpus that document frequencies are counted on.
    #[arg(long, default_value_t = 10_000)]
    background: usize,
    /// Units per shingle.
    #[arg(long)]
    shingle_size: Option<usize>,
    /// MinHash functions.
    #[arg(long)]
    k: Option<usize>,
    /// LSH bands.
    #[arg(long)]
    bands: Option<usize>,
    /// LSH rows per band.
    #[arg(long)]
    rows: Option<usize>,
    /// MinHash weighting: `idf` (weighted MinHash) or `cutoff` (drop common shingles).
    #[arg(long)]
    weighting: Option<String>,
    /// IDF power for the weighted MinHash.
    #[arg(long)]
    minhash_power: Option<f32>,
    /// Document-frequency ratio above which `cutoff` drops a shingle.
    #[arg(long)]
    cutoff: Option<f32>,
    /// MinHash weight multiplier of specifics.
    #[arg(long)]
    boost: Option<f32>,
    /// Re-ranking: shingle weight idf^power.
    #[arg(long)]
    idf_power: Option<f32>,
    /// Re-ranking: share of Jaccard vs containment in the text part.
    #[arg(long)]
    text_jaccard_share: Option<f32>,
    /// Re-ranking: share of Jaccard vs containment in the specifics part.
    #[arg(long)]
    specifics_jaccard_share: Option<f32>,
    /// Re-ranking: share of specifics in the content score.
    #[arg(long)]
    specifics_share: Option<f32>,
    /// Re-ranking: penalty for conflicting amounts.
    #[arg(long)]
    amount_penalty: Option<f32>,
    /// Re-ranking: penalty for conflicting dates.
    #[arg(long)]
    date_penalty: Option<f32>,
    /// Re-ranking: weight multiplier of places and house numbers among specifics.
    #[arg(long)]
    address_weight: Option<f32>,
    /// Re-ranking: weight multiplier of bare years among specifics.
    #[arg(long)]
    year_weight: Option<f32>,
    /// Re-ranking: weight multiplier of place names among specifics.
    #[arg(long)]
    place_weight: Option<f32>,
    /// Re-ranking: weight multiplier of the shorter forms of names.
    #[arg(long)]
    name_form_weight: Option<f32>,
    /// Re-ranking: document-frequency share above which a specific is boilerplate.
    #[arg(long)]
    specific_max_df: Option<f32>,
    /// Re-ranking: specifics weight from which the specifics part counts fully.
    #[arg(long)]
    specifics_mass: Option<f32>,
    /// Content threshold of the repeat decision.
    #[arg(long)]
    repeat_threshold: Option<f32>,
    /// Content threshold of the related decision.
    #[arg(long)]
    related_threshold: Option<f32>,
    /// Print precision/recall against the thresholds.
    #[arg(long)]
    sweep: bool,
    /// Grid-search the re-ranking weights and thresholds on this corpus.
    #[arg(long)]
    tune: bool,
    /// Print this many generated filings of each kind, then go on.
    #[arg(long, default_value_t = 0)]
    show: usize,
    /// Print the exact LSH recall and collision rate of band × row layouts
    /// that fit in the signature (run with a long signature, e.g. `--k 128`).
    #[arg(long)]
    lsh_grid: bool,
    /// Print the misjudged filings (up to this many of each error).
    #[arg(long, default_value_t = 0)]
    errors: usize,
    /// Corpus: `petitions` (the synthetic petitions, filing-level decisions
    /// through the band index) or `board` (letters to a leadership message
    /// board, all same-user pairs; `docs/duplicate-detection.md`).
    #[arg(long, default_value = "petitions")]
    corpus: String,
    /// Users of the board corpus.
    #[arg(long, default_value_t = 1500)]
    users: usize,
    /// Evaluate a labelled JSON-lines file instead (all same-user pairs):
    /// `user`, `text` (or `subject` and `body`), `time`, `matter`.
    #[arg(long)]
    file: Option<String>,
}

impl Args {
    fn params(&self) -> Params {
        let mut p = Params::default();
        if let Some(n) = self.shingle_size {
            p.shingle_size = n;
        }
        if let Some(b) = self.bands {
            p.banding.bands = b;
        }
        if let Some(r) = self.rows {
            p.banding.rows = r;
        }
        p.minhash_k = self.k.unwrap_or(p.minhash_k.max(p.banding.bands * p.banding.rows));
        match self.weighting.as_deref() {
            Some("idf") => p.weighting = Weighting::Idf { power: self.minhash_power.unwrap_or(1.0) },
            Some("cutoff") => {
                p.weighting = Weighting::Cutoff { max_df_ratio: self.cutoff.unwrap_or(0.005), min_documents: 100 }
            }
            Some(other) => panic!("unknown weighting {other}: idf or cutoff"),
            None => {
                if let Weighting::Idf { power } = &mut p.weighting
                    && let Some(m) = self.minhash_power
                {
                    *power = m;
                }
                if let Weighting::Cutoff { max_df_ratio, .. } = &mut p.weighting
                    && let Some(c) = self.cutoff
                {
                    *max_df_ratio = c;
                }
            }
        }
        if let Some(b) = self.boost {
            p.specifics_boost = b;
        }
        p
    }

    fn scoring(&self) -> Scoring {
        let mut s = Scoring::default();
        let set = |field: &mut f32, v: Option<f32>| {
            if let Some(v) = v {
                *field = v;
            }
        };
        set(&mut s.idf_power, self.idf_power);
        set(&mut s.text_jaccard_share, self.text_jaccard_share);
        set(&mut s.specifics_jaccard_share, self.specifics_jaccard_share);
        set(&mut s.specifics_share, self.specifics_share);
        set(&mut s.amount_conflict_penalty, self.amount_penalty);
        set(&mut s.date_conflict_penalty, self.date_penalty);
        set(&mut s.address_weight, self.address_weight);
        set(&mut s.year_weight, self.year_weight);
        set(&mut s.place_weight, self.place_weight);
        set(&mut s.name_form_weight, self.name_form_weight);
        set(&mut s.specific_max_df, self.specific_max_df);
        set(&mut s.specifics_mass, self.specifics_mass);
        set(&mut s.repeat_threshold, self.repeat_threshold);
        set(&mut s.related_threshold, self.related_threshold);
        s
    }
}

// ---------------------------------------------------------------------------
// Evaluation

#[derive(Debug, Clone, Copy)]
struct Candidate {
    filing: usize,
    /// Found through the band index (else: one of the petitioner's own earlier filings).
    via_lsh: bool,
    sim: Similarity,
    same_petitioner: bool,
    same_matter: bool,
    cues: Cues,
}

struct Run {
    /// Per filing: its LSH candidates with their similarity.
    candidates: Vec<Vec<Candidate>>,
    fingerprint_us: Histogram<u64>,
    rerank_us: Histogram<u64>,
    candidate_counts: Histogram<u64>,
    storage_bytes: Histogram<u64>,
    band_rows: u64,
    signatures: Vec<Vec<u32>>,
}

fn cues_of(corpus: &Corpus, a: usize, b: usize) -> Cues {
    let (fa, fb) = (&corpus.filings[a], &corpus.filings[b]);
    let (ma, mb) = (&corpus.matters[fa.matter], &corpus.matters[fb.matter]);
    Cues {
        same_petitioner: fa.petitioner == fb.petitioner,
        same_region: ma.district == mb.district,
        same_category: ma.category == mb.category,
        same_respondent: ma.respondent == mb.respondent,
    }
}

fn background_stats(args: &Args, fingerprinter: &Fingerprinter) -> DocFreqTable {
    let corpus = generate(args.background, args.seed.wrapping_mul(0x9e37_79b9).wrapping_add(0xbac6));
    let mut stats = DocFreqTable::new();
    for f in &corpus.filings {
        let fp = fingerprinter.fingerprint(&f.text, &petition_server::similarity::NoStats);
        stats.add_document(fp.shingles.iter().chain(&fp.specifics).copied());
    }
    stats
}

fn run(corpus: &Corpus, fingerprinter: &Fingerprinter, scoring: &Scoring, stats: &DocFreqTable) -> Run {
    let n = corpus.filings.len();
    let mut index: HashMap<i64, Vec<u32>> = HashMap::new();
    let mut stored: Vec<Fingerprint> = Vec::with_capacity(n);
    let mut candidates = Vec::with_capacity(n);
    let hist = || Histogram::<u64>::new(3).expect("histogram");
    let (mut fingerprint_us, mut rerank_us, mut candidate_counts, mut storage_bytes) = (hist(), hist(), hist(), hist());
    let mut band_rows = 0;
    let mut seen = vec![u32::MAX; n];
    let mut own: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut signatures = Vec::with_capacity(n);
    for (i, filing) in corpus.filings.iter().enumerate() {
        let t0 = Instant::now();
        let analysis = fingerprinter.analyze(&filing.text, stats);
        let fp = analysis.fingerprint;
        signatures.push(analysis.signature);
        fingerprint_us.record(t0.elapsed().as_micros() as u64).ok();
        let t1 = Instant::now();
        let mut found = Vec::new();
        for key in &fp.band_keys {
            for &j in index.get(key).map(Vec::as_slice).unwrap_or(&[]) {
                if seen[j as usize] != i as u32 {
                    seen[j as usize] = i as u32;
                    found.push(j as usize);
                }
            }
        }
        let lsh_found = found.len();
        let prepared = scoring.prepare(&fp, stats);
        let mut cands: Vec<Candidate> = found
            .into_iter()
            .map(|j| {
                let cues = cues_of(corpus, i, j);
                Candidate {
                    filing: j,
                    via_lsh: true,
                    sim: scoring.similarity(&prepared, &stored[j], stats),
                    same_petitioner: cues.same_petitioner,
                    same_matter: corpus.filings[j].matter == filing.matter,
                    cues,
                }
            })
            .collect();
        rerank_us.record(t1.elapsed().as_micros() as u64).ok();
        candidate_counts.record(lsh_found as u64).ok();
        // The petitioner's own earlier filings that LSH did not find (the
        // integration can always add them: a petitioner has few cases).
        let mine = own.entry(filing.petitioner).or_default();
        for &j in mine.iter() {
            if seen[j] != i as u32 {
                let cues = cues_of(corpus, i, j);
                cands.push(Candidate {
                    filing: j,
                    via_lsh: false,
                    sim: scoring.similarity(&prepared, &stored[j], stats),
                    same_petitioner: true,
                    same_matter: corpus.filings[j].matter == filing.matter,
                    cues,
                });
            }
        }
        mine.push(i);
        storage_bytes.record(fp.encoded_len() as u64).ok();
        band_rows += fp.band_keys.len() as u64;
        for key in &fp.band_keys {
            index.entry(*key).or_default().push(i as u32);
        }
        stored.push(fp);
        candidates.push(cands);
    }
    Run { candidates, fingerprint_us, rerank_us, candidate_counts, storage_bytes, band_rows, signatures }
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    tp: u64,
    fp: u64,
    fn_: u64,
}

impl Counts {
    /// Counts one decision against the truth.
    fn add(&mut self, decided: bool, truth: bool) {
        match (decided, truth) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            _ => {}
        }
    }
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fp) as f64 }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fn_) as f64 }
    }
    fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
}

/// Per filing: is it a repeat (an earlier filing of the same person and matter exists)?
fn repeat_truth(corpus: &Corpus) -> Vec<bool> {
    let mut seen = HashSet::new();
    corpus.filings.iter().map(|f| !seen.insert((f.petitioner, f.matter))).collect()
}

/// The repeat decision per filing: the best same-petitioner candidate at or
/// above the threshold is linked. Returns per filing `Some(correct)` when a
/// link is made.
fn repeat_links(
    run: &Run,
    score: impl Fn(&Candidate) -> f32,
    threshold: f32,
    lsh_only: bool,
) -> Vec<Option<(bool, f32, usize)>> {
    run.candidates
        .iter()
        .map(|cands| {
            cands
                .iter()
                .filter(|c| c.same_petitioner && (c.via_lsh || !lsh_only))
                .map(|c| (score(c), c))
                .filter(|(s, _)| *s >= threshold)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(s, c)| (c.same_matter, s, c.filing))
        })
        .collect()
}

fn repeat_counts(truth: &[bool], links: &[Option<(bool, f32, usize)>]) -> Counts {
    let mut c = Counts::default();
    for (t, l) in truth.iter().zip(links) {
        match (t, l) {
            (true, Some((true, ..))) => c.tp += 1,
            (true, Some((false, ..))) => {
                c.fp += 1;
                c.fn_ += 1;
            }
            (true, None) => c.fn_ += 1,
            (false, Some(_)) => c.fp += 1,
            (false, None) => {}
        }
    }
    c
}

/// Pair-level counts of a decision over the candidate pairs of one kind
/// (same or different petitioner); recall over all true earlier pairs.
fn pair_counts(corpus: &Corpus, run: &Run, same_petitioner: bool, decide: impl Fn(&Candidate) -> bool) -> Counts {
    let mut c = Counts::default();
    let mut found_true = 0u64;
    for cands in &run.candidates {
        for cand in cands.iter().filter(|c| c.via_lsh && c.same_petitioner == same_petitioner) {
            let positive = decide(cand);
            if cand.same_matter {
                found_true += 1;
            }
            c.add(positive, cand.same_matter);
        }
    }
    // True pairs LSH never produced are misses too.
    let mut by_matter: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut all_true = 0u64;
    for (i, f) in corpus.filings.iter().enumerate() {
        let earlier = by_matter.entry(f.matter).or_default();
        all_true +=
            earlier.iter().filter(|&&j| (corpus.filings[j].petitioner == f.petitioner) == same_petitioner).count()
                as u64;
        earlier.push(i);
    }
    c.fn_ += all_true - found_true;
    c
}

struct Tuned {
    scoring: Scoring,
    counts: Counts,
}

/// Thresholds tried: 0.20, 0.21, …, 0.90.
fn threshold_grid() -> impl Iterator<Item = f32> {
    (20..=90).map(|t| t as f32 / 100.0)
}

/// The threshold of the grid with the best F1 for (score, true positive?)
/// decisions out of `positives` true cases.
fn best_threshold(mut scored: Vec<(f32, bool)>, positives: u64) -> (f32, Counts) {
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut prefix_tp = vec![0u64; scored.len() + 1];
    for (i, (_, tp)) in scored.iter().enumerate() {
        prefix_tp[i + 1] = prefix_tp[i] + *tp as u64;
    }
    let mut best = (0.0, Counts::default(), -1.0);
    for t in threshold_grid() {
        let k = scored.partition_point(|(s, _)| *s >= t);
        let tp = prefix_tp[k];
        let c = Counts { tp, fp: k as u64 - tp, fn_: positives - tp };
        if c.f1() > best.2 {
            best = (t, c, c.f1());
        }
    }
    (best.0, best.1)
}

/// Grid search of the content weights and the repeat threshold for F1 of the
/// filing-level repeat decision, then of the related threshold for pair F1.
fn tune(corpus: &Corpus, run: &Run, base: &Scoring) -> Tuned {
    let truth = repeat_truth(corpus);
    let positives = truth.iter().filter(|t| **t).count() as u64;
    let mut best: Option<(f64, Scoring, Counts)> = None;
    for &tj in &[0.25f32, 0.5, 0.75, 1.0] {
        for &sj in &[0.0f32, 0.25, 0.5, 0.75, 1.0] {
            for &ss in &[0.35f32, 0.5, 0.65, 0.8, 0.9] {
                for &ap in &[0.0f32, 0.1, 0.2, 0.3, 0.4] {
                    for &dp in &[0.0f32, 0.1, 0.2, 0.3, 0.4] {
                        let s = Scoring {
                            text_jaccard_share: tj,
                            specifics_jaccard_share: sj,
                            specifics_share: ss,
                            amount_conflict_penalty: ap,
                            date_conflict_penalty: dp,
                            ..*base
                        };
                        let links = repeat_links(run, |c| s.content(&c.sim), 0.0, true);
                        let scored: Vec<(f32, bool)> = links
                            .iter()
                            .zip(&truth)
                            .filter_map(|(l, t)| l.map(|(correct, score, _)| (score, correct && *t)))
                            .collect();
                        let (t, counts) = best_threshold(scored, positives);
                        if best.as_ref().is_none_or(|(b, ..)| counts.f1() > *b) {
                            best = Some((counts.f1(), Scoring { repeat_threshold: t, ..s }, counts));
                        }
                    }
                }
            }
        }
    }
    let (_, mut scoring, counts) = best.expect("a grid point");
    // Related: pairs of different petitioners found by LSH; recall over all true pairs.
    let all = pair_counts(corpus, run, false, |_| true);
    let scored: Vec<(f32, bool)> = run
        .candidates
        .iter()
        .flatten()
        .filter(|c| c.via_lsh && !c.same_petitioner)
        .map(|c| (scoring.content(&c.sim), c.same_matter))
        .collect();
    let (t, _) = best_threshold(scored, all.tp + all.fn_);
    scoring.related_threshold = t;
    Tuned { scoring, counts }
}

/// Do the signatures share a band key under `bands × rows` (the first
/// `bands × rows` values)?
fn collide(a: &[u32], b: &[u32], bands: usize, rows: usize) -> bool {
    !a.is_empty() && !b.is_empty() && (0..bands).any(|k| a[k * rows..(k + 1) * rows] == b[k * rows..(k + 1) * rows])
}

/// Exact LSH recall on the planted pairs and collision rate on random pairs
/// of different matters, for every layout that fits the signature.
fn lsh_grid(corpus: &Corpus, run: &Run, w: &mut String) {
    let k = run.signatures.iter().map(Vec::len).max().unwrap_or(0);
    let mut rng = Rng::new(0x6c73_6867);
    let n = corpus.filings.len();
    let random: Vec<(usize, usize)> = (0..400_000)
        .map(|_| (rng.below(n), rng.below(n)))
        .filter(|&(a, b)| corpus.filings[a].matter != corpus.filings[b].matter)
        .collect();
    let planted: Vec<(usize, usize, Kind)> =
        corpus.filings.iter().enumerate().filter_map(|(i, f)| f.source.map(|s| (i, s, f.kind))).collect();
    writeln!(w, "\nLSH layouts (exact, from {k}-value signatures): recall on planted pairs · collision rate on {} random pairs of different matters → expected candidates per filing at 1,000,000 cases", random.len()).ok();
    for rows in 1..=6 {
        for bands in [4, 8, 12, 16, 20, 24, 32, 40, 48, 64] {
            if bands * rows > k {
                continue;
            }
            let sig = |i: usize| run.signatures[i].as_slice();
            let hit = |kinds: &dyn Fn(Kind) -> bool| {
                let sel: Vec<_> = planted.iter().filter(|p| kinds(p.2)).collect();
                sel.iter().filter(|p| collide(sig(p.0), sig(p.1), bands, rows)).count() as f64 / sel.len().max(1) as f64
            };
            let repeats = hit(&|k: Kind| REPEAT_KINDS.contains(&k));
            let related = hit(&|k: Kind| k == Kind::Related);
            let worst =
                REPEAT_KINDS.iter().map(|&kind| (hit(&|k: Kind| k == kind), kind)).min_by(|a, b| a.0.total_cmp(&b.0));
            let coll =
                random.iter().filter(|p| collide(sig(p.0), sig(p.1), bands, rows)).count() as f64 / random.len() as f64;
            writeln!(w, "  {bands:>2} × {rows}: repeats {repeats:.4} (worst {} {:.4}) related {related:.4} · random {coll:.6} → {:.0} per filing at 1M",
                worst.map_or("-", |x| x.1.name()), worst.map_or(0.0, |x| x.0), coll * 1e6).ok();
        }
    }
}

/// The candidate's similarity with `scoring`'s content (the run may have used other weights).
fn rescored(scoring: &Scoring, c: &Candidate) -> Similarity {
    Similarity { content: scoring.content(&c.sim), ..c.sim }
}

fn pct(h: &Histogram<u64>, q: f64) -> u64 {
    h.value_at_quantile(q)
}

fn main() {
    let args = Args::parse();
    let params = args.params();
    let scoring = args.scoring();
    let fingerprinter = Fingerprinter::new(params);
    if args.file.is_some() || args.corpus == "board" {
        let mut out = String::new();
        let messages = match &args.file {
            Some(path) => match pairs::read_file(path) {
                Ok(m) => {
                    writeln!(out, "dedup-quality: file {path}").ok();
                    m
                }
                Err(e) => {
                    eprintln!("dedup-quality: {e}");
                    std::process::exit(2);
                }
            },
            None => {
                writeln!(out, "dedup-quality: board corpus, seed {}, {} users", args.seed, args.users).ok();
                pairs::board(args.users, args.seed)
            }
        };
        writeln!(out, "scoring: {scoring:?}").ok();
        pairs::evaluate(&messages, &fingerprinter, &scoring, args.errors, args.sweep, &mut out);
        print!("{out}");
        return;
    }
    if args.corpus != "petitions" {
        eprintln!("dedup-quality: unknown corpus {}: petitions or board", args.corpus);
        std::process::exit(2);
    }
    let t0 = Instant::now();
    let corpus = generate(args.cases, args.seed);
    let gen_time = t0.elapsed();
    let stats = background_stats(&args, &fingerprinter);
    let mut out = String::new();
    let w = &mut out;

    // Corpus
    let mut kinds: HashMap<Kind, usize> = HashMap::new();
    for f in &corpus.filings {
        *kinds.entry(f.kind).or_default() += 1;
    }
    let mut lengths: Vec<usize> = corpus.filings.iter().map(|f| f.text.chars().count()).collect();
    lengths.sort_unstable();
    let q = |p: f64| lengths[((lengths.len() - 1) as f64 * p) as usize];
    writeln!(
        w,
        "dedup-quality: seed {} · {} filings · background {} filings (df table {} entries) · generated in {:.1?}",
        args.seed,
        corpus.filings.len(),
        args.background,
        stats.len(),
        gen_time
    )
    .ok();
    writeln!(
        w,
        "petitioners {} · matters {} · length chars p10 {} p50 {} p90 {} p99 {} max {}",
        corpus.petitioners.len(),
        corpus.matters.len(),
        q(0.1),
        q(0.5),
        q(0.9),
        q(0.99),
        lengths[lengths.len() - 1]
    )
    .ok();
    let mut kind_list: Vec<_> = kinds.iter().collect();
    kind_list.sort();
    writeln!(
        w,
        "filings by kind: {}",
        kind_list.iter().map(|(k, n)| format!("{} {n}", k.name())).collect::<Vec<_>>().join(" · ")
    )
    .ok();
    writeln!(w, "params: {params:?}").ok();

    if args.show > 0 {
        let mut shown: HashMap<Kind, usize> = HashMap::new();
        for (i, f) in corpus.filings.iter().enumerate() {
            let n = shown.entry(f.kind).or_default();
            if *n < args.show {
                *n += 1;
                let src = f.source.map(|s| format!(" (from #{s}: {})", corpus.filings[s].text)).unwrap_or_default();
                writeln!(
                    w,
                    "\n#{i} [{}] matter {} petitioner {}: {}{src}",
                    f.kind.name(),
                    f.matter,
                    f.petitioner,
                    f.text
                )
                .ok();
            }
        }
        writeln!(w).ok();
    }

    let run = run(&corpus, &fingerprinter, &scoring, &stats);
    let truth = repeat_truth(&corpus);

    let scoring = if args.tune {
        let tuned = tune(&corpus, &run, &scoring);
        writeln!(
            w,
            "tuned on this seed: {:?} → P {:.4} R {:.4} F1 {:.4}",
            tuned.scoring,
            tuned.counts.precision(),
            tuned.counts.recall(),
            tuned.counts.f1()
        )
        .ok();
        tuned.scoring
    } else {
        scoring
    };
    writeln!(w, "scoring: {scoring:?}").ok();

    // Repeat decision, filing level.
    let links = repeat_links(&run, |c| scoring.content(&c.sim), scoring.repeat_threshold, true);
    let counts = repeat_counts(&truth, &links);
    writeln!(
        w,
        "\nREPEAT decision (same person + same matter), each filing against earlier ones, LSH candidates only:"
    )
    .ok();
    writeln!(
        w,
        "  filings: TP {} FP {} FN {} → precision {:.4} recall {:.4} F1 {:.4}",
        counts.tp,
        counts.fp,
        counts.fn_,
        counts.precision(),
        counts.recall(),
        counts.f1()
    )
    .ok();
    let own_links = repeat_links(&run, |c| scoring.content(&c.sim), scoring.repeat_threshold, false);
    let own = repeat_counts(&truth, &own_links);
    writeln!(
        w,
        "  filings, candidates = LSH ∪ the petitioner's own earlier filings: TP {} FP {} FN {} → precision {:.4} recall {:.4}",
        own.tp,
        own.fp,
        own.fn_,
        own.precision(),
        own.recall()
    )
    .ok();
    let pairs = pair_counts(&corpus, &run, true, |c| scoring.decide_repeat(&rescored(&scoring, c), &c.cues));
    writeln!(
        w,
        "  pairs (same petitioner): TP {} FP {} FN {} → precision {:.4} recall {:.4}",
        pairs.tp,
        pairs.fp,
        pairs.fn_,
        pairs.precision(),
        pairs.recall()
    )
    .ok();
    // Per kind.
    writeln!(w, "  recall by kind of repeat:").ok();
    for kind in REPEAT_KINDS {
        let (mut n, mut hit, mut lsh) = (0, 0, 0);
        for (i, f) in corpus.filings.iter().enumerate() {
            if f.kind != kind || !truth[i] {
                continue;
            }
            n += 1;
            if matches!(links[i], Some((true, ..))) {
                hit += 1;
            }
            if run.candidates[i].iter().any(|c| c.via_lsh && c.same_petitioner && c.same_matter) {
                lsh += 1;
            }
        }
        writeln!(
            w,
            "    {:<12} {hit:>5}/{n:<5} = {:.4}   (an earlier filing of the matter among LSH candidates: {:.4})",
            kind.name(),
            hit as f64 / n.max(1) as f64,
            lsh as f64 / n.max(1) as f64
        )
        .ok();
    }
    let mut fp_by_kind: HashMap<Kind, usize> = HashMap::new();
    for (i, l) in links.iter().enumerate() {
        if let Some((false, ..)) = l {
            *fp_by_kind.entry(corpus.filings[i].kind).or_default() += 1;
        }
    }
    let mut fpk: Vec<_> = fp_by_kind.into_iter().collect();
    fpk.sort();
    writeln!(
        w,
        "  false links by kind of the filing: {}",
        if fpk.is_empty() {
            "none".to_owned()
        } else {
            fpk.iter().map(|(k, n)| format!("{} {n}", k.name())).collect::<Vec<_>>().join(" · ")
        }
    )
    .ok();
    let hn: usize = corpus.filings.iter().filter(|f| matches!(f.kind, Kind::Twin | Kind::OtherMatter)).count();
    let hn_same: usize = corpus
        .filings
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            matches!(f.kind, Kind::Twin | Kind::OtherMatter)
                && run.candidates[*i].iter().any(|c| c.via_lsh && c.same_petitioner)
        })
        .count();
    writeln!(w, "  hard negatives filed: {hn} ({hn_same} with a same-petitioner LSH candidate)").ok();

    // Related (different petitioners).
    let rel = pair_counts(&corpus, &run, false, |c| scoring.decide_related(&rescored(&scoring, c), &c.cues));
    writeln!(
        w,
        "\nRELATED decision (same matter, other petitioner), pairs: TP {} FP {} FN {} → precision {:.4} recall {:.4}",
        rel.tp,
        rel.fp,
        rel.fn_,
        rel.precision(),
        rel.recall()
    )
    .ok();

    // recall@5 of FindSimilarCases.
    writeln!(w, "\nFindSimilarCases recall@5 (the source filing among the top 5 by rank score):").ok();
    let (mut all_n, mut all_hit) = (0, 0);
    for kind in REPEAT_KINDS.iter().copied().chain([Kind::Related]) {
        let (mut n, mut hit, mut hit1) = (0, 0, 0);
        for (i, f) in corpus.filings.iter().enumerate() {
            let (true, Some(src)) = (f.kind == kind, f.source) else { continue };
            n += 1;
            let mut ranked: Vec<(f32, usize)> = run.candidates[i]
                .iter()
                .filter(|c| c.via_lsh)
                .map(|c| (scoring.rank(&rescored(&scoring, c), &c.cues), c.filing))
                .collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            if ranked.iter().take(5).any(|(_, j)| *j == src) {
                hit += 1;
            }
            if ranked.first().is_some_and(|(_, j)| *j == src) {
                hit1 += 1;
            }
        }
        all_n += n;
        all_hit += hit;
        writeln!(
            w,
            "    {:<26} {hit:>5}/{n:<5} = {:.4}  (top 1: {:.4})",
            kind.name(),
            hit as f64 / n.max(1) as f64,
            hit1 as f64 / n.max(1) as f64
        )
        .ok();
    }
    writeln!(w, "    {:<26} {all_hit:>5}/{all_n:<5} = {:.4}", "all", all_hit as f64 / all_n.max(1) as f64).ok();

    // LSH and cost.
    let c = &run.candidate_counts;
    writeln!(w, "\nLSH candidates per filing (against the earlier filings, {} at the end): mean {:.1} p50 {} p90 {} p99 {} max {} — mean {:.3}% of the stored filings at the end",
        corpus.filings.len(), c.mean(), pct(c, 0.5), pct(c, 0.9), pct(c, 0.99), c.max(),
        100.0 * run.candidates.iter().enumerate().skip(corpus.filings.len() * 9 / 10).map(|(i, cs)| cs.len() as f64 / i.max(1) as f64).sum::<f64>() / (corpus.filings.len() / 10).max(1) as f64).ok();
    writeln!(
        w,
        "fingerprint per text (µs, {}): p50 {} p99 {} max {} · re-ranking per filing (µs): p50 {} p99 {} max {}",
        if cfg!(debug_assertions) { "DEBUG build" } else { "release" },
        pct(&run.fingerprint_us, 0.5),
        pct(&run.fingerprint_us, 0.99),
        run.fingerprint_us.max(),
        pct(&run.rerank_us, 0.5),
        pct(&run.rerank_us, 0.99),
        run.rerank_us.max()
    )
    .ok();
    let s = &run.storage_bytes;
    writeln!(
        w,
        "storage per case: fingerprint (encoded) mean {:.0} B p50 {} p99 {} max {}; band index rows {:.1} per case",
        s.mean(),
        pct(s, 0.5),
        pct(s, 0.99),
        s.max(),
        run.band_rows as f64 / corpus.filings.len() as f64
    )
    .ok();
    writeln!(
        w,
        "S-curve of {} bands × {} rows: P(candidate | s) = {}",
        params.banding.bands,
        params.banding.rows,
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8]
            .iter()
            .map(|s| format!("s={s}: {:.3}", params.banding.collision_probability(*s)))
            .collect::<Vec<_>>()
            .join(" · ")
    )
    .ok();

    if args.lsh_grid {
        lsh_grid(&corpus, &run, w);
    }
    if args.sweep {
        writeln!(w, "\nSWEEP of the repeat threshold (filing level):").ok();
        for t in (10..=80).step_by(2).map(|t| t as f32 / 100.0) {
            let l = repeat_links(&run, |c| scoring.content(&c.sim), t, true);
            let k = repeat_counts(&truth, &l);
            let r = pair_counts(&corpus, &run, false, |c| scoring.content(&c.sim) >= t);
            writeln!(
                w,
                "  t={t:.2}  repeat P {:.4} R {:.4} F1 {:.4}  |  related P {:.4} R {:.4}",
                k.precision(),
                k.recall(),
                k.f1(),
                r.precision(),
                r.recall()
            )
            .ok();
        }
    }
    if args.errors > 0 {
        writeln!(w, "\nERRORS").ok();
        let mut shown_fp = 0;
        let mut shown_fn = 0;
        for (i, l) in links.iter().enumerate() {
            let f = &corpus.filings[i];
            match (truth[i], l) {
                (_, Some((false, s, j))) if shown_fp < args.errors => {
                    shown_fp += 1;
                    let c = run.candidates[i].iter().find(|c| c.filing == *j).expect("candidate");
                    writeln!(
                        w,
                        "FALSE LINK [{}] score {s:.3} {:?}\n  #{i}: {}\n  #{j}: {}",
                        f.kind.name(),
                        c.sim,
                        f.text,
                        corpus.filings[*j].text
                    )
                    .ok();
                }
                (true, None) if shown_fn < args.errors => {
                    shown_fn += 1;
                    let best = run.candidates[i]
                        .iter()
                        .filter(|c| c.same_petitioner && c.same_matter)
                        .max_by(|a, b| a.sim.content.total_cmp(&b.sim.content));
                    let src = f.source.map(|s| corpus.filings[s].text.clone()).unwrap_or_default();
                    writeln!(
                        w,
                        "MISSED [{}] best true candidate {:?}\n  #{i}: {}\n  source: {}",
                        f.kind.name(),
                        best.map(|c| c.sim),
                        f.text,
                        src
                    )
                    .ok();
                }
                _ => {}
            }
        }
    }
    print!("{out}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_threshold_maximizes_f1() {
        // Three true links scored high, one false link scored low, one repeat never linked.
        let scored = vec![(0.9, true), (0.8, true), (0.7, true), (0.3, false)];
        let (t, c) = best_threshold(scored, 4);
        assert!(t > 0.3 && t <= 0.7, "{t}");
        assert_eq!((c.tp, c.fp, c.fn_), (3, 0, 1));
    }
}
