//! The taxonomy's vocabulary and pure validation of its requests.

use crate::error::FieldViolation;
use crate::wire::wire_enum;

wire_enum! {
    /// How a case reaches the unit (Art.22): 转送 (forward) or 交办 (assign,
    /// with a completion report). A routing rule names one, and so does a
    /// routed case.
    RoutingMode { Forward = 1, Assign = 2 }
}

/// Category codes: 2–64 of `[a-z0-9._-]`, starting with a letter or digit.
pub fn check_category_code(field: &str, code: &str, violations: &mut Vec<FieldViolation>) {
    let valid_chars = code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    let valid_start = code.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(2..=64).contains(&code.len()) || !valid_chars || !valid_start {
        violations.push(FieldViolation::new(field, "must be 2–64 characters of a-z, 0-9, '.', '_' or '-'"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_codes() {
        for ok in ["housing", "housing.demolition", "a1", "land_use-2"] {
            let mut v = Vec::new();
            check_category_code("code", ok, &mut v);
            assert!(v.is_empty(), "{ok}");
        }
        for bad in ["", "a", "Housing", ".x", "住房", "a b", &"a".repeat(65)] {
            let mut v = Vec::new();
            check_category_code("code", bad, &mut v);
            assert_eq!(v.len(), 1, "{bad:?}");
        }
    }
}
