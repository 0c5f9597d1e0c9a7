//! A petition case diverted to people's mediation (诉调/访调对接) and back:
//! the case shows its dispute and, once it ends, how; a settled agreement
//! lets the handling unit close the case citing it; accusations are never
//! mediated.

use anyhow::{Context, Result};
use futures::TryStreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::mediation_world::*;
use petition_tests::*;

use crate::support::{assert_typed_event, expect_error, expect_invalid, expect_precondition};

/// The other side of the owner's quarrel: the upstairs neighbour.
fn neighbour() -> pb::NewDisputeParty {
    pb::NewDisputeParty { name: "楼上住户".into(), phone: phone(), ..Default::default() }
}

fn refer(case: &pb::Case, team: &pb::MediationTeam) -> pb::ReferCaseToMediationRequest {
    pb::ReferCaseToMediationRequest {
        case_id: case.id.clone(),
        team_id: team.id.clone(),
        other_parties: vec![neighbour()],
        category: pb::DisputeCategory::Property.into(),
        ..Default::default()
    }
}

fn mediation(case: &pb::Case) -> (String, String, pb::MediationOutcome) {
    let m = case.mediation.clone().unwrap_or_default();
    (m.dispute_id.clone(), m.team_id.clone(), m.outcome())
}

async fn case_events(client: &Client, case_id: &str) -> Result<Vec<pb::CaseEvent>> {
    let events: Vec<pb::CaseEvent> = client.cases().case_events(case_id).try_collect().await?;
    events.iter().for_each(assert_typed_event);
    Ok(events)
}

