//! Assertions shared by the e2e tests.

use petition_sdk::tonic::Code;

/// Asserts that `result` failed with `code` and, if given, the ErrorInfo
/// `reason`; returns the error for further checks.
#[track_caller]
pub fn expect_error<T: std::fmt::Debug>(
    result: Result<T, petition_sdk::Error>,
    code: Code,
    reason: Option<&str>,
) -> petition_sdk::Error {
    match result {
        Ok(value) => panic!("expected {code:?}, got Ok({value:?})"),
        Err(error) => {
            assert_eq!(error.code(), code, "{error}");
            if let Some(reason) = reason {
                assert_eq!(error.reason(), Some(reason), "{error}");
            }
            error
        }
    }
}

/// Asserts INVALID_ARGUMENT naming exactly `fields`.
#[track_caller]
pub fn expect_invalid<T: std::fmt::Debug>(
    result: Result<T, petition_sdk::Error>,
    fields: &[&str],
) -> petition_sdk::Error {
    let error = expect_error(result, Code::InvalidArgument, Some("INVALID_ARGUMENT"));
    let mut got: Vec<String> = error.field_violations().into_iter().map(|v| v.field).collect();
    got.sort();
    let mut want: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    want.sort();
    assert_eq!(got, want, "{error}");
    error
}
