//! Queries of legal-aid applications; every function takes the connection.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use uuid::Uuid;

use super::conflicts::Matter;
use super::domain::LegalAidState;
use super::model::{ApplicationChange, ApplicationRow};
use crate::auth::Principal;
use crate::auth::Scope;
use crate::auth::principal::Role;
use crate::calendar::store::overdue;
use crate::error::AppError;
use crate::literal_limit::LiteralLimit;
use crate::schema::legal_aid_applications as la;

pub fn insert(conn: &mut PgConnection, row: &ApplicationRow) -> Result<(), AppError> {
    diesel::insert_into(la::table).values(row).execute(conn)?;
    // The decision clock runs from receipt: the sweeper's walk starts here.
    super::sweep::MARKS.track(conn, row.id, &[], &super::sweep::tracked(&row.lifecycle.0))?;
    Ok(())
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<Option<ApplicationRow>, AppError> {
    Ok(la::table.find(id).select(ApplicationRow::as_select()).first(conn).optional()?)
}

pub fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<ApplicationRow>, AppError> {
    Ok(la::table.find(id).select(ApplicationRow::as_select()).for_update().first(conn).optional()?)
}

pub fn save(conn: &mut PgConnection, id: Uuid, change: &ApplicationChange) -> Result<ApplicationRow, AppError> {
    Ok(diesel::update(la::table.find(id)).set(change).returning(ApplicationRow::as_returning()).get_result(conn)?)
}

/// The centre's other matters (GRANTED, ASSIGNED, CLOSED) sharing a name
/// with the applicant or an adverse party: one query on the two partial
/// indexes (`legal_aid_conflict_*_idx`). [`super::conflicts::hits`] decides.
pub fn conflict_candidates(
    conn: &mut PgConnection,
    centre: Uuid,
    own_id: Uuid,
    applicant_key: &str,
    adverse_keys: &[String],
) -> Result<Vec<Matter>, AppError> {
    let matters: Vec<i16> = LegalAidState::ALL.iter().filter(|s| s.is_matter()).map(|s| s.as_i16()).collect();
    let rows: Vec<(Uuid, String, Vec<Option<String>>)> = la::table
        .filter(la::centre_organization_id.eq(centre))
        .filter(la::state.eq_any(matters))
        .filter(la::id.ne(own_id))
        .filter(
            la::applicant_key
                .eq_any(adverse_keys.to_vec())
                .or(la::adverse_keys.overlaps_with(vec![applicant_key.to_owned()])),
        )
        .select((la::id, la::applicant_key, la::adverse_keys))
        .limit(200)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, applicant_key, adverse)| Matter {
            id,
            applicant_key,
            adverse_keys: adverse.into_iter().flatten().collect(),
        })
        .collect())
}

/// Which applications a caller may list: the SQL form of
/// `policy::can_see_legal_aid`.
#[derive(Debug, Clone)]
pub enum Visibility {
    All,
    Scoped {
        account: Uuid,
        /// A lawyer: the matters assigned to them.
        lawyer: bool,
        /// Staff of this organization: its centre's, its bureau's, its
        /// cases' applications.
        staff_organization: Option<Uuid>,
        /// A partner reading for this centre.
        partner_centre: Option<Uuid>,
    },
}

impl Visibility {
    pub fn of(principal: &Principal) -> Visibility {
        if principal.is_admin() {
            return Visibility::All;
        }
        let staff = [Role::Clerk, Role::Handler, Role::UnitLead, Role::Leader, Role::Supervisor]
            .iter()
            .any(|r| principal.has_role(*r));
        let partner = principal.has_role(Role::Partner) && principal.scopes.contains(&Scope::CasesRead);
        Visibility::Scoped {
            account: principal.account_id,
            lawyer: principal.has_role(Role::Lawyer),
            staff_organization: if staff { principal.organization_id } else { None },
            partner_centre: if partner { principal.organization_id } else { None },
        }
    }
}

/// Typed filters, validated.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub centre: Option<Uuid>,
    pub states: Vec<i16>,
    pub case_id: Option<Uuid>,
    /// Only the matters assigned to this lawyer account.
    pub lawyer_account: Option<Uuid>,
    pub overdue_only: bool,
    /// Only this applicant's.
    pub applicant_account: Option<Uuid>,
}

type Query<'a> =
    la::BoxedQuery<'a, diesel::pg::Pg, <diesel::dsl::AsSelect<ApplicationRow, diesel::pg::Pg> as Expression>::SqlType>;

/// Whether `filter` alone keeps the rows within what the caller may see
/// (a lawyer's own matters, an applicant's own, a centre's staff or partner
/// listing the centre): the visibility clause is then left out, so that
/// the filter's own index serves the page instead of an OR of six.
fn implies_visibility(filter: &Filter, visibility: &Visibility) -> bool {
    let Visibility::Scoped { account, lawyer, staff_organization, partner_centre } = visibility else {
        return true;
    };
    (*lawyer && filter.lawyer_account == Some(*account))
        || filter.applicant_account == Some(*account)
        || filter.centre.is_some_and(|c| *staff_organization == Some(c) || *partner_centre == Some(c))
}

