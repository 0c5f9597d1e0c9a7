//! Case numbers (`<region>-<year>-<6 digits>`): one PostgreSQL sequence per
//! region and year (migration `case_number_sequences`). Taking a number
//! never waits for another filing; a filing that fails after taking one
//! leaves a gap.

use std::collections::HashSet;
use std::sync::RwLock;

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

use crate::directory::model::RegionRow;
use crate::error::AppError;
use crate::prepared::KeepPrepared;
use crate::schema::regions;

/// The (region, year) sequences this server has made sure exist.
#[derive(Debug, Default)]
pub struct Numbering {
    prepared: RwLock<HashSet<(String, i32)>>,
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
            diesel::sql_query("SELECT case_number_sequence(code, $2) FROM regions WHERE code = $1")
                .bind::<Text, _>(region_code)
                .bind::<Integer, _>(year)
                .execute(conn)
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
        if found == 0 {
            return Err(AppError::invalid("draft.region_code", "no such region"));
        }
        self.prepared.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(key);
        Ok(())
    }

    /// Region `region_code` and the next case number of it and `year`, in
    /// one statement; `None` when there is no such region. Creates the
    /// sequence in the transaction if [`Self::prepare`] has not (a year
    /// that began since).
    pub fn take(
        conn: &mut PgConnection,
        region_code: &str,
        year: i32,
    ) -> Result<Option<(RegionRow, String)>, AppError> {
        let next = diesel::dsl::sql::<Integer>(
            "nextval(coalesce(to_regclass(quote_ident(format('case_numbers_%s_%s', regions.code, ",
        )
        .bind::<Integer, _>(year)
        .sql("))), case_number_sequence(regions.code, ")
        .bind::<Integer, _>(year)
        .sql(")))::integer");
        let taken: Option<(RegionRow, i32)> = regions::table
            .filter(regions::code.eq(region_code))
            .select((RegionRow::as_select(), next))
            .limit(1)
            // Fixed text (the year is bound): kept prepared.
            .keep_prepared()
            .get_result(conn)
            .optional()?;
        Ok(taken.map(|(region, sequence)| {
            let number = format!("{}-{year}-{sequence:06}", region.code);
            (region, number)
        }))
    }
}
