//! CaseService authorization end to end: every RPC × every actor of the
//! [`CaseWorld`], each allowed or denied exactly as `auth::policy` says:
//! OK; PERMISSION_DENIED when the caller may see the case but not do this;
//! NOT_FOUND when they may not see it at all; UNAUTHENTICATED without a
//! token. Then what each viewer sees of a case: accusation content, the
//! petitioner's phone, the case list, and lookups by human number.
//!
//! Each matrix row puts a case in the state where the RPC is valid, so a
//! denial can only come from the policy. Denied calls change nothing, so
//! they all go to one case (whose etag is checked afterwards); each allowed
//! call that changes the case gets a fresh case of its own. Searching,
//! merging and unlinking run on a server with duplicate detection on,
//! whose cases are each a matter of their own (unless a row files one
//! again to make a repeat).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Result, bail};
use futures::TryStreamExt;
use petition_sdk::pb::find_similar_cases_request::Query;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, pb};
use petition_tests::petition_texts::{Mix, generate_with};
use petition_tests::*;
use tokio::sync::OnceCell;

use crate::support::{assert_typed_event, expect_error, expect_invalid};

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    /// No token at all.
    Anonymous,
    /// The citizen who filed the case.
    Owner,
    OtherCitizen,
    /// Clerk of county A's bureau (the case's county).
    Clerk,
    /// Clerk of county B's bureau.
    ClerkB,
    /// Handler in unit A, the unit cases are routed to.
    Handler,
    /// Handler in county B's unit.
    HandlerB,
    /// Unit lead of unit A.
    UnitLead,
    /// Leader at gov A, unit A's superior: decides reviews (复查).
    Reviewer,
    /// Leader at the city government, gov A's superior: decides re-reviews (复核).
    Rechecker,
    /// Leader at the city bureau.
    Leader,
    /// Supervisor at the city bureau.
    Supervisor,
    /// A court's service account with every scope.
    Partner,
    Admin,
}

use Actor::*;

const ACTORS: [Actor; 14] = [
    Anonymous,
    Owner,
    OtherCitizen,
    Clerk,
    ClerkB,
    Handler,
    HandlerB,
    UnitLead,
    Reviewer,
    Rechecker,
    Leader,
    Supervisor,
    Partner,
    Admin,
];

/// Who sees a case arising in county A's township, in every state.
const VISIBLE: &[Actor] = &[Owner, Clerk, Handler, UnitLead, Reviewer, Rechecker, Leader, Supervisor, Admin];
/// Who may not see it: NOT_FOUND for every call on it.
const HIDDEN: &[Actor] = &[OtherCitizen, ClerkB, HandlerB, Partner];
/// Everyone signed in.
const SIGNED_IN: &[Actor] = &[
    Owner,
    OtherCitizen,
    Clerk,
    ClerkB,
    Handler,
    HandlerB,
    UnitLead,
    Reviewer,
    Rechecker,
    Leader,
    Supervisor,
    Partner,
    Admin,
];
/// Who sees the case once it is shared with the partner's court.
const VISIBLE_SHARED: &[Actor] =
    &[Owner, Clerk, Handler, UnitLead, Reviewer, Rechecker, Leader, Supervisor, Partner, Admin];
const HIDDEN_SHARED: &[Actor] = &[OtherCitizen, ClerkB, HandlerB];
/// Staff (not citizens, not partners): who may search for similar cases.
const STAFF: &[Actor] = &[Clerk, ClerkB, Handler, HandlerB, UnitLead, Reviewer, Rechecker, Leader, Supervisor, Admin];
/// Staff who see the case (county A's, the city's, admins).
const STAFF_VISIBLE: &[Actor] = &[Clerk, Handler, UnitLead, Reviewer, Rechecker, Leader, Supervisor, Admin];
/// Staff who may not see it: NOT_FOUND. (Citizens and partners may not
/// search at all: PERMISSION_DENIED before any case is looked up.)
const STAFF_HIDDEN: &[Actor] = &[ClerkB, HandlerB];

/// Where a row's case stands before the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Registered,
    /// Forwarded (转送) to unit A.
    Forwarded,
    /// Assigned (交办) to unit A.
    Assigned,
    /// Assigned to unit A, which objected: back with the bureau.
    Objected,
    /// Forwarded and accepted by unit A.
    Accepted,
    /// Forwarded, accepted and replied to by unit A.
    Replied,
    /// Assigned, accepted and replied to: it owes a completion report.
    AssignedAndReplied,
    /// Under review at gov A.
    UnderReview,
    Reviewed,
    /// Under re-review at the city government.
    UnderRecheck,
    /// Under re-review, its clock stopped for a hearing.
    RecheckPaused,
    /// Registered and shared with the partner's court.
    Shared,
    /// Registered and merged (并案) into the lab's primary case.
    Merged,
    /// Filed again by its petitioner while the first filing is open: linked
    /// to it as a repeat and declined (needs duplicate detection).
    Repeat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rpc {
    SubmitCase,
    RegisterCase,
    GetCase,
    ListCases,
    ListCaseEvents,
    SetCaseTrack,
    ForwardCase,
    AssignCase,
    ObjectToAssignment,
    AcceptCase,
    DeclineCase,
    AddFollowUp,
    ExtendCaseDeadline,
    ReplyToCase,
    SubmitCompletionReport,
    RequestReview,
    ReplyToReview,
    RequestRecheck,
    PauseRecheck,
    ResumeRecheck,
    ReplyToRecheck,
    WithdrawCase,
    GrantCaseAccess,
    RevokeCaseAccess,
    /// By the row's case, or by text when the row has none.
    FindSimilarCases,
    /// The row's case into the lab's primary case.
    MergeCases,
    UnlinkCase,
}

impl Rpc {
    /// Whether an allowed call files or changes a case.
    fn writes(self) -> bool {
        !matches!(self, Rpc::GetCase | Rpc::ListCases | Rpc::ListCaseEvents | Rpc::FindSimilarCases)
    }
}

/// One row: `rpc` on a fresh case in `stage` (none for filing and
/// listing). `ok` succeed, `hidden` get NOT_FOUND, `outside` (whose role
/// allows the call, but not in this place) PERMISSION_DENIED with reason
/// OUTSIDE_JURISDICTION, every other signed-in actor PERMISSION_DENIED,
/// the anonymous caller UNAUTHENTICATED. A successful call that answers
/// with a case leaves it in state `after`.
struct Row {
    rpc: Rpc,
    stage: Option<Stage>,
    ok: &'static [Actor],
    hidden: &'static [Actor],
    outside: &'static [Actor],
    after: Option<pb::CaseState>,
}

