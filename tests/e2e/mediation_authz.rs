//! MediationService authorization end to end: every RPC × every actor of
//! the [`MediationWorld`], allowed or refused exactly as `auth::policy`
//! says (`authorize_team`, `authorize_dispute`, `authorize_mediation_statistics`,
//! and the case policy for referrals): OK; PERMISSION_DENIED when the caller
//! may see the thing but not do this (OUTSIDE_JURISDICTION where the role
//! allows it elsewhere); NOT_FOUND when they may not see the dispute (or
//! the case) at all; UNAUTHENTICATED without a token.
//!
//! Each row puts a dispute of the village team in the state where the RPC
//! is valid, so a refusal can only come from the policy. Refused calls go
//! to one dispute and must change nothing; each allowed call that writes
//! gets a fresh dispute (or member, or case) of its own.

use anyhow::{Result, bail};
use futures::TryStreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::mediation_world::*;
use petition_tests::*;

use crate::support::assert_typed_dispute_event;

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Anonymous,
    /// Head of the dispute's (village) team.
    VillageHead,
    /// A plain member of the village team, the rows' assigned mediator.
    VillageMediator,
    /// Head of the other village team.
    OtherMediator,
    /// Head of the township team, which covers the village.
    TownshipHead,
    /// Head of the county team.
    CountyHead,
    /// Clerk of county A's bureau (the village's county).
    Clerk,
    /// Clerk of county B's bureau.
    ClerkB,
    /// The court's partner service account (cases.read + cases.write).
    Court,
    /// 张三, a party with an account.
    Party,
    /// A citizen who is no party.
    NonParty,
    Admin,
}

use Actor::*;

const ACTORS: [Actor; 12] = [
    Anonymous,
    VillageHead,
    VillageMediator,
    OtherMediator,
    TownshipHead,
    CountyHead,
    Clerk,
    ClerkB,
    Court,
    Party,
    NonParty,
    Admin,
];
const SIGNED_IN: &[Actor] = &[
    VillageHead,
    VillageMediator,
    OtherMediator,
    TownshipHead,
    CountyHead,
    Clerk,
    ClerkB,
    Court,
    Party,
    NonParty,
    Admin,
];
/// Who sees a dispute of the village team: its members, the heads of the
/// township and county teams covering the village, staff of the county,
/// its parties, admins.
const VISIBLE: &[Actor] = &[VillageHead, VillageMediator, TownshipHead, CountyHead, Clerk, Party, Admin];
const HIDDEN: &[Actor] = &[OtherMediator, ClerkB, Court, NonParty];
/// Once the parties applied to the court, the court sees it too.
const VISIBLE_APPLIED: &[Actor] = &[VillageHead, VillageMediator, TownshipHead, CountyHead, Clerk, Party, Court, Admin];
const HIDDEN_APPLIED: &[Actor] = &[OtherMediator, ClerkB, NonParty];
/// The team's members.
const TEAM: &[Actor] = &[VillageHead, VillageMediator];
/// Staff whose role reads a region's figures, elsewhere.
const OUTSIDE: &[Actor] = &[VillageHead, VillageMediator, OtherMediator, ClerkB];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rpc {
    CreateTeam,
    GetTeam,
    ListTeams,
    UpdateTeam,
    AddTeamMember,
    ListTeamMembers,
    RemoveTeamMember,
    ListUncoveredRegions,
    RecordScreening,
    ListScreenings,
    ReferCaseToMediation,
    /// A party's application.
    CreateDispute,
    /// A court's referral before filing (诉前委派).
    CreateDisputeFromCourt,
    GetDispute,
    ListDisputes,
    ListDisputeEvents,
    RecordConsent,
    AssignMediator,
    ObjectToMediator,
    RecuseMediator,
    RecordSession,
    RecordAgreement,
    RecordFailure,
    RecordPerformance,
    ApplyForCourtConfirmation,
    AnswerCourtConfirmation,
    EscalateDispute,
    GetMediationStatistics,
}

impl Rpc {
    fn writes(self) -> bool {
        !matches!(
            self,
            Rpc::GetTeam
                | Rpc::ListTeams
                | Rpc::ListTeamMembers
                | Rpc::ListUncoveredRegions
                | Rpc::ListScreenings
                | Rpc::GetDispute
                | Rpc::ListDisputes
                | Rpc::ListDisputeEvents
                | Rpc::GetMediationStatistics
        )
    }
}

