//! A small world for people's mediation (人民调解) tests, on top of the
//! [`CaseWorld`]: two villages under county A's township, a mediation
//! committee and a team at each level (two village teams, the township's,
//! the county's), mediators signed in as members, two citizen parties with
//! accounts, and the case world's clerks, handlers, court and partner.
//!
//! ```text
//! 360702 章贡区            county team (covers the county), county head
//! └ 360702001 解放街道     township team (covers the township), township head
//!   ├ 360702001001 和平村  village team: a head and a plain mediator
//!   └ 360702001002 新民村  the other village team: its head
//! ```

use anyhow::{Context, Result, bail};
use petition_sdk::{Client, pb};

use crate::builders::{organization, phone, signed_in_citizen, signed_in_staff};
use crate::server::TestServer;
use crate::world::CaseWorld;

/// A mediator: their signed-in client, account and membership.
pub struct Mediator {
    pub client: Client,
    pub account_id: String,
    /// Their membership of their team (`TeamMember.id` names them as the
    /// dispute's mediator).
    pub member: pb::TeamMember,
    /// The phone given with the membership.
    pub phone: String,
}

impl Mediator {
    pub fn mediation(&self) -> petition_sdk::MediationClient {
        self.client.mediation()
    }
}

/// A citizen with an account.
pub struct Citizen {
    pub client: Client,
    pub account_id: String,
    pub name: String,
    /// The registration's phone (their login name).
    pub phone: String,
}

impl Citizen {
    pub fn mediation(&self) -> petition_sdk::MediationClient {
        self.client.mediation()
    }

    /// This citizen as a party of a new dispute.
    pub fn as_party(&self) -> pb::NewDisputeParty {
        pb::NewDisputeParty { account_id: self.account_id.clone(), ..Default::default() }
    }
}

/// Where a fresh dispute of the village team stands
/// ([`MediationWorld::dispute_in`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisputeStage {
    /// Recorded by the village team; nobody has answered, no mediator.
    Recorded,
    /// Recorded, the village's plain mediator assigned; no consent yet.
    Awaiting,
    /// Both parties consented; the plain mediator assigned.
    Accepted,
    /// A first session held by the plain mediator.
    InMediation,
    /// A written agreement took effect.
    Settled,
    /// Settled, and the parties applied to the court for confirmation.
    Applied,
}

pub struct MediationWorld {
    pub cw: CaseWorld,
    /// 和平村, the village team's.
    pub village: pb::Region,
    /// 新民村, the other village team's.
    pub village_2: pb::Region,
    pub village_committee: pb::Organization,
    pub village_committee_2: pb::Organization,
    pub township_committee: pb::Organization,
    pub county_committee: pb::Organization,
    pub village_team: pb::MediationTeam,
    pub other_village_team: pb::MediationTeam,
    pub township_team: pb::MediationTeam,
    pub county_team: pb::MediationTeam,
    /// Head (主任) of the village team.
    pub village_head: Mediator,
    /// A plain mediator of the village team.
    pub village_mediator: Mediator,
    /// Head of the other village team.
    pub other_mediator: Mediator,
    /// Head of the township team (the township's mediation office).
    pub township_head: Mediator,
    /// Head of the county team.
    pub county_head: Mediator,
    /// Two villagers with accounts, the parties of the village's disputes.
    pub party_a: Citizen,
    pub party_b: Citizen,
}

async fn region(admin: &Client, code: &str, name: &str, parent: &str) -> Result<pb::Region> {
    Ok(admin
        .directory()
        .create_region(pb::CreateRegionRequest {
            code: code.into(),
            name: name.into(),
            level: pb::RegionLevel::Village.into(),
            parent_code: parent.into(),
        })
        .await?)
}

/// A team of `kind` sitting in `region`, covering `covered` (its own region
/// when empty), made by `admin`.
pub async fn team(
    admin: &Client,
    name: &str,
    kind: pb::MediationTeamKind,
    committee: &pb::Organization,
    region: &pb::Region,
    covered: &[&pb::Region],
) -> Result<pb::MediationTeam> {
    Ok(admin
        .mediation()
        .create_team(pb::CreateTeamRequest {
            name: name.into(),
            kind: kind.into(),
            organization_id: committee.id.clone(),
            region_code: region.code.clone(),
            covered_region_codes: covered.iter().map(|r| r.code.clone()).collect(),
            ..Default::default()
        })
        .await?)
}

