//! Pure rules of the directory: region codes and levels (GB/T 2260 for city
//! and county, extended by 3 digits per level for township and village),
//! names, and where organizations may be placed.

use crate::auth::policy::path_within;
use crate::error::{AppError, FieldViolation};
use crate::wire::wire_enum;

wire_enum! {
    /// Level in the region tree (values match `petition.v1.RegionLevel`).
    RegionLevel {
        City = 1,
        County = 2,
        Township = 3,
        Village = 4,
    }
}

impl RegionLevel {
    /// Digits of a code at this level.
    fn code_len(self) -> usize {
        match self {
            Self::City | Self::County => 6,
            Self::Township => 9,
            Self::Village => 12,
        }
    }

    fn parent(self) -> Option<Self> {
        match self {
            Self::City => None,
            Self::County => Some(Self::City),
            Self::Township => Some(Self::County),
            Self::Village => Some(Self::Township),
        }
    }
}

wire_enum! {
    /// Kind of organization (values match `petition.v1.OrganizationKind`).
    OrganizationKind {
        PetitionBureau = 1,
        ResponsibleUnit = 2,
        Court = 3,
        LegalAidCentre = 4,
        MediationCommittee = 5,
        DisciplineInspection = 6,
        Leadership = 7,
        /// 司法局: sets up legal-aid centres, decides objections (法律援助法 Art.49).
        JusticeBureau = 8,
    }
}

impl OrganizationKind {
    /// Whether a case may ask it for a lawyer (RequestLawyer).
    pub fn provides_lawyers(self) -> bool {
        self == OrganizationKind::LegalAidCentre
    }

    /// Whether it may be handed a case to handle: a competent organ of
    /// Art.22 (a unit, or a government that handles matters itself), or
    /// for accusations the discipline channel (Art.30). Petition bureaus
    /// route; partners are reached by referral.
    pub fn handles(self, accusation: bool) -> bool {
        if accusation {
            self == OrganizationKind::DisciplineInspection
        } else {
            matches!(self, OrganizationKind::ResponsibleUnit | OrganizationKind::Leadership)
        }
    }
}

/// A region to create, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRegion {
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
    pub parent_code: Option<String>,
}

/// A required name of at most `max` characters (the text policy's one
/// line).
pub fn validate_name(field: &str, raw: &str, max: usize, violations: &mut Vec<FieldViolation>) -> String {
    crate::text::one_line(field, raw, 1, max, violations)
}

fn is_digits(code: &str) -> bool {
    !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit())
}

/// Checks the shape of a region creation request.
pub fn validate_new_region(code: &str, name: &str, level: i32, parent_code: &str) -> Result<NewRegion, AppError> {
    let mut violations = Vec::new();
    let name = validate_name("name", name, 64, &mut violations);
    let level = RegionLevel::from_i32(level);
    match level {
        None => violations.push(FieldViolation::new("level", "must be CITY, COUNTY, TOWNSHIP or VILLAGE")),
        Some(level) => {
            if code.len() != level.code_len() || !is_digits(code) {
                violations
                    .push(FieldViolation::new("code", format!("must be {} digits at this level", level.code_len())));
            } else if level == RegionLevel::City && !code.ends_with("00") {
                violations.push(FieldViolation::new("code", "a city code ends in 00"));
            } else if level == RegionLevel::County && code.ends_with("00") {
                violations.push(FieldViolation::new("code", "a county code does not end in 00"));
            }
            match (level.parent(), parent_code.is_empty()) {
                (None, false) => violations.push(FieldViolation::new("parent_code", "a city has no parent")),
                (Some(_), true) => violations.push(FieldViolation::new("parent_code", "is required below city level")),
                _ => {}
            }
        }
    }
    match level {
        Some(level) if violations.is_empty() => Ok(NewRegion {
            code: code.to_owned(),
            name,
            level,
            parent_code: (!parent_code.is_empty()).then(|| parent_code.to_owned()),
        }),
        _ => Err(AppError::InvalidArgument(violations)),
    }
}

