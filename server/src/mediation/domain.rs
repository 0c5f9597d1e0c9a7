//! The vocabulary of mediation (values match their `petition.v1`
//! counterparts).

use crate::wire::wire_enum;

wire_enum! {
    /// What a team is.
    TeamKind { VillageCommittee = 1, TownshipCommittee = 2, CountyCommittee = 3, RedTeam = 4, Specialist = 5 }
}

wire_enum! {
    /// A member's role in a team.
    MemberRole { Head = 1, Mediator = 2, Volunteer = 3, GridWorker = 4 }
}

wire_enum! {
    /// What a dispute is about.
    DisputeCategory {
        Neighbourhood = 1,
        Family = 2,
        Property = 3,
        Land = 4,
        Labour = 5,
        Medical = 6,
        Traffic = 7,
        Contract = 8,
        Damages = 9,
        Consumer = 10,
        LandAcquisition = 11,
        Other = 12,
    }
}

wire_enum! {
    /// Where a dispute came from.
    DisputeSource {
        Screening = 1,
        Application = 2,
        CaseReferral = 3,
        CourtBeforeFiling = 4,
        CourtDuringProceedings = 5,
        Police = 6,
    }
}

impl DisputeSource {
    pub fn is_court(self) -> bool {
        matches!(self, DisputeSource::CourtBeforeFiling | DisputeSource::CourtDuringProceedings)
    }
}

wire_enum! {
    /// Where a dispute is in its life.
    DisputeState {
        AwaitingConsent = 1,
        Accepted = 2,
        InMediation = 3,
        Settled = 4,
        Performed = 5,
        Breached = 6,
        Failed = 7,
        Refused = 8,
    }
}

impl DisputeState {
    /// Still being mediated: the clock runs, the mediator carries it.
    pub fn is_open(self) -> bool {
        matches!(self, DisputeState::AwaitingConsent | DisputeState::Accepted | DisputeState::InMediation)
    }

    /// An agreement is in effect.
    pub fn has_agreement(self) -> bool {
        matches!(self, DisputeState::Settled | DisputeState::Performed | DisputeState::Breached)
    }
}

wire_enum! {
    /// A clock of a dispute the sweeper watches (`sweep.rs`).
    DisputeClock { TimeLimit = 1, TermPerformance = 2, ConfirmationWindow = 3 }
}

wire_enum! {
    /// A party's answer to mediation.
    ConsentState { Pending = 1, Given = 2, Refused = 3 }
}

wire_enum! {
    /// Follow-up of one agreed term.
    TermPerformance { Pending = 1, Performed = 2, Breached = 3 }
}

wire_enum! {
    AgreementForm { Written = 1, Oral = 2 }
}

wire_enum! {
    /// A route to their rights the parties were told of (Art.26).
    AdvisedRoute { Arbitration = 1, Administrative = 2, Judicial = 3 }
}

wire_enum! {
    FailureReason { NoAgreement = 1, PartyEnded = 2, PartyAbsent = 3, NotMediable = 4 }
}

wire_enum! {
    /// A court's confirmation of an agreement (Art.33).
    ConfirmationState { Pending = 1, Confirmed = 2, Rejected = 3 }
}
