//! Backlog cases (积案) end to end: a clerk designates a case; resolving is
//! refused, naming each missing check, until the four checks are recorded
//! (one at a time) and agree, and until someone is held accountable where
//! responsibility was not carried out; the timeline and the change feed
//! carry typed events; every RPC is denied to whoever may not call it; bad
//! input names its fields; the designation rule's candidates and its write
//! against the real database.

use anyhow::{Context, Result};
use futures::TryStreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::courts_world::all_changes;
use petition_tests::*;

use crate::support::{eventually, expect_error, expect_invalid};

fn designate(case_id: &str, detail: &str) -> pb::DesignateBacklogCaseRequest {
    pb::DesignateBacklogCaseRequest { case_id: case_id.into(), detail: detail.into(), ..Default::default() }
}

fn root_cause() -> pb::RootCauseCheck {
    pb::RootCauseCheck {
        category: pb::RootCauseCategory::HandlingFault.into(),
        findings: "物业维修资金未落实，街道未督促".into(),
        ..Default::default()
    }
}

fn claim_reasonable(r: pb::ClaimReasonableness) -> pb::ClaimReasonableCheck {
    pb::ClaimReasonableCheck {
        reasonableness: r.into(),
        basis: "《物业管理条例》第五十五条".into(),
        ..Default::default()
    }
}

fn claim_resolved(r: pb::ClaimResolution) -> pb::ClaimResolvedCheck {
    pb::ClaimResolvedCheck { resolution: r.into(), findings: "管道已更换".into(), ..Default::default() }
}

fn responsibility(f: pb::ResponsibilityFinding) -> pb::ResponsibilityCheck {
    pb::ResponsibilityCheck { finding: f.into(), findings: "承办单位逾期未办".into(), ..Default::default() }
}

fn checks(id: &str, checks: pb::BacklogChecks) -> pb::RecordBacklogChecksRequest {
    pb::RecordBacklogChecksRequest { backlog_case_id: id.into(), checks: Some(checks), ..Default::default() }
}

fn resolve(id: &str) -> pb::ResolveBacklogCaseRequest {
    pb::ResolveBacklogCaseRequest {
        backlog_case_id: id.into(),
        summary: "诉求已解决，信访人息诉".into(),
        ..Default::default()
    }
}

