//! Per-RPC request counts by gRPC status code and latency histograms: a
//! tower layer inside gRPC-Web's (so browser calls count as what they
//! are), reading the status from the response headers (a trailers-only
//! answer) or from the trailers at the end of the body. A call whose body
//! is dropped before its end counts as CANCELLED.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::HeaderMap;
use http_body::{Body, Frame};
use prometheus::encoding::EncodeLabelSet;
use prometheus::metrics::counter::Counter;
use prometheus::metrics::family::Family;
use prometheus::metrics::histogram::Histogram;
use prometheus::registry::Registry;
use prometheus_client as prometheus;
use prost::Message;
use tonic::Code;

/// Latency buckets, seconds: 0.5 ms to 30 s.
const BUCKETS: [f64; 15] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// A path no service serves: counted under one label, so that a caller
/// sending made-up paths cannot grow the label set.
const OTHER: &str = "other";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: String,
}

type HistogramFamily = Family<MethodLabels, Histogram, fn() -> Histogram>;

/// The calls' counters and histograms, and the methods they may name.
pub struct RpcMetrics {
    calls: Family<CallLabels, Counter>,
    latency: HistogramFamily,
    methods: HashSet<String>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

impl RpcMetrics {
    pub fn register(registry: &mut Registry) -> RpcMetrics {
        let calls = Family::<CallLabels, Counter>::default();
        registry.register("rpc_calls", "Calls by method and gRPC status code", calls.clone());
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "rpc_duration_seconds",
            "Calls' latency by method, to the end of the response",
            latency.clone(),
        );
        RpcMetrics { calls, latency, methods: served_methods() }
    }

    fn label(&self, path: &str) -> String {
        if self.methods.contains(path) { path.to_owned() } else { OTHER.to_owned() }
    }

    fn record(&self, method: String, code: Code, started: Instant) {
        self.latency.get_or_create(&MethodLabels { method: method.clone() }).observe(started.elapsed().as_secs_f64());
        self.calls.get_or_create(&CallLabels { method, code: code_name(code).to_owned() }).inc();
    }
}

/// Every `/package.Service/Method` path the server serves: the contract's,
/// health's and reflection's.
fn served_methods() -> HashSet<String> {
    let mut methods = HashSet::new();
    for set in [petition_proto::FILE_DESCRIPTOR_SET, tonic_health::pb::FILE_DESCRIPTOR_SET] {
        let Ok(set) = prost_types::FileDescriptorSet::decode(set) else { continue };
        for file in set.file {
            for service in &file.service {
                for method in &service.method {
                    methods.insert(format!("/{}.{}/{}", file.package(), service.name(), method.name()));
                }
            }
        }
    }
    for package in ["grpc.reflection.v1", "grpc.reflection.v1alpha"] {
        methods.insert(format!("/{package}.ServerReflection/ServerReflectionInfo"));
    }
    methods
}

/// The status code's name as gRPC spells it (`NOT_FOUND`).
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The status in `headers`, if they carry one.
fn status_of(headers: &HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?;
    Some(value.to_str().ok().and_then(|v| v.parse::<i32>().ok()).map_or(Code::Unknown, Code::from_i32))
}

/// A call not yet counted; counted CANCELLED if dropped so.
struct Pending {
    metrics: Arc<RpcMetrics>,
    method: String,
    started: Instant,
    counted: bool,
}

impl Pending {
    fn count(&mut self, code: Code) {
        if !self.counted {
            self.counted = true;
            self.metrics.record(std::mem::take(&mut self.method), code, self.started);
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.count(Code::Cancelled);
    }
}

pin_project_lite::pin_project! {
    /// A response body that counts its call at its end.
    pub struct CountedBody<B> {
        #[pin]
        inner: B,
        pending: Pending,
    }
}

impl<B: Body> Body for CountedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    this.pending.count(status_of(trailers).unwrap_or(Code::Unknown));
                }
            }
            // The stream broke: the client sees no status.
            Poll::Ready(Some(Err(_))) => this.pending.count(Code::Unknown),
            // Ended without trailers: no status either.
            Poll::Ready(None) => this.pending.count(Code::Unknown),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Counts every call of the service it wraps.
#[derive(Clone)]
pub struct RpcMetricsLayer {
    metrics: Arc<RpcMetrics>,
}

impl RpcMetricsLayer {
    pub fn new(metrics: Arc<RpcMetrics>) -> RpcMetricsLayer {
        RpcMetricsLayer { metrics }
    }
}

impl<S> tower::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetricsService { inner, metrics: self.metrics.clone() }
    }
}

#[derive(Clone)]
pub struct RpcMetricsService<S> {
    inner: S,
    metrics: Arc<RpcMetrics>,
}

impl<S, Req, B> tower::Service<http::Request<Req>> for RpcMetricsService<S>
where
    S: tower::Service<http::Request<Req>, Response = http::Response<B>>,
    S::Future: Send + 'static,
    B: Body,
{
    type Response = http::Response<CountedBody<B>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Req>) -> Self::Future {
        let mut pending = Pending {
            method: self.metrics.label(request.uri().path()),
            metrics: self.metrics.clone(),
            started: Instant::now(),
            counted: false,
        };
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = match response.await {
                Ok(response) => response,
                Err(e) => {
                    pending.count(Code::Unknown);
                    return Err(e);
                }
            };
            if let Some(code) = status_of(response.headers()) {
                pending.count(code);
            }
            Ok(response.map(|inner| CountedBody { inner, pending }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_served_methods_are_labels() {
        let metrics = RpcMetrics::register(&mut Registry::default());
        assert_eq!(metrics.label("/petition.v1.CaseService/GetCase"), "/petition.v1.CaseService/GetCase");
        assert_eq!(metrics.label("/grpc.health.v1.Health/Check"), "/grpc.health.v1.Health/Check");
        assert_eq!(metrics.label("/petition.v1.CaseService/NoSuchMethod"), OTHER);
        assert_eq!(metrics.label("/x"), OTHER);
    }

    #[test]
    fn statuses_are_read_from_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(status_of(&headers), None);
        headers.insert("grpc-status", http::HeaderValue::from_static("5"));
        assert_eq!(status_of(&headers), Some(Code::NotFound));
        headers.insert("grpc-status", http::HeaderValue::from_static("x"));
        assert_eq!(status_of(&headers), Some(Code::Unknown));
        assert_eq!(code_name(Code::NotFound), "NOT_FOUND");
    }
}