/// What a row's call acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    Nothing,
    /// A fresh paper member of the village team.
    Member,
    /// A registered claim of 张三 in the township.
    Case,
    Dispute(DisputeStage),
}

struct Row {
    rpc: Rpc,
    on: On,
    ok: &'static [Actor],
    hidden: &'static [Actor],
    outside: &'static [Actor],
    /// The dispute's state after an allowed call.
    after: Option<pb::DisputeState>,
}

const fn row(rpc: Rpc, on: On, ok: &'static [Actor], hidden: &'static [Actor]) -> Row {
    Row { rpc, on, ok, hidden, outside: &[], after: None }
}

impl Row {
    const fn outside(self, outside: &'static [Actor]) -> Row {
        Row { outside, ..self }
    }
    const fn after(self, state: pb::DisputeState) -> Row {
        Row { after: Some(state), ..self }
    }
}

fn expected(row: &Row, actor: Actor) -> (Code, &'static str) {
    if actor == Anonymous {
        (Code::Unauthenticated, "MISSING_CREDENTIALS")
    } else if row.ok.contains(&actor) {
        (Code::Ok, "")
    } else if row.hidden.contains(&actor) {
        (Code::NotFound, "NOT_FOUND")
    } else if row.outside.contains(&actor) {
        (Code::PermissionDenied, "OUTSIDE_JURISDICTION")
    } else {
        (Code::PermissionDenied, "PERMISSION_DENIED")
    }
}

/// The thing a row's call acts on.
#[derive(Debug, Clone, Default)]
struct Target {
    member: Option<pb::TeamMember>,
    case: Option<pb::Case>,
    dispute: Option<pb::Dispute>,
}

/// What an allowed call answered.
#[derive(Debug)]
enum Done {
    Team(String),
    Member(String),
    Dispute(Box<pb::Dispute>),
    /// A list or figures: how many items.
    Read(usize),
}

/// What refused calls must leave as it was.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    teams: Vec<(String, String)>,
    members: Vec<(String, bool)>,
    screenings: usize,
    disputes: Vec<(String, String)>,
    cases: Vec<(String, String)>,
}

struct Lab {
    w: MediationWorld,
    anonymous: Client,
    _server: TestServer,
}

impl Lab {
    async fn new() -> Result<Lab> {
        let server = TestServer::spawn().await?;
        let w = MediationWorld::create(&server).await?;
        let anonymous = server.client().await?;
        Ok(Lab { w, anonymous, _server: server })
    }

    fn who(&self, actor: Actor) -> &Client {
        let w = &self.w;
        match actor {
            Anonymous => &self.anonymous,
            VillageHead => &w.village_head.client,
            VillageMediator => &w.village_mediator.client,
            OtherMediator => &w.other_mediator.client,
            TownshipHead => &w.township_head.client,
            CountyHead => &w.county_head.client,
            Clerk => &w.cw.clerk,
            ClerkB => &w.cw.clerk_b,
            Court => &w.cw.partner,
            Party => &w.party_a.client,
            NonParty => &w.cw.other_citizen,
            Admin => &w.cw.admin,
        }
    }

    async fn target(&self, on: On, title: &str) -> Result<Target> {
        let w = &self.w;
        Ok(match on {
            On::Nothing => Target::default(),
            On::Member => {
                let member =
                    w.cw.admin
                        .mediation()
                        .add_team_member(pb::AddTeamMemberRequest {
                            team_id: w.village_team.id.clone(),
                            display_name: format!("网格员 {title}"),
                            role: pb::TeamMemberRole::GridWorker.into(),
                            phone: phone(),
                            ..Default::default()
                        })
                        .await?;
                Target { member: Some(member), ..Default::default() }
            }
            On::Case => {
                let case = w
                    .party_a
                    .client
                    .cases()
                    .submit_case(pb::SubmitCaseRequest { draft: Some(claim(title)), request_id: String::new() })
                    .await?;
                Target { case: Some(case), ..Default::default() }
            }
            On::Dispute(stage) => Target { dispute: Some(w.dispute_in(stage, title).await?), ..Default::default() },
        })
    }