const fn row(
    rpc: Rpc,
    stage: Option<Stage>,
    ok: &'static [Actor],
    hidden: &'static [Actor],
    after: Option<pb::CaseState>,
) -> Row {
    Row { rpc, stage, ok, hidden, outside: &[], after }
}

impl Row {
    const fn outside(self, outside: &'static [Actor]) -> Row {
        Row { outside, ..self }
    }
}

/// What a successful call answered.
#[derive(Debug)]
enum Done {
    Case(Box<pb::Case>),
    Event(Box<pb::CaseEvent>),
    /// How many events the timeline's first page held.
    Events(usize),
    Cases,
    /// The ids of the similar cases found.
    Similar(Vec<String>),
    /// The cases a merge answered as merged.
    Merged(Vec<pb::Case>),
}

impl Done {
    fn case(case: pb::Case) -> Done {
        Done::Case(Box::new(case))
    }

    fn event(event: pb::CaseEvent) -> Done {
        assert_typed_event(&event);
        Done::Event(Box::new(event))
    }
}

/// The Beijing date `days` from today, as YYYY-MM-DD.
fn date_in(days: i64) -> String {
    (petition_server::time::shanghai_today() + chrono::Duration::days(days)).format("%Y-%m-%d").to_string()
}

fn expected(row: &Row, actor: Actor) -> (Code, &'static str) {
    if actor == Anonymous {
        (Code::Unauthenticated, "MISSING_CREDENTIALS")
    } else if row.ok.contains(&actor) {
        (Code::Ok, "")
    } else if row.hidden.contains(&actor) {
        (Code::NotFound, "NOT_FOUND")
    } else if row.outside.contains(&actor) {
        (Code::PermissionDenied, "OUTSIDE_JURISDICTION")
    } else {
        (Code::PermissionDenied, "PERMISSION_DENIED")
    }
}

/// A server, the case world and an anonymous client.
struct Lab {
    w: CaseWorld,
    anonymous: Client,
    /// With duplicate detection on: a text of its own for each case (a
    /// stock text filed twice by one petitioner would be a repeat).
    matters: Option<(Vec<String>, AtomicUsize)>,
    /// The open case that MergeCases merges into, filed when first needed.
    primary: OnceCell<pb::Case>,
    _server: TestServer,
}

impl Lab {
    async fn new() -> Result<Lab> {
        Lab::start(TestServer::spawn().await?, None).await
    }

    /// A lab whose server detects duplicates (FindSimilarCases answers,
    /// refiling an open matter makes a repeat).
    async fn with_detection() -> Result<Lab> {
        let server = TestServer::spawn_with(|c| c.intake.duplicate_detection = true).await?;
        // Fresh matters only: no planted repeats, related filings or twins.
        let mix = Mix { twin: 0.0, other_matter: 0.0, repeats: 0.0, related: 0.0 };
        let texts = generate_with(64, 15, &mix).filings.into_iter().map(|f| f.text).collect();
        Lab::start(server, Some((texts, AtomicUsize::new(0)))).await
    }

    async fn start(server: TestServer, matters: Option<(Vec<String>, AtomicUsize)>) -> Result<Lab> {
        let w = CaseWorld::create(&server).await?;
        let anonymous = server.client().await?;
        Ok(Lab { w, anonymous, matters, primary: OnceCell::new(), _server: server })
    }

    /// The owner's claim titled `title`: the stock claim, or with detection
    /// on, the next matter of its own.
    fn draft(&self, title: &str) -> Result<pb::CaseDraft> {
        let Some((texts, next)) = &self.matters else { return Ok(claim(title)) };
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(text) = texts.get(i) else { bail!("only {} matters for the lab's cases", texts.len()) };
        Ok(pb::CaseDraft { content: text.clone(), ..claim(title) })
    }

    /// The open case of the owner that rows merge into.
    async fn primary(&self) -> Result<&pb::Case> {
        self.primary.get_or_try_init(|| async { self.w.submit(self.draft("并案主件")?).await }).await
    }

    fn who(&self, actor: Actor) -> &Client {
        let w = &self.w;
        match actor {
            Anonymous => &self.anonymous,
            Owner => &w.owner,
            OtherCitizen => &w.other_citizen,
            Clerk => &w.clerk,
            ClerkB => &w.clerk_b,
            Handler => &w.handler,
            HandlerB => &w.handler_b,
            UnitLead => &w.unit_lead,
            Reviewer => &w.reviewer,
            Rechecker => &w.rechecker,
            Leader => &w.leader,
            Supervisor => &w.supervisor,
            Partner => &w.partner,
            Admin => &w.admin,
        }
    }

