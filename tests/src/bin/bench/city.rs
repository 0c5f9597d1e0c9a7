//! A city-year of people's mediation for `bench mediation`, written
//! through the server's own code (no SQL of its own for what the server
//! stores): regions, organizations, accounts, teams, members and screening
//! rounds through the stores, each dispute recorded by
//! `mediation::draft::record` and moved by `pipeline::transition` with the
//! server's commands, parsed from the requests the RPCs take, so the
//! policy is asked and the rules decide at every step, as a team head, a
//! court's service account or a party would through the API.
//!
//! The directory is one city (360700) with 10 counties, 15 townships each
//! and 10 villages each (1,661 regions). 1,532 teams: 10 county and 150
//! township committees, 40 specialist teams (labour, medical, traffic,
//! family; 4 per county), 130 red teams at township level and 1,202
//! village committees (so 298 villages have no team of their own). 6,215
//! members: every head and three mediators of each county, township and
//! specialist team sign in (2,132 staff accounts), the rest work on paper
//! (a sealed phone). A court per county, each with a partner service
//! account, and the city's petition bureau with its leader.
//!
//! Disputes (18,325 by default) arise over the year: 40% found by the
//! monthly screening rounds of village committees and red teams (every
//! round that found none is a zero report), 40% applications, 10% court
//! referrals (委派 8%, 委托 2%, by the county court's account), 10%
//! police. Each goes: mediator assigned, every party asked (1.5% refuse),
//! 2% an objection or recusal and a new mediator, 1–3 sessions, ≈3%
//! escalated one level up (a tenth of those again), then an agreement
//! (written 70%, oral 30%, 1–2 terms) or a failure (1.5%); terms performed
//! or (2% of agreements) breached by their deadlines; 7% of written
//! agreements are sent for a court's confirmation (confirmed 85%, rejected
//! 5%, the rest pending). Acts fall on the days the plan says, each
//! recorded that day (office hours, Beijing): the journal's clock is set
//! to it (`Journal::set_clock`, the server's hook for loading past
//! records), so events are stamped across the year. A step that would
//! fall after yesterday is not taken: late disputes stay open.
//!
//! The generator counts what it did, per figure of `GetMediationStatistics`
//! (`Expected`), so the benchmark can check the server's statistics.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};
use petition_proto::v1 as pb;
use petition_server::auth::passwords::hash_blocking;
use petition_server::auth::{AccountKind, Principal, Role, Scope};
use petition_server::directory::model::{OrganizationRow, RegionRow};
use petition_server::directory::rules::{OrganizationKind, RegionLevel, child_path};
use petition_server::directory::store as directory_store;
use petition_server::event_log::Journal;
use petition_server::identity::model::AccountRow;
use petition_server::identity::phone::PhoneNumber;
use petition_server::identity::store as identity_store;
use petition_server::mediation::aggregate::Dispute;
use petition_server::mediation::commands::{Apply, Assign, Escalate, ForParty, Parse, Plain};
use petition_server::mediation::domain::{DisputeCategory, DisputeSource, MemberRole, TeamKind};
use petition_server::mediation::draft::{self, DisputeDraft, DraftFields, NewParty, Origin};
use petition_server::mediation::model::{MemberRow, ScreeningRow, TeamRow};
use petition_server::mediation::rules::{DEFAULT_TIME_LIMIT, Links};
use petition_server::mediation::store::{self, CountedTeam};
use petition_server::pii::Pii;
use petition_server::pipeline::{self, Command};
use petition_server::time::{shanghai, shanghai_today};
use petition_tests::PASSWORD;
use uuid::Uuid;

use crate::support::Rng;
use crate::text::person_name;

/// The city's code.
pub const CITY: &str = "360700";
/// Login of the city's petition-bureau leader (jurisdiction: the city).
pub const LEADER: &str = "bench.leader";
const COUNTIES: usize = 10;
const TOWNSHIPS_PER_COUNTY: usize = 15;
const VILLAGES_PER_TOWNSHIP: usize = 10;
const SPECIALTIES: [DisputeCategory; 4] =
    [DisputeCategory::Labour, DisputeCategory::Medical, DisputeCategory::Traffic, DisputeCategory::Family];
const RED_TEAMS: usize = 130;
/// Teams in all: what the seed city had.
pub const TEAMS: usize = 1_532;
/// Members in all, heads included.
pub const MEMBERS: usize = 6_215;
/// Disputes recorded in one transaction.
const BATCH: usize = 25;

/// What the generator made and how long it took.
pub struct CityYear {
    pub year: i32,
    /// Ids of every team, and the login of each team's head.
    pub teams: Vec<(Uuid, String)>,
    /// Disputes now at each team (by team id).
    pub disputes_at: HashMap<Uuid, usize>,
    pub expected: Expected,
    /// Disputes by final state name.
    pub states: Vec<(String, usize)>,
    pub accounts: usize,
    pub screenings: usize,
    pub events: i64,
    pub directory_seconds: f64,
    pub disputes_seconds: f64,
    pub vacuum_seconds: f64,
    pub checkpoint_seconds: f64,
}

/// The figures `GetMediationStatistics` must report for the city and the
/// year, counted by the generator as it went.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Expected {
    pub teams: i64,
    pub mediators: i64,
    pub screening_rounds: i64,
    pub zero_reports: i64,
    pub recorded: i64,
    pub screened: i64,
    pub accepted: i64,
    pub refused: i64,
    pub settled: i64,
    pub failed: i64,
    pub performed: i64,
    pub breached: i64,
    pub confirmations_applied: i64,
    pub confirmations_confirmed: i64,
    pub escalated: i64,
    /// Sum of (effective date − accept date) in days over the settled.
    pub days_to_settle: i64,
}

