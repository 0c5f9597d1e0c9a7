//! A small world for case tests: a city with two counties, the bureaus,
//! units and their superior governments, a discipline office, categories,
//! and a signed-in client for every role the policy distinguishes.

use anyhow::Result;
use petition_sdk::{Client, pb};

use crate::builders::{Directory, organization, signed_in_citizen, signed_in_staff};
use crate::server::TestServer;

/// Every actor of the authorization matrix, signed in.
pub struct CaseWorld {
    pub dir: Directory,
    pub admin: Client,
    /// 章贡区人民政府: superior of unit A (reviews).
    pub gov_a: pb::Organization,
    /// 赣州市人民政府: superior of gov A (re-reviews).
    pub city_gov: pb::Organization,
    /// 赣州市纪委监委.
    pub discipline: pb::Organization,
    pub owner: Client,
    pub owner_id: String,
    /// The owner's login name (phone) and password.
    pub owner_login: (String, String),
    pub other_citizen: Client,
    /// Clerk of county A's bureau.
    pub clerk: Client,
    /// Clerk of county B's bureau (outside county A).
    pub clerk_b: Client,
    /// Handler in unit A.
    pub handler: Client,
    /// Handler in county B's unit (outside the jurisdiction).
    pub handler_b: Client,
    /// Unit lead of unit A.
    pub unit_lead: Client,
    /// Leader at gov A (decides reviews).
    pub reviewer: Client,
    /// Leader at the city government (decides re-reviews).
    pub rechecker: Client,
    /// City leader at the city bureau.
    pub leader: Client,
    /// Supervisor at the city bureau.
    pub supervisor: Client,
    /// Handler in the discipline office.
    pub discipline_handler: Client,
    /// 章贡区人民法院, the partner's organization.
    pub court: pb::Organization,
    /// A court's service account with every scope.
    pub partner: Client,
    /// Its client id and secret.
    pub partner_credentials: (String, String),
}

/// A claim arising in county A's township, category `housing`.
pub fn claim(title: &str) -> pb::CaseDraft {
    pb::CaseDraft {
        kind: pb::CaseKind::Claim.into(),
        category_code: "housing".into(),
        region_code: "360702001".into(),
        title: title.into(),
        content: "小区公共管道漏水三个月无人处理。".into(),
        requests: "请求督促物业维修".into(),
        facts_and_reasons: "多次向物业反映无果。".into(),
        attachments: vec![],
        respondent_organization_id: String::new(),
    }
}

impl CaseWorld {
    pub async fn create(server: &TestServer) -> Result<CaseWorld> {
        Self::with(server.admin().await?).await
    }

