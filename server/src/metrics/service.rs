//! `petition.v1.MetricsService`: the city's dashboard and the rows behind
//! each figure. Requests are parsed into a [`Request`] (field violations
//! for bad periods, days, breakdowns and formula versions), the policy
//! decides whose rows the caller reads, and one read-only snapshot counts.

use std::sync::Arc;

use chrono::NaiveDate;
use diesel::PgConnection;
use petition_proto::v1 as pb;
use petition_proto::v1::metrics_service_server::MetricsService;
use tonic::{Request, Response, Status};

use std::time::Duration;

use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};

use super::projection;
use super::rules::{self, Figure, Formula, Metric, Period, PeriodSpec, Source};
use super::store::{self, Breakdown, Query};
use crate::auth::policy;
use crate::auth::{Principal, require_principal};
use crate::config::NotRatedPolicy;
use crate::directory::store as directory_store;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::mediation::draft::optional_date;
use crate::state::AppState;

/// Bytes of CSV per streamed chunk (at most, but for one long line).
const CHUNK_BYTES: usize = 64 * 1024;

pub struct MetricsApi {
    state: Arc<AppState>,
}

impl MetricsApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// A validated request: where, when, as of when.
struct Asked {
    region_code: String,
    period: Period,
    as_of: NaiveDate,
}

fn period_spec(raw: Option<&pb::MetricPeriod>, v: &mut Vec<FieldViolation>) -> Option<PeriodSpec> {
    use pb::metric_period::Period as P;
    match raw.and_then(|p| p.period.as_ref()) {
        None => {
            v.push(FieldViolation::new("period", "is required: a month, quarter, year or range"));
            None
        }
        Some(P::Month(m)) => Some(PeriodSpec::Month(m.clone())),
        Some(P::Quarter(q)) => Some(PeriodSpec::Quarter(q.clone())),
        Some(P::Year(y)) => Some(PeriodSpec::Year(*y)),
        Some(P::Range(r)) => {
            let mut day = |field: &str, raw: &str| {
                if raw.is_empty() {
                    v.push(FieldViolation::new(field, "is required"));
                }
                optional_date(field, raw, v)
            };
            let start = day("period.range.start_date", &r.start_date);
            let end = day("period.range.end_date", &r.end_date);
            // A day already reported is not reported again by the range's check.
            (start.is_some() && end.is_some()).then_some(PeriodSpec::Range { start, end })
        }
    }
}

/// The region, period and as-of day of a request; the caller's
/// jurisdiction's root when no region is named.
fn asked(
    principal: &Principal,
    region_code: &str,
    period: Option<&pb::MetricPeriod>,
    as_of: &str,
    v: &mut Vec<FieldViolation>,
) -> Option<Asked> {
    let today = crate::time::shanghai_today();
    let spec = period_spec(period, v);
    let as_of_day = optional_date("as_of_date", as_of, v);
    if as_of_day.is_some_and(|d| d > today) {
        v.push(FieldViolation::new("as_of_date", "must not be after today"));
    }
    let period = match spec.as_ref().map(rules::period) {
        Some(Ok(p)) => Some(p),
        Some(Err((field, description))) => {
            v.push(FieldViolation::new(field, description));
            None
        }
        None => None,
    };
    let region_code = if region_code.is_empty() {
        match principal.jurisdiction.as_deref().and_then(|p| p.rsplit('/').next()) {
            Some(code) => code.to_owned(),
            None => {
                v.push(FieldViolation::new("region_code", "is required for a caller without a jurisdiction"));
                String::new()
            }
        }
    } else if region_code.len() > 32 {
        v.push(FieldViolation::new("region_code", "must be a region code"));
        String::new()
    } else {
        region_code.to_owned()
    };
    Some(Asked { region_code, period: period?, as_of: as_of_day.unwrap_or(today) })
}

fn breakdown(raw: i32, v: &mut Vec<FieldViolation>) -> Breakdown {
    match pb::MetricBreakdown::try_from(raw) {
        Ok(pb::MetricBreakdown::Unspecified | pb::MetricBreakdown::None) => Breakdown::None,
        Ok(pb::MetricBreakdown::ChildRegion) => Breakdown::ChildRegion,
        Ok(pb::MetricBreakdown::Category) => Breakdown::Category,
        Ok(pb::MetricBreakdown::HandlingOrganization) => Breakdown::HandlingOrganization,
        Ok(pb::MetricBreakdown::Channel) => Breakdown::Channel,
        Ok(pb::MetricBreakdown::Month) => Breakdown::Month,
        Err(_) => {
            v.push(FieldViolation::new("breakdown", "must be a breakdown"));
            Breakdown::None
        }
    }
}

