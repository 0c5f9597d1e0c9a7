//! Case queries: numbers, rows, the event log, listing with visibility.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Record, SmallInt, Text, Uuid as SqlUuid};
use uuid::Uuid;

use super::domain::CaseState;
use super::model::{CaseRow, LifecycleChange, basic_case_columns, case_columns, full_case_columns};
use super::view::CaseView;
use crate::auth::policy;
use crate::auth::{Principal, Role};
use crate::calendar::store::overdue;
use crate::error::AppError;
use crate::error::Reason;
use crate::literal_limit::LiteralLimit;
use crate::prepared::{KeepPrepared, Param, Values};
use crate::schema::{accounts, cases, related_cases};
use crate::static_sql::{StaticSql, static_sql};

/// Counts one more filing of `petitioner` on `day` and returns the day's
/// count; the row stays locked until the transaction ends, so concurrent
/// filings of one person serialize here.
pub fn count_filing(conn: &mut PgConnection, petitioner: Uuid, day: chrono::NaiveDate) -> Result<i32, AppError> {
    use crate::schema::daily_filings;
    Ok(diesel::insert_into(daily_filings::table)
        .values((daily_filings::petitioner_id.eq(petitioner), daily_filings::day.eq(day), daily_filings::filings.eq(1)))
        .on_conflict((daily_filings::petitioner_id, daily_filings::day))
        .do_update()
        .set(daily_filings::filings.eq(daily_filings::filings + 1))
        .returning(daily_filings::filings)
        .keep_prepared()
        .get_result(conn)?)
}

pub fn insert_case(conn: &mut PgConnection, row: &CaseRow) -> Result<CaseRow, AppError> {
    Ok(diesel::insert_into(cases::table)
        .values(row)
        .returning(CaseRow::as_returning())
        .keep_prepared()
        .get_result(conn)?)
}

pub fn find_case(conn: &mut PgConnection, id: Uuid) -> Result<Option<CaseRow>, AppError> {
    Ok(cases::table.find(id).select(CaseRow::as_select()).first(conn).optional()?)
}

/// The cases of `ids` that exist, in no particular order.
pub fn find_cases(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<CaseRow>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(cases::table.filter(cases::id.eq_any(ids)).select(CaseRow::as_select()).load(conn)?)
}

/// A case by its id or its human number.
pub fn find_case_by_key(conn: &mut PgConnection, key: &str) -> Result<Option<CaseRow>, AppError> {
    match Uuid::parse_str(key) {
        Ok(id) => find_case(conn, id),
        Err(_) => find_case_by_number(conn, key),
    }
}

/// A petitioner's name and phone as stored (masked, and sealed), read with
/// their case.
#[derive(Debug, Clone, Queryable)]
pub struct StoredPetitioner {
    pub name: String,
    pub phone_masked: Option<String>,
    pub phone_cipher: Option<Vec<u8>>,
}

/// A case's legal-aid route as stored, read with the case (`Case.legal_aid`).
#[derive(Debug, Clone, Default, Queryable)]
pub struct StoredLegalAid {
    /// Legal-aid centres placed in the case's region or a region above it.
    pub centres: Vec<Uuid>,
    /// The applications made from the case, oldest first: (id, centre, state).
    pub applications: Vec<(Uuid, Uuid, i16)>,
}

type LegalAidColumns = (StaticSql<Array<SqlUuid>>, StaticSql<Array<Record<(SqlUuid, SqlUuid, SmallInt)>>>);

/// Centres: organizations of the legal-aid centre kind (4, checked by a
/// test) whose region is one of the case's path (a region path's segments
/// are its regions' codes).
const LEGAL_AID_CENTRES: &str = "ARRAY(SELECT o.id FROM organizations o WHERE o.kind = 4 \
     AND o.region_code = ANY(string_to_array(cases.region_path, '/')) ORDER BY o.id)";

