//! `petition-server seed-demo`: a small Ganzhou-like directory (a city, two
//! counties, their townships and villages, organizations and staff) so that
//! a newcomer can use the system at once. Loading is idempotent: a directory
//! that already holds the demo city is left alone.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;
use uuid::Uuid;

use crate::auth::Principal;
use crate::auth::passwords::hash_blocking;
use crate::auth::policy::CaseAction;
use crate::auth::{AccountKind, Role};
use crate::cases::aggregate::Case;
use crate::cases::commands::Plain;
use crate::cases::domain::{CaseKind, Channel, Decision, DeclineReason, FollowUpKind, RoutingMode};
use crate::cases::draft::Draft;
use crate::cases::filing::{self, Filing};
use crate::cases::limits::DailyLimit;
use crate::cases::rules::{Command, OpinionDraft};
use crate::directory::model::{OrganizationRow, RegionRow};
use crate::directory::rules::{OrganizationKind, RegionLevel, child_path};
use crate::directory::store as directory_store;
use crate::error::AppError;
use crate::event_log::Journal;
use crate::identity::model::AccountRow;
use crate::identity::phone::PhoneNumber;
use crate::identity::resident_id::ResidentId;
use crate::identity::store as identity_store;
use crate::pii::Pii;
use crate::pipeline;
use crate::taxonomy::model::{CategoryRow, RoutingRuleRow};
use crate::taxonomy::store as taxonomy_store;
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
    ("city-gov", "赣州市人民政府", OrganizationKind::Leadership, "360700", None),
    ("zg-gov", "章贡区人民政府", OrganizationKind::Leadership, "360702", Some("city-gov")),
    ("yd-gov", "于都县人民政府", OrganizationKind::Leadership, "360731", Some("city-gov")),
    ("zg-bureau", "章贡区信访局", OrganizationKind::PetitionBureau, "360702", Some("city-bureau")),
    ("zg-housing", "章贡区住房和城乡建设局", OrganizationKind::ResponsibleUnit, "360702", Some("zg-gov")),
    ("zg-jiefang", "解放街道办事处", OrganizationKind::ResponsibleUnit, "360702001", Some("zg-gov")),
    ("zg-mediation", "章贡区红色调解队", OrganizationKind::MediationCommittee, "360702", None),
    ("yd-bureau", "于都县信访局", OrganizationKind::PetitionBureau, "360731", Some("city-bureau")),
    ("yd-hrss", "于都县人力资源和社会保障局", OrganizationKind::ResponsibleUnit, "360731", Some("yd-gov")),
    ("yd-gongjiang", "贡江镇人民政府", OrganizationKind::ResponsibleUnit, "360731100", Some("yd-gov")),
    ("yd-court", "于都县人民法院", OrganizationKind::Court, "360731", Some("city-court")),
];

/// (login, display name, organization key, roles).
const STAFF: &[(&str, &str, &str, &[Role])] = &[
    ("city.clerk", "王登记", "city-bureau", &[Role::Clerk]),
    ("city.leader", "李领导", "city-bureau", &[Role::Leader]),
    ("city.supervisor", "赵督查", "city-bureau", &[Role::Supervisor]),
    ("city.lawyer", "钱律师", "city-legal-aid", &[Role::Lawyer]),
    ("city.gov", "蒋秘书长", "city-gov", &[Role::Leader]),
    ("city.discipline", "沈纪检", "city-discipline", &[Role::Handler]),
    ("zg.gov", "韩主任", "zg-gov", &[Role::Leader]),
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
    let region_paths: HashMap<&str, String> = REGIONS
        .iter()
        .filter_map(|(code, _, _)| Some((*code, directory_store::find_region(conn, code).ok()??.path)))
        .collect();
    let mut people: HashMap<&str, Principal> = HashMap::new();
    for (login, name, org, roles) in STAFF {
        let id = Uuid::now_v7();
        let region = ORGANIZATIONS.iter().find(|o| o.0 == *org).map(|o| o.3).unwrap_or_default();
        people.insert(
            login,
            Principal {
                account_id: id,
                kind: AccountKind::Staff,
                roles: roles.to_vec(),
                organization_id: org_ids.get(org).copied(),
                jurisdiction: region_paths.get(region).cloned(),
                scopes: vec![],
            },
        );
        let account = AccountRow::new(id, AccountKind::Staff, (*name).into(), password_hash.clone(), roles, now)
            .with_login_name(*login)
            .with_organization(org_ids.get(org).copied());
        identity_store::insert_account(conn, &account)?;
    }
    for (name, resident_id, phone) in CITIZENS {
        let id = Uuid::now_v7();
        people.insert(
            phone,
            Principal {
                account_id: id,
                kind: AccountKind::Citizen,
                roles: vec![Role::Citizen],
                organization_id: None,
                jurisdiction: None,
                scopes: vec![],
            },
        );
        let resident_id = ResidentId::parse(resident_id, shanghai_today())
            .map_err(|e| AppError::internal(format!("demo resident id: {e}")))?;
        let phone = PhoneNumber::parse(phone).map_err(|e| AppError::internal(format!("demo phone: {e}")))?;
        let account =
            AccountRow::new(id, AccountKind::Citizen, (*name).into(), password_hash.clone(), &[Role::Citizen], now)
                .with_resident_id(pii, &resident_id)?
                .with_phone(pii, &phone)?;
        identity_store::insert_account(conn, &account)?;
    }
    for (code, name) in CATEGORIES {
        taxonomy_store::insert_category(
            conn,
            &CategoryRow {
                code: (*code).into(),
                name: (*name).into(),
                retired: false,
                created_at: now,
                updated_at: now,
            },
        )?;
    }
    for (category, region, org, mode) in ROUTING_RULES {
        let organization_id = org_ids.get(org).copied().ok_or_else(|| AppError::internal("demo rule organization"))?;
        taxonomy_store::upsert_routing_rule(
            conn,
            &RoutingRuleRow {
                id: Uuid::now_v7(),
                category_code: (*category).into(),
                region_code: (*region).into(),
                organization_id,
                mode: mode.as_i16(),
                updated_at: now,
            },
        )?;
    }
    let mut journal = Journal::default();
    demo_cases(conn, &mut journal, &people, &org_ids)?;
    journal.flush(conn)?;
    report.created = true;
    Ok(report)
}