impl Expected {
    fn add(&mut self, other: &Expected) {
        let Expected {
            teams,
            mediators,
            screening_rounds,
            zero_reports,
            recorded,
            screened,
            accepted,
            refused,
            settled,
            failed,
            performed,
            breached,
            confirmations_applied,
            confirmations_confirmed,
            escalated,
            days_to_settle,
        } = other;
        self.teams += teams;
        self.mediators += mediators;
        self.screening_rounds += screening_rounds;
        self.zero_reports += zero_reports;
        self.recorded += recorded;
        self.screened += screened;
        self.accepted += accepted;
        self.refused += refused;
        self.settled += settled;
        self.failed += failed;
        self.performed += performed;
        self.breached += breached;
        self.confirmations_applied += confirmations_applied;
        self.confirmations_confirmed += confirmations_confirmed;
        self.escalated += escalated;
        self.days_to_settle += days_to_settle;
    }

    /// Differences from what the server answered, one line each.
    pub fn differences(&self, got: &pb::MediationFigures) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |name: &str, want: i64, got: i32| {
            if want != i64::from(got) {
                out.push(format!("{name}: expected {want}, the server said {got}"));
            }
        };
        check("teams", self.teams, got.teams);
        check("mediators", self.mediators, got.mediators);
        check("screening_rounds", self.screening_rounds, got.screening_rounds);
        check("zero_reports", self.zero_reports, got.zero_reports);
        check("recorded", self.recorded, got.recorded);
        check("screened", self.screened, got.screened);
        check("accepted", self.accepted, got.accepted);
        check("refused", self.refused, got.refused);
        check("settled", self.settled, got.settled);
        check("failed", self.failed, got.failed);
        check("performed", self.performed, got.performed);
        check("breached", self.breached, got.breached);
        check("confirmations_applied", self.confirmations_applied, got.confirmations_applied);
        check("confirmations_confirmed", self.confirmations_confirmed, got.confirmations_confirmed);
        check("escalated", self.escalated, got.escalated);
        let rate = self.settlement_rate();
        if (rate - got.settlement_rate).abs() > 1e-9 {
            out.push(format!("settlement_rate: expected {rate}, the server said {}", got.settlement_rate));
        }
        let average = self.average_days_to_settle();
        if (average - got.average_days_to_settle).abs() > 1e-6 {
            out.push(format!(
                "average_days_to_settle: expected {average}, the server said {}",
                got.average_days_to_settle
            ));
        }
        out
    }

    pub fn settlement_rate(&self) -> f64 {
        let concluded = self.settled + self.failed;
        if concluded == 0 { 0.0 } else { self.settled as f64 / concluded as f64 }
    }

    pub fn average_days_to_settle(&self) -> f64 {
        if self.settled == 0 { 0.0 } else { self.days_to_settle as f64 / self.settled as f64 }
    }
}

// ---- the directory -----------------------------------------------------

struct Region {
    code: String,
    path: String,
}

struct Team {
    row: TeamRow,
    head: Principal,
    head_login: String,
    /// Active members (the head first).
    members: Vec<Uuid>,
    county: usize,
    township: Option<usize>,
}

/// Everything the disputes need of the directory.
struct Directory {
    /// By county, then township.
    villages: Vec<Vec<Vec<Region>>>,
    teams: Vec<Team>,
    county_committee: Vec<usize>,
    /// By county, then township.
    township_committee: Vec<Vec<usize>>,
    specialists: Vec<usize>,
    red_teams: Vec<usize>,
    village_teams: Vec<usize>,
    /// The court of each county: its organization and service principal.
    courts: Vec<Principal>,
    accounts: usize,
}

fn region_row(code: &str, name: String, level: RegionLevel, parent: Option<&Region>, now: DateTime<Utc>) -> RegionRow {
    RegionRow {
        code: code.to_owned(),
        name,
        level: level.as_i16(),
        parent_code: parent.map(|p| p.code.clone()),
        path: child_path(parent.map(|p| p.path.as_str()), code),
        created_at: now,
    }
}

fn phone(rng: &mut Rng) -> Result<PhoneNumber> {
    let raw = format!("139{:08}", rng.below(100_000_000));
    PhoneNumber::parse(&raw).map_err(|e| anyhow!("a generated phone {raw}: {e}"))
}

struct Builder<'a> {
    conn: &'a mut PgConnection,
    pii: &'a Pii,
    password_hash: String,
    now: DateTime<Utc>,
    accounts: usize,
}