    /// A fresh claim of the owner in county A's township, brought to `stage`.
    async fn case_in(&self, stage: Stage, title: &str) -> Result<pb::Case> {
        use Stage::*;
        let w = &self.w;
        let draft = self.draft(title)?;
        let case = w.submit(draft.clone()).await?;
        if stage == Registered {
            return Ok(case);
        }
        if stage == Repeat {
            let repeat = w.submit(draft).await?;
            if repeat.repeat_of_case_id != case.id {
                bail!("filed again, {} was not linked to {} as a repeat", repeat.id, case.id);
            }
            return Ok(repeat);
        }
        if stage == Merged {
            let merged = w
                .clerk
                .cases()
                .merge_cases(pb::MergeCasesRequest {
                    primary_case_id: self.primary().await?.id.clone(),
                    case_ids: vec![case.id],
                    reason: "同一事项，并案办理".into(),
                    request_id: String::new(),
                })
                .await?;
            let Some(merged) = merged.merged.into_iter().next() else { bail!("nothing merged") };
            return Ok(merged);
        }
        if stage == Shared {
            return Ok(w
                .clerk
                .cases()
                .grant_case_access(pb::GrantCaseAccessRequest {
                    case_id: case.id,
                    organization_id: w.court.id.clone(),
                    reason: "诉访分离：移送法院".into(),
                    ..Default::default()
                })
                .await?);
        }
        let case = if matches!(stage, Assigned | Objected | AssignedAndReplied) {
            w.clerk
                .cases()
                .assign_case(pb::AssignCaseRequest {
                    case_id: case.id,
                    organization_id: w.dir.unit_a.id.clone(),
                    report_by: date_in(30),
                    etag: case.etag,
                    ..Default::default()
                })
                .await?
        } else {
            w.clerk
                .cases()
                .forward_case(pb::ForwardCaseRequest {
                    case_id: case.id,
                    organization_id: w.dir.unit_a.id.clone(),
                    etag: case.etag,
                    ..Default::default()
                })
                .await?
        };
        if matches!(stage, Forwarded | Assigned) {
            return Ok(case);
        }
        if stage == Objected {
            return Ok(w
                .handler
                .cases()
                .object_to_assignment(pb::ObjectToAssignmentRequest {
                    case_id: case.id,
                    reason: "不属于本单位职责".into(),
                    etag: case.etag,
                    ..Default::default()
                })
                .await?);
        }
        let case = w
            .handler
            .cases()
            .accept_case(pb::AcceptCaseRequest { case_id: case.id, etag: case.etag, ..Default::default() })
            .await?;
        if stage == Accepted {
            return Ok(case);
        }
        let case = w
            .handler
            .cases()
            .reply_to_case(pb::ReplyToCaseRequest {
                case_id: case.id,
                opinion: Some(opinion()),
                etag: case.etag,
                ..Default::default()
            })
            .await?;
        if matches!(stage, Replied | AssignedAndReplied) {
            return Ok(case);
        }
        let case = w
            .owner
            .cases()
            .request_review(pb::RequestReviewRequest {
                case_id: case.id,
                reason: "维修不彻底".into(),
                etag: case.etag,
                ..Default::default()
            })
            .await?;
        if stage == UnderReview {
            return Ok(case);
        }
        let case = w
            .reviewer
            .cases()
            .reply_to_review(pb::ReplyToReviewRequest {
                case_id: case.id,
                opinion: Some(opinion()),
                etag: case.etag,
                ..Default::default()
            })
            .await?;
        if stage == Reviewed {
            return Ok(case);
        }
        let case = w
            .owner
            .cases()
            .request_recheck(pb::RequestRecheckRequest {
                case_id: case.id,
                reason: "仍不满意".into(),
                etag: case.etag,
                ..Default::default()
            })
            .await?;
        if stage == UnderRecheck {
            return Ok(case);
        }
        Ok(w.rechecker
            .cases()
            .pause_recheck(pb::PauseRecheckRequest {
                case_id: case.id,
                reason: "听证".into(),
                etag: case.etag,
                ..Default::default()
            })
            .await?)
    }

    /// Calls `rpc` as `actor` with a valid request (on `case`, sending its
    /// etag and a fresh request id).
    async fn call(&self, rpc: Rpc, actor: Actor, case: Option<&pb::Case>) -> petition_sdk::Result<Done> {
        let w = &self.w;
        let cases = self.who(actor).cases();
        let (case_id, etag) = case.map(|c| (c.id.clone(), c.etag.clone())).unwrap_or_default();
        let request_id = petition_sdk::new_request_id();
        let done = match rpc {
            Rpc::SubmitCase => Done::case(
                cases.submit_case(pb::SubmitCaseRequest { draft: Some(claim("网上信访")), request_id }).await?,
            ),
            Rpc::RegisterCase => Done::case(
                cases
                    .register_case(pb::RegisterCaseRequest {
                        draft: Some(claim("来信登记")),
                        channel: pb::CaseChannel::Letter.into(),
                        petitioner_account_id: w.owner_id.clone(),
                        group_visit: None,
                        request_id,
                    })
                    .await?,
            ),
            Rpc::GetCase => Done::case(cases.get_case(case_id).await?),
            Rpc::ListCases => {
                cases.list_cases(pb::ListCasesRequest::default()).await?;
                Done::Cases
            }
            Rpc::ListCaseEvents => {
                let events =
                    cases.list_case_events(pb::ListCaseEventsRequest { case_id, ..Default::default() }).await?.events;
                events.iter().for_each(assert_typed_event);
                Done::Events(events.len())
            }
            Rpc::SetCaseTrack => Done::case(
                cases
                    .set_case_track(pb::SetCaseTrackRequest {
                        case_id,
                        track: pb::CaseTrack::Urgent.into(),
                        reason: "涉及群体安全".into(),
                        etag,
                        request_id,
                    })
                    .await?,
            ),
            Rpc::ForwardCase => Done::case(
                cases
                    .forward_case(pb::ForwardCaseRequest {
                        case_id,
                        organization_id: w.dir.unit_a.id.clone(),
                        note: "请依法处理".into(),
                        etag,
                        request_id,
                    })
                    .await?,
            ),
            Rpc::AssignCase => Done::case(
                cases
                    .assign_case(pb::AssignCaseRequest {
                        case_id,
                        organization_id: w.dir.unit_a.id.clone(),
                        report_by: date_in(30),
                        note: "限期办结".into(),
                        etag,
                        request_id,
                    })
                    .await?,
            ),
            Rpc::ObjectToAssignment => Done::case(
                cases
                    .object_to_assignment(pb::ObjectToAssignmentRequest {
                        case_id,
                        reason: "不属于本单位职责".into(),
                        etag,
                        request_id,
                    })
                    .await?,
            ),
            Rpc::AcceptCase => Done::case(
                cases.accept_case(pb::AcceptCaseRequest { case_id, note: "依法受理".into(), etag, request_id }).await?,
            ),
            Rpc::DeclineCase => Done::case(
                cases
                    .decline_case(pb::DeclineCaseRequest {
                        case_id,
                        reason: pb::DeclineReason::Other.into(),
                        explanation: "不属于信访事项".into(),
                        etag,
                        request_id,
                        ..Default::default()
                    })
                    .await?,
            ),
            Rpc::AddFollowUp => Done::event(
                cases
                    .add_follow_up(pb::AddFollowUpRequest {
                        case_id,
                        kind: pb::FollowUpKind::Contact.into(),
                        note: "电话联系信访人".into(),
                        request_id,
                    })
                    .await?,
            ),
            Rpc::ExtendCaseDeadline => Done::case(
                cases
                    .extend_case_deadline(pb::ExtendCaseDeadlineRequest {
                        case_id,
                        days: 30,
                        reason: "情况复杂".into(),
                        etag,
                        request_id,
                    })
                    .await?,
            ),
            Rpc::ReplyToCase => Done::case(
                cases
                    .reply_to_case(pb::ReplyToCaseRequest { case_id, opinion: Some(opinion()), etag, request_id })
                    .await?,
            ),
            Rpc::SubmitCompletionReport => Done::case(
                cases
                    .submit_completion_report(pb::SubmitCompletionReportRequest {
                        case_id,
                        report: "已办结".into(),
                        etag,
                        request_id,
                    })
                    .await?,
            ),
            Rpc::RequestReview => Done::case(
                cases
                    .request_review(pb::RequestReviewRequest {
                        case_id,
                        reason: "不服处理意见".into(),
                        etag,
                        request_id,
                    })
                    .await?,
            ),
            Rpc::ReplyToReview => Done::case(
                cases
                    .reply_to_review(pb::ReplyToReviewRequest { case_id, opinion: Some(opinion()), etag, request_id })
                    .await?,
            ),
            Rpc::RequestRecheck => Done::case(
                cases
                    .request_recheck(pb::RequestRecheckRequest {
                        case_id,
                        reason: "不服复查意见".into(),
                        etag,
                        request_id,
                    })
                    .await?,
            ),
            Rpc::PauseRecheck => Done::case(
                cases
                    .pause_recheck(pb::PauseRecheckRequest { case_id, reason: "举行听证".into(), etag, request_id })
                    .await?,
            ),
            Rpc::ResumeRecheck => Done::case(
                cases
                    .resume_recheck(pb::ResumeRecheckRequest { case_id, note: "听证结束".into(), etag, request_id })
                    .await?,
            ),
            Rpc::ReplyToRecheck => Done::case(
                cases
                    .reply_to_recheck(pb::ReplyToRecheckRequest { case_id, opinion: Some(opinion()), etag, request_id })
                    .await?,
            ),
            Rpc::WithdrawCase => Done::case(
                cases
                    .withdraw_case(pb::WithdrawCaseRequest {
                        case_id, reason: "已自行解决".into(), etag, request_id
                    })
                    .await?,
            ),
            Rpc::GrantCaseAccess => Done::case(
                cases
                    .grant_case_access(pb::GrantCaseAccessRequest {
                        case_id,
                        organization_id: w.court.id.clone(),
                        reason: "移送法院".into(),
                        etag,
                        request_id,
                    })
                    .await?,
            ),
            Rpc::RevokeCaseAccess => Done::case(
                cases
                    .revoke_case_access(pb::RevokeCaseAccessRequest {
                        case_id,
                        organization_id: w.court.id.clone(),
                        reason: "法院已立案".into(),
                        etag,
                        request_id,
                    })
                    .await?,
            ),
            Rpc::FindSimilarCases => {
                let query = match case {
                    Some(_) => Query::CaseId(case_id),
                    None => Query::Text(claim("").content),
                };
                let request = pb::FindSimilarCasesRequest { query: Some(query), ..Default::default() };
                let matches = cases.find_similar_cases(request).await?;
                Done::Similar(matches.into_iter().filter_map(|m| m.case.map(|c| c.id)).collect())
            }
            Rpc::MergeCases => Done::Merged(
                cases
                    .merge_cases(pb::MergeCasesRequest {
                        primary_case_id: self.primary.get().map(|p| p.id.clone()).unwrap_or_default(),
                        case_ids: vec![case_id],
                        reason: "同一事项，并案办理".into(),
                        request_id,
                    })
                    .await?
                    .merged,
            ),
            Rpc::UnlinkCase => Done::case(
                cases
                    .unlink_case(pb::UnlinkCaseRequest {
                        case_id, reason: "不是同一事项".into(), etag, request_id
                    })
                    .await?,
            ),
        };
        Ok(done)
    }

