//! Alternating rounds of a mode on and off (on-off, off-on, …): the ratios
//! of each round's pair of phases, and their median and spread.

use crate::budget::Budget;
use crate::phase::Phase;

/// One round: its on and its off phase.
pub struct Pair {
    /// 1-based.
    pub round: usize,
    pub on_first: bool,
    pub on_rate: f64,
    pub off_rate: f64,
    /// Server + PostgreSQL core-ms per call.
    pub on_cost: Option<f64>,
    pub off_cost: Option<f64>,
}

impl Pair {
    /// Throughput on / off.
    pub fn rate_ratio(&self) -> Option<f64> {
        (self.off_rate > 0.0).then(|| self.on_rate / self.off_rate)
    }

    /// Cost per call off / on: the throughput ratio the cost alone predicts
    /// on a machine the call saturates.
    pub fn cost_ratio(&self) -> Option<f64> {
        let (on, off) = (self.on_cost?, self.off_cost?);
        (on > 0.0).then(|| off / on)
    }
}

/// The rounds' pairs: phase `i` of `on` with phase `i` of `off`; round `i`
/// ran on first when `i` is even.
pub fn pairs(on: &[Phase], off: &[Phase]) -> Vec<Pair> {
    let cost = |phase: &Phase| Budget::of(phase).and_then(|b| b.server_and_postgres());
    on.iter()
        .zip(off)
        .enumerate()
        .map(|(i, (on, off))| Pair {
            round: i + 1,
            on_first: i % 2 == 0,
            on_rate: on.throughput(),
            off_rate: off.throughput(),
            on_cost: cost(on),
            off_cost: cost(off),
        })
        .collect()
}

/// Median, smallest and largest of some values.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Spread {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => values[n / 2],
            _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        };
        Some(Spread { median, min: values[0], max: values[n - 1], n })
    }

    /// `median 81.2% (73.0–88.1%, 6 rounds)`.
    pub fn percent(&self) -> String {
        format!(
            "median {:.1}% (range {:.1}–{:.1}%, {} round{})",
            self.median * 100.0,
            self.min * 100.0,
            self.max * 100.0,
            self.n,
            if self.n == 1 { "" } else { "s" }
        )
    }

    pub fn json(&self) -> serde_json::Value {
        let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
        serde_json::json!({"median": round(self.median), "min": round(self.min), "max": round(self.max), "rounds": self.n})
    }
}

/// One line per round.
pub fn lines(pairs: &[Pair]) -> Vec<String> {
    let cell = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or("n/a".to_owned(), f);
    pairs
        .iter()
        .map(|p| {
            format!(
                "round {} ({}): calls/s on {:.1}, off {:.1}, on/off {}; server + PostgreSQL core-ms per filing on \
                 {}, off {}, off/on {}",
                p.round,
                if p.on_first { "on-off" } else { "off-on" },
                p.on_rate,
                p.off_rate,
                cell(p.rate_ratio(), &|r| format!("{:.1}%", r * 100.0)),
                cell(p.on_cost, &|c| format!("{c:.3}")),
                cell(p.off_cost, &|c| format!("{c:.3}")),
                cell(p.cost_ratio(), &|r| format!("{:.1}%", r * 100.0)),
            )
        })
        .collect()
}

pub fn json(pairs: &[Pair]) -> serde_json::Value {
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    serde_json::json!({
        "pairs": pairs.iter().map(|p| serde_json::json!({
            "round": p.round,
            "order": if p.on_first { "on-off" } else { "off-on" },
            "on_calls_per_second": round(p.on_rate),
            "off_calls_per_second": round(p.off_rate),
            "on_server_postgres_core_ms": p.on_cost.map(round),
            "off_server_postgres_core_ms": p.off_cost.map(round),
            "on_off_ratio": p.rate_ratio().map(round),
            "cost_off_on_ratio": p.cost_ratio().map(round),
        })).collect::<Vec<_>>(),
        "on_off_ratio": Spread::of(pairs.iter().filter_map(Pair::rate_ratio)).map(|s| s.json()),
        "cost_off_on_ratio": Spread::of(pairs.iter().filter_map(Pair::cost_ratio)).map(|s| s.json()),
    })
}
