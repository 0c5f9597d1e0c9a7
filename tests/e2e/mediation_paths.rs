//! People's mediation (人民调解) end to end through the SDK: a dispute from
//! a screening round (排查) to an agreement, its performance and a court's
//! confirmation; a refusal and a failure; objecting to and recusing the
//! mediator; escalation village → township → county; the 30-day
//! confirmation window on the calendar; and bad input, refused field by
//! field with nothing half-written.

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use futures::TryStreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::mediation_world::*;
use petition_tests::*;

use crate::support::{assert_typed_dispute_event, expect_error, expect_invalid, expect_precondition};

use pb::DisputeEventType as E;
use pb::DisputeState as S;

fn today() -> String {
    days_ago(0)
}

fn parse(date: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(date, "%Y-%m-%d").with_context(|| format!("a date: {date:?}"))
}

/// The last day of a period of `days` calendar days after `start`, on the
/// server's workday calendar (民法典 Art.201, 203).
async fn deadline(client: &Client, start: &str, days: i32) -> Result<String> {
    let answer = client
        .calendar()
        .compute_deadline(pb::ComputeDeadlineRequest { start_date: start.into(), days, workdays: 0 })
        .await?;
    Ok(answer.deadline_date)
}

/// A dispute's whole timeline, each event typed.
pub async fn timeline(client: &petition_sdk::MediationClient, id: &str) -> Result<Vec<pb::DisputeEvent>> {
    let events: Vec<pb::DisputeEvent> = client.dispute_events(id).try_collect().await?;
    events.iter().for_each(assert_typed_dispute_event);
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    let gapless: Vec<i64> = (1..=events.len() as i64).collect();
    assert_eq!(sequences, gapless, "a timeline numbers its events from 1 without gaps");
    Ok(events)
}

