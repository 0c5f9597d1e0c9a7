//! Court linkage's part of `seed-demo`: 于都县人民法院's partner account
//! (`svc-yd-court`) beside 赣州市中级人民法院's (`svc-city-court`), and
//! referrals of demo cases to both courts in every state, made through the
//! same pipeline as the RPCs.

use std::collections::HashMap;

use chrono::{Days, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use super::aggregate::{self, Referral, ReferralDraft};
use super::commands::Act;
use super::domain::{CourtOutcome, HearingKind, PartyRole, ReturnReason};
use super::rules::{Command as Rule, Party};
use crate::auth::policy::CourtReferralAction;
use crate::auth::{AccountKind, Principal, Role, Scope};
use crate::cases::domain::{CaseKind, Channel};
use crate::cases::draft::Draft;
use crate::cases::filing::{self, Filing};
use crate::cases::limits::DailyLimit;
use crate::error::AppError;
use crate::event_log::Journal;
use crate::identity::model::AccountRow;
use crate::identity::store as identity_store;
use crate::pipeline;
use crate::time::shanghai_today;

/// 于都县人民法院's partner service account (client credentials).
pub const DEMO_YD_COURT_CLIENT_ID: &str = "svc-yd-court";

fn person<'a>(people: &'a HashMap<&str, Principal>, key: &str) -> Result<&'a Principal, AppError> {
    people.get(key).ok_or_else(|| AppError::internal(format!("demo person {key}")))
}

/// Where a demo referral is taken.
#[derive(Clone, Copy)]
enum Stage {
    Referred,
    Acknowledged,
    Filed,
    Concluded(CourtOutcome),
    Returned,
    Withdrawn,
}

/// Seeds the second court's partner and the referrals. `people` holds the
/// demo staff (by login) and `svc-city-court`; `org_ids` the organizations.
pub fn seed(
    conn: &mut PgConnection,
    journal: &mut Journal,
    people: &HashMap<&str, Principal>,
    org_ids: &HashMap<&str, Uuid>,
    password_hash: &str,
) -> Result<(), AppError> {
    let org = |key: &str| org_ids.get(key).copied().ok_or_else(|| AppError::internal(format!("demo org {key}")));
    let (city_court, yd_court) = (org("city-court")?, org("yd-court")?);
    let yd_partner = Principal {
        account_id: Uuid::now_v7(),
        kind: AccountKind::Service,
        roles: vec![Role::Partner],
        organization_id: Some(yd_court),
        jurisdiction: None,
        scopes: vec![Scope::CasesRead, Scope::CasesWrite],
    };
    identity_store::insert_account(
        conn,
        &AccountRow::new(
            yd_partner.account_id,
            AccountKind::Service,
            "于都县人民法院（诉访对接）".into(),
            password_hash.to_owned(),
            &[Role::Partner],
            Utc::now(),
        )
        .with_login_name(DEMO_YD_COURT_CLIENT_ID)
        .with_organization(Some(yd_court))
        .with_scopes(&yd_partner.scopes),
    )?;
    let city_partner = person(people, crate::seed::DEMO_COURT_CLIENT_ID)?.clone();
    let liu = person(people, "13807970001")?.clone();
    let huang = person(people, "13807970002")?.clone();
    let zg_clerk = person(people, "zg.clerk")?.clone();
    let yd_clerk = person(people, "yd.clerk")?.clone();
    let kinds = crate::directory::kinds::OrganizationKinds::default();

    let yd = [
        ("拖欠农民工工资（贡江镇工地）", Stage::Referred),
        ("劳务报酬纠纷（长征路社区装修队）", Stage::Acknowledged),
        ("工伤赔偿纠纷（铁山垅矿区）", Stage::Filed),
        ("劳动合同解除补偿纠纷", Stage::Concluded(CourtOutcome::Judgment)),
    ];
    let city = [
        ("房屋买卖合同纠纷（厚德路小区）", Stage::Concluded(CourtOutcome::CourtMediation)),
        ("物业服务合同纠纷（和平村安置房）", Stage::Filed),
        ("相邻关系纠纷（新民村宅基地）", Stage::Returned),
        ("民间借贷纠纷（已自行和解）", Stage::Withdrawn),
    ];
    let mut serial = 300;
    for (courts, court_id, clerk, petitioner, partner, region, category, code) in [
        (&yd[..], yd_court, &yd_clerk, &huang, &yd_partner, "360731100001", "labor.wages", "赣0731"),
        (&city[..], city_court, &zg_clerk, &liu, &city_partner, "360702001002", "other", "赣07"),
    ] {
        for (title, stage) in courts {
            serial += 1;
            let draft = Draft {
                kind: CaseKind::Claim,
                category_code: category.into(),
                region_code: region.into(),
                title: (*title).into(),
                content: format!("{title}，多次协商未果，请求依法处理。"),
                requests: "请求依法支持合法权益".into(),
                facts_and_reasons: String::new(),
                attachments: vec![],
                respondent_organization_id: None,
            };
            let numbered = filing::take_number(conn, clerk, Channel::Visit, region)?;
            let filing = Filing {
                principal: clerk.clone(),
                draft,
                channel: Channel::Visit,
                petitioner_id: petitioner.account_id,
                group_visit: None,
                daily_limit: DailyLimit::NONE,
                similarity: None,
            };
            let case_id = filing::file(conn, journal, filing, numbered, &kinds)?.row.id;
            let referral = aggregate::refer_case(
                conn,
                journal,
                clerk,
                case_id,
                ReferralDraft {
                    court_id,
                    claim_summary: format!("{title}：请求判令对方履行义务并赔偿损失"),
                    parties: vec![
                        Party { name: "信访人".into(), role: PartyRole::Plaintiff },
                        Party { name: "被申请单位".into(), role: PartyRole::Defendant },
                    ],
                    refer_date: None,
                },
                "",
            )?;
            let number = format!("（{}）{code}民初{serial}号", chrono::Datelike::year(&shanghai_today()));
            progress(conn, journal, clerk, partner, referral.row.id, *stage, &number)?;
        }
    }
    Ok(())
}

