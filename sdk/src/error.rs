//! The SDK's error type and the structured details decoded from a gRPC
//! status.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tonic::Code;

use crate::pb;
use tonic_types::{ErrorDetails, StatusExt};

/// Shorthand for `Result<T, petition_sdk::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, broadly. See [`Error::kind`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The call completed with a non-OK gRPC status, sent by the server or
    /// produced by the transport (for example `UNAVAILABLE` when the
    /// connection dropped). [`Error::status`] returns it.
    Status,
    /// The URL was invalid or the connection could not be established.
    Connect,
    /// An argument given to the SDK was unusable, for example an access
    /// token with characters that cannot be sent in a header.
    InvalidInput,
    /// The server's response broke the contract, for example a required
    /// message field was missing.
    InvalidResponse,
    /// A failure inside the SDK, such as a background token renewal task
    /// that was cancelled because the runtime shut down.
    Internal,
    /// A change-feed position the feed no longer serves: the status
    /// `FAILED_PRECONDITION` with reason `CURSOR_EXPIRED` ([`Error::status`]
    /// returns it; [`Error::cursor_expired`] the earliest position). List
    /// again and watch from the position the list gives.
    CursorExpired,
}

/// One invalid request field, from a `google.rpc.BadRequest` detail.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldViolation {
    /// Path of the offending field, such as `phone` or `update_mask.paths[0]`.
    pub field: String,
    /// Why the value was rejected.
    pub description: String,
}

/// One failed precondition, from a `google.rpc.PreconditionFailure` detail.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PreconditionViolation {
    /// The violation type (the detail's `type` field), such as `ETAG`.
    pub kind: String,
    /// What failed the check, such as a resource name.
    pub subject: String,
    /// How the precondition failed.
    pub description: String,
}

