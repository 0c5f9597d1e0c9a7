//! The backlog rules (pure, no I/O): when a case qualifies for designation
//! by rule, the four checks (一案四查), what lets a backlog case resolve.
//!
//! ```text
//! designated (rule or decision) → DESIGNATED
//! DESIGNATED --RecordChecks | RecordAccountability--> DESIGNATED
//! DESIGNATED --Resolve (four checks in and consistent)--> RESOLVED
//! DESIGNATED --Withdraw (designated in error)--> WITHDRAWN
//! RESOLVED, WITHDRAWN: nothing more (INVALID_STATE)
//! ```
//!
//! Readings chosen: 化解 means the reasonable claim was resolved, so a
//! (partly) reasonable claim resolves the backlog only when check 3 says
//! RESOLVED (PARTLY_RESOLVED and NOT_RESOLVED are findings while the work
//! goes on); NOT_APPLICABLE goes with an UNREASONABLE claim and only with
//! it; responsibility NOT_CARRIED_OUT needs at least one accountability
//! record (问责) first.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::domain::{
    AccountabilityMeasure, BacklogCheck, BacklogReason, BacklogState, ClaimReasonableness, ClaimResolution,
    ResponsibilityFinding, RootCauseCategory,
};
use crate::cases::domain::CaseState;
use crate::error::{AppError, Reason};

/// Longest free text (findings, basis, detail, summary), in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Longest name of someone held accountable.
pub const MAX_NAME_CHARS: usize = 100;

/// Default of the designation rule's OPEN_TOO_LONG: 90 calendar days is
/// the whole ordinary procedure without an extension — 15 days to route
/// (Art.22), 15 to accept (Art.23) and 60 to reply (Art.34). A matter still
/// with the organizations after it has overrun every unextended limit.
pub const DEFAULT_OPEN_DAYS: u32 = 90;
/// Default of REPEATED: three linked repeats. A matter filed again three
/// times while it is in progress is one the procedure is not settling;
/// three is also the number of levels a matter may pass (reply, review,
/// re-review), so a petitioner who uses every level lawfully stays below it.
pub const DEFAULT_REPEATS: u32 = 3;
/// Largest settings a server accepts.
pub const MAX_OPEN_DAYS: u32 = 3_650;
pub const MAX_REPEATS: u32 = 1_000;

/// The designation rule's settings (`BacklogConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// OPEN_TOO_LONG after more than this many days (0: off).
    pub open_days: u32,
    /// REPEATED from this many linked repeats (0: off).
    pub repeats: u32,
    /// PETITIONS_AFTER_FINAL on or off.
    pub after_final: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { open_days: DEFAULT_OPEN_DAYS, repeats: DEFAULT_REPEATS, after_final: true }
    }
}

/// What the designation rule knows of a case. Counts are of facts after
/// the case's last designation closed (all of them when it has none): a
/// resolved backlog is designated again only on new facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub state: CaseState,
    pub registered_on: NaiveDate,
    /// Beijing day the last designation was resolved or withdrawn.
    pub last_closed_on: Option<NaiveDate>,
    /// Whether a designation is open now.
    pub designated: bool,
    /// Linked repeat filings of the matter (`repeat_of` this case).
    pub repeats: u32,
    /// Filings declined as concluded after re-review (Art.36) naming this
    /// case: the matter petitioned again after it became final.
    pub petitions_after_final: u32,
    pub today: NaiveDate,
}

/// Whether the case is still with the organizations: not yet answered at
/// its current level. REPLIED and REVIEWED wait for the petitioner (their
/// windows to ask for review), and closed cases are done.
pub fn with_the_organizations(state: CaseState) -> bool {
    use CaseState::*;
    matches!(state, Registered | Routed | Accepted | UnderReview | UnderRecheck)
}

/// The `cases.state` values of [`with_the_organizations`] (the store's
/// candidate query and its partial index use the same list).
pub const OPEN_STATES: [i16; 5] = [1, 2, 3, 6, 8];

