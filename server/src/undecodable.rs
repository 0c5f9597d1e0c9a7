//! A request whose bytes are not the message they claim to be (a string
//! field that is not UTF-8, a truncated varint, a wrong wire type) is the
//! caller's fault, but the framework answers it INTERNAL before any
//! handler runs. This one response mapping, applied to every service,
//! turns those answers into INVALID_ARGUMENT with a field violation naming
//! the field that did not decode.

use http::Response;
use tonic::{Code, Status};

use crate::error::AppError;

/// How prost's `DecodeError` starts when tonic turns it into a status.
const DECODE_FAILURE: &str = "failed to decode Protobuf message: ";

/// Rewrites a trailers-only INTERNAL answer that reports an undecodable
/// request as INVALID_ARGUMENT; every other response passes untouched.
pub fn as_invalid_argument<B>(mut response: Response<B>) -> Response<B> {
    let headers = response.headers_mut();
    let Some(status) = Status::from_header_map(headers) else { return response };
    if status.code() != Code::Internal || !status.details().is_empty() {
        return response;
    }
    let Some(failure) = status.message().strip_prefix(DECODE_FAILURE) else { return response };
    let (field, description) = violation(failure);
    let refusal = Status::from(AppError::invalid(field, format!("the request does not decode: {description}")));
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        headers.remove(name);
    }
    if refusal.add_header(headers).is_err() {
        // The refusal's own headers could not be written: answer as before.
        let _ = status.add_header(headers);
    }
    response
}

/// The field path and description of a decode failure. prost writes the
/// failing field innermost first (`Category.name: CreateCategoryRequest.
/// category: invalid string value: …`); the path reads outermost first.
fn violation(failure: &str) -> (String, String) {
    let mut fields = Vec::new();
    let mut rest = failure;
    while let Some((entry, tail)) = rest.split_once(": ") {
        let Some((message, field)) = entry.split_once('.') else { break };
        let is_name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_name(message) || !is_name(field) {
            break;
        }
        fields.push(field);
        rest = tail;
    }
    fields.reverse();
    let path = if fields.is_empty() { "request".to_owned() } else { fields.join(".") };
    (path, rest.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: Status) -> Response<()> {
        let mut response = Response::new(());
        status.add_header(response.headers_mut()).expect("headers");
        response
    }

    #[test]
    fn nested_fields_read_outermost_first() {
        let (field, description) =
            violation("Category.name: CreateCategoryRequest.category: invalid string value: data is not UTF-8 encoded");
        assert_eq!(field, "category.name");
        assert_eq!(description, "invalid string value: data is not UTF-8 encoded");
    }

    #[test]
    fn a_failure_without_a_field_names_the_request() {
        assert_eq!(violation("buffer underflow"), ("request".to_owned(), "buffer underflow".to_owned()));
    }

    #[test]
    fn an_undecodable_request_becomes_invalid_argument() {
        let internal = Status::internal(format!("{DECODE_FAILURE}LoginRequest.login_name: invalid string value"));
        let rewritten = as_invalid_argument(answer(internal));
        let rewritten = Status::from_header_map(rewritten.headers()).expect("status");
        assert_eq!(rewritten.code(), Code::InvalidArgument);
        let details = tonic_types::StatusExt::get_error_details(&rewritten);
        let violations = details.bad_request().expect("bad request").field_violations.clone();
        assert_eq!(violations[0].field, "login_name");
    }

    #[test]
    fn other_answers_pass_untouched() {
        for status in
            [Status::internal("internal error"), Status::invalid_argument(format!("{DECODE_FAILURE}x")), Status::ok("")]
        {
            let code = status.code();
            let passed = as_invalid_argument(answer(status));
            assert_eq!(Status::from_header_map(passed.headers()).map(|s| s.code()), Some(code));
        }
    }
}
