//! Pair-level evaluation over all same-user pairs: the board corpus
//! (`--corpus board`) and an external labelled file (`--file`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Instant;

use hdrhistogram::Histogram;
use petition_server::similarity::{Cues, DocFreqTable, Fingerprinter, Scoring, Similarity};
use petition_tests::board_texts::{self, Phenomenon};

use super::Counts;

/// One message of a labelled set.
pub struct Message {
    pub user: String,
    pub text: String,
    /// Sort key (file order when absent).
    pub time: String,
    pub matters: Vec<String>,
    /// Phenomena, for the generated corpus.
    pub tags: Vec<Phenomenon>,
}

/// The board corpus of `users` users.
pub fn board(users: usize, seed: u64) -> Vec<Message> {
    let corpus = board_texts::generate(users, seed);
    corpus
        .letters
        .iter()
        .map(|l| Message {
            user: l.user.to_string(),
            text: l.text(),
            time: format!("{:08}", l.day),
            matters: l.matters.iter().map(|m| m.to_string()).collect(),
            tags: Phenomenon::ALL.into_iter().filter(|p| l.has(*p)).collect(),
        })
        .collect()
}

/// Reads a JSON-lines file: `user`, `text` (or `subject` and `body`),
/// optional `time`, and `matter` (a string, number, or list of them).
pub fn read_file(path: &str) -> Result<Vec<Message>, String> {
    let data = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Vec::new();
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    for (n, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("{path}:{}: {e}", n + 1))?;
        let field = |k: &str| v.get(k).and_then(scalar);
        let user = field("user").ok_or_else(|| format!("{path}:{}: no `user`", n + 1))?;
        let text = match field("text") {
            Some(t) => t,
            None => format!("{}\n{}", field("subject").unwrap_or_default(), field("body").unwrap_or_default()),
        };
        let matters = match v.get("matter") {
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(scalar).collect(),
            Some(m) => scalar(m).into_iter().collect(),
            None => Vec::new(),
        };
        if matters.is_empty() {
            return Err(format!("{path}:{}: no `matter`", n + 1));
        }
        let time = field("time").unwrap_or_else(|| format!("{n:010}"));
        out.push(Message { user, text, time, matters, tags: Vec::new() });
    }
    out.sort_by(|a, b| a.time.cmp(&b.time));
    Ok(out)
}

/// Character 3-grams of `text` without whitespace.
fn trigrams(text: &str) -> HashSet<[char; 3]> {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    chars.windows(3).map(|w| [w[0], w[1], w[2]]).collect()
}

fn jaccard(a: &HashSet<[char; 3]>, b: &HashSet<[char; 3]>) -> f32 {
    let shared = a.intersection(b).count();
    let union = a.len() + b.len() - shared;
    if union == 0 { 0.0 } else { shared as f32 / union as f32 }
}

/// The plain baseline of the issue.
pub const BASELINE_JACCARD: f32 = 0.13;

struct Pair {
    later: usize,
    earlier: usize,
    truth: bool,
    sim: Similarity,
    trigram: f32,
}