/// (code, name) of the demo taxonomy.
const CATEGORIES: &[(&str, &str)] = &[
    ("housing", "住房城乡建设"),
    ("housing.property", "物业管理"),
    ("housing.demolition", "房屋征收"),
    ("labor.wages", "劳动工资"),
    ("land", "土地资源"),
    ("environment", "生态环境"),
    ("discipline", "党纪政纪"),
    ("other", "其他"),
];

/// (category, region, organization key, mode): 即时交办 for the demo.
const ROUTING_RULES: &[(&str, &str, &str, RoutingMode)] = &[
    ("housing.property", "360702", "zg-housing", RoutingMode::Assign),
    ("labor.wages", "360731", "yd-hrss", RoutingMode::Forward),
    ("discipline", "360700", "city-discipline", RoutingMode::Forward),
];

fn person<'a>(people: &'a HashMap<&str, Principal>, key: &str) -> Result<&'a Principal, AppError> {
    people.get(key).ok_or_else(|| AppError::internal(format!("demo person {key}")))
}

fn demo_draft(kind: CaseKind, category: &str, region: &str, title: &str, content: &str, requests: &str) -> Draft {
    Draft {
        kind,
        category_code: category.into(),
        region_code: region.into(),
        title: title.into(),
        content: content.into(),
        requests: requests.into(),
        facts_and_reasons: String::new(),
        attachments: vec![],
        respondent_organization_id: None,
    }
}

fn demo_opinion(decision: Decision) -> OpinionDraft {
    OpinionDraft {
        request: "请求维修小区漏水的公共管道".into(),
        facts: "经现场核查，情况属实，物业公司已安排维修".into(),
        decision,
        legal_basis: "《物业管理条例》第五十五条".into(),
        served_at: chrono::Utc::now(),
        stated_organization_id: None,
        mediation_dispute_id: None,
    }
}