/// The township team takes the referred dispute to `end`: the owner and
/// the neighbour consent, its head mediates, and it fails or settles.
async fn mediate(w: &MediationWorld, dispute: &pb::Dispute, settle: bool) -> Result<pb::Dispute> {
    let head = w.township_head.mediation();
    let ids = party_ids(dispute);
    let owner = w.cw.owner.mediation();
    owner
        .record_consent(pb::RecordConsentRequest {
            dispute_id: dispute.id.clone(),
            party_id: ids[0].clone(),
            consents: true,
            ..Default::default()
        })
        .await?;
    head.record_consent(pb::RecordConsentRequest {
        dispute_id: dispute.id.clone(),
        party_id: ids[1].clone(),
        consents: true,
        ..Default::default()
    })
    .await?;
    head.assign_mediator(pb::AssignMediatorRequest {
        dispute_id: dispute.id.clone(),
        member_id: w.township_head.member.id.clone(),
        ..Default::default()
    })
    .await?;
    head.record_session(pb::RecordSessionRequest {
        dispute_id: dispute.id.clone(),
        session: Some(pb::MediationSession { place: "街道调解室".into(), ..session("") }),
        ..Default::default()
    })
    .await?;
    if settle {
        Ok(head
            .record_agreement(pb::RecordAgreementRequest {
                dispute_id: dispute.id.clone(),
                agreement: Some(written_agreement(&[&ids[1]], "", &days_from_now(10))),
                ..Default::default()
            })
            .await?)
    } else {
        Ok(head
            .record_failure(pb::RecordFailureRequest {
                dispute_id: dispute.id.clone(),
                failure: Some(pb::Failure {
                    reason: pb::FailureReason::NoAgreement.into(),
                    advised_routes: vec![pb::AdvisedRoute::Judicial.into()],
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await?)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referred_case_shows_its_dispute_and_how_it_ended() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = MediationWorld::create(&server).await?;
    let cw = &w.cw;
    let clerk = cw.clerk.mediation();
    let case = cw.submit(claim("楼上漏水")).await?;

    // The team must take disputes of the case's place (the township).
    expect_precondition(
        clerk.refer_case_to_mediation(refer(&case, &w.village_team)).await,
        "TEAM_NOT_COVERING",
        &format!("teams/{}", w.village_team.id),
    );
    let petitioner_again = pb::NewDisputeParty { account_id: cw.owner_id.clone(), ..Default::default() };
    expect_invalid(
        clerk
            .refer_case_to_mediation(pb::ReferCaseToMediationRequest {
                other_parties: vec![petitioner_again],
                ..refer(&case, &w.township_team)
            })
            .await,
        &["other_parties"],
    );
    let not_a_citizen = pb::NewDisputeParty { account_id: w.township_head.account_id.clone(), ..Default::default() };
    expect_invalid(
        clerk
            .refer_case_to_mediation(pb::ReferCaseToMediationRequest {
                other_parties: vec![not_a_citizen],
                ..refer(&case, &w.township_team)
            })
            .await,
        &["other_parties[0].account_id"],
    );
    let unchanged = cw.clerk.cases().get_case(&case.id).await?;
    assert_eq!((unchanged.etag.as_str(), unchanged.mediation.as_ref()), (case.etag.as_str(), None));

    // The clerk diverts the registered case to the township team.
    let dispute = clerk.refer_case_to_mediation(refer(&case, &w.township_team)).await?;
    assert_eq!(
        (dispute.source(), dispute.case_id.as_str(), dispute.team_id.as_str(), dispute.state()),
        (
            pb::DisputeSource::CaseReferral,
            case.id.as_str(),
            w.township_team.id.as_str(),
            pb::DisputeState::AwaitingConsent
        )
    );
    assert_eq!(
        (dispute.matter.as_str(), dispute.region_code.as_str()),
        (case.title.as_str(), case.region_code.as_str())
    );
    assert_eq!(dispute.parties.len(), 2);
    assert_eq!(dispute.parties[0].account_id, cw.owner_id, "the petitioner is a party");
    let referred = cw.clerk.cases().get_case(&case.id).await?;
    assert_eq!(mediation(&referred), (dispute.id.clone(), w.township_team.id.clone(), pb::MediationOutcome::Pending));
    assert_eq!(referred.mediation.as_ref().map(|m| m.refer_date.clone()), Some(days_ago(0)));
    let events = case_events(&cw.clerk, &case.id).await?;
    let last = events.last().context("the case's timeline")?;
    assert_eq!(last.r#type(), pb::CaseEventType::ReferredToMediation);
    match &last.detail {
        Some(pb::case_event::Detail::ReferredToMediation(r)) => {
            assert_eq!((r.dispute_id.as_str(), r.team_id.as_str()), (dispute.id.as_str(), w.township_team.id.as_str()))
        }
        other => anyhow::bail!("{other:?}"),
    }
    // The petitioner sees the dispute as a party; one open dispute per case.
    assert_eq!(cw.owner.mediation().get_dispute(&dispute.id).await?.id, dispute.id);
    expect_precondition(
        clerk.refer_case_to_mediation(refer(&referred, &w.township_team)).await,
        "ALREADY_REFERRED",
        &format!("cases/{}", case.id),
    );

    // Mediation fails: the case is back with its outcome.
    let failed = mediate(&w, &dispute, false).await?;
    assert_eq!(failed.state(), pb::DisputeState::Failed);
    let back = cw.clerk.cases().get_case(&case.id).await?;
    assert_eq!(mediation(&back), (dispute.id.clone(), w.township_team.id.clone(), pb::MediationOutcome::Failed));
    let events = case_events(&cw.clerk, &case.id).await?;
    let last = events.last().context("the case's timeline")?;
    assert_eq!(last.r#type(), pb::CaseEventType::MediationConcluded);
    match &last.detail {
        Some(pb::case_event::Detail::MediationConcluded(c)) => {
            assert_eq!((c.dispute_id.as_str(), c.outcome()), (dispute.id.as_str(), pb::MediationOutcome::Failed))
        }
        other => anyhow::bail!("{other:?}"),
    }
    // A second try is allowed once the first has ended; the petitioner refuses it.
    let second = clerk.refer_case_to_mediation(refer(&back, &w.township_team)).await?;
    assert_ne!(second.id, dispute.id);
    let again = cw.clerk.cases().get_case(&case.id).await?;
    assert_eq!(mediation(&again), (second.id.clone(), w.township_team.id.clone(), pb::MediationOutcome::Pending));
    cw.owner
        .mediation()
        .record_consent(pb::RecordConsentRequest {
            dispute_id: second.id.clone(),
            party_id: second.parties[0].id.clone(),
            consents: false,
            note: "要求信访部门处理".into(),
            ..Default::default()
        })
        .await?;
    let refused = cw.clerk.cases().get_case(&case.id).await?;
    assert_eq!(mediation(&refused).2, pb::MediationOutcome::Refused);
    let listed =
        clerk.list_disputes(pb::ListDisputesRequest { case_id: case.id.clone(), ..Default::default() }).await?.disputes;
    let listed: Vec<&str> = listed.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(listed, [second.id.as_str(), dispute.id.as_str()], "the case's disputes, newest first");

    // An accepted case is the handling unit's to divert, and its reply may
    // cite the agreement once it is settled.
    let accepted = cw.accepted_case("物业费纠纷").await?;
    expect_error(
        clerk.refer_case_to_mediation(refer(&accepted, &w.township_team)).await,
        Code::PermissionDenied,
        Some("PERMISSION_DENIED"),
    );
    let handler = cw.handler.mediation();
    let diverted = handler.refer_case_to_mediation(refer(&accepted, &w.township_team)).await?;
    assert_eq!(handler.get_dispute(&diverted.id).await?.id, diverted.id, "the handling unit sees what it referred");
    expect_error(cw.handler_b.mediation().get_dispute(&diverted.id).await, Code::NotFound, Some("NOT_FOUND"));
    let reply = |case: &pb::Case, dispute_id: &str| pb::ReplyToCaseRequest {
        case_id: case.id.clone(),
        opinion: Some(pb::Opinion { mediation_dispute_id: dispute_id.into(), ..opinion() }),
        ..Default::default()
    };
    let subject = format!("cases/{}", accepted.id);
    expect_precondition(
        cw.handler.cases().reply_to_case(reply(&accepted, &diverted.id)).await,
        "INVALID_STATE",
        &subject,
    );
    expect_precondition(
        cw.handler.cases().reply_to_case(reply(&accepted, &dispute.id)).await,
        "INVALID_STATE",
        &subject,
    );
    let settled = mediate(&w, &diverted, true).await?;
    assert_eq!(settled.state(), pb::DisputeState::Settled);
    let replied = cw.handler.cases().reply_to_case(reply(&accepted, &diverted.id)).await?;
    assert_eq!(replied.state(), pb::CaseState::Replied);
    assert_eq!(replied.reply.as_ref().map(|o| o.mediation_dispute_id.as_str()), Some(diverted.id.as_str()));
    assert_eq!(mediation(&replied).2, pb::MediationOutcome::Settled);

    // Accusations are never mediated (Art.30: the discipline channel).
    let accusation = cw
        .submit(pb::CaseDraft {
            kind: pb::CaseKind::Accusation.into(),
            category_code: "discipline".into(),
            title: "反映干部问题".into(),
            ..claim("")
        })
        .await?;
    expect_precondition(
        clerk.refer_case_to_mediation(refer(&accusation, &w.township_team)).await,
        "ACCUSATION_NOT_SHARED",
        &format!("cases/{}", accusation.id),
    );
    let all = cw.admin.mediation().list_disputes(pb::ListDisputesRequest::default()).await?.disputes;
    assert_eq!(all.len(), 3, "refused referrals recorded no dispute");
    Ok(())
}
