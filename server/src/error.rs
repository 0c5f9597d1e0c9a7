//! One error type for the whole server and its one mapping to `tonic::Status`
//! (AIP-193: canonical code, `ErrorInfo` with a reason, and the detail that
//! fits the code — field violations, precondition failures, retry delays).

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Why a call failed, as the contract lists it (`petition.v1.ErrorReason`).
pub use petition_proto::v1::ErrorReason as Reason;

/// The `ErrorInfo.domain` of every error this server returns.
pub const ERROR_DOMAIN: &str = "petition.v1";

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field, e.g. `resident_id` or `roles[1]`.
    pub field: String,
    /// Why it is invalid, never echoing personal data.
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{message}")]
    Unauthenticated { reason: Reason, message: String },
    #[error("{message}")]
    PermissionDenied { reason: Reason, message: String },
    /// Also what a caller sees for a resource outside their jurisdiction.
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    #[error("{message}")]
    AlreadyExists { reason: Reason, message: String },
    /// An operation not allowed in the resource's current state.
    #[error("{message}")]
    FailedPrecondition { reason: Reason, message: String, subject: String },
    /// Several preconditions failed at once: one PreconditionFailure
    /// violation per `(subject, description)` (a backlog case's checks).
    #[error("{message}")]
    Unmet { reason: Reason, message: String, violations: Vec<(String, String)> },
    /// A change-feed position older than the feed keeps (FAILED_PRECONDITION
    /// `CURSOR_EXPIRED`, with the oldest position it resumes after).
    #[error("the feed no longer serves this position; list again and resume from the position the list gives")]
    CursorExpired { earliest_position: i64 },
    /// The etag sent does not match the stored one.
    #[error("{resource} was changed by someone else; read it again")]
    Aborted { resource: &'static str },
    /// The transaction collided with a concurrent one (a serialization
    /// failure or a deadlock) and was rolled back: nothing changed, and the
    /// same call may simply be repeated (ABORTED `CONCURRENT_UPDATE`).
    #[error("the call collided with a concurrent change and changed nothing; repeat it")]
    ConcurrentUpdate { detail: String },
    /// A limit was reached; `quota` names what was exhausted
    /// (QuotaFailure: subject, description) when it is a quota.
    #[error("{message}")]
    ResourceExhausted { reason: Reason, message: String, retry_after: Duration, quota: Option<(String, String)> },
    /// The database is unreachable or saturated: retryable.
    #[error("service temporarily unavailable")]
    Unavailable { detail: String },
    /// Something the call needs is still being built after the server
    /// started (UNAVAILABLE `UNAVAILABLE`, with the delay to wait).
    #[error("{what} is still being built after a restart; retry in {} s", retry_after.as_secs().max(1))]
    Warming { what: &'static str, retry_after: Duration },
    /// Load shedding: no database connection came free within the queue
    /// time. UNAVAILABLE `OVERLOADED` with the delay to wait (retryable).
    #[error("the server is busy; retry after {} ms", retry_after.as_millis())]
    Overloaded { retry_after: Duration },
    /// The call ran past the server's own time limit (DEADLINE_EXCEEDED
    /// `SERVER_TIMEOUT`); `committed` says whether a write of it may have
    /// been saved (`false`: it was rolled back, or never started).
    #[error("{}", timeout_message(*limit, *committed))]
    Timeout { limit: Duration, committed: bool },
    /// The request's headers are larger than the server accepts
    /// (RESOURCE_EXHAUSTED `HEADERS_TOO_LARGE`; not retryable as it is).
    #[error("the request headers are {size} bytes, more than the {limit} this server accepts")]
    HeadersTooLarge { size: usize, limit: usize },
    /// A bug or an unexpected failure; the detail is logged, never sent.
    #[error("internal error")]
    Internal { detail: String },
}

impl AppError {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal { detail: detail.to_string() }
    }

    pub fn unauthenticated(reason: Reason, message: impl Into<String>) -> Self {
        Self::Unauthenticated { reason, message: message.into() }
    }

    pub fn permission_denied(reason: Reason, message: impl Into<String>) -> Self {
        Self::PermissionDenied { reason, message: message.into() }
    }

    /// The `ErrorInfo.reason`, one of the contract's `ErrorReason`s.
    pub fn reason(&self) -> Reason {
        match self {
            Self::InvalidArgument(_) => Reason::InvalidArgument,
            Self::Unauthenticated { reason, .. }
            | Self::PermissionDenied { reason, .. }
            | Self::AlreadyExists { reason, .. }
            | Self::FailedPrecondition { reason, .. }
            | Self::Unmet { reason, .. }
            | Self::ResourceExhausted { reason, .. } => *reason,
            Self::NotFound { .. } => Reason::NotFound,
            Self::CursorExpired { .. } => Reason::CursorExpired,
            Self::Aborted { .. } => Reason::EtagMismatch,
            Self::ConcurrentUpdate { .. } => Reason::ConcurrentUpdate,
            Self::Unavailable { .. } | Self::Warming { .. } => Reason::Unavailable,
            Self::Overloaded { .. } => Reason::Overloaded,
            Self::Timeout { .. } => Reason::ServerTimeout,
            Self::HeadersTooLarge { .. } => Reason::HeadersTooLarge,
            Self::Internal { .. } => Reason::Internal,
        }
    }

    fn code(&self) -> Code {
        match self {
            Self::InvalidArgument(_) => Code::InvalidArgument,
            Self::Unauthenticated { .. } => Code::Unauthenticated,
            Self::PermissionDenied { .. } => Code::PermissionDenied,
            Self::NotFound { .. } => Code::NotFound,
            Self::AlreadyExists { .. } => Code::AlreadyExists,
            Self::FailedPrecondition { .. } | Self::Unmet { .. } | Self::CursorExpired { .. } => {
                Code::FailedPrecondition
            }
            Self::Aborted { .. } | Self::ConcurrentUpdate { .. } => Code::Aborted,
            Self::ResourceExhausted { .. } | Self::HeadersTooLarge { .. } => Code::ResourceExhausted,
            Self::Unavailable { .. } | Self::Warming { .. } | Self::Overloaded { .. } => Code::Unavailable,
            Self::Timeout { .. } => Code::DeadlineExceeded,
            Self::Internal { .. } => Code::Internal,
        }
    }
}

