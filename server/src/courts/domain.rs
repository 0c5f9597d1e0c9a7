//! The vocabulary of court linkage (values match their `petition.v1`
//! counterparts).

use crate::wire::wire_enum;

wire_enum! {
    /// Where a referral is in its life.
    ReferralState { Referred = 1, Acknowledged = 2, Filed = 3, Concluded = 4, Returned = 5, Withdrawn = 6 }
}

impl ReferralState {
    /// Still with the court (or on its way there).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Referred | Self::Acknowledged | Self::Filed)
    }
}

wire_enum! {
    /// How a court concluded a filed case.
    CourtOutcome { Judgment = 1, CourtMediation = 2, Withdrawal = 3, Dismissal = 4 }
}

impl CourtOutcome {
    /// Ends in a document of the court that carries a number.
    pub fn has_document(self) -> bool {
        matches!(self, Self::Judgment | Self::CourtMediation)
    }
}

wire_enum! {
    /// Why a court returned a referral.
    ReturnReason { NotThisCourt = 1, NotLitigable = 2, PartyDidNotSue = 3, Other = 4 }
}

wire_enum! {
    /// A party's side in the suit.
    PartyRole { Plaintiff = 1, Defendant = 2, ThirdParty = 3 }
}

wire_enum! {
    /// What a scheduled sitting is.
    HearingKind { Trial = 1, PreTrial = 2, Mediation = 3, Pronouncement = 4 }
}
