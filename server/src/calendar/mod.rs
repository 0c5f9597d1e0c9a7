//! The workday calendar (工作日历): its exceptions to the plain week, stored
//! per year, and the pure clocks computed on it (deadlines in calendar and
//! working days, the one definition of overdue).

pub mod model;
pub mod rules;
pub mod schedules;
pub mod service;
pub mod store;
pub mod watch;

pub use rules::{DayKind, Period, WorkCalendar, is_overdue};
pub use schedules::Schedules;
pub use service::CalendarApi;
pub use watch::LoadedYears;
