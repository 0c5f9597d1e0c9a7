//! A small world for legal-aid tests, on top of the [`CaseWorld`]: the
//! city's justice bureau (赣州市司法局) and its legal-aid centre, a second
//! centre without a bureau above it (in county B), the centre's reviewer,
//! clerk, two lawyers and a partner service account, the other centre's
//! partner, and the bureau's staff. The applicant is the case world's
//! owner (a citizen with cases in county A).

use anyhow::{Result, bail};
use petition_sdk::{Client, LegalAidClient, pb};

use crate::builders::{organization, signed_in_staff};
use crate::server::TestServer;
use crate::world::CaseWorld;

pub struct LegalAidWorld {
    pub cw: CaseWorld,
    /// 赣州市司法局 (JUSTICE_BUREAU, the city).
    pub justice: pb::Organization,
    /// 赣州市法律援助中心, under the justice bureau.
    pub centre: pb::Organization,
    /// 于都县法律援助中心, with no bureau above it in the directory.
    pub orphan_centre: pb::Organization,
    /// A Handler of the centre: reviews and decides.
    pub reviewer: Client,
    /// A Clerk of the centre: reads only.
    pub centre_clerk: Client,
    /// Lawyers (ROLE_LAWYER) of the centre.
    pub lawyer: Client,
    pub lawyer_id: String,
    pub other_lawyer: Client,
    /// The centre's partner service account (cases.read + cases.write).
    pub partner: Client,
    /// The other centre's partner service account (cases.read + cases.write).
    pub other_partner: Client,
    /// A Handler of the other centre.
    pub other_reviewer: Client,
    /// A UnitLead of the justice bureau: decides objections.
    pub bureau: Client,
    /// The owner's display name (the applicant's name).
    pub owner_name: String,
}

async fn partner_of(admin: &Client, organization: &pb::Organization) -> Result<Client> {
    let service = admin
        .identity()
        .create_service_account(pb::CreateServiceAccountRequest {
            display_name: format!("{} 对接", organization.name),
            organization_id: organization.id.clone(),
            scopes: vec![pb::Scope::CasesRead as i32, pb::Scope::CasesWrite as i32],
        })
        .await?;
    let partner = admin.new_session();
    partner.login_with_client_credentials(&service.client_id, &service.client_secret, []).await?;
    Ok(partner)
}

/// A stage of a fresh application ([`LegalAidWorld::application_in`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    UnderReview,
    AwaitingMaterials,
    /// Granted by decision, no conflict.
    Granted,
    /// Granted first (Art.44), papers outstanding.
    GrantedFirst,
    Assigned,
    Closed,
    Refused,
    Terminated,
    ObjectionPending,
    Withdrawn,
}

impl LegalAidWorld {
    pub async fn create(server: &TestServer) -> Result<LegalAidWorld> {
        use pb::OrganizationKind as Kind;
        use pb::Role;
        let cw = CaseWorld::create(server).await?;
        let admin = &cw.admin;
        let justice = organization(admin, "赣州市司法局", Kind::JusticeBureau, &cw.dir.city, None).await?;
        let centre =
            organization(admin, "赣州市法律援助中心", Kind::LegalAidCentre, &cw.dir.city, Some(&justice)).await?;
        let orphan_centre =
            organization(admin, "于都县法律援助中心", Kind::LegalAidCentre, &cw.dir.county_b, None).await?;
        let (reviewer, _) = signed_in_staff(admin, "la.reviewer", &centre, &[Role::Handler]).await?;
        let (centre_clerk, _) = signed_in_staff(admin, "la.clerk", &centre, &[Role::Clerk]).await?;
        let (lawyer, lawyer_account) = signed_in_staff(admin, "la.lawyer", &centre, &[Role::Lawyer]).await?;
        let (other_lawyer, _) = signed_in_staff(admin, "la.lawyer2", &centre, &[Role::Lawyer]).await?;
        let (other_reviewer, _) = signed_in_staff(admin, "yd.la.reviewer", &orphan_centre, &[Role::Handler]).await?;
        let (bureau, _) = signed_in_staff(admin, "city.justice", &justice, &[Role::UnitLead]).await?;
        let partner = partner_of(admin, &centre).await?;
        let other_partner = partner_of(admin, &orphan_centre).await?;
        let owner_name = cw.owner.identity().get_me().await?.display_name;
        Ok(LegalAidWorld {
            cw,
            justice,
            centre,
            orphan_centre,
            reviewer,
            centre_clerk,
            lawyer,
            lawyer_id: lawyer_account.id,
            other_lawyer,
            partner,
            other_partner,
            other_reviewer,
            bureau,
            owner_name,
        })
    }

