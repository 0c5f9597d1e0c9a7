//! `petition-server seed-demo`: a small Ganzhou-like directory (a city, two
//! counties, their townships and villages, organizations and staff) so that
//! a newcomer can use the system at once. Loading is idempotent: a directory
//! that already holds the demo city is left alone.

use chrono::Utc;
use diesel::prelude::*;
use uuid::Uuid;

use crate::auth::passwords::hash_blocking;
use crate::auth::{AccountKind, Role};
use crate::directory::model::{OrganizationRow, RegionRow};
use crate::directory::rules::{OrganizationKind, RegionLevel, child_path};
use crate::directory::store as directory_store;
use crate::error::AppError;
use crate::identity::model::AccountRow;
use crate::identity::phone::PhoneNumber;
use crate::identity::resident_id::ResidentId;
use crate::identity::service::{PHONE_DOMAIN, RESIDENT_ID_DOMAIN};
use crate::identity::store as identity_store;
use crate::pii::Pii;
use crate::time::shanghai_today;

/// Password of every demo account. Demo data only: it is printed by the
/// command and written in the README.
pub const DEMO_PASSWORD: &str = "demo-password";

/// (code, name, parent).
const REGIONS: &[(&str, &str, Option<&str>)] = &[
    ("360700", "赣州市", None),
    ("360702", "章贡区", Some("360700")),
    ("360702001", "解放街道", Some("360702")),
    ("360702001001", "厚德路社区", Some("360702001")),
    ("360702001002", "章贡路社区", Some("360702001")),
    ("360702100", "沙石镇", Some("360702")),
    ("360702100201", "沙石村", Some("360702100")),
    ("360731", "于都县", Some("360700")),
    ("360731100", "贡江镇", Some("360731")),
    ("360731100001", "长征路社区", Some("360731100")),
    ("360731101", "铁山垅镇", Some("360731")),
    ("360731101201", "铁山垅村", Some("360731101")),
];

/// (key, name, kind, region, parent key).
const ORGANIZATIONS: &[(&str, &str, OrganizationKind, &str, Option<&str>)] = &[
    ("city-bureau", "赣州市信访局", OrganizationKind::PetitionBureau, "360700", None),
    ("city-court", "赣州市中级人民法院", OrganizationKind::Court, "360700", None),
    ("city-legal-aid", "赣州市法律援助中心", OrganizationKind::LegalAidCentre, "360700", None),
    ("city-discipline", "赣州市纪委监委", OrganizationKind::DisciplineInspection, "360700", None),
    ("zg-bureau", "章贡区信访局", OrganizationKind::PetitionBureau, "360702", Some("city-bureau")),
    ("zg-housing", "章贡区住房和城乡建设局", OrganizationKind::ResponsibleUnit, "360702", None),
    ("zg-jiefang", "解放街道办事处", OrganizationKind::ResponsibleUnit, "360702001", None),
    ("zg-mediation", "章贡区红色调解队", OrganizationKind::MediationCommittee, "360702", None),
    ("yd-bureau", "于都县信访局", OrganizationKind::PetitionBureau, "360731", Some("city-bureau")),
    ("yd-hrss", "于都县人力资源和社会保障局", OrganizationKind::ResponsibleUnit, "360731", None),
    ("yd-gongjiang", "贡江镇人民政府", OrganizationKind::ResponsibleUnit, "360731100", None),
    ("yd-court", "于都县人民法院", OrganizationKind::Court, "360731", Some("city-court")),
];

/// (login, display name, organization key, roles).
const STAFF: &[(&str, &str, &str, &[Role])] = &[
    ("city.clerk", "王登记", "city-bureau", &[Role::Clerk]),
    ("city.leader", "李领导", "city-bureau", &[Role::Leader]),
    ("city.supervisor", "赵督查", "city-bureau", &[Role::Supervisor]),
    ("city.lawyer", "钱律师", "city-legal-aid", &[Role::Lawyer]),
    ("zg.clerk", "孙登记", "zg-bureau", &[Role::Clerk]),
    ("zg.handler", "周承办", "zg-housing", &[Role::Handler]),
    ("zg.lead", "吴科长", "zg-housing", &[Role::UnitLead]),
    ("zg.jiefang", "郑承办", "zg-jiefang", &[Role::Handler]),
    ("zg.mediator", "冯调解", "zg-mediation", &[Role::Mediator]),
    ("yd.clerk", "陈登记", "yd-bureau", &[Role::Clerk]),
    ("yd.handler", "褚承办", "yd-hrss", &[Role::Handler]),
    ("yd.lead", "卫局长", "yd-hrss", &[Role::UnitLead]),
];

/// (name, resident ID, phone). Synthetic numbers with valid check digits.
const CITIZENS: &[(&str, &str, &str)] =
    &[("刘群众", "360702198503122042", "13807970001"), ("黄百姓", "360731199207083014", "13807970002")];

