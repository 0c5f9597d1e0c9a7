//! The vocabulary of supervision (values match their `petition.v1`
//! counterparts and the `supervisions` columns).

use crate::wire::wire_enum;

wire_enum! {
    /// A rung of the ladder, from the mildest.
    Rung { Reminder = 1, Letter = 2, Talks = 3, Notice = 4 }
}

wire_enum! {
    /// Why an item was issued (条例 Art.40; OVERDUE by the sweeper).
    Trigger {
        AcceptanceAgainstRules = 1,
        HandlingAgainstRules = 2,
        Shirking = 3,
        Perfunctory = 4,
        Delay = 5,
        Falsification = 6,
        RefusedOpinion = 7,
        Overdue = 8,
    }
}

wire_enum! {
    /// Where an item stands.
    SupervisionState { Open = 1, Answered = 2, Closed = 3, Withdrawn = 4 }
}

impl Rung {
    /// The rung above, if any.
    pub fn next(self) -> Option<Rung> {
        match self {
            Rung::Reminder => Some(Rung::Letter),
            Rung::Letter => Some(Rung::Talks),
            Rung::Talks => Some(Rung::Notice),
            Rung::Notice => None,
        }
    }

    /// The numbered document this rung issues (a reminder is informal).
    pub fn document(self) -> Option<&'static str> {
        match self {
            Rung::Reminder => None,
            Rung::Letter => Some("督办函"),
            Rung::Talks => Some("约谈通知"),
            Rung::Notice => Some("通报"),
        }
    }
}

impl SupervisionState {
    pub fn ended(self) -> bool {
        matches!(self, SupervisionState::Closed | SupervisionState::Withdrawn)
    }
}
