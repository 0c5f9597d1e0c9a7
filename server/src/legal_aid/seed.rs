//! The demo's legal aid (`seed-demo`): the city centre's partner service
//! account and applications in every state, each driven through the
//! command pipeline with the demo's people as actors (so the policy holds
//! for each step).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use super::commands::Transition;
use super::domain::{
    AidFirstGround, DayCounting, HardshipExemption, HardshipVerification, LawyerKind, MatterType, ObjectionOutcome,
    TerminationReason, WithdrawalReason,
};
use super::rules::{Command as Rule, Hardship, LawyerDraft};
use super::service::{Draft, record, run};
use crate::auth::policy::LegalAidAction;
use crate::auth::{AccountKind, Principal, Role, Scope};
use crate::error::AppError;
use crate::event_log::Journal;
use crate::identity::model::AccountRow;
use crate::identity::store as identity_store;
use crate::pii::Pii;
use crate::time::shanghai_today;

/// The legal-aid centre's partner account (client credentials).
pub const DEMO_LEGAL_AID_CLIENT_ID: &str = "svc-legal-aid";

fn person<'a>(people: &'a HashMap<&str, Principal>, key: &str) -> Result<&'a Principal, AppError> {
    people.get(key).ok_or_else(|| AppError::internal(format!("demo person {key}")))
}

