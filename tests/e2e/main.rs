//! End-to-end tests: a real server on `127.0.0.1:0` over a real PostgreSQL
//! database of its own, driven through the SDK as users would.

mod accusations;
mod availability;
mod calendar;
mod case_authz;
mod case_lawyers;
mod case_paths;
mod cases;
mod clocks;
mod concurrency;
mod court_authz;
mod court_paths;
mod dedup;
mod directory;
mod feed;
mod hostile_text;
mod identity;
mod identity_throttle;
mod identity_tokens;
mod intake;
mod legal_aid_authz;
mod legal_aid_paths;
mod mediation_authz;
mod mediation_cases;
mod mediation_feed;
mod mediation_paths;
mod mediation_stats;
mod mediation_teams;
mod operations;
mod overload;
mod rating_authz;
mod rating_paths;
mod retries;
mod support;
mod taxonomy;
mod tls;
