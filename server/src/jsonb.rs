//! A JSONB column read into and written from its Rust type directly: no
//! `serde_json::Value` in between (building one allocates a map per
//! object, and a listed case's lifecycle was a fifth of a list's CPU).

use std::fmt::Debug;
use std::io::Write as _;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Jsonb;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// PostgreSQL's binary JSONB format: a version byte, then JSON text.
const JSONB_VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Jsonb)]
pub struct Json<T: Debug>(pub T);

impl<T: DeserializeOwned + Debug> FromSql<Jsonb, Pg> for Json<T> {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        match value.as_bytes().split_first() {
            Some((&JSONB_VERSION, text)) => Ok(Json(serde_json::from_slice(text)?)),
            Some((version, _)) => Err(format!("JSONB version {version} is not supported").into()),
            None => Err("an empty JSONB value".into()),
        }
    }
}

impl<T: Serialize + Debug> ToSql<Jsonb, Pg> for Json<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(&[JSONB_VERSION])?;
        serde_json::to_writer(out, &self.0)?;
        Ok(IsNull::No)
    }
}