impl From<AppError> for Status {
    fn from(error: AppError) -> Status {
        let mut details = ErrorDetails::new();
        let mut metadata = std::collections::HashMap::<String, String>::new();
        match &error {
            AppError::CursorExpired { earliest_position } => {
                metadata.insert("earliest_position".into(), earliest_position.to_string());
            }
            AppError::Timeout { committed, .. } => {
                metadata.insert("outcome".into(), if *committed { "unknown" } else { "not_applied" }.into());
            }
            AppError::HeadersTooLarge { limit, .. } => {
                metadata.insert("limit".into(), limit.to_string());
            }
            _ => {}
        }
        details.set_error_info(reason_name(error.reason()), ERROR_DOMAIN, metadata);
        match &error {
            AppError::InvalidArgument(violations) => {
                for v in violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
            }
            AppError::FailedPrecondition { reason, message, subject } => {
                details.add_precondition_failure_violation(reason_name(*reason), subject.clone(), message.clone());
            }
            AppError::Unmet { reason, violations, .. } => {
                for (subject, description) in violations {
                    details.add_precondition_failure_violation(
                        reason_name(*reason),
                        subject.clone(),
                        description.clone(),
                    );
                }
            }
            AppError::CursorExpired { earliest_position } => {
                details.add_precondition_failure_violation(
                    reason_name(Reason::CursorExpired),
                    "changes",
                    format!("resume after {earliest_position} at the earliest, after listing again"),
                );
            }
            AppError::ResourceExhausted { retry_after, quota, .. } => {
                details.set_retry_info(Some(*retry_after));
                if let Some((subject, description)) = quota {
                    details.add_quota_failure_violation(subject.clone(), description.clone());
                }
            }
            // Logged once per outage where it is detected (db.rs), not
            // once per failed call.
            AppError::Unavailable { detail } => {
                tracing::debug!(%detail, "unavailable");
                details.set_retry_info(Some(Duration::from_secs(1)));
            }
            AppError::Overloaded { retry_after } | AppError::Warming { retry_after, .. } => {
                details.set_retry_info(Some(*retry_after));
            }
            AppError::ConcurrentUpdate { detail } => {
                tracing::debug!(%detail, "rolled back: concurrent update");
            }
            AppError::Internal { detail } => {
                tracing::error!(%detail, "internal error");
            }
            _ => {}
        }
        let message = match &error {
            AppError::InvalidArgument(violations) => {
                let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
                format!("invalid request: {}", fields.join(", "))
            }
            other => other.to_string(),
        };
        Status::with_error_details(error.code(), message, details)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => AppError::NotFound { resource: "resource" },
            // The constraint's name is the schema's business: logged, not sent.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                tracing::debug!(constraint = info.constraint_name().unwrap_or("?"), "unique violation");
                AppError::AlreadyExists { reason: Reason::AlreadyExists, message: "it already exists".into() }
            }
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => AppError::Unavailable { detail: info.message().to_owned() },
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                AppError::ConcurrentUpdate { detail: info.message().to_owned() }
            }
            Error::DatabaseError(_, info) if is_deadlock(info.message()) => {
                // Two transactions locked in opposite orders: worth fixing,
                // so said where operators look; the caller just repeats.
                tracing::warn!(detail = info.details().unwrap_or(""), "deadlock; one transaction rolled back");
                AppError::ConcurrentUpdate { detail: info.message().to_owned() }
            }
            Error::BrokenTransactionManager => AppError::Unavailable { detail: "broken connection".into() },
            other => AppError::Internal { detail: other.to_string() },
        }
    }
}