    async fn case_count(&self) -> Result<usize> {
        let all: Vec<pb::Case> = self.w.admin.cases().cases(pb::ListCasesRequest::default()).try_collect().await?;
        Ok(all.len())
    }

    /// Runs the rows; fails listing every cell that differs from the table.
    async fn run(&self, rows: &[Row]) -> Result<()> {
        let mut wrong = Vec::new();
        for row in rows {
            let at = format!("{:?} on {:?}", row.rpc, row.stage);
            let title = format!("{:?}", row.rpc);
            let case = match row.stage {
                Some(stage) => Some(self.case_in(stage, &title).await?),
                None => None,
            };
            if row.rpc == Rpc::MergeCases {
                self.primary().await?;
            }
            let count_before = self.case_count().await?;
            // Denials first, all on the one case.
            for actor in ACTORS {
                let (code, reason) = expected(row, actor);
                if code == Code::Ok {
                    continue;
                }
                match self.call(row.rpc, actor, case.as_ref()).await {
                    Ok(done) => wrong.push(format!("{at} as {actor:?}: want {code:?}, got OK {done:?}")),
                    Err(e) if e.code() != code || e.reason() != Some(reason) => wrong.push(format!(
                        "{at} as {actor:?}: want {code:?} {reason}, got {:?} {:?}: {}",
                        e.code(),
                        e.reason(),
                        e.message()
                    )),
                    Err(_) => {}
                }
            }
            // They changed nothing.
            if let Some(case) = &case {
                let now = self.w.admin.cases().get_case(&case.id).await?;
                if (now.etag.as_str(), now.state) != (case.etag.as_str(), case.state) {
                    wrong.push(format!("{at}: denied calls changed the case ({} → {})", case.etag, now.etag));
                }
            }
            if self.case_count().await? != count_before {
                wrong.push(format!("{at}: denied calls filed a case"));
            }
            // Then each allowed actor, on a case of its own if the call changes it.
            for (i, actor) in row.ok.iter().enumerate() {
                let target = match (row.stage, &case) {
                    (Some(stage), Some(_)) if i > 0 && row.rpc.writes() => Some(self.case_in(stage, &title).await?),
                    _ => case.clone(),
                };
                let done = match self.call(row.rpc, *actor, target.as_ref()).await {
                    Err(e) => {
                        wrong.push(format!("{at} as {actor:?}: want OK, got {e}"));
                        continue;
                    }
                    // A merge answers with the case merged: checked as the
                    // answer of a transition.
                    Ok(Done::Merged(merged)) => match <[pb::Case; 1]>::try_from(merged) {
                        Ok([one]) => Done::case(one),
                        Err(merged) => {
                            wrong.push(format!("{at} as {actor:?}: merged {merged:?}"));
                            continue;
                        }
                    },
                    Ok(done) => done,
                };
                match done {
                    Done::Case(got) => {
                        if let Some(after) = row.after
                            && got.state != after as i32
                        {
                            wrong
                                .push(format!("{at} as {actor:?}: state {} after the call, want {after:?}", got.state));
                        }
                        if let Some(before) = &target {
                            let changed = got.etag != before.etag;
                            if got.id != before.id || changed != row.rpc.writes() {
                                wrong.push(format!("{at} as {actor:?}: answered {}@{}", got.id, got.etag));
                            }
                        }
                    }
                    Done::Event(event) => {
                        if event.r#type != pb::CaseEventType::FollowedUp as i32 {
                            wrong.push(format!("{at} as {actor:?}: recorded {event:?}"));
                        }
                    }
                    Done::Events(0) => wrong.push(format!("{at} as {actor:?}: an empty timeline")),
                    Done::Similar(ids) => {
                        if let Some(query) = &target
                            && ids.contains(&query.id)
                        {
                            wrong.push(format!("{at} as {actor:?}: the query case found itself"));
                        }
                    }
                    Done::Events(_) | Done::Cases | Done::Merged(_) => {}
                }
            }
        }
        if !wrong.is_empty() {
            bail!("{} cells differ from the matrix:\n{}", wrong.len(), wrong.join("\n"));
        }
        Ok(())
    }
}

