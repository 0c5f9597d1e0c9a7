//! Walks one case (信访事项) from the citizen's online submission to a served
//! written reply that the petitioner can now rate or ask to have reviewed:
//!
//! 1. the citizen files a claim (申诉求决类) online, with an idempotency key,
//!    and shows that retrying with the same key files nothing new;
//! 2. the clerk of 章贡区信访局 finds it by its number and assigns it (交办)
//!    to 章贡区住房和城乡建设局 with a completion report due in 30 days;
//! 3. the housing bureau's handler accepts it (受理), notes a contact with
//!    the petitioner and serves the written opinion (信访处理意见书);
//! 4. the citizen reads the timeline and the final state, `REPLIED`, with
//!    the date until which a review (复查) may be requested.
//!
//! # Usage
//!
//! Start the server with the demo directory, then run the example against
//! it (the URL defaults to `http://127.0.0.1:50051`):
//!
//! ```sh
//! cargo run -p petition-server -- seed-demo
//! cargo run -p petition-sdk --example lifecycle -- http://127.0.0.1:50051 [CATEGORY]
//! ```
//!
//! It signs in with the demo accounts (password `demo-password`): citizen
//! `13807970001`, clerk `zg.clerk` and handler `zg.handler`, and files under
//! the category `CATEGORY` (default `housing.property`, 物业管理) in
//! 厚德路社区 (`360702001001`). When a routing rule for the category and
//! region routes the case on registration (即时交办; the demo data has one
//! for `housing.property` in 章贡区), the clerk finds it already with the
//! housing bureau and has nothing to assign; pass a category without a rule,
//! such as `housing`, to see the clerk assign it.
//! Every run files a new case. On failure it prints the step, the gRPC code
//! and the details the server sent (field violations, failed
//! preconditions), and exits with status 1.

use std::collections::HashMap;
use std::process::ExitCode;

use chrono::{DateTime, Days, FixedOffset, Utc};
use futures::TryStreamExt;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, Error, new_request_id, pb};

const DEFAULT_URL: &str = "http://127.0.0.1:50051";
const PASSWORD: &str = "demo-password";
const CITIZEN: &str = "13807970001";
const CLERK: &str = "zg.clerk";
const HANDLER: &str = "zg.handler";
/// 物业管理: the default category.
const DEFAULT_CATEGORY: &str = "housing.property";
/// 厚德路社区, 解放街道, 章贡区.
const REGION: &str = "360702001001";
/// 章贡区: where the housing bureau sits.
const COUNTY: &str = "360702";
const HOUSING_BUREAU: &str = "章贡区住房和城乡建设局";
/// Days from today until the completion report of the assignment is due.
const REPORT_WITHIN_DAYS: u64 = 30;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| DEFAULT_URL.to_owned());
    let category = args.next().unwrap_or_else(|| DEFAULT_CATEGORY.to_owned());
    match run(&url, &category).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.print(&url);
            ExitCode::FAILURE
        }
    }
}

