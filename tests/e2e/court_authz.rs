//! Court linkage's authorization matrix: every CourtService RPC denied to
//! whoever may not call it (NOT_FOUND when they may not see the referral,
//! PERMISSION_DENIED when they see it but may not act), and a partner of
//! another court that sees nothing: no referral, no event in its feed.

use anyhow::Result;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::courts_world::*;
use petition_tests::*;

use crate::support::{eventually, expect_error};

fn ack(id: &str) -> pb::AcknowledgeCourtReferralRequest {
    pb::AcknowledgeCourtReferralRequest { court_referral_id: id.into(), ..Default::default() }
}

fn filing(id: &str) -> pb::RecordCourtFilingRequest {
    pb::RecordCourtFilingRequest {
        court_referral_id: id.into(),
        court_case_number: "（2026）赣0702民初77号".into(),
        ..Default::default()
    }
}

fn hearing(id: &str) -> pb::ScheduleCourtHearingRequest {
    pb::ScheduleCourtHearingRequest {
        court_referral_id: id.into(),
        hearing_date: petition_tests::mediation_world::days_from_now(10),
        ..Default::default()
    }
}

fn outcome(id: &str) -> pb::RecordCourtOutcomeRequest {
    pb::RecordCourtOutcomeRequest {
        court_referral_id: id.into(),
        outcome: pb::CourtOutcome::Withdrawal.into(),
        summary: "原告撤诉".into(),
        ..Default::default()
    }
}

fn give_back(id: &str) -> pb::ReturnCourtReferralRequest {
    pb::ReturnCourtReferralRequest {
        court_referral_id: id.into(),
        reason: pb::CourtReturnReason::PartyDidNotSue.into(),
        ..Default::default()
    }
}

fn withdraw(id: &str) -> pb::WithdrawCourtReferralRequest {
    pb::WithdrawCourtReferralRequest { court_referral_id: id.into(), reason: "撤回".into(), ..Default::default() }
}