use Stage::*;
use pb::CaseState as S;

/// Filing, listing, reading and triage (the bureau's work before routing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_filing_reading_and_triage() -> Result<()> {
    let lab = Lab::new().await?;
    lab.run(&[
        // Anyone with the citizen role files online as themselves.
        row(Rpc::SubmitCase, None, &[Owner, OtherCitizen], &[], Some(S::Registered)),
        // Only a clerk whose jurisdiction holds the region (county A); clerk B
        // is told the region is outside theirs (there is no case to hide).
        row(Rpc::RegisterCase, None, &[Clerk], &[], Some(S::Registered)).outside(&[ClerkB]),
        // Everyone signed in lists (their own view; a partner, the cases
        // shared with its organization).
        row(Rpc::ListCases, None, SIGNED_IN, &[], None),
        // Sharing with a partner is the bureau's decision, or an admin's.
        row(Rpc::GrantCaseAccess, Some(Registered), &[Clerk, Admin], HIDDEN, Some(S::Registered)),
        row(Rpc::RevokeCaseAccess, Some(Shared), &[Clerk, Admin], HIDDEN_SHARED, Some(S::Registered)),
        row(Rpc::GetCase, Some(Shared), VISIBLE_SHARED, HIDDEN_SHARED, None),
        row(Rpc::ListCaseEvents, Some(Shared), VISIBLE_SHARED, HIDDEN_SHARED, None),
        row(Rpc::GetCase, Some(Registered), VISIBLE, HIDDEN, None),
        row(Rpc::ListCaseEvents, Some(Registered), VISIBLE, HIDDEN, None),
        row(Rpc::GetCase, Some(UnderRecheck), VISIBLE, HIDDEN, None),
        row(Rpc::ListCaseEvents, Some(UnderRecheck), VISIBLE, HIDDEN, None),
        row(Rpc::SetCaseTrack, Some(Registered), &[Clerk], HIDDEN, Some(S::Registered)),
        row(Rpc::ForwardCase, Some(Registered), &[Clerk], HIDDEN, Some(S::Routed)),
        row(Rpc::AssignCase, Some(Registered), &[Clerk], HIDDEN, Some(S::Routed)),
        // Before routing, declining is triage: the clerk's.
        row(Rpc::DeclineCase, Some(Registered), &[Clerk], HIDDEN, Some(S::Declined)),
        row(Rpc::WithdrawCase, Some(Registered), &[Owner], HIDDEN, Some(S::Withdrawn)),
    ])
    .await
}

/// The handling unit's work: respond to the routing, handle, reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_routing_and_handling() -> Result<()> {
    let lab = Lab::new().await?;
    lab.run(&[
        row(Rpc::ObjectToAssignment, Some(Assigned), &[Handler, UnitLead], HIDDEN, Some(S::Registered)),
        row(Rpc::AcceptCase, Some(Forwarded), &[Handler, UnitLead], HIDDEN, Some(S::Accepted)),
        // Once routed, declining is the unit's answer to the routing: the
        // clerk who routed it may no longer decline.
        row(Rpc::DeclineCase, Some(Forwarded), &[Handler, UnitLead], HIDDEN, Some(S::Declined)),
        // After the unit's objection the case is the bureau's again.
        row(Rpc::DeclineCase, Some(Objected), &[Clerk], HIDDEN, Some(S::Declined)),
        row(Rpc::ForwardCase, Some(Objected), &[Clerk], HIDDEN, Some(S::Routed)),
        // Triage stays with the clerk after acceptance.
        row(Rpc::SetCaseTrack, Some(Accepted), &[Clerk], HIDDEN, Some(S::Accepted)),
        row(Rpc::AddFollowUp, Some(Forwarded), &[Handler, UnitLead], HIDDEN, None),
        row(Rpc::AddFollowUp, Some(Accepted), &[Handler, UnitLead], HIDDEN, None),
        // Art.34: the extension is the unit lead's alone.
        row(Rpc::ExtendCaseDeadline, Some(Accepted), &[UnitLead], HIDDEN, Some(S::Accepted)),
        row(Rpc::ReplyToCase, Some(Accepted), &[Handler, UnitLead], HIDDEN, Some(S::Replied)),
        row(Rpc::SubmitCompletionReport, Some(AssignedAndReplied), &[Handler, UnitLead], HIDDEN, Some(S::Replied)),
        row(Rpc::WithdrawCase, Some(Forwarded), &[Owner], HIDDEN, Some(S::Withdrawn)),
        row(Rpc::WithdrawCase, Some(Accepted), &[Owner], HIDDEN, Some(S::Withdrawn)),
    ])
    .await
}