fn types(events: &[pb::DisputeEvent]) -> Vec<E> {
    events.iter().map(|e| e.r#type()).collect()
}

fn subject(dispute: &pb::Dispute) -> String {
    format!("disputes/{}", dispute.id)
}

fn consent(dispute: &pb::Dispute, party: &str, consents: bool, date: &str) -> pb::RecordConsentRequest {
    pb::RecordConsentRequest {
        dispute_id: dispute.id.clone(),
        party_id: party.into(),
        consents,
        consent_date: date.into(),
        note: if consents { String::new() } else { "不同意调解".into() },
        ..Default::default()
    }
}

fn failure(routes: &[pb::AdvisedRoute]) -> pb::Failure {
    pb::Failure {
        reason: pb::FailureReason::NoAgreement.into(),
        note: "双方分歧较大".into(),
        advised_routes: routes.iter().map(|r| *r as i32).collect(),
        failure_date: String::new(),
    }
}

/// A fresh dispute's one element, or an error saying what came instead.
fn only<T: std::fmt::Debug>(items: Vec<T>) -> Result<T> {
    match <[T; 1]>::try_from(items) {
        Ok([one]) => Ok(one),
        Err(items) => bail!("want exactly one, got {items:?}"),
    }
}

/// Story 1: 排查 → dispute → every party's consent → mediator → session →
/// written agreement → each term performed → court confirmation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispute_found_in_screening_is_settled_performed_and_confirmed_by_the_court() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = MediationWorld::create(&server).await?;
    let mediator = w.village_mediator.mediation();
    let head = w.village_head.mediation();
    let team_id = w.village_team.id.clone();
    let today = today();

    // Yesterday's round found nothing and says so (零上报).
    let zero = mediator
        .record_screening(pb::RecordScreeningRequest {
            team_id: team_id.clone(),
            screening_date: days_ago(1),
            area: "和平村一组".into(),
            zero_report: true,
            ..Default::default()
        })
        .await?;
    let zero_round = zero.screening.context("the round")?;
    assert!(zero_round.zero_report && zero_round.dispute_ids.is_empty() && zero.disputes.is_empty());
    assert_eq!(zero_round.screening_date, days_ago(1));

    // Today's found a quarrel over a passage: two families and a builder.
    let builder_phone = phone();
    let builder = pb::NewDisputeParty {
        name: "王五建筑队".into(),
        organization: true,
        phone: builder_phone.clone(),
        ..Default::default()
    };
    let mut draft = w.draft("李四建房占用张三家通道");
    draft.parties.push(builder);
    let found = mediator
        .record_screening(pb::RecordScreeningRequest {
            team_id: team_id.clone(),
            screening_date: today.clone(),
            area: "和平村二组".into(),
            disputes: vec![draft],
            note: "入户走访发现".into(),
            ..Default::default()
        })
        .await?;
    let round = found.screening.context("the round")?;
    let dispute = only(found.disputes)?;
    assert_eq!(round.dispute_ids, vec![dispute.id.clone()]);
    assert!(!round.zero_report);
    assert_eq!(round.recorded_by_account_id, w.village_mediator.account_id);
    assert_eq!(
        (dispute.source(), dispute.state(), dispute.screening_id.as_str(), dispute.team_id.as_str()),
        (pb::DisputeSource::Screening, S::AwaitingConsent, round.id.as_str(), team_id.as_str())
    );
    assert_eq!((dispute.receive_date.as_str(), dispute.accept_date.as_str()), (today.as_str(), ""));
    assert_eq!(dispute.parties.len(), 3);
    assert!(dispute.parties.iter().all(|p| p.consent() == pb::ConsentState::Pending), "{:?}", dispute.parties);
    assert_eq!(dispute.parties[0].account_id, w.party_a.account_id);
    assert!(dispute.parties[2].organization && dispute.parties[2].account_id.is_empty());
    assert_eq!(dispute.parties[2].phone, builder_phone, "the team calls the parties: whole numbers for it");
    assert_eq!(dispute.teams.len(), 1);
    assert_eq!(
        (dispute.teams[0].team_id.as_str(), dispute.teams[0].from_date.as_str()),
        (team_id.as_str(), today.as_str())
    );

    // The team's rounds, newest first.
    let rounds = mediator
        .list_screenings(pb::ListScreeningsRequest { team_id: team_id.clone(), ..Default::default() })
        .await?
        .screenings;
    let listed: Vec<(String, bool, Vec<String>)> =
        rounds.into_iter().map(|s| (s.id, s.zero_report, s.dispute_ids)).collect();
    assert_eq!(
        listed,
        vec![(round.id.clone(), false, vec![dispute.id.clone()]), (zero_round.id.clone(), true, vec![])]
    );

    // Art.17: 张三 consents himself; the team records the others' answers.
    let ids = party_ids(&dispute);
    let d = w
        .party_a
        .mediation()
        .record_consent(pb::RecordConsentRequest { etag: dispute.etag.clone(), ..consent(&dispute, &ids[0], true, "") })
        .await?;
    assert_eq!((d.parties[0].consent(), d.parties[0].consent_date.as_str()), (pb::ConsentState::Given, today.as_str()));
    assert_eq!(d.state(), S::AwaitingConsent, "two parties have not answered");
    // An answer made on what the dispute was before is refused.
    expect_error(
        head.record_consent(pb::RecordConsentRequest { etag: dispute.etag.clone(), ..consent(&d, &ids[1], true, "") })
            .await,
        Code::Aborted,
        Some("ETAG_MISMATCH"),
    );
    // A plain member records answers only once named the dispute's mediator.
    expect_error(
        mediator.record_consent(consent(&d, &ids[1], true, "")).await,
        Code::PermissionDenied,
        Some("PERMISSION_DENIED"),
    );
    let d = head.record_consent(consent(&d, &ids[1], true, "")).await?;
    assert_eq!(d.state(), S::AwaitingConsent, "the builder has not answered");
    let d = head.record_consent(consent(&d, &ids[2], true, "")).await?;
    assert_eq!(d.state(), S::Accepted, "every party consented: 受理");
    assert_eq!(d.accept_date, today);
    assert_eq!(d.due_date, deadline(&w.cw.admin, &today, 30).await?, "30 days from acceptance by default");
    assert!(!d.overdue);

    // Art.19: the head names the mediator.
    let d = head
        .assign_mediator(pb::AssignMediatorRequest {
            dispute_id: d.id.clone(),
            member_id: w.village_mediator.member.id.clone(),
            etag: d.etag.clone(),
            ..Default::default()
        })
        .await?;
    assert_eq!(d.mediator_member_id, w.village_mediator.member.id);

    let d = mediator
        .record_session(pb::RecordSessionRequest {
            dispute_id: d.id.clone(),
            session: Some(session(&today)),
            ..Default::default()
        })
        .await?;
    assert_eq!(d.state(), S::InMediation);
    assert_eq!(d.sessions.len(), 1);
    assert_eq!(
        d.sessions[0],
        pb::MediationSession { mediator_member_id: w.village_mediator.member.id.clone(), ..session(&today) },
        "the session as recorded, held by the assigned mediator"
    );

    // Art.29: a written agreement, every field; terms owed by 李四 and the builder.
    let term_deadline = days_from_now(15);
    let agreement = written_agreement(&[&ids[1], &ids[2]], &today, &term_deadline);
    let d = mediator
        .record_agreement(pb::RecordAgreementRequest {
            dispute_id: d.id.clone(),
            agreement: Some(agreement.clone()),
            etag: d.etag.clone(),
            ..Default::default()
        })
        .await?;
    assert_eq!(d.state(), S::Settled);
    let got = d.agreement.clone().context("the agreement")?;
    let apply_by = deadline(&w.cw.admin, &today, 30).await?;
    let want = pb::Agreement {
        confirmation_apply_by: apply_by.clone(),
        terms: agreement
            .terms
            .iter()
            .map(|t| pb::AgreementTerm { performance: pb::TermPerformance::Pending.into(), ..t.clone() })
            .collect(),
        ..agreement.clone()
    };
    assert_eq!(got, want, "the agreement as written, to be confirmed by {apply_by}");

    // Art.31: the team follows each term up.
    let perform = |d: &pb::Dispute, term_index: i32| pb::RecordPerformanceRequest {
        dispute_id: d.id.clone(),
        term_index,
        performance: pb::TermPerformance::Performed.into(),
        note: "现场核实已拆除".into(),
        ..Default::default()
    };
    let d = mediator.record_performance(perform(&d, 0)).await?;
    assert_eq!(d.state(), S::Settled, "one term of two performed");
    let term = &d.agreement.as_ref().context("agreement")?.terms[0];
    assert_eq!(
        (term.performance(), term.performance_date.as_str(), term.performance_note.as_str()),
        (pb::TermPerformance::Performed, today.as_str(), "现场核实已拆除")
    );
    expect_precondition(mediator.record_performance(perform(&d, 0)).await, "INVALID_STATE", &subject(&d));
    expect_invalid(mediator.record_performance(perform(&d, 2)).await, &["term_index"]);
    let d = mediator.record_performance(perform(&d, 1)).await?;
    assert_eq!(d.state(), S::Performed, "every term performed");

    // Art.33: the court sees nothing before the parties apply to it …
    let court = w.cw.partner.mediation();
    expect_error(court.get_dispute(&d.id).await, Code::NotFound, Some("NOT_FOUND"));
    let d = mediator
        .apply_for_court_confirmation(pb::ApplyForCourtConfirmationRequest {
            dispute_id: d.id.clone(),
            court_organization_id: w.cw.court.id.clone(),
            all_parties_apply: true,
            ..Default::default()
        })
        .await?;
    let applied = d.confirmation.clone().context("the application")?;
    assert_eq!(
        (applied.court_organization_id.as_str(), applied.apply_date.as_str(), applied.state()),
        (w.cw.court.id.as_str(), today.as_str(), pb::ConfirmationState::Pending)
    );
    // … then reads it and answers, once.
    assert_eq!(court.get_dispute(&d.id).await?.id, d.id);
    let answer = pb::AnswerCourtConfirmationRequest {
        dispute_id: d.id.clone(),
        decision: pb::ConfirmationState::Confirmed.into(),
        court_case_number: "（2026）赣0702民特1号".into(),
        request_id: petition_sdk::new_request_id(),
        ..Default::default()
    };
    // A rejection states why (Art.33 ¶3).
    expect_invalid(
        court
            .answer_court_confirmation(pb::AnswerCourtConfirmationRequest {
                decision: pb::ConfirmationState::Rejected.into(),
                request_id: petition_sdk::new_request_id(),
                ..answer.clone()
            })
            .await,
        &["reason"],
    );
    let confirmed = court.answer_court_confirmation(answer.clone()).await?;
    let c = confirmed.confirmation.clone().context("the confirmation")?;
    assert_eq!(
        (c.state(), c.answer_date.as_str(), c.court_case_number.as_str()),
        (pb::ConfirmationState::Confirmed, today.as_str(), "（2026）赣0702民特1号")
    );
    assert_eq!(confirmed.state(), S::Performed);
    // The partner retries: the same request id answers the same dispute.
    assert_eq!(court.answer_court_confirmation(answer.clone()).await?, confirmed);
    let rejection = pb::AnswerCourtConfirmationRequest {
        decision: pb::ConfirmationState::Rejected.into(),
        reason: "协议内容违反法律规定".into(),
        request_id: petition_sdk::new_request_id(),
        ..answer.clone()
    };
    expect_precondition(court.answer_court_confirmation(rejection).await, "INVALID_STATE", &subject(&d));
    let reused =
        pb::AnswerCourtConfirmationRequest { court_case_number: "（2026）赣0702民特2号".into(), ..answer };
    expect_error(court.answer_court_confirmation(reused).await, Code::AlreadyExists, Some("REQUEST_ID_REUSED"));
    assert_eq!(head.get_dispute(&d.id).await?.etag, confirmed.etag, "refused answers changed nothing");

    // The timeline tells it all, oldest first.
    let events = timeline(&head, &d.id).await?;
    assert_eq!(
        types(&events),
        [
            E::Recorded,
            E::ConsentRecorded,
            E::ConsentRecorded,
            E::ConsentRecorded,
            E::Accepted,
            E::MediatorAssigned,
            E::SessionHeld,
            E::Settled,
            E::PerformanceRecorded,
            E::PerformanceRecorded,
            E::ConfirmationApplied,
            E::ConfirmationAnswered,
        ]
    );
    assert_eq!(events.last().map(|e| e.sequence), Some(confirmed.last_event_sequence));
    assert_eq!(events[1].actor_account_id, w.party_a.account_id, "张三 answered himself");
    assert_eq!(events[2].actor_account_id, w.village_head.account_id, "the team recorded 李四's answer");
    let states: Vec<S> = events.iter().map(|e| e.state()).collect();
    assert_eq!(states[4..8], [S::Accepted, S::Accepted, S::InMediation, S::Settled]);
    assert_eq!(states[9..], [S::Performed, S::Performed, S::Performed]);
    match &events[0].detail {
        Some(pb::dispute_event::Detail::Recorded(r)) => {
            assert_eq!(
                (r.team_id.as_str(), r.screening_id.as_str(), r.party_count),
                (team_id.as_str(), round.id.as_str(), 3)
            )
        }
        other => bail!("the first event is the recording: {other:?}"),
    }
    let team = head.get_team(&team_id).await?;
    assert_eq!(team.open_dispute_count, 0, "a performed dispute is not open");
    Ok(())
}