/// The centre's partner service account (cases.read + cases.write).
pub fn partner(
    conn: &mut PgConnection,
    centre: Uuid,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(Uuid, Vec<Scope>), AppError> {
    let id = Uuid::now_v7();
    let scopes = vec![Scope::CasesRead, Scope::CasesWrite];
    identity_store::insert_account(
        conn,
        &AccountRow::new(
            id,
            AccountKind::Service,
            "赣州市法律援助中心（系统对接）".into(),
            password_hash.to_owned(),
            &[Role::Partner],
            now,
        )
        .with_login_name(DEMO_LEGAL_AID_CLIENT_ID)
        .with_organization(Some(centre))
        .with_scopes(&scopes),
    )?;
    Ok((id, scopes))
}

/// Applications of the two demo citizens to 赣州市法律援助中心, one in every
/// state: under review, awaiting materials, granted (with a conflict hit
/// to clear), granted first, assigned to 钱律师, closed, refused, refused
/// and objected to, terminated, withdrawn.
pub fn demo(
    conn: &mut PgConnection,
    journal: &mut Journal,
    pii: &Pii,
    people: &HashMap<&str, Principal>,
    centre: Uuid,
) -> Result<(), AppError> {
    let liu = person(people, "13807970001")?.clone();
    let huang = person(people, "13807970002")?.clone();
    let reviewer = person(people, "la.reviewer")?.clone();
    let lawyer = person(people, "city.lawyer")?.clone();
    let bureau = person(people, "city.justice")?.clone();
    let counting = DayCounting::Workdays;
    let today = shanghai_today();
    let apply = |conn: &mut PgConnection,
                 journal: &mut Journal,
                 who: &Principal,
                 matter_type: MatterType,
                 summary: &str,
                 adverse: &[&str]|
     -> Result<Uuid, AppError> {
        let draft = Draft {
            centre,
            case_id: None,
            walk_in_name: String::new(),
            phone: None,
            matter_type,
            matter_summary: summary.into(),
            adverse_parties: adverse.iter().map(|a| (*a).to_owned()).collect(),
            hardship: Hardship {
                statement: "家庭无固定收入，靠打零工维持生活".into(),
                verification: Some(HardshipVerification::PersonalCommitment),
                ..Hardship::default()
            },
            receive_date: Some(today),
        };
        Ok(record(conn, journal, pii, who, draft, counting)?.id)
    };
    let step = |conn: &mut PgConnection, journal: &mut Journal, who: &Principal, id, action, rule| {
        run(conn, journal, who, id, Transition::new(action, rule, counting)).map(|_| ())
    };
    let grant = || Rule::Decide { grant: true, reason: String::new(), date: None, conflicts: vec![] };
    let refuse = || Rule::Decide {
        grant: false,
        reason: "申请人家庭收入高于本市经济困难标准".into(),
        date: None,
        conflicts: vec![],
    };
    let assign = || Rule::AssignLawyer {
        lawyer: LawyerDraft {
            account_id: Some(lawyer.account_id),
            name: String::new(),
            law_firm: "赣州市法律援助中心".into(),
            licence_number: "13607201810123456".into(),
            kind: LawyerKind::PublicLawyer,
        },
        date: None,
    };
    use LegalAidAction::{ActAsApplicant, DecideObjection, Report, Review};

    // Under review.
    apply(
        conn,
        journal,
        &liu,
        MatterType::Labour,
        "在赣州某建筑工地务工，被拖欠工资三个月",
        &["赣州某建筑劳务有限公司"],
    )?;
    // Awaiting materials.
    let id = apply(conn, journal, &huang, MatterType::Maintenance, "请求子女支付赡养费", &["黄某甲", "黄某乙"])?;
    step(
        conn,
        journal,
        &reviewer,
        id,
        Review,
        Rule::RequestMaterials {
            items: vec!["户口簿".into(), "村委会出具的家庭情况证明".into()],
            due_date: today + chrono::Days::new(15),
            date: None,
        },
    )?;
    // Assigned to 钱律师, then closed.
    let closed = apply(conn, journal, &liu, MatterType::PersonalInjury, "工伤事故人身损害赔偿", &["章贡区某物流公司"])?;
    step(conn, journal, &reviewer, closed, Review, grant())?;
    step(conn, journal, &reviewer, closed, Review, assign())?;
    step(
        conn,
        journal,
        &lawyer,
        closed,
        Report,
        Rule::SubmitClosingReport {
            result_summary: "经劳动仲裁调解，公司一次性赔偿八万元".into(),
            documents: vec!["仲裁调解书".into(), "代理意见".into()],
            date: None,
        },
    )?;
    let assigned = apply(conn, journal, &huang, MatterType::Labour, "请求确认劳动关系", &["于都县某纺织厂"])?;
    step(conn, journal, &reviewer, assigned, Review, grant())?;
    step(conn, journal, &reviewer, assigned, Review, assign())?;
    // Granted first (Art.44), papers outstanding.
    let first = apply(conn, journal, &liu, MatterType::Labour, "仲裁时效将满的欠薪纠纷", &["赣州某餐饮管理有限公司"])?;
    step(
        conn,
        journal,
        &reviewer,
        first,
        Review,
        Rule::GrantAidFirst {
            ground: AidFirstGround::LimitationEndingWithin7Days,
            note: "仲裁时效五日后届满".into(),
            date: None,
            conflicts: vec![],
        },
    )?;
    // Refused; refused and objected to.
    let refused = apply(conn, journal, &liu, MatterType::Other, "合同纠纷", &["某电器商行"])?;
    step(conn, journal, &reviewer, refused, Review, refuse())?;
    let objected =
        apply(conn, journal, &huang, MatterType::SocialInsuranceOrAssistance, "请求发放低保金", &["某镇人民政府"])?;
    step(conn, journal, &reviewer, objected, Review, refuse())?;
    step(
        conn,
        journal,
        &huang,
        objected,
        ActAsApplicant,
        Rule::FileObjection { reason: "本人系低保对象，有低保证".into(), date: None, bureau_id: None },
    )?;
    // Terminated; another whose termination the bureau ordered corrected.
    let terminated = apply(conn, journal, &liu, MatterType::Labour, "加班费纠纷", &["某电子厂"])?;
    step(conn, journal, &reviewer, terminated, Review, grant())?;
    step(conn, journal, &reviewer, terminated, Review, assign())?;
    step(
        conn,
        journal,
        &reviewer,
        terminated,
        Review,
        Rule::Terminate {
            reason: TerminationReason::OwnLawyerRetained, note: "受援人自行委托律师".into(), date: None
        },
    )?;
    let corrected = apply(conn, journal, &huang, MatterType::Pension, "请求发给抚恤金", &["某县退役军人事务局"])?;
    step(conn, journal, &reviewer, corrected, Review, grant())?;
    step(conn, journal, &reviewer, corrected, Review, assign())?;
    step(
        conn,
        journal,
        &reviewer,
        corrected,
        Review,
        Rule::Terminate { reason: TerminationReason::NoLongerEligible, note: "经济状况变化".into(), date: None },
    )?;
    step(
        conn,
        journal,
        &huang,
        corrected,
        ActAsApplicant,
        Rule::FileObjection { reason: "经济状况并未变化".into(), date: None, bureau_id: None },
    )?;
    step(
        conn,
        journal,
        &bureau,
        corrected,
        DecideObjection,
        Rule::DecideObjection {
            outcome: ObjectionOutcome::CorrectionOrdered,
            reason: "终止理由不成立，责令改正".into(),
            date: None,
        },
    )?;
    // Withdrawn by the applicant.
    let withdrawn = apply(conn, journal, &liu, MatterType::Other, "邻里纠纷", &["邻居某某"])?;
    step(
        conn,
        journal,
        &liu,
        withdrawn,
        ActAsApplicant,
        Rule::Withdraw { reason: WithdrawalReason::ByApplicant, note: "已自行和解".into(), date: None },
    )?;
    // Granted, with a conflict hit to clear: 刘群众 is the other side of
    // this matter, and the applicant of matters above (last: it makes 刘群众's later grants hit too).
    let granted = apply(conn, journal, &huang, MatterType::Other, "房屋租赁押金纠纷", &["刘群众"])?;
    step(conn, journal, &reviewer, granted, Review, grant())?;
    // An Art.32 applicant (domestic violence): no hardship test.
    let draft = Draft {
        centre,
        case_id: None,
        walk_in_name: String::new(),
        phone: None,
        matter_type: MatterType::Other,
        matter_summary: "遭受家庭暴力，请求人身安全保护令".into(),
        adverse_parties: vec!["某某（配偶）".into()],
        hardship: Hardship { exemptions: vec![HardshipExemption::DomesticViolenceAbuseVictim], ..Hardship::default() },
        receive_date: Some(today),
    };
    record(conn, journal, pii, &huang, draft, counting)?;
    Ok(())
}