/// Why the case qualifies for designation by rule, if it does: a matter
/// petitioned again after it became final first, then repeats, then time.
/// A case with an open designation never qualifies.
pub fn qualifies(facts: &Facts, policy: &Policy) -> Option<BacklogReason> {
    if facts.designated {
        return None;
    }
    if policy.after_final && facts.state == CaseState::Final && facts.petitions_after_final > 0 {
        return Some(BacklogReason::PetitionsAfterFinal);
    }
    if policy.repeats > 0 && facts.repeats >= policy.repeats {
        return Some(BacklogReason::Repeated);
    }
    let since = facts.last_closed_on.map_or(facts.registered_on, |closed| closed.max(facts.registered_on));
    let days = (facts.today - since).num_days();
    if policy.open_days > 0 && with_the_organizations(facts.state) && days > i64::from(policy.open_days) {
        return Some(BacklogReason::OpenTooLong);
    }
    None
}

/// The designation's detail for `reason` on `facts` (Chinese, as staff
/// read it).
pub fn rule_detail(reason: BacklogReason, facts: &Facts) -> String {
    match reason {
        BacklogReason::OpenTooLong => {
            format!("自{}登记，已办理{}天仍未办结", facts.registered_on, (facts.today - facts.registered_on).num_days())
        }
        BacklogReason::Repeated => format!("同一事项重复信访{}次", facts.repeats),
        BacklogReason::PetitionsAfterFinal => {
            format!("事项经复核终结后仍信访{}次", facts.petitions_after_final)
        }
        BacklogReason::ByDecision => String::new(),
    }
}

/// Check 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootCause {
    pub category: RootCauseCategory,
    pub findings: String,
}

/// Check 2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimReasonable {
    pub reasonableness: ClaimReasonableness,
    pub basis: String,
}

/// Check 3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimResolved {
    pub resolution: ClaimResolution,
    pub findings: String,
}

/// Check 4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Responsibility {
    pub finding: ResponsibilityFinding,
    pub findings: String,
}

/// Checks as one record carries them: the ones it records are set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<RootCause>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_reasonable: Option<ClaimReasonable>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_resolved: Option<ClaimResolved>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsibility: Option<Responsibility>,
}

impl Checks {
    pub fn is_empty(&self) -> bool {
        self.root_cause.is_none()
            && self.claim_reasonable.is_none()
            && self.claim_resolved.is_none()
            && self.responsibility.is_none()
    }
}

/// A check as stored: its values, when and by whom it was last recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped<T> {
    pub value: T,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: Uuid,
}

/// Someone held accountable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accountability {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Uuid>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
    pub measure: AccountabilityMeasure,
    pub detail: String,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: Uuid,
}

/// Everything the rules track about a backlog case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub state: BacklogState,
    pub case_id: Uuid,
    pub reason: BacklogReason,
    pub detail: String,
    pub by_rule: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub designated_by: Option<Uuid>,
    pub designated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<Stamped<RootCause>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_reasonable: Option<Stamped<ClaimReasonable>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_resolved: Option<Stamped<ClaimResolved>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responsibility: Option<Stamped<Responsibility>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accountability: Vec<Accountability>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
}

impl Lifecycle {
    /// The checks not recorded yet, in order.
    pub fn missing_checks(&self) -> Vec<BacklogCheck> {
        let mut missing = Vec::new();
        if self.root_cause.is_none() {
            missing.push(BacklogCheck::RootCause);
        }
        if self.claim_reasonable.is_none() {
            missing.push(BacklogCheck::ClaimReasonable);
        }
        if self.claim_resolved.is_none() {
            missing.push(BacklogCheck::ClaimResolved);
        }
        if self.responsibility.is_none() {
            missing.push(BacklogCheck::Responsibility);
        }
        missing
    }
}

/// What happened to a backlog case; folding the events gives the lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Designated {
        case_id: Uuid,
        reason: BacklogReason,
        detail: String,
        by_rule: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<Uuid>,
        at: DateTime<Utc>,
    },
    ChecksRecorded {
        checks: Checks,
        by: Uuid,
        at: DateTime<Utc>,
    },
    AccountabilityRecorded {
        accountability: Accountability,
    },
    Resolved {
        summary: String,
        at: DateTime<Utc>,
    },
    Withdrawn {
        reason: String,
        at: DateTime<Utc>,
    },
}

