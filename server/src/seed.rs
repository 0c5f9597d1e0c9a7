//! `petition-server seed-demo`: a small Ganzhou-like directory (a city, two
//! counties, their townships and villages, organizations and staff) so that
//! a newcomer can use the system at once. Loading is idempotent: a directory
//! that already holds the demo city is left alone.

use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::auth::Principal;
use crate::auth::passwords::hash_blocking;
use crate::auth::policy::{self, CaseAction, DisputeAction, TeamAccess, TeamAction};
use crate::auth::{AccountKind, Role, Scope};
use crate::cases::aggregate::Case;
use crate::cases::commands::Plain;
use crate::cases::domain::{
    CaseKind, Channel, Decision, DeclineReason, FollowUpKind, LawyerCapacity, LawyerService, LawyerStage, RoutingMode,
};
use crate::cases::draft::Draft;
use crate::cases::filing::{self, Filing};
use crate::cases::limits::DailyLimit;
use crate::cases::rules::{Command, LawyerParticipation, OpinionDraft};
use crate::directory::model::{OrganizationRow, RegionRow};
use crate::directory::rules::{OrganizationKind, RegionLevel, child_path};
use crate::directory::store as directory_store;
use crate::error::AppError;
use crate::event_log::Journal;
use crate::identity::model::AccountRow;
use crate::identity::phone::PhoneNumber;
use crate::identity::resident_id::ResidentId;
use crate::identity::store as identity_store;
use crate::mediation::aggregate::Dispute;
use crate::mediation::commands::{Apply, Assign, Escalate, ForParty, Plain as MediationPlain};
use crate::mediation::domain::{
    AdvisedRoute, AgreementForm, ConfirmationState, DisputeCategory, DisputeSource, FailureReason, MemberRole,
    TeamKind, TermPerformance,
};
use crate::mediation::draft::{self as mediation_draft, DisputeDraft, DraftFields, NewParty, Origin};
use crate::mediation::model::{MemberRow, ScreeningRow, TeamRow};
use crate::mediation::rules::{AgreementDraft, Command as MediationRule, Links, SessionDraft, TermDraft};
use crate::mediation::store::{self as mediation_store, CountedTeam};
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
    // Legal aid (issue 18): the justice bureau that set up the centre
    // decides objections (法律援助法 Art.49).
    ("city-justice", "赣州市司法局", OrganizationKind::JusticeBureau, "360700", None),
    ("city-legal-aid", "赣州市法律援助中心", OrganizationKind::LegalAidCentre, "360700", Some("city-justice")),
    ("city-discipline", "赣州市纪委监委", OrganizationKind::DisciplineInspection, "360700", None),
    ("city-gov", "赣州市人民政府", OrganizationKind::Leadership, "360700", None),
    ("zg-gov", "章贡区人民政府", OrganizationKind::Leadership, "360702", Some("city-gov")),
    ("yd-gov", "于都县人民政府", OrganizationKind::Leadership, "360731", Some("city-gov")),
    ("zg-bureau", "章贡区信访局", OrganizationKind::PetitionBureau, "360702", Some("city-bureau")),
    ("zg-housing", "章贡区住房和城乡建设局", OrganizationKind::ResponsibleUnit, "360702", Some("zg-gov")),
    ("zg-jiefang", "解放街道办事处", OrganizationKind::ResponsibleUnit, "360702001", Some("zg-gov")),
    ("zg-mediation", "章贡区红色调解队", OrganizationKind::MediationCommittee, "360702", None),
    ("jf-mediation", "解放街道人民调解委员会", OrganizationKind::MediationCommittee, "360702001", None),
    ("hd-mediation", "厚德路社区人民调解委员会", OrganizationKind::MediationCommittee, "360702001001", None),
    ("yd-mediation", "于都县人民调解委员会", OrganizationKind::MediationCommittee, "360731", None),
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
    ("jf.mediator", "吕主任", "jf-mediation", &[Role::Mediator]),
    ("hd.mediator", "何主任", "hd-mediation", &[Role::Mediator]),
    ("yd.mediator", "施主任", "yd-mediation", &[Role::Mediator]),
    ("yd.clerk", "陈登记", "yd-bureau", &[Role::Clerk]),
    ("yd.handler", "褚承办", "yd-hrss", &[Role::Handler]),
    ("yd.lead", "卫局长", "yd-hrss", &[Role::UnitLead]),
    // Legal aid (issue 18): the centre's reviewer, the bureau's staff.
    ("la.reviewer", "冷审查", "city-legal-aid", &[Role::Handler]),
    ("city.justice", "严科长", "city-justice", &[Role::UnitLead]),
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
    /// Mediation teams and the logins of their heads.
    pub mediation_heads: Vec<(&'static str, &'static str)>,
}