fn visible<'a>(query: Query<'a>, visibility: &Visibility) -> Query<'a> {
    let Visibility::Scoped { account, lawyer, staff_organization, partner_centre } = visibility else {
        return query;
    };
    let nil = Uuid::nil();
    let staff = staff_organization.unwrap_or(nil);
    let partner = partner_centre.unwrap_or(nil);
    let lawyer_account = if *lawyer { *account } else { nil };
    query.filter(
        la::applicant_account_id
            .eq(*account)
            .or(la::lawyer_account_id.eq(lawyer_account))
            .or(la::centre_organization_id.eq(staff))
            .or(la::centre_organization_id.eq(partner))
            .or(la::bureau_organization_id.eq(staff))
            .or(la::origin_organization_id.eq(staff))
            .or(sql::<Bool>("FALSE")),
    )
}

/// Applications newest first (ids are UUIDv7) before `before`.
pub fn list(
    conn: &mut PgConnection,
    visibility: &Visibility,
    filter: &Filter,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ApplicationRow>, AppError> {
    let mut query: Query<'_> = la::table.select(ApplicationRow::as_select()).order(la::id.desc()).into_boxed();
    if !implies_visibility(filter, visibility) {
        query = visible(query, visibility);
    }
    if let Some(centre) = filter.centre {
        query = query.filter(la::centre_organization_id.eq(centre));
    }
    match filter.states.as_slice() {
        [] => {}
        [one] => query = query.filter(la::state.eq(*one)),
        many => query = query.filter(la::state.eq_any(many.to_vec())),
    }
    if let Some(case) = filter.case_id {
        query = query.filter(la::case_id.eq(case));
    }
    if let Some(lawyer) = filter.lawyer_account {
        query = query.filter(la::lawyer_account_id.eq(lawyer));
    }
    if let Some(applicant) = filter.applicant_account {
        query = query.filter(la::applicant_account_id.eq(applicant));
    }
    if filter.overdue_only {
        query = query.filter(overdue(la::due_date));
    }
    if let Some(before) = before {
        query = query.filter(la::id.lt(before));
    }
    let limit = u32::try_from(limit).map_err(AppError::internal)?;
    Ok(LiteralLimit::new(query, limit).load(conn)?)
}

/// Whether `account` holds the lawyer's role (an assignment names one).
pub fn is_lawyer_account(conn: &mut PgConnection, account: Uuid) -> Result<bool, AppError> {
    use crate::schema::accounts;
    let roles: Option<Vec<Option<i16>>> =
        accounts::table.find(account).select(accounts::roles).first(conn).optional()?;
    Ok(roles.is_some_and(|r| r.contains(&Some(Role::Lawyer.as_i16()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoped(lawyer: bool, staff: Option<Uuid>, partner: Option<Uuid>) -> (Uuid, Visibility) {
        let account = Uuid::now_v7();
        (account, Visibility::Scoped { account, lawyer, staff_organization: staff, partner_centre: partner })
    }

    #[test]
    fn only_a_filter_within_the_callers_reach_drops_the_visibility_clause() {
        let (centre, other) = (Uuid::now_v7(), Uuid::now_v7());
        let (me, lawyer) = scoped(true, None, None);
        assert!(implies_visibility(&Filter { lawyer_account: Some(me), ..Filter::default() }, &lawyer));
        assert!(!implies_visibility(&Filter { lawyer_account: Some(other), ..Filter::default() }, &lawyer));
        assert!(!implies_visibility(&Filter::default(), &lawyer));
        // Not a lawyer: being named as one grants nothing.
        let (me, citizen) = scoped(false, None, None);
        assert!(!implies_visibility(&Filter { lawyer_account: Some(me), ..Filter::default() }, &citizen));
        assert!(implies_visibility(&Filter { applicant_account: Some(me), ..Filter::default() }, &citizen));
        assert!(!implies_visibility(&Filter { centre: Some(centre), ..Filter::default() }, &citizen));
        let (_, staff) = scoped(false, Some(centre), None);
        assert!(implies_visibility(&Filter { centre: Some(centre), ..Filter::default() }, &staff));
        assert!(!implies_visibility(&Filter { centre: Some(other), ..Filter::default() }, &staff));
        let (_, partner) = scoped(false, None, Some(centre));
        assert!(implies_visibility(&Filter { centre: Some(centre), ..Filter::default() }, &partner));
        assert!(!implies_visibility(&Filter { centre: Some(other), ..Filter::default() }, &partner));
        assert!(implies_visibility(&Filter::default(), &Visibility::All));
    }
}