/// Takes referral `id` to `stage`: the court's acts by `partner`, a
/// withdrawal by `clerk`.
fn progress(
    conn: &mut PgConnection,
    journal: &mut Journal,
    clerk: &Principal,
    partner: &Principal,
    id: Uuid,
    stage: Stage,
    number: &str,
) -> Result<(), AppError> {
    let mut act = |who: &Principal, action: CourtReferralAction, rule: Rule| -> Result<(), AppError> {
        pipeline::transition::<Referral, Act>(conn, journal, who, id, "", Act::new(action, rule)).map(|_| ())
    };
    let court = CourtReferralAction::ActAsCourt;
    if let Stage::Withdrawn = stage {
        return act(
            clerk,
            CourtReferralAction::Withdraw,
            Rule::Withdraw { reason: "当事人已自行和解".into(), date: None },
        );
    }
    if let Stage::Referred = stage {
        return Ok(());
    }
    act(partner, court, Rule::Acknowledge { date: None, note: "已收到，进入立案审查".into() })?;
    match stage {
        Stage::Acknowledged | Stage::Referred | Stage::Withdrawn => return Ok(()),
        Stage::Returned => {
            let rule = Rule::Return {
                reason: ReturnReason::NotThisCourt,
                explanation: "应由基层人民法院管辖".into(),
                date: None,
            };
            return act(partner, court, rule);
        }
        Stage::Filed | Stage::Concluded(_) => {}
    }
    let file =
        Rule::File { court_case_number: number.into(), date: None, judge: "审判员".into(), number_in_use: false };
    act(partner, court, file)?;
    let hearing_day = shanghai_today().checked_add_days(Days::new(14)).unwrap_or_else(shanghai_today);
    let hearing = Rule::ScheduleHearing {
        date: hearing_day,
        place: "第一审判庭".into(),
        kind: HearingKind::Trial,
        postpones: None,
    };
    act(partner, court, hearing)?;
    if let Stage::Concluded(outcome) = stage {
        let rule = Rule::Conclude {
            outcome,
            date: None,
            summary: "案件审结".into(),
            document_number: if outcome.has_document() { number.into() } else { String::new() },
        };
        act(partner, court, rule)?;
    }
    Ok(())
}