/// Review (复查) and re-review (复核): the petitioner asks, the superior
/// organization decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_review_and_re_review() -> Result<()> {
    let lab = Lab::new().await?;
    lab.run(&[
        // After the reply the handling unit may still note follow-ups.
        row(Rpc::AddFollowUp, Some(Replied), &[Handler, UnitLead], HIDDEN, None),
        row(Rpc::RequestReview, Some(Replied), &[Owner], HIDDEN, Some(S::UnderReview)),
        // Under review the notes are the reviewing organization's.
        row(Rpc::AddFollowUp, Some(UnderReview), &[Reviewer], HIDDEN, None),
        row(Rpc::ReplyToReview, Some(UnderReview), &[Reviewer], HIDDEN, Some(S::Reviewed)),
        row(Rpc::RequestRecheck, Some(Reviewed), &[Owner], HIDDEN, Some(S::UnderRecheck)),
        // Gov A no longer decides once the city government re-reviews.
        row(Rpc::AddFollowUp, Some(UnderRecheck), &[Rechecker], HIDDEN, None),
        row(Rpc::PauseRecheck, Some(UnderRecheck), &[Rechecker], HIDDEN, Some(S::UnderRecheck)),
        row(Rpc::ResumeRecheck, Some(RecheckPaused), &[Rechecker], HIDDEN, Some(S::UnderRecheck)),
        row(Rpc::ReplyToRecheck, Some(UnderRecheck), &[Rechecker], HIDDEN, Some(S::Final)),
    ])
    .await
}

/// Searching for similar cases is staff work, on what they may see;
/// merging (并案) and undoing a merge or a repeat link are the bureau's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_similar_cases_merges_and_unlinks() -> Result<()> {
    let lab = Lab::with_detection().await?;
    lab.run(&[
        // Citizens and partners may not search at all; staff search the
        // cases they may see (by text: what they may see of the results).
        row(Rpc::FindSimilarCases, None, STAFF, &[], None),
        row(Rpc::FindSimilarCases, Some(Registered), STAFF_VISIBLE, STAFF_HIDDEN, None),
        row(Rpc::FindSimilarCases, Some(Accepted), STAFF_VISIBLE, STAFF_HIDDEN, None),
        // The clerk of the jurisdiction merges; admins act on no case.
        row(Rpc::MergeCases, Some(Forwarded), &[Clerk], HIDDEN, Some(S::Routed)),
        row(Rpc::UnlinkCase, Some(Merged), &[Clerk], HIDDEN, Some(S::Registered)),
        // An unlinked repeat is registered again, to be routed.
        row(Rpc::UnlinkCase, Some(Repeat), &[Clerk], HIDDEN, Some(S::Registered)),
    ])
    .await
}

fn accusation() -> pb::CaseDraft {
    pb::CaseDraft {
        kind: pb::CaseKind::Accusation.into(),
        category_code: "discipline".into(),
        region_code: "360702001".into(),
        title: "反映干部问题".into(),
        content: "某局干部收受开发商财物。".into(),
        requests: "请求依纪依法查处".into(),
        facts_and_reasons: "有转账记录为证。".into(),
        attachments: vec![pb::Attachment {
            name: "转账记录.jpg".into(),
            media_type: "image/jpeg".into(),
            size_bytes: 2048,
            sha256: "ab".repeat(32),
        }],
        respondent_organization_id: String::new(),
    }
}

async fn events(client: &Client, case_id: &str) -> Result<Vec<pb::CaseEvent>> {
    let events: Vec<pb::CaseEvent> = client.cases().case_events(case_id).try_collect().await?;
    events.iter().for_each(assert_typed_event);
    Ok(events)
}

#[track_caller]
fn assert_hidden(case: &pb::Case, who: &str) {
    assert!(case.content_hidden, "{who}: content_hidden");
    assert_eq!(
        (case.content.as_str(), case.requests.as_str(), case.facts_and_reasons.as_str()),
        ("", "", ""),
        "{who}: content withheld"
    );
    assert!(case.attachments.is_empty(), "{who}: attachments withheld");
}

#[track_caller]
fn assert_shown(case: &pb::Case, draft: &pb::CaseDraft, who: &str) {
    assert!(!case.content_hidden, "{who}: content_hidden");
    assert_eq!(
        (case.content.as_str(), case.requests.as_str(), case.facts_and_reasons.as_str()),
        (draft.content.as_str(), draft.requests.as_str(), draft.facts_and_reasons.as_str()),
        "{who}"
    );
    assert_eq!(case.attachments, draft.attachments, "{who}");
}

/// Art.30: an accusation's content is for its petitioner and the discipline
/// channel only. Everyone else who may see the case sees that it exists,
/// its title and its progress, never what it says (admins included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accusation_content_is_for_the_petitioner_and_the_discipline_channel() -> Result<()> {
    let lab = Lab::new().await?;
    let w = &lab.w;
    let draft = accusation();
    let case = w.submit(draft.clone()).await?;
    assert_shown(&case, &draft, "owner filing");
    assert_shown(&w.owner.cases().get_case(&case.id).await?, &draft, "owner");
    let own_events = events(&w.owner, &case.id).await?;
    assert!(own_events.iter().all(|e| e.detail.is_some()), "the owner sees every payload: {own_events:?}");

    let outsiders = [Clerk, Handler, UnitLead, Reviewer, Rechecker, Leader, Supervisor, Admin];
    for actor in outsiders {
        let who = format!("{actor:?}");
        let client = lab.who(actor);
        let seen = client.cases().get_case(&case.id).await?;
        assert_hidden(&seen, &who);
        assert_eq!(seen.title, "", "{who}: the title is part of the accusation's material (Art.30 ¶3)");
        let listed: Vec<pb::Case> = client
            .cases()
            .cases(pb::ListCasesRequest { kind: pb::CaseKind::Accusation.into(), ..Default::default() })
            .try_collect()
            .await?;
        let listed = listed.iter().find(|c| c.id == case.id).unwrap_or_else(|| panic!("{who}: listed"));
        assert_hidden(listed, &format!("{who} (list)"));
        let timeline = events(client, &case.id).await?;
        assert!(!timeline.is_empty() && timeline.iter().all(|e| e.detail.is_none()), "{who}: {timeline:?}");
    }

    // The city's discipline office is in the discipline channel and its
    // jurisdiction holds the township: it sees the content even before the
    // case is routed to it.
    assert_shown(&w.discipline_handler.cases().get_case(&case.id).await?, &draft, "discipline before routing");

    // An accusation goes only to the discipline channel (Art.30).
    expect_invalid(
        w.clerk
            .cases()
            .forward_case(pb::ForwardCaseRequest {
                case_id: case.id.clone(),
                organization_id: w.dir.unit_a.id.clone(),
                ..Default::default()
            })
            .await,
        &["organization_id"],
    );
    let forwarded = w
        .clerk
        .cases()
        .forward_case(pb::ForwardCaseRequest {
            case_id: case.id.clone(),
            organization_id: w.discipline.id.clone(),
            etag: case.etag.clone(),
            ..Default::default()
        })
        .await?;
    assert_eq!(forwarded.handling_organization_id, w.discipline.id);
    assert_hidden(&forwarded, "the clerk's own forwarding answer");

    let discipline = &w.discipline_handler;
    assert_shown(&discipline.cases().get_case(&case.id).await?, &draft, "discipline after routing");
    let timeline = events(discipline, &case.id).await?;
    assert!(timeline.len() == 2 && timeline.iter().all(|e| e.detail.is_some()), "{timeline:?}");
    let accepted = discipline
        .cases()
        .accept_case(pb::AcceptCaseRequest { case_id: case.id.clone(), ..Default::default() })
        .await?;
    assert_eq!(accepted.state, pb::CaseState::Accepted as i32);
    assert_shown(&accepted, &draft, "discipline accepting");
    let note = discipline
        .cases()
        .add_follow_up(pb::AddFollowUpRequest {
            case_id: case.id.clone(),
            kind: pb::FollowUpKind::Investigation.into(),
            note: "调取转账记录".into(),
            request_id: String::new(),
        })
        .await?;
    assert!(note.detail.is_some(), "the discipline office sees its own note");
    for actor in [Clerk, Leader, Admin] {
        let timeline = events(lab.who(actor), &case.id).await?;
        let last = timeline.last().unwrap_or_else(|| panic!("{actor:?}: empty timeline"));
        assert_eq!(last.r#type, pb::CaseEventType::FollowedUp as i32);
        assert!(last.detail.is_none(), "{actor:?} must not read the discipline office's notes");
        assert_hidden(&lab.who(actor).cases().get_case(&case.id).await?, &format!("{actor:?} after routing"));
    }

    // A claim's content is for everyone who may see the case.
    let claim_case = w.submit(claim("普通诉求")).await?;
    for actor in outsiders {
        let seen = lab.who(actor).cases().get_case(&claim_case.id).await?;
        assert!(!seen.content_hidden && !seen.content.is_empty(), "{actor:?}");
        let timeline = events(lab.who(actor), &claim_case.id).await?;
        assert!(timeline.iter().all(|e| e.detail.is_some()), "{actor:?}");
    }
    Ok(())
}

