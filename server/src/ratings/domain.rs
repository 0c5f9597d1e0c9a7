//! The vocabulary of ratings (values match their `petition.v1`
//! counterparts and the `ratings` columns the metrics read).

use crate::wire::wire_enum;

wire_enum! {
    /// Which opinion a rating is about.
    RatingRound { Reply = 1, Review = 2, Recheck = 3 }
}

wire_enum! {
    /// How satisfied the petitioner is with one dimension.
    Satisfaction { Satisfied = 1, BasicallySatisfied = 2, Dissatisfied = 3 }
}

wire_enum! {
    /// How a rating was given: online by the petitioner, or told to a clerk.
    RatingChannel { Online = 1, Phone = 2, ReturnVisit = 3, InPerson = 4 }
}

wire_enum! {
    /// Why a dimension was rated DISSATISFIED.
    DissatisfactionReason {
        NotResolved = 1,
        Late = 2,
        Attitude = 3,
        NoContact = 4,
        UnclearReply = 5,
        Unfair = 6,
        NotCarriedOut = 7,
        Other = 8,
    }
}

wire_enum! {
    /// The stored state: whether a rating was given. NOT_RATED is derived
    /// at read time (`rules::state_on`), never stored.
    StoredState { Awaiting = 1, Rated = 2 }
}

wire_enum! {
    /// The state on the wire, as of a day.
    RatingState { Awaiting = 1, Rated = 2, NotRated = 3 }
}
