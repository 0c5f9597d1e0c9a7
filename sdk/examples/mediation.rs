//! Walks one dispute (民间纠纷) from a screening round to a written
//! agreement, as the head of a community mediation committee records it:
//!
//! 1. the screening round (排查) of 厚德路社区 finds a neighbours' dispute
//!    over a blocked drain, recorded with both parties' phones;
//! 2. both parties agree to mediation (Art.17), which accepts the dispute
//!    and starts its 30-day clock;
//! 3. the head names themselves the mediator, holds a session at the
//!    community's mediation room and records the written agreement with the
//!    Art.29 fields, signed by both parties and sealed;
//! 4. the timeline shows every step, and the date by which the parties may
//!    jointly apply to a court for confirmation (Art.33).
//!
//! ```sh
//! cargo run -p petition-server -- seed-demo
//! cargo run -p petition-sdk --example mediation -- http://127.0.0.1:50051
//! ```
//!
//! It signs in as `hd.mediator` (password `demo-password`), the head of
//! 厚德路社区人民调解委员会. Every run records a new dispute.

use chrono::{Days, Utc};
use futures::TryStreamExt;
use petition_sdk::{Client, pb};

const HEAD: &str = "hd.mediator";
const PASSWORD: &str = "demo-password";
/// 厚德路社区, where the dispute arose.
const COMMUNITY: &str = "360702001001";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "http://127.0.0.1:50051".to_owned());
    let client = Client::connect(&url).await?;
    let me = client.login(HEAD, PASSWORD).await?;
    let mediation = client.mediation();

    // The head's own committee, and their membership of it.
    let mine = pb::ListTeamsRequest { mine: true, ..Default::default() };
    let team =
        mediation.list_teams(mine).await?.teams.into_iter().next().ok_or("hd.mediator heads no team: run seed-demo")?;
    let members: Vec<pb::TeamMember> = mediation.team_members(&team.id).try_collect().await?;
    let head = members.iter().find(|m| m.account_id == me.id).ok_or("hd.mediator is no member of the committee")?;
    println!("{} heads {} ({} members)", me.display_name, team.name, members.len());

    // 1. The screening round finds a dispute.
    let party =
        |name: &str, phone: &str| pb::NewDisputeParty { name: name.into(), phone: phone.into(), ..Default::default() };
    let round = mediation
        .record_screening(pb::RecordScreeningRequest {
            team_id: team.id.clone(),
            area: "厚德路12号院".into(),
            disputes: vec![pb::DisputeDraft {
                region_code: COMMUNITY.into(),
                category: pb::DisputeCategory::Neighbourhood.into(),
                matter: "楼上住户装修堵塞公共排水沟，雨天楼下院内积水。".into(),
                parties: vec![party("赵大伯", "13907970201"), party("钱女士", "13907970202")],
                attachments: vec![],
            }],
            ..Default::default()
        })
        .await?;
    let mut dispute = round.disputes.into_iter().next().ok_or("the round recorded no dispute")?;
    println!(
        "screening {} found dispute {} ({:?})",
        round.screening.map(|s| s.id).unwrap_or_default(),
        dispute.id,
        dispute.state()
    );

    // 2. Both parties consent; the last consent accepts it.
    for party_id in dispute.parties.iter().map(|p| p.id.clone()).collect::<Vec<_>>() {
        let consent =
            pb::RecordConsentRequest { dispute_id: dispute.id.clone(), party_id, consents: true, ..Default::default() };
        dispute = mediation.record_consent(consent).await?;
    }
    println!("accepted on {}, due by {}", dispute.accept_date, dispute.due_date);

    // 3. A mediator, a session, the agreement.
    let assign =
        pb::AssignMediatorRequest { dispute_id: dispute.id.clone(), member_id: head.id.clone(), ..Default::default() };
    dispute = mediation.assign_mediator(assign).await?;
    let session = pb::MediationSession {
        place: "厚德路社区人民调解室".into(),
        attendees: vec!["赵大伯".into(), "钱女士".into()],
        notes: "双方陈述，现场查看排水沟。".into(),
        ..Default::default()
    };
    dispute = mediation
        .record_session(pb::RecordSessionRequest {
            dispute_id: dispute.id.clone(),
            session: Some(session),
            ..Default::default()
        })
        .await?;
    let in_two_weeks = (Utc::now().date_naive() + Days::new(14)).format("%Y-%m-%d").to_string();
    let agreement = pb::Agreement {
        form: pb::AgreementForm::Written.into(),
        parties_summary: "赵大伯，厚德路12号院一楼住户；钱女士，同院二楼住户。".into(),
        facts: "钱女士装修时建筑垃圾堵塞公共排水沟，致雨天一楼院内积水。".into(),
        issues_and_responsibility: "排水沟疏通及积水损失；钱女士负主要责任。".into(),
        terms: vec![pb::AgreementTerm {
            obligor_party_id: dispute.parties[1].id.clone(),
            content: "疏通排水沟并赔偿赵大伯损失800元".into(),
            manner: "自行雇工疏通，现金支付".into(),
            deadline: in_two_weeks,
            ..Default::default()
        }],
        signed_by_all_parties: true,
        sealed_by_committee: true,
        ..Default::default()
    };
    dispute = mediation
        .record_agreement(pb::RecordAgreementRequest {
            dispute_id: dispute.id.clone(),
            agreement: Some(agreement),
            etag: dispute.etag.clone(),
            ..Default::default()
        })
        .await?;
    let apply_by = dispute.agreement.as_ref().map(|a| a.confirmation_apply_by.clone()).unwrap_or_default();
    println!("{:?}: court confirmation may be applied for until {apply_by}", dispute.state());

    // 4. The timeline.
    let events: Vec<pb::DisputeEvent> = mediation.dispute_events(&dispute.id).try_collect().await?;
    for event in events {
        println!("  {:>2} {:?} → {:?}", event.sequence, event.r#type(), event.state());
    }
    Ok(())
}
