//! Mediation queries. Every function takes the connection of the caller's
//! transaction; none decides policy.

use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Text};
use uuid::Uuid;

use super::model::{DisputeChange, DisputeRow, MemberRow, PartyRow, ScreeningRow, TeamChange, TeamRow};
use crate::auth::Principal;
use crate::auth::policy::{self, Membership};
use crate::auth::principal::Role;
use crate::calendar::store::overdue;
use crate::directory::model::RegionRow;
use crate::error::AppError;
use crate::literal_limit::LiteralLimit;
use crate::schema::{dispute_parties, disputes, mediation_teams, regions, screenings, team_members};

/// Open states (petition.v1.DisputeState AWAITING_CONSENT, ACCEPTED,
/// IN_MEDIATION): `DisputeState::is_open`.
pub const OPEN_STATES: [i16; 3] = [1, 2, 3];

/// [`OPEN_STATES`] as the counts' SQL spells them (`sql` takes a literal).
macro_rules! open_states {
    () => {
        "(1, 2, 3)"
    };
}

fn like_subtree(root: &str) -> String {
    format!("{}/%", root.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// The teams `account` is an active member of.
pub fn memberships_of(conn: &mut PgConnection, account: Uuid) -> Result<Vec<Membership>, AppError> {
    let rows: Vec<(Uuid, i16, i16, Vec<Option<String>>)> = team_members::table
        .inner_join(mediation_teams::table)
        .filter(team_members::account_id.eq(account))
        .filter(team_members::active.eq(true))
        .select((team_members::team_id, team_members::role, mediation_teams::level, mediation_teams::covered_paths))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(team_id, role, level, paths)| Membership {
            team_id,
            head: role == super::domain::MemberRole::Head.as_i16(),
            level,
            covered_paths: paths.into_iter().flatten().collect(),
        })
        .collect())
}

/// The memberships the policy needs of `principal`: none unless they hold
/// the mediator role (no query then).
pub fn memberships_for(conn: &mut PgConnection, principal: &Principal) -> Result<Vec<Membership>, AppError> {
    if principal.has_role(Role::Mediator) { memberships_of(conn, principal.account_id) } else { Ok(Vec::new()) }
}

// ---- teams -------------------------------------------------------------

/// A team with its counts.
#[derive(Debug, Clone)]
pub struct CountedTeam {
    pub row: TeamRow,
    pub members: i64,
    pub open_disputes: i64,
}

fn member_count() -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
    sql("(SELECT count(*) FROM team_members m WHERE m.team_id = mediation_teams.id AND m.active)")
}

fn open_dispute_count() -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
    sql(concat!(
        "(SELECT count(*) FROM disputes d WHERE d.team_id = mediation_teams.id AND d.state IN ",
        open_states!(),
        ")"
    ))
}