/// Sample cases, one in every state, driven through the command pipeline
/// with the demo staff as actors (so the policy holds for each step).
fn demo_cases(
    conn: &mut PgConnection,
    journal: &mut Journal,
    people: &HashMap<&str, Principal>,
    org_ids: &std::collections::HashMap<&str, Uuid>,
) -> Result<(), AppError> {
    let liu = person(people, "13807970001")?.clone();
    let huang = person(people, "13807970002")?.clone();
    let zg_clerk = person(people, "zg.clerk")?.clone();
    let handler = person(people, "zg.handler")?.clone();
    let lead = person(people, "zg.lead")?.clone();
    let zg_gov = person(people, "zg.gov")?.clone();
    let city_gov = person(people, "city.gov")?.clone();
    let zg_gov_org = org_ids.get("zg-gov").copied().ok_or_else(|| AppError::internal("demo org"))?;
    let city_gov_org = org_ids.get("city-gov").copied().ok_or_else(|| AppError::internal("demo org"))?;

    let kinds = crate::directory::kinds::OrganizationKinds::default();
    let mut file = |who: &Principal, petitioner: &Principal, draft: Draft| -> Result<Uuid, AppError> {
        let channel = if who.account_id == petitioner.account_id { Channel::Online } else { Channel::Visit };
        let numbered = filing::take_number(conn, who, channel, &draft.region_code)?;
        Ok(filing::file(
            conn,
            journal,
            Filing {
                principal: who.clone(),
                draft,
                channel,
                petitioner_id: petitioner.account_id,
                group_visit: None,
                // Demo history spans what would be several days.
                daily_limit: DailyLimit::NONE,
                // The sample cases are one matter in several states on
                // purpose; detection would link them as repeats.
                similarity: None,
            },
            numbered,
            &kinds,
        )?
        .row
        .id)
    };
    let leak = |n: &str| {
        demo_draft(
            CaseKind::Claim,
            "housing.property",
            "360702001001",
            &format!("厚德路小区{n}号楼公共管道漏水"),
            "小区公共管道漏水三个月，物业一直未处理，影响楼下住户正常生活。",
            "请求督促物业公司尽快维修",
        )
    };
    // Filed online; routed at once by the housing rule (ROUTED).
    let _routed = file(&liu, &liu, leak("1"))?;
    let accepted = file(&liu, &liu, leak("2"))?;
    let replied = file(&liu, &liu, leak("3"))?;
    let under_review = file(&liu, &liu, leak("4"))?;
    let reviewed = file(&liu, &liu, leak("5"))?;
    let under_recheck = file(&liu, &liu, leak("6"))?;
    let finished = file(&liu, &liu, leak("7"))?;
    // Registered at the desk with no rule (REGISTERED), one declined, one withdrawn.
    let noise = |title: &str| {
        demo_draft(
            CaseKind::Claim,
            "environment",
            "360702001002",
            title,
            "夜间施工噪音扰民，多次投诉无果。",
            "请求停止夜间施工",
        )
    };
    let _registered = file(&zg_clerk, &huang, noise("章贡路工地夜间施工噪音"))?;
    let declined = file(&zg_clerk, &huang, noise("工地施工噪音（劳动合同纠纷）"))?;
    let withdrawn = file(&huang, &huang, noise("夜间施工噪音（已协商解决）"))?;

    let mut step = |who: &Principal, case: Uuid, action: CaseAction, command: Command| -> Result<(), AppError> {
        pipeline::transition::<Case, Plain>(conn, journal, who, case, "", Plain::new(action, command)).map(|_| ())
    };
    step(
        &zg_clerk,
        declined,
        CaseAction::Triage,
        Command::Decline {
            reason: DeclineReason::Arbitration,
            diverted_to: "章贡区劳动人事争议仲裁委员会".into(),
            related_case_id: None,
            related: None,
            explanation: String::new(),
        },
    )?;
    step(&huang, withdrawn, CaseAction::ActAsPetitioner, Command::Withdraw { reason: "已与施工方协商解决".into() })?;
    let accept = || Command::Accept { note: "已受理，将于15日内现场核查".into() };
    for case in [accepted, replied, under_review, reviewed, under_recheck, finished] {
        step(&handler, case, CaseAction::RespondToRouting, accept())?;
    }
    step(
        &handler,
        accepted,
        CaseAction::Handle,
        Command::FollowUp { kind: FollowUpKind::Visit, note: "已到现场查看漏水点".into() },
    )?;
    step(&lead, accepted, CaseAction::ApproveExtension, Command::Extend { days: 15, reason: "需协调维修基金".into() })?;
    for case in [replied, under_review, reviewed, under_recheck, finished] {
        step(&handler, case, CaseAction::Handle, Command::Reply { opinion: demo_opinion(Decision::Supported) })?;
    }
    for case in [under_review, reviewed, under_recheck, finished] {
        step(
            &liu,
            case,
            CaseAction::ActAsPetitioner,
            Command::RequestReview { reason: "维修不彻底".into(), reviewing_organization_id: Some(zg_gov_org) },
        )?;
    }
    for case in [reviewed, under_recheck, finished] {
        step(
            &zg_gov,
            case,
            CaseAction::DecideReview,
            Command::ReplyToReview { opinion: demo_opinion(Decision::Explained) },
        )?;
    }
    for case in [under_recheck, finished] {
        step(
            &liu,
            case,
            CaseAction::ActAsPetitioner,
            Command::RequestRecheck { reason: "仍不满意".into(), reviewing_organization_id: Some(city_gov_org) },
        )?;
    }
    step(
        &city_gov,
        finished,
        CaseAction::DecideReview,
        Command::ReplyToRecheck { opinion: demo_opinion(Decision::NotSupported) },
    )?;
    Ok(())
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
