//! Court linkage (信访+司法, 诉访分离) through the SDK: a referral from the
//! court's acknowledgment through filing and hearings to its outcome, each
//! court act replayed with its request id; a case declined for litigation
//! referred, returned and referred again, withdrawn; bad case numbers and
//! illegal transitions.

use anyhow::{Context, Result};
use futures::TryStreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::courts_world::*;
use petition_tests::mediation_world::days_from_now;
use petition_tests::*;

use crate::support::{assert_typed, assert_typed_event, eventually, expect_error, expect_invalid, expect_precondition};

async fn case_events(client: &Client, case_id: &str) -> Result<Vec<pb::CaseEvent>> {
    let events: Vec<pb::CaseEvent> = client.cases().case_events(case_id).try_collect().await?;
    events.iter().for_each(assert_typed_event);
    Ok(events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referral_goes_from_acknowledgment_to_outcome_and_replays_answer_first() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CourtWorld::create(&server).await?;
    let cw = &w.cw;
    let court = cw.partner.courts();
    let case = cw.accepted_case("物业拒不维修管道").await?;
    let handler_id = cw.handler.identity().get_me().await?.id;
    let partner_id = cw.partner.identity().get_me().await?.id;

    // The handling unit refers the accepted case; a replay is the first answer.
    let request = pb::ReferCaseToCourtRequest { request_id: "refer-1".into(), ..refer(&case, &cw.court) };
    let referral = cw.handler.courts().refer_case_to_court(request.clone()).await?;
    assert_eq!(cw.handler.courts().refer_case_to_court(request.clone()).await?, referral);
    assert_eq!(referral.state(), pb::CourtReferralState::Referred);
    assert_eq!((referral.case_number.as_str(), referral.parties.len()), (case.number.as_str(), 2));
    assert_eq!(referral.referring_organization_id, cw.dir.unit_a.id);
    expect_error(
        cw.handler
            .courts()
            .refer_case_to_court(pb::ReferCaseToCourtRequest { claim_summary: "另一请求".into(), ..request })
            .await,
        Code::AlreadyExists,
        Some("REQUEST_ID_REUSED"),
    );

    // The court's in-tray shows it; the court reads the case file.
    let tray = listed(
        &cw.partner,
        pb::ListCourtReferralsRequest {
            court_organization_id: cw.court.id.clone(),
            awaiting_acknowledgment: true,
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(tray.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [referral.id.as_str()]);
    assert_eq!(cw.partner.cases().get_case(&case.id).await?.id, case.id);

    // Each court act, replayed with its request id, answers as first.
    let ack = pb::AcknowledgeCourtReferralRequest {
        court_referral_id: referral.id.clone(),
        note: "已收到，进入立案审查".into(),
        request_id: "ack-1".into(),
        ..Default::default()
    };
    let acknowledged = court.acknowledge_court_referral(ack.clone()).await?;
    assert_eq!(acknowledged.state(), pb::CourtReferralState::Acknowledged);
    assert_eq!(court.acknowledge_court_referral(ack).await?, acknowledged);
    let file = pb::RecordCourtFilingRequest {
        court_referral_id: referral.id.clone(),
        court_case_number: "(2026)赣0702民初123号".into(),
        judge: "王法官".into(),
        etag: acknowledged.etag.clone(),
        request_id: "file-1".into(),
        ..Default::default()
    };
    let filed = court.record_court_filing(file.clone()).await?;
    assert_eq!(filed.court_case_number, "（2026）赣0702民初123号", "stored with full-width parentheses");
    assert_eq!(court.record_court_filing(file).await?, filed);
    let first = court
        .schedule_court_hearing(pb::ScheduleCourtHearingRequest {
            court_referral_id: referral.id.clone(),
            hearing_date: days_from_now(20),
            place: "第三审判庭".into(),
            ..Default::default()
        })
        .await?;
    let postpone = pb::ScheduleCourtHearingRequest {
        court_referral_id: referral.id.clone(),
        hearing_date: days_from_now(35),
        place: "第三审判庭".into(),
        postpones_hearing_number: 1,
        request_id: "hearing-2".into(),
        ..Default::default()
    };
    let second = court.schedule_court_hearing(postpone.clone()).await?;
    assert_eq!(court.schedule_court_hearing(postpone).await?, second);
    assert_eq!(first.hearings.len(), 1);
    let hearings: Vec<(i32, bool, pb::CourtHearingKind)> =
        second.hearings.iter().map(|h| (h.number, h.postponed, h.kind())).collect();
    assert_eq!(hearings, [(1, true, pb::CourtHearingKind::Trial), (2, false, pb::CourtHearingKind::Trial)]);
    let outcome = pb::RecordCourtOutcomeRequest {
        court_referral_id: referral.id.clone(),
        outcome: pb::CourtOutcome::CourtMediation.into(),
        summary: "经法院调解，物业公司于十日内维修并赔偿两千元".into(),
        document_number: "（2026）赣0702民初123号".into(),
        request_id: "outcome-1".into(),
        ..Default::default()
    };
    let concluded = court.record_court_outcome(outcome.clone()).await?;
    assert_eq!(
        (concluded.state(), concluded.outcome()),
        (pb::CourtReferralState::Concluded, pb::CourtOutcome::CourtMediation)
    );
    // Replayed after the referral ended: still the first answer, no
    // precondition failure.
    assert_eq!(court.record_court_outcome(outcome).await?, concluded);
    assert_eq!(cw.handler.courts().get_court_referral(&referral.id).await?, concluded);

    // The case shows the referral and how it ended, with its events.
    let after = cw.handler.cases().get_case(&case.id).await?;
    let link = after.court_referrals.first().context("the case's referral")?;
    assert_eq!(
        (link.court_referral_id.as_str(), link.state(), link.court_case_number.as_str(), link.outcome()),
        (
            referral.id.as_str(),
            pb::CourtReferralState::Concluded,
            "（2026）赣0702民初123号",
            pb::CourtOutcome::CourtMediation
        )
    );
    let types: Vec<pb::CaseEventType> = case_events(&cw.handler, &case.id).await?.iter().map(|e| e.r#type()).collect();
    for t in [
        pb::CaseEventType::ReferredToCourt,
        pb::CaseEventType::AccessGranted,
        pb::CaseEventType::CourtReferralConcluded,
    ] {
        assert_eq!(types.iter().filter(|x| **x == t).count(), 1, "{t:?} in {types:?}");
    }

    // The referral's timeline: one event per act, with the acting account.
    let events: Vec<pb::CourtReferralEvent> = court.court_referral_events(&referral.id).try_collect().await?;
    use pb::CourtReferralEventType as T;
    let steps: Vec<(T, &str)> = events.iter().map(|e| (e.r#type(), e.actor_account_id.as_str())).collect();
    assert_eq!(
        steps,
        [
            (T::Referred, handler_id.as_str()),
            (T::Acknowledged, partner_id.as_str()),
            (T::Filed, partner_id.as_str()),
            (T::HearingScheduled, partner_id.as_str()),
            (T::HearingScheduled, partner_id.as_str()),
            (T::Concluded, partner_id.as_str()),
        ]
    );

    // The stored referral is the fold of its events.
    let url = server.database.as_ref().context("the server's database")?.url().to_owned();
    let id: uuid::Uuid = referral.id.parse()?;
    let (stored, folded) = tokio::task::spawn_blocking(move || -> Result<_> {
        use diesel::Connection;
        let mut conn = diesel::PgConnection::establish(&url)?;
        let stored = petition_server::courts::store::find_referral(&mut conn, id)?.context("the referral")?;
        let events = petition_server::event_log::timeline(&mut conn, id, 0, 100)?
            .iter()
            .map(petition_server::event_log::parse_event::<petition_server::courts::rules::Event>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((stored.lifecycle.0, petition_server::courts::rules::fold(&events)))
    })
    .await??;
    assert_eq!(folded, Some(stored));

    // The feed carries every step, to the court as to the handler.
    let sequences = |changes: &Vec<pb::Change>| -> Vec<i64> {
        changes
            .iter()
            .filter_map(|c| match &c.event {
                Some(pb::change::Event::CourtReferralEvent(e)) if e.court_referral_id == referral.id => {
                    Some(e.sequence)
                }
                _ => None,
            })
            .collect()
    };
    for reader in [&cw.partner, &cw.handler] {
        let changes = eventually(|| all_changes(reader), |c| sequences(c).len() >= 6).await?;
        changes.iter().for_each(assert_typed);
        assert_eq!(sequences(&changes), [1, 2, 3, 4, 5, 6]);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_declined_for_litigation_is_referred_returned_and_withdrawn() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CourtWorld::create(&server).await?;
    let cw = &w.cw;
    let clerk = cw.clerk.courts();
    let court = cw.partner.courts();
    let case = w.declined_case("房屋买卖合同纠纷").await?;
    let referral = clerk.refer_case_to_court(refer(&case, &cw.court)).await?;
    expect_precondition(
        clerk.refer_case_to_court(refer(&case, &cw.court)).await,
        "COURT_REFERRAL_OPEN",
        &format!("cases/{}", case.id),
    );
    // The court returns it: not its jurisdiction.
    let returned = court
        .return_court_referral(pb::ReturnCourtReferralRequest {
            court_referral_id: referral.id.clone(),
            reason: pb::CourtReturnReason::NotThisCourt.into(),
            explanation: "被告住所地在于都县".into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(
        (returned.state(), returned.return_reason()),
        (pb::CourtReferralState::Returned, pb::CourtReturnReason::NotThisCourt)
    );
    expect_precondition(
        court
            .acknowledge_court_referral(pb::AcknowledgeCourtReferralRequest {
                court_referral_id: referral.id.clone(),
                ..Default::default()
            })
            .await,
        "COURT_REFERRAL_CLOSED",
        &format!("courtReferrals/{}", referral.id),
    );
    // Referred again (now closed, so allowed) and withdrawn before the
    // court acknowledged it.
    let again = clerk.refer_case_to_court(refer(&case, &cw.court)).await?;
    let withdrawn = clerk
        .withdraw_court_referral(pb::WithdrawCourtReferralRequest {
            court_referral_id: again.id.clone(),
            reason: "当事人已自行和解".into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(withdrawn.state(), pb::CourtReferralState::Withdrawn);
    // After acknowledgment the referring side can no longer withdraw.
    let third = clerk.refer_case_to_court(refer(&case, &cw.court)).await?;
    court
        .acknowledge_court_referral(pb::AcknowledgeCourtReferralRequest {
            court_referral_id: third.id.clone(),
            ..Default::default()
        })
        .await?;
    expect_precondition(
        clerk
            .withdraw_court_referral(pb::WithdrawCourtReferralRequest {
                court_referral_id: third.id.clone(),
                reason: "撤回".into(),
                ..Default::default()
            })
            .await,
        "ALREADY_ACKNOWLEDGED",
        &format!("courtReferrals/{}", third.id),
    );
    let after = cw.clerk.cases().get_case(&case.id).await?;
    let states: Vec<pb::CourtReferralState> = after.court_referrals.iter().map(|r| r.state()).collect();
    use pb::CourtReferralState as S;
    assert_eq!(states, [S::Returned, S::Withdrawn, S::Referred]);
    let listed_for_case =
        listed(&cw.clerk, pb::ListCourtReferralsRequest { case_id: case.id.clone(), ..Default::default() }).await?;
    assert_eq!(listed_for_case.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [&third.id, &again.id, &referral.id]);

    // A case declined for another reason is not referred; nor an accusation.
    let other = cw.submit(claim("另一事项")).await?;
    let other = cw
        .clerk
        .cases()
        .decline_case(pb::DeclineCaseRequest {
            case_id: other.id,
            reason: pb::DeclineReason::Other.into(),
            explanation: "无法联系信访人".into(),
            ..Default::default()
        })
        .await?;
    expect_precondition(
        clerk.refer_case_to_court(refer(&other, &cw.court)).await,
        "CASE_NOT_REFERABLE",
        &format!("cases/{}", other.id),
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_invalid_and_acts_out_of_order_fail_their_precondition() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CourtWorld::create(&server).await?;
    let cw = &w.cw;
    let court = cw.partner.courts();
    let case = cw.accepted_case("工资拖欠").await?;
    let handler = cw.handler.courts();
    expect_invalid(
        handler
            .refer_case_to_court(pb::ReferCaseToCourtRequest {
                court_organization_id: cw.dir.unit_a.id.clone(),
                ..refer(&case, &cw.court)
            })
            .await,
        &["court_organization_id"],
    );
    expect_invalid(
        handler
            .refer_case_to_court(pb::ReferCaseToCourtRequest {
                parties: vec![parties()[0].clone(), parties()[0].clone()],
                claim_summary: String::new(),
                refer_date: days_from_now(1),
                ..refer(&case, &cw.court)
            })
            .await,
        &["parties", "claim_summary"],
    );
    expect_invalid(
        handler
            .refer_case_to_court(pb::ReferCaseToCourtRequest {
                refer_date: days_from_now(1),
                ..refer(&case, &cw.court)
            })
            .await,
        &["refer_date"],
    );
    let referral = handler.refer_case_to_court(refer(&case, &cw.court)).await?;
    let subject = format!("courtReferrals/{}", referral.id);
    let file = |number: &str| pb::RecordCourtFilingRequest {
        court_referral_id: referral.id.clone(),
        court_case_number: number.into(),
        ..Default::default()
    };
    // Out of order: filing and hearings before acknowledgment.
    expect_precondition(court.record_court_filing(file("（2026）赣0702民初5号")).await, "INVALID_STATE", &subject);
    expect_precondition(
        court
            .schedule_court_hearing(pb::ScheduleCourtHearingRequest {
                court_referral_id: referral.id.clone(),
                hearing_date: days_from_now(3),
                ..Default::default()
            })
            .await,
        "INVALID_STATE",
        &subject,
    );
    expect_invalid(
        court
            .acknowledge_court_referral(pb::AcknowledgeCourtReferralRequest {
                court_referral_id: referral.id.clone(),
                acknowledge_date: days_from_now(2),
                ..Default::default()
            })
            .await,
        &["acknowledge_date"],
    );
    court
        .acknowledge_court_referral(pb::AcknowledgeCourtReferralRequest {
            court_referral_id: referral.id.clone(),
            ..Default::default()
        })
        .await?;
    // Court case numbers that do not parse: the field names the part.
    for (bad, part) in [
        ("", "required"),
        ("2026赣0702民初5号", "parentheses"),
        ("（1900）赣0702民初5号", "year"),
        ("（2026）港0702民初5号", "court code"),
        ("（2026）赣0702民X5号", "case type"),
        ("（2026）赣0702民初05号", "serial"),
        ("（2026）赣0702民初5", "号"),
    ] {
        let error = expect_invalid(court.record_court_filing(file(bad)).await, &["court_case_number"]);
        let violation = error.field_violations().into_iter().next().context("a violation")?;
        assert!(violation.description.contains(part), "{bad}: {}", violation.description);
    }
    court.record_court_filing(file("（2026）赣0702民初5号")).await?;
    // The same number on another referral of the same court.
    let other = w.referral("另一工资拖欠").await?;
    court
        .acknowledge_court_referral(pb::AcknowledgeCourtReferralRequest {
            court_referral_id: other.id.clone(),
            ..Default::default()
        })
        .await?;
    expect_precondition(
        court
            .record_court_filing(pb::RecordCourtFilingRequest {
                court_referral_id: other.id.clone(),
                court_case_number: "(2026)赣0702民初5号".into(),
                ..Default::default()
            })
            .await,
        "COURT_CASE_NUMBER_IN_USE",
        &format!("courtReferrals/{}", other.id),
    );
    // A dismissal carries no document number; an outcome needs a summary.
    expect_invalid(
        court
            .record_court_outcome(pb::RecordCourtOutcomeRequest {
                court_referral_id: referral.id.clone(),
                outcome: pb::CourtOutcome::Dismissal.into(),
                summary: "驳回起诉".into(),
                document_number: "（2026）赣0702民初5号".into(),
                ..Default::default()
            })
            .await,
        &["document_number"],
    );
    expect_invalid(
        court
            .record_court_outcome(pb::RecordCourtOutcomeRequest {
                court_referral_id: referral.id.clone(),
                ..Default::default()
            })
            .await,
        &["outcome", "summary"],
    );
    // Filed: no return, no withdrawal; the typed reasons say why.
    expect_precondition(
        court
            .return_court_referral(pb::ReturnCourtReferralRequest {
                court_referral_id: referral.id.clone(),
                reason: pb::CourtReturnReason::NotLitigable.into(),
                ..Default::default()
            })
            .await,
        "INVALID_STATE",
        &subject,
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mediation_confirmation_answered_with_a_bad_case_number_is_invalid() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = MediationWorld::create(&server).await?;
    let dispute = w.dispute_in(DisputeStage::Applied, "宅基地边界").await?;
    let answer = |number: &str| pb::AnswerCourtConfirmationRequest {
        dispute_id: dispute.id.clone(),
        decision: pb::ConfirmationState::Confirmed.into(),
        court_case_number: number.into(),
        ..Default::default()
    };
    let court = w.cw.partner.mediation();
    let error =
        expect_invalid(court.answer_court_confirmation(answer("（2026）赣0702民特")).await, &["court_case_number"]);
    assert!(error.field_violations()[0].description.contains("serial"), "{error}");
    expect_invalid(court.answer_court_confirmation(answer("赣0702民特1号")).await, &["court_case_number"]);
    // The same format, ASCII parentheses normalized.
    let confirmed = court.answer_court_confirmation(answer("(2026)赣0702民特1号")).await?;
    let number = confirmed.confirmation.map(|c| c.court_case_number).unwrap_or_default();
    assert_eq!(number, "（2026）赣0702民特1号");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_referrals_to_both_courts_in_every_state() -> Result<()> {
    let server = TestServer::spawn().await?;
    petition_server::seed::run(&server.state).await?;
    let client = server.client().await?;
    use pb::CourtReferralState as S;
    let mut seen = Vec::new();
    for login in [petition_server::seed::DEMO_COURT_CLIENT_ID, petition_server::courts::seed::DEMO_YD_COURT_CLIENT_ID] {
        let partner = client.new_session();
        partner.login_with_client_credentials(login, petition_server::seed::DEMO_PASSWORD, []).await?;
        let referrals = listed(&partner, pb::ListCourtReferralsRequest::default()).await?;
        assert_eq!(referrals.len(), 4, "{login}");
        let courts: std::collections::BTreeSet<&str> =
            referrals.iter().map(|r| r.court_organization_id.as_str()).collect();
        assert_eq!(courts.len(), 1, "{login} sees only its own court's referrals");
        seen.extend(referrals.iter().map(|r| r.state()));
    }
    for state in [S::Referred, S::Acknowledged, S::Filed, S::Concluded, S::Returned, S::Withdrawn] {
        assert!(seen.contains(&state), "{state:?} in {seen:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_courts_example_walks_a_referral_on_the_demo() -> Result<()> {
    let server = TestServer::spawn().await?;
    petition_server::seed::run(&server.state).await?;
    let stdout = crate::support::run_example("courts", &server.url).await?;
    assert!(stdout.contains("concluded: Judgment"), "{stdout}");
    assert!(stdout.contains("referral Concluded"), "{stdout}");
    Ok(())
}
