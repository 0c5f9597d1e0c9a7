//! SQL fixed when the server is built, as an expression. Diesel never
//! caches a statement holding `sql()` (its text may be made at run time),
//! so such a statement is planned at every call: for GetCase that planning
//! cost PostgreSQL more than the rest of the call. A statement holding
//! [`StaticSql`] instead stays in the connection's prepared-statement cache.

use std::marker::PhantomData;

use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping, is_aggregate,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};

/// A fragment of `'static` SQL of type `ST`: the same text at every call.
#[derive(Debug, Clone, Copy)]
pub struct StaticSql<ST> {
    sql: &'static str,
    sql_type: PhantomData<ST>,
}

/// `sql` as an expression of type `ST` (see the module docs).
pub const fn static_sql<ST>(sql: &'static str) -> StaticSql<ST> {
    StaticSql { sql, sql_type: PhantomData }
}

impl<ST: TypedExpressionType> Expression for StaticSql<ST> {
    type SqlType = ST;
}

impl<ST, DB: Backend> QueryFragment<DB> for StaticSql<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.sql);
        Ok(())
    }
}

/// No id from the type (two fragments of one type differ in their text),
/// so the statement is cached by its SQL.
impl<ST> QueryId for StaticSql<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS, ST: TypedExpressionType> SelectableExpression<QS> for StaticSql<ST> {}

impl<QS, ST: TypedExpressionType> AppearsOnTable<QS> for StaticSql<ST> {}

impl<ST, GB> ValidGrouping<GB> for StaticSql<ST> {
    type IsAggregate = is_aggregate::Never;
}
