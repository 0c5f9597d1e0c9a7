//! GetMediationStatistics on a small world: the figures count what the
//! test did, in total and by child region, category and month.

use anyhow::{Context, Result};
use chrono::Datelike;
use petition_sdk::pb;
use petition_tests::mediation_world::*;
use petition_tests::*;

use crate::support::expect_invalid;

fn consent_all(d: &pb::Dispute, date: &str) -> Vec<pb::RecordConsentRequest> {
    party_ids(d)
        .into_iter()
        .map(|party_id| pb::RecordConsentRequest {
            dispute_id: d.id.clone(),
            party_id,
            consents: true,
            consent_date: date.into(),
            ..Default::default()
        })
        .collect()
}

/// The figures with only the given fields set (and the key).
fn figures(key: &str, set: impl FnOnce(&mut pb::MediationFigures)) -> pb::MediationFigures {
    let mut f = pb::MediationFigures { key: key.into(), ..Default::default() };
    set(&mut f);
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_count_what_the_teams_did() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = MediationWorld::create(&server).await?;
    let head = w.village_head.mediation();
    let mediator = w.village_mediator.mediation();
    let today = days_ago(0);

    // Two rounds at the village: a zero report, then two disputes found.
    head.record_screening(pb::RecordScreeningRequest {
        team_id: w.village_team.id.clone(),
        area: "一组".into(),
        zero_report: true,
        ..Default::default()
    })
    .await?;
    let found = head
        .record_screening(pb::RecordScreeningRequest {
            team_id: w.village_team.id.clone(),
            area: "二组".into(),
            disputes: vec![w.draft("排查一"), w.draft("排查二")],
            ..Default::default()
        })
        .await?;
    let [s1, s2] = <[pb::Dispute; 2]>::try_from(found.disputes).map_err(|d| anyhow::anyhow!("{d:?}"))?;

    // s1: settled, every term performed, confirmed by the court.
    for c in consent_all(&s1, "") {
        head.record_consent(c).await?;
    }
    head.assign_mediator(pb::AssignMediatorRequest {
        dispute_id: s1.id.clone(),
        member_id: w.village_mediator.member.id.clone(),
        ..Default::default()
    })
    .await?;
    mediator
        .record_session(pb::RecordSessionRequest {
            dispute_id: s1.id.clone(),
            session: Some(session("")),
            ..Default::default()
        })
        .await?;
    let ids = party_ids(&s1);
    mediator
        .record_agreement(pb::RecordAgreementRequest {
            dispute_id: s1.id.clone(),
            agreement: Some(written_agreement(&[&ids[0], &ids[1]], "", &days_from_now(10))),
            ..Default::default()
        })
        .await?;
    for term_index in 0..2 {
        mediator
            .record_performance(pb::RecordPerformanceRequest {
                dispute_id: s1.id.clone(),
                term_index,
                performance: pb::TermPerformance::Performed.into(),
                ..Default::default()
            })
            .await?;
    }
    mediator
        .apply_for_court_confirmation(pb::ApplyForCourtConfirmationRequest {
            dispute_id: s1.id.clone(),
            court_organization_id: w.cw.court.id.clone(),
            all_parties_apply: true,
            ..Default::default()
        })
        .await?;
    w.cw.partner
        .mediation()
        .answer_court_confirmation(pb::AnswerCourtConfirmationRequest {
            dispute_id: s1.id.clone(),
            decision: pb::ConfirmationState::Confirmed.into(),
            ..Default::default()
        })
        .await?;

    // s2: 李四 refuses.
    w.party_b
        .mediation()
        .record_consent(pb::RecordConsentRequest {
            dispute_id: s2.id.clone(),
            party_id: s2.parties[1].id.clone(),
            consents: false,
            ..Default::default()
        })
        .await?;

    // d3: a land dispute at the other village, failed.
    let other = w.other_mediator.mediation();
    let d3 = other
        .create_dispute(pb::CreateDisputeRequest {
            team_id: w.other_village_team.id.clone(),
            dispute: Some(pb::DisputeDraft {
                region_code: w.village_2.code.clone(),
                category: pb::DisputeCategory::Land.into(),
                ..w.draft("土地纠纷")
            }),
            source: pb::DisputeSource::Application.into(),
            ..Default::default()
        })
        .await?;
    for c in consent_all(&d3, "") {
        other.record_consent(c).await?;
    }
    other
        .record_failure(pb::RecordFailureRequest {
            dispute_id: d3.id.clone(),
            failure: Some(pb::Failure {
                reason: pb::FailureReason::NotMediable.into(),
                advised_routes: vec![pb::AdvisedRoute::Administrative.into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?;

    // d4: escalated twice, village → township → county: one dispute escalated.
    let d4 = w.dispute_in(DisputeStage::Accepted, "升级的纠纷").await?;
    head.escalate_dispute(pb::EscalateDisputeRequest {
        dispute_id: d4.id.clone(),
        team_id: w.township_team.id.clone(),
        reason: "村调解未果".into(),
        ..Default::default()
    })
    .await?;
    w.township_head
        .mediation()
        .escalate_dispute(pb::EscalateDisputeRequest {
            dispute_id: d4.id.clone(),
            team_id: w.county_team.id.clone(),
            reason: "涉及多村".into(),
            ..Default::default()
        })
        .await?;

    // d5: received 8 days ago, accepted 6 days ago, settled 2 days ago (4
    // days to settle), both terms breached.
    let d5 = w.record(w.draft("违约的纠纷"), &days_ago(8)).await?;
    for c in consent_all(&d5, &days_ago(6)) {
        head.record_consent(c).await?;
    }
    head.assign_mediator(pb::AssignMediatorRequest {
        dispute_id: d5.id.clone(),
        member_id: w.village_head.member.id.clone(),
        ..Default::default()
    })
    .await?;
    head.record_session(pb::RecordSessionRequest {
        dispute_id: d5.id.clone(),
        session: Some(session(&days_ago(3))),
        ..Default::default()
    })
    .await?;
    let ids = party_ids(&d5);
    head.record_agreement(pb::RecordAgreementRequest {
        dispute_id: d5.id.clone(),
        agreement: Some(written_agreement(&[&ids[0], &ids[1]], &days_ago(2), &days_ago(1))),
        ..Default::default()
    })
    .await?;
    for term_index in 0..2 {
        head.record_performance(pb::RecordPerformanceRequest {
            dispute_id: d5.id.clone(),
            term_index,
            performance: pb::TermPerformance::Breached.into(),
            ..Default::default()
        })
        .await?;
    }

    let clerk = w.cw.clerk.mediation();
    let ask = |region: &pb::Region, start: &str, end: &str, breakdown: pb::MediationBreakdown| {
        pb::GetMediationStatisticsRequest {
            region_code: region.code.clone(),
            start_date: start.into(),
            end_date: end.into(),
            breakdown: breakdown.into(),
        }
    };
    let township = &w.cw.dir.township_a;
    let none = pb::MediationBreakdown::Unspecified;
    let got = clerk.get_mediation_statistics(ask(township, &today, &today, none)).await?;
    // The township's three teams (the county's sits above it), their four
    // members; five disputes, every event recorded today.
    let total = figures("", |f| {
        f.teams = 3;
        f.mediators = 4;
        f.screening_rounds = 2;
        f.zero_reports = 1;
        f.recorded = 5;
        f.screened = 2;
        f.accepted = 4;
        f.refused = 1;
        f.settled = 2;
        f.failed = 1;
        f.settlement_rate = 2.0 / 3.0;
        f.performed = 1;
        f.breached = 1;
        f.confirmations_applied = 1;
        f.confirmations_confirmed = 1;
        f.escalated = 1;
        f.average_days_to_settle = 2.0;
    });
    assert_eq!(got.total, Some(total.clone()));
    assert!(got.rows.is_empty(), "no breakdown asked for");

    // By the township's villages.
    let by_village =
        clerk.get_mediation_statistics(ask(township, &today, &today, pb::MediationBreakdown::ChildRegion)).await?;
    assert_eq!(by_village.total, Some(total.clone()));
    let village = figures(&w.village.code, |f| {
        f.teams = 1;
        f.mediators = 2;
        f.screening_rounds = 2;
        f.zero_reports = 1;
        f.recorded = 4;
        f.screened = 2;
        f.accepted = 3;
        f.refused = 1;
        f.settled = 2;
        f.settlement_rate = 1.0;
        f.performed = 1;
        f.breached = 1;
        f.confirmations_applied = 1;
        f.confirmations_confirmed = 1;
        f.escalated = 1;
        f.average_days_to_settle = 2.0;
    });
    let village_2 = figures(&w.village_2.code, |f| {
        f.teams = 1;
        f.mediators = 1;
        f.recorded = 1;
        f.accepted = 1;
        f.failed = 1;
    });
    // The township's own team sits at the root: its row has no disputes.
    let township_row = figures(&township.code, |f| {
        f.teams = 1;
        f.mediators = 1;
    });
    assert_eq!(by_village.rows, [township_row, village, village_2]);

    // By category.
    let by_category =
        clerk.get_mediation_statistics(ask(township, &today, &today, pb::MediationBreakdown::Category)).await?;
    let mut keys: Vec<(&str, i32, i32)> =
        by_category.rows.iter().map(|r| (r.key.as_str(), r.recorded, r.failed)).collect();
    keys.sort();
    assert_eq!(keys, [("LAND", 1, 1), ("NEIGHBOURHOOD", 4, 0)]);

    // By month: this month holds it all.
    let today_date = petition_server::time::shanghai_today();
    let month_start = date_string(today_date.with_day(1).context("the month's first day")?);
    let by_month =
        clerk.get_mediation_statistics(ask(township, &month_start, &today, pb::MediationBreakdown::Month)).await?;
    let month = format!("{:04}-{:02}", today_date.year(), today_date.month());
    let rows: Vec<(&str, i32, i32)> = by_month.rows.iter().map(|r| (r.key.as_str(), r.recorded, r.settled)).collect();
    assert_eq!(rows, [(month.as_str(), 5, 2)]);

    // A village team's head reads the figures of the village the team
    // covers, not the township's.
    let head = w.village_head.client.mediation();
    let own = head.get_mediation_statistics(ask(&w.village, &today, &today, none)).await?;
    assert_eq!(own.total.map(|t| t.recorded), Some(4));
    crate::support::expect_error(
        head.get_mediation_statistics(ask(township, &today, &today, none)).await,
        petition_sdk::tonic::Code::PermissionDenied,
        Some("OUTSIDE_JURISDICTION"),
    );

    // The county: its own team and head too.
    let county = clerk.get_mediation_statistics(ask(&w.cw.dir.county_a, &today, &today, none)).await?;
    let county_total = county.total.context("the county's total")?;
    assert_eq!((county_total.teams, county_total.mediators, county_total.recorded), (4, 5, 5));

    // A period with no activity: no dispute figures, the teams still there.
    let yesterday = days_ago(1);
    let quiet = clerk.get_mediation_statistics(ask(township, &yesterday, &yesterday, none)).await?;
    assert_eq!(
        quiet.total,
        Some(figures("", |f| {
            f.teams = 3;
            f.mediators = 4;
        }))
    );

    expect_invalid(clerk.get_mediation_statistics(ask(township, &today, &yesterday, none)).await, &["end_date"]);
    expect_invalid(clerk.get_mediation_statistics(ask(township, "", "", none)).await, &["start_date", "end_date"]);
    Ok(())
}