/// Loads the demo directory in one transaction.
pub fn load(
    conn: &mut PgConnection,
    pii: &Pii,
    ratings: &crate::config::RatingsConfig,
) -> Result<SeedReport, AppError> {
    let mut report = SeedReport {
        staff_logins: STAFF.iter().map(|s| s.0).collect(),
        citizen_phones: CITIZENS.iter().map(|c| c.2).collect(),
        mediation_heads: TEAMS.iter().map(|t| (t.1, t.5)).collect(),
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
    // The court's partner service account: answers confirmations (Art.33).
    let court_org = org_ids.get("city-court").copied().ok_or_else(|| AppError::internal("demo court"))?;
    let court_account = Uuid::now_v7();
    let court_scopes = [Scope::CasesRead, Scope::CasesWrite];
    identity_store::insert_account(
        conn,
        &AccountRow::new(
            court_account,
            AccountKind::Service,
            "赣州市中级人民法院（司法确认）".into(),
            password_hash.clone(),
            &[Role::Partner],
            now,
        )
        .with_login_name(DEMO_COURT_CLIENT_ID)
        .with_organization(Some(court_org))
        .with_scopes(&court_scopes),
    )?;
    people.insert(
        DEMO_COURT_CLIENT_ID,
        Principal {
            account_id: court_account,
            kind: AccountKind::Service,
            roles: vec![Role::Partner],
            organization_id: Some(court_org),
            jurisdiction: region_paths.get("360700").cloned(),
            scopes: court_scopes.to_vec(),
        },
    );
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
    let cases = demo_cases(conn, &mut journal, &people, &org_ids, ratings)?;
    demo_mediation(conn, &mut journal, pii, &people, &org_ids, &region_paths, &cases)?;
    // Legal aid (issue 18): the centre's partner account, applications in every state.
    let legal_aid_centre = org_ids.get("city-legal-aid").copied().ok_or_else(|| AppError::internal("demo centre"))?;
    crate::legal_aid::seed::partner(conn, legal_aid_centre, &password_hash, now)?;
    crate::legal_aid::seed::demo(conn, &mut journal, pii, &people, legal_aid_centre)?;
    // Courts: 于都县人民法院's partner and referrals in every state.
    crate::courts::seed::seed(conn, &mut journal, &people, &org_ids, &password_hash)?;
    // Ratings (issue 19): the served opinions rated in every way.
    crate::ratings::seed::seed(conn, &mut journal, ratings, &people, &cases.rated)?;
    // Backlog cases (issue 20): one designated, its four checks recorded.
    crate::backlog::seed::seed(conn, &mut journal, person(&people, "zg.clerk")?, cases.rated.under_recheck)?;
    // Supervision (issue 20): items on three rungs.
    let chased = crate::supervision::seed::Chased {
        accepted: cases.accepted,
        under_review: cases.rated.under_review,
        replied: cases.rated.replied,
    };
    let (supervisor, handler) = (person(&people, "city.supervisor")?, person(&people, "zg.handler")?);
    crate::supervision::seed::seed(conn, &mut journal, supervisor, handler, &chased)?;
    // Reception days (issue 20): a city leader weekly, a county leader daily.
    crate::reception::seed::seed(conn, &mut journal, &people)?;
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

/// Demo cases that mediation and ratings go on from.
struct DemoCases {
    /// Registered at the desk, not yet routed: referred to mediation.
    registered: Uuid,
    /// Accepted, extended, owned by the city leader: supervised.
    accepted: Uuid,
    /// The cases with served opinions, rated.
    rated: crate::ratings::seed::Rated,
}

/// Sample cases, one in every state, driven through the command pipeline
/// with the demo staff as actors (so the policy holds for each step).
fn demo_cases(
    conn: &mut PgConnection,
    journal: &mut Journal,
    people: &HashMap<&str, Principal>,
    org_ids: &std::collections::HashMap<&str, Uuid>,
    ratings: &crate::config::RatingsConfig,
) -> Result<DemoCases, AppError> {
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
    let registered = file(&zg_clerk, &huang, noise("章贡路工地夜间施工噪音"))?;
    let declined = file(&zg_clerk, &huang, noise("工地施工噪音（劳动合同纠纷）"))?;
    let withdrawn = file(&huang, &huang, noise("夜间施工噪音（已协商解决）"))?;

    let mut step = |who: &Principal, case: Uuid, action: CaseAction, command: Command| -> Result<(), AppError> {
        let (saved, events) =
            pipeline::transition::<Case, Plain>(conn, journal, who, case, "", Plain::new(action, command))?;
        // As CaseService does: a served opinion opens its rating.
        crate::ratings::open_for_opinions(conn, journal, ratings, &saved, &events, Some(who.account_id)).map(|_| ())
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
    // 访前: the city's public lawyer explained the arbitration route at reception.
    let lawyer = person(people, "city.lawyer")?.clone();
    step(
        &lawyer,
        declined,
        CaseAction::Counsel,
        Command::RecordLawyer {
            participation: LawyerParticipation {
                stage: LawyerStage::BeforeVisit,
                capacity: LawyerCapacity::PublicLawyer,
                lawyer_account_id: Some(lawyer.account_id),
                lawyer_name: "钱律师".into(),
                affiliation: "赣州市法律援助中心".into(),
                service: LawyerService::Consultation,
                service_date: shanghai_today(),
                summary: "劳动报酬争议应先申请劳动仲裁，已告知申请方式及时效，并提示可申请法律援助。".into(),
            },
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
    // 事中: the unit asks for a lawyer's opinion on the repair fund.
    step(
        &handler,
        accepted,
        CaseAction::Handle,
        Command::RequestLawyer {
            stage: LawyerStage::DuringHandling,
            organization_id: org_ids.get("city-legal-aid").copied(),
            note: "维修基金使用程序需律师出具法律意见".into(),
            requested_by_organization_id: handler.organization_id,
        },
    )?;
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
    // 领导包案: the city leader took the extended leak case and instructed
    // on it; the bureau made the district's leader own the one under review.
    let city_leader = person(people, "city.leader")?.clone();
    {
        use crate::cases::domain::LeaderNoteKind;
        use crate::cases::leadership::{Assign, Record, Take};
        let note = "群众反映强烈，本人包案".to_owned();
        pipeline::transition::<Case, _>(conn, journal, &city_leader, accepted, "", Take::new(note))?;
        let text = "协调使用维修基金，月底前完成维修并回访".to_owned();
        let instruct = Record::new(LeaderNoteKind::Instruction, text);
        pipeline::transition::<Case, _>(conn, journal, &city_leader, accepted, "", instruct)?;
        let assign = Assign::new(zg_gov.account_id, "复查中的重点信访事项，请区领导包案".to_owned());
        pipeline::transition::<Case, _>(conn, journal, &zg_clerk, under_review, "", assign)?;
    }
    let rated = crate::ratings::seed::Rated { replied, under_review, reviewed, under_recheck, finished };
    Ok(DemoCases { registered, accepted, rated })
}

/// A demo mediation team: (key, name, kind, region, organization key,
/// head's login, a member on paper: name, role, phone).
type DemoTeam = (
    &'static str,
    &'static str,
    TeamKind,
    &'static str,
    &'static str,
    &'static str,
    (&'static str, MemberRole, &'static str),
);

/// Teams at village, township and county level (三级调解).
const TEAMS: &[DemoTeam] = &[
    (
        "houde",
        "厚德路社区人民调解委员会",
        TeamKind::VillageCommittee,
        "360702001001",
        "hd-mediation",
        "hd.mediator",
        ("郭网格", MemberRole::GridWorker, "13807970101"),
    ),
    (
        "jiefang",
        "解放街道人民调解委员会",
        TeamKind::TownshipCommittee,
        "360702001",
        "jf-mediation",
        "jf.mediator",
        ("马调解", MemberRole::Mediator, "13807970102"),
    ),
    (
        "zg-red",
        "章贡区红色调解队",
        TeamKind::RedTeam,
        "360702",
        "zg-mediation",
        "zg.mediator",
        ("罗志愿", MemberRole::Volunteer, "13807970103"),
    ),
    (
        "yudu",
        "于都县人民调解委员会",
        TeamKind::CountyCommittee,
        "360731",
        "yd-mediation",
        "yd.mediator",
        ("梁调解", MemberRole::Mediator, "13807970104"),
    ),
];

/// The demo court's partner service account (client credentials).
pub const DEMO_COURT_CLIENT_ID: &str = "svc-city-court";

/// A seeded team: its row and members (the head first).
struct SeededTeam {
    row: TeamRow,
    members: Vec<Uuid>,
}

fn demo_team<'a>(teams: &'a HashMap<&str, SeededTeam>, key: &str) -> Result<&'a SeededTeam, AppError> {
    teams.get(key).ok_or_else(|| AppError::internal(format!("demo team {key}")))
}

fn contact(name: &str, organization: bool, phone: &str) -> Result<NewParty, AppError> {
    let phone = PhoneNumber::parse(phone).map_err(|e| AppError::internal(format!("demo phone: {e}")))?;
    Ok(NewParty::Contact { name: name.into(), organization, phone })
}

fn days_ago(n: u64) -> NaiveDate {
    shanghai_today().checked_sub_days(Days::new(n)).unwrap_or_else(shanghai_today)
}

fn days_on(n: u64) -> NaiveDate {
    shanghai_today().checked_add_days(Days::new(n)).unwrap_or_else(shanghai_today)
}

fn session_on(date: NaiveDate, place: &str, notes: &str) -> MediationRule {
    MediationRule::HoldSession {
        session: SessionDraft {
            date,
            place: place.into(),
            video: false,
            attendees: vec!["双方当事人".into()],
            notes: notes.into(),
        },
    }
}

fn agreement_on(form: AgreementForm, obligor: Uuid, effective: NaiveDate, deadline: NaiveDate) -> MediationRule {
    let written = form == AgreementForm::Written;
    let text = |s: &str| if written { s.to_owned() } else { String::new() };
    MediationRule::Agree {
        agreement: AgreementDraft {
            form,
            parties_summary: text("甲方刘群众，住厚德路社区；乙方厚德物业管理有限公司"),
            facts: text("小区公共管道漏水致甲方房屋受损"),
            issues_and_responsibility: text("物业公司未及时维修，负主要责任"),
            terms: vec![TermDraft {
                obligor_party_id: obligor,
                content: "维修公共管道并赔偿甲方损失人民币三千元".into(),
                manner: "施工维修，银行转账支付".into(),
                deadline,
            }],
            effective_date: Some(effective),
        },
    }
}

/// Mediation: teams at three levels with their heads signing in, screening
/// rounds (one a zero report), and disputes in every state, driven through
/// the command pipeline as the demo's mediators, parties and court would.
#[allow(clippy::too_many_lines)]
fn demo_mediation(
    conn: &mut PgConnection,
    journal: &mut Journal,
    pii: &Pii,
    people: &HashMap<&str, Principal>,
    org_ids: &HashMap<&str, Uuid>,
    region_paths: &HashMap<&str, String>,
    cases: &DemoCases,
) -> Result<(), AppError> {
    let now = Utc::now();
    let mut teams: HashMap<&str, SeededTeam> = HashMap::new();
    for (key, name, kind, region, org, head, (member, role, phone)) in TEAMS {
        let path = region_paths.get(region).cloned().ok_or_else(|| AppError::internal("demo team region"))?;
        let level = match region.len() {
            12 => RegionLevel::Village,
            9 => RegionLevel::Township,
            _ => RegionLevel::County,
        };
        let row = TeamRow {
            id: Uuid::now_v7(),
            name: (*name).into(),
            kind: kind.as_i16(),
            specialties: vec![],
            organization_id: org_ids.get(org).copied().ok_or_else(|| AppError::internal("demo team org"))?,
            region_code: (*region).into(),
            region_path: path.clone(),
            level: level.as_i16(),
            covered_region_codes: vec![(*region).into()],
            covered_paths: vec![path],
            retired: false,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        mediation_store::insert_team(conn, &row)?;
        let head_id = Uuid::now_v7();
        let head_account = person(people, head)?.account_id;
        let head_name = STAFF.iter().find(|s| s.0 == *head).map_or("调解主任", |s| s.1);
        mediation_store::insert_member(
            conn,
            &MemberRow {
                id: head_id,
                team_id: row.id,
                display_name: head_name.into(),
                role: MemberRole::Head.as_i16(),
                account_id: Some(head_account),
                phone_masked: None,
                phone_cipher: None,
                active: true,
                created_at: now,
                removed_at: None,
            },
        )?;
        let member_id = Uuid::now_v7();
        let phone = PhoneNumber::parse(phone).map_err(|e| AppError::internal(format!("demo phone: {e}")))?;
        mediation_store::insert_member(
            conn,
            &MemberRow {
                id: member_id,
                team_id: row.id,
                display_name: (*member).into(),
                role: role.as_i16(),
                account_id: None,
                phone_masked: Some(phone.masked()),
                phone_cipher: Some(pii.seal(member_id, phone.as_str())?),
                active: true,
                created_at: now,
                removed_at: None,
            },
        )?;
        teams.insert(key, SeededTeam { row, members: vec![head_id, member_id] });
    }

    let houde = demo_team(&teams, "houde")?;
    let jiefang = demo_team(&teams, "jiefang")?;
    let zg_red = demo_team(&teams, "zg-red")?;
    let yudu = demo_team(&teams, "yudu")?;
    let hd = person(people, "hd.mediator")?.clone();
    let jf = person(people, "jf.mediator")?.clone();
    let zg = person(people, "zg.mediator")?.clone();
    let yd = person(people, "yd.mediator")?.clone();
    let court = person(people, DEMO_COURT_CLIENT_ID)?.clone();
    let court_id = court.organization_id.ok_or_else(|| AppError::internal("demo court"))?;
    let liu = person(people, "13807970001")?.clone();
    let huang = person(people, "13807970002")?.clone();

    // Screening rounds of the community committee: last month's found
    // nothing (零上报); this month's found two disputes.
    let memberships = mediation_store::memberships_for(conn, &hd)?;
    let access = TeamAccess { id: houde.row.id, region_path: &houde.row.region_path };
    policy::authorize_team(&hd, &memberships, TeamAction::Work, Some(access))?;
    let round = |date: NaiveDate, zero_report: bool, note: &str| ScreeningRow {
        id: Uuid::now_v7(),
        team_id: houde.row.id,
        screening_date: date,
        area: "厚德路社区全域（网格一至四）".into(),
        zero_report,
        note: note.into(),
        recorded_by: hd.account_id,
        created_at: now,
    };
    mediation_store::insert_screening(conn, &round(days_ago(35), true, "本月排查未发现矛盾纠纷"))?;
    let screening = round(days_ago(6), false, "");
    mediation_store::insert_screening(conn, &screening)?;

    let counted = |team: &SeededTeam| CountedTeam { row: team.row.clone(), members: 0, open_disputes: 0 };
    let record = |conn: &mut PgConnection,
                  journal: &mut Journal,
                  actor: &Principal,
                  team: &SeededTeam,
                  region: &str,
                  category: DisputeCategory,
                  matter: &str,
                  parties: Vec<NewParty>,
                  source: DisputeSource,
                  receive_date: NaiveDate|
     -> Result<(Uuid, Vec<Uuid>), AppError> {
        let links =
            Links { screening_id: (source == DisputeSource::Screening).then_some(screening.id), ..Links::default() };
        let fields = DraftFields::at("dispute", parties.len());
        let draft = DisputeDraft {
            region_code: region.into(),
            category,
            matter: matter.into(),
            parties,
            attachments: vec![],
            fields,
        };
        let origin = Origin {
            source,
            links,
            referring_organization_id: None,
            court_case_number: String::new(),
            receive_date: Some(receive_date),
        };
        let id = Uuid::now_v7();
        let row = mediation_draft::record(conn, journal, pii, actor.account_id, id, &counted(team), draft, origin)?;
        Ok((id, row.lifecycle.0.parties.iter().map(|p| p.id).collect()))
    };
    let act = |conn: &mut PgConnection,
               journal: &mut Journal,
               who: &Principal,
               id: Uuid,
               command: MediationCommand|
     -> Result<(), AppError> {
        match command {
            MediationCommand::Plain(action, rule) => {
                pipeline::transition::<Dispute, _>(conn, journal, who, id, "", MediationPlain::new(action, rule))
                    .map(|_| ())
            }
            MediationCommand::ForParty(party, rule) => {
                pipeline::transition::<Dispute, _>(conn, journal, who, id, "", ForParty::new(party, rule)).map(|_| ())
            }
            MediationCommand::Assign(member) => {
                pipeline::transition::<Dispute, _>(conn, journal, who, id, "", Assign::new(member)).map(|_| ())
            }
            MediationCommand::Escalate(team, reason, date) => pipeline::transition::<Dispute, _>(
                conn,
                journal,
                who,
                id,
                "",
                Escalate::new(team, reason.into(), Some(date)),
            )
            .map(|_| ()),
            MediationCommand::Apply(court, date) => {
                pipeline::transition::<Dispute, _>(conn, journal, who, id, "", Apply::new(court, Some(date)))
                    .map(|_| ())
            }
        }
    };
    let consent = |party: Uuid, date: NaiveDate| {
        MediationCommand::ForParty(
            party,
            MediationRule::Consent { party_id: party, consents: true, date: Some(date), note: String::new() },
        )
    };
    let mediate = |rule: MediationRule| MediationCommand::Plain(DisputeAction::Mediate, rule);
    let neighbours = |a: &str, pa: &str, b: &str, pb: &str| -> Result<Vec<NewParty>, AppError> {
        Ok(vec![contact(a, false, pa)?, contact(b, false, pb)?])
    };

    // AWAITING_CONSENT: found by this month's round; one party has agreed.
    let (id, parties) = record(
        conn,
        journal,
        &hd,
        houde,
        "360702001001",
        DisputeCategory::Neighbourhood,
        "厚德路12号楼上下邻居因空调外机滴水发生争执",
        neighbours("邱某", "13807970201", "彭某", "13807970202")?,
        DisputeSource::Screening,
        days_ago(6),
    )?;
    act(conn, journal, &hd, id, MediationCommand::Assign(houde.members[1]))?;
    act(conn, journal, &hd, id, consent(parties[0], days_ago(5)))?;

    // ACCEPTED: the round's second dispute; both agreed.
    let (id, parties) = record(
        conn,
        journal,
        &hd,
        houde,
        "360702001001",
        DisputeCategory::Property,
        "小区住户与物业公司因停车位收费标准发生纠纷",
        vec![contact("曾某", false, "13807970203")?, contact("厚德物业管理有限公司", true, "13807970204")?],
        DisputeSource::Screening,
        days_ago(6),
    )?;
    act(conn, journal, &hd, id, consent(parties[0], days_ago(4)))?;
    act(conn, journal, &hd, id, consent(parties[1], days_ago(3)))?;
    act(conn, journal, &hd, id, MediationCommand::Assign(houde.members[0]))?;

    // IN_MEDIATION at the township, escalated from the community (村 → 镇).
    let (id, parties) = record(
        conn,
        journal,
        &hd,
        houde,
        "360702001001",
        DisputeCategory::Land,
        "两户村民因宅基地界址发生争议，一方砌墙占用公共通道",
        neighbours("丁某", "13807970205", "谢某", "13807970206")?,
        DisputeSource::Application,
        days_ago(30),
    )?;
    act(conn, journal, &hd, id, MediationCommand::Assign(houde.members[0]))?;
    act(conn, journal, &hd, id, consent(parties[0], days_ago(29)))?;
    act(conn, journal, &hd, id, consent(parties[1], days_ago(29)))?;
    act(conn, journal, &hd, id, mediate(session_on(days_ago(25), "厚德路社区调解室", "双方对界址各执一词")))?;
    act(
        conn,
        journal,
        &hd,
        id,
        MediationCommand::Escalate(jiefang.row.id, "涉及规划测量，社区调解未果，报请街道调解", days_ago(20)),
    )?;
    act(conn, journal, &jf, id, MediationCommand::Assign(jiefang.members[0]))?;
    act(conn, journal, &jf, id, mediate(session_on(days_ago(12), "解放街道人民调解委员会", "邀请规划所现场测量")))?;

    // SETTLED, its term not yet due, a court's confirmation pending; the
    // petitioner 刘群众 is a party with his account.
    let (id, parties) = record(
        conn,
        journal,
        &zg,
        zg_red,
        "360702001001",
        DisputeCategory::Property,
        "住户与物业公司因公共管道漏水致房屋受损的赔偿纠纷",
        vec![
            NewParty::Account { account_id: liu.account_id, organization: false },
            contact("厚德物业管理有限公司", true, "13807970204")?,
        ],
        DisputeSource::Application,
        days_ago(20),
    )?;
    act(conn, journal, &zg, id, MediationCommand::Assign(zg_red.members[0]))?;
    act(conn, journal, &liu, id, consent(parties[0], days_ago(19)))?;
    act(conn, journal, &zg, id, consent(parties[1], days_ago(18)))?;
    act(conn, journal, &zg, id, mediate(session_on(days_ago(15), "章贡区矛盾纠纷调处中心", "释法明理，双方达成一致")))?;
    act(conn, journal, &zg, id, mediate(agreement_on(AgreementForm::Written, parties[1], days_ago(14), days_on(20))))?;
    act(conn, journal, &zg, id, MediationCommand::Apply(court_id, days_ago(10)))?;

    // PERFORMED, and confirmed by the court.
    let (id, parties) = record(
        conn,
        journal,
        &zg,
        zg_red,
        "360702001002",
        DisputeCategory::Damages,
        "装修施工损坏邻居墙面的赔偿纠纷",
        neighbours("叶某", "13807970207", "潘某", "13807970208")?,
        DisputeSource::Police,
        days_ago(60),
    )?;
    act(conn, journal, &zg, id, MediationCommand::Assign(zg_red.members[1]))?;
    act(conn, journal, &zg, id, consent(parties[0], days_ago(59)))?;
    act(conn, journal, &zg, id, consent(parties[1], days_ago(58)))?;
    act(conn, journal, &zg, id, mediate(session_on(days_ago(55), "章贡路社区调解室", "现场查看受损墙面")))?;
    act(conn, journal, &zg, id, mediate(agreement_on(AgreementForm::Written, parties[1], days_ago(50), days_ago(40))))?;
    act(conn, journal, &zg, id, MediationCommand::Apply(court_id, days_ago(45)))?;
    act(
        conn,
        journal,
        &court,
        id,
        MediationCommand::Plain(
            DisputeAction::AnswerConfirmation,
            MediationRule::AnswerConfirmation {
                decision: ConfirmationState::Confirmed,
                reason: String::new(),
                court_case_number: format!("（{}）赣07民特12号", days_ago(45).year()),
                date: Some(days_ago(42)),
            },
        ),
    )?;
    act(
        conn,
        journal,
        &zg,
        id,
        mediate(MediationRule::RecordPerformance {
            term_index: 0,
            performance: TermPerformance::Performed,
            date: Some(days_ago(40)),
            note: "已修复墙面并支付赔偿".into(),
        }),
    )?;

    // BREACHED: an oral agreement whose payment never came.
    let (id, parties) = record(
        conn,
        journal,
        &yd,
        yudu,
        "360731100001",
        DisputeCategory::Labour,
        "装修工人与包工头之间的欠薪纠纷",
        neighbours("朱某", "13807970209", "黎某", "13807970210")?,
        DisputeSource::Application,
        days_ago(50),
    )?;
    act(conn, journal, &yd, id, MediationCommand::Assign(yudu.members[1]))?;
    act(conn, journal, &yd, id, consent(parties[0], days_ago(49)))?;
    act(conn, journal, &yd, id, consent(parties[1], days_ago(49)))?;
    act(conn, journal, &yd, id, mediate(session_on(days_ago(45), "于都县矛盾纠纷调处中心", "核对工作天数")))?;
    act(conn, journal, &yd, id, mediate(agreement_on(AgreementForm::Oral, parties[1], days_ago(44), days_ago(30))))?;
    act(
        conn,
        journal,
        &yd,
        id,
        mediate(MediationRule::RecordPerformance {
            term_index: 0,
            performance: TermPerformance::Breached,
            date: Some(days_ago(28)),
            note: "逾期未支付，已告知可向法院起诉".into(),
        }),
    )?;

    // FAILED, with the routes the parties were told of (Art.26).
    let (id, parties) = record(
        conn,
        journal,
        &jf,
        jiefang,
        "360702001002",
        DisputeCategory::Contract,
        "商铺租赁合同提前解约的押金返还纠纷",
        neighbours("钟某", "13807970211", "汪某", "13807970212")?,
        DisputeSource::Application,
        days_ago(40),
    )?;
    act(conn, journal, &jf, id, MediationCommand::Assign(jiefang.members[1]))?;
    act(conn, journal, &jf, id, consent(parties[0], days_ago(39)))?;
    act(conn, journal, &jf, id, consent(parties[1], days_ago(39)))?;
    act(conn, journal, &jf, id, mediate(session_on(days_ago(35), "解放街道人民调解委员会", "双方对违约责任分歧较大")))?;
    act(
        conn,
        journal,
        &jf,
        id,
        mediate(MediationRule::Fail {
            reason: FailureReason::NoAgreement,
            note: "双方分歧较大，无法达成协议".into(),
            advised_routes: vec![AdvisedRoute::Arbitration, AdvisedRoute::Judicial],
            date: Some(days_ago(33)),
        }),
    )?;

    // REFUSED: a party declined mediation (Art.17).
    let (id, parties) = record(
        conn,
        journal,
        &hd,
        houde,
        "360702001001",
        DisputeCategory::Family,
        "兄弟二人因父母赡养费用分担发生争执",
        neighbours("袁某", "13807970213", "袁某某", "13807970214")?,
        DisputeSource::Application,
        days_ago(15),
    )?;
    act(conn, journal, &hd, id, consent(parties[0], days_ago(14)))?;
    act(
        conn,
        journal,
        &hd,
        id,
        MediationCommand::ForParty(
            parties[1],
            MediationRule::Consent {
                party_id: parties[1],
                consents: false,
                date: Some(days_ago(13)),
                note: "不同意调解，准备起诉".into(),
            },
        ),
    )?;

    // Referred from a demo case: the registered noise complaint goes to
    // the township committee before it is accepted (the clerk refers);
    // the petitioner and the builder both agreed.
    let zg_clerk = person(people, "zg.clerk")?.clone();
    let others = vec![contact("章贡建设工程有限公司", true, "13807970215")?];
    let row = mediation_draft::refer_case(
        conn,
        journal,
        pii,
        &zg_clerk,
        cases.registered,
        &counted(jiefang),
        others,
        String::new(),
        DisputeCategory::Neighbourhood,
        "",
    )?;
    let id = row.id;
    let parties: Vec<Uuid> = row.lifecycle.0.parties.iter().map(|p| p.id).collect();
    if let [petitioner, builder] = parties[..] {
        act(conn, journal, &huang, id, consent(petitioner, shanghai_today()))?;
        act(conn, journal, &jf, id, consent(builder, shanghai_today()))?;
        act(conn, journal, &jf, id, MediationCommand::Assign(jiefang.members[0]))?;
    }
    Ok(())
}

/// A step of a demo dispute.
enum MediationCommand {
    Plain(DisputeAction, MediationRule),
    ForParty(Uuid, MediationRule),
    Assign(Uuid),
    Escalate(Uuid, &'static str, NaiveDate),
    Apply(Uuid, NaiveDate),
}

/// Loads the demo data through the application's database handle.
pub async fn run(state: &std::sync::Arc<crate::state::AppState>) -> Result<SeedReport, AppError> {
    let state = state.clone();
    state.db.clone().run(move |conn| load(conn, &state.pii, &state.ratings)).await
}

/// Tells the operator what they can sign in with.
pub fn print(report: &SeedReport) {
    let what = if report.created { "Loaded" } else { "Already present:" };
    eprintln!("\n  {what} the demo directory (赣州市: 章贡区, 于都县).");
    eprintln!("  Staff logins: {}", report.staff_logins.join(", "));
    eprintln!("  Citizen logins (phone): {}", report.citizen_phones.join(", "));
    let heads: Vec<String> = report.mediation_heads.iter().map(|(team, login)| format!("{login} ({team})")).collect();
    eprintln!("  Mediation team heads (人民调解; disputes in every state): {}", heads.join(", "));
    eprintln!("  Court partner (司法确认, ExchangeClientCredentials): client id {DEMO_COURT_CLIENT_ID}");
    eprintln!(
        "  Legal aid (赣州市法律援助中心; applications in every state): reviewer la.reviewer, lawyer city.lawyer, \
         justice bureau city.justice, partner client id {}",
        crate::legal_aid::seed::DEMO_LEGAL_AID_CLIENT_ID
    );
    eprintln!(
        "  Court referrals (诉访分离, CourtService): {DEMO_COURT_CLIENT_ID} and {}",
        crate::courts::seed::DEMO_YD_COURT_CLIENT_ID
    );
    eprintln!("  Demo password for all of them: {DEMO_PASSWORD}\n");
}
