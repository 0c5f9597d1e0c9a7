//! Lawyers in petition cases (the seed's 访前, 事中 and 事后): a clerk asks
//! for one at reception, the unit asks for an opinion while handling, a
//! lawyer records their own part and a clerk records it for a legal
//! adviser without an account; the case and its timeline show them; who
//! may not is refused.

use anyhow::Result;
use futures::TryStreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::builders::{organization, signed_in_staff};
use petition_tests::*;

use crate::support::{assert_typed_event, expect_error, expect_invalid, expect_precondition};

fn today() -> String {
    petition_server::time::shanghai_today().format("%Y-%m-%d").to_string()
}

fn ask(case: &pb::Case, stage: pb::LawyerStage) -> pb::RequestLawyerRequest {
    pb::RequestLawyerRequest {
        case_id: case.id.clone(),
        stage: stage.into(),
        note: "当事人诉求涉及法律关系认定，请律师提出意见".into(),
        ..Default::default()
    }
}

fn part(case: &pb::Case, stage: pb::LawyerStage, service: pb::LawyerService) -> pb::RecordLawyerParticipationRequest {
    pb::RecordLawyerParticipationRequest {
        case_id: case.id.clone(),
        stage: stage.into(),
        capacity: pb::LawyerCapacity::PublicLawyer.into(),
        service: service.into(),
        service_date: today(),
        summary: "经审查，该事项属民事纠纷，建议通过诉讼解决。".into(),
        ..Default::default()
    }
}

fn lawyers(case: &pb::Case) -> pb::CaseLawyers {
    case.lawyers.clone().unwrap_or_default()
}