/// Why the walk stopped.
enum Failure {
    /// A call failed.
    Call { step: &'static str, error: Error },
    /// The server answered, but not as this walk expects (for example the
    /// demo data lacks something).
    Unexpected(String),
}

impl Failure {
    fn print(&self, url: &str) {
        match self {
            Failure::Unexpected(message) => eprintln!("\nfailed: {message}"),
            Failure::Call { step, error } => {
                eprintln!("\nfailed while {step}");
                eprintln!("  code:    {:?}", error.code());
                eprintln!("  message: {}", error.message());
                if let Some(reason) = error.reason() {
                    eprintln!("  reason:  {reason}");
                }
                for violation in error.field_violations() {
                    eprintln!("  field {}: {}", violation.field, violation.description);
                }
                for violation in error.precondition_violations() {
                    eprintln!("  precondition {} on {}: {}", violation.kind, violation.subject, violation.description);
                }
                if let Some(delay) = error.retry_after() {
                    eprintln!("  retry after {delay:?}");
                }
                match error.code() {
                    Code::Unavailable => eprintln!(
                        "\n  Is the server running at {url}? Start it with `cargo run -p petition-server -- seed-demo`."
                    ),
                    Code::Unauthenticated => eprintln!(
                        "\n  Were the demo accounts loaded? Start the server with `cargo run -p petition-server -- seed-demo`."
                    ),
                    _ => {}
                }
            }
        }
    }
}

/// Names the step a call belongs to, for the error report.
trait During<T> {
    fn during(self, step: &'static str) -> Result<T, Failure>;
}

impl<T> During<T> for Result<T, Error> {
    fn during(self, step: &'static str) -> Result<T, Failure> {
        self.map_err(|error| Failure::Call { step, error })
    }
}

async fn run(url: &str, category: &str) -> Result<(), Failure> {
    let connection = Client::connect(url).await.during("connecting")?;
    println!("connected to {url}");

    // One session per person, all on the same connection.
    let citizen = connection.new_session();
    let clerk = connection.new_session();
    let handler = connection.new_session();
    let mut people = HashMap::new();
    for (session, login, role) in
        [(&citizen, CITIZEN, "citizen"), (&clerk, CLERK, "clerk"), (&handler, HANDLER, "handler")]
    {
        let account = session.login(login, PASSWORD).await.during("signing in the demo accounts")?;
        println!("signed in {role} {login} as {} ({})", account.display_name, account.id);
        people.insert(account.id, format!("{role} {}", account.display_name));
    }

    // 1. The citizen files the case online.
    let categories = citizen.taxonomy().list_categories(false).await.during("listing the categories")?;
    if !categories.iter().any(|c| c.code == category) {
        let known: Vec<String> = categories.iter().map(|c| format!("{} ({})", c.code, c.name)).collect();
        return Err(Failure::Unexpected(format!(
            "the category {category} is not among the active categories: [{}]",
            known.join(", ")
        )));
    }
    let submit = pb::SubmitCaseRequest {
        draft: Some(pb::CaseDraft {
            kind: pb::CaseKind::Claim.into(),
            category_code: category.into(),
            region_code: REGION.into(),
            title: "小区电梯停运两月，物业拒不维修".into(),
            content: "我住厚德路社区3栋，单元电梯自两个月前故障停运至今。多次向物业公司报修，物业以维修资金未到位为由拒不维修，\
                      楼内多位老人无法下楼。"
                .into(),
            requests: "请督促物业公司尽快修复电梯，并说明维修资金的使用情况。".into(),
            facts_and_reasons: "电梯属于共用设施设备，物业服务合同约定由物业公司负责日常维修养护。".into(),
            attachments: vec![],
            respondent_organization_id: String::new(),
        }),
        // The idempotency key. Left empty the SDK would fill one in for its
        // own retries; chosen here to repeat the call ourselves below.
        request_id: new_request_id(),
    };
    let case = citizen.cases().submit_case(submit.clone()).await.during("submitting the case")?;
    println!("\n[citizen] filed case {} ({}), state {}", case.number, case.id, case_state(&case));
    // A retry (say after a timeout) sends the same request with the same
    // key: the server answers with the first response and files nothing.
    let replay = citizen.cases().submit_case(submit).await.during("retrying the submission")?;
    if replay.id != case.id {
        return Err(Failure::Unexpected(format!("the retry filed another case, {}", replay.number)));
    }
    println!("[citizen] retried with the same request_id: still case {}", replay.number);

    // 2. The clerk finds the case by its number and assigns it.
    let cases = clerk.cases();
    let mut case = cases.get_case(&case.number).await.during("reading the case as the clerk")?;
    println!("\n[clerk] found {} 「{}」, route by {}", case.number, case.title, deadlines(&case).route_by);
    let bureau = find_housing_bureau(&clerk).await?;
    match case.state() {
        pb::CaseState::Registered => {
            let today = Utc::now().with_timezone(&beijing()).date_naive();
            let report_by = today
                .checked_add_days(Days::new(REPORT_WITHIN_DAYS))
                .ok_or_else(|| Failure::Unexpected("cannot compute the report date".into()))?;
            let assign = pb::AssignCaseRequest {
                case_id: case.id.clone(),
                organization_id: bureau.id.clone(),
                report_by: report_by.format("%Y-%m-%d").to_string(),
                note: "请依法调查处理，并按期报送办结报告。".into(),
                etag: case.etag.clone(),
                request_id: new_request_id(),
            };
            case = cases.assign_case(assign).await.during("assigning the case")?;
            let d = deadlines(&case);
            println!(
                "[clerk] assigned (交办) to {}: state {}, accept by {}, object by {}, report by {}",
                bureau.name,
                case_state(&case),
                d.accept_by,
                d.object_by,
                or_none(&d.report_by)
            );
        }
        // A routing rule for (category, region) may have routed it already.
        pb::CaseState::Routed if case.handling_organization_id == bureau.id => {
            let d = deadlines(&case);
            println!(
                "[clerk] nothing to assign: a routing rule routed it ({}) to {} on registration (即时交办); \
                 accept by {}, object by {}, report by {}",
                short(case.routing_mode().as_str_name(), "ROUTING_MODE_"),
                bureau.name,
                d.accept_by,
                d.object_by,
                or_none(&d.report_by)
            );
        }
        _ => {
            return Err(Failure::Unexpected(format!(
                "case {} is {} with unit {:?}; expected it REGISTERED or routed to {HOUSING_BUREAU}",
                case.number,
                case_state(&case),
                case.handling_organization_id
            )));
        }
    }

    // 3. The handler accepts, follows up and replies.
    let cases = handler.cases();
    let case = cases.get_case(&case.id).await.during("reading the case as the handler")?;
    let accept = pb::AcceptCaseRequest {
        case_id: case.id.clone(),
        note: "已受理，将于近期联系您并现场核实。".into(),
        etag: case.etag.clone(),
        request_id: new_request_id(),
    };
    let case = cases.accept_case(accept).await.during("accepting the case")?;
    println!("\n[handler] accepted (受理): state {}, opinion due by {}", case_state(&case), deadlines(&case).reply_by);

    let follow_up = pb::AddFollowUpRequest {
        case_id: case.id.clone(),
        kind: pb::FollowUpKind::Contact.into(),
        note: "电话联系信访人，约定现场查看电梯；已约谈物业公司负责人。".into(),
        request_id: new_request_id(),
    };
    let event = cases.add_follow_up(follow_up).await.during("adding a follow-up")?;
    println!("[handler] follow-up recorded as timeline entry #{}", event.sequence);

    // The follow-up changed the case's etag: read it again before replying.
    let case = cases.get_case(&case.id).await.during("re-reading the case before the reply")?;
    let reply = pb::ReplyToCaseRequest {
        case_id: case.id.clone(),
        opinion: Some(pb::Opinion {
            request: "请求督促物业公司修复停运电梯并说明维修资金使用情况。".into(),
            facts: "经现场核实，该单元电梯因曳引机故障停运；物业服务合同约定共用设施设备的维修养护由物业公司负责。"
                .into(),
            decision: pb::OpinionDecision::Supported.into(),
            legal_basis: "《物业管理条例》第三十五条、第五十四条；《住宅专项维修资金管理办法》第二十二条。".into(),
            // Served now; the issuing organization is the handling unit.
            serve_time: None,
            organization_id: String::new(),
            mediation_dispute_id: String::new(),
        }),
        etag: case.etag.clone(),
        request_id: new_request_id(),
    };
    let case = cases.reply_to_case(reply).await.during("replying to the case")?;
    println!("[handler] served the written opinion: state {}", case_state(&case));

    // 4. The citizen reads the timeline and the outcome.
    let mut events = citizen.cases().case_events(&case.id);
    println!("\ntimeline of {}:", case.number);
    while let Some(event) = events.try_next().await.during("reading the timeline")? {
        let actor = match event.actor_account_id.as_str() {
            "" => "system".to_owned(),
            id => people.get(id).cloned().unwrap_or_else(|| id.to_owned()),
        };
        println!(
            "  #{:<2} {}  {:<20} → {:<11} by {actor}",
            event.sequence,
            beijing_time(event.time.as_ref()),
            short(event.r#type().as_str_name(), "CASE_EVENT_TYPE_"),
            short(event.state().as_str_name(), "CASE_STATE_"),
        );
        if let Some(detail) = &event.detail {
            println!("       {detail:?}");
        }
    }

    let case = citizen.cases().get_case(&case.id).await.during("reading the final state")?;
    if case.state() != pb::CaseState::Replied {
        return Err(Failure::Unexpected(format!("case {} ended {}, not REPLIED", case.number, case_state(&case))));
    }
    let d = deadlines(&case);
    let decision =
        case.reply.as_ref().map_or("none", |reply| short(reply.decision().as_str_name(), "OPINION_DECISION_"));
    println!("\ncase {} is {} (decision {decision})", case.number, case_state(&case));
    println!("  the petitioner may rate the reply, or request a review (复查) until {}", d.review_request_by);
    if !d.report_by.is_empty() && !case.completion_reported {
        println!("  the unit still owes the bureau its completion report by {}", d.report_by);
    }

    for session in [&citizen, &clerk, &handler] {
        session.logout().await.during("signing out")?;
    }
    Ok(())
}

/// The housing bureau among 章贡区's responsible units.
async fn find_housing_bureau(clerk: &Client) -> Result<pb::Organization, Failure> {
    let filter = pb::ListOrganizationsRequest {
        region_code: COUNTY.into(),
        kind: pb::OrganizationKind::ResponsibleUnit.into(),
        ..Default::default()
    };
    let mut units = clerk.directory().organizations(filter);
    while let Some(unit) = units.try_next().await.during("looking up the housing bureau")? {
        if unit.name == HOUSING_BUREAU {
            return Ok(unit);
        }
    }
    Err(Failure::Unexpected(format!("no responsible unit named {HOUSING_BUREAU} under region {COUNTY}")))
}

fn deadlines(case: &pb::Case) -> pb::CaseDeadlines {
    case.deadlines.clone().unwrap_or_default()
}

/// A deadline, or `-` where it does not apply.
fn or_none(date: &str) -> &str {
    if date.is_empty() { "-" } else { date }
}

fn case_state(case: &pb::Case) -> &'static str {
    short(case.state().as_str_name(), "CASE_STATE_")
}

/// An enum value's proto name without its type prefix.
fn short<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

/// UTC+8, the time zone of the case's dates.
fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

fn beijing_time(time: Option<&prost_types::Timestamp>) -> String {
    time.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
        .map_or_else(|| "-".repeat(19), |t| t.with_timezone(&beijing()).format("%Y-%m-%d %H:%M:%S").to_string())
}