/// Someone to hold accountable, as the request names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub account_id: Option<Uuid>,
    pub name: String,
    pub organization_id: Option<Uuid>,
    pub measure: AccountabilityMeasure,
    pub detail: String,
}

/// What a caller asks of a backlog case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    RecordChecks(Checks),
    RecordAccountability(Person),
    Resolve { summary: String },
    Withdraw { reason: String },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Self::RecordChecks(_) => "RecordBacklogChecks",
            Self::RecordAccountability(_) => "RecordBacklogAccountability",
            Self::Resolve { .. } => "ResolveBacklogCase",
            Self::Withdraw { .. } => "WithdrawBacklogDesignation",
        }
    }
}

/// The first event of a designation.
pub fn designate(case_id: Uuid, reason: BacklogReason, detail: String, by: Option<Uuid>, at: DateTime<Utc>) -> Event {
    Event::Designated { case_id, reason, detail, by_rule: by.is_none(), by, at }
}

/// What keeps a backlog case from resolving: `(subject, description)`
/// per missing or inconsistent check, `accountability` when responsibility
/// was not carried out and no one was held accountable. Empty: it may
/// resolve.
pub fn unmet(life: &Lifecycle) -> Vec<(String, String)> {
    let mut unmet: Vec<(String, String)> = life
        .missing_checks()
        .into_iter()
        .map(|check| (check.field().to_owned(), "is not recorded yet".to_owned()))
        .collect();
    if let (Some(reasonable), Some(resolved)) = (&life.claim_reasonable, &life.claim_resolved) {
        use ClaimReasonableness as R;
        use ClaimResolution as S;
        let problem = match (reasonable.value.reasonableness, resolved.value.resolution) {
            (R::Unreasonable, S::NotApplicable) | (R::Reasonable | R::PartlyReasonable, S::Resolved) => None,
            (R::Unreasonable, _) => Some("the claim is UNREASONABLE: record NOT_APPLICABLE"),
            (R::Reasonable | R::PartlyReasonable, S::NotApplicable) => {
                Some("NOT_APPLICABLE goes only with an UNREASONABLE claim")
            }
            (R::Reasonable | R::PartlyReasonable, S::PartlyResolved | S::NotResolved) => {
                Some("a reasonable claim must be RESOLVED before the backlog is resolved (化解)")
            }
        };
        if let Some(problem) = problem {
            unmet.push((BacklogCheck::ClaimResolved.field().to_owned(), problem.to_owned()));
        }
    }
    if life.responsibility.as_ref().is_some_and(|r| r.value.finding == ResponsibilityFinding::NotCarriedOut)
        && life.accountability.is_empty()
    {
        unmet.push((
            "accountability".to_owned(),
            "responsibility was NOT_CARRIED_OUT: record who was held accountable first".to_owned(),
        ));
    }
    unmet
}