async fn lawyer_of_county_a(w: &CaseWorld) -> Result<(Client, pb::Organization)> {
    let centre =
        organization(&w.admin, "章贡区法律援助中心", pb::OrganizationKind::LegalAidCentre, &w.dir.county_a, None)
            .await?;
    let (lawyer, _) = signed_in_staff(&w.admin, "lawyer.a", &centre, &[pb::Role::Lawyer]).await?;
    Ok((lawyer, centre))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lawyers_take_part_before_during_and_after_and_the_case_shows_them() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let (lawyer, centre) = lawyer_of_county_a(&w).await?;

    // 访前: the clerk asks the centre for a lawyer at reception.
    let case = w.submit(claim("房屋买卖合同纠纷")).await?;
    let asked = w
        .clerk
        .cases()
        .request_lawyer(pb::RequestLawyerRequest {
            organization_id: centre.id.clone(),
            ..ask(&case, pb::LawyerStage::BeforeVisit)
        })
        .await?;
    let requests = lawyers(&asked).requests;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].organization_id, centre.id);
    assert_eq!(requests[0].requested_by_organization_id, w.dir.bureau_a.id);
    assert!(!requests[0].answered);
    // One open request per stage.
    expect_precondition(
        w.clerk.cases().request_lawyer(ask(&case, pb::LawyerStage::BeforeVisit)).await,
        "LAWYER_ALREADY_REQUESTED",
        &format!("cases/{}", case.id),
    );
    // The lawyer records their own consultation; it answers the request and
    // carries the lawyer's account and name.
    let consulted = lawyer
        .cases()
        .record_lawyer_participation(part(&case, pb::LawyerStage::BeforeVisit, pb::LawyerService::Consultation))
        .await?;
    let l = lawyers(&consulted);
    assert!(l.requests[0].answered);
    let me = lawyer.identity().get_me().await?;
    assert_eq!(l.participations.len(), 1);
    assert_eq!(l.participations[0].lawyer_account_id, me.id);
    assert_eq!(l.participations[0].lawyer_name, me.display_name);
    // A lawyer records only their own part.
    expect_invalid(
        lawyer
            .cases()
            .record_lawyer_participation(pb::RecordLawyerParticipationRequest {
                lawyer_name: "别人".into(),
                ..part(&case, pb::LawyerStage::BeforeVisit, pb::LawyerService::Consultation)
            })
            .await,
        &["lawyer_name"],
    );
    // The wrong stage for the case's state.
    expect_precondition(
        lawyer
            .cases()
            .record_lawyer_participation(part(&case, pb::LawyerStage::AfterOutcome, pb::LawyerService::FollowUp))
            .await,
        "INVALID_STATE",
        &format!("cases/{}", case.id),
    );

    // 事中: the unit asks for an opinion once it handles the case; a clerk
    // records it for a village legal adviser without an account.
    let accepted = w.accepted_case("征地补偿标准争议").await?;
    w.handler.cases().request_lawyer(ask(&accepted, pb::LawyerStage::DuringHandling)).await?;
    expect_invalid(
        w.clerk
            .cases()
            .record_lawyer_participation(part(&accepted, pb::LawyerStage::DuringHandling, pb::LawyerService::Opinion))
            .await,
        &["lawyer_name"],
    );
    let opinion = w
        .handler
        .cases()
        .record_lawyer_participation(pb::RecordLawyerParticipationRequest {
            lawyer_name: "赵顾问".into(),
            capacity: pb::LawyerCapacity::VillageLegalAdviser.into(),
            affiliation: "厚德路社区".into(),
            ..part(&accepted, pb::LawyerStage::DuringHandling, pb::LawyerService::Opinion)
        })
        .await?;
    let l = lawyers(&opinion);
    assert!(l.requests[0].answered);
    assert_eq!(l.participations[0].lawyer_account_id, "");
    assert_eq!(l.participations[0].capacity(), pb::LawyerCapacity::VillageLegalAdviser);

    // 事后: after the reply, the lawyer follows the outcome up.
    let replied = w.replied_case("物业维修基金使用").await?;
    lawyer
        .cases()
        .record_lawyer_participation(part(&replied, pb::LawyerStage::AfterOutcome, pb::LawyerService::FollowUp))
        .await?;

    // The timeline carries both events, typed.
    let events: Vec<pb::CaseEvent> = w.clerk.cases().case_events(&case.id).try_collect().await?;
    events.iter().for_each(assert_typed_event);
    let types: Vec<pb::CaseEventType> = events.iter().map(|e| e.r#type()).collect();
    assert!(types.contains(&pb::CaseEventType::LawyerRequested));
    assert!(types.contains(&pb::CaseEventType::LawyerParticipated));
    // The petitioner sees who advised on their case.
    let seen = w.owner.cases().get_case(&case.id).await?;
    assert_eq!(lawyers(&seen).participations.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_bureau_the_unit_and_lawyers_may_and_input_is_checked() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.submit(claim("邻里纠纷")).await?;
    let accepted = w.accepted_case("劳动报酬争议").await?;
    let before = || ask(&case, pb::LawyerStage::BeforeVisit);
    let during = || ask(&accepted, pb::LawyerStage::DuringHandling);
    let advice = || part(&case, pb::LawyerStage::BeforeVisit, pb::LawyerService::Consultation);

    // Asking: not the petitioner, not a unit before it handles the case,
    // not the bureau once the unit has it; outside the jurisdiction the case
    // does not exist.
    expect_error(w.owner.cases().request_lawyer(before()).await, Code::PermissionDenied, None);
    expect_error(w.handler.cases().request_lawyer(before()).await, Code::PermissionDenied, None);
    expect_error(w.clerk.cases().request_lawyer(during()).await, Code::PermissionDenied, None);
    expect_error(w.clerk_b.cases().request_lawyer(before()).await, Code::NotFound, None);
    expect_error(w.handler_b.cases().request_lawyer(during()).await, Code::NotFound, None);
    expect_error(w.leader.cases().request_lawyer(before()).await, Code::PermissionDenied, None);
    expect_error(w.partner.cases().request_lawyer(before()).await, Code::NotFound, None);
    expect_error(w.admin.cases().request_lawyer(before()).await, Code::PermissionDenied, None);
    // Recording: not the petitioner, not a supervisor, not a partner, not
    // an admin; a lawyer of another county does not see the case.
    expect_error(w.owner.cases().record_lawyer_participation(advice()).await, Code::PermissionDenied, None);
    expect_error(w.supervisor.cases().record_lawyer_participation(advice()).await, Code::PermissionDenied, None);
    expect_error(w.partner.cases().record_lawyer_participation(advice()).await, Code::NotFound, None);
    expect_error(w.admin.cases().record_lawyer_participation(advice()).await, Code::PermissionDenied, None);
    let county_b_centre =
        organization(&w.admin, "于都县法律援助中心", pb::OrganizationKind::LegalAidCentre, &w.dir.county_b, None)
            .await?;
    let (lawyer_b, _) = signed_in_staff(&w.admin, "lawyer.b", &county_b_centre, &[pb::Role::Lawyer]).await?;
    expect_error(lawyer_b.cases().record_lawyer_participation(advice()).await, Code::NotFound, None);

    // Bad input, field by field.
    expect_invalid(
        w.clerk
            .cases()
            .request_lawyer(pb::RequestLawyerRequest {
                stage: 9,
                note: String::new(),
                organization_id: "not-an-id".into(),
                ..before()
            })
            .await,
        &["organization_id"],
    );
    expect_invalid(
        w.clerk.cases().request_lawyer(pb::RequestLawyerRequest { stage: 9, note: String::new(), ..before() }).await,
        &["stage", "note"],
    );
    expect_invalid(
        w.clerk
            .cases()
            .request_lawyer(pb::RequestLawyerRequest { organization_id: w.court.id.clone(), ..before() })
            .await,
        &["organization_id"],
    );
    expect_invalid(
        w.clerk
            .cases()
            .record_lawyer_participation(pb::RecordLawyerParticipationRequest {
                lawyer_name: "赵顾问".into(),
                capacity: 0,
                service: 42,
                service_date: "2026-02-30".into(),
                summary: " ".into(),
                ..advice()
            })
            .await,
        &["capacity", "service", "service_date", "summary"],
    );
    let tomorrow = (petition_server::time::shanghai_today() + chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    expect_invalid(
        w.clerk
            .cases()
            .record_lawyer_participation(pb::RecordLawyerParticipationRequest {
                lawyer_name: "赵顾问".into(),
                service_date: tomorrow,
                ..advice()
            })
            .await,
        &["service_date"],
    );
    // An accusation goes to the discipline channel, not to lawyers.
    let accusation = w
        .submit(pb::CaseDraft {
            kind: pb::CaseKind::Accusation.into(),
            category_code: "discipline".into(),
            ..claim("检举某干部")
        })
        .await?;
    expect_precondition(
        w.clerk.cases().request_lawyer(ask(&accusation, pb::LawyerStage::BeforeVisit)).await,
        "ACCUSATION_NOT_SHARED",
        &format!("cases/{}", accusation.id),
    );
    // A replayed request answers as the first time and records nothing twice.
    let again = pb::RequestLawyerRequest { request_id: "ask-once".into(), ..before() };
    let first = w.clerk.cases().request_lawyer(again.clone()).await?;
    let second = w.clerk.cases().request_lawyer(again).await?;
    assert_eq!(first, second);
    assert_eq!(lawyers(&second).requests.len(), 1);
    Ok(())
}