    async fn snapshot(&self) -> Result<Snapshot> {
        let admin = self.w.cw.admin.mediation();
        let all_teams = pb::ListTeamsRequest { include_retired: true, ..Default::default() };
        let teams: Vec<pb::MediationTeam> = admin.teams(all_teams).try_collect().await?;
        let members = admin
            .list_team_members(pb::ListTeamMembersRequest {
                team_id: self.w.village_team.id.clone(),
                include_inactive: true,
                page_size: 500,
                ..Default::default()
            })
            .await?
            .members;
        let screenings = admin
            .list_screenings(pb::ListScreeningsRequest {
                team_id: self.w.village_team.id.clone(),
                page_size: 500,
                ..Default::default()
            })
            .await?
            .screenings
            .len();
        let disputes: Vec<pb::Dispute> = admin.disputes(pb::ListDisputesRequest::default()).try_collect().await?;
        let cases: Vec<pb::Case> = self.w.cw.admin.cases().cases(pb::ListCasesRequest::default()).try_collect().await?;
        Ok(Snapshot {
            teams: teams.into_iter().map(|t| (t.id, t.etag)).collect(),
            members: members.into_iter().map(|m| (m.id, m.active)).collect(),
            screenings,
            disputes: disputes.into_iter().map(|d| (d.id, d.etag)).collect(),
            cases: cases.into_iter().map(|c| (c.id, c.etag)).collect(),
        })
    }