/// Every metric's formula: the latest unless `choices` names a version.
fn formulas(choices: &[pb::FormulaChoice], v: &mut Vec<FieldViolation>) -> Vec<&'static Formula> {
    let mut chosen: Vec<(Metric, i32)> = Vec::new();
    if choices.len() > Metric::ALL.len() {
        v.push(FieldViolation::new("formulas", "names a metric at most once"));
        return Vec::new();
    }
    for (i, c) in choices.iter().enumerate() {
        match Metric::from_i32(c.metric) {
            None => v.push(FieldViolation::new(format!("formulas[{i}].metric"), "must be a metric")),
            Some(m) if chosen.iter().any(|(k, _)| *k == m) => {
                v.push(FieldViolation::new(format!("formulas[{i}].metric"), "is named twice"))
            }
            Some(m) if c.version < 1 || rules::formula(m, c.version).is_none() => v.push(FieldViolation::new(
                format!("formulas[{i}].version"),
                "must be a version of the metric's formula",
            )),
            Some(m) => chosen.push((m, c.version)),
        }
    }
    Metric::ALL
        .iter()
        .filter_map(|m| {
            let version = chosen.iter().find(|(k, _)| k == m).map(|(_, v)| *v).unwrap_or(0);
            rules::formula(*m, version)
        })
        .collect()
}

/// The query of a validated request: the region looked up, the policy
/// asked (NOT a region: INVALID_ARGUMENT; outside the jurisdiction:
/// PERMISSION_DENIED), whose rows decided.
fn query(
    conn: &mut PgConnection,
    principal: &Principal,
    asked: &Asked,
    cessation_days: u32,
) -> Result<Query, AppError> {
    let root = directory_store::find_region(conn, &asked.region_code)?
        .ok_or_else(|| AppError::invalid("region_code", "no such region"))?;
    let reach = policy::authorize_metrics(principal, &root.path)?;
    Ok(Query {
        root: root.path,
        root_code: root.code,
        reach,
        period: asked.period,
        as_of: asked.as_of,
        cessation_days: i32::try_from(cessation_days).unwrap_or(i32::MAX),
    })
}

fn figure_message(f: &Figure) -> pb::Figure {
    pb::Figure {
        metric: f.formula.metric as i32,
        formula_id: f.formula.id.to_owned(),
        formula_version: f.formula.version,
        available: f.available,
        numerator: f.numerator,
        denominator: f.denominator,
        value: if f.available { f.value() } else { 0.0 },
        display: if f.available { f.display() } else { String::new() },
    }
}

fn wire_breakdown(b: Breakdown) -> pb::MetricBreakdown {
    match b {
        Breakdown::None => pb::MetricBreakdown::None,
        Breakdown::ChildRegion => pb::MetricBreakdown::ChildRegion,
        Breakdown::Category => pb::MetricBreakdown::Category,
        Breakdown::HandlingOrganization => pb::MetricBreakdown::HandlingOrganization,
        Breakdown::Channel => pb::MetricBreakdown::Channel,
        Breakdown::Month => pb::MetricBreakdown::Month,
    }
}

/// One CSV field (quoted when it holds a comma, quote or line break).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// The export's CSV, cut into chunks of about [`CHUNK_BYTES`] on line ends.
pub struct Csv {
    metric: &'static str,
    current: String,
}

impl Csv {
    pub fn new(metric: &'static str) -> Csv {
        Csv { metric, current: String::from("case_number,metric,in_numerator,in_denominator,fact\n") }
    }

    /// Adds `rows`; returns the chunks that filled up.
    pub fn extend(&mut self, rows: &[store::ExportRow]) -> Vec<Vec<u8>> {
        let mut full = Vec::new();
        for row in rows {
            let line = format!(
                "{},{},{},{},{}\n",
                csv_field(&row.number),
                self.metric,
                u8::from(row.in_numerator),
                u8::from(row.in_denominator),
                csv_field(&row.fact)
            );
            if self.current.len() + line.len() > CHUNK_BYTES && !self.current.is_empty() {
                full.push(std::mem::take(&mut self.current).into_bytes());
            }
            self.current.push_str(&line);
        }
        full
    }

    /// What is left (possibly empty).
    pub fn finish(self) -> Vec<u8> {
        self.current.into_bytes()
    }
}

type Chunks = std::pin::Pin<Box<dyn Stream<Item = Result<pb::ExportMetricRowsResponse, Status>> + Send>>;

/// The follower's position, once the projections are counted with this
/// server's definitions (until then: UNAVAILABLE, retry).
fn counted_through(conn: &mut PgConnection, cessation_days: i32) -> Result<i64, AppError> {
    let state = projection::state(conn)?;
    if !state.current(cessation_days) {
        return Err(AppError::Warming {
            what: "the metrics' count of the event log",
            retry_after: Duration::from_secs(5),
        });
    }
    Ok(state.position)
}