/// The [`StoredLegalAid`] of the selected case as columns of its own
/// statement, or empty arrays where the view leaves the route out. Static
/// SQL, so that GetCase's statement stays prepared.
fn legal_aid_columns(read: bool) -> LegalAidColumns {
    if !read {
        return (static_sql("'{}'::uuid[]"), static_sql("'{}'::record[]"));
    }
    (
        static_sql(LEGAL_AID_CENTRES),
        static_sql(
            "ARRAY(SELECT ROW(a.id, a.centre_organization_id, a.state) FROM legal_aid_applications a \
             WHERE a.case_id = cases.id ORDER BY a.id)",
        ),
    )
}

/// [`find_case_by_key`] with its petitioner and its legal-aid route, in one
/// statement.
pub fn find_viewed_case(
    conn: &mut PgConnection,
    key: &str,
) -> Result<Option<(CaseRow, StoredPetitioner, StoredLegalAid)>, AppError> {
    let query = cases::table
        .inner_join(accounts::table.on(accounts::id.eq(cases::petitioner_id)))
        .select((
            CaseRow::as_select(),
            (accounts::display_name, accounts::phone_masked, accounts::phone_cipher),
            legal_aid_columns(true),
        ))
        .into_boxed();
    let query = match Uuid::parse_str(key) {
        Ok(id) => query.filter(cases::id.eq(id)),
        Err(_) => query.filter(cases::number.eq(key.to_owned())),
    };
    Ok(query.first(conn).optional()?)
}

/// A listed case: its row (without the body in the basic view), the feed
/// horizon of the statement's snapshot, its petitioner and (in the full
/// view) its legal-aid route.
pub struct Listed {
    pub row: CaseRow,
    pub horizon: i64,
    pub petitioner: StoredPetitioner,
    pub legal_aid: StoredLegalAid,
}

pub fn find_case_by_number(conn: &mut PgConnection, number: &str) -> Result<Option<CaseRow>, AppError> {
    Ok(cases::table.filter(cases::number.eq(number)).select(CaseRow::as_select()).first(conn).optional()?)
}

/// The case, locked until the transaction ends: transitions of one case
/// run one at a time and each sees the state the previous one left.
pub fn lock_case(conn: &mut PgConnection, id: Uuid) -> Result<Option<CaseRow>, AppError> {
    Ok(cases::table.find(id).select(CaseRow::as_select()).for_update().first(conn).optional()?)
}

/// The open cases (by id, the order they are locked in) with a deadline
/// in `[from, to]`.
pub fn open_cases_with_a_deadline_between(
    conn: &mut PgConnection,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<Uuid>, AppError> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let closed: Vec<i16> = CaseState::ALL.iter().filter(|s| s.is_terminal()).map(|s| s.as_i16()).collect();
    let ids: Vec<Id> = diesel::sql_query(
        "SELECT id FROM cases WHERE state <> ALL($1) AND EXISTS (
             SELECT 1 FROM jsonb_each_text(lifecycle -> 'deadlines') AS d
             WHERE d.value::date BETWEEN $2 AND $3)
         ORDER BY id",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::SmallInt>, _>(closed)
    .bind::<diesel::sql_types::Date, _>(from)
    .bind::<diesel::sql_types::Date, _>(to)
    .load(conn)?;
    Ok(ids.into_iter().map(|row| row.id).collect())
}

pub fn save_lifecycle(conn: &mut PgConnection, id: Uuid, change: &LifecycleChange) -> Result<CaseRow, AppError> {
    Ok(diesel::update(cases::table.find(id))
        .set(change)
        .returning(CaseRow::as_returning())
        .keep_prepared()
        .get_result(conn)?)
}

/// Whether the petitioner filed any case before `case` (ids are UUIDv7, so
/// ordered by filing time): a case is a first-time petition (初次信访) when
/// none came before it.
pub fn petitioner_has_earlier_cases(conn: &mut PgConnection, petitioner: Uuid, case: Uuid) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        cases::table.filter(cases::petitioner_id.eq(petitioner)).filter(cases::id.lt(case)),
    ))
    .get_result(conn)?)
}

