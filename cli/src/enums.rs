//! Enum values by their short names, both ways: `ACCEPTED` for
//! `CASE_STATE_ACCEPTED`, on the command line, in files and in output.

use petition_sdk::pb;

/// A protobuf enum whose value names share a prefix.
pub trait Short: Sized + Copy + TryFrom<i32> + Into<i32> {
    const PREFIX: &'static str;
    /// What a value is called in messages ("case state").
    const WHAT: &'static str;
    fn from_name(name: &str) -> Option<Self>;
    fn name(self) -> &'static str;
}

macro_rules! short {
    ($($ty:ty = $prefix:literal, $what:literal;)*) => {$(
        impl Short for $ty {
            const PREFIX: &'static str = $prefix;
            const WHAT: &'static str = $what;
            fn from_name(name: &str) -> Option<Self> {
                <$ty>::from_str_name(name)
            }
            fn name(self) -> &'static str {
                self.as_str_name()
            }
        }
    )*};
}

short! {
    pb::CaseState = "CASE_STATE_", "case state";
    pb::CaseTrack = "CASE_TRACK_", "track";
    pb::CaseKind = "CASE_KIND_", "case kind";
    pb::CaseChannel = "CASE_CHANNEL_", "channel";
    pb::CaseEventType = "CASE_EVENT_TYPE_", "case event type";
    pb::DeclineReason = "DECLINE_REASON_", "decline reason";
    pb::OpinionDecision = "OPINION_DECISION_", "decision";
    pb::FollowUpKind = "FOLLOW_UP_KIND_", "follow-up kind";
    pb::LeaderNoteKind = "LEADER_NOTE_KIND_", "note kind";
    pb::RegionLevel = "REGION_LEVEL_", "region level";
    pb::OrganizationKind = "ORGANIZATION_KIND_", "organization kind";
    pb::Role = "ROLE_", "role";
    pb::CalendarDayKind = "CALENDAR_DAY_KIND_", "calendar day kind";
    pb::AggregateType = "AGGREGATE_TYPE_", "aggregate type";
}

/// The value named `name`, with or without the prefix, in any case.
pub fn parse<E: Short>(name: &str) -> Result<E, String> {
    let upper = name.trim().to_uppercase().replace('-', "_");
    let full = if upper.starts_with(E::PREFIX) { upper } else { format!("{}{upper}", E::PREFIX) };
    match E::from_name(&full) {
        Some(value) if value.into() != 0 => Ok(value),
        _ => {
            let names: Vec<&str> =
                (1..64).filter_map(|i| E::try_from(i).ok()).map(|e| short(e.name(), E::PREFIX)).collect();
            Err(format!("no {} {name:?} (one of {})", E::WHAT, names.join(", ")))
        }
    }
}

/// The short name of the value `value` (`UNKNOWN` for one this build does not know).
pub fn name<E: Short>(value: i32) -> String {
    E::try_from(value).map(|e| short(e.name(), E::PREFIX)).unwrap_or("UNKNOWN").to_owned()
}

/// The short names of `values`, joined by `,`.
pub fn names<E: Short>(values: &[i32]) -> String {
    values.iter().map(|v| name::<E>(*v)).collect::<Vec<_>>().join(",")
}

fn short<'a>(full: &'a str, prefix: &str) -> &'a str {
    full.strip_prefix(prefix).unwrap_or(full)
}

/// A list of values separated by `,`, `;` or spaces, as a file's column gives roles.
pub fn parse_list<E: Short>(text: &str) -> Result<Vec<E>, String> {
    text.split([',', ';', ' ']).filter(|s| !s.trim().is_empty()).map(parse::<E>).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_both_ways() {
        assert_eq!(parse::<pb::CaseState>("accepted"), Ok(pb::CaseState::Accepted));
        assert_eq!(parse::<pb::CaseState>("CASE_STATE_UNDER_REVIEW"), Ok(pb::CaseState::UnderReview));
        assert_eq!(parse::<pb::Role>("unit-lead"), Ok(pb::Role::UnitLead));
        assert!(parse::<pb::CaseState>("unspecified").is_err());
        let error = parse::<pb::CalendarDayKind>("weekend").err().unwrap_or_default();
        assert!(error.contains("HOLIDAY, WORKDAY"), "{error}");
        assert_eq!(name::<pb::CaseTrack>(1), "URGENT");
        assert_eq!(name::<pb::CaseTrack>(99), "UNKNOWN");
        assert_eq!(parse_list::<pb::Role>("CLERK; handler"), Ok(vec![pb::Role::Clerk, pb::Role::Handler]));
    }
}