    /// Calls `rpc` as `actor` with a valid request on `target`.
    async fn call(&self, rpc: Rpc, actor: Actor, target: &Target) -> petition_sdk::Result<Done> {
        let w = &self.w;
        let m = self.who(actor).mediation();
        let team_id = w.village_team.id.clone();
        let dispute_id = target.dispute.as_ref().map(|d| d.id.clone()).unwrap_or_default();
        let party = |i: usize| target.dispute.as_ref().map(|d| d.parties[i].id.clone()).unwrap_or_default();
        let dispute = |d: pb::Dispute| Ok(Done::Dispute(Box::new(d)));
        match rpc {
            Rpc::CreateTeam => Ok(Done::Team(
                m.create_team(pb::CreateTeamRequest {
                    name: "和平村红色调解队".into(),
                    kind: pb::MediationTeamKind::RedTeam.into(),
                    organization_id: w.village_committee.id.clone(),
                    region_code: w.village.code.clone(),
                    ..Default::default()
                })
                .await?
                .id,
            )),
            Rpc::GetTeam => Ok(Done::Team(m.get_team(team_id).await?.id)),
            Rpc::ListTeams => Ok(Done::Read(m.list_teams(Default::default()).await?.teams.len())),
            Rpc::UpdateTeam => Ok(Done::Team(
                m.update_team(pb::UpdateTeamRequest {
                    team: Some(pb::MediationTeam {
                        id: team_id,
                        name: "和平村人民调解委员会".into(),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
                    ..Default::default()
                })
                .await?
                .id,
            )),
            Rpc::AddTeamMember => Ok(Done::Member(
                m.add_team_member(pb::AddTeamMemberRequest {
                    team_id,
                    display_name: "党员志愿者".into(),
                    role: pb::TeamMemberRole::Volunteer.into(),
                    phone: phone(),
                    ..Default::default()
                })
                .await?
                .id,
            )),
            Rpc::ListTeamMembers => Ok(Done::Read(
                m.list_team_members(pb::ListTeamMembersRequest { team_id, ..Default::default() }).await?.members.len(),
            )),
            Rpc::RemoveTeamMember => Ok(Done::Member(
                m.remove_team_member(pb::RemoveTeamMemberRequest {
                    team_id,
                    member_id: target.member.as_ref().map(|m| m.id.clone()).unwrap_or_default(),
                    request_id: String::new(),
                })
                .await?
                .id,
            )),
            Rpc::ListUncoveredRegions => Ok(Done::Read(
                m.list_uncovered_regions(pb::ListUncoveredRegionsRequest {
                    region_code: w.cw.dir.township_a.code.clone(),
                    ..Default::default()
                })
                .await?
                .regions
                .len(),
            )),
            Rpc::RecordScreening => Ok(Done::Read(
                m.record_screening(pb::RecordScreeningRequest {
                    team_id,
                    area: "和平村四组".into(),
                    zero_report: true,
                    ..Default::default()
                })
                .await?
                .disputes
                .len(),
            )),
            Rpc::ListScreenings => Ok(Done::Read(
                m.list_screenings(pb::ListScreeningsRequest { team_id, ..Default::default() }).await?.screenings.len(),
            )),
            Rpc::ReferCaseToMediation => dispute(
                m.refer_case_to_mediation(pb::ReferCaseToMediationRequest {
                    case_id: target.case.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
                    team_id: w.township_team.id.clone(),
                    other_parties: vec![pb::NewDisputeParty {
                        name: "物业公司".into(),
                        organization: true,
                        phone: phone(),
                        ..Default::default()
                    }],
                    category: pb::DisputeCategory::Property.into(),
                    ..Default::default()
                })
                .await?,
            ),
            Rpc::CreateDispute | Rpc::CreateDisputeFromCourt => {
                let source = if rpc == Rpc::CreateDispute {
                    pb::DisputeSource::Application
                } else {
                    pb::DisputeSource::CourtBeforeFiling
                };
                dispute(
                    m.create_dispute(pb::CreateDisputeRequest {
                        team_id,
                        dispute: Some(w.draft("申请调解")),
                        source: source.into(),
                        court_case_number: "（2026）赣0702民诉前调1号".into(),
                        ..Default::default()
                    })
                    .await?,
                )
            }
            Rpc::GetDispute => dispute(m.get_dispute(dispute_id).await?),
            Rpc::ListDisputes => Ok(Done::Read(m.list_disputes(Default::default()).await?.disputes.len())),
            Rpc::ListDisputeEvents => {
                let events = m
                    .list_dispute_events(pb::ListDisputeEventsRequest { dispute_id, ..Default::default() })
                    .await?
                    .events;
                events.iter().for_each(assert_typed_dispute_event);
                Ok(Done::Read(events.len()))
            }
            Rpc::RecordConsent => dispute(
                m.record_consent(pb::RecordConsentRequest {
                    dispute_id,
                    party_id: party(0),
                    consents: true,
                    ..Default::default()
                })
                .await?,
            ),
            Rpc::AssignMediator => dispute(
                m.assign_mediator(pb::AssignMediatorRequest {
                    dispute_id,
                    member_id: w.village_mediator.member.id.clone(),
                    ..Default::default()
                })
                .await?,
            ),
            Rpc::ObjectToMediator => dispute(
                m.object_to_mediator(pb::ObjectToMediatorRequest {
                    dispute_id,
                    party_id: party(0),
                    reason: "调解员处事不公".into(),
                    ..Default::default()
                })
                .await?,
            ),
            Rpc::RecuseMediator => dispute(
                m.recuse_mediator(pb::RecuseMediatorRequest {
                    dispute_id,
                    reason: "近亲属关系".into(),
                    ..Default::default()
                })
                .await?,
            ),
            Rpc::RecordSession => dispute(
                m.record_session(pb::RecordSessionRequest {
                    dispute_id,
                    session: Some(session("")),
                    ..Default::default()
                })
                .await?,
            ),
            Rpc::RecordAgreement => dispute(
                m.record_agreement(pb::RecordAgreementRequest {
                    dispute_id,
                    agreement: Some(written_agreement(&[&party(1)], "", &days_from_now(10))),
                    ..Default::default()
                })
                .await?,
            ),
            Rpc::RecordFailure => dispute(
                m.record_failure(pb::RecordFailureRequest {
                    dispute_id,
                    failure: Some(pb::Failure {
                        reason: pb::FailureReason::PartyEnded.into(),
                        advised_routes: vec![pb::AdvisedRoute::Judicial.into()],
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await?,
            ),
            Rpc::RecordPerformance => dispute(
                m.record_performance(pb::RecordPerformanceRequest {
                    dispute_id,
                    term_index: 0,
                    performance: pb::TermPerformance::Performed.into(),
                    ..Default::default()
                })
                .await?,
            ),
            Rpc::ApplyForCourtConfirmation => dispute(
                m.apply_for_court_confirmation(pb::ApplyForCourtConfirmationRequest {
                    dispute_id,
                    court_organization_id: w.cw.court.id.clone(),
                    all_parties_apply: true,
                    ..Default::default()
                })
                .await?,
            ),
            Rpc::AnswerCourtConfirmation => dispute(
                m.answer_court_confirmation(pb::AnswerCourtConfirmationRequest {
                    dispute_id,
                    decision: pb::ConfirmationState::Confirmed.into(),
                    court_case_number: "（2026）赣0702民特9号".into(),
                    ..Default::default()
                })
                .await?,
            ),
            Rpc::EscalateDispute => dispute(
                m.escalate_dispute(pb::EscalateDisputeRequest {
                    dispute_id,
                    team_id: w.township_team.id.clone(),
                    reason: "村级调解未果".into(),
                    ..Default::default()
                })
                .await?,
            ),
            Rpc::GetMediationStatistics => {
                let figures = m
                    .get_mediation_statistics(pb::GetMediationStatisticsRequest {
                        region_code: w.cw.dir.township_a.code.clone(),
                        start_date: days_ago(0),
                        end_date: days_ago(0),
                        breakdown: pb::MediationBreakdown::ChildRegion.into(),
                    })
                    .await?;
                Ok(Done::Read(figures.rows.len()))
            }
        }
    }

    /// Runs the rows; fails listing every cell that differs from the table.
    async fn run(&self, rows: &[Row]) -> Result<()> {
        let mut wrong = Vec::new();
        for row in rows {
            let at = format!("{:?} on {:?}", row.rpc, row.on);
            let title = format!("{:?}", row.rpc);
            let target = self.target(row.on, &title).await?;
            let before = self.snapshot().await?;
            for actor in ACTORS {
                let (code, reason) = expected(row, actor);
                if code == Code::Ok {
                    continue;
                }
                match self.call(row.rpc, actor, &target).await {
                    Ok(done) => wrong.push(format!("{at} as {actor:?}: want {code:?} {reason}, got OK {done:?}")),
                    Err(e) if e.code() != code || e.reason() != Some(reason) => wrong.push(format!(
                        "{at} as {actor:?}: want {code:?} {reason}, got {:?} {:?}: {}",
                        e.code(),
                        e.reason(),
                        e.message()
                    )),
                    Err(_) => {}
                }
            }
            if self.snapshot().await? != before {
                wrong.push(format!("{at}: refused calls changed something"));
            }
            for (i, actor) in row.ok.iter().enumerate() {
                let fresh = i > 0 && row.rpc.writes() && row.on != On::Nothing;
                let target = if fresh { self.target(row.on, &title).await? } else { target.clone() };
                match self.call(row.rpc, *actor, &target).await {
                    Err(e) => wrong.push(format!("{at} as {actor:?}: want OK, got {e}")),
                    Ok(Done::Dispute(got)) => {
                        if let Some(after) = row.after
                            && got.state() != after
                        {
                            wrong.push(format!("{at} as {actor:?}: {:?} after the call, want {after:?}", got.state()));
                        }
                        if let Some(before) = &target.dispute
                            && (got.id != before.id || (got.etag != before.etag) != row.rpc.writes())
                        {
                            wrong.push(format!("{at} as {actor:?}: answered {}@{}", got.id, got.etag));
                        }
                    }
                    Ok(Done::Team(id)) if row.rpc != Rpc::CreateTeam && id != self.w.village_team.id => {
                        wrong.push(format!("{at} as {actor:?}: answered team {id}"))
                    }
                    Ok(Done::Member(id))
                        if row.rpc == Rpc::RemoveTeamMember && Some(&id) != target.member.as_ref().map(|m| &m.id) =>
                    {
                        wrong.push(format!("{at} as {actor:?}: answered member {id}"))
                    }
                    Ok(Done::Read(0)) if matches!(row.rpc, Rpc::ListDisputeEvents | Rpc::ListTeams) => {
                        wrong.push(format!("{at} as {actor:?}: an empty answer"))
                    }
                    Ok(_) => {}
                }
            }
        }
        if !wrong.is_empty() {
            bail!("{} cells differ from the matrix:\n{}", wrong.len(), wrong.join("\n"));
        }
        Ok(())
    }
}

use DisputeStage as D;
use pb::DisputeState as S;

/// Teams, members, screening rounds, referrals, new disputes, lists and
/// figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mediation_matrix_teams_screenings_and_lists() -> Result<()> {
    let lab = Lab::new().await?;
    lab.run(&[
        // Teams are the directory's: admins make and change them, everyone reads them.
        row(Rpc::CreateTeam, On::Nothing, &[Admin], &[]),
        row(Rpc::GetTeam, On::Nothing, SIGNED_IN, &[]),
        row(Rpc::ListTeams, On::Nothing, SIGNED_IN, &[]),
        row(Rpc::UpdateTeam, On::Nothing, &[Admin], &[]),
        // A head manages the team's members; the team, the heads overseeing
        // the village and the county's staff list them.
        row(Rpc::AddTeamMember, On::Nothing, &[VillageHead, Admin], &[]),
        row(Rpc::RemoveTeamMember, On::Member, &[VillageHead, Admin], &[]),
        row(
            Rpc::ListTeamMembers,
            On::Nothing,
            &[VillageHead, VillageMediator, TownshipHead, CountyHead, Clerk, Admin],
            &[],
        ),
        // Any member records a round; the heads overseeing the village read them.
        row(Rpc::RecordScreening, On::Nothing, TEAM, &[]),
        row(
            Rpc::ListScreenings,
            On::Nothing,
            &[VillageHead, VillageMediator, TownshipHead, CountyHead, Clerk, Admin],
            &[],
        ),
        // The township's figures and gaps: its staff, the heads covering it.
        row(Rpc::ListUncoveredRegions, On::Nothing, &[TownshipHead, CountyHead, Clerk, Admin], &[]).outside(OUTSIDE),
        row(Rpc::GetMediationStatistics, On::Nothing, &[TownshipHead, CountyHead, Clerk, Admin], &[]).outside(OUTSIDE),
        // A registered case is the bureau's to divert; those who may not
        // see it get NOT_FOUND: mediators see no petition case by region.
        row(
            Rpc::ReferCaseToMediation,
            On::Case,
            &[Clerk],
            &[VillageHead, VillageMediator, OtherMediator, TownshipHead, CountyHead, ClerkB, Court, NonParty],
        )
        .after(S::AwaitingConsent),
        // The team records applications; a party files their own.
        row(Rpc::CreateDispute, On::Nothing, &[VillageHead, VillageMediator, Party], &[]).after(S::AwaitingConsent),
        // A court refers through its own account.
        row(Rpc::CreateDisputeFromCourt, On::Nothing, &[Court], &[]).after(S::AwaitingConsent),
        row(Rpc::ListDisputes, On::Nothing, SIGNED_IN, &[]),
    ])
    .await
}

/// Every dispute transition, and reading before and after the court was
/// applied to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mediation_matrix_dispute_lifecycle() -> Result<()> {
    let lab = Lab::new().await?;
    lab.run(&[
        row(Rpc::GetDispute, On::Dispute(D::Settled), VISIBLE, HIDDEN),
        row(Rpc::ListDisputeEvents, On::Dispute(D::Settled), VISIBLE, HIDDEN),
        row(Rpc::GetDispute, On::Dispute(D::Applied), VISIBLE_APPLIED, HIDDEN_APPLIED),
        row(Rpc::ListDisputeEvents, On::Dispute(D::Applied), VISIBLE_APPLIED, HIDDEN_APPLIED),
        // A party answers for themselves; the head or the mediator records it.
        row(Rpc::RecordConsent, On::Dispute(D::Awaiting), &[VillageHead, VillageMediator, Party], HIDDEN)
            .after(S::AwaitingConsent),
        row(Rpc::ObjectToMediator, On::Dispute(D::Awaiting), &[VillageHead, VillageMediator, Party], HIDDEN)
            .after(S::AwaitingConsent),
        // The head names the mediator and escalates.
        row(Rpc::AssignMediator, On::Dispute(D::Recorded), &[VillageHead], HIDDEN).after(S::AwaitingConsent),
        row(Rpc::EscalateDispute, On::Dispute(D::Accepted), &[VillageHead], HIDDEN).after(S::Accepted),
        // The mediator or the head mediates.
        row(Rpc::RecuseMediator, On::Dispute(D::Awaiting), TEAM, HIDDEN).after(S::AwaitingConsent),
        row(Rpc::RecordSession, On::Dispute(D::Accepted), TEAM, HIDDEN).after(S::InMediation),
        row(Rpc::RecordAgreement, On::Dispute(D::InMediation), TEAM, HIDDEN).after(S::Settled),
        row(Rpc::RecordFailure, On::Dispute(D::InMediation), TEAM, HIDDEN).after(S::Failed),
        row(Rpc::RecordPerformance, On::Dispute(D::Settled), TEAM, HIDDEN).after(S::Settled),
        row(Rpc::ApplyForCourtConfirmation, On::Dispute(D::Settled), TEAM, HIDDEN).after(S::Settled),
        // Only the court applied to answers.
        row(Rpc::AnswerCourtConfirmation, On::Dispute(D::Applied), &[Court], HIDDEN_APPLIED).after(S::Settled),
    ])
    .await
}
