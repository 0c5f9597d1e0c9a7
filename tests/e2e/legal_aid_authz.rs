//! LegalAidService authorization end to end: for every RPC, the callers
//! `auth::policy::authorize_legal_aid` refuses are refused exactly so
//! (NOT_FOUND when they may not see the application, PERMISSION_DENIED
//! when they may see it but not do this, UNAUTHENTICATED without a token),
//! and the refused call changes nothing; the change feed shows an
//! application's events to exactly those who may Get it (another centre's
//! partner: nothing).

use anyhow::Result;
use futures::TryStreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::legal_aid_world::*;
use petition_tests::mediation_world::days_from_now;
use petition_tests::*;

use crate::support::{assert_typed, eventually, expect_error};

const NF: Code = Code::NotFound;
const PD: Code = Code::PermissionDenied;

/// Asserts each `(caller, code)` is refused `call` with `code`, and that
/// the application is unchanged after.
async fn refused<F, Fut>(w: &LegalAidWorld, id: &str, what: &str, callers: &[(&Client, Code)], call: F) -> Result<()>
where
    F: Fn(petition_sdk::LegalAidClient) -> Fut,
    Fut: std::future::Future<Output = petition_sdk::Result<pb::LegalAidApplication>>,
{
    let before = w.reviewer.legal_aid().get_legal_aid_application(id).await?;
    for (i, (caller, code)) in callers.iter().enumerate() {
        let got = call(caller.legal_aid()).await;
        assert!(matches!(&got, Err(e) if e.code() == *code), "{what}, caller #{i}: want {code:?}, got {got:?}");
    }
    let after = w.reviewer.legal_aid().get_legal_aid_application(id).await?;
    assert_eq!(before, after, "{what}: a refused call changed nothing");
    Ok(())
}