async fn listed_ids(client: &Client) -> petition_sdk::Result<BTreeSet<String>> {
    let cases: Vec<pb::Case> = client.cases().cases(pb::ListCasesRequest::default()).try_collect().await?;
    Ok(cases.into_iter().map(|c| c.id).collect())
}

/// ListCases lists exactly what GetCase would show, and GetCase by human
/// number answers like GetCase by id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caller_lists_and_looks_up_exactly_the_cases_they_may_see() -> Result<()> {
    let lab = Lab::new().await?;
    let w = &lab.w;
    let a = w.submit(claim("章贡区的事")).await?;
    let b = w.submit(pb::CaseDraft { region_code: w.dir.county_b.code.clone(), ..claim("于都县的事") }).await?;
    let o = w
        .other_citizen
        .cases()
        .submit_case(pb::SubmitCaseRequest { draft: Some(claim("别人的事")), request_id: String::new() })
        .await?;
    let set = |cases: &[&pb::Case]| cases.iter().map(|c| c.id.clone()).collect::<BTreeSet<String>>();
    let all = set(&[&a, &b, &o]);
    let county_a = set(&[&a, &o]);
    let county_b = set(&[&b]);
    let want = [
        (Owner, set(&[&a, &b])),
        (OtherCitizen, set(&[&o])),
        (Clerk, county_a.clone()),
        (ClerkB, county_b.clone()),
        (Handler, county_a.clone()),
        (HandlerB, county_b.clone()),
        (UnitLead, county_a.clone()),
        (Reviewer, county_a.clone()),
        (Rechecker, all.clone()),
        (Leader, all.clone()),
        (Supervisor, all.clone()),
        (Admin, all.clone()),
    ];
    for (actor, ids) in &want {
        assert_eq!(&listed_ids(lab.who(*actor)).await?, ids, "{actor:?} lists");
        // GetCase by id and by number agree with the list.
        for case in [&a, &b, &o] {
            for key in [&case.id, &case.number] {
                let result = lab.who(*actor).cases().get_case(key.as_str()).await;
                if ids.contains(&case.id) {
                    assert_eq!(result.map(|c| c.id).ok().as_ref(), Some(&case.id), "{actor:?} gets {key}");
                } else {
                    expect_error(result, Code::NotFound, Some("NOT_FOUND"));
                }
            }
        }
    }
    assert!(listed_ids(&w.partner).await?.is_empty(), "nothing is shared with the partner yet");
    expect_error(listed_ids(&lab.anonymous).await, Code::Unauthenticated, Some("MISSING_CREDENTIALS"));
    for key in [a.id.as_str(), a.number.as_str()] {
        expect_error(w.partner.cases().get_case(key).await, Code::NotFound, Some("NOT_FOUND"));
        expect_error(lab.anonymous.cases().get_case(key).await, Code::Unauthenticated, Some("MISSING_CREDENTIALS"));
    }
    // Shared with the court: the partner lists and reads exactly that case,
    // and loses it when the access is revoked.
    let share = pb::GrantCaseAccessRequest {
        case_id: b.id.clone(),
        organization_id: w.court.id.clone(),
        reason: "移送法院".into(),
        ..Default::default()
    };
    let shared = w.admin.cases().grant_case_access(share.clone()).await?;
    assert_eq!(shared.access_organization_ids, vec![w.court.id.clone()], "staff see who has access");
    assert_eq!(listed_ids(&w.partner).await?, set(&[&b]));
    let seen = w.partner.cases().get_case(b.number.as_str()).await?;
    assert!(seen.access_organization_ids.is_empty(), "a partner is not told who else has access");
    assert!(seen.petitioner.as_ref().is_some_and(|p| p.phone.contains('*')), "phones stay masked");
    expect_error(w.admin.cases().grant_case_access(share).await, Code::FailedPrecondition, Some("ALREADY_GRANTED"));
    w.clerk_b
        .cases()
        .revoke_case_access(pb::RevokeCaseAccessRequest {
            case_id: b.id.clone(),
            organization_id: w.court.id.clone(),
            reason: "法院已立案".into(),
            ..Default::default()
        })
        .await?;
    assert!(listed_ids(&w.partner).await?.is_empty());
    expect_error(w.partner.cases().get_case(b.id.as_str()).await, Code::NotFound, Some("NOT_FOUND"));
    // Unknown ids and numbers look exactly like hidden ones.
    let unknown_number = format!("{}999", &a.number[..a.number.len() - 3]);
    assert_ne!(unknown_number, a.number);
    for key in [uuid::Uuid::now_v7().to_string(), unknown_number, "360702001-1999-000001".into()] {
        expect_error(w.admin.cases().get_case(key.as_str()).await, Code::NotFound, Some("NOT_FOUND"));
    }
    expect_invalid(w.admin.cases().get_case("").await, &["id"]);
    // The region filter narrows, never widens, what a caller sees.
    let in_b: Vec<pb::Case> = w
        .clerk
        .cases()
        .cases(pb::ListCasesRequest { region_code: w.dir.county_b.code.clone(), ..Default::default() })
        .try_collect()
        .await?;
    assert!(in_b.is_empty(), "clerk A filtering on county B: {in_b:?}");
    Ok(())
}

