//! The per-case projection the metrics read (`case_facts`, migration
//! 000022): one row of dated facts per case, a function of the case's
//! events that the view `case_facts_from_events` computes. The journal
//! rewrites a case's row from the view whenever it records the case's
//! events, so the table never drifts from the log.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use uuid::Uuid;

use crate::error::AppError;

/// Rewrites the facts of `cases` from their events (within the caller's
/// transaction, after the events are inserted).
pub fn refresh(conn: &mut PgConnection, cases: &[Uuid]) -> Result<(), AppError> {
    if cases.is_empty() {
        return Ok(());
    }
    // One round trip; the function's plans are cached per connection.
    diesel::sql_query("SELECT refresh_case_facts($1)").bind::<Array<SqlUuid>, _>(cases).execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many cases' stored facts differ from a recomputation from the
/// event log (both directions); 0 when the projection is exact.
pub fn drift(conn: &mut PgConnection) -> Result<i64, AppError> {
    let found: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM (
             (SELECT * FROM case_facts EXCEPT SELECT * FROM case_facts_from_events)
             UNION ALL
             (SELECT * FROM case_facts_from_events EXCEPT SELECT * FROM case_facts)
         ) d",
    )
    .get_result(conn)?;
    Ok(found.n)
}
