//! What an operator scrapes: a Prometheus text endpoint on an address of
//! its own (`--metrics-listen`, off by default), with per-RPC counts by
//! status code and latency histograms (`rpc`), and readings taken at each
//! scrape: the database pool and the blocking threads' queue, how far the
//! change feed's horizon is held back, the sweeper's lag and the band
//! index's size (`readings`). The exposition is `prometheus-client`'s.

pub mod endpoint;
pub mod readings;
pub mod rpc;

use std::sync::Arc;

use prometheus_client::registry::Registry;

pub use rpc::RpcMetricsLayer;

/// The registry and the metrics written as calls run.
pub struct Telemetry {
    registry: Registry,
    pub rpc: Arc<rpc::RpcMetrics>,
    readings: readings::Readings,
}

impl Telemetry {
    pub fn new() -> Telemetry {
        let mut registry = Registry::with_prefix("petition");
        let rpc = Arc::new(rpc::RpcMetrics::register(&mut registry));
        let readings = readings::Readings::register(&mut registry);
        Telemetry { registry, rpc, readings }
    }

    /// The layer counting this server's calls.
    pub fn layer(&self) -> RpcMetricsLayer {
        RpcMetricsLayer::new(self.rpc.clone())
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry::new()
    }
}
