//! How the trace layer logs a failed call: once, at the level its cause
//! deserves. A refused request (INVALID_ARGUMENT, NOT_FOUND,
//! UNAUTHENTICATED, PERMISSION_DENIED, FAILED_PRECONDITION, ALREADY_EXISTS,
//! ABORTED, …) is the caller's business: DEBUG. A server fault that the
//! server explained (its status carries this server's `ErrorInfo`) was
//! logged where it was raised, with its detail (`AppError` → `Status`, the
//! outage and overload logs, the time limit): DEBUG here too. A server fault
//! nobody explained (INTERNAL, UNKNOWN, DATA_LOSS, UNAVAILABLE from the
//! framework) is logged here, at WARN.

use http::{HeaderMap, Request, Response};
use tonic::Code;
use tower_http::classify::{ClassifiedResponse, ClassifyEos, ClassifyResponse, MakeClassifier};

/// A failed call, as the trace layer sees it.
#[derive(Debug)]
pub enum Failure {
    Status {
        code: Code,
        /// The status carries details (this server's `ErrorInfo`): it was
        /// logged where it was raised.
        explained: bool,
        message: String,
    },
    /// The service or the response body failed (a reset stream, say).
    Error(String),
}

/// Classifies calls by their gRPC status, from the response headers (a
/// trailers-only answer) or the trailers.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcOutcome;

impl MakeClassifier for GrpcOutcome {
    type Classifier = GrpcOutcome;
    type FailureClass = Failure;
    type ClassifyEos = GrpcOutcome;

    fn make_classifier<B>(&self, _: &Request<B>) -> Self::Classifier {
        GrpcOutcome
    }
}

impl ClassifyResponse for GrpcOutcome {
    type FailureClass = Failure;
    type ClassifyEos = GrpcOutcome;

    fn classify_response<B>(self, response: &Response<B>) -> ClassifiedResponse<Failure, GrpcOutcome> {
        if response.headers().contains_key("grpc-status") {
            ClassifiedResponse::Ready(classify(response.headers()))
        } else {
            ClassifiedResponse::RequiresEos(GrpcOutcome)
        }
    }

    fn classify_error<E: std::fmt::Display + 'static>(self, error: &E) -> Failure {
        Failure::Error(error.to_string())
    }
}

impl ClassifyEos for GrpcOutcome {
    type FailureClass = Failure;

    fn classify_eos(self, trailers: Option<&HeaderMap>) -> Result<(), Failure> {
        trailers.map_or(Ok(()), classify)
    }

    fn classify_error<E: std::fmt::Display + 'static>(self, error: &E) -> Failure {
        Failure::Error(error.to_string())
    }
}

fn classify(headers: &HeaderMap) -> Result<(), Failure> {
    let code = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(Code::Unknown, Code::from_i32);
    if code == Code::Ok {
        return Ok(());
    }
    let message = headers.get("grpc-message").and_then(|v| v.to_str().ok()).map(percent_decode).unwrap_or_default();
    Err(Failure::Status { code, explained: headers.contains_key("grpc-status-details-bin"), message })
}

/// `grpc-message` is percent-encoded; enough of a decoder for a log line.
fn percent_decode(message: &str) -> String {
    let bytes = message.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| message.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a code is the server's fault rather than the caller's.
pub fn is_server_fault(code: Code) -> bool {
    matches!(code, Code::Internal | Code::Unknown | Code::DataLoss | Code::Unavailable)
}

/// The trace layer's `on_failure`: see the module's doc.
pub fn log_failure(failure: Failure, latency: std::time::Duration, _span: &tracing::Span) {
    match failure {
        Failure::Status { code, explained: false, message } if is_server_fault(code) => {
            tracing::warn!(?code, %message, ?latency, "call failed");
        }
        Failure::Status { code, message, .. } => tracing::debug!(?code, %message, ?latency, "call refused"),
        Failure::Error(error) => tracing::debug!(%error, ?latency, "call ended with an error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, http::HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn statuses_are_classified_with_their_origin() {
        assert!(classify(&headers(&[("grpc-status", "0")])).is_ok());
        let Err(Failure::Status { code, explained, message }) =
            classify(&headers(&[("grpc-status", "13"), ("grpc-message", "boom%20here")]))
        else {
            panic!("INTERNAL is a failure");
        };
        assert_eq!((code, explained, message.as_str()), (Code::Internal, false, "boom here"));
        let explained = classify(&headers(&[("grpc-status", "14"), ("grpc-status-details-bin", "AA")]));
        assert!(matches!(explained, Err(Failure::Status { code: Code::Unavailable, explained: true, .. })));
    }

    #[test]
    fn client_errors_are_not_server_faults() {
        for code in [
            Code::InvalidArgument,
            Code::NotFound,
            Code::Unauthenticated,
            Code::PermissionDenied,
            Code::FailedPrecondition,
            Code::AlreadyExists,
            Code::Aborted,
            Code::ResourceExhausted,
            Code::Cancelled,
        ] {
            assert!(!is_server_fault(code), "{code:?}");
        }
        assert!(is_server_fault(Code::Internal) && is_server_fault(Code::Unavailable));
    }
}
