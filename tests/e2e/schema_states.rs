//! The database spells some sets of states as numbers: partial indexes
//! (the planner uses one only when a query's condition implies its
//! predicate), unique indexes that allow one open row, and
//! `case_state_is_open`. Each must admit exactly the states the server's
//! enums mean, or an index goes unused or a uniqueness rule guards the
//! wrong rows, silently. Each predicate is evaluated, not parsed, over
//! every state number.

use anyhow::{Context, Result};
use diesel::sql_types::{Array, SmallInt, Text};
use diesel::{PgConnection, QueryableByName, RunQueryDsl, sql_query};
use petition_server::backlog::domain::BacklogState;
use petition_server::cases::domain::CaseState;
use petition_server::courts::domain::ReferralState;
use petition_server::legal_aid::domain::LegalAidState;
use petition_server::reception::domain::BookingState;
use petition_server::supervision::domain::{SupervisionState, Trigger};
use petition_tests::database::TestDatabase;

/// The states of `enumeration` that the predicate of `index` admits, in
/// order; the row it is evaluated on has the other columns `columns` gives
/// (`, <value> AS <column>`, …).
fn admitted<T: Copy>(
    conn: &mut PgConnection,
    index: &str,
    enumeration: &[T],
    number: impl Fn(T) -> i16,
    columns: &str,
) -> Result<Vec<i16>> {
    #[derive(QueryableByName)]
    struct Predicate {
        #[diesel(sql_type = Text)]
        predicate: String,
    }
    #[derive(QueryableByName)]
    struct Admitted {
        #[diesel(sql_type = Array<SmallInt>)]
        states: Vec<i16>,
    }
    let Predicate { predicate } =
        sql_query("SELECT pg_get_expr(indpred, indrelid) AS predicate FROM pg_index WHERE indexrelid = $1::regclass")
            .bind::<Text, _>(index)
            .get_result(conn)
            .with_context(|| format!("the predicate of {index}"))?;
    let domain: Vec<i16> = enumeration.iter().map(|s| number(*s)).collect();
    let Admitted { states } = sql_query(format!(
        "SELECT coalesce(array_agg(state ORDER BY state), '{{}}') AS states
         FROM (SELECT s AS state {columns} FROM unnest($1::smallint[]) AS s) AS row
         WHERE {predicate}"
    ))
    .bind::<Array<SmallInt>, _>(domain)
    .get_result(conn)
    .with_context(|| format!("evaluating {index}'s predicate {predicate}"))?;
    Ok(states)
}

fn numbers<T: Copy>(all: &[T], keep: impl Fn(T) -> bool, number: impl Fn(T) -> i16) -> Vec<i16> {
    let mut kept: Vec<i16> = all.iter().copied().filter(|s| keep(*s)).map(number).collect();
    kept.sort_unstable();
    kept
}

#[test]
fn partial_indexes_admit_the_states_the_server_means() -> Result<()> {
    let database = TestDatabase::create()?;
    let conn = &mut database.connect()?;

    let open_cases = numbers(CaseState::ALL, CaseState::is_open, CaseState::as_i16);
    assert_eq!(admitted(conn, "cases_petitioner_open_idx", CaseState::ALL, CaseState::as_i16, "")?, open_cases);
    // Still with the organizations: the backlog rule's candidates.
    let mut with_organizations = petition_server::backlog::rules::OPEN_STATES.to_vec();
    with_organizations.sort_unstable();
    assert_eq!(
        admitted(conn, "cases_backlog_open_idx", CaseState::ALL, CaseState::as_i16, ", '{}'::jsonb AS lifecycle")?,
        with_organizations
    );
    assert_eq!(
        admitted(
            conn,
            "cases_backlog_after_final_idx",
            CaseState::ALL,
            CaseState::as_i16,
            r#", '{"decline_reason": "CONCLUDED_AFTER_RECHECK"}'::jsonb AS lifecycle"#
        )?,
        vec![CaseState::Declined.as_i16()]
    );

    assert_eq!(
        admitted(conn, "backlog_cases_open_idx", BacklogState::ALL, BacklogState::as_i16, "")?,
        vec![BacklogState::Designated.as_i16()]
    );
    assert_eq!(
        admitted(conn, "court_referrals_open_once_idx", ReferralState::ALL, ReferralState::as_i16, "")?,
        numbers(ReferralState::ALL, ReferralState::is_open, ReferralState::as_i16)
    );

    let not_ended = numbers(SupervisionState::ALL, |s| !s.ended(), SupervisionState::as_i16);
    let overdue = Trigger::Overdue.as_i16();
    assert_eq!(
        admitted(
            conn,
            "supervisions_one_overdue_idx",
            SupervisionState::ALL,
            SupervisionState::as_i16,
            &format!(", {overdue}::smallint AS trigger")
        )?,
        not_ended
    );
    for other in Trigger::ALL.iter().filter(|t| **t != Trigger::Overdue) {
        let columns = format!(", {}::smallint AS trigger", other.as_i16());
        assert_eq!(
            admitted(conn, "supervisions_one_overdue_idx", SupervisionState::ALL, SupervisionState::as_i16, &columns)?,
            Vec::<i16>::new(),
            "{other:?}"
        );
    }
    assert_eq!(
        admitted(conn, "supervisions_open_due_idx", SupervisionState::ALL, SupervisionState::as_i16, "")?,
        vec![SupervisionState::Open.as_i16()]
    );

    let mut holding = petition_server::reception::store::HOLDING.to_vec();
    holding.sort_unstable();
    assert_eq!(admitted(conn, "reception_bookings_slot_idx", BookingState::ALL, BookingState::as_i16, "")?, holding);
    assert_eq!(
        admitted(conn, "reception_bookings_one_open_matter_idx", BookingState::ALL, BookingState::as_i16, "")?,
        vec![BookingState::Booked.as_i16()]
    );

    let matters = numbers(LegalAidState::ALL, LegalAidState::is_matter, LegalAidState::as_i16);
    assert_eq!(
        admitted(conn, "legal_aid_conflict_applicant_idx", LegalAidState::ALL, LegalAidState::as_i16, "")?,
        matters
    );
    assert_eq!(
        admitted(conn, "legal_aid_conflict_adverse_idx", LegalAidState::ALL, LegalAidState::as_i16, "")?,
        matters
    );
    Ok(())
}

/// A filing reads its petitioner's open cases by an index whose predicate
/// is the database's `case_state_is_open` (migration 000029): it must say
/// what the server's `CaseState::is_open` says, for every state.
#[test]
fn the_database_and_the_server_agree_on_which_cases_are_open() -> Result<()> {
    #[derive(QueryableByName)]
    struct Open {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        open: bool,
    }
    let database = TestDatabase::create()?;
    let mut conn = database.connect()?;
    for state in CaseState::ALL {
        let Open { open } = sql_query("SELECT case_state_is_open($1) AS open")
            .bind::<SmallInt, _>(state.as_i16())
            .get_result(&mut conn)?;
        assert_eq!(open, state.is_open(), "{state:?}");
    }
    Ok(())
}
