//! Walks one court referral (诉访分离) from the petition bureau's desk to the
//! court's judgment, as each side records it:
//!
//! 1. 黄百姓 files online an unpaid-wages claim in 于都县; the routing rule
//!    sends it to the county's labour bureau;
//! 2. the county bureau's clerk (`yd.clerk`) refers it to 于都县人民法院,
//!    which is given access to the case file;
//! 3. the court's partner system (`svc-yd-court`, client credentials) finds
//!    it in its in-tray, acknowledges it, files it under its case number,
//!    schedules a hearing and records the judgment — each call with a
//!    request id, so that a retry after a lost answer returns the first
//!    answer;
//! 4. the case shows how the referral ended; the referral's timeline names
//!    the account behind every act.
//!
//! ```sh
//! cargo run -p petition-server -- seed-demo
//! cargo run -p petition-sdk --example courts -- http://127.0.0.1:50051
//! ```
//!
//! Every run files a new case (password `demo-password` for everyone).

use futures::TryStreamExt;
use petition_sdk::{Client, pb};

const PASSWORD: &str = "demo-password";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "http://127.0.0.1:50051".to_owned());
    let citizen = Client::connect(&url).await?;
    citizen.login("13807970002", PASSWORD).await?;
    let clerk = citizen.new_session();
    clerk.login("yd.clerk", PASSWORD).await?;
    let court = citizen.new_session();
    court.login_with_client_credentials("svc-yd-court", PASSWORD, []).await?;
    let court_id = court.identity().get_me().await?.organization_id;

    // 1. The claim, filed online.
    let stamp = chrono::Utc::now().format("%m%d%H%M%S");
    let draft = pb::CaseDraft {
        kind: pb::CaseKind::Claim.into(),
        category_code: "labor.wages".into(),
        region_code: "360731100001".into(),
        title: format!("长征路工地拖欠工资（{stamp}）"),
        content: format!("本人在长征路工地务工，工程结束后包工头拖欠工资，编号{stamp}，多次讨要无果。"),
        requests: "请求依法追回拖欠的工资".into(),
        ..Default::default()
    };
    let case =
        citizen.cases().submit_case(pb::SubmitCaseRequest { draft: Some(draft), request_id: String::new() }).await?;
    println!("case {} filed ({:?})", case.number, case.state());

    // 2. The clerk refers it to the court.
    let referral = clerk
        .courts()
        .refer_case_to_court(pb::ReferCaseToCourtRequest {
            case_id: case.id.clone(),
            court_organization_id: court_id.clone(),
            claim_summary: "请求判令被告支付拖欠工资".into(),
            parties: vec![
                pb::CourtParty { name: "黄百姓".into(), role: pb::CourtPartyRole::Plaintiff.into() },
                pb::CourtParty { name: "某劳务分包公司".into(), role: pb::CourtPartyRole::Defendant.into() },
            ],
            ..Default::default()
        })
        .await?;
    println!("referred to the court: referral {} ({:?})", referral.id, referral.state());

    // 3. The court's system works its in-tray.
    let c = court.courts();
    let tray = pb::ListCourtReferralsRequest { awaiting_acknowledgment: true, ..Default::default() };
    let waiting: Vec<pb::CourtReferral> = c.court_referrals(tray).try_collect().await?;
    println!("the court's in-tray holds {} referral(s)", waiting.len());
    let id = referral.id.clone();
    c.acknowledge_court_referral(pb::AcknowledgeCourtReferralRequest {
        court_referral_id: id.clone(),
        note: "已收到，进入立案审查".into(),
        ..Default::default()
    })
    .await?;
    let year = chrono::Utc::now().format("%Y");
    let filing = pb::RecordCourtFilingRequest {
        court_referral_id: id.clone(),
        court_case_number: format!("({year})赣0731民初{}号", 1000 + chrono::Utc::now().timestamp() % 90_000),
        judge: "审判员".into(),
        request_id: format!("filing-{id}"),
        ..Default::default()
    };
    let filed = c.record_court_filing(filing.clone()).await?;
    // A retry with the same request id: the first answer again.
    assert_eq!(c.record_court_filing(filing).await?, filed);
    println!("filed as {}", filed.court_case_number);
    let hearing_date = (chrono::Utc::now() + chrono::Duration::days(21)).format("%Y-%m-%d").to_string();
    c.schedule_court_hearing(pb::ScheduleCourtHearingRequest {
        court_referral_id: id.clone(),
        hearing_date,
        place: "第一审判庭".into(),
        ..Default::default()
    })
    .await?;
    let done = c
        .record_court_outcome(pb::RecordCourtOutcomeRequest {
            court_referral_id: id.clone(),
            outcome: pb::CourtOutcome::Judgment.into(),
            summary: "判决被告支付拖欠工资".into(),
            document_number: filed.court_case_number.clone(),
            ..Default::default()
        })
        .await?;
    println!("concluded: {:?}", done.outcome());

    // 4. The case and the timeline.
    let after = clerk.cases().get_case(&case.id).await?;
    for r in &after.court_referrals {
        println!("case {}: referral {:?} {} {:?}", after.number, r.state(), r.court_case_number, r.outcome());
    }
    let events: Vec<pb::CourtReferralEvent> = c.court_referral_events(&id).try_collect().await?;
    for e in events {
        println!("  #{} {:?} by {}", e.sequence, e.r#type(), e.actor_account_id);
    }
    Ok(())
}