/// Those of `ids` that other cases are merged into.
pub fn merge_primaries(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Uuid>, AppError> {
    let primaries: Vec<Option<Uuid>> =
        cases::table.filter(cases::merged_into.eq_any(ids)).select(cases::merged_into).distinct().load(conn)?;
    Ok(primaries.into_iter().flatten().collect())
}

/// Which cases a caller may list: the SQL form of `policy::can_see_case`
/// (the e2e suite checks that both show each caller the same cases).
#[derive(Debug, Clone)]
pub enum Visibility {
    /// Admins.
    All,
    /// A citizen: their own cases.
    Petitioner(Uuid),
    /// Staff: cases arising in their jurisdiction (none for mediators,
    /// `policy::sees_by_jurisdiction`), plus those their
    /// organization handles, reviews or was given access to.
    Staff { jurisdiction: Option<String>, organization: Option<Uuid> },
    /// A partner service account: the cases its organization was given
    /// access to.
    Partner { organization: Uuid },
    /// An account without a role that sees cases.
    Nothing,
}

impl Visibility {
    /// What `principal` may list; PERMISSION_DENIED for a partner without
    /// the read scope or an organization.
    pub fn of(principal: &Principal) -> Result<Visibility, AppError> {
        if principal.is_admin() {
            return Ok(Visibility::All);
        }
        if principal.has_role(Role::Citizen) {
            return Ok(Visibility::Petitioner(principal.account_id));
        }
        if principal.has_role(Role::Partner) {
            return match principal.organization_id {
                Some(organization) if principal.scopes.contains(&crate::auth::Scope::CasesRead) => {
                    Ok(Visibility::Partner { organization })
                }
                _ => Err(AppError::permission_denied(Reason::PermissionDenied, "this token may not read cases")),
            };
        }
        if !policy::is_case_staff(principal) {
            return Ok(Visibility::Nothing);
        }
        let jurisdiction = if policy::sees_by_jurisdiction(principal) { principal.jurisdiction.clone() } else { None };
        Ok(Visibility::Staff { jurisdiction, organization: principal.organization_id })
    }
}

/// Inclusive start and exclusive end of a time range; `None` is open.
pub type TimeBounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Typed list filters, already validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFilter {
    pub states: Vec<i16>,
    pub tracks: Vec<i16>,
    pub kind: Option<i16>,
    pub category_code: Option<String>,
    pub region_root: Option<String>,
    pub handling_organization_id: Option<Uuid>,
    pub overdue_only: bool,
    pub extended_only: bool,
    pub group_visit_only: bool,
    pub created: TimeBounds,
    pub updated: TimeBounds,
    pub related_to: Option<Uuid>,
    pub repeat_of: Option<Uuid>,
    pub merged_into: Option<Uuid>,
    pub escalated_only: bool,
    /// The owning leader (包案).
    pub owning_leader_id: Option<Uuid>,
}

diesel::infix_operator!(PatternAtLeast, " ~>=~ ", backend: Pg);
diesel::infix_operator!(PatternBelow, " ~<~ ", backend: Pg);

type PathParam = Param<Text, String>;
type InSubtree = diesel::dsl::Or<
    diesel::dsl::Eq<cases::region_path, PathParam>,
    diesel::dsl::And<PatternAtLeast<cases::region_path, PathParam>, PatternBelow<cases::region_path, PathParam>>,
>;

/// Cases of region `root` or below it: the paths below are a range in byte
/// order ('0' follows '/'), which the region index serves for a bound
/// value too, where `LIKE $1` would need the pattern at planning time.
fn in_subtree(root: &str, values: Values) -> InSubtree {
    let from: PathParam = values.of(format!("{root}/"));
    let until: PathParam = values.of(format!("{root}0"));
    let below = BoolExpressionMethods::and(
        PatternAtLeast::new(cases::region_path, from),
        PatternBelow::new(cases::region_path, until),
    );
    cases::region_path.eq(values.of(root.to_owned())).or(below)
}

/// Whether one generic plan serves every caller of a list of this shape,
/// so that its statement may stay prepared: a list over the whole city
/// (or a top-level region) newest first, by at most one state, walks the
/// primary key or the state index whoever asks. Any narrower list is
/// planned for its values at every call.
fn one_plan_serves(visibility: &Visibility, filter: &CaseFilter) -> bool {
    let wide = match visibility {
        Visibility::All => true,
        Visibility::Staff { jurisdiction: Some(root), .. } => !root.contains('/'),
        _ => false,
    };
    wide && filter.states.len() <= 1 && *filter == CaseFilter { states: filter.states.clone(), ..CaseFilter::default() }
}

/// Cases newest first (ids are UUIDv7) after the cursor `before`, each
/// with the change feed's horizon in the statement's snapshot
/// (`feed_horizon()`: every event of a transaction below it is reflected).
pub fn list_cases(
    conn: &mut PgConnection,
    visibility: &Visibility,
    filter: &CaseFilter,
    before: Option<Uuid>,
    limit: i64,
    view: CaseView,
) -> Result<Vec<Listed>, AppError> {
    let horizon = || static_sql::<BigInt>("(SELECT feed_horizon())");
    let petitioner = (accounts::display_name, accounts::phone_masked, accounts::phone_cipher);
    let joined = cases::table.inner_join(accounts::table.on(accounts::id.eq(cases::petitioner_id)));
    let mut query = match view {
        CaseView::Full => {
            joined.select((full_case_columns!(), horizon(), petitioner, legal_aid_columns(true))).into_boxed()
        }
        CaseView::Basic => {
            joined.select((basic_case_columns!(), horizon(), petitioner, legal_aid_columns(false))).into_boxed()
        }
    }
    .order(cases::id.desc());
    let values = if one_plan_serves(visibility, filter) { Values::Opaque } else { Values::Bound };
    match visibility {
        Visibility::All => {}
        Visibility::Petitioner(id) => query = query.filter(cases::petitioner_id.eq(*id)),
        Visibility::Staff { jurisdiction, organization } => {
            let org = organization.unwrap_or(Uuid::nil());
            let through_organization = cases::handling_organization_id
                .eq(values.of(org))
                .or(cases::reviewing_organization_id.eq(values.of(org)))
                .or(cases::access_organization_ids.contains(values.of(vec![org])));
            query = match jurisdiction {
                Some(root) => query.filter(in_subtree(root, values).or(through_organization)),
                None => query.filter(through_organization),
            };
        }
        Visibility::Nothing => query = query.filter(static_sql::<Bool>("FALSE")),
        Visibility::Partner { organization } => {
            // The second condition lets the partial index serve the first.
            query = query.filter(
                cases::access_organization_ids
                    .contains(vec![*organization])
                    .and(cases::access_organization_ids.ne(Vec::<Uuid>::new())),
            );
        }
    }
    if !filter.states.is_empty() {
        // Bound, never opaque: the planner then knows the state is one and
        // walks the state index in the order asked for.
        query = query.filter(cases::state.eq_any(filter.states.clone()));
    }
    if filter.states.len() == 1 {
        // The same order (the state is one), but one that only the state
        // index gives: states follow age (the newest cases are the open
        // ones), so walking the primary key for the newest cases of an old
        // state reads past every newer case (0.4 s at 1,000,000 cases).
        query = query.order((cases::state.asc(), cases::id.desc()));
    }
    if let Some(leader) = filter.owning_leader_id {
        // The same order again, as the leader index gives it: a leader owns
        // a few dozen cases among a million.
        query =
            query.filter(cases::owning_leader_id.eq(leader)).order((cases::owning_leader_id.asc(), cases::id.desc()));
    }
    if !filter.tracks.is_empty() {
        query = query.filter(cases::track.eq_any(filter.tracks.clone()));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(cases::kind.eq(kind));
    }
    if let Some(category) = &filter.category_code {
        query = query.filter(cases::category_code.eq(category.clone()));
    }
    if let Some(root) = &filter.region_root {
        query = query.filter(in_subtree(root, values));
    }
    if let Some(org) = filter.handling_organization_id {
        query = query.filter(cases::handling_organization_id.eq(org));
    }
    if filter.overdue_only {
        query = query.filter(overdue(cases::due_date));
    }
    if filter.extended_only {
        query = query.filter(cases::extended.eq(true));
    }
    if filter.group_visit_only {
        query = query.filter(cases::group_visit.is_not_null());
    }
    if let Some(start) = filter.created.0 {
        query = query.filter(cases::created_at.ge(start));
    }
    if let Some(end) = filter.created.1 {
        query = query.filter(cases::created_at.lt(end));
    }
    if let Some(start) = filter.updated.0 {
        query = query.filter(cases::updated_at.ge(start));
    }
    if let Some(end) = filter.updated.1 {
        query = query.filter(cases::updated_at.lt(end));
    }
    if let Some(case) = filter.related_to {
        query = query.filter(cases::id.eq_any(
            related_cases::table.filter(related_cases::case_id.eq(case)).select(related_cases::related_case_id),
        ));
    }
    if let Some(case) = filter.repeat_of {
        query = query.filter(cases::repeat_of.eq(case));
    }
    if let Some(case) = filter.merged_into {
        query = query.filter(cases::merged_into.eq(case));
    }
    if filter.escalated_only {
        query = query.filter(cases::lifecycle.contains(serde_json::json!({ "escalated": true })));
    }
    if let Some(before) = before {
        query = query.filter(cases::id.lt(values.of(before)));
    }
    let limit = u32::try_from(limit).map_err(AppError::internal)?;
    let page = LiteralLimit::new(query, limit);
    let page = if values == Values::Opaque { page.keep_prepared() } else { page.planned_per_call() };
    let rows: Vec<(CaseRow, i64, StoredPetitioner, StoredLegalAid)> = page.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(row, horizon, petitioner, legal_aid)| Listed { row, horizon, petitioner, legal_aid })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lists_over_a_top_level_region_by_at_most_one_state_keep_one_plan() {
        let org = Some(Uuid::nil());
        let staff = |root: Option<&str>| Visibility::Staff { jurisdiction: root.map(str::to_owned), organization: org };
        let by_state = |states: Vec<i16>| CaseFilter { states, ..CaseFilter::default() };
        let everything = CaseFilter::default();
        assert!(one_plan_serves(&Visibility::All, &everything));
        assert!(one_plan_serves(&staff(Some("360700")), &everything));
        assert!(one_plan_serves(&staff(Some("360700")), &by_state(vec![2])));
        assert!(!one_plan_serves(&staff(Some("360700")), &by_state(vec![2, 3])));
        assert!(!one_plan_serves(&staff(Some("360700/360702")), &everything));
        assert!(!one_plan_serves(&staff(None), &everything));
        assert!(!one_plan_serves(&Visibility::Petitioner(Uuid::nil()), &everything));
        assert!(!one_plan_serves(&Visibility::Partner { organization: Uuid::nil() }, &everything));
        assert!(!one_plan_serves(&Visibility::Nothing, &everything));
        let narrowed = [
            CaseFilter { category_code: Some("01".into()), ..CaseFilter::default() },
            CaseFilter { region_root: Some("360700/360702".into()), ..CaseFilter::default() },
            CaseFilter { handling_organization_id: org, ..CaseFilter::default() },
            CaseFilter { owning_leader_id: org, ..CaseFilter::default() },
            CaseFilter { overdue_only: true, ..CaseFilter::default() },
        ];
        for filter in &narrowed {
            assert!(!one_plan_serves(&Visibility::All, filter), "{filter:?}");
        }
    }

    #[test]
    fn the_centres_column_names_the_legal_aid_centre_kind() {
        let kind = crate::directory::rules::OrganizationKind::LegalAidCentre.as_i16();
        assert!(LEGAL_AID_CENTRES.contains(&format!("o.kind = {kind} ")));
    }
}
