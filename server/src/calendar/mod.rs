//! The workday calendar (工作日历): its exceptions to the plain week, stored
//! per year, and the pure clocks computed on it (deadlines in calendar and
//! working days, the one definition of overdue).

pub mod model;
pub mod rules;
pub mod service;
pub mod store;

pub use rules::{DayKind, Period, WorkCalendar, is_overdue};
pub use service::CalendarApi;
