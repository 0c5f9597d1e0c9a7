//! The vocabulary of backlog cases (values match their `petition.v1`
//! counterparts and the `backlog_cases` columns).

use crate::wire::wire_enum;

wire_enum! {
    /// Why a case was designated.
    BacklogReason { OpenTooLong = 1, Repeated = 2, PetitionsAfterFinal = 3, ByDecision = 4 }
}

wire_enum! {
    /// Where a backlog case is.
    BacklogState { Designated = 1, Resolved = 2, Withdrawn = 3 }
}

wire_enum! {
    /// One of the four checks (一案四查), in their order.
    BacklogCheck { RootCause = 1, ClaimReasonable = 2, ClaimResolved = 3, Responsibility = 4 }
}

wire_enum! {
    /// What the root cause of a backlog is.
    RootCauseCategory {
        Policy = 1,
        HandlingFault = 2,
        DisputeBetweenParties = 3,
        UnreasonableDemand = 4,
        Historical = 5,
        Other = 6,
    }
}

wire_enum! {
    /// Whether the petitioner's claim is reasonable.
    ClaimReasonableness { Reasonable = 1, PartlyReasonable = 2, Unreasonable = 3 }
}

wire_enum! {
    /// Whether the reasonable claim was resolved.
    ClaimResolution { Resolved = 1, PartlyResolved = 2, NotResolved = 3, NotApplicable = 4 }
}

wire_enum! {
    /// Whether responsibility was carried out.
    ResponsibilityFinding { CarriedOut = 1, NotCarriedOut = 2 }
}

wire_enum! {
    /// How someone was held accountable (问责方式).
    AccountabilityMeasure {
        CriticismEducation = 1,
        AdmonitionTalk = 2,
        CirculatedCriticism = 3,
        Organizational = 4,
        Disciplinary = 5,
        Referred = 6,
    }
}

impl BacklogCheck {
    /// Its field name in requests and in precondition violations.
    pub fn field(self) -> &'static str {
        match self {
            BacklogCheck::RootCause => "root_cause",
            BacklogCheck::ClaimReasonable => "claim_reasonable",
            BacklogCheck::ClaimResolved => "claim_resolved",
            BacklogCheck::Responsibility => "responsibility",
        }
    }
}
