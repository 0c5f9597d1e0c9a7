//! Walks one legal-aid application (法律援助申请) from the counter of
//! 赣州市法律援助中心 to the lawyer's closing report:
//!
//! 1. the centre's reviewer records a walk-in applicant's application
//!    (unpaid wages, Art.31 (五)) with a hardship statement (Art.41);
//! 2. asks once for the missing materials, listing each (Art.43 ¶2): the
//!    decision clock pauses; the materials handed in resume it;
//! 3. grants aid (within 7 working days of receipt, Art.43): the conflict
//!    check runs against the centre's other matters; any hit is cleared
//!    with a reason;
//! 4. assigns the centre's lawyer (within 3 working days), who then sees
//!    the matter and submits the closing report (Art.50);
//! 5. the timeline shows every step.
//!
//! ```sh
//! cargo run -p petition-server -- seed-demo
//! cargo run -p petition-sdk --example legal_aid -- http://127.0.0.1:50051
//! ```
//!
//! It signs in as `la.reviewer` and `city.lawyer` (password
//! `demo-password`). Every run records a new application.

use futures::TryStreamExt;
use petition_sdk::{Client, pb};

const REVIEWER: &str = "la.reviewer";
const LAWYER: &str = "city.lawyer";
const PASSWORD: &str = "demo-password";

fn days_from_now(days: u64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(days)).format("%Y-%m-%d").to_string()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "http://127.0.0.1:50051".to_owned());
    let reviewer = Client::connect(&url).await?;
    let me = reviewer.login(REVIEWER, PASSWORD).await?;
    let lawyer = reviewer.new_session();
    let lawyer_account = lawyer.login(LAWYER, PASSWORD).await?;
    let centre = reviewer.legal_aid();

    // 1. The application, recorded at the counter.
    let app = centre
        .create_legal_aid_application(pb::CreateLegalAidApplicationRequest {
            centre_organization_id: me.organization_id.clone(),
            applicant_name: "邱务工".into(),
            applicant_phone: "13907970301".into(),
            matter_type: pb::LegalAidMatterType::Labour.into(),
            matter_summary: "在某建筑工地务工，被拖欠工资四个月共三万二千元".into(),
            adverse_parties: vec!["赣州某建筑劳务有限公司".into()],
            hardship: Some(pb::LegalAidHardship {
                statement: "家中四口人，仅本人务工收入".into(),
                verification: pb::HardshipVerification::PersonalCommitment.into(),
                verification_exemptions: vec![pb::VerificationExemption::MigrantWorkerWagesOrInjury.into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?;
    println!("received {} — decide by {}", app.id, app.decision_due);

    // 2. Materials: asked once, then handed in.
    let app = centre
        .request_materials(pb::RequestMaterialsRequest {
            application_id: app.id.clone(),
            items: vec!["劳动合同或工友证言".into(), "考勤记录".into()],
            due_date: days_from_now(10),
            etag: app.etag.clone(),
            ..Default::default()
        })
        .await?;
    println!("materials asked for (due {}); clock paused: {}", app.materials_due, app.clock_paused);
    let app = centre
        .supply_materials(pb::SupplyMaterialsRequest {
            application_id: app.id.clone(),
            note: "已交考勤记录及工友证言两份".into(),
            etag: app.etag.clone(),
            ..Default::default()
        })
        .await?;
    println!("materials supplied; decide by {}", app.decision_due);

    // 3. Granted; conflict hits cleared.
    let mut app = centre
        .decide_application(pb::DecideApplicationRequest {
            application_id: app.id.clone(),
            decision: pb::LegalAidDecision::Grant.into(),
            etag: app.etag.clone(),
            ..Default::default()
        })
        .await?;
    println!("granted; assign by {}; {} conflict hit(s)", app.assignment_due, app.conflicts.len());
    for hit in app.conflicts.clone() {
        app = centre
            .clear_conflict(pb::ClearConflictRequest {
                application_id: app.id.clone(),
                conflict_id: hit.id.clone(),
                reason: "核实为同名不同人".into(),
                ..Default::default()
            })
            .await?;
    }

    // 4. The lawyer assigned, then their closing report.
    let app = centre
        .assign_lawyer(pb::AssignLawyerRequest {
            application_id: app.id.clone(),
            lawyer_account_id: lawyer_account.id.clone(),
            law_firm: "赣州市法律援助中心".into(),
            kind: pb::LegalAidLawyerKind::PublicLawyer.into(),
            ..Default::default()
        })
        .await?;
    println!("assigned to {}", app.lawyer.clone().unwrap_or_default().name);
    let app = lawyer
        .legal_aid()
        .submit_closing_report(pb::SubmitClosingReportRequest {
            application_id: app.id.clone(),
            report: Some(pb::ClosingReport {
                result_summary: "经劳动仲裁调解，公司一次性支付拖欠工资".into(),
                documents: vec!["仲裁调解书".into(), "代理意见".into()],
                close_date: String::new(),
            }),
            ..Default::default()
        })
        .await?;
    println!("closed: {:?}", app.state());

    // 5. The timeline.
    let events: Vec<pb::LegalAidEvent> = centre.application_events(&app.id).try_collect().await?;
    for e in events {
        println!("  #{} {:?}", e.sequence, e.r#type());
    }
    Ok(())
}