    /// An application to `centre` against `adverse`, without a case.
    pub fn draft(centre: &pb::Organization, adverse: &[&str]) -> pb::CreateLegalAidApplicationRequest {
        pb::CreateLegalAidApplicationRequest {
            centre_organization_id: centre.id.clone(),
            matter_type: pb::LegalAidMatterType::Labour.into(),
            matter_summary: "工地欠薪三个月，请求支付劳动报酬".into(),
            adverse_parties: adverse.iter().map(|a| (*a).to_owned()).collect(),
            hardship: Some(pb::LegalAidHardship {
                statement: "家庭无其他收入来源".into(),
                verification: pb::HardshipVerification::PersonalCommitment.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub fn owner(&self) -> LegalAidClient {
        self.cw.owner.legal_aid()
    }

    /// The owner applies to the city centre against `adverse`.
    pub async fn apply(&self, adverse: &[&str]) -> Result<pb::LegalAidApplication> {
        Ok(self.owner().create_legal_aid_application(Self::draft(&self.centre, adverse)).await?)
    }

    /// A fresh application of the owner (against a fresh company) brought
    /// to `stage` by the reviewer, the owner, the lawyer and the bureau.
    pub async fn application_in(&self, stage: Stage, tag: &str) -> Result<pb::LegalAidApplication> {
        use Stage::*;
        let company = format!("{tag}建筑有限公司");
        let app = self.apply(&[&company]).await?;
        let r = self.reviewer.legal_aid();
        let id = app.id.clone();
        let app = match stage {
            UnderReview => return Ok(app),
            AwaitingMaterials => {
                return Ok(r
                    .request_materials(pb::RequestMaterialsRequest {
                        application_id: id,
                        items: vec!["劳动合同或工资条".into()],
                        due_date: crate::mediation_world::days_from_now(10),
                        ..Default::default()
                    })
                    .await?);
            }
            Withdrawn => {
                return Ok(self
                    .owner()
                    .withdraw_application(pb::WithdrawApplicationRequest {
                        application_id: id,
                        reason: pb::LegalAidWithdrawalReason::ByApplicant.into(),
                        ..Default::default()
                    })
                    .await?);
            }
            Refused | ObjectionPending => {
                let app = r
                    .decide_application(pb::DecideApplicationRequest {
                        application_id: id.clone(),
                        decision: pb::LegalAidDecision::Refuse.into(),
                        reason: "不符合经济困难标准".into(),
                        ..Default::default()
                    })
                    .await?;
                if stage == Refused {
                    return Ok(app);
                }
                return Ok(self
                    .owner()
                    .file_objection(pb::FileObjectionRequest {
                        application_id: id,
                        reason: "家庭确有困难，有低保证明".into(),
                        ..Default::default()
                    })
                    .await?);
            }
            GrantedFirst => {
                return Ok(r
                    .grant_aid_first(pb::GrantAidFirstRequest {
                        application_id: id,
                        ground: pb::AidFirstGround::LimitationEndingWithin7Days.into(),
                        note: "仲裁时效五日后届满".into(),
                        ..Default::default()
                    })
                    .await?);
            }
            Granted | Assigned | Closed | Terminated => {
                r.decide_application(pb::DecideApplicationRequest {
                    application_id: id.clone(),
                    decision: pb::LegalAidDecision::Grant.into(),
                    ..Default::default()
                })
                .await?
            }
        };
        if !app.conflicts.is_empty() {
            bail!("a fresh company conflicts: {:?}", app.conflicts);
        }
        if stage == Granted {
            return Ok(app);
        }
        let app = r.assign_lawyer(self.assign(&id)).await?;
        match stage {
            Assigned => Ok(app),
            Closed => Ok(self.lawyer.legal_aid().submit_closing_report(closing_report(&id)).await?),
            _ => Ok(r
                .terminate_aid(pb::TerminateAidRequest {
                    application_id: id,
                    reason: pb::LegalAidTerminationReason::OwnLawyerRetained.into(),
                    note: "受援人自行委托律师".into(),
                    ..Default::default()
                })
                .await?),
        }
    }

    /// Assigning the centre's lawyer (by account) to `id`.
    pub fn assign(&self, id: &str) -> pb::AssignLawyerRequest {
        pb::AssignLawyerRequest {
            application_id: id.into(),
            lawyer_account_id: self.lawyer_id.clone(),
            law_firm: "赣州市法律援助中心".into(),
            licence_number: "13607201810123456".into(),
            kind: pb::LegalAidLawyerKind::PublicLawyer.into(),
            ..Default::default()
        }
    }
}

/// A closing report for `id` (Art.50).
pub fn closing_report(id: &str) -> pb::SubmitClosingReportRequest {
    pb::SubmitClosingReportRequest {
        application_id: id.into(),
        report: Some(pb::ClosingReport {
            result_summary: "经劳动仲裁调解，公司支付拖欠工资".into(),
            documents: vec!["仲裁调解书".into(), "代理词".into()],
            close_date: String::new(),
        }),
        ..Default::default()
    }
}

pub fn state(app: &pb::LegalAidApplication) -> pb::LegalAidState {
    app.state()
}
