//! `GET /metrics` in the OpenMetrics text format, on the address of
//! `--metrics-listen`: a listener of its own, so that the gRPC port never
//! exposes it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use super::Telemetry;
use crate::state::AppState;

/// What a scrape needs.
#[derive(Clone)]
struct Scrape {
    telemetry: Arc<Telemetry>,
    state: Arc<AppState>,
}

/// The OpenMetrics text format, which `prometheus-client` writes and
/// Prometheus reads.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves `/metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, telemetry: Arc<Telemetry>, state: Arc<AppState>) {
    let app = axum::Router::new().route("/metrics", get(scrape)).with_state(Scrape { telemetry, state });
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!(error = %e, "the metrics endpoint stopped");
    }
}

async fn scrape(State(scrape): State<Scrape>) -> impl IntoResponse {
    // A reading that fails (the database down) leaves the last values: the
    // call counts are what an operator needs most then.
    if let Err(e) = scrape.telemetry.readings.take(&scrape.state).await {
        tracing::debug!(error = %e, "metrics: readings not taken");
    }
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &scrape.telemetry.registry) {
        Ok(()) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
