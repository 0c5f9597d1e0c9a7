//! Mainland China mobile phone numbers.
//!
//! [`PhoneNumber`] is a "parse, don't validate" newtype: a value that exists
//! is an 11-digit mainland mobile number in canonical form (no country code,
//! no separators), so it can be stored, blind-indexed and compared as is.
//!
//! Phone numbers are personal data: errors never quote the input, `Debug` is
//! redacted and there is no `Display` impl.

use std::fmt;

use thiserror::Error;

/// Length of a mainland mobile number in digits.
const LENGTH: usize = 11;

/// Why an input is not a valid mainland mobile number.
///
/// The `Display` text is a short English reason suitable as a gRPC
/// `FieldViolation` description; it never contains the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum PhoneError {
    /// The input carries the +86 (or 0086) country code. We reject rather
    /// than strip it so the stored form is canonical and the caller's UI
    /// learns to send the national number.
    #[error("omit the +86 country code; enter the 11-digit mobile number")]
    CountryCode,
    /// The input is not 11 characters long (counted in Unicode scalar values).
    #[error("must be exactly 11 digits with no spaces or separators, got {len} characters")]
    WrongLength {
        /// Number of characters in the input.
        len: usize,
    },
    /// A character is not an ASCII digit; `position` is 1-based.
    #[error("character {position} must be an ASCII digit")]
    NonDigit {
        /// 1-based position of the first offending character.
        position: usize,
    },
    /// The number does not start with 13–19, so it is not a mainland mobile
    /// number (landlines, service numbers and the like are not accepted).
    #[error("must be a mainland mobile number starting with 13 to 19")]
    NotMobile,
}

/// A mainland China mobile number: exactly 11 ASCII digits, `1` then `3`–`9`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a mainland mobile number, taking the input exactly as given (no
    /// trimming or separator stripping, so the stored value is canonical and
    /// odd input is reported rather than silently repaired).
    ///
    /// Checks run in order: country code, length, characters, prefix.
    ///
    /// # Errors
    ///
    /// Returns the [`PhoneError`] variant describing the first problem.
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneError> {
        if input.starts_with("+86") || input.starts_with("0086") {
            return Err(PhoneError::CountryCode);
        }

        let len = input.chars().count();
        if len != LENGTH {
            return Err(PhoneError::WrongLength { len });
        }

        if let Some(index) = input.chars().position(|c| !c.is_ascii_digit()) {
            return Err(PhoneError::NonDigit { position: index + 1 });
        }

        // Now known to be 11 ASCII digits.
        let bytes = input.as_bytes();
        if bytes[0] != b'1' || !(b'3'..=b'9').contains(&bytes[1]) {
            return Err(PhoneError::NotMobile);
        }

        Ok(PhoneNumber(input.to_owned()))
    }

    /// The full number. Treat as personal data (encrypt at rest, never log).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Display form for UIs and logs, e.g. `138****5678`: the carrier prefix
    /// and last four digits are the conventional parts shown in China.
    #[must_use]
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[0..3], &self.0[7..11])
    }
}

/// Deliberately redacted: `Debug` output ends up in logs and panic messages.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneNumber(<redacted>)")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use PhoneError as E;

    #[test]
    fn parse_table() {
        let cases: &[(&str, &str, Result<(), PhoneError>)] = &[
            ("typical 138", "13812345678", Ok(())),
            ("lowest valid prefix 13", "13000000000", Ok(())),
            ("prefix 14", "14512345678", Ok(())),
            ("prefix 15", "15912345678", Ok(())),
            ("prefix 16", "16612345678", Ok(())),
            ("prefix 17", "17712345678", Ok(())),
            ("prefix 18", "18612345678", Ok(())),
            ("highest valid prefix 19", "19999999999", Ok(())),
            ("+86 prefix", "+8613812345678", Err(E::CountryCode)),
            ("+86 with space", "+86 13812345678", Err(E::CountryCode)),
            ("+86 alone", "+86", Err(E::CountryCode)),
            ("0086 prefix", "008613812345678", Err(E::CountryCode)),
            ("86 without plus", "8613812345678", Err(E::WrongLength { len: 13 })),
            ("other country code", "+1415555267", Err(E::NonDigit { position: 1 })),
            ("empty", "", Err(E::WrongLength { len: 0 })),
            ("10 digits", "1381234567", Err(E::WrongLength { len: 10 })),
            ("12 digits", "138123456789", Err(E::WrongLength { len: 12 })),
            ("grouped with spaces", "138 1234 5678", Err(E::WrongLength { len: 13 })),
            ("grouped with hyphens", "138-1234-5678", Err(E::WrongLength { len: 13 })),
            ("leading space", " 13812345678", Err(E::WrongLength { len: 12 })),
            ("trailing newline", "13812345678\n", Err(E::WrongLength { len: 12 })),
            ("space replacing a digit", "138 2345678", Err(E::NonDigit { position: 4 })),
            ("letter", "1381234567O", Err(E::NonDigit { position: 11 })),
            ("full-width digits", "１３８１２３４５６７８", Err(E::NonDigit { position: 1 })),
            ("Arabic-Indic digit", "138١2345678", Err(E::NonDigit { position: 4 })),
            ("second digit 0", "10012345678", Err(E::NotMobile)),
            ("second digit 1", "11012345678", Err(E::NotMobile)),
            ("second digit 2", "12012345678", Err(E::NotMobile)),
            ("landline with area code", "01012345678", Err(E::NotMobile)),
            ("starts with 2", "23812345678", Err(E::NotMobile)),
        ];
        assert!(cases.len() >= 12);

        let mut failures = Vec::new();
        for (name, input, expected) in cases {
            let got = PhoneNumber::parse(input).map(|_| ());
            if &got != expected {
                failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{} failing case(s):\n{}", failures.len(), failures.join("\n"));
    }

    #[test]
    fn as_str_and_masked() {
        let phone = PhoneNumber::parse("13812345678").unwrap();
        assert_eq!(phone.as_str(), "13812345678");
        assert_eq!(phone.masked(), "138****5678");
    }

    #[test]
    fn debug_is_redacted() {
        let phone = PhoneNumber::parse("13812345678").unwrap();
        assert_eq!(format!("{phone:?}"), "PhoneNumber(<redacted>)");
        assert!(!format!("{:#?}", Some(&phone)).contains("1234"));
    }

    #[test]
    fn error_messages_never_echo_input() {
        for input in ["+8613812345678", "1381234567", "138123456O8", "12012345678"] {
            let msg = PhoneNumber::parse(input).unwrap_err().to_string();
            assert!(!msg.contains(input), "{msg:?} echoes the input");
            assert!(!msg.contains("1234"), "{msg:?} echoes digits");
        }
        assert!(E::CountryCode.to_string().contains("+86"));
    }
}