/// A mediator account of `committee`, signed in, added to `team` as `role`
/// by `admin`.
pub async fn mediator(
    admin: &Client,
    login_name: &str,
    committee: &pb::Organization,
    team: &pb::MediationTeam,
    role: pb::TeamMemberRole,
) -> Result<Mediator> {
    let (client, account) = signed_in_staff(admin, login_name, committee, &[pb::Role::Mediator]).await?;
    let phone = phone();
    let member = admin
        .mediation()
        .add_team_member(pb::AddTeamMemberRequest {
            team_id: team.id.clone(),
            display_name: format!("调解员 {login_name}"),
            role: role.into(),
            account_id: account.id.clone(),
            phone: phone.clone(),
            request_id: String::new(),
        })
        .await?;
    Ok(Mediator { client, account_id: account.id, member, phone })
}

async fn citizen(anonymous: &Client, name: &str) -> Result<Citizen> {
    let (client, registration) = signed_in_citizen(anonymous, name).await?;
    let account_id = client.identity().get_me().await?.id;
    Ok(Citizen { client, account_id, name: name.into(), phone: registration.phone })
}

/// `phone` as others see it: 139****1234.
pub fn masked(phone: &str) -> String {
    format!("{}****{}", &phone[..3], &phone[phone.len() - 4..])
}

/// The Beijing date `days` before today, YYYY-MM-DD.
pub fn days_ago(days: i64) -> String {
    date_string(petition_server::time::shanghai_today() - chrono::Duration::days(days))
}

/// The Beijing date `days` after today, YYYY-MM-DD.
pub fn days_from_now(days: i64) -> String {
    days_ago(-days)
}

