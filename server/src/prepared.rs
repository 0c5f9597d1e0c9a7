//! A statement kept in the connection's prepared-statement cache although
//! diesel would not keep it.
//!
//! Diesel refuses to cache every UPDATE, every upsert, every insert of a
//! row with an optional column, every `eq_any` and every `sql()`, because
//! their text may vary from call to call; such a statement is parsed and
//! planned at every call (on a filing that was 0.2 ms of PostgreSQL's 1.4).
//! Cached by its text instead, a statement whose text varies is simply
//! another entry. Only for statements whose text never embeds a value
//! (values are bound) and whose generic plan is right for every value:
//! PostgreSQL switches a prepared statement to one plan for all values
//! after five calls when that plan looks no dearer.

use std::marker::PhantomData;

use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping, is_aggregate,
};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::HasSqlType;
use diesel::{QueryResult, RunQueryDsl};

/// `query`, cached by its SQL text or never cached, as its maker said
/// rather than as diesel guesses (see the module docs).
#[derive(Debug, Clone)]
pub struct Prepared<Q> {
    query: Q,
    keep: bool,
}

/// Says whether a statement stays prepared.
pub trait KeepPrepared: Sized {
    /// Cached by its text (see the module docs).
    fn keep_prepared(self) -> Prepared<Self> {
        Prepared { query: self, keep: true }
    }

    /// Planned for its values at every call, never prepared: for a
    /// statement whose best plan depends on them (a township's cases by the
    /// region index, a city's by walking the primary key), which one
    /// generic plan would get wrong for some callers.
    fn planned_per_call(self) -> Prepared<Self> {
        Prepared { query: self, keep: false }
    }
}

impl<Q: QueryFragment<Pg>> KeepPrepared for Q {}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(out)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(self.keep)
    }
}

/// No id from the type: the cache key is the SQL text and the bind types.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Prepared<Q> {}

/// How a statement's values enter it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    /// As parameters, which PostgreSQL plans for.
    Bound,
    /// As one-row subqueries' results, `(SELECT $1)`: PostgreSQL estimates
    /// a condition on them alike whatever the value, so the plan made for
    /// one call is the plan for every call and a prepared statement keeps
    /// it (an index still uses them). A bound list cursor, estimated to
    /// keep a third of the rows, made the generic plan look three times
    /// dearer than the plan for the value, so it was planned at every call.
    Opaque,
}

impl Values {
    pub fn of<ST, T>(self, value: T) -> Param<ST, T> {
        Param { value, opaque: self == Values::Opaque, sql_type: PhantomData }
    }
}

/// A value of SQL type `ST`, entered as [`Values`] says.
#[derive(Debug, Clone)]
pub struct Param<ST, T> {
    value: T,
    opaque: bool,
    sql_type: PhantomData<ST>,
}

impl<ST: TypedExpressionType, T> Expression for Param<ST, T> {
    type SqlType = ST;
}

impl<ST, T: ToSql<ST, Pg>> QueryFragment<Pg> for Param<ST, T>
where
    Pg: HasSqlType<ST>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if self.opaque {
            out.push_sql("(SELECT ");
        }
        out.push_bind_param::<ST, T>(&self.value)?;
        if self.opaque {
            out.push_sql(")");
        }
        Ok(())
    }
}

/// Cached by the statement's text, which says whether the value is opaque.
impl<ST, T> QueryId for Param<ST, T> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS, ST: TypedExpressionType, T> SelectableExpression<QS> for Param<ST, T> {}

impl<QS, ST: TypedExpressionType, T> AppearsOnTable<QS> for Param<ST, T> {}

impl<ST, T, GB> ValidGrouping<GB> for Param<ST, T> {
    type IsAggregate = is_aggregate::Never;
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::*;
    use crate::schema::daily_filings;

    #[test]
    fn a_statement_is_cached_or_not_as_its_maker_says_not_as_diesel_guesses() {
        let upsert = diesel::insert_into(daily_filings::table)
            .values((daily_filings::day.eq(chrono::NaiveDate::MIN), daily_filings::filings.eq(1)))
            .on_conflict(daily_filings::day)
            .do_update()
            .set(daily_filings::filings.eq(daily_filings::filings + 1));
        assert!(!upsert.is_safe_to_cache_prepared(&Pg).expect("walks"));
        assert!(upsert.keep_prepared().is_safe_to_cache_prepared(&Pg).expect("walks"));
        let lookup = daily_filings::table.filter(daily_filings::filings.eq(1));
        assert!(QueryFragment::<Pg>::is_safe_to_cache_prepared(&lookup, &Pg).expect("walks"));
        assert!(!lookup.planned_per_call().is_safe_to_cache_prepared(&Pg).expect("walks"));
    }
}