#[tonic::async_trait]
impl MetricsService for MetricsApi {
    async fn get_metrics(
        &self,
        request: Request<pb::GetMetricsRequest>,
    ) -> Result<Response<pb::GetMetricsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let mut v = Vec::new();
        let asked = asked(&principal, &req.region_code, req.period.as_ref(), &req.as_of_date, &mut v);
        let breakdown = breakdown(req.breakdown, &mut v);
        let formulas = formulas(&req.formulas, &mut v);
        require_valid(v)?;
        let asked = asked.ok_or_else(|| AppError::invalid("period", "is required"))?;
        let cessation_days = self.state.metrics.metrics_cessation_days;
        let not_rated_satisfied = self.state.ratings.not_rated_policy == NotRatedPolicy::Satisfied;
        let response = self
            .state
            .db
            .read_snapshot(move |conn| {
                let q = query(conn, &principal, &asked, cessation_days)?;
                let counted = counted_through(conn, q.cessation_days)?;
                let found = store::dashboard(conn, &q, &formulas, breakdown)?;
                Ok(pb::GetMetricsResponse {
                    region_code: q.root_code.clone(),
                    start_date: q.period.start.to_string(),
                    end_date: q.period.end.to_string(),
                    as_of_date: q.as_of.to_string(),
                    breakdown: wire_breakdown(breakdown) as i32,
                    total: Some(pb::MetricGroup {
                        key: String::new(),
                        figures: found.total.iter().map(figure_message).collect(),
                    }),
                    groups: found
                        .groups
                        .iter()
                        .map(|(key, figures)| pb::MetricGroup {
                            key: key.clone(),
                            figures: figures.iter().map(figure_message).collect(),
                        })
                        .collect(),
                    cessation_days: q.cessation_days,
                    counted_through: counted,
                    not_rated_counted_as_satisfied: not_rated_satisfied,
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    type ExportMetricRowsStream = Chunks;

    async fn export_metric_rows(
        &self,
        request: Request<pb::ExportMetricRowsRequest>,
    ) -> Result<Response<Self::ExportMetricRowsStream>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let mut v = Vec::new();
        let asked = asked(&principal, &req.region_code, req.period.as_ref(), &req.as_of_date, &mut v);
        let formula = match Metric::from_i32(req.metric) {
            None => {
                v.push(FieldViolation::new("metric", "must be a metric"));
                None
            }
            Some(_) if req.formula_version < 0 => {
                v.push(FieldViolation::new("formula_version", "must be a version of the metric's formula"));
                None
            }
            Some(m) => match rules::formula(m, req.formula_version) {
                None => {
                    v.push(FieldViolation::new("formula_version", "must be a version of the metric's formula"));
                    None
                }
                Some(f) if f.source == Source::Unavailable => {
                    v.push(FieldViolation::new("metric", "is not available yet"));
                    None
                }
                Some(f) if f.source == Source::Mediation => {
                    v.push(FieldViolation::new("metric", "is exported by the mediation statistics"));
                    None
                }
                Some(f) if matches!(f.source, Source::LegalAid(_)) => {
                    v.push(FieldViolation::new("metric", "counts legal-aid applications, which have no case rows"));
                    None
                }
                Some(f) => Some(f),
            },
        };
        require_valid(v)?;
        let (asked, formula) = match (asked, formula) {
            (Some(a), Some(f)) => (a, f),
            _ => return Err(AppError::invalid("period", "is required").into()),
        };
        let cessation_days = self.state.metrics.metrics_cessation_days;
        let (sender, receiver) = tokio::sync::mpsc::channel(2);
        let db = self.state.db.clone();
        // The stream outlives the call: the export reads one snapshot
        // through a cursor and sends its pages as the client takes them.
        tokio::spawn(async move {
            let errors = sender.clone();
            let exported = db
                .read_snapshot(move |conn| {
                    let q = query(conn, &principal, &asked, cessation_days)?;
                    counted_through(conn, q.cessation_days)?;
                    let mut csv = Csv::new(formula.id);
                    store::export(conn, &q, formula, |rows| {
                        csv.extend(&rows).into_iter().all(|chunk| sender.blocking_send(Ok(chunk)).is_ok())
                    })?;
                    // An empty export still sends its header.
                    let _ = sender.blocking_send(Ok(csv.finish()));
                    Ok(())
                })
                .await;
            if let Err(e) = exported {
                let _ = errors.send(Err(e.into())).await;
            }
        });
        let chunks = ReceiverStream::new(receiver).map(|c| c.map(|csv| pb::ExportMetricRowsResponse { csv }));
        Ok(Response::new(Box::pin(chunks)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_chunks_on_line_ends() {
        let row = |n: &str, fact: &str| store::ExportRow {
            number: n.into(),
            in_numerator: true,
            in_denominator: false,
            fact: fact.into(),
        };
        let mut csv = Csv::new("filings");
        assert!(csv.extend(&[row("360702-2026-1", "a, \"b\"")]).is_empty());
        assert_eq!(
            String::from_utf8(csv.finish()).ok(),
            Some(
                "case_number,metric,in_numerator,in_denominator,fact\n360702-2026-1,filings,1,0,\"a, \"\"b\"\"\"\n"
                    .into()
            )
        );
        let many: Vec<store::ExportRow> =
            (0..5000).map(|i| row(&format!("360702-2026-{i}"), "filed 2026-01-01")).collect();
        let mut csv = Csv::new("filings");
        let mut chunks = csv.extend(&many);
        chunks.extend(csv.extend(&many));
        chunks.push(csv.finish());
        assert!(chunks.len() > 1);
        assert!(chunks.iter().all(|c| c.len() <= CHUNK_BYTES && c.ends_with(b"\n")));
        let lines = String::from_utf8(chunks.concat()).unwrap_or_default().lines().count();
        assert_eq!(lines, 10_001);
    }
}
