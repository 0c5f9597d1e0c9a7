//! A small world for court linkage tests (信访+司法), on top of the
//! [`CaseWorld`]: its court (章贡区人民法院) and the court's partner with
//! every scope, a read-only partner of the same court, and a second court
//! (于都县人民法院) with its own partner, which must see nothing of the
//! first court's referrals.

use anyhow::Result;
use futures::TryStreamExt;
use petition_sdk::{Client, pb};

use crate::builders::organization;
use crate::server::TestServer;
use crate::world::CaseWorld;

pub struct CourtWorld {
    pub cw: CaseWorld,
    /// The court's partner holding cases.read only.
    pub reader: Client,
    /// 于都县人民法院 (county B).
    pub other_court: pb::Organization,
    /// Its partner with cases.read and cases.write.
    pub other_partner: Client,
}

/// A partner service account of `court` with `scopes`, signed in.
pub async fn partner_of(admin: &Client, court: &pb::Organization, scopes: &[pb::Scope]) -> Result<Client> {
    let service = admin
        .identity()
        .create_service_account(pb::CreateServiceAccountRequest {
            display_name: format!("{} 对接", court.name),
            organization_id: court.id.clone(),
            scopes: scopes.iter().map(|s| *s as i32).collect(),
        })
        .await?;
    let partner = admin.new_session();
    partner.login_with_client_credentials(&service.client_id, &service.client_secret, []).await?;
    Ok(partner)
}

/// The parties of a referral: the petitioner sues the property company.
pub fn parties() -> Vec<pb::CourtParty> {
    vec![
        pb::CourtParty { name: "刘群众".into(), role: pb::CourtPartyRole::Plaintiff.into() },
        pb::CourtParty { name: "某物业服务有限公司".into(), role: pb::CourtPartyRole::Defendant.into() },
    ]
}

/// A referral of `case` to `court`.
pub fn refer(case: &pb::Case, court: &pb::Organization) -> pb::ReferCaseToCourtRequest {
    pb::ReferCaseToCourtRequest {
        case_id: case.id.clone(),
        court_organization_id: court.id.clone(),
        claim_summary: "请求判令物业公司维修公共管道并赔偿损失".into(),
        parties: parties(),
        ..Default::default()
    }
}

impl CourtWorld {
    pub async fn create(server: &TestServer) -> Result<CourtWorld> {
        let cw = CaseWorld::create(server).await?;
        let reader = partner_of(&cw.admin, &cw.court, &[pb::Scope::CasesRead]).await?;
        let other_court =
            organization(&cw.admin, "于都县人民法院", pb::OrganizationKind::Court, &cw.dir.county_b, None).await?;
        let other_partner = partner_of(&cw.admin, &other_court, &[pb::Scope::CasesRead, pb::Scope::CasesWrite]).await?;
        Ok(CourtWorld { cw, reader, other_court, other_partner })
    }

    /// A case of the owner declined by the clerk as belonging in litigation.
    pub async fn declined_case(&self, title: &str) -> Result<pb::Case> {
        let case = self.cw.submit(crate::world::claim(title)).await?;
        Ok(self
            .cw
            .clerk
            .cases()
            .decline_case(pb::DeclineCaseRequest {
                case_id: case.id,
                reason: pb::DeclineReason::Litigation.into(),
                diverted_to: "章贡区人民法院".into(),
                ..Default::default()
            })
            .await?)
    }

    /// An accepted case referred by unit A's handler to the court.
    pub async fn referral(&self, title: &str) -> Result<pb::CourtReferral> {
        let case = self.cw.accepted_case(title).await?;
        Ok(self.cw.handler.courts().refer_case_to_court(refer(&case, &self.cw.court)).await?)
    }

    /// A referral acknowledged and filed under `number`.
    pub async fn filed(&self, title: &str, number: &str) -> Result<pb::CourtReferral> {
        let referral = self.referral(title).await?;
        let court = self.cw.partner.courts();
        court
            .acknowledge_court_referral(pb::AcknowledgeCourtReferralRequest {
                court_referral_id: referral.id.clone(),
                ..Default::default()
            })
            .await?;
        Ok(court
            .record_court_filing(pb::RecordCourtFilingRequest {
                court_referral_id: referral.id,
                court_case_number: number.into(),
                ..Default::default()
            })
            .await?)
    }
}

/// Every change `client` may read, from the start.
pub async fn all_changes(client: &Client) -> Result<Vec<pb::Change>> {
    let mut changes = Vec::new();
    let mut after = 0;
    loop {
        let page =
            client.feed().list_changes(pb::ListChangesRequest { after_position: after, ..Default::default() }).await?;
        changes.extend(page.changes);
        after = page.next_position;
        if page.caught_up {
            return Ok(changes);
        }
    }
}

/// Every referral `client` lists with `filter`.
pub async fn listed(client: &Client, filter: pb::ListCourtReferralsRequest) -> Result<Vec<pb::CourtReferral>> {
    Ok(client.courts().court_referrals(filter).try_collect().await?)
}
