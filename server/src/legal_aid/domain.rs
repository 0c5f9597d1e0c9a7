//! The vocabulary of legal aid (values match their `petition.v1`
//! counterparts).

use crate::wire::wire_enum;

wire_enum! {
    /// Where an application is in its life.
    LegalAidState {
        UnderReview = 1,
        AwaitingMaterials = 2,
        Granted = 3,
        Assigned = 4,
        Closed = 5,
        Refused = 6,
        Terminated = 7,
        ObjectionPending = 8,
        Withdrawn = 9,
    }
}

wire_enum! {
    /// A clock of an application the sweeper watches (`sweep.rs`).
    LegalAidClock { Decision = 1, Materials = 2, Assignment = 3, Objection = 4 }
}

impl LegalAidState {
    /// A matter of the centre for the conflict check: aid granted (live or
    /// closed). Refused, withdrawn and terminated applications are no
    /// matters of the centre.
    pub fn is_matter(self) -> bool {
        matches!(self, LegalAidState::Granted | LegalAidState::Assigned | LegalAidState::Closed)
    }
}

wire_enum! {
    /// What the aid is for (Art.29, 31, 33).
    MatterType {
        StateCompensation = 1,
        SocialInsuranceOrAssistance = 2,
        Pension = 3,
        Maintenance = 4,
        Labour = 5,
        CivilCapacity = 6,
        PersonalInjury = 7,
        EnvironmentalDamage = 8,
        CriminalVictim = 9,
        AppealOrRetrial = 10,
        Other = 11,
    }
}

wire_enum! {
    /// How a hardship statement is verified (Art.41 ¶2).
    HardshipVerification { InformationSharing = 1, PersonalCommitment = 2 }
}

wire_enum! {
    /// Art.32: no hardship condition.
    HardshipExemption {
        HeroMartyrRelative = 1,
        GoodSamaritan = 2,
        RetrialAcquittalCompensation = 3,
        DomesticViolenceAbuseVictim = 4,
    }
}

wire_enum! {
    /// Art.42: hardship not verified.
    VerificationExemption {
        NoIncomeMinorElderDisabled = 1,
        SocialAssistanceRecipient = 2,
        MigrantWorkerWagesOrInjury = 3,
    }
}

wire_enum! {
    /// Art.44: why aid is given first.
    AidFirstGround { LimitationEndingWithin7Days = 1, UrgentPreservation = 2, Other = 3 }
}

wire_enum! {
    WithdrawalReason { ByApplicant = 1, MaterialsNotSupplied = 2 }
}

wire_enum! {
    LawyerKind { LegalAidLawyer = 1, PublicLawyer = 2, LegalAdviser = 3 }
}

wire_enum! {
    /// Art.48 (一)–(八).
    TerminationReason {
        Deceit = 1,
        ConcealmentOrFalseEvidence = 2,
        UnlawfulUse = 3,
        NoLongerEligible = 4,
        ProceedingsEnded = 5,
        OwnLawyerRetained = 6,
        RecipientRequest = 7,
        Other = 8,
    }
}

wire_enum! {
    ObjectionSubject { Refusal = 1, Termination = 2 }
}

wire_enum! {
    ObjectionOutcome { Pending = 1, Upheld = 2, CorrectionOrdered = 3 }
}

wire_enum! {
    ConflictKind { ApplicantIsAdverseThere = 1, AdverseIsApplicantThere = 2 }
}

/// How the law's 日 of Art.43 and Art.49 are counted (a server option,
/// `--legal-aid-day-counting`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DayCounting {
    /// Working days on the workday calendar (the default, as the 2022
    /// 信访工作条例 counts its short periods).
    #[default]
    Workdays,
    /// Calendar days; a last day on a rest day moves to the next working
    /// day (民法典 Art.203).
    Calendar,
}