/// Every legal-aid change `client` reads from the start of the feed.
async fn legal_aid_changes(client: &Client) -> Result<Vec<pb::LegalAidEvent>> {
    let mut events = Vec::new();
    let mut position = 0;
    loop {
        let page = client
            .feed()
            .list_changes(pb::ListChangesRequest {
                after_position: position,
                page_size: 500,
                filter: Some(pb::ChangeFilter {
                    aggregate_types: vec![pb::AggregateType::LegalAidApplication.into()],
                    ..Default::default()
                }),
            })
            .await?;
        for change in &page.changes {
            assert_typed(change);
            if let Some(pb::change::Event::LegalAidEvent(e)) = &change.event {
                assert_eq!(change.aggregate_id, e.application_id);
                events.push(e.clone());
            }
        }
        position = page.next_position;
        if page.caught_up {
            return Ok(events);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_refuses_whom_the_policy_refuses() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = LegalAidWorld::create(&server).await?;
    let anonymous = w.cw.admin.new_session();
    let owner = &w.cw.owner;
    let stranger = &w.cw.other_citizen;
    let (admin, clerk, lawyer, other_lawyer) = (&w.cw.admin, &w.centre_clerk, &w.lawyer, &w.other_lawyer);
    let (other_partner, other_reviewer, bureau, reviewer) =
        (&w.other_partner, &w.other_reviewer, &w.bureau, &w.reviewer);

    // Create: the centre's clerk may not record a walk-in; a citizen may
    // not cite someone else's case; without a token nothing.
    let mut walk_in = LegalAidWorld::draft(&w.centre, &["某公司"]);
    walk_in.applicant_name = "来访群众".into();
    walk_in.applicant_phone = phone();
    expect_error(clerk.legal_aid().create_legal_aid_application(walk_in.clone()).await, PD, None);
    expect_error(other_partner.legal_aid().create_legal_aid_application(walk_in.clone()).await, PD, None);
    let case = w.cw.submit(claim("欠薪")).await?;
    let mut cited = LegalAidWorld::draft(&w.centre, &["某公司"]);
    cited.case_id = case.id.clone();
    expect_error(stranger.legal_aid().create_legal_aid_application(cited.clone()).await, NF, None);
    expect_error(w.cw.clerk_b.legal_aid().create_legal_aid_application(cited.clone()).await, NF, None);
    expect_error(admin.legal_aid().create_legal_aid_application(cited.clone()).await, PD, None);
    expect_error(anonymous.legal_aid().create_legal_aid_application(cited.clone()).await, Code::Unauthenticated, None);
    // The centre's write partner records a walk-in.
    w.partner.legal_aid().create_legal_aid_application(walk_in).await?;

    // Get, ListEvents: NOT_FOUND to everyone the policy does not let see.
    let app = w.application_in(Stage::UnderReview, "读").await?;
    for caller in [stranger, other_partner, other_reviewer, lawyer, other_lawyer, &w.cw.clerk] {
        expect_error(caller.legal_aid().get_legal_aid_application(&app.id).await, NF, None);
        let events = caller
            .legal_aid()
            .list_legal_aid_application_events(pb::ListLegalAidApplicationEventsRequest {
                application_id: app.id.clone(),
                ..Default::default()
            })
            .await;
        expect_error(events, NF, None);
    }
    for caller in [owner, reviewer, clerk, &w.partner, bureau, admin] {
        caller.legal_aid().get_legal_aid_application(&app.id).await?;
    }
    // List: another centre's accounts list nothing of this centre.
    for caller in [other_partner, other_reviewer, stranger, lawyer] {
        let listed: Vec<pb::LegalAidApplication> = caller
            .legal_aid()
            .applications(pb::ListLegalAidApplicationsRequest {
                centre_organization_id: w.centre.id.clone(),
                ..Default::default()
            })
            .try_collect()
            .await?;
        assert!(listed.is_empty(), "{listed:?}");
    }
    expect_error(
        w.cw.owner
            .legal_aid()
            .list_legal_aid_applications(pb::ListLegalAidApplicationsRequest { page_size: -1, ..Default::default() })
            .await,
        Code::InvalidArgument,
        None,
    );

    // RequestMaterials, Decide, GrantAidFirst, Withdraw (for missing
    // materials): the centre reviews.
    let id = app.id.clone();
    refused(
        &w,
        &id,
        "RequestMaterials",
        &[
            (owner, PD),
            (clerk, PD),
            (bureau, PD),
            (admin, PD),
            (other_partner, NF),
            (&anonymous, Code::Unauthenticated),
        ],
        |c| {
            let id = id.clone();
            async move {
                c.request_materials(pb::RequestMaterialsRequest {
                    application_id: id,
                    items: vec!["x".into()],
                    due_date: days_from_now(5),
                    ..Default::default()
                })
                .await
            }
        },
    )
    .await?;
    refused(&w, &id, "DecideApplication", &[(owner, PD), (clerk, PD), (bureau, PD), (other_reviewer, NF)], |c| {
        let id = id.clone();
        async move {
            c.decide_application(pb::DecideApplicationRequest {
                application_id: id,
                decision: pb::LegalAidDecision::Grant.into(),
                ..Default::default()
            })
            .await
        }
    })
    .await?;
    refused(&w, &id, "GrantAidFirst", &[(owner, PD), (clerk, PD), (lawyer, NF)], |c| {
        let id = id.clone();
        async move {
            c.grant_aid_first(pb::GrantAidFirstRequest {
                application_id: id,
                ground: pb::AidFirstGround::UrgentPreservation.into(),
                note: "急".into(),
                ..Default::default()
            })
            .await
        }
    })
    .await?;
    refused(&w, &id, "WithdrawApplication (by applicant)", &[(reviewer, PD), (clerk, PD), (stranger, NF)], |c| {
        let id = id.clone();
        async move {
            c.withdraw_application(pb::WithdrawApplicationRequest {
                application_id: id,
                reason: pb::LegalAidWithdrawalReason::ByApplicant.into(),
                ..Default::default()
            })
            .await
        }
    })
    .await?;

    // SupplyMaterials: the applicant or the centre.
    let waiting = w.application_in(Stage::AwaitingMaterials, "补").await?;
    let id = waiting.id.clone();
    refused(&w, &id, "SupplyMaterials", &[(clerk, PD), (bureau, PD), (stranger, NF), (other_partner, NF)], |c| {
        let id = id.clone();
        async move { c.supply_materials(pb::SupplyMaterialsRequest { application_id: id, ..Default::default() }).await }
    })
    .await?;
    // The centre's write partner records what was handed in.
    w.partner
        .legal_aid()
        .supply_materials(pb::SupplyMaterialsRequest { application_id: id, ..Default::default() })
        .await?;

    // ClearConflict, AssignLawyer, RecordPapersCompleted, TerminateAid.
    let first = w.application_in(Stage::GrantedFirst, "先").await?;
    let id = first.id.clone();
    refused(&w, &id, "RecordPapersCompleted", &[(owner, PD), (clerk, PD), (other_partner, NF)], |c| {
        let id = id.clone();
        async move {
            c.record_papers_completed(pb::RecordPapersCompletedRequest { application_id: id, ..Default::default() })
                .await
        }
    })
    .await?;
    let assign = w.assign(&id);
    refused(&w, &id, "AssignLawyer", &[(owner, PD), (clerk, PD), (bureau, PD), (lawyer, NF)], |c| {
        let assign = assign.clone();
        async move { c.assign_lawyer(assign).await }
    })
    .await?;
    refused(&w, &id, "ClearConflict", &[(owner, PD), (clerk, PD), (other_partner, NF)], |c| {
        let id = id.clone();
        async move {
            c.clear_conflict(pb::ClearConflictRequest {
                application_id: id,
                conflict_id: uuid_like(),
                reason: "r".into(),
                ..Default::default()
            })
            .await
        }
    })
    .await?;
    let assigned = w.application_in(Stage::Assigned, "派").await?;
    let id = assigned.id.clone();
    refused(&w, &id, "TerminateAid", &[(owner, PD), (lawyer, PD), (clerk, PD), (other_lawyer, NF)], |c| {
        let id = id.clone();
        async move {
            c.terminate_aid(pb::TerminateAidRequest {
                application_id: id,
                reason: pb::LegalAidTerminationReason::RecipientRequest.into(),
                note: "r".into(),
                ..Default::default()
            })
            .await
        }
    })
    .await?;
    // SubmitClosingReport: the assigned lawyer or the centre.
    refused(&w, &id, "SubmitClosingReport", &[(owner, PD), (clerk, PD), (bureau, PD), (other_lawyer, NF)], |c| {
        let id = id.clone();
        async move { c.submit_closing_report(closing_report(&id)).await }
    })
    .await?;

    // FileObjection: the applicant only; DecideObjection: the bureau only.
    let refused_app = w.application_in(Stage::Refused, "驳").await?;
    let id = refused_app.id.clone();
    refused(&w, &id, "FileObjection", &[(reviewer, PD), (bureau, PD), (clerk, PD), (stranger, NF)], |c| {
        let id = id.clone();
        async move {
            c.file_objection(pb::FileObjectionRequest {
                application_id: id,
                reason: "异议".into(),
                ..Default::default()
            })
            .await
        }
    })
    .await?;
    let pending = w.application_in(Stage::ObjectionPending, "议").await?;
    let id = pending.id.clone();
    refused(
        &w,
        &id,
        "DecideObjection",
        &[(reviewer, PD), (owner, PD), (&w.partner, PD), (admin, PD), (other_reviewer, NF)],
        |c| {
            let id = id.clone();
            async move {
                c.decide_objection(pb::DecideObjectionRequest {
                    application_id: id,
                    outcome: pb::ObjectionOutcome::Upheld.into(),
                    reason: "维持".into(),
                    ..Default::default()
                })
                .await
            }
        },
    )
    .await?;

    // The feed: the centre's partner reads its applications' events;
    // another centre's partner reads none of them; the lawyer reads only
    // the matter assigned to them.
    let centre_feed = eventually(
        || legal_aid_changes(&w.partner),
        |feed| feed.iter().any(|e| e.r#type() == pb::LegalAidEventType::ObjectionFiled),
    )
    .await?;
    assert!(centre_feed.iter().any(|e| e.application_id == pending.id));
    assert!(centre_feed.iter().any(|e| e.r#type() == pb::LegalAidEventType::ObjectionFiled));
    let other_feed = legal_aid_changes(other_partner).await?;
    assert!(other_feed.is_empty(), "another centre's partner sees nothing: {other_feed:?}");
    let lawyer_feed = legal_aid_changes(lawyer).await?;
    assert!(!lawyer_feed.is_empty() && lawyer_feed.iter().all(|e| e.application_id == assigned.id));
    let owner_feed = legal_aid_changes(owner).await?;
    assert!(owner_feed.iter().any(|e| e.application_id == assigned.id));
    assert!(legal_aid_changes(stranger).await?.is_empty());
    Ok(())
}

/// An id no conflict hit has.
fn uuid_like() -> String {
    "0190a000-0000-7000-8000-000000000000".into()
}
