//! Leaders owning key cases (领导包案, 重点领办, the "four-do" mechanism):
//! who may own a case, when ownership starts and ends, and who records
//! instructions and progress. Pure: no I/O, no wire or row types.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::auth::policy::path_within;
use crate::cases::domain::{CaseState, LeaderAssignment, LeaderNoteKind};
use crate::cases::rules::{Event, Lifecycle, Subject};
use crate::error::{AppError, Reason};

/// Longest note an assignment carries, and longest release reason.
pub const MAX_NOTE_CHARS: usize = 2_000;
/// Longest instruction (批示) or progress note.
pub const MAX_TEXT_CHARS: usize = 5_000;

/// Regions below this depth (villages) have no leaders who own cases:
/// matters are owned at the township level or above (小事不出村 is the
/// mediators' and the village's work, not a leader's 包案).
const LOWEST_OWNING_DEPTH: usize = 3;

/// The states in which a leader may come to own a case: open ones. A
/// declined, withdrawn or final case is closed; a merged case is handled
/// with its primary (checked apart).
pub const OWNABLE: [CaseState; 7] = [
    CaseState::Registered,
    CaseState::Routed,
    CaseState::Accepted,
    CaseState::Replied,
    CaseState::UnderReview,
    CaseState::Reviewed,
    CaseState::UnderRecheck,
];

/// A staff account proposed as a case's owner, as the directory has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub account_id: Uuid,
    /// Holds the LEADER role.
    pub is_leader: bool,
    pub disabled: bool,
    /// Path of its organization's region; `None` without an organization.
    pub jurisdiction: Option<String>,
}

/// Why an account may not own a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ineligible {
    NotLeader,
    Disabled,
    NoJurisdiction,
    VillageLevel,
    OutsideJurisdiction,
}

impl Ineligible {
    pub fn describe(self) -> &'static str {
        match self {
            Ineligible::NotLeader => "must be a leader (role LEADER)",
            Ineligible::Disabled => "the account is disabled",
            Ineligible::NoJurisdiction => "the leader belongs to no organization",
            Ineligible::VillageLevel => "a leader owns cases at the city, county or township level, not the village",
            Ineligible::OutsideJurisdiction => "the leader's jurisdiction does not hold the case's region",
        }
    }
}

/// The depth of a region path: 1 city, 2 county, 3 township, 4 village.
pub fn depth(path: &str) -> usize {
    path.split('/').count()
}

/// Whether `candidate` may own a case arising in `case_region`: an enabled
/// leader of a city, county or township whose jurisdiction holds it.
pub fn eligible(candidate: &Candidate, case_region: &str) -> Result<(), Ineligible> {
    if !candidate.is_leader {
        return Err(Ineligible::NotLeader);
    }
    if candidate.disabled {
        return Err(Ineligible::Disabled);
    }
    let Some(root) = candidate.jurisdiction.as_deref() else {
        return Err(Ineligible::NoJurisdiction);
    };
    if depth(root) > LOWEST_OWNING_DEPTH {
        return Err(Ineligible::VillageLevel);
    }
    if !path_within(case_region, root) {
        return Err(Ineligible::OutsideJurisdiction);
    }
    Ok(())
}

/// Who makes a leader the owner of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assigner {
    /// A clerk of the petition bureau of the jurisdiction.
    Bureau,
    /// A leader, who assigns only leaders below their own level.
    Leader { jurisdiction: String },
    /// Another feature in its own transaction (a reception day's first
    /// receiver): its own policy decided.
    System,
}

/// What is asked of a case's ownership, with the facts its rule needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A leader takes the case.
    Take { leader: Candidate, note: String },
    /// A leader is made the owner (`None`: no such account).
    Assign { leader: Option<Candidate>, by: Assigner, how: LeaderAssignment, note: String },
    /// The ownership ends.
    Release { reason: String },
    /// The owner records an instruction or progress; `by` is who asks.
    Record { by: Uuid, kind: LeaderNoteKind, text: String },
}

fn precondition(case_id: Uuid, reason: Reason, message: impl Into<String>) -> AppError {
    AppError::FailedPrecondition { reason, message: message.into(), subject: format!("cases/{case_id}") }
}

fn may_start(subject: &Subject, case: &Lifecycle) -> Result<(), AppError> {
    if !OWNABLE.contains(&case.state) {
        return Err(precondition(
            subject.id,
            Reason::InvalidState,
            format!("a leader owns only an open case; the case is {:?}", case.state),
        ));
    }
    if case.merged_into.is_some() {
        return Err(precondition(
            subject.id,
            Reason::InvalidState,
            "the case is merged: its primary case is the one to own",
        ));
    }
    Ok(())
}