fn accountability(id: &str) -> pb::RecordBacklogAccountabilityRequest {
    pb::RecordBacklogAccountabilityRequest {
        backlog_case_id: id.into(),
        accountability: Some(pb::BacklogAccountability {
            name: "王某".into(),
            measure: pb::AccountabilityMeasure::AdmonitionTalk.into(),
            detail: "逾期未办，诫勉谈话".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn withdraw(id: &str) -> pb::WithdrawBacklogDesignationRequest {
    pb::WithdrawBacklogDesignationRequest {
        backlog_case_id: id.into(),
        reason: "认定有误".into(),
        ..Default::default()
    }
}

fn events(id: &str) -> pb::ListBacklogCaseEventsRequest {
    pb::ListBacklogCaseEventsRequest { backlog_case_id: id.into(), ..Default::default() }
}

/// Asserts FAILED_PRECONDITION BACKLOG_CHECKS_INCOMPLETE naming exactly
/// `subjects`, in order.
#[track_caller]
fn expect_unmet(result: petition_sdk::Result<pb::BacklogCase>, subjects: &[&str]) {
    let error = expect_error(result, Code::FailedPrecondition, Some("BACKLOG_CHECKS_INCOMPLETE"));
    let got: Vec<String> = error.precondition_violations().into_iter().map(|v| v.subject).collect();
    assert_eq!(got, subjects, "{error}");
}

async fn event_types(client: &Client, id: &str) -> Result<Vec<pb::BacklogCaseEventType>> {
    let events: Vec<pb::BacklogCaseEvent> = client.backlog().backlog_case_events(id).try_collect().await?;
    events.iter().for_each(crate::support::assert_typed_backlog_event);
    Ok(events.iter().map(|e| e.r#type()).collect())
}

async fn listed(client: &Client, filter: pb::ListBacklogCasesRequest) -> Result<Vec<String>> {
    let all: Vec<pb::BacklogCase> = client.backlog().backlog_cases(filter).try_collect().await?;
    Ok(all.into_iter().map(|b| b.id).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_case_resolves_only_after_its_four_checks() -> Result<()> {
    use pb::BacklogCheck as C;
    use pb::ClaimReasonableness as R;
    use pb::ClaimResolution as S;
    use pb::ResponsibilityFinding as F;
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.accepted_case("积案-管道漏水").await?;

    let designated = w.clerk.backlog().designate_backlog_case(designate(&case.id, "久拖不决，群众反映强烈")).await?;
    assert_eq!(designated.state(), pb::BacklogCaseState::Designated);
    assert_eq!(designated.reason(), pb::BacklogReason::ByDecision);
    assert!(!designated.by_rule);
    assert_eq!(
        (designated.case_id.as_str(), designated.case_number.as_str()),
        (case.id.as_str(), case.number.as_str())
    );
    assert_eq!(
        designated.missing_checks().collect::<Vec<_>>(),
        [C::RootCause, C::ClaimReasonable, C::ClaimResolved, C::Responsibility]
    );
    let id = designated.id.clone();
    // One open designation per case.
    expect_error(
        w.supervisor.backlog().designate_backlog_case(designate(&case.id, "再次认定")).await,
        Code::FailedPrecondition,
        Some("ALREADY_DESIGNATED"),
    );

    // Refused until the four checks are in, each missing one named.
    let b = w.supervisor.backlog();
    expect_unmet(
        b.resolve_backlog_case(resolve(&id)).await,
        &["root_cause", "claim_reasonable", "claim_resolved", "responsibility"],
    );
    let one = |c: pb::BacklogChecks| checks(&id, c);
    w.handler
        .backlog()
        .record_backlog_checks(one(pb::BacklogChecks { root_cause: Some(root_cause()), ..Default::default() }))
        .await?;
    expect_unmet(b.resolve_backlog_case(resolve(&id)).await, &["claim_reasonable", "claim_resolved", "responsibility"]);
    w.clerk
        .backlog()
        .record_backlog_checks(one(pb::BacklogChecks {
            claim_reasonable: Some(claim_reasonable(R::Reasonable)),
            ..Default::default()
        }))
        .await?;
    expect_unmet(b.resolve_backlog_case(resolve(&id)).await, &["claim_resolved", "responsibility"]);
    // A reasonable claim NOT_RESOLVED never resolves the backlog.
    w.unit_lead
        .backlog()
        .record_backlog_checks(one(pb::BacklogChecks {
            claim_resolved: Some(claim_resolved(S::NotResolved)),
            ..Default::default()
        }))
        .await?;
    expect_unmet(b.resolve_backlog_case(resolve(&id)).await, &["responsibility", "claim_resolved"]);
    // A later record replaces the check.
    let replaced = w
        .unit_lead
        .backlog()
        .record_backlog_checks(one(pb::BacklogChecks {
            claim_resolved: Some(claim_resolved(S::Resolved)),
            ..Default::default()
        }))
        .await?;
    assert_eq!(
        replaced.checks.as_ref().and_then(|c| c.claim_resolved.as_ref()).map(|c| c.resolution()),
        Some(S::Resolved)
    );
    expect_unmet(b.resolve_backlog_case(resolve(&id)).await, &["responsibility"]);
    // NOT_CARRIED_OUT: refused until someone is held accountable.
    let checked = w
        .leader
        .backlog()
        .record_backlog_checks(one(pb::BacklogChecks {
            responsibility: Some(responsibility(F::NotCarriedOut)),
            ..Default::default()
        }))
        .await?;
    assert!(checked.missing_checks.is_empty());
    let stamped = checked.checks.as_ref().and_then(|c| c.root_cause.as_ref()).context("root cause")?;
    assert!(stamped.record_time.is_some() && !stamped.recorded_by_account_id.is_empty());
    // The same values again record nothing.
    let again = w
        .leader
        .backlog()
        .record_backlog_checks(one(pb::BacklogChecks {
            responsibility: Some(responsibility(F::NotCarriedOut)),
            ..Default::default()
        }))
        .await?;
    assert_eq!(again.etag, checked.etag);
    expect_unmet(b.resolve_backlog_case(resolve(&id)).await, &["accountability"]);
    let held = b.record_backlog_accountability(accountability(&id)).await?;
    assert_eq!(held.accountability.len(), 1);
    assert_eq!(held.accountability[0].measure(), pb::AccountabilityMeasure::AdmonitionTalk);

    // A stale etag is ABORTED; the right one resolves, and a replay of the
    // same request answers alike.
    let stale = pb::ResolveBacklogCaseRequest { etag: checked.etag.clone(), ..resolve(&id) };
    expect_error(b.resolve_backlog_case(stale).await, Code::Aborted, None);
    let request = pb::ResolveBacklogCaseRequest {
        etag: held.etag.clone(),
        request_id: petition_sdk::new_request_id(),
        ..resolve(&id)
    };
    let resolved = b.resolve_backlog_case(request.clone()).await?;
    assert_eq!(resolved.state(), pb::BacklogCaseState::Resolved);
    assert!(resolved.close_time.is_some());
    assert_eq!(resolved.resolution_summary, "诉求已解决，信访人息诉");
    let replayed = b.resolve_backlog_case(request).await?;
    assert_eq!(replayed.etag, resolved.etag);
    // Closed: nothing more is recorded.
    expect_error(
        w.clerk
            .backlog()
            .record_backlog_checks(one(pb::BacklogChecks { root_cause: Some(root_cause()), ..Default::default() }))
            .await,
        Code::FailedPrecondition,
        Some("INVALID_STATE"),
    );

    use pb::BacklogCaseEventType as T;
    assert_eq!(
        event_types(&w.supervisor, &id).await?,
        [
            T::Designated,
            T::ChecksRecorded,
            T::ChecksRecorded,
            T::ChecksRecorded,
            T::ChecksRecorded,
            T::ChecksRecorded,
            T::AccountabilityRecorded,
            T::Resolved,
        ]
    );
    // Lists: by state and case; the case may be designated again.
    let filter = pb::ListBacklogCasesRequest {
        states: vec![pb::BacklogCaseState::Resolved.into()],
        case_id: case.id.clone(),
        ..Default::default()
    };
    assert_eq!(listed(&w.leader, filter).await?, std::slice::from_ref(&id));
    let open =
        pb::ListBacklogCasesRequest { states: vec![pb::BacklogCaseState::Designated.into()], ..Default::default() };
    assert!(listed(&w.leader, open).await?.is_empty());
    let second = w.leader.backlog().designate_backlog_case(designate(&case.id, "再次反映")).await?;
    assert_ne!(second.id, id);

    // The change feed carries the events typed, to the supervisor.
    let changes = eventually(
        || async { all_changes(&w.supervisor).await },
        |changes: &Vec<pb::Change>| {
            changes.iter().filter(|c| c.aggregate_type() == pb::AggregateType::BacklogCase).count() >= 9
        },
    )
    .await?;
    let backlog: Vec<&pb::Change> =
        changes.iter().filter(|c| c.aggregate_type() == pb::AggregateType::BacklogCase).collect();
    assert_eq!(backlog.len(), 9, "eight of the first and one of the second");
    backlog.iter().for_each(|c| crate::support::assert_typed(c));
    let filtered = w
        .supervisor
        .feed()
        .list_changes(pb::ListChangesRequest {
            filter: Some(pb::ChangeFilter {
                backlog_case_event_types: vec![T::Resolved.into()],
                aggregate_types: vec![pb::AggregateType::BacklogCase.into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?;
    assert_eq!(filtered.changes.len(), 1);
    // The petitioner never sees them.
    let theirs = all_changes(&w.owner).await?;
    assert!(theirs.iter().all(|c| c.aggregate_type() != pb::AggregateType::BacklogCase));

    // The stored backlog case is the fold of its events.
    let url = server.database.as_ref().context("the server's database")?.url().to_owned();
    let uuid: uuid::Uuid = id.parse()?;
    let (stored, folded) = tokio::task::spawn_blocking(move || -> Result<_> {
        use diesel::Connection;
        let mut conn = diesel::PgConnection::establish(&url)?;
        let stored = petition_server::backlog::store::find_backlog_case(&mut conn, uuid)?.context("stored")?;
        let events = petition_server::event_log::timeline(&mut conn, uuid, 0, 100)?
            .iter()
            .map(petition_server::event_log::parse_event::<petition_server::backlog::rules::Event>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((stored, petition_server::backlog::rules::fold(&events)))
    })
    .await??;
    assert_eq!(folded.as_ref(), Some(&stored.lifecycle.0));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreasonable_claim_resolves_with_not_applicable_only() -> Result<()> {
    use pb::ClaimReasonableness as R;
    use pb::ClaimResolution as S;
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.accepted_case("积案-过高诉求").await?;
    let id = w.supervisor.backlog().designate_backlog_case(designate(&case.id, "诉求过高")).await?.id;
    let all = |s: S| pb::BacklogChecks {
        root_cause: Some(pb::RootCauseCheck {
            category: pb::RootCauseCategory::UnreasonableDemand.into(),
            findings: "要求超出政策".into(),
            ..Default::default()
        }),
        claim_reasonable: Some(claim_reasonable(R::Unreasonable)),
        claim_resolved: Some(claim_resolved(s)),
        responsibility: Some(responsibility(pb::ResponsibilityFinding::CarriedOut)),
    };
    let b = w.supervisor.backlog();
    b.record_backlog_checks(checks(&id, all(S::Resolved))).await?;
    expect_unmet(b.resolve_backlog_case(resolve(&id)).await, &["claim_resolved"]);
    b.record_backlog_checks(checks(&id, all(S::NotApplicable))).await?;
    assert_eq!(b.resolve_backlog_case(resolve(&id)).await?.state(), pb::BacklogCaseState::Resolved);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_its_fields() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.accepted_case("积案-输入").await?;
    let b = w.clerk.backlog();
    expect_invalid(b.designate_backlog_case(designate("not-an-id", "")).await, &["case_id", "detail"]);
    let long = "字".repeat(2_001);
    expect_invalid(b.designate_backlog_case(designate(&case.id, &long)).await, &["detail"]);
    let id = b.designate_backlog_case(designate(&case.id, "久拖")).await?.id;

    expect_invalid(b.record_backlog_checks(checks(&id, pb::BacklogChecks::default())).await, &["checks"]);
    expect_invalid(
        b.record_backlog_checks(pb::RecordBacklogChecksRequest { backlog_case_id: id.clone(), ..Default::default() })
            .await,
        &["checks"],
    );
    let bad = pb::BacklogChecks {
        root_cause: Some(pb::RootCauseCheck { category: 99, findings: String::new(), ..Default::default() }),
        claim_reasonable: Some(pb::ClaimReasonableCheck {
            reasonableness: 0,
            basis: long.clone(),
            ..Default::default()
        }),
        claim_resolved: Some(pb::ClaimResolvedCheck { resolution: 5, findings: "有".into(), ..Default::default() }),
        responsibility: Some(pb::ResponsibilityCheck { finding: 3, findings: " ".into(), ..Default::default() }),
    };
    expect_invalid(
        b.record_backlog_checks(checks(&id, bad)).await,
        &[
            "checks.root_cause.category",
            "checks.root_cause.findings",
            "checks.claim_reasonable.reasonableness",
            "checks.claim_reasonable.basis",
            "checks.claim_resolved.resolution",
            "checks.responsibility.finding",
            "checks.responsibility.findings",
        ],
    );
    expect_invalid(b.record_backlog_checks(checks("nope", pb::BacklogChecks::default())).await, &["backlog_case_id"]);

    let s = w.supervisor.backlog();
    let person = pb::BacklogAccountability {
        account_id: "bad".into(),
        name: String::new(),
        organization_id: "bad".into(),
        measure: 42,
        detail: long.clone(),
        ..Default::default()
    };
    let request = pb::RecordBacklogAccountabilityRequest {
        backlog_case_id: id.clone(),
        accountability: Some(person),
        ..Default::default()
    };
    expect_invalid(
        s.record_backlog_accountability(request).await,
        &[
            "accountability.account_id",
            "accountability.name",
            "accountability.organization_id",
            "accountability.measure",
            "accountability.detail",
        ],
    );
    // Well-formed ids of no one: named; real ones are kept.
    let unknown = uuid::Uuid::now_v7().to_string();
    let mut stranger = accountability(&id);
    if let Some(a) = stranger.accountability.as_mut() {
        a.account_id = unknown.clone();
        a.organization_id = unknown.clone();
    }
    expect_invalid(
        s.record_backlog_accountability(stranger).await,
        &["accountability.account_id", "accountability.organization_id"],
    );
    let mut known = accountability(&id);
    if let Some(a) = known.accountability.as_mut() {
        a.account_id = w.owner_id.clone();
        a.organization_id = w.dir.unit_a.id.clone();
    }
    let held = s.record_backlog_accountability(known).await?;
    assert_eq!(held.accountability[0].organization_id, w.dir.unit_a.id);
    let none = pb::RecordBacklogAccountabilityRequest { backlog_case_id: id.clone(), ..Default::default() };
    expect_invalid(s.record_backlog_accountability(none).await, &["accountability"]);
    expect_invalid(
        s.resolve_backlog_case(pb::ResolveBacklogCaseRequest { backlog_case_id: id.clone(), ..Default::default() })
            .await,
        &["summary"],
    );
    expect_invalid(
        s.withdraw_backlog_designation(pb::WithdrawBacklogDesignationRequest {
            backlog_case_id: id.clone(),
            reason: long.clone(),
            ..Default::default()
        })
        .await,
        &["reason"],
    );
    expect_invalid(s.get_backlog_case("").await, &["backlog_case_id"]);
    let filter = pb::ListBacklogCasesRequest { states: vec![0, 9], reasons: vec![5], ..Default::default() };
    expect_invalid(s.list_backlog_cases(filter).await, &["states[0]", "states[1]", "reasons[0]"]);
    let flood = pb::ListBacklogCasesRequest { reasons: vec![1; 10_000], ..Default::default() };
    expect_invalid(s.list_backlog_cases(flood).await, &["reasons"]);
    expect_invalid(
        s.list_backlog_cases(pb::ListBacklogCasesRequest { page_size: -1, ..Default::default() }).await,
        &["page_size"],
    );
    let nowhere = pb::ListBacklogCasesRequest { region_code: "999999".into(), ..Default::default() };
    expect_invalid(s.list_backlog_cases(nowhere).await, &["region_code"]);
    expect_invalid(
        s.list_backlog_case_events(pb::ListBacklogCaseEventsRequest {
            backlog_case_id: "x".into(),
            ..Default::default()
        })
        .await,
        &["backlog_case_id"],
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_backlog_rpc_is_denied_to_who_may_not_call_it() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w.accepted_case("积案-权限").await?;
    let (mediator, _) = signed_in_staff(&w.admin, "mediator.a", &w.dir.bureau_a, &[pb::Role::Mediator]).await?;

    // Designation: the petitioner sees the case but may not; the handling
    // unit neither; strangers do not see the case.
    let designating = [
        (&w.owner, Code::PermissionDenied),
        (&w.handler, Code::PermissionDenied),
        (&w.unit_lead, Code::PermissionDenied),
        (&w.admin, Code::PermissionDenied),
        (&w.other_citizen, Code::NotFound),
        (&w.handler_b, Code::NotFound),
        (&w.clerk_b, Code::NotFound),
        (&mediator, Code::NotFound),
        (&w.partner, Code::NotFound),
    ];
    for (who, code) in designating {
        expect_error(who.backlog().designate_backlog_case(designate(&case.id, "认定")).await, code, None);
    }
    let backlog = w.clerk.backlog().designate_backlog_case(designate(&case.id, "久拖不决")).await?;
    let id = backlog.id.clone();

    // Strangers: the petitioner (internal oversight), another citizen,
    // another county's unit and clerk, a mediator, the court's partner —
    // NOT_FOUND for every call, and never listed.
    let strangers = [&w.owner, &w.other_citizen, &w.handler_b, &w.clerk_b, &mediator, &w.partner];
    for who in strangers {
        let b = who.backlog();
        let hidden = |r: petition_sdk::Result<pb::BacklogCase>| {
            expect_error(r, Code::NotFound, Some("NOT_FOUND"));
        };
        hidden(b.get_backlog_case(&id).await);
        expect_error(b.list_backlog_case_events(events(&id)).await, Code::NotFound, None);
        hidden(
            b.record_backlog_checks(checks(
                &id,
                pb::BacklogChecks { root_cause: Some(root_cause()), ..Default::default() },
            ))
            .await,
        );
        hidden(b.record_backlog_accountability(accountability(&id)).await);
        hidden(b.resolve_backlog_case(resolve(&id)).await);
        hidden(b.withdraw_backlog_designation(withdraw(&id)).await);
        assert!(listed(who, pb::ListBacklogCasesRequest::default()).await?.is_empty());
    }
    // Those who see it: read and list; only leaders and supervisors hold
    // accountable, resolve and withdraw; the admin reads and acts on none.
    let seers = [&w.clerk, &w.handler, &w.unit_lead, &w.leader, &w.supervisor, &w.admin];
    for who in seers {
        assert_eq!(who.backlog().get_backlog_case(&id).await?.id, id);
        assert_eq!(who.backlog().list_backlog_case_events(events(&id)).await?.events.len(), 1);
        assert_eq!(listed(who, pb::ListBacklogCasesRequest::default()).await?, std::slice::from_ref(&id));
    }
    for who in [&w.clerk, &w.handler, &w.unit_lead, &w.admin] {
        let b = who.backlog();
        expect_error(b.record_backlog_accountability(accountability(&id)).await, Code::PermissionDenied, None);
        expect_error(b.resolve_backlog_case(resolve(&id)).await, Code::PermissionDenied, None);
        expect_error(b.withdraw_backlog_designation(withdraw(&id)).await, Code::PermissionDenied, None);
    }
    expect_error(
        w.admin
            .backlog()
            .record_backlog_checks(checks(
                &id,
                pb::BacklogChecks { root_cause: Some(root_cause()), ..Default::default() },
            ))
            .await,
        Code::PermissionDenied,
        None,
    );
    // A leader withdraws a designation made in error.
    let withdrawn = w.leader.backlog().withdraw_backlog_designation(withdraw(&id)).await?;
    assert_eq!(withdrawn.state(), pb::BacklogCaseState::Withdrawn);
    assert_eq!(withdrawn.withdrawal_reason, "认定有误");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_designation_rule_picks_cases_from_the_database_and_designates_them() -> Result<()> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
    use petition_server::backlog::domain::BacklogReason;
    use petition_server::backlog::{rules::Policy, store};
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let old = w.accepted_case("积案-超期").await?;
    let fresh = w.accepted_case("积案-新案").await?;
    let original = w.submit(claim("积案-重复原件")).await?;
    let mut repeats = Vec::new();
    for i in 0..3 {
        repeats.push(uuid::Uuid::parse_str(&w.submit(claim(&format!("积案-重复{i}"))).await?.id)?);
    }
    let finished = w.submit(claim("积案-终结")).await?;
    let again = w.submit(claim("积案-终结后再访")).await?;
    let database = server.database.as_ref().context("the server's database")?;
    let mut conn = database.connect()?;
    let today = petition_server::time::shanghai_today();
    let parse = |s: &str| uuid::Uuid::parse_str(s);
    let (old_id, fresh_id, original_id, finished_id, again_id) =
        (parse(&old.id)?, parse(&fresh.id)?, parse(&original.id)?, parse(&finished.id)?, parse(&again.id)?);
    // Registered 91 days ago, as an import of past records would have it.
    diesel::sql_query(
        "UPDATE cases SET lifecycle = jsonb_set(lifecycle, '{registered_on}', to_jsonb($1::text)) WHERE id = $2",
    )
    .bind::<Text, _>((today - chrono::Days::new(91)).format("%Y-%m-%d").to_string())
    .bind::<SqlUuid, _>(old_id)
    .execute(&mut conn)?;
    diesel::sql_query("UPDATE cases SET repeat_of = $1 WHERE id = ANY($2)")
        .bind::<SqlUuid, _>(original_id)
        .bind::<Array<SqlUuid>, _>(&repeats)
        .execute(&mut conn)?;
    // Final after re-review, and petitioned again (declined as concluded).
    diesel::sql_query("UPDATE cases SET state = 9 WHERE id = $1").bind::<SqlUuid, _>(finished_id).execute(&mut conn)?;
    diesel::sql_query(
        "UPDATE cases SET state = 4, lifecycle = lifecycle || jsonb_build_object('decline_reason', \
         'CONCLUDED_AFTER_RECHECK', 'related_case_id', $1::text) WHERE id = $2",
    )
    .bind::<Text, _>(finished_id.to_string())
    .bind::<SqlUuid, _>(again_id)
    .execute(&mut conn)?;

    let found = store::candidates(&mut conn, today, &Policy::default(), 100)?;
    let reasons: Vec<(uuid::Uuid, BacklogReason)> = found.iter().map(|c| (c.case_id, c.reason)).collect();
    assert!(reasons.contains(&(old_id, BacklogReason::OpenTooLong)), "{found:?}");
    assert!(reasons.contains(&(original_id, BacklogReason::Repeated)), "{found:?}");
    assert!(reasons.contains(&(finished_id, BacklogReason::PetitionsAfterFinal)), "{found:?}");
    assert!(!reasons.iter().any(|(id, _)| *id == fresh_id), "{found:?}");
    assert_eq!(found.len(), 3, "{found:?}");
    // Switched off, a rule picks nothing.
    let off = Policy { open_days: 0, repeats: 0, after_final: false };
    assert!(store::candidates(&mut conn, today, &off, 100)?.is_empty());
    // One more day of patience leaves the old case out.
    let patient = Policy { open_days: 91, ..Policy::default() };
    assert!(!store::candidates(&mut conn, today, &patient, 100)?.iter().any(|c| c.case_id == old_id));

    // The sweep's write, in its own transaction, with no actor.
    let picked = found.iter().find(|c| c.case_id == old_id).context("the old case")?.clone();
    let designated = {
        use diesel::Connection;
        conn.transaction(|conn| -> Result<_> {
            let mut journal = petition_server::event_log::Journal::default();
            let count = petition_server::backlog::designate_by_rule(conn, &mut journal, vec![picked.clone()])?;
            journal.flush(conn)?;
            Ok(count)
        })?
    };
    assert_eq!(designated, 1);
    let designated = store::open_designation(&mut conn, old_id)?.context("the designation")?;
    let remaining = store::candidates(&mut conn, today, &Policy::default(), 100)?;
    assert!(!remaining.iter().any(|c| c.case_id == old_id), "designated: no longer a candidate");
    assert_eq!(remaining.len(), 2);
    let seen = w.clerk.backlog().get_backlog_case(designated.to_string()).await?;
    assert!(seen.by_rule && seen.designated_by_account_id.is_empty());
    assert_eq!(seen.reason(), pb::BacklogReason::OpenTooLong);
    assert!(seen.detail.contains("91"), "{}", seen.detail);
    let timeline = w.clerk.backlog().list_backlog_case_events(events(&seen.id)).await?.events;
    assert!(timeline[0].actor_account_id.is_empty());
    // Found again while open (designated since it was found): left alone.
    let mut journal = petition_server::event_log::Journal::default();
    let again = petition_server::backlog::designate_by_rule(&mut conn, &mut journal, vec![picked])?;
    assert_eq!(again, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_a_backlog_case_with_its_four_checks() -> Result<()> {
    let server = TestServer::spawn().await?;
    petition_server::seed::run(&server.state).await?;
    let supervisor = server.client().await?.new_session();
    supervisor.login("city.supervisor", petition_server::seed::DEMO_PASSWORD).await?;
    let all: Vec<pb::BacklogCase> =
        supervisor.backlog().backlog_cases(pb::ListBacklogCasesRequest::default()).try_collect().await?;
    assert_eq!(all.len(), 1, "{all:?}");
    let backlog = &all[0];
    assert_eq!(backlog.state(), pb::BacklogCaseState::Designated);
    assert!(backlog.missing_checks.is_empty(), "all four checks recorded");
    assert_eq!(event_types(&supervisor, &backlog.id).await?.len(), 2);
    Ok(())
}