pub fn date_string(date: chrono::NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// A session at the village's office.
pub fn session(date: &str) -> pb::MediationSession {
    pb::MediationSession {
        session_date: date.into(),
        place: "和平村调解室".into(),
        video: false,
        attendees: vec!["当事人双方".into(), "村民小组长".into()],
        notes: "双方陈述，调解员释法说理".into(),
        mediator_member_id: String::new(),
    }
}

/// A written agreement (调解协议书) with every Art.29 field: one term owed
/// by each of `obligors`, due `deadline`, in effect on `effective_date`.
pub fn written_agreement(obligors: &[&str], effective_date: &str, deadline: &str) -> pb::Agreement {
    pb::Agreement {
        form: pb::AgreementForm::Written.into(),
        parties_summary: "张三，男，和平村村民；李四，男，和平村村民".into(),
        facts: "李四建房时占用张三家通道约一米".into(),
        issues_and_responsibility: "通道归属；李四负主要责任".into(),
        terms: obligors
            .iter()
            .enumerate()
            .map(|(i, obligor)| pb::AgreementTerm {
                obligor_party_id: (*obligor).to_owned(),
                content: format!("第{}项：拆除占道部分并恢复通道", i + 1),
                manner: "自行拆除，费用自理".into(),
                deadline: deadline.into(),
                ..Default::default()
            })
            .collect(),
        effective_date: effective_date.into(),
        signed_by_all_parties: true,
        sealed_by_committee: true,
        confirmation_apply_by: String::new(),
    }
}

/// The ids of a dispute's parties, in order.
pub fn party_ids(dispute: &pb::Dispute) -> Vec<String> {
    dispute.parties.iter().map(|p| p.id.clone()).collect()
}

impl MediationWorld {
    pub async fn create(server: &TestServer) -> Result<MediationWorld> {
        use pb::MediationTeamKind as Kind;
        use pb::OrganizationKind::MediationCommittee as Committee;
        use pb::TeamMemberRole::{Head, Mediator as Plain};
        let cw = CaseWorld::create(server).await?;
        let admin = &cw.admin;
        let township = &cw.dir.township_a;
        let village = region(admin, "360702001001", "和平村", &township.code).await?;
        let village_2 = region(admin, "360702001002", "新民村", &township.code).await?;
        let village_committee = organization(admin, "和平村人民调解委员会", Committee, &village, None).await?;
        let village_committee_2 = organization(admin, "新民村人民调解委员会", Committee, &village_2, None).await?;
        let township_committee = organization(admin, "解放街道人民调解委员会", Committee, township, None).await?;
        let county_committee = organization(admin, "章贡区人民调解委员会", Committee, &cw.dir.county_a, None).await?;
        let village_team =
            team(admin, "和平村调委会", Kind::VillageCommittee, &village_committee, &village, &[]).await?;
        let other_village_team =
            team(admin, "新民村调委会", Kind::VillageCommittee, &village_committee_2, &village_2, &[]).await?;
        let township_team =
            team(admin, "解放街道调委会", Kind::TownshipCommittee, &township_committee, township, &[township]).await?;
        let county_team = team(
            admin,
            "章贡区联合调解中心",
            Kind::CountyCommittee,
            &county_committee,
            &cw.dir.county_a,
            &[&cw.dir.county_a],
        )
        .await?;
        let village_head = mediator(admin, "village.head", &village_committee, &village_team, Head).await?;
        let village_mediator = mediator(admin, "village.mediator", &village_committee, &village_team, Plain).await?;
        let other_mediator = mediator(admin, "village2.head", &village_committee_2, &other_village_team, Head).await?;
        let township_head = mediator(admin, "township.head", &township_committee, &township_team, Head).await?;
        let county_head = mediator(admin, "county.head", &county_committee, &county_team, Head).await?;
        let anonymous = admin.new_session();
        let party_a = citizen(&anonymous, "张三").await?;
        let party_b = citizen(&anonymous, "李四").await?;
        Ok(MediationWorld {
            cw,
            village,
            village_2,
            village_committee,
            village_committee_2,
            township_committee,
            county_committee,
            village_team,
            other_village_team,
            township_team,
            county_team,
            village_head,
            village_mediator,
            other_mediator,
            township_head,
            county_head,
            party_a,
            party_b,
        })
    }

    /// A neighbourhood dispute in the village between the two parties.
    pub fn draft(&self, matter: &str) -> pb::DisputeDraft {
        pb::DisputeDraft {
            region_code: self.village.code.clone(),
            category: pb::DisputeCategory::Neighbourhood.into(),
            matter: matter.into(),
            parties: vec![self.party_a.as_party(), self.party_b.as_party()],
            attachments: vec![],
        }
    }

    /// The village team's head records `draft` as a party's application,
    /// received on `receive_date` (today when empty).
    pub async fn record(&self, draft: pb::DisputeDraft, receive_date: &str) -> Result<pb::Dispute> {
        Ok(self
            .village_head
            .mediation()
            .create_dispute(pb::CreateDisputeRequest {
                team_id: self.village_team.id.clone(),
                dispute: Some(draft),
                source: pb::DisputeSource::Application.into(),
                receive_date: receive_date.into(),
                ..Default::default()
            })
            .await?)
    }

    /// A fresh dispute of the village team brought to `stage`, every act
    /// dated today, by the village head (assigning) and the plain mediator.
    pub async fn dispute_in(&self, stage: DisputeStage, matter: &str) -> Result<pb::Dispute> {
        use DisputeStage::*;
        let head = self.village_head.mediation();
        let mediator = self.village_mediator.mediation();
        let dispute = self.record(self.draft(matter), "").await?;
        if stage == Recorded {
            return Ok(dispute);
        }
        let dispute = head
            .assign_mediator(pb::AssignMediatorRequest {
                dispute_id: dispute.id.clone(),
                member_id: self.village_mediator.member.id.clone(),
                ..Default::default()
            })
            .await?;
        if stage == Awaiting {
            return Ok(dispute);
        }
        let mut dispute = dispute;
        for party in party_ids(&dispute) {
            dispute = mediator
                .record_consent(pb::RecordConsentRequest {
                    dispute_id: dispute.id.clone(),
                    party_id: party,
                    consents: true,
                    ..Default::default()
                })
                .await?;
        }
        if dispute.state != pb::DisputeState::Accepted as i32 {
            bail!("every party consented, yet the dispute is {:?}", dispute.state());
        }
        if stage == Accepted {
            return Ok(dispute);
        }
        let dispute = mediator
            .record_session(pb::RecordSessionRequest {
                dispute_id: dispute.id.clone(),
                session: Some(session("")),
                ..Default::default()
            })
            .await?;
        if stage == InMediation {
            return Ok(dispute);
        }
        let ids = party_ids(&dispute);
        let obligors: Vec<&str> = ids.iter().map(String::as_str).collect();
        let dispute = mediator
            .record_agreement(pb::RecordAgreementRequest {
                dispute_id: dispute.id.clone(),
                agreement: Some(written_agreement(&obligors, "", &days_from_now(30))),
                ..Default::default()
            })
            .await?;
        if stage == Settled {
            return Ok(dispute);
        }
        mediator
            .apply_for_court_confirmation(pb::ApplyForCourtConfirmationRequest {
                dispute_id: dispute.id.clone(),
                court_organization_id: self.cw.court.id.clone(),
                all_parties_apply: true,
                ..Default::default()
            })
            .await
            .context("applying for confirmation")
    }
}