/// Decides `command` by `actor` against backlog case `id` in `life` at
/// `now`. No events when the checks sent are the ones recorded.
pub fn decide(
    id: Uuid,
    life: &Lifecycle,
    command: Command,
    actor: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, AppError> {
    if life.state != BacklogState::Designated {
        return Err(AppError::FailedPrecondition {
            reason: Reason::InvalidState,
            message: format!("{}: the backlog case is {:?}: nothing more is recorded", command.name(), life.state),
            subject: format!("backlog_cases/{id}"),
        });
    }
    match command {
        Command::RecordChecks(mut checks) => {
            // A check sent again with the values it has records nothing.
            if same(life.root_cause.as_ref(), &checks.root_cause) {
                checks.root_cause = None;
            }
            if same(life.claim_reasonable.as_ref(), &checks.claim_reasonable) {
                checks.claim_reasonable = None;
            }
            if same(life.claim_resolved.as_ref(), &checks.claim_resolved) {
                checks.claim_resolved = None;
            }
            if same(life.responsibility.as_ref(), &checks.responsibility) {
                checks.responsibility = None;
            }
            if checks.is_empty() {
                return Ok(Vec::new());
            }
            Ok(vec![Event::ChecksRecorded { checks, by: actor, at: now }])
        }
        Command::RecordAccountability(p) => Ok(vec![Event::AccountabilityRecorded {
            accountability: Accountability {
                account_id: p.account_id,
                name: p.name,
                organization_id: p.organization_id,
                measure: p.measure,
                detail: p.detail,
                recorded_at: now,
                recorded_by: actor,
            },
        }]),
        Command::Resolve { summary } => {
            let violations = unmet(life);
            if !violations.is_empty() {
                let subjects: Vec<&str> = violations.iter().map(|(s, _)| s.as_str()).collect();
                return Err(AppError::Unmet {
                    reason: Reason::BacklogChecksIncomplete,
                    message: format!("the four checks do not allow resolving yet: {}", subjects.join(", ")),
                    violations,
                });
            }
            Ok(vec![Event::Resolved { summary, at: now }])
        }
        Command::Withdraw { reason } => Ok(vec![Event::Withdrawn { reason, at: now }]),
    }
}

/// Whether the check `sent` is the one `stored`.
fn same<T: PartialEq>(stored: Option<&Stamped<T>>, sent: &Option<T>) -> bool {
    matches!((stored, sent), (Some(s), Some(v)) if &s.value == v)
}

fn stamp<T: Clone>(value: &Option<T>, by: Uuid, at: DateTime<Utc>, old: Option<Stamped<T>>) -> Option<Stamped<T>> {
    match value {
        Some(value) => Some(Stamped { value: value.clone(), recorded_at: at, recorded_by: by }),
        None => old,
    }
}

/// The lifecycle after `event`.
pub fn apply(life: Option<Lifecycle>, event: &Event) -> Lifecycle {
    let mut life = match (life, event) {
        (_, Event::Designated { case_id, reason, detail, by_rule, by, at }) => {
            return Lifecycle {
                state: BacklogState::Designated,
                case_id: *case_id,
                reason: *reason,
                detail: detail.clone(),
                by_rule: *by_rule,
                designated_by: *by,
                designated_at: *at,
                root_cause: None,
                claim_reasonable: None,
                claim_resolved: None,
                responsibility: None,
                accountability: Vec::new(),
                resolution_summary: None,
                withdrawal_reason: None,
                closed_at: None,
            };
        }
        (Some(life), _) => life,
        // A log must open with Designated; anything else is a bug the fold
        // test catches, kept total here.
        (None, _) => Lifecycle {
            state: BacklogState::Designated,
            case_id: Uuid::nil(),
            reason: BacklogReason::ByDecision,
            detail: String::new(),
            by_rule: false,
            designated_by: None,
            designated_at: DateTime::<Utc>::MIN_UTC,
            root_cause: None,
            claim_reasonable: None,
            claim_resolved: None,
            responsibility: None,
            accountability: Vec::new(),
            resolution_summary: None,
            withdrawal_reason: None,
            closed_at: None,
        },
    };
    match event {
        Event::Designated { .. } => {}
        Event::ChecksRecorded { checks, by, at } => {
            life.root_cause = stamp(&checks.root_cause, *by, *at, life.root_cause.take());
            life.claim_reasonable = stamp(&checks.claim_reasonable, *by, *at, life.claim_reasonable.take());
            life.claim_resolved = stamp(&checks.claim_resolved, *by, *at, life.claim_resolved.take());
            life.responsibility = stamp(&checks.responsibility, *by, *at, life.responsibility.take());
        }
        Event::AccountabilityRecorded { accountability } => life.accountability.push(accountability.clone()),
        Event::Resolved { summary, at } => {
            life.state = BacklogState::Resolved;
            life.resolution_summary = Some(summary.clone());
            life.closed_at = Some(*at);
        }
        Event::Withdrawn { reason, at } => {
            life.state = BacklogState::Withdrawn;
            life.withdrawal_reason = Some(reason.clone());
            life.closed_at = Some(*at);
        }
    }
    life
}

/// The lifecycle the events describe; `None` for none.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Option<Lifecycle> {
    events.into_iter().fold(None, |life, event| Some(apply(life, event)))
}