/// Scores every same-user pair (the later message as the query, as at
/// filing) and prints precision and recall, per phenomenon when tagged.
pub fn evaluate(
    messages: &[Message],
    fingerprinter: &Fingerprinter,
    scoring: &Scoring,
    errors: usize,
    sweep: bool,
    w: &mut String,
) {
    // Document frequencies over the set itself: the stored cases.
    let mut stats = DocFreqTable::new();
    let plain: Vec<_> =
        messages.iter().map(|m| fingerprinter.fingerprint(&m.text, &petition_server::similarity::NoStats)).collect();
    for f in &plain {
        stats.add_document(f.shingles.iter().chain(&f.specifics).copied());
    }
    let hist = || Histogram::<u64>::new(3).expect("histogram");
    let (mut fingerprint_us, mut rerank_us) = (hist(), hist());
    let analyses: Vec<_> = messages
        .iter()
        .map(|m| {
            let t = Instant::now();
            let a = fingerprinter.analyze(&m.text, &stats);
            fingerprint_us.record(t.elapsed().as_micros() as u64).ok();
            a
        })
        .collect();
    let grams: Vec<_> = messages.iter().map(|m| trigrams(&m.text)).collect();
    let mut by_user: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, m) in messages.iter().enumerate() {
        by_user.entry(&m.user).or_default().push(i);
    }
    let cues = Cues { same_petitioner: true, same_region: true, ..Cues::default() };
    let mut pairs = Vec::new();
    for list in by_user.values() {
        for (k, &later) in list.iter().enumerate() {
            let t = Instant::now();
            let prepared = scoring.prepare_analysis(&analyses[later]);
            for &earlier in &list[..k] {
                let sim = scoring.similarity(&prepared, &analyses[earlier].fingerprint, &stats);
                let truth = messages[later].matters.iter().any(|m| messages[earlier].matters.contains(m));
                pairs.push(Pair { later, earlier, truth, sim, trigram: jaccard(&grams[later], &grams[earlier]) });
            }
            if k > 0 {
                rerank_us.record(t.elapsed().as_micros() as u64 / k as u64).ok();
            }
        }
    }
    let users = by_user.len();
    let positives = pairs.iter().filter(|p| p.truth).count();
    writeln!(
        w,
        "{} messages · {users} users · {} same-user pairs, {positives} of one matter · df table over the set: {} entries",
        messages.len(),
        pairs.len(),
        stats.len()
    )
    .ok();
    let decide = |p: &Pair| scoring.decide_repeat(&p.sim, &cues);
    let base = |p: &Pair| p.trigram >= BASELINE_JACCARD;
    let tagged =
        |p: &Pair, ph: Phenomenon| messages[p.later].tags.contains(&ph) || messages[p.earlier].tags.contains(&ph);
    let row = |w: &mut String, name: &str, sel: &dyn Fn(&Pair) -> bool| {
        let (mut d, mut b, mut n, mut t) = (Counts::default(), Counts::default(), 0, 0);
        for p in pairs.iter().filter(|p| sel(p)) {
            n += 1;
            t += p.truth as usize;
            d.add(decide(p), p.truth);
            b.add(base(p), p.truth);
        }
        writeln!(
            w,
            "  {name:<26} {n:>7} {t:>6}   {:.3}  {:.3}  {:.3}   |  {:.3}  {:.3}",
            d.precision(),
            d.recall(),
            d.f1(),
            b.precision(),
            b.recall()
        )
        .ok();
    };
    writeln!(
        w,
        "\nREPEAT decision over same-user pairs (detector | plain 3-gram Jaccard ≥ {BASELINE_JACCARD}):\n  {:<26} {:>7} {:>6}   {:<5}  {:<5}  {:<5}   |  {:<5}  {:<5}",
        "pairs", "all", "same", "P", "R", "F1", "P", "R"
    )
    .ok();
    row(w, "all", &|_| true);
    if messages.iter().any(|m| !m.tags.is_empty()) {
        for ph in Phenomenon::ALL {
            row(w, ph.name(), &|p| tagged(p, ph));
        }
    }
    writeln!(
        w,
        "fingerprint per text (µs, {}): p50 {} p99 {} · scoring per pair (µs): p50 {} p99 {}",
        if cfg!(debug_assertions) { "DEBUG build" } else { "release" },
        fingerprint_us.value_at_quantile(0.5),
        fingerprint_us.value_at_quantile(0.99),
        rerank_us.value_at_quantile(0.5),
        rerank_us.value_at_quantile(0.99)
    )
    .ok();
    if sweep {
        writeln!(w, "\nSWEEP of the repeat threshold:").ok();
        for t in (10..=70).step_by(2).map(|t| t as f32 / 100.0) {
            let mut c = Counts::default();
            for p in &pairs {
                c.add(p.sim.content >= t, p.truth);
            }
            writeln!(w, "  t={t:.2}  P {:.4} R {:.4} F1 {:.4}", c.precision(), c.recall(), c.f1()).ok();
        }
    }
    if errors > 0 {
        let mut shown: HashMap<bool, usize> = HashMap::new();
        for p in &pairs {
            let d = decide(p);
            if d == p.truth {
                continue;
            }
            let n = shown.entry(d).or_default();
            if *n >= errors {
                continue;
            }
            *n += 1;
            let tags = |i: usize| messages[i].tags.iter().map(|t| t.name()).collect::<Vec<_>>().join(",");
            writeln!(
                w,
                "\n{} content {:.3} tj {:.2} tc {:.2} sj {:.2} sc {:.2} date_conflict {} 3gram {:.2}\n  [{}] {}\n  [{}] {}",
                if d { "FALSE ALARM" } else { "MISSED" },
                p.sim.content,
                p.sim.text_jaccard,
                p.sim.text_containment,
                p.sim.specifics_jaccard,
                p.sim.specifics_containment,
                p.sim.date_conflict,
                p.trigram,
                tags(p.later),
                messages[p.later].text.replace('\n', " / "),
                tags(p.earlier),
                messages[p.earlier].text.replace('\n', " / "),
            )
            .ok();
            let show_specifics =
                |i: usize| analyses[i].specifics.iter().map(|s| s.text.clone()).collect::<Vec<_>>().join(" ");
            writeln!(w, "  specifics: {} || {}", show_specifics(p.later), show_specifics(p.earlier)).ok();
        }
    }
}