/// Every court act on referral `id` by `who` fails with `code`.
async fn court_acts_fail(who: &Client, id: &str, code: Code) {
    let c = who.courts();
    let reason = if code == Code::NotFound { "NOT_FOUND" } else { "PERMISSION_DENIED" };
    expect_error(c.acknowledge_court_referral(ack(id)).await, code, Some(reason));
    expect_error(c.record_court_filing(filing(id)).await, code, Some(reason));
    expect_error(c.schedule_court_hearing(hearing(id)).await, code, Some(reason));
    expect_error(c.record_court_outcome(outcome(id)).await, code, Some(reason));
    expect_error(c.return_court_referral(give_back(id)).await, code, Some(reason));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_of_another_court_sees_nothing_of_the_referral() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CourtWorld::create(&server).await?;
    let cw = &w.cw;
    let referral = w.filed("欠款纠纷", "（2026）赣0702民初9号").await?;
    let other = &w.other_partner;
    let c = other.courts();
    expect_error(c.get_court_referral(&referral.id).await, Code::NotFound, Some("NOT_FOUND"));
    expect_error(
        c.list_court_referral_events(pb::ListCourtReferralEventsRequest {
            court_referral_id: referral.id.clone(),
            ..Default::default()
        })
        .await,
        Code::NotFound,
        Some("NOT_FOUND"),
    );
    // Its in-tray, or the other court's, is empty.
    for court in [&w.other_court, &cw.court] {
        let filter = pb::ListCourtReferralsRequest { court_organization_id: court.id.clone(), ..Default::default() };
        assert!(listed(other, filter).await?.is_empty());
    }
    assert!(listed(other, pb::ListCourtReferralsRequest::default()).await?.is_empty());
    court_acts_fail(other, &referral.id, Code::NotFound).await;
    expect_error(c.withdraw_court_referral(withdraw(&referral.id)).await, Code::NotFound, Some("NOT_FOUND"));
    expect_error(other.cases().get_case(&referral.case_id).await, Code::NotFound, Some("NOT_FOUND"));
    // While the court's own partner lists and reads it.
    let own = listed(
        &cw.partner,
        pb::ListCourtReferralsRequest {
            court_organization_id: cw.court.id.clone(),
            states: vec![pb::CourtReferralState::Filed.into()],
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(own.len(), 1);
    // Once the feed serves the referral to its court (the feed shows a
    // commit when every older transaction has ended)…
    let own_feed = eventually(|| all_changes(&cw.partner), |c| c.iter().any(|c| c.aggregate_id == referral.id)).await?;
    assert!(own_feed.iter().any(|c| c.aggregate_id == referral.id));
    // …the other court's feed has nothing of the referral or the case.
    let changes = all_changes(other).await?;
    assert!(changes.iter().all(|c| c.aggregate_id != referral.id && c.aggregate_id != referral.case_id), "{changes:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_court_rpc_is_denied_to_who_may_not_call_it() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CourtWorld::create(&server).await?;
    let cw = &w.cw;
    let case = cw.routed_case("邻里噪音").await?;
    // ReferCaseToCourt: the clerk of the jurisdiction triages a routed case;
    // not the petitioner, not the admin, not a clerk elsewhere, not the
    // court before any referral.
    let request = refer(&case, &cw.court);
    let deny = |who: &Client, code: Code| {
        let who = who.clone();
        let request = request.clone();
        async move {
            let reason = if code == Code::NotFound { "NOT_FOUND" } else { "PERMISSION_DENIED" };
            expect_error(who.courts().refer_case_to_court(request).await, code, Some(reason));
        }
    };
    deny(&cw.owner, Code::PermissionDenied).await;
    deny(&cw.admin, Code::PermissionDenied).await;
    deny(&cw.handler, Code::PermissionDenied).await;
    deny(&cw.other_citizen, Code::NotFound).await;
    deny(&cw.clerk_b, Code::NotFound).await;
    deny(&cw.partner, Code::NotFound).await;
    deny(&w.other_partner, Code::NotFound).await;
    let referral = cw.clerk.courts().refer_case_to_court(request.clone()).await?;
    let id = referral.id.as_str();

    // Reads: whoever sees the case, and the court; NOT_FOUND elsewhere.
    for reader in [&cw.owner, &cw.clerk, &cw.handler, &cw.admin, &cw.partner, &w.reader, &cw.leader] {
        assert_eq!(reader.courts().get_court_referral(id).await?.id, id);
        let events = reader
            .courts()
            .list_court_referral_events(pb::ListCourtReferralEventsRequest {
                court_referral_id: id.into(),
                ..Default::default()
            })
            .await?;
        assert_eq!(events.events.len(), 1);
        let all = listed(reader, pb::ListCourtReferralsRequest::default()).await?;
        assert!(all.iter().any(|r| r.id == id));
    }
    for stranger in [&cw.other_citizen, &cw.clerk_b, &cw.handler_b, &w.other_partner] {
        expect_error(stranger.courts().get_court_referral(id).await, Code::NotFound, Some("NOT_FOUND"));
        expect_error(
            stranger
                .courts()
                .list_court_referral_events(pb::ListCourtReferralEventsRequest {
                    court_referral_id: id.into(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
            Some("NOT_FOUND"),
        );
        assert!(listed(stranger, pb::ListCourtReferralsRequest::default()).await?.iter().all(|r| r.id != id));
    }

    // Court acts: the court's partner holding cases.write only.
    for seer in [&cw.owner, &cw.clerk, &cw.handler, &cw.admin, &w.reader] {
        court_acts_fail(seer, id, Code::PermissionDenied).await;
    }
    for stranger in [&cw.other_citizen, &cw.clerk_b, &w.other_partner] {
        court_acts_fail(stranger, id, Code::NotFound).await;
    }

    // Withdraw: the referring organization's staff only.
    for seer in [&cw.owner, &cw.handler, &cw.admin, &cw.partner, &w.reader, &cw.leader] {
        expect_error(
            seer.courts().withdraw_court_referral(withdraw(id)).await,
            Code::PermissionDenied,
            Some("PERMISSION_DENIED"),
        );
    }
    expect_error(cw.clerk_b.courts().withdraw_court_referral(withdraw(id)).await, Code::NotFound, Some("NOT_FOUND"));
    let withdrawn = cw.clerk.courts().withdraw_court_referral(withdraw(id)).await?;
    assert_eq!(withdrawn.state(), pb::CourtReferralState::Withdrawn);
    Ok(())
}