impl Builder<'_> {
    fn organization(&mut self, name: String, kind: OrganizationKind, region: &Region) -> Result<OrganizationRow> {
        let row = OrganizationRow {
            id: Uuid::now_v7(),
            name,
            kind: kind.as_i16(),
            region_code: region.code.clone(),
            parent_id: None,
            version: 1,
            created_at: self.now,
            updated_at: self.now,
        };
        Ok(directory_store::insert_organization(self.conn, &row)?)
    }

    /// A staff or service account signing in with the benchmark password.
    #[allow(clippy::too_many_arguments)]
    fn account(
        &mut self,
        kind: AccountKind,
        login: &str,
        name: String,
        roles: &[Role],
        scopes: &[Scope],
        organization: &OrganizationRow,
        jurisdiction: &Region,
    ) -> Result<Principal> {
        let id = Uuid::now_v7();
        let row = AccountRow::new(id, kind, name, self.password_hash.clone(), roles, self.now)
            .with_login_name(login)
            .with_organization(Some(organization.id))
            .with_scopes(scopes);
        identity_store::insert_account(self.conn, &row)?;
        self.accounts += 1;
        Ok(Principal {
            account_id: id,
            kind,
            roles: roles.to_vec(),
            organization_id: Some(organization.id),
            jurisdiction: Some(jurisdiction.path.clone()),
            scopes: scopes.to_vec(),
        })
    }

    /// A team at `home` covering `covered`, with its head (signing in as
    /// `t{index}.head`) and `others` members of `role`, the first
    /// `with_accounts` of them signing in too.
    #[allow(clippy::too_many_arguments)]
    fn team(
        &mut self,
        rng: &mut Rng,
        index: usize,
        name: String,
        kind: TeamKind,
        specialties: Vec<i16>,
        organization: &OrganizationRow,
        home: &Region,
        level: RegionLevel,
        others: usize,
        role: MemberRole,
        with_accounts: usize,
    ) -> Result<(TeamRow, Principal, String, Vec<Uuid>)> {
        let row = TeamRow {
            id: Uuid::now_v7(),
            name,
            kind: kind.as_i16(),
            specialties,
            organization_id: organization.id,
            region_code: home.code.clone(),
            region_path: home.path.clone(),
            level: level.as_i16(),
            covered_region_codes: vec![home.code.clone()],
            covered_paths: vec![home.path.clone()],
            retired: false,
            version: 1,
            created_at: self.now,
            updated_at: self.now,
        };
        store::insert_team(self.conn, &row)?;
        let head_login = format!("t{index}.head");
        let head = self.account(
            AccountKind::Staff,
            &head_login,
            person_name(rng.below(400)),
            &[Role::Mediator],
            &[],
            organization,
            home,
        )?;
        let mut members = Vec::with_capacity(others + 1);
        for i in 0..=others {
            let id = Uuid::now_v7();
            let (role, account) = match i {
                0 => (MemberRole::Head, Some(head.account_id)),
                i if i <= with_accounts => {
                    let login = format!("t{index}.m{i}");
                    let name = person_name(rng.below(400));
                    let p =
                        self.account(AccountKind::Staff, &login, name, &[Role::Mediator], &[], organization, home)?;
                    (role, Some(p.account_id))
                }
                _ => (role, None),
            };
            let phone = if account.is_none() { Some(phone(rng)?) } else { None };
            let member = MemberRow {
                id,
                team_id: row.id,
                display_name: person_name(rng.below(400)),
                role: role.as_i16(),
                account_id: account,
                phone_masked: phone.as_ref().map(PhoneNumber::masked),
                phone_cipher: phone.as_ref().map(|p| self.pii.seal(id, p.as_str())).transpose()?,
                active: true,
                created_at: self.now,
                removed_at: None,
            };
            store::insert_member(self.conn, &member)?;
            members.push(id);
        }
        Ok((row, head, head_login, members))
    }
}