/// What the seed created, for the command to print.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub created: bool,
    pub staff_logins: Vec<&'static str>,
    pub citizen_phones: Vec<&'static str>,
}

/// Loads the demo directory in one transaction.
pub fn load(conn: &mut PgConnection, pii: &Pii) -> Result<SeedReport, AppError> {
    let mut report = SeedReport {
        staff_logins: STAFF.iter().map(|s| s.0).collect(),
        citizen_phones: CITIZENS.iter().map(|c| c.2).collect(),
        ..SeedReport::default()
    };
    if directory_store::find_region(conn, "360700")?.is_some() {
        return Ok(report);
    }
    let now = Utc::now();
    for (code, name, parent) in REGIONS {
        let parent_row = parent.map(|p| directory_store::find_region(conn, p)).transpose()?.flatten();
        let level = match code.len() {
            12 => RegionLevel::Village,
            9 => RegionLevel::Township,
            _ if parent.is_some() => RegionLevel::County,
            _ => RegionLevel::City,
        };
        directory_store::insert_region(
            conn,
            &RegionRow {
                code: (*code).into(),
                name: (*name).into(),
                level: level as i16,
                parent_code: parent.map(str::to_owned),
                path: child_path(parent_row.as_ref().map(|p| p.path.as_str()), code),
                created_at: now,
            },
        )?;
    }
    let mut org_ids = std::collections::HashMap::new();
    for (key, name, kind, region, parent) in ORGANIZATIONS {
        let id = Uuid::now_v7();
        let parent_id = parent.and_then(|p| org_ids.get(p).copied());
        directory_store::insert_organization(
            conn,
            &OrganizationRow {
                id,
                name: (*name).into(),
                kind: *kind as i16,
                region_code: (*region).into(),
                parent_id,
                version: 1,
                created_at: now,
                updated_at: now,
            },
        )?;
        org_ids.insert(*key, id);
    }
    let password_hash = hash_blocking(DEMO_PASSWORD)?;
    for (login, name, org, roles) in STAFF {
        identity_store::insert_account(
            conn,
            &AccountRow {
                id: Uuid::now_v7(),
                kind: AccountKind::Staff as i16,
                login_name: Some((*login).into()),
                display_name: (*name).into(),
                resident_id_cipher: None,
                resident_id_index: None,
                resident_id_masked: None,
                phone_cipher: None,
                phone_index: None,
                phone_masked: None,
                password_hash: password_hash.clone(),
                roles: roles.iter().map(|r| Some(*r as i16)).collect(),
                organization_id: org_ids.get(org).copied(),
                scopes: vec![],
                disabled: false,
                created_at: now,
                updated_at: now,
            },
        )?;
    }
    for (name, resident_id, phone) in CITIZENS {
        let id = Uuid::now_v7();
        let resident_id = ResidentId::parse(resident_id, shanghai_today())
            .map_err(|e| AppError::internal(format!("demo resident id: {e}")))?;
        let phone = PhoneNumber::parse(phone).map_err(|e| AppError::internal(format!("demo phone: {e}")))?;
        identity_store::insert_account(
            conn,
            &AccountRow {
                id,
                kind: AccountKind::Citizen as i16,
                login_name: None,
                display_name: (*name).into(),
                resident_id_cipher: Some(pii.seal(id, resident_id.as_str())?),
                resident_id_index: Some(pii.index(RESIDENT_ID_DOMAIN, resident_id.as_str())),
                resident_id_masked: Some(resident_id.masked()),
                phone_cipher: Some(pii.seal(id, phone.as_str())?),
                phone_index: Some(pii.index(PHONE_DOMAIN, phone.as_str())),
                phone_masked: Some(phone.masked()),
                password_hash: password_hash.clone(),
                roles: vec![Some(Role::Citizen as i16)],
                organization_id: None,
                scopes: vec![],
                disabled: false,
                created_at: now,
                updated_at: now,
            },
        )?;
    }
    report.created = true;
    Ok(report)
}

/// Loads the demo data through the application's database handle.
pub async fn run(state: &std::sync::Arc<crate::state::AppState>) -> Result<SeedReport, AppError> {
    let state = state.clone();
    state.db.clone().run(move |conn| load(conn, &state.pii)).await
}

/// Tells the operator what they can sign in with.
pub fn print(report: &SeedReport) {
    let what = if report.created { "Loaded" } else { "Already present:" };
    eprintln!("\n  {what} the demo directory (赣州市: 章贡区, 于都县).");
    eprintln!("  Staff logins: {}", report.staff_logins.join(", "));
    eprintln!("  Citizen logins (phone): {}", report.citizen_phones.join(", "));
    eprintln!("  Demo password for all of them: {DEMO_PASSWORD}\n");
}
