//! The vocabulary of cases: kinds, channels, states, tracks and the other
//! enumerations (values match their `petition.v1` counterparts).

use crate::wire::wire_enum;

wire_enum! {
    /// What the case is about (Art.29–31).
    CaseKind { Suggestion = 1, Accusation = 2, Claim = 3 }
}

wire_enum! {
    /// How the case arrived (Art.21).
    Channel { Online = 1, Letter = 2, Phone = 3, Fax = 4, Visit = 5 }
}

wire_enum! {
    /// Where a case is in its life.
    CaseState {
        Registered = 1,
        Routed = 2,
        Accepted = 3,
        Declined = 4,
        Replied = 5,
        UnderReview = 6,
        Reviewed = 7,
        UnderRecheck = 8,
        Final = 9,
        Withdrawn = 10,
    }
}

wire_enum! {
    /// Triage track.
    Track { Urgent = 1, Simple = 2, Normal = 3 }
}

/// Routing rules are the taxonomy's, and so is their mode: cases use it
/// from there.
pub use crate::taxonomy::RoutingMode;

wire_enum! {
    /// Why a case is not accepted.
    DeclineReason {
        Litigation = 1,
        Arbitration = 2,
        PartyAppeal = 3,
        AdministrativeProcedure = 4,
        AlreadyInProgress = 5,
        ConcludedAfterRecheck = 6,
        Other = 7,
    }
}

wire_enum! {
    /// The decision of a written opinion (Art.32).
    Decision { Supported = 1, Explained = 2, NotSupported = 3 }
}

wire_enum! {
    /// Kind of follow-up note.
    FollowUpKind { Contact = 1, Investigation = 2, Visit = 3, Note = 4 }
}

impl DeclineReason {
    /// Reasons that divert the petitioner to another procedure (诉访分离,
    /// Art.31 1–4) and so must name the receiving body.
    pub fn diverts(self) -> bool {
        matches!(self, Self::Litigation | Self::Arbitration | Self::PartyAppeal | Self::AdministrativeProcedure)
    }

    /// Reasons that point at another case of the petitioner.
    pub fn names_related_case(self) -> bool {
        matches!(self, Self::AlreadyInProgress | Self::ConcludedAfterRecheck)
    }
}

impl CaseState {
    /// No further transition is possible.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Declined | Self::Final | Self::Withdrawn)
    }

    /// The matter is still in the procedure, including the windows in which
    /// review or re-review may be requested (Art.19 ¶3: "in progress").
    pub fn is_open(self) -> bool {
        !self.is_terminal()
    }
}

wire_enum! {
    /// How a dispute a case was diverted to ended (values match
    /// `petition.v1.MediationOutcome`).
    MediationOutcome { Pending = 1, Settled = 2, Failed = 3, Refused = 4 }
}

wire_enum! {
    /// When a lawyer takes part (访前, 事中, 事后; `petition.v1.LawyerStage`).
    LawyerStage { BeforeVisit = 1, DuringHandling = 2, AfterOutcome = 3 }
}

impl LawyerStage {
    /// The case states a stage covers: before the visit is handled (a
    /// declined case included: that a matter belongs in court is advice
    /// given at reception), while it is handled or reviewed, after an
    /// opinion was served.
    pub fn states(self) -> &'static [CaseState] {
        use CaseState::*;
        match self {
            LawyerStage::BeforeVisit => &[Registered, Routed, Declined],
            LawyerStage::DuringHandling => &[Routed, Accepted, UnderReview, UnderRecheck],
            LawyerStage::AfterOutcome => &[Replied, Reviewed, Final],
        }
    }
}

wire_enum! {
    /// Who a participating lawyer is (`petition.v1.LawyerCapacity`).
    LawyerCapacity { PublicLawyer = 1, LegalAidLawyer = 2, VillageLegalAdviser = 3, PractisingLawyer = 4 }
}

wire_enum! {
    /// What a lawyer did on a case (`petition.v1.LawyerService`).
    LawyerService { Consultation = 1, Opinion = 2, Attendance = 3, FollowUp = 4 }
}

wire_enum! {
    /// How a leader came to own a case (`petition.v1.LeaderAssignmentKind`).
    LeaderAssignment {
        /// The leader took it.
        Took = 1,
        /// The bureau, or a leader one level up, assigned it.
        Assigned = 2,
        /// 首接包案: the first leader to receive the matter at a reception day.
        FirstReception = 3,
    }
}

wire_enum! {
    /// What an owning leader records (`petition.v1.LeaderNoteKind`).
    LeaderNoteKind { Instruction = 1, Progress = 2 }
}