/// An error from the petition SDK.
///
/// Most errors carry a gRPC status ([`ErrorKind::Status`]); for those,
/// [`code`](Error::code) and [`message`](Error::message) come from the
/// status, and the standard `google.rpc` details the server attached
/// ([`reason`](Error::reason), [`field_violations`](Error::field_violations),
/// [`retry_after`](Error::retry_after),
/// [`precondition_violations`](Error::precondition_violations)) are decoded
/// once, when the error is created. Errors without a status still report a
/// [`code`](Error::code) so callers can branch on one value:
/// `UNAVAILABLE` for connection failures, `INVALID_ARGUMENT` for unusable
/// SDK input and `INTERNAL` for contract violations.
///
/// The error is small (one pointer) and cheap to clone.
#[non_exhaustive]
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    /// For non-status errors: the human-readable message.
    message: String,
    status: Option<tonic::Status>,
    details: ErrorDetails,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    fn new(kind: ErrorKind, message: String) -> Self {
        Error { inner: Box::new(Inner { kind, message, status: None, details: ErrorDetails::new(), source: None }) }
    }

    /// A connection failure (including an invalid URL) for `url`.
    pub(crate) fn connect(url: &str, source: tonic::transport::Error) -> Self {
        let mut error = Error::new(ErrorKind::Connect, format!("cannot connect to {url}: {}", root_cause(&source)));
        error.inner.source = Some(Arc::new(source));
        error
    }

    /// Unusable input handed to the SDK.
    pub(crate) fn invalid_input(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, message.into())
    }

    /// A response that broke the contract.
    pub(crate) fn invalid_response(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidResponse, message.into())
    }

    /// A failure inside the SDK.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message.into())
    }

    /// The error for a response message whose required field `field` (for
    /// example `"GetMeResponse.account"`) was not set.
    pub(crate) fn missing_field(field: &str) -> Self {
        Error::invalid_response(format!("the server's response lacks the required field {field}"))
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The gRPC status code.
    ///
    /// For errors without a status: [`Code::Unavailable`] for
    /// [`ErrorKind::Connect`], [`Code::InvalidArgument`] for
    /// [`ErrorKind::InvalidInput`] and [`Code::Internal`] otherwise.
    pub fn code(&self) -> Code {
        match (&self.inner.status, self.inner.kind) {
            (Some(status), _) => status.code(),
            (None, ErrorKind::Connect) => Code::Unavailable,
            (None, ErrorKind::InvalidInput) => Code::InvalidArgument,
            (None, _) => Code::Internal,
        }
    }

    /// The status message (developer-facing text), or a description of the
    /// error for errors without a status.
    pub fn message(&self) -> &str {
        match &self.inner.status {
            Some(status) => status.message(),
            None => &self.inner.message,
        }
    }

    /// The status the call failed with, if the error carries one.
    pub fn status(&self) -> Option<&tonic::Status> {
        self.inner.status.as_ref()
    }

    /// The `reason` of the `google.rpc.ErrorInfo` detail: a stable,
    /// machine-readable `UPPER_SNAKE_CASE` cause to branch on.
    pub fn reason(&self) -> Option<&str> {
        self.inner.details.error_info().map(|info| info.reason.as_str())
    }

    /// The reason as the contract's [`ErrorReason`](pb::ErrorReason), to
    /// `match` on; `None` without one or for a reason newer than this SDK.
    pub fn error_reason(&self) -> Option<pb::ErrorReason> {
        self.reason().and_then(|name| pb::ErrorReason::from_str_name(&format!("ERROR_REASON_{name}")))
    }

    /// The `domain` of the `google.rpc.ErrorInfo` detail.
    pub fn domain(&self) -> Option<&str> {
        self.inner.details.error_info().map(|info| info.domain.as_str())
    }

    /// The value of `key` in the `google.rpc.ErrorInfo` detail's metadata.
    pub fn error_metadata(&self, key: &str) -> Option<&str> {
        self.inner.details.error_info().and_then(|info| info.metadata.get(key)).map(String::as_str)
    }

    /// The invalid fields listed in the `google.rpc.BadRequest` detail
    /// (empty if there is none).
    pub fn field_violations(&self) -> Vec<FieldViolation> {
        self.inner
            .details
            .bad_request()
            .map(|bad| {
                bad.field_violations
                    .iter()
                    .map(|v| FieldViolation { field: v.field.clone(), description: v.description.clone() })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How long to wait before retrying, from the `google.rpc.RetryInfo`
    /// detail (sent with `RESOURCE_EXHAUSTED`, for example when sign-in
    /// attempts are throttled).
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.details.retry_info().and_then(|info| info.retry_delay)
    }

    /// The failed checks listed in the `google.rpc.PreconditionFailure`
    /// detail (empty if there is none).
    pub fn precondition_violations(&self) -> Vec<PreconditionViolation> {
        self.inner
            .details
            .precondition_failure()
            .map(|failure| {
                failure
                    .violations
                    .iter()
                    .map(|v| PreconditionViolation {
                        kind: v.r#type.clone(),
                        subject: v.subject.clone(),
                        description: v.description.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every standard detail decoded from the status (empty for errors
    /// without a status or with undecodable details).
    pub fn details(&self) -> &ErrorDetails {
        &self.inner.details
    }
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        let details = status.get_error_details();
        let expired = details.error_info().is_some_and(|info| info.reason == crate::feed::CURSOR_EXPIRED);
        Error {
            inner: Box::new(Inner {
                kind: if expired { ErrorKind::CursorExpired } else { ErrorKind::Status },
                message: String::new(),
                status: Some(status),
                details,
                source: None,
            }),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(status) = &self.inner.status else {
            return f.write_str(&self.inner.message);
        };
        write!(f, "{:?}", status.code())?;
        if !status.message().is_empty() {
            write!(f, ": {}", status.message())?;
        }
        if let Some(reason) = self.reason() {
            write!(f, " [{reason}]")?;
        }
        let violations = self.field_violations();
        if !violations.is_empty() {
            f.write_str(" (")?;
            for (i, v) in violations.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                write!(f, "{}: {}", v.field, v.description)?;
            }
            f.write_str(")")?;
        }
        if let Some(source) = std::error::Error::source(status) {
            write!(f, ": {}", root_cause(source))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind).field("code", &self.code()).field("message", &self.message());
        if let Some(reason) = self.reason() {
            d.field("reason", &reason);
        }
        let violations = self.field_violations();
        if !violations.is_empty() {
            d.field("field_violations", &violations);
        }
        if let Some(delay) = self.retry_after() {
            d.field("retry_after", &delay);
        }
        let preconditions = self.precondition_violations();
        if !preconditions.is_empty() {
            d.field("precondition_violations", &preconditions);
        }
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match (&self.inner.status, &self.inner.source) {
            (Some(status), _) => std::error::Error::source(status),
            (None, Some(source)) => Some(source.as_ref() as &(dyn std::error::Error + 'static)),
            (None, None) => None,
        }
    }
}

/// The innermost error's text: `tonic::transport::Error` alone only says
/// "transport error".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Unwraps a required field of a response message.
pub(crate) fn required<T>(value: Option<T>, field: &str) -> Result<T> {
    value.ok_or_else(|| Error::missing_field(field))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tonic_types::{FieldViolation as PbFieldViolation, PreconditionViolation as PbPreconditionViolation};

    use super::*;

    fn rich_status() -> tonic::Status {
        let mut details = ErrorDetails::with_error_info(
            "INVALID_FIELDS",
            "petition.gov.cn",
            HashMap::from([("resource".to_owned(), "account".to_owned())]),
        );
        details
            .set_bad_request(vec![
                PbFieldViolation::new("phone", "must be 11 digits starting with 1"),
                PbFieldViolation::new("real_name", "must be 2-50 characters"),
            ])
            .set_retry_info(Some(Duration::from_millis(1500)));
        tonic::Status::with_error_details(Code::InvalidArgument, "the request has invalid fields", details)
    }

    #[test]
    fn decodes_error_info_bad_request_and_retry_info() {
        let error = Error::from(rich_status());
        assert_eq!(error.kind(), ErrorKind::Status);
        assert_eq!(error.code(), Code::InvalidArgument);
        assert_eq!(error.message(), "the request has invalid fields");
        assert_eq!(error.reason(), Some("INVALID_FIELDS"));
        assert_eq!(error.domain(), Some("petition.gov.cn"));
        assert_eq!(error.error_metadata("resource"), Some("account"));
        assert_eq!(error.error_metadata("missing"), None);
        assert_eq!(
            error.field_violations(),
            vec![
                FieldViolation { field: "phone".into(), description: "must be 11 digits starting with 1".into() },
                FieldViolation { field: "real_name".into(), description: "must be 2-50 characters".into() },
            ]
        );
        assert_eq!(error.retry_after(), Some(Duration::from_millis(1500)));
        assert!(error.precondition_violations().is_empty());
        assert_eq!(error.status().map(tonic::Status::code), Some(Code::InvalidArgument));
    }

    #[test]
    fn decodes_precondition_failure() {
        let details = ErrorDetails::with_precondition_failure(vec![PbPreconditionViolation::new(
            "ETAG",
            "organizations/0190",
            "the organization changed since it was read",
        )]);
        let error = Error::from(tonic::Status::with_error_details(Code::Aborted, "etag mismatch", details));
        assert_eq!(error.code(), Code::Aborted);
        assert_eq!(
            error.precondition_violations(),
            vec![PreconditionViolation {
                kind: "ETAG".into(),
                subject: "organizations/0190".into(),
                description: "the organization changed since it was read".into(),
            }]
        );
        assert_eq!(error.reason(), None);
        assert!(error.field_violations().is_empty());
        assert_eq!(error.retry_after(), None);
    }

    #[test]
    fn plain_status_has_no_details() {
        let error = Error::from(tonic::Status::unauthenticated("token expired"));
        assert_eq!(error.code(), Code::Unauthenticated);
        assert_eq!(error.message(), "token expired");
        assert_eq!(error.reason(), None);
        assert!(error.field_violations().is_empty());
        assert_eq!(error.to_string(), "Unauthenticated: token expired");
    }

    #[test]
    fn garbage_details_are_ignored() {
        let status = tonic::Status::with_details(Code::Internal, "boom", vec![0xff, 0xff, 0xff].into());
        let error = Error::from(status);
        assert_eq!(error.code(), Code::Internal);
        assert_eq!(error.reason(), None);
        assert!(error.field_violations().is_empty());
    }

    #[test]
    fn display_includes_reason_and_violations() {
        let text = Error::from(rich_status()).to_string();
        assert_eq!(
            text,
            "InvalidArgument: the request has invalid fields [INVALID_FIELDS] \
             (phone: must be 11 digits starting with 1; real_name: must be 2-50 characters)"
        );
    }

    #[test]
    fn non_status_errors_map_to_codes() {
        let input = Error::invalid_input("bad token");
        assert_eq!((input.kind(), input.code()), (ErrorKind::InvalidInput, Code::InvalidArgument));
        assert!(input.status().is_none());
        assert_eq!(input.message(), "bad token");
        let missing = Error::missing_field("GetMeResponse.account");
        assert_eq!((missing.kind(), missing.code()), (ErrorKind::InvalidResponse, Code::Internal));
        assert!(missing.to_string().contains("GetMeResponse.account"));
        assert_eq!(Error::internal("x").code(), Code::Internal);
    }

    #[test]
    fn error_is_small_send_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }
}