fn build_directory(conn: &mut PgConnection, pii: &Pii, rng: &mut Rng) -> Result<Directory> {
    let now = Utc::now();
    let password_hash = hash_blocking(PASSWORD)?;
    let mut b = Builder { conn, pii, password_hash, now, accounts: 0 };
    let city = Region { code: CITY.into(), path: CITY.into() };
    directory_store::insert_region(b.conn, &region_row(CITY, "压测市".into(), RegionLevel::City, None, now))?;
    let mut counties = Vec::new();
    let mut townships = Vec::new();
    let mut villages = Vec::new();
    for c in 0..COUNTIES {
        let code = format!("3607{:02}", 2 + c);
        let row = region_row(&code, format!("压测县{}", c + 1), RegionLevel::County, Some(&city), now);
        let county = Region { path: directory_store::insert_region(b.conn, &row)?.path, code };
        let mut ts = Vec::new();
        let mut vs = Vec::new();
        for t in 0..TOWNSHIPS_PER_COUNTY {
            let code = format!("{}{:03}", county.code, 100 + t);
            let row =
                region_row(&code, format!("压测县{}第{}镇", c + 1, t + 1), RegionLevel::Township, Some(&county), now);
            let township = Region { path: directory_store::insert_region(b.conn, &row)?.path, code };
            let mut v_of_t = Vec::new();
            for v in 0..VILLAGES_PER_TOWNSHIP {
                let code = format!("{}{:03}", township.code, 201 + v);
                let name = format!("压测县{}第{}镇{}村", c + 1, t + 1, v + 1);
                let row = region_row(&code, name, RegionLevel::Village, Some(&township), now);
                v_of_t.push(Region { path: directory_store::insert_region(b.conn, &row)?.path, code });
            }
            ts.push(township);
            vs.push(v_of_t);
        }
        counties.push(county);
        townships.push(ts);
        villages.push(vs);
    }

    let bureau = b.organization("压测市信访局".into(), OrganizationKind::PetitionBureau, &city)?;
    b.account(AccountKind::Staff, LEADER, "压测领导".into(), &[Role::Leader], &[], &bureau, &city)?;
    let mut courts = Vec::new();
    for (c, county) in counties.iter().enumerate() {
        let court = b.organization(format!("压测县{}人民法院", c + 1), OrganizationKind::Court, county)?;
        let scopes = [Scope::CasesRead, Scope::CasesWrite];
        let login = format!("court{}.sync", c + 1);
        let name = format!("压测县{}人民法院对接", c + 1);
        courts.push(b.account(AccountKind::Service, &login, name, &[Role::Partner], &scopes, &court, county)?);
    }

    // Which villages have a committee of their own.
    let village_team_count =
        TEAMS - COUNTIES - COUNTIES * TOWNSHIPS_PER_COUNTY - SPECIALTIES.len() * COUNTIES - RED_TEAMS;
    let mut all_villages: Vec<(usize, usize, usize)> = (0..COUNTIES)
        .flat_map(|c| (0..TOWNSHIPS_PER_COUNTY).flat_map(move |t| (0..VILLAGES_PER_TOWNSHIP).map(move |v| (c, t, v))))
        .collect();
    rng.shuffle(&mut all_villages);
    let mut with_team: Vec<(usize, usize, usize)> = all_villages[..village_team_count].to_vec();
    with_team.sort_unstable();
    // Members beyond the heads: 6,215 in all.
    let fixed_others =
        COUNTIES * 9 + COUNTIES * TOWNSHIPS_PER_COUNTY * 6 + COUNTIES * SPECIALTIES.len() * 5 + RED_TEAMS * 6;
    let village_others = MEMBERS - TEAMS - fixed_others;
    let (village_base, village_extra) = (village_others / village_team_count, village_others % village_team_count);

    let mut teams: Vec<Team> = Vec::with_capacity(TEAMS);
    let mut county_committee = Vec::new();
    let mut township_committee = Vec::new();
    let mut specialists = Vec::new();
    let mut red_teams = Vec::new();
    let mut village_teams = Vec::new();
    for (c, county) in counties.iter().enumerate() {
        let org =
            b.organization(format!("压测县{}人民调解委员会", c + 1), OrganizationKind::MediationCommittee, county)?;
        let index = teams.len();
        let (row, head, head_login, members) = b.team(
            rng,
            index,
            format!("压测县{}人民调解委员会", c + 1),
            TeamKind::CountyCommittee,
            vec![],
            &org,
            county,
            RegionLevel::County,
            9,
            MemberRole::Mediator,
            3,
        )?;
        teams.push(Team { row, head, head_login, members, county: c, township: None });
        county_committee.push(index);
        for (s, specialty) in SPECIALTIES.iter().enumerate() {
            let index = teams.len();
            let name = format!("压测县{}{}纠纷调解委员会", c + 1, ["劳动争议", "医疗", "交通事故", "婚姻家庭"][s]);
            let (row, head, head_login, members) = b.team(
                rng,
                index,
                name,
                TeamKind::Specialist,
                vec![specialty.as_i16()],
                &org,
                county,
                RegionLevel::County,
                5,
                MemberRole::Mediator,
                3,
            )?;
            teams.push(Team { row, head, head_login, members, county: c, township: None });
            specialists.push(index);
        }
        let mut committees_here = Vec::new();
        for (t, township) in townships[c].iter().enumerate() {
            let org = b.organization(
                format!("压测县{}第{}镇人民调解委员会", c + 1, t + 1),
                OrganizationKind::MediationCommittee,
                township,
            )?;
            let index = teams.len();
            let (row, head, head_login, members) = b.team(
                rng,
                index,
                format!("压测县{}第{}镇人民调解委员会", c + 1, t + 1),
                TeamKind::TownshipCommittee,
                vec![],
                &org,
                township,
                RegionLevel::Township,
                6,
                MemberRole::Mediator,
                3,
            )?;
            teams.push(Team { row, head, head_login, members, county: c, township: Some(t) });
            committees_here.push(index);
            if red_teams.len() < RED_TEAMS && (c * TOWNSHIPS_PER_COUNTY + t) % 15 < 13 {
                let index = teams.len();
                let role = if t % 2 == 0 { MemberRole::Volunteer } else { MemberRole::GridWorker };
                let (row, head, head_login, members) = b.team(
                    rng,
                    index,
                    format!("压测县{}第{}镇红色调解队", c + 1, t + 1),
                    TeamKind::RedTeam,
                    vec![],
                    &org,
                    township,
                    RegionLevel::Township,
                    6,
                    role,
                    0,
                )?;
                teams.push(Team { row, head, head_login, members, county: c, township: Some(t) });
                red_teams.push(index);
            }
            for &(_, _, v) in with_team.iter().filter(|(cc, tt, _)| *cc == c && *tt == t) {
                let village = &villages[c][t][v];
                let org = b.organization(
                    format!("压测县{}第{}镇{}村人民调解委员会", c + 1, t + 1, v + 1),
                    OrganizationKind::MediationCommittee,
                    village,
                )?;
                let index = teams.len();
                let others = village_base + usize::from(village_teams.len() < village_extra);
                let (row, head, head_login, members) = b.team(
                    rng,
                    index,
                    format!("压测县{}第{}镇{}村人民调解委员会", c + 1, t + 1, v + 1),
                    TeamKind::VillageCommittee,
                    vec![],
                    &org,
                    village,
                    RegionLevel::Village,
                    others,
                    MemberRole::Mediator,
                    0,
                )?;
                teams.push(Team { row, head, head_login, members, county: c, township: Some(t) });
                village_teams.push(index);
            }
        }
        township_committee.push(committees_here);
    }
    if teams.len() != TEAMS || red_teams.len() != RED_TEAMS {
        bail!("the generator made {} teams ({} red teams), not {TEAMS}", teams.len(), red_teams.len());
    }
    let members: usize = teams.iter().map(|t| t.members.len()).sum();
    if members != MEMBERS {
        bail!("the generator made {members} members, not {MEMBERS}");
    }
    let accounts = b.accounts;
    Ok(Directory {
        villages,
        teams,
        county_committee,
        township_committee,
        specialists,
        red_teams,
        village_teams,
        courts,
        accounts,
    })
}

// ---- the plan ------------------------------------------------------------

/// A recording time on Beijing day `day`, office hours.
fn on_day(day: NaiveDate, minutes_after_eight_thirty: u32) -> DateTime<Utc> {
    let naive =
        day.and_hms_opt(8, 30, 0).unwrap_or_default() + chrono::Duration::minutes(minutes_after_eight_thirty.into());
    shanghai().from_local_datetime(&naive).single().map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

fn days(day: NaiveDate, n: u64) -> NaiveDate {
    day.checked_add_days(Days::new(n)).unwrap_or(day)
}

/// A UUIDv7 of time `at` (ids order disputes newest first).
fn id_at(at: DateTime<Utc>) -> Uuid {
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, at.timestamp().max(0) as u64, at.timestamp_subsec_nanos());
    Uuid::new_v7(ts)
}

/// One screening round, planned.
struct Round {
    team: usize,
    date: NaiveDate,
    /// Disputes found.
    found: usize,
    id: Uuid,
}

/// One dispute, planned.
struct Planned {
    team: usize,
    region: String,
    source: DisputeSource,
    category: DisputeCategory,
    receive: NaiveDate,
    round: Option<usize>,
    court: Option<usize>,
    seed: u64,
}

const CATEGORY_WEIGHTS: [(DisputeCategory, u32); 12] = [
    (DisputeCategory::Neighbourhood, 30),
    (DisputeCategory::Family, 20),
    (DisputeCategory::Property, 12),
    (DisputeCategory::Land, 8),
    (DisputeCategory::Labour, 8),
    (DisputeCategory::Damages, 7),
    (DisputeCategory::Contract, 5),
    (DisputeCategory::Traffic, 4),
    (DisputeCategory::Consumer, 3),
    (DisputeCategory::Medical, 1),
    (DisputeCategory::LandAcquisition, 1),
    (DisputeCategory::Other, 1),
];