/// Art.17: one party's refusal ends it; Art.26: a failure names the routes
/// the parties were told of.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_ends_mediation_and_a_failure_names_the_other_routes() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = MediationWorld::create(&server).await?;
    let mediator = w.village_mediator.mediation();
    let head = w.village_head.mediation();

    let d = w.dispute_in(DisputeStage::Awaiting, "宅基地界址纠纷").await?;
    let ids = party_ids(&d);
    let d = w.party_a.mediation().record_consent(consent(&d, &ids[0], true, "")).await?;
    let refused = w.party_b.mediation().record_consent(consent(&d, &ids[1], false, "")).await?;
    assert_eq!(refused.state(), S::Refused);
    assert_eq!(refused.parties[1].consent(), pb::ConsentState::Refused);
    assert_eq!(refused.accept_date, "", "never accepted");
    // Nothing more happens to it: each call names the dispute.
    let at = subject(&refused);
    expect_precondition(head.record_consent(consent(&d, &ids[0], true, "")).await, "INVALID_STATE", &at);
    expect_precondition(
        head.assign_mediator(pb::AssignMediatorRequest {
            dispute_id: d.id.clone(),
            member_id: w.village_head.member.id.clone(),
            ..Default::default()
        })
        .await,
        "INVALID_STATE",
        &at,
    );
    expect_precondition(
        w.party_b
            .mediation()
            .object_to_mediator(pb::ObjectToMediatorRequest {
                dispute_id: d.id.clone(),
                party_id: ids[1].clone(),
                reason: "不信任".into(),
                ..Default::default()
            })
            .await,
        "INVALID_STATE",
        &at,
    );
    expect_precondition(
        mediator
            .record_session(pb::RecordSessionRequest {
                dispute_id: d.id.clone(),
                session: Some(session("")),
                ..Default::default()
            })
            .await,
        "INVALID_STATE",
        &at,
    );
    expect_precondition(
        mediator
            .record_failure(pb::RecordFailureRequest {
                dispute_id: d.id.clone(),
                failure: Some(failure(&[pb::AdvisedRoute::Judicial])),
                ..Default::default()
            })
            .await,
        "INVALID_STATE",
        &at,
    );
    expect_precondition(
        head.escalate_dispute(pb::EscalateDisputeRequest {
            dispute_id: d.id.clone(),
            team_id: w.township_team.id.clone(),
            reason: "升级".into(),
            ..Default::default()
        })
        .await,
        "INVALID_STATE",
        &at,
    );
    assert_eq!(head.get_dispute(&d.id).await?.etag, refused.etag, "refused calls changed nothing");

    // Art.26: a failure tells the parties where to go next; without a route it is refused.
    let d = w.dispute_in(DisputeStage::InMediation, "赡养费纠纷").await?;
    let fail = |routes: &[pb::AdvisedRoute]| pb::RecordFailureRequest {
        dispute_id: d.id.clone(),
        failure: Some(failure(routes)),
        ..Default::default()
    };
    expect_invalid(mediator.record_failure(fail(&[])).await, &["failure.advised_routes"]);
    assert_eq!(head.get_dispute(&d.id).await?.state(), S::InMediation);
    let routes = [pb::AdvisedRoute::Judicial, pb::AdvisedRoute::Arbitration];
    let failed = mediator.record_failure(fail(&routes)).await?;
    assert_eq!(failed.state(), S::Failed);
    assert_eq!(failed.failure, Some(pb::Failure { failure_date: today(), ..failure(&routes) }));
    expect_precondition(mediator.record_failure(fail(&routes)).await, "INVALID_STATE", &subject(&failed));
    expect_precondition(
        mediator
            .record_agreement(pb::RecordAgreementRequest {
                dispute_id: d.id.clone(),
                agreement: Some(written_agreement(&[&ids[0]], "", &days_from_now(5))),
                ..Default::default()
            })
            .await,
        "INVALID_STATE",
        &subject(&failed),
    );
    let events = timeline(&head, &d.id).await?;
    assert_eq!(events.last().map(|e| e.r#type()), Some(E::Failed));
    Ok(())
}

/// Art.23 and 21: before the team's first session a party objects to the
/// mediator (for themselves only) and a mediator recuses; the head names
/// another. After it, neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mediator_is_objected_to_or_recuses_before_the_first_session_only() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = MediationWorld::create(&server).await?;
    let mediator = w.village_mediator.mediation();
    let head = w.village_head.mediation();
    let d = w.dispute_in(DisputeStage::Accepted, "借款纠纷").await?;
    let ids = party_ids(&d);
    let objection = |party: &str| pb::ObjectToMediatorRequest {
        dispute_id: d.id.clone(),
        party_id: party.into(),
        reason: "调解员与对方是亲戚".into(),
        ..Default::default()
    };
    // 张三 may not object in 李四's name.
    expect_error(
        w.party_a.mediation().object_to_mediator(objection(&ids[1])).await,
        Code::PermissionDenied,
        Some("PERMISSION_DENIED"),
    );
    // 李四 objects for himself: the dispute is left without a mediator.
    let d = w.party_b.mediation().object_to_mediator(objection(&ids[1])).await?;
    assert_eq!((d.mediator_member_id.as_str(), d.state()), ("", S::Accepted));
    let held = |d: &pb::Dispute| pb::RecordSessionRequest {
        dispute_id: d.id.clone(),
        session: Some(session("")),
        ..Default::default()
    };
    // The mediator objected to no longer acts; nobody holds a session until another is named.
    expect_error(mediator.record_session(held(&d)).await, Code::PermissionDenied, Some("PERMISSION_DENIED"));
    expect_precondition(head.record_session(held(&d)).await, "NO_MEDIATOR", &subject(&d));
    let assign = |d: &pb::Dispute, member: &pb::TeamMember| pb::AssignMediatorRequest {
        dispute_id: d.id.clone(),
        member_id: member.id.clone(),
        etag: d.etag.clone(),
        ..Default::default()
    };
    // The head replaces him with himself …
    let d = head.assign_mediator(assign(&d, &w.village_head.member)).await?;
    assert_eq!(d.mediator_member_id, w.village_head.member.id);
    // … (a named mediator is replaced only through an objection or a recusal) …
    expect_precondition(
        head.assign_mediator(assign(&d, &w.village_mediator.member)).await,
        "INVALID_STATE",
        &subject(&d),
    );
    // … then steps aside himself for a conflict of interest (Art.21).
    let d = head
        .recuse_mediator(pb::RecuseMediatorRequest {
            dispute_id: d.id.clone(),
            reason: "与一方当事人有利害关系".into(),
            etag: d.etag.clone(),
            ..Default::default()
        })
        .await?;
    assert_eq!(d.mediator_member_id, "");
    // A member of no team of the dispute's cannot be named.
    expect_invalid(head.assign_mediator(assign(&d, &w.other_mediator.member)).await, &["member_id"]);
    let d = head.assign_mediator(assign(&d, &w.village_mediator.member)).await?;
    let d = mediator.record_session(held(&d)).await?;
    assert_eq!(d.state(), S::InMediation);
    // After the first session: MEDIATION_STARTED.
    expect_precondition(
        w.party_b.mediation().object_to_mediator(objection(&ids[1])).await,
        "MEDIATION_STARTED",
        &subject(&d),
    );
    expect_precondition(
        mediator
            .recuse_mediator(pb::RecuseMediatorRequest {
                dispute_id: d.id.clone(),
                reason: "回避".into(),
                ..Default::default()
            })
            .await,
        "MEDIATION_STARTED",
        &subject(&d),
    );
    let events = timeline(&head, &d.id).await?;
    let tail: Vec<E> = types(&events).into_iter().skip_while(|t| *t != E::MediatorObjected).collect();
    assert_eq!(
        tail,
        [E::MediatorObjected, E::MediatorAssigned, E::MediatorRecused, E::MediatorAssigned, E::SessionHeld]
    );
    let objected = events.iter().find(|e| e.r#type() == E::MediatorObjected).context("the objection")?;
    assert_eq!(objected.actor_account_id, w.party_b.account_id);
    match &objected.detail {
        Some(pb::dispute_event::Detail::MediatorObjected(o)) => assert_eq!(
            (o.member_id.as_str(), o.party_id.as_str()),
            (w.village_mediator.member.id.as_str(), ids[1].as_str())
        ),
        other => bail!("{other:?}"),
    }
    Ok(())
}

/// 三级调解: a dispute its team cannot settle goes one level up to a team
/// covering its region, keeping its sessions and the teams it passed
/// through, each of which still reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispute_climbs_from_village_to_township_to_county_keeping_its_history() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = MediationWorld::create(&server).await?;
    let admin = &w.cw.admin;
    let head = w.village_head.mediation();
    let d = w.dispute_in(DisputeStage::InMediation, "山林权属纠纷").await?;
    let escalate = |d: &pb::Dispute, team: &pb::MediationTeam, reason: &str| pb::EscalateDisputeRequest {
        dispute_id: d.id.clone(),
        team_id: team.id.clone(),
        reason: reason.into(),
        ..Default::default()
    };
    // Another township of the county, with a team not covering 和平村.
    let township_2 = admin
        .directory()
        .create_region(pb::CreateRegionRequest {
            code: "360702002".into(),
            name: "南外街道".into(),
            level: pb::RegionLevel::Township.into(),
            parent_code: w.cw.dir.county_a.code.clone(),
        })
        .await?;
    let committee_2 =
        organization(admin, "南外街道人民调解委员会", pb::OrganizationKind::MediationCommittee, &township_2, None)
            .await?;
    let elsewhere =
        team(admin, "南外街道调委会", pb::MediationTeamKind::TownshipCommittee, &committee_2, &township_2, &[]).await?;
    // Not skipping a level, not sideways, not to a team that does not cover the village.
    for (to, why) in
        [(&w.county_team, "skips the township"), (&w.other_village_team, "same level"), (&elsewhere, "elsewhere")]
    {
        let err = expect_precondition(
            head.escalate_dispute(escalate(&d, to, "升级")).await,
            "TEAM_NOT_COVERING",
            &subject(&d),
        );
        assert!(!err.message().is_empty(), "{why}");
    }
    // The head escalates, not the mediator.
    expect_error(
        w.village_mediator.mediation().escalate_dispute(escalate(&d, &w.township_team, "升级")).await,
        Code::PermissionDenied,
        Some("PERMISSION_DENIED"),
    );

    let today = today();
    let at_township = head.escalate_dispute(escalate(&d, &w.township_team, "村调解未果")).await?;
    assert_eq!(
        (at_township.team_id.as_str(), at_township.state(), at_township.mediator_member_id.as_str()),
        (w.township_team.id.as_str(), S::Accepted, "")
    );
    assert_eq!(at_township.sessions, d.sessions, "the village's session is kept");
    let stints: Vec<(String, String, String, String)> = at_township
        .teams
        .iter()
        .map(|s| (s.team_id.clone(), s.from_date.clone(), s.to_date.clone(), s.reason.clone()))
        .collect();
    assert_eq!(
        stints,
        [
            (w.village_team.id.clone(), d.receive_date.clone(), today.clone(), "村调解未果".into()),
            (w.township_team.id.clone(), today.clone(), String::new(), String::new()),
        ]
    );
    // The village team still reads it; it acts on it no more.
    assert_eq!(head.get_dispute(&d.id).await?.team_id, w.township_team.id);
    assert_eq!(w.village_mediator.mediation().get_dispute(&d.id).await?.id, d.id);
    expect_error(
        head.assign_mediator(pb::AssignMediatorRequest {
            dispute_id: d.id.clone(),
            member_id: w.village_head.member.id.clone(),
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
        Some("PERMISSION_DENIED"),
    );

    // The township's head takes it, holds a session, and sends it on.
    let township = w.township_head.mediation();
    let d2 = township
        .assign_mediator(pb::AssignMediatorRequest {
            dispute_id: d.id.clone(),
            member_id: w.township_head.member.id.clone(),
            ..Default::default()
        })
        .await?;
    let d2 = township
        .record_session(pb::RecordSessionRequest {
            dispute_id: d2.id.clone(),
            session: Some(pb::MediationSession { place: "街道调解室".into(), ..session("") }),
            ..Default::default()
        })
        .await?;
    assert_eq!(d2.sessions.len(), 2);
    expect_precondition(
        township.escalate_dispute(escalate(&d2, &w.township_team, "原地")).await,
        "TEAM_NOT_COVERING",
        &subject(&d2),
    );
    let at_county = township.escalate_dispute(escalate(&d2, &w.county_team, "涉及多个村组")).await?;
    let teams: Vec<&str> = at_county.teams.iter().map(|s| s.team_id.as_str()).collect();
    assert_eq!(teams, [w.village_team.id.as_str(), w.township_team.id.as_str(), w.county_team.id.as_str()]);
    assert_eq!((at_county.state(), at_county.sessions.len()), (S::Accepted, 2));
    let county = w.county_head.mediation();
    let assigned = county
        .assign_mediator(pb::AssignMediatorRequest {
            dispute_id: d.id.clone(),
            member_id: w.county_head.member.id.clone(),
            ..Default::default()
        })
        .await?;
    assert_eq!(assigned.mediator_member_id, w.county_head.member.id);

    // Every team it passed through reads it, and its timeline shows each.
    for (who, reader) in [
        ("village head", &head),
        ("village mediator", &w.village_mediator.mediation()),
        ("township head", &township),
        ("county head", &county),
    ] {
        assert_eq!(reader.get_dispute(&d.id).await?.team_id, w.county_team.id, "{who}");
    }
    let events = timeline(&head, &d.id).await?;
    let moves: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match &e.detail {
            Some(pb::dispute_event::Detail::Escalated(x)) => Some((x.from_team_id.clone(), x.to_team_id.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        moves,
        [
            (w.village_team.id.clone(), w.township_team.id.clone()),
            (w.township_team.id.clone(), w.county_team.id.clone())
        ]
    );
    // Lists by team: the dispute is now the county's.
    let at = |team: &pb::MediationTeam| pb::ListDisputesRequest { team_id: team.id.clone(), ..Default::default() };
    let ids = |list: pb::ListDisputesResponse| list.disputes.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert!(ids(head.list_disputes(at(&w.village_team)).await?).is_empty());
    assert_eq!(ids(county.list_disputes(at(&w.county_team)).await?), [d.id.as_str()]);
    assert_eq!(ids(head.list_disputes(pb::ListDisputesRequest::default()).await?), [d.id.as_str()]);
    Ok(())
}

/// The village team's head records a dispute received `days` before
/// `agreed`, settles it in writing on `agreed`, every act dated back.
async fn settled_on(w: &MediationWorld, agreed: NaiveDate, matter: &str) -> Result<pb::Dispute> {
    let day = |offset: i64| date_string(agreed - chrono::Duration::days(offset));
    let head = w.village_head.mediation();
    let d = w.record(w.draft(matter), &day(6)).await?;
    assert_eq!(d.receive_date, day(6));
    let mut d = head
        .assign_mediator(pb::AssignMediatorRequest {
            dispute_id: d.id.clone(),
            member_id: w.village_head.member.id.clone(),
            ..Default::default()
        })
        .await?;
    for party in party_ids(&d) {
        d = head.record_consent(consent(&d, &party, true, &day(5))).await?;
    }
    assert_eq!(d.accept_date, day(5));
    let d = head
        .record_session(pb::RecordSessionRequest {
            dispute_id: d.id.clone(),
            session: Some(session(&day(2))),
            ..Default::default()
        })
        .await?;
    let ids = party_ids(&d);
    Ok(head
        .record_agreement(pb::RecordAgreementRequest {
            dispute_id: d.id.clone(),
            agreement: Some(written_agreement(&[&ids[1]], &day(0), &day(-10))),
            ..Default::default()
        })
        .await?)
}

/// Art.33: the parties apply within 30 days of the agreement taking
/// effect; a last day on a rest day moves to the next working day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_confirmation_window_is_thirty_days_on_the_workday_calendar() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = MediationWorld::create(&server).await?;
    let admin = &w.cw.admin;
    let today = petition_server::time::shanghai_today();
    let plus = |d: NaiveDate, n: i64| d + chrono::Duration::days(n);
    // D: an agreement day whose 30th day after is a working day, and
    // whose 31st is past.
    let mut d = plus(today, -40);
    while deadline(admin, &date_string(d), 30).await? != date_string(plus(d, 30)) {
        d = plus(d, -1);
    }
    // R: one whose 30th day is a rest day, the window then ending later.
    let mut r = plus(today, -45);
    let r_end = loop {
        let end = parse(&deadline(admin, &date_string(r), 30).await?)?;
        if end > plus(r, 30) {
            break end;
        }
        r = plus(r, -1);
    };

    let apply = |dispute: &pb::Dispute, on: NaiveDate| pb::ApplyForCourtConfirmationRequest {
        dispute_id: dispute.id.clone(),
        court_organization_id: w.cw.court.id.clone(),
        apply_date: date_string(on),
        all_parties_apply: true,
        ..Default::default()
    };
    let head = w.village_head.mediation();
    let on_time = settled_on(&w, d, "相邻排水纠纷").await?;
    let agreement = on_time.agreement.clone().context("the agreement")?;
    assert_eq!(
        (agreement.effective_date.clone(), agreement.confirmation_apply_by.clone()),
        (date_string(d), date_string(plus(d, 30)))
    );
    assert!(!on_time.overdue, "a settled dispute is not overdue, however old");
    // The parties apply jointly, to a court.
    let alone = pb::ApplyForCourtConfirmationRequest { all_parties_apply: false, ..apply(&on_time, plus(d, 30)) };
    expect_invalid(head.apply_for_court_confirmation(alone).await, &["all_parties_apply"]);
    let to_bureau = pb::ApplyForCourtConfirmationRequest {
        court_organization_id: w.cw.dir.bureau_a.id.clone(),
        ..apply(&on_time, plus(d, 30))
    };
    expect_invalid(head.apply_for_court_confirmation(to_bureau).await, &["court_organization_id"]);
    let applied = head.apply_for_court_confirmation(apply(&on_time, plus(d, 30))).await?;
    let confirmation = applied.confirmation.context("the application")?;
    assert_eq!(
        (confirmation.apply_date.clone(), confirmation.state()),
        (date_string(plus(d, 30)), pb::ConfirmationState::Pending)
    );

    let late = settled_on(&w, d, "相邻通行纠纷").await?;
    expect_precondition(
        head.apply_for_court_confirmation(apply(&late, plus(d, 31))).await,
        "CONFIRMATION_WINDOW_CLOSED",
        &subject(&late),
    );
    assert_eq!(head.get_dispute(&late.id).await?.confirmation, None);

    let over_a_rest_day = settled_on(&w, r, "相邻采光纠纷").await?;
    assert_eq!(over_a_rest_day.agreement.as_ref().map(|a| a.confirmation_apply_by.clone()), Some(date_string(r_end)));
    let applied = head.apply_for_court_confirmation(apply(&over_a_rest_day, r_end)).await?;
    assert_eq!(applied.confirmation.map(|c| c.apply_date), Some(date_string(r_end)));

    // An accepted dispute past its time limit is overdue, and listed so.
    let old = w.record(w.draft("陈年纠纷"), &date_string(plus(d, -6))).await?;
    let mut old = old;
    for party in party_ids(&old) {
        old = head.record_consent(consent(&old, &party, true, &date_string(plus(d, -5)))).await?;
    }
    assert_eq!(old.due_date, deadline(admin, &date_string(plus(d, -5)), 30).await?);
    assert!(old.overdue);
    let overdue = head.list_disputes(pb::ListDisputesRequest { overdue_only: true, ..Default::default() }).await?;
    let listed: Vec<&str> = overdue.disputes.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(listed, [old.id.as_str()]);
    Ok(())
}

/// Every class of bad input is INVALID_ARGUMENT naming the field; a
/// screening with one bad dispute records nothing at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_field_by_field_and_nothing_is_half_written() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = MediationWorld::create(&server).await?;
    let head = w.village_head.mediation();
    let mediator = w.village_mediator.mediation();
    let tomorrow = days_from_now(1);
    let create = |draft: pb::DisputeDraft, receive_date: &str| pb::CreateDisputeRequest {
        team_id: w.village_team.id.clone(),
        dispute: Some(draft),
        source: pb::DisputeSource::Application.into(),
        receive_date: receive_date.into(),
        ..Default::default()
    };
    // A party needs a contact: an account or a phone.
    let no_contact = pb::NewDisputeParty { name: "王五".into(), ..Default::default() };
    let draft = pb::DisputeDraft { parties: vec![w.party_a.as_party(), no_contact], ..w.draft("无联系方式") };
    expect_invalid(head.create_dispute(create(draft, "")).await, &["dispute.parties[1].phone"]);
    expect_invalid(head.create_dispute(create(w.draft("明天的纠纷"), &tomorrow)).await, &["receive_date"]);
    let one_party = pb::DisputeDraft { parties: vec![w.party_a.as_party()], ..w.draft("一方") };
    expect_invalid(head.create_dispute(create(one_party, "")).await, &["dispute.parties"]);

    let d = w.dispute_in(DisputeStage::Awaiting, "排水纠纷").await?;
    let ids = party_ids(&d);
    expect_invalid(head.record_consent(consent(&d, &ids[0], true, &tomorrow)).await, &["consent_date"]);
    expect_invalid(head.record_consent(consent(&d, &ids[0], true, &days_ago(1))).await, &["consent_date"]);
    for party in &ids {
        head.record_consent(consent(&d, party, true, "")).await?;
    }
    let held = |date: &str| pb::RecordSessionRequest {
        dispute_id: d.id.clone(),
        session: Some(session(date)),
        ..Default::default()
    };
    expect_invalid(mediator.record_session(held(&tomorrow)).await, &["session.session_date"]);
    expect_invalid(mediator.record_session(held(&days_ago(1))).await, &["session.session_date"]);
    let d = mediator.record_session(held("")).await?;

    // Art.29: a written agreement states the facts; a term is due on or after its day.
    let agree = |agreement: pb::Agreement| pb::RecordAgreementRequest {
        dispute_id: d.id.clone(),
        agreement: Some(agreement),
        ..Default::default()
    };
    let complete = written_agreement(&[&ids[0]], "", &days_from_now(10));
    expect_invalid(
        mediator.record_agreement(agree(pb::Agreement { facts: String::new(), ..complete.clone() })).await,
        &["agreement.facts"],
    );
    expect_invalid(
        mediator.record_agreement(agree(written_agreement(&[&ids[0]], &today(), &days_ago(1)))).await,
        &["agreement.terms[0].deadline"],
    );
    expect_invalid(
        mediator.record_agreement(agree(pb::Agreement { effective_date: tomorrow.clone(), ..complete.clone() })).await,
        &["agreement.effective_date"],
    );
    expect_invalid(
        mediator.record_agreement(agree(pb::Agreement { signed_by_all_parties: false, ..complete.clone() })).await,
        &["agreement.signed_by_all_parties"],
    );
    let stranger = uuid::Uuid::now_v7().to_string();
    expect_invalid(
        mediator.record_agreement(agree(written_agreement(&[&stranger], "", &days_from_now(3)))).await,
        &["agreement.terms[0].obligor_party_id"],
    );
    let unchanged = head.get_dispute(&d.id).await?;
    assert_eq!((unchanged.state(), unchanged.etag.as_str()), (S::InMediation, d.etag.as_str()));
    // An oral agreement (Art.28, 30) needs no Art.29 statement, and no court confirms it.
    let oral = pb::Agreement {
        form: pb::AgreementForm::Oral.into(),
        parties_summary: String::new(),
        facts: String::new(),
        issues_and_responsibility: String::new(),
        signed_by_all_parties: false,
        sealed_by_committee: false,
        ..complete.clone()
    };
    let settled = mediator.record_agreement(agree(oral)).await?;
    assert_eq!(settled.state(), S::Settled);
    let recorded = settled.agreement.clone().context("the agreement")?;
    assert_eq!(
        (recorded.form(), recorded.signed_by_all_parties, recorded.sealed_by_committee),
        (pb::AgreementForm::Oral, false, false)
    );
    expect_precondition(
        mediator
            .apply_for_court_confirmation(pb::ApplyForCourtConfirmationRequest {
                dispute_id: d.id.clone(),
                court_organization_id: w.cw.court.id.clone(),
                all_parties_apply: true,
                ..Default::default()
            })
            .await,
        "INVALID_STATE",
        &subject(&settled),
    );

    // A screening round is recorded whole or not at all.
    let screenings = |client: petition_sdk::MediationClient| {
        let team_id = w.village_team.id.clone();
        async move {
            let rounds = client.list_screenings(pb::ListScreeningsRequest { team_id, ..Default::default() }).await?;
            Ok::<_, anyhow::Error>(rounds.screenings.len())
        }
    };
    let disputes = || async {
        Ok::<_, anyhow::Error>(w.cw.admin.mediation().list_disputes(Default::default()).await?.disputes.len())
    };
    let (rounds_before, disputes_before) = (screenings(head.clone()).await?, disputes().await?);
    let round = |drafts: Vec<pb::DisputeDraft>| pb::RecordScreeningRequest {
        team_id: w.village_team.id.clone(),
        area: "和平村三组".into(),
        disputes: drafts,
        ..Default::default()
    };
    let good = w.draft("好的一件");
    let bad_phone = pb::DisputeDraft {
        parties: vec![
            pb::NewDisputeParty { name: "赵六".into(), phone: "12345".into(), ..Default::default() },
            w.party_b.as_party(),
        ],
        ..w.draft("电话有误")
    };
    expect_invalid(
        mediator.record_screening(round(vec![good.clone(), bad_phone])).await,
        &["disputes[1].parties[0].phone"],
    );
    // Found wrong only inside the transaction: the first dispute was already written, and is undone.
    let unknown_region = pb::DisputeDraft { region_code: "360702001099".into(), ..w.draft("无此村") };
    expect_invalid(
        mediator.record_screening(round(vec![good.clone(), unknown_region])).await,
        &["disputes[1].region_code"],
    );
    let not_a_citizen = pb::DisputeDraft {
        parties: vec![
            w.party_a.as_party(),
            pb::NewDisputeParty { account_id: w.village_head.account_id.clone(), ..Default::default() },
        ],
        ..w.draft("调解员当事人")
    };
    expect_invalid(
        mediator.record_screening(round(vec![good.clone(), not_a_citizen])).await,
        &["disputes[1].parties[1].account_id"],
    );
    let elsewhere = pb::DisputeDraft { region_code: w.village_2.code.clone(), ..w.draft("邻村的事") };
    expect_precondition(
        mediator.record_screening(round(vec![good.clone(), elsewhere])).await,
        "TEAM_NOT_COVERING",
        &format!("teams/{}", w.village_team.id),
    );
    expect_invalid(
        mediator.record_screening(pb::RecordScreeningRequest { zero_report: true, ..round(vec![good.clone()]) }).await,
        &["disputes"],
    );
    expect_invalid(mediator.record_screening(round(vec![])).await, &["zero_report"]);
    expect_invalid(
        mediator
            .record_screening(pb::RecordScreeningRequest {
                screening_date: tomorrow.clone(),
                zero_report: true,
                ..round(vec![])
            })
            .await,
        &["screening_date"],
    );
    assert_eq!(
        (screenings(head.clone()).await?, disputes().await?),
        (rounds_before, disputes_before),
        "nothing recorded"
    );
    Ok(())
}
