//! LegalAidService paths end to end through the SDK: a declined case's
//! application from materials to the closing report with a conflict hit
//! cleared; refusals and terminations objected to and decided both ways;
//! aid first; treated as withdrawn after the materials' due date; replays;
//! bad input; illegal transitions.

use anyhow::Result;
use futures::TryStreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, new_request_id, pb};
use petition_tests::legal_aid_world::*;
use petition_tests::mediation_world::{days_ago, days_from_now};
use petition_tests::*;

use crate::support::{assert_typed_event, expect_error, expect_invalid, expect_precondition};

fn subject(app: &pb::LegalAidApplication) -> String {
    format!("legalAidApplications/{}", app.id)
}

async fn timeline(client: &Client, id: &str) -> Result<Vec<pb::LegalAidEventType>> {
    let events: Vec<pb::LegalAidEvent> = client.legal_aid().application_events(id).try_collect().await?;
    for e in &events {
        assert!(e.detail.is_some(), "an event without its detail: {e:?}");
        assert_eq!(e.application_id, id);
    }
    Ok(events.iter().map(|e| e.r#type()).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_case_goes_from_application_to_closing_report() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = LegalAidWorld::create(&server).await?;
    use pb::LegalAidEventType as E;

    // Another citizen's matter at the centre names the owner as the other
    // side: granting the owner's application finds the conflict.
    let mut theirs = LegalAidWorld::draft(&w.centre, &[&format!(" {} ", w.owner_name)]);
    theirs.matter_type = pb::LegalAidMatterType::Maintenance.into();
    let theirs = w.cw.other_citizen.legal_aid().create_legal_aid_application(theirs).await?;
    let theirs = w
        .reviewer
        .legal_aid()
        .decide_application(pb::DecideApplicationRequest {
            application_id: theirs.id.clone(),
            decision: pb::LegalAidDecision::Grant.into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(theirs.state(), pb::LegalAidState::Granted);

    // The clerk declines the owner's case as a matter for the courts: the
    // decline offers the legal-aid route and names the centre serving it.
    let case = w.cw.submit(claim("拖欠工资")).await?;
    w.cw.clerk
        .cases()
        .decline_case(pb::DeclineCaseRequest {
            case_id: case.id.clone(),
            reason: pb::DeclineReason::Litigation.into(),
            diverted_to: "章贡区人民法院".into(),
            ..Default::default()
        })
        .await?;
    let seen = w.cw.clerk.cases().get_case(&case.id).await?;
    let route = seen.legal_aid.clone().unwrap_or_default();
    assert!(route.offered, "a decline to litigation offers legal aid");
    assert_eq!(
        route.centre_organization_ids,
        std::slice::from_ref(&w.centre.id),
        "the city's centre serves the township"
    );

    // The clerk applies for the petitioner from the case.
    let mut draft = LegalAidWorld::draft(&w.centre, &["章贡区某物业公司"]);
    draft.case_id = case.id.clone();
    let app = w.cw.clerk.legal_aid().create_legal_aid_application(draft).await?;
    assert_eq!(app.state(), pb::LegalAidState::UnderReview);
    assert_eq!(app.case_id, case.id);
    assert_eq!(app.applicant.clone().unwrap_or_default().name, w.owner_name);
    assert_eq!(app.bureau_organization_id, w.justice.id);
    assert!(!app.decision_due.is_empty());
    let events: Vec<pb::CaseEvent> = w.cw.owner.cases().case_events(&case.id).try_collect().await?;
    events.iter().for_each(assert_typed_event);
    assert_eq!(events.last().map(|e| e.r#type()), Some(pb::CaseEventType::LegalAidApplied));
    let route = w.cw.owner.cases().get_case(&case.id).await?.legal_aid.unwrap_or_default();
    assert_eq!(route.applications.len(), 1);
    assert_eq!(route.applications[0].application_id, app.id);
    // The applicant, the clerk's bureau and the centre see it; the other
    // county's clerk and the centre's lawyers do not (yet).
    w.owner().get_legal_aid_application(&app.id).await?;
    w.cw.clerk.legal_aid().get_legal_aid_application(&app.id).await?;
    expect_error(w.cw.clerk_b.legal_aid().get_legal_aid_application(&app.id).await, Code::NotFound, None);
    expect_error(w.lawyer.legal_aid().get_legal_aid_application(&app.id).await, Code::NotFound, None);

    // Materials: asked once, every item listed; the clock pauses.
    let r = w.reviewer.legal_aid();
    let app = r
        .request_materials(pb::RequestMaterialsRequest {
            application_id: app.id.clone(),
            items: vec!["劳动合同".into(), "工资条或银行流水".into()],
            due_date: days_from_now(10),
            etag: app.etag.clone(),
            ..Default::default()
        })
        .await?;
    assert_eq!(app.state(), pb::LegalAidState::AwaitingMaterials);
    assert!(app.clock_paused);
    assert_eq!(app.materials_due, days_from_now(10));
    let app = w
        .owner()
        .supply_materials(pb::SupplyMaterialsRequest {
            application_id: app.id.clone(),
            note: "已提交劳动合同与银行流水".into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(app.state(), pb::LegalAidState::UnderReview);
    assert!(!app.clock_paused && !app.decision_due.is_empty());
    expect_precondition(
        r.request_materials(pb::RequestMaterialsRequest {
            application_id: app.id.clone(),
            items: vec!["身份证明".into()],
            due_date: days_from_now(5),
            ..Default::default()
        })
        .await,
        "MATERIALS_ALREADY_REQUESTED",
        &subject(&app),
    );

    // Granted: the conflict hit is recorded and blocks the assignment.
    let app = r
        .decide_application(pb::DecideApplicationRequest {
            application_id: app.id.clone(),
            decision: pb::LegalAidDecision::Grant.into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(app.state(), pb::LegalAidState::Granted);
    assert!(!app.assignment_due.is_empty());
    assert_eq!(app.conflicts.len(), 1, "{:?}", app.conflicts);
    let hit = app.conflicts[0].clone();
    assert_eq!(hit.other_application_id, theirs.id);
    assert_eq!(hit.kind(), pb::ConflictKind::ApplicantIsAdverseThere);
    expect_precondition(r.assign_lawyer(w.assign(&app.id)).await, "CONFLICT_UNCLEARED", &subject(&app));
    expect_invalid(
        r.clear_conflict(pb::ClearConflictRequest {
            application_id: app.id.clone(),
            conflict_id: hit.id.clone(),
            reason: " ".into(),
            ..Default::default()
        })
        .await,
        &["reason"],
    );
    let app = r
        .clear_conflict(pb::ClearConflictRequest {
            application_id: app.id.clone(),
            conflict_id: hit.id.clone(),
            reason: "同名不同人：身份证号不同".into(),
            ..Default::default()
        })
        .await?;
    assert!(app.conflicts[0].cleared);

    // Assigned: the lawyer's account now sees the matter.
    let app = r.assign_lawyer(w.assign(&app.id)).await?;
    assert_eq!(app.state(), pb::LegalAidState::Assigned);
    let lawyer = app.lawyer.clone().unwrap_or_default();
    assert_eq!(lawyer.account_id, w.lawyer_id);
    assert!(!lawyer.name.is_empty());
    w.lawyer.legal_aid().get_legal_aid_application(&app.id).await?;
    let mine: Vec<pb::LegalAidApplication> = w
        .lawyer
        .legal_aid()
        .applications(pb::ListLegalAidApplicationsRequest { assigned_to_me: true, ..Default::default() })
        .try_collect()
        .await?;
    assert_eq!(mine.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), std::slice::from_ref(&app.id));
    expect_error(w.other_lawyer.legal_aid().get_legal_aid_application(&app.id).await, Code::NotFound, None);

    // The closing report (Art.50).
    let app = w.lawyer.legal_aid().submit_closing_report(closing_report(&app.id)).await?;
    assert_eq!(app.state(), pb::LegalAidState::Closed);
    assert_eq!(app.closing_report.clone().unwrap_or_default().documents.len(), 2);
    assert_eq!(
        timeline(&w.cw.owner, &app.id).await?,
        [
            E::Created,
            E::MaterialsRequested,
            E::MaterialsSupplied,
            E::Granted,
            E::ConflictFound,
            E::ConflictCleared,
            E::LawyerAssigned,
            E::Closed
        ]
    );
    let route = w.cw.owner.cases().get_case(&case.id).await?.legal_aid.unwrap_or_default();
    assert_eq!(route.applications[0].state(), pb::LegalAidState::Closed);

    // The stored lifecycle is the fold of the application's events.
    let url = server.database.as_ref().map(|d| d.url().to_owned()).unwrap_or_default();
    let id: uuid::Uuid = app.id.parse()?;
    let (stored, folded) = tokio::task::spawn_blocking(move || -> Result<_> {
        use diesel::prelude::*;
        let mut conn = PgConnection::establish(&url)?;
        #[derive(QueryableByName)]
        struct Payload {
            #[diesel(sql_type = diesel::sql_types::Jsonb)]
            payload: serde_json::Value,
        }
        let events: Vec<Payload> =
            diesel::sql_query("SELECT payload FROM events WHERE aggregate_id = $1 ORDER BY sequence")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .load(&mut conn)?;
        let events: Vec<petition_server::legal_aid::rules::Event> =
            events.into_iter().map(|e| serde_json::from_value(e.payload)).collect::<Result<_, _>>()?;
        let stored: Vec<Payload> =
            diesel::sql_query("SELECT lifecycle AS payload FROM legal_aid_applications WHERE id = $1")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .load(&mut conn)?;
        let stored: Option<petition_server::legal_aid::rules::Lifecycle> =
            stored.into_iter().next().map(|s| serde_json::from_value(s.payload)).transpose()?;
        Ok((stored, petition_server::legal_aid::rules::fold(&events)))
    })
    .await??;
    assert!(stored.is_some());
    assert_eq!(stored, folded, "fold(events) == the stored lifecycle");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_terminations_are_objected_to_and_the_bureau_decides_both_ways() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = LegalAidWorld::create(&server).await?;
    let bureau = w.bureau.legal_aid();
    let decide = |id: &str, outcome: pb::ObjectionOutcome| pb::DecideObjectionRequest {
        application_id: id.into(),
        outcome: outcome.into(),
        reason: "经审查".into(),
        ..Default::default()
    };

    // A refusal is in writing: its reason is on the application.
    let refused = w.application_in(Stage::Refused, "甲").await?;
    assert_eq!(refused.decision.clone().unwrap_or_default().reason, "不符合经济困难标准");
    // Objected to: the bureau above the centre has 5 days.
    let pending = w
        .owner()
        .file_objection(pb::FileObjectionRequest {
            application_id: refused.id.clone(),
            reason: "有低保证明".into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(pending.state(), pb::LegalAidState::ObjectionPending);
    assert!(!pending.objection_due.is_empty());
    assert_eq!(pending.objections[0].bureau_organization_id, w.justice.id);
    bureau.get_legal_aid_application(&pending.id).await?;
    expect_error(
        w.reviewer.legal_aid().decide_objection(decide(&pending.id, pb::ObjectionOutcome::Upheld)).await,
        Code::PermissionDenied,
        Some("PERMISSION_DENIED"),
    );
    // Upheld: the refusal stands, and is not objected to twice.
    let upheld = bureau.decide_objection(decide(&pending.id, pb::ObjectionOutcome::Upheld)).await?;
    assert_eq!(upheld.state(), pb::LegalAidState::Refused);
    assert_eq!(upheld.objections[0].outcome(), pb::ObjectionOutcome::Upheld);
    expect_precondition(
        w.owner()
            .file_objection(pb::FileObjectionRequest {
                application_id: upheld.id.clone(),
                reason: "再次异议".into(),
                ..Default::default()
            })
            .await,
        "OBJECTION_ALREADY_FILED",
        &subject(&upheld),
    );

    // Correction ordered: the centre reviews again and grants.
    let pending = w.application_in(Stage::ObjectionPending, "乙").await?;
    let corrected = bureau.decide_objection(decide(&pending.id, pb::ObjectionOutcome::CorrectionOrdered)).await?;
    assert_eq!(corrected.state(), pb::LegalAidState::UnderReview);
    assert!(!corrected.decision_due.is_empty());
    let granted = w
        .reviewer
        .legal_aid()
        .decide_application(pb::DecideApplicationRequest {
            application_id: corrected.id.clone(),
            decision: pb::LegalAidDecision::Grant.into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(granted.state(), pb::LegalAidState::Granted);

    // A termination (Art.48) objected to and corrected: the matter goes on
    // with its lawyer.
    let terminated = w.application_in(Stage::Terminated, "丙").await?;
    assert_eq!(
        terminated.termination.clone().unwrap_or_default().reason(),
        pb::LegalAidTerminationReason::OwnLawyerRetained
    );
    let pending = w
        .owner()
        .file_objection(pb::FileObjectionRequest {
            application_id: terminated.id.clone(),
            reason: "并未自行委托律师".into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(pending.objections[0].subject(), pb::ObjectionSubject::Termination);
    let back = bureau.decide_objection(decide(&pending.id, pb::ObjectionOutcome::CorrectionOrdered)).await?;
    assert_eq!(back.state(), pb::LegalAidState::Assigned);
    w.lawyer.legal_aid().get_legal_aid_application(&back.id).await?;

    // A centre without a justice bureau above it: no one to decide.
    let orphan = w.owner().create_legal_aid_application(LegalAidWorld::draft(&w.orphan_centre, &["某公司"])).await?;
    let refused = w
        .other_reviewer
        .legal_aid()
        .decide_application(pb::DecideApplicationRequest {
            application_id: orphan.id.clone(),
            decision: pb::LegalAidDecision::Refuse.into(),
            reason: "非本中心受理范围".into(),
            ..Default::default()
        })
        .await?;
    expect_precondition(
        w.owner()
            .file_objection(pb::FileObjectionRequest {
                application_id: refused.id.clone(),
                reason: "异议".into(),
                ..Default::default()
            })
            .await,
        "NO_OBJECTION_BODY",
        &subject(&refused),
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aid_first_and_withdrawals_after_the_materials_due_date() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = LegalAidWorld::create(&server).await?;
    let r = w.reviewer.legal_aid();

    // 先行提供 (Art.44): granted, papers outstanding, completed later.
    let first = w.application_in(Stage::GrantedFirst, "丁").await?;
    assert_eq!(first.state(), pb::LegalAidState::Granted);
    let aid_first = first.aid_first.clone().unwrap_or_default();
    assert!(aid_first.papers_outstanding);
    assert_eq!(aid_first.ground(), pb::AidFirstGround::LimitationEndingWithin7Days);
    let done = r
        .record_papers_completed(pb::RecordPapersCompletedRequest {
            application_id: first.id.clone(),
            ..Default::default()
        })
        .await?;
    assert!(!done.aid_first.clone().unwrap_or_default().papers_outstanding);
    expect_precondition(
        r.record_papers_completed(pb::RecordPapersCompletedRequest {
            application_id: first.id.clone(),
            ..Default::default()
        })
        .await,
        "NO_PAPERS_OUTSTANDING",
        &subject(&first),
    );
    // Aid first while materials are awaited.
    let waiting = w.application_in(Stage::AwaitingMaterials, "戊").await?;
    let first = r
        .grant_aid_first(pb::GrantAidFirstRequest {
            application_id: waiting.id.clone(),
            ground: pb::AidFirstGround::UrgentPreservation.into(),
            note: "对方正在转移财产".into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(first.state(), pb::LegalAidState::Granted);

    // Received 20 days ago, materials asked 15 days ago, due 5 days ago:
    // never supplied, so treated as withdrawn (Art.43 ¶2).
    let mut old = LegalAidWorld::draft(&w.centre, &["己公司"]);
    old.receive_date = days_ago(20);
    let old = w.owner().create_legal_aid_application(old).await?;
    assert!(old.overdue, "7 working days from 20 days ago have passed");
    let overdue: Vec<pb::LegalAidApplication> = r
        .applications(pb::ListLegalAidApplicationsRequest {
            centre_organization_id: w.centre.id.clone(),
            overdue_only: true,
            ..Default::default()
        })
        .try_collect()
        .await?;
    assert!(overdue.iter().any(|a| a.id == old.id));
    let old = r
        .request_materials(pb::RequestMaterialsRequest {
            application_id: old.id.clone(),
            items: vec!["收入证明".into()],
            due_date: days_ago(5),
            request_date: days_ago(15),
            ..Default::default()
        })
        .await?;
    assert!(!old.overdue, "no clock runs while materials are awaited");
    let by_centre = |id: &str| pb::WithdrawApplicationRequest {
        application_id: id.into(),
        reason: pb::LegalAidWithdrawalReason::MaterialsNotSupplied.into(),
        ..Default::default()
    };
    expect_error(w.owner().withdraw_application(by_centre(&old.id)).await, Code::PermissionDenied, None);
    let withdrawn = r.withdraw_application(by_centre(&old.id)).await?;
    assert_eq!(withdrawn.state(), pb::LegalAidState::Withdrawn);
    assert_eq!(
        withdrawn.withdrawal.clone().unwrap_or_default().reason(),
        pb::LegalAidWithdrawalReason::MaterialsNotSupplied
    );
    // Materials still due: not yet.
    let waiting = w.application_in(Stage::AwaitingMaterials, "庚").await?;
    expect_precondition(r.withdraw_application(by_centre(&waiting.id)).await, "MATERIALS_NOT_DUE", &subject(&waiting));
    // The applicant withdraws their own.
    let own = w.application_in(Stage::Withdrawn, "辛").await?;
    assert_eq!(own.state(), pb::LegalAidState::Withdrawn);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_bad_input_and_illegal_transitions() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = LegalAidWorld::create(&server).await?;
    let r = w.reviewer.legal_aid();

    // Replays answer the first response; a reused id with another request
    // is ALREADY_EXISTS.
    let mut create = LegalAidWorld::draft(&w.centre, &["壬公司"]);
    create.request_id = new_request_id();
    let first = w.owner().create_legal_aid_application(create.clone()).await?;
    let again = w.owner().create_legal_aid_application(create.clone()).await?;
    assert_eq!(first, again);
    let mut other = create.clone();
    other.matter_summary = "另一件事".into();
    expect_error(w.owner().create_legal_aid_application(other).await, Code::AlreadyExists, Some("REQUEST_ID_REUSED"));
    let decide = pb::DecideApplicationRequest {
        application_id: first.id.clone(),
        decision: pb::LegalAidDecision::Grant.into(),
        request_id: new_request_id(),
        etag: first.etag.clone(),
        ..Default::default()
    };
    let granted = r.decide_application(decide.clone()).await?;
    assert_eq!(r.decide_application(decide.clone()).await?, granted, "a replay is the first answer");
    // A stale etag is ABORTED.
    expect_error(
        r.terminate_aid(pb::TerminateAidRequest {
            application_id: first.id.clone(),
            reason: pb::LegalAidTerminationReason::RecipientRequest.into(),
            note: "本人要求".into(),
            etag: first.etag.clone(),
            ..Default::default()
        })
        .await,
        Code::Aborted,
        Some("ETAG_MISMATCH"),
    );

    // Bad input: field violations.
    let mut unknown = LegalAidWorld::draft(&w.centre, &["某公司"]);
    unknown.hardship = Some(pb::LegalAidHardship { exemptions: vec![99], ..Default::default() });
    expect_invalid(w.owner().create_legal_aid_application(unknown).await, &["hardship.exemptions[0]"]);
    let mut bare = LegalAidWorld::draft(&w.centre, &[]);
    bare.hardship = None;
    bare.matter_type = 0;
    expect_invalid(w.owner().create_legal_aid_application(bare).await, &["adverse_parties", "hardship", "matter_type"]);
    let mut unverified = LegalAidWorld::draft(&w.centre, &["某公司"]);
    unverified.hardship = Some(pb::LegalAidHardship { statement: "困难".into(), ..Default::default() });
    expect_invalid(w.owner().create_legal_aid_application(unverified).await, &["hardship.verification"]);
    // An Art.32 category lifts the hardship condition: no statement needed.
    let mut exempt = LegalAidWorld::draft(&w.centre, &["施暴者"]);
    exempt.matter_type = pb::LegalAidMatterType::Other.into();
    exempt.hardship = Some(pb::LegalAidHardship {
        exemptions: vec![pb::HardshipExemption::DomesticViolenceAbuseVictim.into()],
        ..Default::default()
    });
    let exempt = w.owner().create_legal_aid_application(exempt).await?;
    expect_invalid(
        r.decide_application(pb::DecideApplicationRequest {
            application_id: exempt.id.clone(),
            decision: pb::LegalAidDecision::Refuse.into(),
            ..Default::default()
        })
        .await,
        &["reason"],
    );
    expect_invalid(
        r.request_materials(pb::RequestMaterialsRequest { application_id: exempt.id.clone(), ..Default::default() })
            .await,
        &["due_date", "items"],
    );
    let mut walk_in = LegalAidWorld::draft(&w.centre, &["某公司"]);
    walk_in.applicant_name = "来访群众".into();
    walk_in.applicant_phone = "12345".into();
    expect_invalid(r.create_legal_aid_application(walk_in.clone()).await, &["applicant_phone"]);
    walk_in.applicant_phone = phone();
    let walked = r.create_legal_aid_application(walk_in.clone()).await?;
    let applicant = walked.applicant.clone().unwrap_or_default();
    assert_eq!(applicant.phone, walk_in.applicant_phone, "the centre sees the phone whole");
    assert!(applicant.account_id.is_empty());
    let shown = w.cw.admin.legal_aid().get_legal_aid_application(&walked.id).await?;
    assert!(shown.applicant.unwrap_or_default().phone.contains("****"), "masked to others");

    // Illegal transitions: FAILED_PRECONDITION naming the application.
    let fresh = w.application_in(Stage::UnderReview, "癸").await?;
    expect_precondition(r.assign_lawyer(w.assign(&fresh.id)).await, "INVALID_STATE", &subject(&fresh));
    expect_precondition(r.submit_closing_report(closing_report(&fresh.id)).await, "INVALID_STATE", &subject(&fresh));
    let closed = w.application_in(Stage::Closed, "子").await?;
    expect_precondition(
        r.terminate_aid(pb::TerminateAidRequest {
            application_id: closed.id.clone(),
            reason: pb::LegalAidTerminationReason::ProceedingsEnded.into(),
            note: "已结案".into(),
            ..Default::default()
        })
        .await,
        "INVALID_STATE",
        &subject(&closed),
    );
    expect_error(
        w.lawyer.legal_aid().assign_lawyer(w.assign(&closed.id)).await,
        Code::PermissionDenied,
        Some("PERMISSION_DENIED"),
    );
    // A lawyer must be a lawyer's account.
    let granted2 = w.application_in(Stage::Granted, "丑").await?;
    let mut not_lawyer = w.assign(&granted2.id);
    not_lawyer.lawyer_account_id = w.cw.owner_id.clone();
    expect_invalid(r.assign_lawyer(not_lawyer).await, &["lawyer_account_id"]);
    // A named lawyer without an account.
    let named = r
        .assign_lawyer(pb::AssignLawyerRequest {
            application_id: granted2.id.clone(),
            name: "孙律师".into(),
            law_firm: "江西某律师事务所".into(),
            kind: pb::LegalAidLawyerKind::LegalAidLawyer.into(),
            ..Default::default()
        })
        .await?;
    assert_eq!(named.lawyer.unwrap_or_default().name, "孙律师");
    Ok(())
}
