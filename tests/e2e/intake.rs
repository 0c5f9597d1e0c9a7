//! Intake safeguards: the per-person daily filing limit.

use std::time::Duration;

use anyhow::Result;
use petition_sdk::pb;
use petition_sdk::tonic::Code;
use petition_server::config::LimitedChannels;
use petition_tests::*;

use crate::support::expect_error;

fn submit(request_id: &str, title: &str) -> pb::SubmitCaseRequest {
    pb::SubmitCaseRequest { draft: Some(claim(title)), request_id: request_id.into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_filings_never_exceed_the_daily_limit() -> Result<()> {
    let server = TestServer::spawn_with(|c| c.intake.daily_filing_limit = 3).await?;
    let w = CaseWorld::create(&server).await?;
    let calls = (0..12).map(|i| {
        let cases = w.owner.cases();
        async move { cases.submit_case(submit("", &format!("限额{i}"))).await }
    });
    let results = futures::future::join_all(calls).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3, "exactly the limit succeed");
    for error in results.into_iter().filter_map(Result::err) {
        assert_eq!(error.code(), Code::ResourceExhausted, "{error}");
        assert_eq!(error.reason(), Some("DAILY_LIMIT_REACHED"));
        let retry = error.retry_after().ok_or_else(|| anyhow::anyhow!("no RetryInfo"))?;
        assert!(retry > Duration::ZERO && retry <= Duration::from_secs(24 * 3600), "until Beijing midnight: {retry:?}");
        let quota = error.details().quota_failure().map(|q| q.violations.clone()).unwrap_or_default();
        assert_eq!(quota.len(), 1, "QuotaFailure names the petitioner's quota");
        assert_eq!(quota[0].subject, format!("petitioners/{}", w.owner_id));
    }
    // Someone else's quota is their own.
    w.other_citizen.cases().submit_case(submit("", "他人")).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_never_use_quota() -> Result<()> {
    let server = TestServer::spawn_with(|c| c.intake.daily_filing_limit = 2).await?;
    let w = CaseWorld::create(&server).await?;
    let first = w.owner.cases().submit_case(submit("a", "第一件")).await?;
    for _ in 0..5 {
        assert_eq!(w.owner.cases().submit_case(submit("a", "第一件")).await?.id, first.id);
    }
    w.owner.cases().submit_case(submit("b", "第二件")).await?;
    expect_error(
        w.owner.cases().submit_case(submit("c", "第三件")).await,
        Code::ResourceExhausted,
        Some("DAILY_LIMIT_REACHED"),
    );
    // A refused filing left nothing behind, and its id may be used again later.
    assert_eq!(w.owner.cases().list_cases(pb::ListCasesRequest::default()).await?.cases.len(), 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_says_which_channels_count() -> Result<()> {
    let server = TestServer::spawn_with(|c| {
        c.intake.daily_filing_limit = 1;
        c.intake.daily_limit_channels = LimitedChannels::Online;
    })
    .await?;
    let w = CaseWorld::create(&server).await?;
    for i in 0..3 {
        w.clerk
            .cases()
            .register_case(pb::RegisterCaseRequest {
                draft: Some(claim(&format!("来信{i}"))),
                channel: pb::CaseChannel::Letter.into(),
                petitioner_account_id: w.owner_id.clone(),
                ..Default::default()
            })
            .await?;
    }
    w.owner.cases().submit_case(submit("", "网上一件")).await?;
    expect_error(
        w.owner.cases().submit_case(submit("", "网上两件")).await,
        Code::ResourceExhausted,
        Some("DAILY_LIMIT_REACHED"),
    );

    let counting_all = TestServer::spawn_with(|c| c.intake.daily_filing_limit = 1).await?;
    let w = CaseWorld::create(&counting_all).await?;
    w.owner.cases().submit_case(submit("", "网上")).await?;
    let registered = w
        .clerk
        .cases()
        .register_case(pb::RegisterCaseRequest {
            draft: Some(claim("来访")),
            channel: pb::CaseChannel::Visit.into(),
            petitioner_account_id: w.owner_id.clone(),
            ..Default::default()
        })
        .await;
    expect_error(registered, Code::ResourceExhausted, Some("DAILY_LIMIT_REACHED"));
    Ok(())
}
