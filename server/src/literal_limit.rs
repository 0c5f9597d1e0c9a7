//! A query's LIMIT written into its SQL instead of bound as a parameter.
//!
//! PostgreSQL plans a prepared statement anew at every execution unless a
//! generic plan is estimated about as cheap as the custom ones; with a
//! bound LIMIT the generic plan is costed as if it returned a tenth of the
//! table, so a page of a large table was planned at every call (0.25 ms,
//! as long as running it). A page size is a small number the server
//! validated; each one is its own statement.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// `query` followed by `LIMIT limit`.
#[derive(Debug, Clone)]
pub struct LiteralLimit<Q> {
    query: Q,
    limit: u32,
}

impl<Q> LiteralLimit<Q> {
    pub fn new(query: Q, limit: u32) -> Self {
        LiteralLimit { query, limit }
    }
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for LiteralLimit<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(&format!(" LIMIT {}", self.limit));
        Ok(())
    }
}

impl<Q> QueryId for LiteralLimit<Q> {
    type QueryId = ();
    // The SQL varies with the limit: statements are cached by their text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for LiteralLimit<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for LiteralLimit<Q> {}
