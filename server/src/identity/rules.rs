//! Pure validation of identity requests.

use crate::auth::Role;
use crate::directory::rules::validate_name;
use crate::error::FieldViolation;

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Passwords: 10–128 characters (NIST SP 800-63B: length, not composition).
pub fn check_password(field: &str, password: &str, violations: &mut Vec<FieldViolation>) {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        violations.push(FieldViolation::new(field, format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    } else if chars > MAX_PASSWORD_CHARS {
        violations.push(FieldViolation::new(field, format!("must be at most {MAX_PASSWORD_CHARS} characters")));
    }
}

/// A citizen's real name: 2–50 characters, letters and the middle dot used
/// in transliterated names (e.g. 阿依古丽·买买提), no digits or symbols.
pub fn check_real_name(raw: &str, violations: &mut Vec<FieldViolation>) -> String {
    let before = violations.len();
    let name = validate_name("real_name", raw, 50, violations);
    if violations.len() > before {
        return name;
    }
    if name.chars().count() == 1 {
        violations.push(FieldViolation::new("real_name", "must be at least 2 characters"));
    } else if name.chars().any(|c| !(c.is_alphabetic() || c == '·' || c == '•' || c == ' ')) {
        violations.push(FieldViolation::new("real_name", "may contain only letters, spaces and the middle dot"));
    }
    name
}

/// Staff login names: 3–64 of `[a-z0-9._-]`, starting with a letter, so they
/// can never be mistaken for a phone number at sign-in.
pub fn check_login_name(raw: &str, violations: &mut Vec<FieldViolation>) {
    let ok_chars = raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !(3..=64).contains(&raw.len()) || !ok_chars || !raw.starts_with(|c: char| c.is_ascii_lowercase()) {
        violations.push(FieldViolation::new(
            "login_name",
            "must be 3–64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter",
        ));
    }
}

/// Roles for a staff account: at least one, each a staff role, no repeats.
pub fn check_staff_roles(raw: &[i32], violations: &mut Vec<FieldViolation>) -> Vec<Role> {
    if raw.is_empty() {
        violations.push(FieldViolation::new("roles", "at least one role is required"));
    }
    let mut roles = Vec::new();
    for (i, value) in raw.iter().enumerate() {
        match Role::from_i32(*value) {
            Some(role) if role.is_staff_role() => {
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
            Some(_) => {
                violations.push(FieldViolation::new(format!("roles[{i}]"), "citizen and partner are not staff roles"))
            }
            None => violations.push(FieldViolation::new(format!("roles[{i}]"), "unknown role")),
        }
    }
    roles.sort();
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(f: impl FnOnce(&mut Vec<FieldViolation>)) -> Vec<String> {
        let mut v = Vec::new();
        f(&mut v);
        v.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn real_names() {
        for ok in ["张三", "阿依古丽·买买提", "Li Lei", "欧阳修"] {
            assert!(
                fields(|v| {
                    check_real_name(ok, v);
                })
                .is_empty(),
                "{ok}"
            );
        }
        for bad in ["", "张", "张3", "张<script>", "a\nb", &"张".repeat(51)] {
            assert_eq!(
                fields(|v| {
                    check_real_name(bad, v);
                }),
                vec!["real_name"],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn login_names() {
        for ok in ["clerk.zhang", "abc", "u_1-2"] {
            assert!(fields(|v| check_login_name(ok, v)).is_empty(), "{ok}");
        }
        for bad in ["ab", "Admin", "13800138000", "1abc", "a b", "张三", "", &"a".repeat(65)] {
            assert_eq!(fields(|v| check_login_name(bad, v)), vec!["login_name"], "{bad:?}");
        }
    }

    #[test]
    fn passwords() {
        assert!(fields(|v| check_password("password", "0123456789", v)).is_empty());
        assert_eq!(fields(|v| check_password("password", "short", v)), vec!["password"]);
        assert_eq!(fields(|v| check_password("password", &"x".repeat(129), v)), vec!["password"]);
    }

    #[test]
    fn staff_roles() {
        assert_eq!(
            fields(|v| {
                check_staff_roles(&[], v);
            }),
            vec!["roles"]
        );
        assert_eq!(
            fields(|v| {
                check_staff_roles(&[1], v);
            }),
            vec!["roles[0]"]
        );
        assert_eq!(
            fields(|v| {
                check_staff_roles(&[2, 99], v);
            }),
            vec!["roles[1]"]
        );
        let mut v = Vec::new();
        assert_eq!(check_staff_roles(&[3, 2, 3], &mut v), vec![Role::Clerk, Role::Handler]);
        assert!(v.is_empty());
    }
}