/// Checks that `region` extends its parent (one level up, and its code
/// continues the parent's: a county shares the city's first four digits, a
/// township starts with its county's code, a village with its township's).
pub fn check_region_parent(region: &NewRegion, parent_level: RegionLevel, parent_code: &str) -> Result<(), AppError> {
    if Some(parent_level) != region.level.parent() {
        return Err(AppError::invalid("parent_code", "must be a region exactly one level up"));
    }
    let shared = match region.level {
        RegionLevel::County => &parent_code[..4.min(parent_code.len())],
        _ => parent_code,
    };
    if !region.code.starts_with(shared) {
        return Err(AppError::invalid("code", "must extend the parent region's code"));
    }
    Ok(())
}

/// The path of a region below `parent_path`.
pub fn child_path(parent_path: Option<&str>, code: &str) -> String {
    match parent_path {
        Some(parent) => format!("{parent}/{code}"),
        None => code.to_owned(),
    }
}

/// An organization may sit under a parent placed in the same region or in an
/// ancestor of it (a county bureau under the city bureau, not the reverse).
pub fn check_parent_placement(region_path: &str, parent_region_path: &str) -> Result<(), AppError> {
    if path_within(region_path, parent_region_path) {
        Ok(())
    } else {
        Err(AppError::invalid(
            "parent_organization_id",
            "the parent organization must sit in the same region or one above it",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(result: Result<NewRegion, AppError>) -> Vec<String> {
        match result {
            Ok(_) => vec![],
            Err(AppError::InvalidArgument(v)) => v.into_iter().map(|v| v.field).collect(),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn region_shapes() {
        let table: &[(&str, &str, i32, &str, &[&str])] = &[
            ("360700", "赣州市", 1, "", &[]),
            ("360702", "章贡区", 2, "360700", &[]),
            ("360702001", "解放街道", 3, "360702", &[]),
            ("360702001001", "某社区", 4, "360702001", &[]),
            ("360701", "x", 1, "", &["code"]),
            ("360700", "x", 2, "360700", &["code"]),
            ("36070", "x", 1, "", &["code"]),
            ("3607000", "x", 1, "", &["code"]),
            ("36070a", "x", 1, "", &["code"]),
            ("３６０７００", "x", 1, "", &["code"]),
            ("360702001", "x", 4, "360702", &["code"]),
            ("360700", "x", 1, "360000", &["parent_code"]),
            ("360702", "x", 2, "", &["parent_code"]),
            ("360700", "", 1, "", &["name"]),
            ("360700", "   ", 1, "", &["name"]),
            ("360700", "a\u{0}b", 1, "", &["name"]),
            ("360700", &"长".repeat(65), 1, "", &["name"]),
            ("360700", "x", 0, "", &["level"]),
            ("360700", "x", 5, "", &["level"]),
            ("", "", 9, "", &["name", "level"]),
        ];
        for (code, name, level, parent, want) in table {
            let got = reasons(validate_new_region(code, name, *level, parent));
            assert_eq!(&got, want, "{code} {name} {level} {parent}");
        }
    }

    #[test]
    fn parents_must_be_one_level_up_and_prefix_the_code() -> Result<(), AppError> {
        let county = validate_new_region("360702", "章贡区", 2, "360700")?;
        assert!(check_region_parent(&county, RegionLevel::City, "360700").is_ok());
        assert!(check_region_parent(&county, RegionLevel::City, "360800").is_err());
        assert!(check_region_parent(&county, RegionLevel::County, "360703").is_err());
        let township = validate_new_region("360702001", "街道", 3, "360702")?;
        assert!(check_region_parent(&township, RegionLevel::County, "360702").is_ok());
        assert!(check_region_parent(&township, RegionLevel::County, "360703").is_err());
        Ok(())
    }

    #[test]
    fn placement_and_paths() {
        assert_eq!(child_path(None, "360700"), "360700");
        assert_eq!(child_path(Some("360700"), "360702"), "360700/360702");
        assert!(check_parent_placement("360700/360702", "360700").is_ok());
        assert!(check_parent_placement("360700", "360700").is_ok());
        assert!(check_parent_placement("360700", "360700/360702").is_err());
        assert!(check_parent_placement("360700/360703", "360700/360702").is_err());
    }
}