pub fn insert_team(conn: &mut PgConnection, row: &TeamRow) -> Result<(), AppError> {
    diesel::insert_into(mediation_teams::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_team(conn: &mut PgConnection, id: Uuid) -> Result<Option<CountedTeam>, AppError> {
    let row: Option<(TeamRow, i64, i64)> = mediation_teams::table
        .find(id)
        .select((TeamRow::as_select(), member_count(), open_dispute_count()))
        .first(conn)
        .optional()?;
    Ok(row.map(|(row, members, open_disputes)| CountedTeam { row, members, open_disputes }))
}

pub fn lock_team(conn: &mut PgConnection, id: Uuid) -> Result<Option<TeamRow>, AppError> {
    Ok(mediation_teams::table.find(id).select(TeamRow::as_select()).for_update().first(conn).optional()?)
}

pub fn update_team(conn: &mut PgConnection, id: Uuid, change: &TeamChange) -> Result<(), AppError> {
    diesel::update(mediation_teams::table.find(id)).set(change).execute(conn)?;
    Ok(())
}

/// Typed team filters, validated.
#[derive(Debug, Clone, Default)]
pub struct TeamFilter {
    pub region_root: Option<String>,
    pub kind: Option<i16>,
    pub specialty: Option<i16>,
    /// Teams covering this region path.
    pub covering_path: Option<String>,
    pub include_retired: bool,
    /// Only teams this account is an active member of.
    pub member_account: Option<Uuid>,
}

/// Teams by id after `after`.
pub fn list_teams(
    conn: &mut PgConnection,
    filter: &TeamFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<CountedTeam>, AppError> {
    let mut query = mediation_teams::table
        .select((TeamRow::as_select(), member_count(), open_dispute_count()))
        .order(mediation_teams::id)
        .into_boxed();
    if let Some(root) = &filter.region_root {
        query = query.filter(
            mediation_teams::region_path.eq(root.clone()).or(mediation_teams::region_path.like(like_subtree(root))),
        );
    }
    if let Some(kind) = filter.kind {
        query = query.filter(mediation_teams::kind.eq(kind));
    }
    if let Some(specialty) = filter.specialty {
        query = query.filter(mediation_teams::specialties.contains(vec![specialty]));
    }
    if let Some(path) = &filter.covering_path {
        // A team covers a region when one of its covered paths is the
        // region's or an ancestor's: the region's own prefixes.
        query = query.filter(mediation_teams::covered_paths.overlaps_with(path_prefixes(path)));
    }
    if !filter.include_retired {
        query = query.filter(mediation_teams::retired.eq(false));
    }
    if let Some(account) = filter.member_account {
        query = query.filter(
            mediation_teams::id.eq_any(
                team_members::table
                    .filter(team_members::account_id.eq(account))
                    .filter(team_members::active.eq(true))
                    .select(team_members::team_id),
            ),
        );
    }
    if let Some(after) = after {
        query = query.filter(mediation_teams::id.gt(after));
    }
    let limit = u32::try_from(limit).map_err(AppError::internal)?;
    let rows: Vec<(TeamRow, i64, i64)> = LiteralLimit::new(query, limit).load(conn)?;
    Ok(rows.into_iter().map(|(row, members, open_disputes)| CountedTeam { row, members, open_disputes }).collect())
}

/// `path` and every ancestor path of it ("a/b/c" → "a", "a/b", "a/b/c").
pub fn path_prefixes(path: &str) -> Vec<String> {
    path.match_indices('/').map(|(i, _)| path[..i].to_owned()).chain(std::iter::once(path.to_owned())).collect()
}

/// Regions at `level` in the subtree of `root` that no active team covers,
/// by code after `after`.
pub fn uncovered_regions(
    conn: &mut PgConnection,
    root: &str,
    level: i16,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<RegionRow>, AppError> {
    let mut query = regions::table
        .select(RegionRow::as_select())
        .filter(crate::directory::store::region_path_within(root))
        .filter(regions::level.eq(level))
        .filter(sql::<Bool>(
            "NOT EXISTS (SELECT 1 FROM mediation_teams t WHERE NOT t.retired AND EXISTS (
                 SELECT 1 FROM unnest(t.covered_paths) p WHERE regions.path = p OR regions.path LIKE p || '/%'))",
        ))
        .order(regions::code)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(regions::code.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

// ---- members -----------------------------------------------------------

/// A member with their open load.
#[derive(Debug, Clone)]
pub struct LoadedMember {
    pub row: MemberRow,
    pub open_disputes: i64,
}

fn member_load() -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
    sql(concat!(
        "(SELECT count(*) FROM disputes d WHERE d.mediator_member_id = team_members.id AND d.state IN ",
        open_states!(),
        ")"
    ))
}

pub fn insert_member(conn: &mut PgConnection, row: &MemberRow) -> Result<(), AppError> {
    diesel::insert_into(team_members::table).values(row).execute(conn)?;
    Ok(())
}

pub fn find_member(conn: &mut PgConnection, team: Uuid, id: Uuid) -> Result<Option<LoadedMember>, AppError> {
    let row: Option<(MemberRow, i64)> = team_members::table
        .filter(team_members::team_id.eq(team))
        .filter(team_members::id.eq(id))
        .select((MemberRow::as_select(), member_load()))
        .first(conn)
        .optional()?;
    Ok(row.map(|(row, open_disputes)| LoadedMember { row, open_disputes }))
}

/// Members of `team` by id after `after`.
pub fn list_members(
    conn: &mut PgConnection,
    team: Uuid,
    include_inactive: bool,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<LoadedMember>, AppError> {
    let mut query = team_members::table
        .filter(team_members::team_id.eq(team))
        .select((MemberRow::as_select(), member_load()))
        .order(team_members::id)
        .limit(limit)
        .into_boxed();
    if !include_inactive {
        query = query.filter(team_members::active.eq(true));
    }
    if let Some(after) = after {
        query = query.filter(team_members::id.gt(after));
    }
    let rows: Vec<(MemberRow, i64)> = query.load(conn)?;
    Ok(rows.into_iter().map(|(row, open_disputes)| LoadedMember { row, open_disputes }).collect())
}

pub fn deactivate_member(conn: &mut PgConnection, id: Uuid, at: chrono::DateTime<chrono::Utc>) -> Result<(), AppError> {
    diesel::update(team_members::table.find(id))
        .set((team_members::active.eq(false), team_members::removed_at.eq(Some(at))))
        .execute(conn)?;
    Ok(())
}

/// The account of a member, when they have one.
pub fn member_account(conn: &mut PgConnection, id: Uuid) -> Result<Option<Uuid>, AppError> {
    Ok(team_members::table.find(id).select(team_members::account_id).first::<Option<Uuid>>(conn).optional()?.flatten())
}

// ---- screenings ----------------------------------------------------------

pub fn insert_screening(conn: &mut PgConnection, row: &ScreeningRow) -> Result<(), AppError> {
    diesel::insert_into(screenings::table).values(row).execute(conn)?;
    Ok(())
}

/// A screening round and the disputes it found.
pub type FoundScreening = (ScreeningRow, Vec<Uuid>);

/// Rounds of `team`, newest first, before `before`.
pub fn list_screenings(
    conn: &mut PgConnection,
    team: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<FoundScreening>, AppError> {
    let mut query = screenings::table
        .filter(screenings::team_id.eq(team))
        .select(ScreeningRow::as_select())
        .order(screenings::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(screenings::id.lt(before));
    }
    let rows: Vec<ScreeningRow> = query.load(conn)?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let found: Vec<(Option<Uuid>, Uuid)> = disputes::table
        .filter(disputes::screening_id.eq_any(&ids))
        .select((disputes::screening_id, disputes::id))
        .order(disputes::id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let of_row = found.iter().filter(|(s, _)| *s == Some(row.id)).map(|(_, d)| *d).collect();
            (row, of_row)
        })
        .collect())
}

// ---- disputes ----------------------------------------------------------

pub fn insert_dispute(conn: &mut PgConnection, row: &DisputeRow, parties: &[PartyRow]) -> Result<(), AppError> {
    diesel::insert_into(disputes::table).values(row).execute(conn)?;
    diesel::insert_into(dispute_parties::table).values(parties).execute(conn)?;
    super::sweep::MARKS.track(conn, row.id, &[], &super::sweep::running(&row.lifecycle.0))?;
    Ok(())
}

/// A dispute with the account of its mediator.
#[derive(Debug, Clone)]
pub struct StoredDispute {
    pub row: DisputeRow,
    pub mediator_account_id: Option<Uuid>,
}

impl StoredDispute {
    /// A dispute just recorded: no mediator yet.
    pub fn new(row: DisputeRow) -> StoredDispute {
        StoredDispute { row, mediator_account_id: None }
    }
}

fn mediator_account() -> diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Uuid>> {
    sql("(SELECT m.account_id FROM team_members m WHERE m.id = disputes.mediator_member_id)")
}

pub fn find_dispute(conn: &mut PgConnection, id: Uuid) -> Result<Option<StoredDispute>, AppError> {
    let row: Option<(DisputeRow, Option<Uuid>)> =
        disputes::table.find(id).select((DisputeRow::as_select(), mediator_account())).first(conn).optional()?;
    Ok(row.map(|(row, mediator_account_id)| StoredDispute { row, mediator_account_id }))
}

pub fn lock_dispute(conn: &mut PgConnection, id: Uuid) -> Result<Option<StoredDispute>, AppError> {
    let row: Option<(DisputeRow, Option<Uuid>)> = disputes::table
        .find(id)
        .select((DisputeRow::as_select(), mediator_account()))
        .for_update()
        .first(conn)
        .optional()?;
    Ok(row.map(|(row, mediator_account_id)| StoredDispute { row, mediator_account_id }))
}

pub fn save_dispute(conn: &mut PgConnection, id: Uuid, change: &DisputeChange) -> Result<DisputeRow, AppError> {
    Ok(diesel::update(disputes::table.find(id)).set(change).returning(DisputeRow::as_returning()).get_result(conn)?)
}

/// The parties of `ids`, in each dispute's order.
pub fn parties_of(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<PartyRow>, AppError> {
    Ok(dispute_parties::table
        .filter(dispute_parties::dispute_id.eq_any(ids))
        .select(PartyRow::as_select())
        .order((dispute_parties::dispute_id, dispute_parties::position))
        .load(conn)?)
}

/// Which disputes a caller may list: the SQL form of
/// `policy::can_see_dispute` (the e2e suite checks both show each caller
/// the same disputes).
#[derive(Debug, Clone)]
pub enum DisputeVisibility {
    All,
    Scoped {
        account: Uuid,
        /// Staff who see by jurisdiction (every case role but mediator).
        jurisdiction: Option<String>,
        staff_organization: Option<Uuid>,
        /// A court's accounts (its staff, or partners with the read scope).
        court: Option<Uuid>,
        teams: Vec<Uuid>,
        overseen_paths: Vec<String>,
    },
}

impl DisputeVisibility {
    pub fn of(principal: &Principal, memberships: &[Membership]) -> DisputeVisibility {
        if principal.is_admin() {
            return DisputeVisibility::All;
        }
        let by_jurisdiction = policy::sees_by_jurisdiction(principal);
        let reads_for_org = by_jurisdiction
            || principal.has_role(Role::Mediator)
            || (principal.has_role(Role::Partner) && principal.scopes.contains(&crate::auth::Scope::CasesRead));
        let mediator = principal.has_role(Role::Mediator);
        DisputeVisibility::Scoped {
            account: principal.account_id,
            jurisdiction: if by_jurisdiction { principal.jurisdiction.clone() } else { None },
            staff_organization: if by_jurisdiction { principal.organization_id } else { None },
            court: if reads_for_org { principal.organization_id } else { None },
            teams: if mediator { memberships.iter().map(|m| m.team_id).collect() } else { Vec::new() },
            overseen_paths: if mediator {
                memberships.iter().filter(|m| m.head && m.level < 4).flat_map(|m| m.covered_paths.clone()).collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// Typed dispute filters, validated.
#[derive(Debug, Clone, Default)]
pub struct DisputeFilter {
    pub team_id: Option<Uuid>,
    pub states: Vec<i16>,
    pub region_root: Option<String>,
    pub mediator_member_id: Option<Uuid>,
    pub source: Option<i16>,
    pub category: Option<i16>,
    pub overdue_only: bool,
    pub case_id: Option<Uuid>,
    /// Only disputes whose mediator is this account.
    pub mediator_account: Option<Uuid>,
}

type DisputeQuery<'a> = disputes::BoxedQuery<
    'a,
    diesel::pg::Pg,
    (
        <diesel::dsl::AsSelect<DisputeRow, diesel::pg::Pg> as Expression>::SqlType,
        diesel::sql_types::Nullable<diesel::sql_types::Uuid>,
    ),
>;

fn visible<'a>(query: DisputeQuery<'a>, visibility: &DisputeVisibility) -> DisputeQuery<'a> {
    let DisputeVisibility::Scoped { account, jurisdiction, staff_organization, court, teams, overseen_paths } =
        visibility
    else {
        return query;
    };
    // Callers without a jurisdiction (mediators, citizens, partners) see
    // nothing by region: no root path stands for "none" (a NUL byte is not
    // text to PostgreSQL).
    let by_region: Box<dyn BoxableExpression<disputes::table, Pg, SqlType = Bool>> = match jurisdiction {
        Some(root) => {
            Box::new(disputes::region_path.eq(root.clone()).or(disputes::region_path.like(like_subtree(root))))
        }
        None => Box::new(sql::<Bool>("FALSE")),
    };
    let org = staff_organization.unwrap_or(Uuid::nil());
    let court = court.unwrap_or(Uuid::nil());
    query.filter(
        by_region
            .or(disputes::party_account_ids.contains(vec![*account]))
            .or(disputes::team_ids.overlaps_with(teams.clone()))
            .or(disputes::referring_court_id.eq(court))
            .or(disputes::confirmation_court_id.eq(court))
            .or(disputes::referring_organization_id.eq(org))
            .or(sql::<Bool>("EXISTS (SELECT 1 FROM unnest(")
                .bind::<Array<Text>, _>(overseen_paths.clone())
                .sql(") p WHERE disputes.region_path = p OR disputes.region_path LIKE p || '/%')")),
    )
}

/// Disputes newest first (ids are UUIDv7) before `before`.
pub fn list_disputes(
    conn: &mut PgConnection,
    visibility: &DisputeVisibility,
    filter: &DisputeFilter,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<StoredDispute>, AppError> {
    let mut query: DisputeQuery<'_> =
        disputes::table.select((DisputeRow::as_select(), mediator_account())).order(disputes::id.desc()).into_boxed();
    query = visible(query, visibility);
    if let Some(team) = filter.team_id {
        query = query.filter(disputes::team_id.eq(team));
    }
    if !filter.states.is_empty() {
        query = query.filter(disputes::state.eq_any(filter.states.clone()));
    }
    if let Some(root) = &filter.region_root {
        query = query.filter(disputes::region_path.eq(root.clone()).or(disputes::region_path.like(like_subtree(root))));
    }
    if let Some(member) = filter.mediator_member_id {
        query = query.filter(disputes::mediator_member_id.eq(member));
    }
    if let Some(source) = filter.source {
        query = query.filter(disputes::source.eq(source));
    }
    if let Some(category) = filter.category {
        query = query.filter(disputes::category.eq(category));
    }
    if filter.overdue_only {
        query = query.filter(disputes::state.eq_any(OPEN_STATES)).filter(overdue(disputes::due_date));
    }
    if let Some(case) = filter.case_id {
        query = query.filter(disputes::case_id.eq(case));
    }
    if let Some(account) = filter.mediator_account {
        query = query.filter(disputes::mediator_member_id.eq_any(
            team_members::table.filter(team_members::account_id.eq(account)).select(team_members::id.nullable()),
        ));
    }
    if let Some(before) = before {
        query = query.filter(disputes::id.lt(before));
    }
    let limit = u32::try_from(limit).map_err(AppError::internal)?;
    let rows: Vec<(DisputeRow, Option<Uuid>)> = LiteralLimit::new(query, limit).load(conn)?;
    Ok(rows.into_iter().map(|(row, mediator_account_id)| StoredDispute { row, mediator_account_id }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_without_jurisdiction_binds_no_nul() {
        // PostgreSQL refuses a NUL in a text parameter: a mediator's list
        // failed INTERNAL when the missing jurisdiction was spelled "\0".
        let visibility = DisputeVisibility::Scoped {
            account: Uuid::nil(),
            jurisdiction: None,
            staff_organization: None,
            court: None,
            teams: vec![Uuid::nil()],
            overseen_paths: vec!["360700/360702".into()],
        };
        let query: DisputeQuery<'_> =
            disputes::table.select((DisputeRow::as_select(), mediator_account())).into_boxed();
        let sql = diesel::debug_query::<diesel::pg::Pg, _>(&visible(query, &visibility)).to_string();
        assert!(!sql.contains('\u{0}') && !sql.contains(r"\0"), "{sql}");
        assert!(sql.contains("FALSE OR"), "no region clause: {sql}");
    }

    #[test]
    fn the_open_states_are_the_open_disputes() {
        use crate::mediation::domain::DisputeState;
        let open: Vec<i16> = DisputeState::ALL.iter().filter(|s| s.is_open()).map(|s| s.as_i16()).collect();
        assert_eq!(OPEN_STATES.to_vec(), open);
        let spelled: Vec<String> = OPEN_STATES.iter().map(i16::to_string).collect();
        assert_eq!(open_states!(), format!("({})", spelled.join(", ")));
    }

    #[test]
    fn a_path_and_its_ancestors() {
        assert_eq!(path_prefixes("360700/360702/360702001"), ["360700", "360700/360702", "360700/360702/360702001"]);
        assert_eq!(path_prefixes("360700"), ["360700"]);
    }
}
