//! The vocabulary of reception days (values match their `petition.v1`
//! counterparts and the `reception_bookings` columns).

use crate::wire::wire_enum;

wire_enum! {
    /// How a schedule's days recur.
    Recurrence { Weekly = 1, Workdays = 2, Dates = 3 }
}

wire_enum! {
    /// Where a booking stands.
    BookingState { Booked = 1, Cancelled = 2, Received = 3, NoShow = 4 }
}

wire_enum! {
    /// What a reception settled.
    Outcome { ResolvedOnSite = 1, CaseCreated = 2, LinkedToCase = 3, Referred = 4 }
}
