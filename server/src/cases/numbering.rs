//! Case numbers (`<region>-<year>-<6 digits>`): one PostgreSQL sequence per
//! region and year (migration `case_number_sequences`). Taking a number
//! never waits for another filing; a filing that fails after taking one
//! leaves a gap.

use std::collections::HashSet;
use std::sync::RwLock;

use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text};

use crate::error::AppError;

/// The (region, year) sequences this server has made sure exist.
#[derive(Debug, Default)]
pub struct Numbering {
    prepared: RwLock<HashSet<(String, i32)>>,
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Nullable<Integer>)]
    value: Option<i32>,
}

impl Numbering {
    /// Creates the sequence of (`region_code`, `year`) if it does not exist
    /// yet, in a statement of its own (outside the filing's transaction, so
    /// that filings creating it at once do not fail each other); a statement
    /// only the first time per server. INVALID_ARGUMENT if there is no such
    /// region.
    pub fn prepare(&self, conn: &mut PgConnection, region_code: &str, year: i32) -> Result<(), AppError> {
        let key = (region_code.to_owned(), year);
        if self.prepared.read().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(&key) {
            return Ok(());
        }
        let mut create = || {
            diesel::sql_query(
                "SELECT 1 AS value FROM regions WHERE code = $1 AND case_number_sequence(code, $2) IS NOT NULL",
            )
            .bind::<Text, _>(region_code)
            .bind::<Integer, _>(year)
            .get_result::<Taken>(conn)
            .optional()
        };
        // Two servers creating it at the same moment: one of them is told of
        // a duplicate catalog entry, and then finds it there.
        let found = match create() {
            Ok(found) => found,
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                create()?
            }
            Err(e) => return Err(e.into()),
        };
        if found.is_none() {
            return Err(AppError::invalid("draft.region_code", "no such region"));
        }
        self.prepared.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(key);
        Ok(())
    }

    /// The next number of (`region_code`, `year`); creates the sequence
    /// in the transaction if [`Self::prepare`] has not (a year that began
    /// since).
    pub fn take(conn: &mut PgConnection, region_code: &str, year: i32) -> Result<String, AppError> {
        let taken: Taken = diesel::sql_query(
            "SELECT nextval(coalesce(to_regclass(quote_ident(format('case_numbers_%s_%s', $1, $2))), \
             case_number_sequence($1, $2)))::integer AS value",
        )
        .bind::<Text, _>(region_code)
        .bind::<Integer, _>(year)
        .get_result(conn)?;
        let sequence = taken.value.ok_or_else(|| AppError::internal("case number sequence answered NULL"))?;
        Ok(format!("{region_code}-{year}-{sequence:06}"))
    }
}