/// The petitioner's phone in full for the petitioner and admins, masked
/// (`139****1234`) for staff, in every view of the case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_petitioners_phone_is_masked_for_staff() -> Result<()> {
    let lab = Lab::new().await?;
    let w = &lab.w;
    let (citizen, registration) = signed_in_citizen(&lab.anonymous, "机主").await?;
    let full = registration.phone.clone();
    let masked = format!("{}****{}", &full[..3], &full[7..]);
    let phone = |case: &pb::Case| case.petitioner.as_ref().map(|p| p.phone.clone()).unwrap_or_default();
    let case = citizen
        .cases()
        .submit_case(pb::SubmitCaseRequest { draft: Some(claim("电话测试")), request_id: String::new() })
        .await?;
    assert_eq!(phone(&case), full, "the filing answer");
    assert_eq!(phone(&citizen.cases().get_case(&case.id).await?), full, "the petitioner");
    let views = [
        (Admin, &full),
        (Clerk, &masked),
        (Handler, &masked),
        (UnitLead, &masked),
        (Reviewer, &masked),
        (Rechecker, &masked),
        (Leader, &masked),
        (Supervisor, &masked),
    ];
    for (actor, want) in views {
        let client = lab.who(actor);
        assert_eq!(&phone(&client.cases().get_case(&case.id).await?), want, "{actor:?} GetCase");
        // A list's basic view decrypts no phone; its full view is GetCase's.
        for (view, want) in [(pb::CaseView::Basic, &masked), (pb::CaseView::Full, want)] {
            let filter = pb::ListCasesRequest { view: view as i32, ..Default::default() };
            let listed: Vec<pb::Case> = client.cases().cases(filter).try_collect().await?;
            let listed = listed.iter().find(|c| c.id == case.id).unwrap_or_else(|| panic!("{actor:?}: listed"));
            assert_eq!(&phone(listed), want, "{actor:?} ListCases {view:?}");
        }
    }
    // A transition's answer is the actor's view, too.
    let forwarded = w
        .clerk
        .cases()
        .forward_case(pb::ForwardCaseRequest {
            case_id: case.id.clone(),
            organization_id: w.dir.unit_a.id.clone(),
            ..Default::default()
        })
        .await?;
    assert_eq!(phone(&forwarded), masked, "the clerk's forwarding answer");
    let accepted =
        w.handler.cases().accept_case(pb::AcceptCaseRequest { case_id: case.id.clone(), ..Default::default() }).await?;
    assert_eq!(phone(&accepted), masked, "the handler's accepting answer");
    let withdrawn = citizen
        .cases()
        .withdraw_case(pb::WithdrawCaseRequest { case_id: case.id.clone(), ..Default::default() })
        .await?;
    assert_eq!(phone(&withdrawn), full, "the petitioner's withdrawal answer");
    Ok(())
}

/// cases.proto: a representative's phone is "masked for everyone but the
/// case's handlers and admins".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_visit_representatives_phones_are_full_for_admins_and_handlers() -> Result<()> {
    let lab = Lab::new().await?;
    let w = &lab.w;
    let representative = phone();
    let masked = format!("{}****{}", &representative[..3], &representative[7..]);
    let case = w
        .clerk
        .cases()
        .register_case(pb::RegisterCaseRequest {
            draft: Some(claim("集体走访")),
            channel: pb::CaseChannel::Visit.into(),
            petitioner_account_id: w.owner_id.clone(),
            group_visit: Some(pb::GroupVisit {
                headcount: 12,
                representatives: vec![pb::Representative { name: "代表甲".into(), phone: representative.clone() }],
            }),
            request_id: String::new(),
        })
        .await?;
    let case = w
        .clerk
        .cases()
        .forward_case(pb::ForwardCaseRequest {
            case_id: case.id.clone(),
            organization_id: w.dir.unit_a.id.clone(),
            etag: case.etag.clone(),
            ..Default::default()
        })
        .await?;
    let phone_of = |case: &pb::Case| {
        case.group_visit.as_ref().and_then(|g| g.representatives.first()).map(|r| r.phone.clone()).unwrap_or_default()
    };
    assert_eq!(phone_of(&case), masked, "the clerk");
    assert_eq!(phone_of(&w.leader.cases().get_case(&case.id).await?), masked, "a city leader");
    assert_eq!(phone_of(&w.handler.cases().get_case(&case.id).await?), representative, "the handling unit");
    assert_eq!(phone_of(&w.admin.cases().get_case(&case.id).await?), representative, "an admin");
    Ok(())
}

/// A clerk whose role may register cases, filing one for a place outside
/// their jurisdiction, is told that, not that the role may not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_outside_the_jurisdiction_says_so() -> Result<()> {
    let lab = Lab::new().await?;
    let w = &lab.w;
    let err = w
        .clerk_b
        .cases()
        .register_case(pb::RegisterCaseRequest {
            draft: Some(claim("路灯不亮")),
            channel: pb::CaseChannel::Visit.into(),
            petitioner_account_id: w.owner_id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("county B's clerk registers in county A");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    assert_eq!(err.reason(), Some("OUTSIDE_JURISDICTION"));
    assert!(err.message().contains("outside your jurisdiction"), "{}", err.message());
    let err = w
        .handler
        .cases()
        .register_case(pb::RegisterCaseRequest {
            draft: Some(claim("路灯不亮")),
            channel: pb::CaseChannel::Visit.into(),
            petitioner_account_id: w.owner_id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("a handler registers");
    assert_eq!(err.reason(), Some("PERMISSION_DENIED"), "the role is what refuses a handler");
    Ok(())
}