fn category(rng: &mut Rng) -> DisputeCategory {
    let total: u32 = CATEGORY_WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut pick = rng.below(total as usize) as u32;
    for (c, w) in CATEGORY_WEIGHTS {
        if pick < w {
            return c;
        }
        pick -= w;
    }
    DisputeCategory::Other
}

fn plan(
    dir: &Directory,
    rng: &mut Rng,
    disputes: usize,
    first: NaiveDate,
    last: NaiveDate,
) -> (Vec<Round>, Vec<Planned>) {
    // Monthly screening rounds of village committees and red teams.
    let mut rounds = Vec::new();
    for &team in dir.village_teams.iter().chain(&dir.red_teams) {
        let mut month = first.with_day(1).unwrap_or(first);
        while month <= last {
            let next = month.checked_add_months(chrono::Months::new(1)).unwrap_or(last);
            let span = (next.min(days(last, 1)) - month).num_days().max(1) as usize;
            let date = days(month, rng.below(span) as u64).max(first);
            let at = on_day(date, 420 + rng.below(60) as u32);
            rounds.push(Round { team, date, found: 0, id: id_at(at) });
            month = next;
        }
    }
    let span = ((last - first).num_days() + 1) as usize;
    let any_day = |rng: &mut Rng| days(first, rng.below(span) as u64);
    let village_of =
        |rng: &mut Rng, c: usize, t: usize| dir.villages[c][t][rng.below(VILLAGES_PER_TOWNSHIP)].code.clone();
    let mut planned = Vec::with_capacity(disputes);
    for _ in 0..disputes {
        let roll = rng.below(100);
        let seed = rng.next_u64();
        let mut category = category(rng);
        let (team, source, round, court, receive) = if roll < 40 {
            let r = rng.below(rounds.len());
            rounds[r].found += 1;
            (rounds[r].team, DisputeSource::Screening, Some(r), None, rounds[r].date)
        } else if roll < 80 {
            let team = match rng.below(100) {
                0..65 => *rng.pick(&dir.village_teams),
                65..90 => {
                    let c = rng.below(COUNTIES);
                    dir.township_committee[c][rng.below(TOWNSHIPS_PER_COUNTY)]
                }
                90..97 => *rng.pick(&dir.county_committee),
                _ => *rng.pick(&dir.specialists),
            };
            (team, DisputeSource::Application, None, None, any_day(rng))
        } else if roll < 90 {
            let team = match rng.below(10) {
                0..5 => *rng.pick(&dir.county_committee),
                5..8 => *rng.pick(&dir.specialists),
                _ => {
                    let c = rng.below(COUNTIES);
                    dir.township_committee[c][rng.below(TOWNSHIPS_PER_COUNTY)]
                }
            };
            let source =
                if roll < 88 { DisputeSource::CourtBeforeFiling } else { DisputeSource::CourtDuringProceedings };
            (team, source, None, Some(dir.teams[team].county), any_day(rng))
        } else {
            let team = if rng.below(10) < 6 {
                let c = rng.below(COUNTIES);
                dir.township_committee[c][rng.below(TOWNSHIPS_PER_COUNTY)]
            } else {
                *rng.pick(&dir.village_teams)
            };
            (team, DisputeSource::Police, None, None, any_day(rng))
        };
        let t = &dir.teams[team];
        if let Some(specialty) = t.row.specialties.first().and_then(|s| DisputeCategory::from_i32(i32::from(*s))) {
            category = specialty;
        }
        let region = match (t.row.level, t.township) {
            (4, _) => t.row.region_code.clone(),
            (3, Some(tw)) => village_of(rng, t.county, tw),
            _ => {
                let tw = rng.below(TOWNSHIPS_PER_COUNTY);
                village_of(rng, t.county, tw)
            }
        };
        planned.push(Planned { team, region, source, category, receive, round, court, seed });
    }
    planned.sort_by_key(|p| p.receive);
    (rounds, planned)
}

// ---- running the plan ----------------------------------------------------

/// Where one dispute ended, and what it counted.
struct Ran {
    state: &'static str,
    final_team: Uuid,
    counted: Expected,
}

/// The recording clock of one dispute: office hours of each act's day,
/// never going back.
struct Clock {
    last: DateTime<Utc>,
}

impl Clock {
    fn at(&mut self, rng: &mut Rng, day: NaiveDate) -> DateTime<Utc> {
        let at = on_day(day, rng.below(480) as u32).max(self.last + chrono::Duration::minutes(1));
        self.last = at;
        at
    }
}

struct Ctx<'a> {
    dir: &'a Directory,
    pii: &'a Pii,
    horizon: NaiveDate,
    rounds: &'a [Round],
}

/// Runs `command` on dispute `id` as `who`, recorded at the journal's clock.
fn step<C: Command<Dispute>>(
    conn: &mut PgConnection,
    journal: &mut Journal,
    who: &Principal,
    id: Uuid,
    command: C,
) -> Result<Dispute> {
    let (saved, _) = pipeline::transition::<Dispute, C>(conn, journal, who, id, "", command)
        .map_err(|e| anyhow!("dispute {id}: {e:?}"))?;
    Ok(saved)
}

fn date_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

const MATTERS: [&str; 6] = [
    "因排水沟堵塞致邻居房屋受潮，双方多次争吵",
    "宅基地边界争议，一方砌墙占用通道",
    "赡养老人费用分担争执",
    "务工工资结算拖欠，双方对工作天数有分歧",
    "交通事故后赔偿数额协商未果",
    "承包地流转费用未按约支付",
];