/// The event-type number of `petition.v1.BacklogCaseEventType`.
pub fn event_type(event: &Event) -> i16 {
    match event {
        Event::Designated { .. } => 1,
        Event::ChecksRecorded { .. } => 2,
        Event::AccountabilityRecorded { .. } => 3,
        Event::Resolved { .. } => 4,
        Event::Withdrawn { .. } => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: Uuid = Uuid::from_u128(9);
    const STAFF: Uuid = Uuid::from_u128(2);

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).expect("a date")
    }

    fn facts(state: CaseState) -> Facts {
        Facts {
            state,
            registered_on: day(1, 1),
            last_closed_on: None,
            designated: false,
            repeats: 0,
            petitions_after_final: 0,
            today: day(4, 1), // 90 days after 1 January
        }
    }

    #[test]
    fn every_case_state_and_fact_follows_the_designation_table() {
        use BacklogReason::*;
        let policy = Policy::default();
        // (state, days open, repeats, after final, designated) → reason,
        // written out apart from `qualifies`.
        let documented = |state: CaseState, days: i64, repeats: u32, after_final: u32, designated: bool| {
            if designated {
                return None;
            }
            if state == CaseState::Final && after_final > 0 {
                return Some(PetitionsAfterFinal);
            }
            if repeats >= 3 {
                return Some(Repeated);
            }
            let open = matches!(
                state,
                CaseState::Registered
                    | CaseState::Routed
                    | CaseState::Accepted
                    | CaseState::UnderReview
                    | CaseState::UnderRecheck
            );
            (open && days > 90).then_some(OpenTooLong)
        };
        for state in CaseState::ALL {
            for days in [0_i64, 89, 90, 91, 400] {
                for repeats in [0, 2, 3, 7] {
                    for after_final in [0, 1] {
                        for designated in [false, true] {
                            let f = Facts {
                                registered_on: day(4, 1) - chrono::Days::new(days as u64),
                                repeats,
                                petitions_after_final: after_final,
                                designated,
                                ..facts(*state)
                            };
                            assert_eq!(
                                qualifies(&f, &policy),
                                documented(*state, days, repeats, after_final, designated),
                                "{state:?} open {days} days, {repeats} repeats, {after_final} after final, \
                                 designated {designated}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_open_states_are_the_ones_with_the_organizations() {
        for state in CaseState::ALL {
            assert_eq!(OPEN_STATES.contains(&state.as_i16()), with_the_organizations(*state), "{state:?}");
        }
    }

    #[test]
    fn each_rule_can_be_switched_off_or_set() {
        let old = Facts { registered_on: day(1, 1) - chrono::Days::new(30), ..facts(CaseState::Accepted) };
        assert_eq!(qualifies(&old, &Policy::default()), Some(BacklogReason::OpenTooLong));
        assert_eq!(qualifies(&old, &Policy { open_days: 0, ..Policy::default() }), None, "0 is off");
        assert_eq!(qualifies(&old, &Policy { open_days: 200, ..Policy::default() }), None);
        let repeated = Facts { repeats: 5, ..facts(CaseState::Replied) };
        assert_eq!(qualifies(&repeated, &Policy::default()), Some(BacklogReason::Repeated));
        assert_eq!(qualifies(&repeated, &Policy { repeats: 0, ..Policy::default() }), None, "0 is off");
        assert_eq!(qualifies(&repeated, &Policy { repeats: 6, ..Policy::default() }), None);
        assert_eq!(
            qualifies(&Facts { repeats: 1, ..repeated }, &Policy { repeats: 1, ..Policy::default() }),
            Some(BacklogReason::Repeated)
        );
        let final_again = Facts { petitions_after_final: 1, ..facts(CaseState::Final) };
        assert_eq!(qualifies(&final_again, &Policy::default()), Some(BacklogReason::PetitionsAfterFinal));
        assert_eq!(qualifies(&final_again, &Policy { after_final: false, ..Policy::default() }), None);
        // Petitions about a matter that is not final are repeats, not this.
        assert_eq!(
            qualifies(&Facts { petitions_after_final: 1, ..facts(CaseState::Reviewed) }, &Policy::default()),
            None
        );
    }

    #[test]
    fn after_a_designation_closed_time_counts_from_its_closing() {
        let policy = Policy::default();
        let f = Facts { registered_on: day(1, 1) - chrono::Days::new(200), ..facts(CaseState::Accepted) };
        assert_eq!(qualifies(&f, &policy), Some(BacklogReason::OpenTooLong));
        let closed = Facts { last_closed_on: Some(day(2, 1)), ..f };
        assert_eq!(qualifies(&closed, &policy), None, "59 days since it was resolved");
        let long_ago = Facts { last_closed_on: Some(day(1, 1) - chrono::Days::new(1)), ..f };
        assert_eq!(qualifies(&long_ago, &policy), Some(BacklogReason::OpenTooLong), "91 days since");
    }

    fn designated() -> Lifecycle {
        apply(
            None,
            &designate(Uuid::from_u128(3), BacklogReason::ByDecision, "久拖不决".into(), Some(STAFF), Utc::now()),
        )
    }

    fn root_cause() -> RootCause {
        RootCause { category: RootCauseCategory::HandlingFault, findings: "物业维修资金未落实".into() }
    }

    fn reasonable(r: ClaimReasonableness) -> ClaimReasonable {
        ClaimReasonable { reasonableness: r, basis: "《物业管理条例》第五十四条".into() }
    }

    fn resolved(s: ClaimResolution) -> ClaimResolved {
        ClaimResolved { resolution: s, findings: "已维修".into() }
    }

    fn responsibility(f: ResponsibilityFinding) -> Responsibility {
        Responsibility { finding: f, findings: "街道未督促".into() }
    }

    fn record(life: Lifecycle, checks: Checks) -> Lifecycle {
        let events = decide(ID, &life, Command::RecordChecks(checks), STAFF, Utc::now()).expect("recorded");
        events.iter().fold(life, |l, e| apply(Some(l), e))
    }

    fn subjects(life: &Lifecycle) -> Vec<String> {
        unmet(life).into_iter().map(|(s, _)| s).collect()
    }

    #[test]
    fn resolving_needs_all_four_checks_in_and_consistent() {
        use ClaimReasonableness as R;
        use ClaimResolution as S;
        use ResponsibilityFinding as F;
        let life = designated();
        assert_eq!(subjects(&life), ["root_cause", "claim_reasonable", "claim_resolved", "responsibility"]);
        let resolve = || Command::Resolve { summary: "已化解".into() };
        match decide(ID, &life, resolve(), STAFF, Utc::now()) {
            Err(AppError::Unmet { reason, violations, .. }) => {
                assert_eq!(reason, Reason::BacklogChecksIncomplete);
                assert_eq!(violations.len(), 4);
            }
            other => panic!("{other:?}"),
        }
        // One at a time: still refused until all four are in.
        let life = record(life, Checks { root_cause: Some(root_cause()), ..Checks::default() });
        assert_eq!(subjects(&life), ["claim_reasonable", "claim_resolved", "responsibility"]);
        // Every combination of checks 2, 3 and 4, written out apart from `unmet`.
        for r in R::ALL {
            for s in S::ALL {
                for f in F::ALL {
                    let full = record(
                        life.clone(),
                        Checks {
                            claim_reasonable: Some(reasonable(*r)),
                            claim_resolved: Some(resolved(*s)),
                            responsibility: Some(responsibility(*f)),
                            ..Checks::default()
                        },
                    );
                    let consistent = matches!(
                        (r, s),
                        (R::Unreasonable, S::NotApplicable) | (R::Reasonable | R::PartlyReasonable, S::Resolved)
                    );
                    let mut want: Vec<&str> = Vec::new();
                    if !consistent {
                        want.push("claim_resolved");
                    }
                    if *f == F::NotCarriedOut {
                        want.push("accountability");
                    }
                    assert_eq!(subjects(&full), want, "{r:?} {s:?} {f:?}");
                    let got = decide(ID, &full, resolve(), STAFF, Utc::now()).map(|e| e.len()).map_err(|e| e.reason());
                    let expected = if want.is_empty() { Ok(1) } else { Err(Reason::BacklogChecksIncomplete) };
                    assert_eq!(got, expected, "{r:?} {s:?} {f:?}");
                }
            }
        }
    }

    #[test]
    fn accountability_lets_a_backlog_with_responsibility_not_carried_out_resolve() {
        let life = record(
            designated(),
            Checks {
                root_cause: Some(root_cause()),
                claim_reasonable: Some(reasonable(ClaimReasonableness::Reasonable)),
                claim_resolved: Some(resolved(ClaimResolution::Resolved)),
                responsibility: Some(responsibility(ResponsibilityFinding::NotCarriedOut)),
            },
        );
        assert_eq!(subjects(&life), ["accountability"]);
        let person = Person {
            account_id: None,
            name: "张某".into(),
            organization_id: None,
            measure: AccountabilityMeasure::AdmonitionTalk,
            detail: "未按期督促维修".into(),
        };
        let events = decide(ID, &life, Command::RecordAccountability(person), STAFF, Utc::now()).expect("recorded");
        let life = events.iter().fold(life, |l, e| apply(Some(l), e));
        assert!(subjects(&life).is_empty());
        let events = decide(ID, &life, Command::Resolve { summary: "已化解".into() }, STAFF, Utc::now()).expect("ok");
        let life = events.iter().fold(life, |l, e| apply(Some(l), e));
        assert_eq!(life.state, BacklogState::Resolved);
        assert!(life.closed_at.is_some());
        // Closed: nothing more, of any kind.
        for command in [
            Command::RecordChecks(Checks { root_cause: Some(root_cause()), ..Checks::default() }),
            Command::Withdraw { reason: "误认定".into() },
            Command::Resolve { summary: "再次".into() },
        ] {
            let got = decide(ID, &life, command, STAFF, Utc::now()).map_err(|e| e.reason());
            assert_eq!(got, Err(Reason::InvalidState));
        }
    }

    #[test]
    fn a_later_record_replaces_a_check_and_the_same_values_record_nothing() {
        let life = record(designated(), Checks { root_cause: Some(root_cause()), ..Checks::default() });
        let same = Checks { root_cause: Some(root_cause()), ..Checks::default() };
        assert!(decide(ID, &life, Command::RecordChecks(same), STAFF, Utc::now()).expect("ok").is_empty());
        let other = RootCause { category: RootCauseCategory::Policy, findings: "政策衔接不畅".into() };
        let life = record(life, Checks { root_cause: Some(other.clone()), ..Checks::default() });
        assert_eq!(life.root_cause.map(|s| s.value), Some(other));
    }

    #[test]
    fn folding_the_events_gives_the_lifecycle() {
        let at = Utc::now();
        let log = vec![
            designate(Uuid::from_u128(3), BacklogReason::Repeated, "同一事项重复信访3次".into(), None, at),
            Event::ChecksRecorded {
                checks: Checks { root_cause: Some(root_cause()), ..Checks::default() },
                by: STAFF,
                at,
            },
            Event::AccountabilityRecorded {
                accountability: Accountability {
                    account_id: Some(STAFF),
                    name: "李某".into(),
                    organization_id: None,
                    measure: AccountabilityMeasure::CriticismEducation,
                    detail: "督办不力".into(),
                    recorded_at: at,
                    recorded_by: STAFF,
                },
            },
            Event::Withdrawn { reason: "误认定".into(), at },
        ];
        let life = fold(&log).expect("a lifecycle");
        assert_eq!(life.state, BacklogState::Withdrawn);
        assert!(life.by_rule && life.designated_by.is_none());
        assert_eq!(log.iter().map(event_type).collect::<Vec<_>>(), [1, 2, 3, 5]);
        for event in &log {
            let json = serde_json::to_value(event).expect("json");
            assert_eq!(&serde_json::from_value::<Event>(json).expect("parse"), event);
        }
        let stored = serde_json::to_value(&life).expect("json");
        assert_eq!(serde_json::from_value::<Lifecycle>(stored).expect("parse"), life);
    }
}