/// A reason as `ErrorInfo.reason` spells it: the contract's value name
/// without its prefix (`ERROR_REASON_TOKEN_EXPIRED` → `TOKEN_EXPIRED`).
pub fn reason_name(reason: Reason) -> &'static str {
    let name = reason.as_str_name();
    name.strip_prefix("ERROR_REASON_").unwrap_or(name)
}

/// Whether a database error's message is a deadlock (SQLSTATE 40P01, which
/// diesel does not expose: the message is, in PostgreSQL's English and
/// Chinese catalogues).
fn is_deadlock(message: &str) -> bool {
    message.starts_with("deadlock detected") || message.starts_with("检测到死锁")
}

/// The message of a call stopped at the server's time limit.
fn timeout_message(limit: Duration, committed: bool) -> String {
    let secs = limit.as_secs_f64();
    if committed {
        format!(
            "the call ran past the server's time limit of {secs} s and may have completed: repeat it with the same request_id, or read again to see"
        )
    } else {
        format!(
            "the call ran past the server's time limit of {secs} s and was stopped before it saved anything; it may be repeated"
        )
    }
}

/// Fails with every collected violation, if any.
pub fn require_valid(violations: Vec<FieldViolation>) -> Result<(), AppError> {
    if violations.is_empty() { Ok(()) } else { Err(AppError::InvalidArgument(violations)) }
}

/// Result of a request handler.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_field_violations_and_reason() {
        let status = Status::from(AppError::invalid("resident_id", "bad checksum"));
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let info = details.error_info().cloned();
        assert_eq!(info.as_ref().map(|i| i.reason.as_str()), Some("INVALID_ARGUMENT"));
        assert_eq!(info.as_ref().map(|i| i.domain.as_str()), Some(ERROR_DOMAIN));
        let fields: Vec<String> = details
            .bad_request()
            .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default();
        assert_eq!(fields, vec!["resident_id".to_owned()]);
    }

    #[test]
    fn internal_detail_is_not_sent() {
        let status = Status::from(AppError::internal("secret table xyz exploded"));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("xyz"));
    }

    #[test]
    fn exhaustion_carries_retry_info() {
        let status = Status::from(AppError::ResourceExhausted {
            reason: Reason::LoginThrottled,
            message: "too many attempts".into(),
            retry_after: Duration::from_secs(42),
            quota: Some(("petitioners/x".into(), "at most 3 filings a day".into())),
        });
        let retry = status.get_error_details().retry_info().and_then(|r| r.retry_delay);
        assert_eq!(retry, Some(Duration::from_secs(42)));
        let quota = status.get_error_details().quota_failure().map(|q| q.violations.len());
        assert_eq!(quota, Some(1));
    }

    #[test]
    fn reason_names_are_the_contract_names_without_prefix() {
        for value in 1..200 {
            let Ok(reason) = Reason::try_from(value) else { continue };
            let name = reason_name(reason);
            assert!(!name.starts_with("ERROR_REASON_") && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
            assert_eq!(Reason::from_str_name(&format!("ERROR_REASON_{name}")), Some(reason));
        }
        assert_eq!(reason_name(Reason::TokenExpired), "TOKEN_EXPIRED");
    }

    #[test]
    fn constraint_names_are_not_sent() {
        struct Violation;
        impl diesel::result::DatabaseErrorInformation for Violation {
            fn message(&self) -> &str {
                "duplicate key value violates unique constraint \"cases_number_key\""
            }
            fn details(&self) -> Option<&str> {
                Some("Key (number)=(X-1) already exists.")
            }
            fn hint(&self) -> Option<&str> {
                None
            }
            fn table_name(&self) -> Option<&str> {
                Some("cases")
            }
            fn column_name(&self) -> Option<&str> {
                None
            }
            fn constraint_name(&self) -> Option<&str> {
                Some("cases_number_key")
            }
            fn statement_position(&self) -> Option<i32> {
                None
            }
        }
        let error = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            Box::new(Violation),
        );
        let status = Status::from(AppError::from(error));
        assert_eq!(status.code(), Code::AlreadyExists);
        assert!(!status.message().contains("cases"), "{}", status.message());
    }

    #[test]
    fn serialization_failures_and_deadlocks_are_retryable_aborts() {
        for (kind, message) in [
            (diesel::result::DatabaseErrorKind::SerializationFailure, "could not serialize access"),
            (diesel::result::DatabaseErrorKind::Unknown, "deadlock detected"),
        ] {
            let error = diesel::result::Error::DatabaseError(kind, Box::new(message.to_owned()));
            let status = Status::from(AppError::from(error));
            assert_eq!(status.code(), Code::Aborted, "{message}");
            let reason = status.get_error_details().error_info().map(|i| i.reason.clone());
            assert_eq!(reason.as_deref(), Some("CONCURRENT_UPDATE"), "{message}");
        }
    }

    #[test]
    fn lost_connection_is_unavailable() {
        let status = Status::from(AppError::from(diesel::result::Error::BrokenTransactionManager));
        assert_eq!(status.code(), Code::Unavailable);
    }
}