fn required_text(field: &str, text: &str, max: usize) -> Result<(), AppError> {
    let chars = text.trim().chars().count();
    if chars == 0 {
        return Err(AppError::invalid(field, "is required"));
    }
    if chars > max {
        return Err(AppError::invalid(field, format!("must be at most {max} characters")));
    }
    Ok(())
}

fn note_fits(note: &str) -> Result<(), AppError> {
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(AppError::invalid("note", format!("must be at most {MAX_NOTE_CHARS} characters")));
    }
    Ok(())
}

/// Decides `command` against `case` (the lifecycle of `subject`) on
/// `today`: the events to record, or why not.
pub fn decide(subject: &Subject, case: &Lifecycle, command: Command, today: NaiveDate) -> Result<Vec<Event>, AppError> {
    let case_id = subject.id;
    match command {
        Command::Take { leader, note } => {
            may_start(subject, case)?;
            note_fits(&note)?;
            if let Err(why) = eligible(&leader, &subject.region_path) {
                let reason = match why {
                    Ineligible::OutsideJurisdiction => Reason::OutsideJurisdiction,
                    _ => Reason::PermissionDenied,
                };
                return Err(AppError::permission_denied(
                    reason,
                    format!("you may not own this case: {}", why.describe()),
                ));
            }
            if let Some(owner) = case.owning_leader_id {
                let whose = if owner == leader.account_id { "you already own it" } else { "another leader owns it" };
                return Err(precondition(
                    case_id,
                    Reason::CaseAlreadyOwned,
                    format!("{whose}: the petition bureau reassigns an owned case"),
                ));
            }
            Ok(vec![Event::LeaderAssigned {
                leader_account_id: leader.account_id,
                previous_leader_account_id: None,
                how: LeaderAssignment::Took,
                note,
                assigned_on: today,
            }])
        }
        Command::Assign { leader, by, how, note } => {
            may_start(subject, case)?;
            note_fits(&note)?;
            let leader = leader.ok_or_else(|| AppError::invalid("leader_account_id", "no such account"))?;
            eligible(&leader, &subject.region_path)
                .map_err(|why| AppError::invalid("leader_account_id", why.describe()))?;
            if let Assigner::Leader { jurisdiction } = &by {
                // Eligible, so it has one.
                let below = leader
                    .jurisdiction
                    .as_deref()
                    .is_some_and(|root| root != jurisdiction && path_within(root, jurisdiction));
                if !below {
                    return Err(AppError::permission_denied(
                        Reason::PermissionDenied,
                        "a leader assigns cases only to leaders below their own level",
                    ));
                }
            }
            match case.owning_leader_id {
                Some(owner) if owner == leader.account_id => {
                    Err(precondition(case_id, Reason::CaseAlreadyOwned, "this leader already owns the case"))
                }
                // The first receiver owns a matter only when no one does.
                Some(_) if how == LeaderAssignment::FirstReception => {
                    Err(precondition(case_id, Reason::CaseAlreadyOwned, "another leader already owns the case"))
                }
                previous => Ok(vec![Event::LeaderAssigned {
                    leader_account_id: leader.account_id,
                    previous_leader_account_id: previous,
                    how,
                    note,
                    assigned_on: today,
                }]),
            }
        }
        Command::Release { reason } => {
            required_text("reason", &reason, MAX_NOTE_CHARS)?;
            let Some(owner) = case.owning_leader_id else {
                return Err(precondition(case_id, Reason::InvalidState, "no leader owns the case"));
            };
            Ok(vec![Event::LeaderReleased { leader_account_id: owner, reason }])
        }
        Command::Record { by, kind, text } => {
            if case.owning_leader_id != Some(by) {
                return Err(AppError::permission_denied(
                    Reason::PermissionDenied,
                    "only the leader who owns the case records instructions and progress",
                ));
            }
            required_text("text", &text, MAX_TEXT_CHARS)?;
            Ok(vec![match kind {
                LeaderNoteKind::Instruction => Event::LeaderInstructed { text },
                LeaderNoteKind::Progress => Event::LeaderProgressRecorded { text },
            }])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::rules::WorkCalendar;
    use crate::cases::domain::{CaseKind, Track};
    use crate::cases::rules::{apply, register};

    const CASE: Uuid = Uuid::from_u128(1);
    const LEADER: Uuid = Uuid::from_u128(2);
    const OTHER: Uuid = Uuid::from_u128(3);
    const CITY: &str = "360700";
    const COUNTY: &str = "360700/360702";
    const TOWNSHIP: &str = "360700/360702/360702001";
    const VILLAGE: &str = "360700/360702/360702001/360702001001";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
    }

    fn subject(region: &str) -> Subject {
        Subject { id: CASE, kind: CaseKind::Claim, region_path: region.into(), petitioner_id: Uuid::from_u128(9) }
    }

    fn leader(id: Uuid, jurisdiction: &str) -> Candidate {
        Candidate { account_id: id, is_leader: true, disabled: false, jurisdiction: Some(jurisdiction.into()) }
    }

    fn case_in(state: CaseState) -> Lifecycle {
        let calendar = WorkCalendar::default();
        let mut case = apply(None, &register(Track::Normal, today(), &calendar));
        case.state = state;
        case
    }

    fn owned_by(owner: Uuid) -> Lifecycle {
        let event = Event::LeaderAssigned {
            leader_account_id: owner,
            previous_leader_account_id: None,
            how: LeaderAssignment::Took,
            note: String::new(),
            assigned_on: today(),
        };
        apply(Some(case_in(CaseState::Accepted)), &event)
    }

    fn code(result: Result<Vec<Event>, AppError>) -> String {
        match result {
            Ok(_) => "OK".into(),
            Err(AppError::InvalidArgument(v)) => format!("INVALID:{}", v[0].field),
            Err(AppError::FailedPrecondition { reason, subject, .. }) => {
                assert_eq!(subject, format!("cases/{CASE}"));
                format!("PRECONDITION:{}", crate::error::reason_name(reason))
            }
            Err(AppError::PermissionDenied { reason, .. }) => format!("DENIED:{}", crate::error::reason_name(reason)),
            Err(other) => format!("{other:?}"),
        }
    }

    #[test]
    fn who_may_own_a_case() {
        let region = "360700/360702/360702001/360702001001";
        let mut not_leader = leader(LEADER, COUNTY);
        not_leader.is_leader = false;
        let mut disabled = leader(LEADER, COUNTY);
        disabled.disabled = true;
        let homeless = Candidate { jurisdiction: None, ..leader(LEADER, COUNTY) };
        let table: &[(&str, Candidate, &str, Result<(), Ineligible>)] = &[
            ("city leader", leader(LEADER, CITY), region, Ok(())),
            ("county leader", leader(LEADER, COUNTY), region, Ok(())),
            ("township leader", leader(LEADER, TOWNSHIP), region, Ok(())),
            ("township leader, own township", leader(LEADER, TOWNSHIP), TOWNSHIP, Ok(())),
            ("village leader", leader(LEADER, VILLAGE), region, Err(Ineligible::VillageLevel)),
            ("other county", leader(LEADER, "360700/360731"), region, Err(Ineligible::OutsideJurisdiction)),
            ("sibling prefix", leader(LEADER, "360700/36070"), region, Err(Ineligible::OutsideJurisdiction)),
            ("township leader, county case", leader(LEADER, TOWNSHIP), COUNTY, Err(Ineligible::OutsideJurisdiction)),
            ("not a leader", not_leader, region, Err(Ineligible::NotLeader)),
            ("disabled", disabled, region, Err(Ineligible::Disabled)),
            ("no organization", homeless, region, Err(Ineligible::NoJurisdiction)),
        ];
        for (what, candidate, case_region, want) in table {
            assert_eq!(eligible(candidate, case_region), *want, "{what}");
        }
    }

    #[test]
    fn ownership_starts_only_on_an_open_unmerged_case() {
        for state in CaseState::ALL {
            let take = Command::Take { leader: leader(LEADER, COUNTY), note: String::new() };
            let got = code(decide(&subject(TOWNSHIP), &case_in(*state), take, today()));
            let assign = Command::Assign {
                leader: Some(leader(LEADER, COUNTY)),
                by: Assigner::Bureau,
                how: LeaderAssignment::Assigned,
                note: String::new(),
            };
            let assigned = code(decide(&subject(TOWNSHIP), &case_in(*state), assign, today()));
            let want = if state.is_open() { "OK" } else { "PRECONDITION:INVALID_STATE" };
            assert_eq!((got.as_str(), assigned.as_str()), (want, want), "{state:?}");
            assert_eq!(OWNABLE.contains(state), state.is_open(), "{state:?}");
        }
        let mut merged = case_in(CaseState::Accepted);
        merged.merged_into = Some(OTHER);
        let take = Command::Take { leader: leader(LEADER, COUNTY), note: String::new() };
        assert_eq!(code(decide(&subject(TOWNSHIP), &merged, take, today())), "PRECONDITION:INVALID_STATE");
    }

    #[test]
    fn taking_and_assigning() {
        let open = case_in(CaseState::Routed);
        let assign = |leader: Option<Candidate>, by: Assigner, how: LeaderAssignment| Command::Assign {
            leader,
            by,
            how,
            note: "请牵头化解".into(),
        };
        let take = |c: Candidate| Command::Take { leader: c, note: String::new() };
        let assigned = LeaderAssignment::Assigned;
        let first = LeaderAssignment::FirstReception;
        let table: Vec<(&str, Lifecycle, Command, &str)> = vec![
            ("take an unowned case", open.clone(), take(leader(LEADER, COUNTY)), "OK"),
            ("take one's own case", owned_by(LEADER), take(leader(LEADER, COUNTY)), "PRECONDITION:CASE_ALREADY_OWNED"),
            ("take another's case", owned_by(OTHER), take(leader(LEADER, COUNTY)), "PRECONDITION:CASE_ALREADY_OWNED"),
            ("village leader takes", open.clone(), take(leader(LEADER, VILLAGE)), "DENIED:PERMISSION_DENIED"),
            (
                "outside leader takes",
                open.clone(),
                take(leader(LEADER, "360700/360731")),
                "DENIED:OUTSIDE_JURISDICTION",
            ),
            ("bureau assigns", open.clone(), assign(Some(leader(LEADER, TOWNSHIP)), Assigner::Bureau, assigned), "OK"),
            (
                "bureau reassigns",
                owned_by(OTHER),
                assign(Some(leader(LEADER, COUNTY)), Assigner::Bureau, assigned),
                "OK",
            ),
            (
                "assign the owner again",
                owned_by(LEADER),
                assign(Some(leader(LEADER, COUNTY)), Assigner::Bureau, assigned),
                "PRECONDITION:CASE_ALREADY_OWNED",
            ),
            ("assign no account", open.clone(), assign(None, Assigner::Bureau, assigned), "INVALID:leader_account_id"),
            (
                "assign a non-leader",
                open.clone(),
                assign(Some(Candidate { is_leader: false, ..leader(LEADER, COUNTY) }), Assigner::Bureau, assigned),
                "INVALID:leader_account_id",
            ),
            (
                "assign a village leader",
                open.clone(),
                assign(Some(leader(LEADER, VILLAGE)), Assigner::Bureau, assigned),
                "INVALID:leader_account_id",
            ),
            (
                "city leader assigns a county leader",
                open.clone(),
                assign(Some(leader(LEADER, COUNTY)), Assigner::Leader { jurisdiction: CITY.into() }, assigned),
                "OK",
            ),
            (
                "county leader assigns a county leader",
                open.clone(),
                assign(Some(leader(LEADER, COUNTY)), Assigner::Leader { jurisdiction: COUNTY.into() }, assigned),
                "DENIED:PERMISSION_DENIED",
            ),
            (
                "township leader assigns a county leader",
                open.clone(),
                assign(Some(leader(LEADER, COUNTY)), Assigner::Leader { jurisdiction: TOWNSHIP.into() }, assigned),
                "DENIED:PERMISSION_DENIED",
            ),
            (
                "first receiver, unowned",
                open.clone(),
                assign(Some(leader(LEADER, COUNTY)), Assigner::System, first),
                "OK",
            ),
            (
                "first receiver, owned",
                owned_by(OTHER),
                assign(Some(leader(LEADER, COUNTY)), Assigner::System, first),
                "PRECONDITION:CASE_ALREADY_OWNED",
            ),
            (
                "note too long",
                open.clone(),
                Command::Take { leader: leader(LEADER, COUNTY), note: "长".repeat(MAX_NOTE_CHARS + 1) },
                "INVALID:note",
            ),
        ];
        for (what, case, command, want) in table {
            assert_eq!(code(decide(&subject(TOWNSHIP), &case, command, today())), want, "{what}");
        }
    }

    #[test]
    fn a_reassignment_records_the_previous_owner_and_the_day() -> Result<(), AppError> {
        let command = Command::Assign {
            leader: Some(leader(LEADER, COUNTY)),
            by: Assigner::Bureau,
            how: LeaderAssignment::Assigned,
            note: String::new(),
        };
        let events = decide(&subject(TOWNSHIP), &owned_by(OTHER), command, today())?;
        assert_eq!(
            events,
            [Event::LeaderAssigned {
                leader_account_id: LEADER,
                previous_leader_account_id: Some(OTHER),
                how: LeaderAssignment::Assigned,
                note: String::new(),
                assigned_on: today(),
            }]
        );
        let after = events.iter().fold(owned_by(OTHER), |c, e| apply(Some(c), e));
        assert_eq!((after.owning_leader_id, after.owned_since), (Some(LEADER), Some(today())));
        let released = decide(&subject(TOWNSHIP), &after, Command::Release { reason: "调整分工".into() }, today())?;
        let after = released.iter().fold(after, |c, e| apply(Some(c), e));
        assert_eq!((after.owning_leader_id, after.owned_since), (None, None));
        Ok(())
    }

    #[test]
    fn releasing_and_recording() {
        let record = |by: Uuid, kind: LeaderNoteKind, text: &str| Command::Record { by, kind, text: text.into() };
        let release = |reason: &str| Command::Release { reason: reason.into() };
        let closed = {
            let mut c = owned_by(LEADER);
            c.state = CaseState::Final;
            c
        };
        let table: Vec<(&str, Lifecycle, Command, &str)> = vec![
            ("release with a reason", owned_by(LEADER), release("已化解"), "OK"),
            ("release a closed case", closed.clone(), release("已办结"), "OK"),
            ("release without a reason", owned_by(LEADER), release("  "), "INVALID:reason"),
            ("release too long", owned_by(LEADER), release(&"长".repeat(MAX_NOTE_CHARS + 1)), "INVALID:reason"),
            ("release an unowned case", case_in(CaseState::Accepted), release("r"), "PRECONDITION:INVALID_STATE"),
            ("owner instructs", owned_by(LEADER), record(LEADER, LeaderNoteKind::Instruction, "限期办结"), "OK"),
            ("owner records progress", owned_by(LEADER), record(LEADER, LeaderNoteKind::Progress, "已约谈"), "OK"),
            ("owner follows a closed case", closed, record(LEADER, LeaderNoteKind::Progress, "回访"), "OK"),
            (
                "another leader instructs",
                owned_by(OTHER),
                record(LEADER, LeaderNoteKind::Instruction, "x"),
                "DENIED:PERMISSION_DENIED",
            ),
            (
                "instruction on an unowned case",
                case_in(CaseState::Accepted),
                record(LEADER, LeaderNoteKind::Instruction, "x"),
                "DENIED:PERMISSION_DENIED",
            ),
            ("empty text", owned_by(LEADER), record(LEADER, LeaderNoteKind::Instruction, ""), "INVALID:text"),
            (
                "text too long",
                owned_by(LEADER),
                record(LEADER, LeaderNoteKind::Progress, &"长".repeat(MAX_TEXT_CHARS + 1)),
                "INVALID:text",
            ),
        ];
        for (what, case, command, want) in table {
            assert_eq!(code(decide(&subject(TOWNSHIP), &case, command, today())), want, "{what}");
        }
    }

    #[test]
    fn instructions_and_progress_are_their_own_events_and_change_no_ownership() -> Result<(), AppError> {
        for (kind, want) in [
            (LeaderNoteKind::Instruction, Event::LeaderInstructed { text: "t".into() }),
            (LeaderNoteKind::Progress, Event::LeaderProgressRecorded { text: "t".into() }),
        ] {
            let events = decide(
                &subject(TOWNSHIP),
                &owned_by(LEADER),
                Command::Record { by: LEADER, kind, text: "t".into() },
                today(),
            )?;
            assert_eq!(events, [want]);
            let after = apply(Some(owned_by(LEADER)), &events[0]);
            assert_eq!(after, owned_by(LEADER));
        }
        Ok(())
    }

    #[test]
    fn lifecycles_stored_before_leaders_still_load() -> Result<(), serde_json::Error> {
        let stored = serde_json::to_value(case_in(CaseState::Accepted))?;
        assert!(stored.get("owning_leader_id").is_none(), "not stored while empty");
        let loaded: Lifecycle = serde_json::from_value(stored)?;
        assert_eq!(loaded.owning_leader_id, None);
        Ok(())
    }
}