#[allow(clippy::too_many_lines)]
fn run_dispute(conn: &mut PgConnection, journal: &mut Journal, ctx: &Ctx<'_>, p: &Planned) -> Result<Ran> {
    let mut rng = Rng::new(p.seed);
    let dir = ctx.dir;
    let limit = DEFAULT_TIME_LIMIT;
    let mut counted = Expected::default();
    let mut team = p.team;
    let mut clock = Clock { last: on_day(p.receive, 0) };
    let record_at = clock.at(&mut rng, p.receive);
    journal.set_clock(Some(record_at));
    let parties_n = if rng.chance(0.2) { 3 } else { 2 };
    let mut parties = Vec::with_capacity(parties_n);
    for _ in 0..parties_n {
        parties.push(NewParty::Contact {
            name: person_name(rng.below(400)),
            organization: rng.chance(0.05),
            phone: phone(&mut rng)?,
        });
    }
    let draft = DisputeDraft {
        region_code: p.region.clone(),
        category: p.category,
        matter: (*rng.pick(&MATTERS)).to_owned(),
        fields: DraftFields::at("dispute", parties.len()),
        parties,
        attachments: vec![],
    };
    let (actor, referring_court) = match p.court {
        Some(c) => (&dir.courts[c], dir.courts[c].organization_id),
        None => (&dir.teams[team].head, None),
    };
    let origin = Origin {
        source: p.source,
        links: Links {
            screening_id: p.round.map(|r| ctx.rounds[r].id),
            referring_court_id: referring_court,
            case_id: None,
        },
        referring_organization_id: None,
        court_case_number: if p.source == DisputeSource::CourtDuringProceedings {
            format!("（{}）赣07{:02}民初{}号", p.receive.year(), 2 + p.court.unwrap_or(0), 100 + rng.below(9000))
        } else {
            String::new()
        },
        receive_date: Some(p.receive),
    };
    let found = CountedTeam { row: dir.teams[team].row.clone(), members: 0, open_disputes: 0 };
    let id = id_at(record_at);
    let row = draft::record(conn, journal, ctx.pii, actor.account_id, id, &found, draft, origin)
        .map_err(|e| anyhow!("recording a dispute: {e:?}"))?;
    counted.recorded += 1;
    counted.screened += i64::from(p.source == DisputeSource::Screening);
    let party_ids: Vec<Uuid> = row.lifecycle.0.parties.iter().map(|party| party.id).collect();
    let sid = id.to_string();
    let ran = |state: &'static str, team: usize, counted: Expected| -> Result<Ran> {
        Ok(Ran { state, final_team: dir.teams[team].row.id, counted })
    };
    let horizon = ctx.horizon;

    // The mediator, the same day.
    let head = |team: usize| &dir.teams[team].head;
    let pick_member = |rng: &mut Rng, team: usize| dir.teams[team].members[rng.below(dir.teams[team].members.len())];
    let assign = |conn: &mut PgConnection, journal: &mut Journal, rng: &mut Rng, team: usize| -> Result<()> {
        let member = pick_member(rng, team);
        let request =
            pb::AssignMediatorRequest { dispute_id: sid.clone(), member_id: member.to_string(), ..Default::default() };
        step(conn, journal, head(team), id, Assign::parse(request, limit)?)?;
        Ok(())
    };
    assign(conn, journal, &mut rng, team)?;

    // Consent (Art.17).
    let refuses = rng.chance(0.015);
    let mut day = p.receive;
    for (i, party) in party_ids.iter().enumerate() {
        day = days(day, rng.range(0, 1));
        if day > horizon {
            return ran("AWAITING_CONSENT", team, counted);
        }
        let consents = !(refuses && i == party_ids.len() - 1);
        journal.set_clock(Some(clock.at(&mut rng, day)));
        let request = pb::RecordConsentRequest {
            dispute_id: sid.clone(),
            party_id: party.to_string(),
            consents,
            consent_date: date_text(day),
            note: if consents { String::new() } else { "不愿调解，准备起诉".into() },
            ..Default::default()
        };
        step(conn, journal, head(team), id, ForParty::parse(request, limit)?)?;
    }
    if refuses {
        counted.refused += 1;
        return ran("REFUSED", team, counted);
    }
    counted.accepted += 1;
    let accept = day;
    // Where it is while mediated: sessions move it on, escalation back.
    let mut open = "ACCEPTED";

    // An objection or a recusal before the first session (Art.21, 23).
    if rng.chance(0.02) {
        if rng.chance(0.5) {
            let request = pb::ObjectToMediatorRequest {
                dispute_id: sid.clone(),
                party_id: party_ids[0].to_string(),
                reason: "调解员与对方当事人系亲属".into(),
                ..Default::default()
            };
            step(conn, journal, head(team), id, ForParty::parse(request, limit)?)?;
        } else {
            let request = pb::RecuseMediatorRequest {
                dispute_id: sid.clone(),
                reason: "与一方当事人有利害关系".into(),
                ..Default::default()
            };
            step(conn, journal, head(team), id, Plain::parse(request, limit)?)?;
        }
        assign(conn, journal, &mut rng, team)?;
    }

    let session = |conn: &mut PgConnection, journal: &mut Journal, team: usize, day: NaiveDate| -> Result<()> {
        let request = pb::RecordSessionRequest {
            dispute_id: sid.clone(),
            session: Some(pb::MediationSession {
                session_date: date_text(day),
                place: "村（居）委会调解室".into(),
                attendees: vec!["双方当事人".into()],
                notes: "听取双方陈述，释法明理".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        step(conn, journal, head(team), id, Plain::parse(request, limit)?)?;
        Ok(())
    };

    // Escalation one level up (三级调解), after a session or none.
    let level = dir.teams[team].row.level;
    if level >= 3 && rng.chance(if level == 4 { 0.05 } else { 0.02 }) {
        if rng.chance(0.5) {
            day = days(day, rng.range(1, 5));
            if day > horizon {
                return ran(open, team, counted);
            }
            journal.set_clock(Some(clock.at(&mut rng, day)));
            session(conn, journal, team, day)?;
            open = "IN_MEDIATION";
        }
        let mut hops = 0;
        loop {
            let t = &dir.teams[team];
            let to = match (t.row.level, t.township) {
                (4, Some(tw)) => dir.township_committee[t.county][tw],
                _ => dir.county_committee[t.county],
            };
            day = days(day, rng.range(1, 6));
            if day > horizon {
                return ran(open, team, counted);
            }
            journal.set_clock(Some(clock.at(&mut rng, day)));
            let request = pb::EscalateDisputeRequest {
                dispute_id: sid.clone(),
                team_id: dir.teams[to].row.id.to_string(),
                reason: "村级调解未果，报请上一级调解".into(),
                escalate_date: date_text(day),
                ..Default::default()
            };
            step(conn, journal, head(team), id, Escalate::parse(request, limit)?)?;
            if hops == 0 {
                counted.escalated += 1;
            }
            team = to;
            hops += 1;
            open = "ACCEPTED";
            assign(conn, journal, &mut rng, team)?;
            if dir.teams[team].row.level != 3 || !rng.chance(0.1) {
                break;
            }
        }
    }

    // Sessions.
    let sessions = 1 + rng.below(3);
    for _ in 0..sessions {
        day = days(day, rng.range(1, 3));
        if day > horizon {
            return ran(open, team, counted);
        }
        journal.set_clock(Some(clock.at(&mut rng, day)));
        session(conn, journal, team, day)?;
        open = "IN_MEDIATION";
    }

    // Failure (Art.26) or agreement (Art.28–30).
    day = days(day, rng.range(0, 1));
    if day > horizon {
        return ran("IN_MEDIATION", team, counted);
    }
    journal.set_clock(Some(clock.at(&mut rng, day)));
    if rng.chance(0.015) {
        let request = pb::RecordFailureRequest {
            dispute_id: sid.clone(),
            failure: Some(pb::Failure {
                reason: pb::FailureReason::NoAgreement as i32,
                note: "双方分歧较大".into(),
                advised_routes: vec![pb::AdvisedRoute::Judicial as i32],
                failure_date: date_text(day),
            }),
            ..Default::default()
        };
        step(conn, journal, head(team), id, Plain::parse(request, limit)?)?;
        counted.failed += 1;
        return ran("FAILED", team, counted);
    }
    let effective = day;
    let written = rng.chance(0.7);
    let terms_n = if rng.chance(0.3) { 2 } else { 1 };
    let deadlines: Vec<NaiveDate> = (0..terms_n).map(|_| days(effective, rng.range(0, 45))).collect();
    let terms = deadlines
        .iter()
        .map(|deadline| pb::AgreementTerm {
            obligor_party_id: party_ids[rng.below(party_ids.len())].to_string(),
            content: "赔偿对方损失人民币二千元".into(),
            manner: "现金一次性支付".into(),
            deadline: date_text(*deadline),
            ..Default::default()
        })
        .collect();
    let agreement = if written {
        pb::Agreement {
            form: pb::AgreementForm::Written as i32,
            parties_summary: "双方当事人基本情况已核实".into(),
            facts: "双方因琐事发生纠纷".into(),
            issues_and_responsibility: "双方各负一定责任".into(),
            terms,
            effective_date: date_text(effective),
            signed_by_all_parties: true,
            sealed_by_committee: true,
            ..Default::default()
        }
    } else {
        pb::Agreement {
            form: pb::AgreementForm::Oral as i32,
            terms,
            effective_date: date_text(effective),
            ..Default::default()
        }
    };
    let request =
        pb::RecordAgreementRequest { dispute_id: sid.clone(), agreement: Some(agreement), ..Default::default() };
    step(conn, journal, head(team), id, Plain::parse(request, limit)?)?;
    counted.settled += 1;
    counted.days_to_settle += (effective - accept).num_days();
    let mut state = "SETTLED";

    // A court's confirmation (Art.33), applied for soon after.
    if written && rng.chance(0.07) {
        day = days(day, rng.range(1, 10));
        if day <= horizon {
            let c = dir.teams[team].county;
            journal.set_clock(Some(clock.at(&mut rng, day)));
            let request = pb::ApplyForCourtConfirmationRequest {
                dispute_id: sid.clone(),
                court_organization_id: dir.courts[c].organization_id.map(|o| o.to_string()).unwrap_or_default(),
                apply_date: date_text(day),
                all_parties_apply: true,
                ..Default::default()
            };
            step(conn, journal, head(team), id, Apply::parse(request, limit)?)?;
            counted.confirmations_applied += 1;
            let answer = rng.below(100);
            let answer_day = days(day, rng.range(3, 20));
            if answer < 90 && answer_day <= horizon {
                day = answer_day;
                let confirmed = answer < 85;
                journal.set_clock(Some(clock.at(&mut rng, day)));
                let request = pb::AnswerCourtConfirmationRequest {
                    dispute_id: sid.clone(),
                    decision: if confirmed {
                        pb::ConfirmationState::Confirmed as i32
                    } else {
                        pb::ConfirmationState::Rejected as i32
                    },
                    reason: if confirmed { String::new() } else { "协议内容违反法律规定".into() },
                    court_case_number: format!("（{}）赣07{:02}民特{}号", day.year(), 2 + c, 100 + rng.below(900)),
                    answer_date: date_text(day),
                    ..Default::default()
                };
                step(conn, journal, &dir.courts[c], id, Plain::parse(request, limit)?)?;
                counted.confirmations_confirmed += i64::from(confirmed);
            }
        }
    }

    // Follow-up of the terms by their deadlines (Art.31).
    let breach = rng.chance(0.02);
    let mut order: Vec<usize> = (0..deadlines.len()).collect();
    order.sort_by_key(|&i| deadlines[i]);
    let mut performed = 0;
    for (n, i) in order.into_iter().enumerate() {
        let breached = breach && n == 0;
        let on = if breached { days(deadlines[i], rng.range(1, 10)) } else { deadlines[i] };
        day = day.max(on);
        if day > horizon {
            break;
        }
        journal.set_clock(Some(clock.at(&mut rng, day)));
        let request = pb::RecordPerformanceRequest {
            dispute_id: sid.clone(),
            term_index: i32::try_from(i)?,
            performance: if breached {
                pb::TermPerformance::Breached as i32
            } else {
                pb::TermPerformance::Performed as i32
            },
            performance_date: date_text(day),
            note: if breached { "逾期未履行".into() } else { String::new() },
            ..Default::default()
        };
        step(conn, journal, head(team), id, Plain::parse(request, limit)?)?;
        if breached {
            counted.breached += 1;
            state = "BREACHED";
            break;
        }
        performed += 1;
    }
    if performed == deadlines.len() {
        counted.performed += 1;
        state = "PERFORMED";
    }
    ran(state, team, counted)
}

/// Screening rounds as `RecordScreening` stores them: the rounds that
/// found disputes are inserted before those disputes (same batch order).
fn insert_rounds(conn: &mut PgConnection, dir: &Directory, rounds: &[Round]) -> Result<Expected> {
    let mut counted = Expected::default();
    conn.transaction(|conn| {
        for round in rounds {
            let team = &dir.teams[round.team];
            let row = ScreeningRow {
                id: round.id,
                team_id: team.row.id,
                screening_date: round.date,
                area: format!(
                    "{}辖区",
                    team.row.name.trim_end_matches("人民调解委员会").trim_end_matches("红色调解队")
                ),
                zero_report: round.found == 0,
                note: String::new(),
                recorded_by: team.head.account_id,
                created_at: on_day(round.date, 480),
            };
            store::insert_screening(conn, &row)?;
            counted.screening_rounds += 1;
            counted.zero_reports += i64::from(round.found == 0);
        }
        anyhow::Ok(())
    })?;
    Ok(counted)
}

/// Loads the city-year into the server's database at `url` over `threads`
/// connections; `pii` is the server's, so it reads what was sealed.
pub fn load(url: &str, pii: &Pii, disputes: usize, year: i32, threads: usize, seed: u64) -> Result<CityYear> {
    let mut rng = Rng::new(seed);
    let today = shanghai_today();
    let first = NaiveDate::from_ymd_opt(year, 1, 1).context("the year")?;
    let last = NaiveDate::from_ymd_opt(year, 12, 31).context("the year")?.min(today - Days::new(1));
    if last < first {
        bail!("the year {year} has not begun yet (today is {today})");
    }
    let started = Instant::now();
    let mut conn = PgConnection::establish(url).context("connecting to the server's database")?;
    eprintln!("  directory, {TEAMS} teams, {MEMBERS} members…");
    let dir = conn.transaction(|conn| build_directory(conn, pii, &mut rng))?;
    let (rounds, planned) = plan(&dir, &mut rng, disputes, first, last);
    let mut expected = insert_rounds(&mut conn, &dir, &rounds)?;
    expected.teams = TEAMS as i64;
    expected.mediators = MEMBERS as i64;
    let directory_seconds = started.elapsed().as_secs_f64();

    eprintln!("  {disputes} disputes over {first}..{last} on {threads} connections…");
    let started = Instant::now();
    let ctx = Ctx { dir: &dir, pii, horizon: last, rounds: &rounds };
    let threads = threads.max(1);
    let total = planned.len();
    let parts: Vec<Vec<&Planned>> = (0..threads).map(|w| planned.iter().skip(w).step_by(threads).collect()).collect();
    let ctx = &ctx;
    let results: Vec<Result<Vec<Ran>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .enumerate()
            .map(|(worker, mine)| {
                scope.spawn(move || -> Result<Vec<Ran>> {
                    let mut conn = PgConnection::establish(url)?;
                    let mut out = Vec::with_capacity(mine.len());
                    for (n, batch) in mine.chunks(BATCH).enumerate() {
                        let ran = petition_server::db::transaction(&mut conn, |conn| {
                            let mut journal = Journal::default();
                            let mut ran = Vec::with_capacity(batch.len());
                            for p in batch {
                                ran.push(
                                    run_dispute(conn, &mut journal, ctx, p)
                                        .map_err(|e| petition_server::error::AppError::internal(format!("{e:#}")))?,
                                );
                            }
                            journal.flush(conn)?;
                            Ok(ran)
                        })
                        .map_err(|e| anyhow!("{e:?}"))?;
                        out.extend(ran);
                        if worker == 0 && n % 40 == 39 {
                            eprintln!("    {} of {total} disputes…", out.len() * threads);
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("a loader thread panicked")))).collect()
    });
    let mut states: HashMap<&'static str, usize> = HashMap::new();
    let mut disputes_at: HashMap<Uuid, usize> = HashMap::new();
    for result in results {
        for ran in result? {
            expected.add(&ran.counted);
            *states.entry(ran.state).or_default() += 1;
            *disputes_at.entry(ran.final_team).or_default() += 1;
        }
    }
    let disputes_seconds = started.elapsed().as_secs_f64();

    eprintln!("  VACUUM (ANALYZE)…");
    let started = Instant::now();
    sql_query("VACUUM (ANALYZE)").execute(&mut conn)?;
    let vacuum_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    sql_query("CHECKPOINT").execute(&mut conn)?;
    let checkpoint_seconds = started.elapsed().as_secs_f64();
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let events =
        sql_query("SELECT count(*) AS n FROM events WHERE aggregate_type = 2").get_result::<Count>(&mut conn)?.n;
    let mut states: Vec<(String, usize)> = states.into_iter().map(|(s, n)| (s.to_owned(), n)).collect();
    states.sort_by_key(|s| std::cmp::Reverse(s.1));
    Ok(CityYear {
        year,
        teams: dir.teams.iter().map(|t| (t.row.id, t.head_login.clone())).collect(),
        disputes_at,
        expected,
        states,
        accounts: dir.accounts,
        screenings: rounds.len(),
        events,
        directory_seconds,
        disputes_seconds,
        vacuum_seconds,
        checkpoint_seconds,
    })
}