    /// The world made through `admin`, a client signed in as an admin.
    pub async fn with(admin: Client) -> Result<CaseWorld> {
        use pb::OrganizationKind as Kind;
        use pb::Role;
        let dir = Directory::create(&admin).await?;
        let city_gov = organization(&admin, "赣州市人民政府", Kind::Leadership, &dir.city, None).await?;
        let gov_a = organization(&admin, "章贡区人民政府", Kind::Leadership, &dir.county_a, Some(&city_gov)).await?;
        let discipline = organization(&admin, "赣州市纪委监委", Kind::DisciplineInspection, &dir.city, None).await?;
        let court = organization(&admin, "章贡区人民法院", Kind::Court, &dir.county_a, None).await?;
        // Unit A answers to gov A.
        let unit_a = admin.directory().get_organization(&dir.unit_a.id).await?;
        admin
            .directory()
            .update_organization(pb::UpdateOrganizationRequest {
                id: unit_a.id.clone(),
                update_mask: Some(prost_types::FieldMask { paths: vec!["parent_organization_id".into()] }),
                parent_organization_id: gov_a.id.clone(),
                etag: unit_a.etag.clone(),
                ..Default::default()
            })
            .await?;
        for (code, name) in [("housing", "住房城乡建设"), ("labor", "劳动保障"), ("discipline", "党纪政纪")]
        {
            admin
                .taxonomy()
                .create_category(pb::Category { code: code.into(), name: name.into(), retired: false })
                .await?;
        }
        let anonymous = admin.new_session();
        let (owner, owner_request) = signed_in_citizen(&anonymous, "刘群众").await?;
        let owner_id = owner.identity().get_me().await?.id;
        let (other_citizen, _) = signed_in_citizen(&anonymous, "旁观者").await?;
        let (clerk, _) = signed_in_staff(&admin, "clerk.a", &dir.bureau_a, &[Role::Clerk]).await?;
        let (clerk_b, _) = signed_in_staff(&admin, "clerk.b", &dir.bureau_b, &[Role::Clerk]).await?;
        let (handler, _) = signed_in_staff(&admin, "handler.a", &dir.unit_a, &[Role::Handler]).await?;
        let (handler_b, _) = signed_in_staff(&admin, "handler.b", &dir.unit_b, &[Role::Handler]).await?;
        let (unit_lead, _) = signed_in_staff(&admin, "lead.a", &dir.unit_a, &[Role::UnitLead]).await?;
        let (reviewer, _) = signed_in_staff(&admin, "gov.a", &gov_a, &[Role::Leader]).await?;
        let (rechecker, _) = signed_in_staff(&admin, "gov.city", &city_gov, &[Role::Leader]).await?;
        let (leader, _) = signed_in_staff(&admin, "leader.city", &dir.city_bureau, &[Role::Leader]).await?;
        let (supervisor, _) = signed_in_staff(&admin, "supervisor.city", &dir.city_bureau, &[Role::Supervisor]).await?;
        let (discipline_handler, _) = signed_in_staff(&admin, "discipline.a", &discipline, &[Role::Handler]).await?;
        let service = admin
            .identity()
            .create_service_account(pb::CreateServiceAccountRequest {
                display_name: "法院对接".into(),
                organization_id: court.id.clone(),
                scopes: vec![
                    pb::Scope::CasesRead as i32,
                    pb::Scope::CasesWrite as i32,
                    pb::Scope::DirectoryRead as i32,
                ],
            })
            .await?;
        let partner = admin.new_session();
        partner.login_with_client_credentials(&service.client_id, &service.client_secret, []).await?;
        Ok(CaseWorld {
            dir,
            admin,
            gov_a,
            city_gov,
            discipline,
            owner,
            owner_id,
            owner_login: (owner_request.phone, owner_request.password),
            other_citizen,
            clerk,
            clerk_b,
            handler,
            handler_b,
            unit_lead,
            reviewer,
            rechecker,
            leader,
            supervisor,
            discipline_handler,
            court,
            partner,
            partner_credentials: (service.client_id, service.client_secret),
        })
    }

    /// The owner files `draft` online.
    pub async fn submit(&self, draft: pb::CaseDraft) -> Result<pb::Case> {
        Ok(self
            .owner
            .cases()
            .submit_case(pb::SubmitCaseRequest { draft: Some(draft), request_id: String::new() })
            .await?)
    }

    /// A case of the owner in county A, forwarded by the clerk to unit A.
    pub async fn routed_case(&self, title: &str) -> Result<pb::Case> {
        let case = self.submit(claim(title)).await?;
        Ok(self
            .clerk
            .cases()
            .forward_case(pb::ForwardCaseRequest {
                case_id: case.id,
                organization_id: self.dir.unit_a.id.clone(),
                ..Default::default()
            })
            .await?)
    }

    /// A routed case accepted by unit A.
    pub async fn accepted_case(&self, title: &str) -> Result<pb::Case> {
        let case = self.routed_case(title).await?;
        Ok(self.handler.cases().accept_case(pb::AcceptCaseRequest { case_id: case.id, ..Default::default() }).await?)
    }

    /// An accepted case replied to by unit A.
    pub async fn replied_case(&self, title: &str) -> Result<pb::Case> {
        let case = self.accepted_case(title).await?;
        Ok(self
            .handler
            .cases()
            .reply_to_case(pb::ReplyToCaseRequest { case_id: case.id, opinion: Some(opinion()), ..Default::default() })
            .await?)
    }

    /// A replied case whose review (复查) the petitioner asked for and gov A
    /// answered: REVIEWED.
    pub async fn reviewed_case(&self, title: &str) -> Result<pb::Case> {
        let case = self.replied_case(title).await?;
        self.owner
            .cases()
            .request_review(pb::RequestReviewRequest {
                case_id: case.id.clone(),
                reason: "不服".into(),
                ..Default::default()
            })
            .await?;
        Ok(self
            .reviewer
            .cases()
            .reply_to_review(pb::ReplyToReviewRequest {
                case_id: case.id,
                opinion: Some(opinion()),
                ..Default::default()
            })
            .await?)
    }
}

/// A complete written opinion supporting the request.
pub fn opinion() -> pb::Opinion {
    pb::Opinion {
        request: "维修公共管道".into(),
        facts: "经核查属实".into(),
        decision: pb::OpinionDecision::Supported.into(),
        legal_basis: "《物业管理条例》第五十五条".into(),
        serve_time: None,
        organization_id: String::new(),
        mediation_dispute_id: String::new(),
    }
}
