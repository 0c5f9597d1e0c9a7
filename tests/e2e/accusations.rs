//! Art.30: an accusation's content and its accuser reach no one but the
//! petitioner and the discipline channel, through any read: GetCase,
//! ListCases (and its link filters), ListCaseEvents, FindSimilarCases and
//! the change feed. Checked over generated scenarios: accusations filed
//! online or registered at a desk (a group visit with representatives),
//! repeated, routed and handled, beside the accuser's ordinary cases that
//! say the same thing.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use futures::TryStreamExt;
use petition_sdk::pb::find_similar_cases_request::Query;
use petition_sdk::{Client, pb};
use petition_tests::builders::phone;
use petition_tests::*;

/// The accusation's wording; an ordinary case of the accuser says nearly
/// the same, so that similarity links would join them if allowed.
const ACCUSED_TEXT: &str = "章贡区住建局某科长在审批滨江苑项目时收受开发商现金二十万元，\
并安排其亲属承揽工程，群众反映强烈，请求纪检监察机关依法查处。";

struct Scenario {
    seed: u64,
    /// Accusations filed online by the owner, and registered by the clerk.
    online: usize,
    registered: usize,
    /// Repeat the first online accusation (same words again).
    repeat: bool,
    /// How far the discipline office takes them: 0 routed only … 2 replied.
    handled: u8,
}

/// Every identifier of the accuser that must not leak.
struct Accuser {
    account_id: String,
    name: String,
    phone: String,
}

/// One thing a reader read, and what it is about.
struct Record {
    /// The case it is about.
    case_id: String,
    text: String,
}

fn accusation(marker: &str) -> pb::CaseDraft {
    pb::CaseDraft {
        kind: pb::CaseKind::Accusation.into(),
        category_code: "discipline".into(),
        title: format!("举报{marker}"),
        content: format!("{ACCUSED_TEXT}（{marker}）"),
        requests: format!("依法查处{marker}"),
        facts_and_reasons: format!("我亲眼所见{marker}"),
        ..claim("")
    }
}

/// Files the scenario's cases; returns the accusations' ids and markers.
async fn file(w: &CaseWorld, s: &Scenario) -> Result<(Vec<String>, Vec<String>)> {
    let mut ids = Vec::new();
    let mut markers = Vec::new();
    // The accuser's ordinary case, saying nearly the same.
    w.submit(pb::CaseDraft { content: ACCUSED_TEXT.into(), ..claim("滨江苑项目的问题") }).await?;
    for i in 0..s.online {
        let marker = format!("线上{}号{}", s.seed, i);
        let case = w.submit(accusation(&marker)).await?;
        ids.push(case.id);
        markers.push(marker);
    }
    if s.repeat && s.online > 0 {
        let marker = format!("线上{}号0", s.seed);
        let again = w.submit(accusation(&marker)).await?;
        ids.push(again.id);
    }
    for i in 0..s.registered {
        let marker = format!("来访{}号{}", s.seed, i);
        let group = (i % 2 == 0).then(|| pb::GroupVisit {
            headcount: 6,
            representatives: vec![pb::Representative { name: format!("代表{marker}"), phone: phone() }],
        });
        let case = w
            .clerk
            .cases()
            .register_case(pb::RegisterCaseRequest {
                draft: Some(accusation(&marker)),
                channel: pb::CaseChannel::Visit.into(),
                petitioner_account_id: w.owner_id.clone(),
                group_visit: group,
                request_id: String::new(),
            })
            .await?;
        ids.push(case.id);
        markers.push(marker);
    }
    for id in &ids {
        let case = w.admin.cases().get_case(id.as_str()).await?;
        if case.state() != pb::CaseState::Registered {
            continue;
        }
        w.clerk
            .cases()
            .forward_case(pb::ForwardCaseRequest {
                case_id: id.clone(),
                organization_id: w.discipline.id.clone(),
                ..Default::default()
            })
            .await?;
        if s.handled >= 1 {
            w.discipline_handler
                .cases()
                .accept_case(pb::AcceptCaseRequest { case_id: id.clone(), ..Default::default() })
                .await?;
            w.discipline_handler
                .cases()
                .add_follow_up(pb::AddFollowUpRequest {
                    case_id: id.clone(),
                    kind: pb::FollowUpKind::Investigation.into(),
                    note: "已约谈举报人核实".into(),
                    request_id: String::new(),
                })
                .await?;
        }
        if s.handled >= 2 {
            w.discipline_handler
                .cases()
                .reply_to_case(pb::ReplyToCaseRequest {
                    case_id: id.clone(),
                    opinion: Some(opinion()),
                    ..Default::default()
                })
                .await?;
        }
    }
    Ok((ids, markers))
}

/// Everything `reader` can read, as records.
async fn read_everything(reader: &Client, all: &[String], owner_id: &str, staff: bool) -> Result<Vec<Record>> {
    let mut records = Vec::new();
    for view in [pb::CaseView::Basic, pb::CaseView::Full] {
        let filter = pb::ListCasesRequest { view: view as i32, ..Default::default() };
        let cases: Vec<pb::Case> = reader.cases().cases(filter).try_collect().await?;
        for case in &cases {
            records.push(Record { case_id: case.id.clone(), text: format!("{case:?}") });
        }
    }
    for id in all {
        if let Ok(case) = reader.cases().get_case(id.as_str()).await {
            records.push(Record { case_id: id.clone(), text: format!("{case:?}") });
            let events: Vec<pb::CaseEvent> = reader.cases().case_events(id.as_str()).try_collect().await?;
            for event in events {
                records.push(Record { case_id: id.clone(), text: format!("{event:?}") });
            }
        }
        // Links from other cases to this one.
        for filter in [
            pb::ListCasesRequest {
                repeat_of_case_id: id.clone(),
                view: pb::CaseView::Full as i32,
                ..Default::default()
            },
            pb::ListCasesRequest {
                related_to_case_id: id.clone(),
                view: pb::CaseView::Full as i32,
                ..Default::default()
            },
            pb::ListCasesRequest {
                merged_into_case_id: id.clone(),
                view: pb::CaseView::Full as i32,
                ..Default::default()
            },
        ] {
            if let Ok(page) = reader.cases().list_cases(filter).await {
                for case in page.cases {
                    records.push(Record { case_id: case.id.clone(), text: format!("linked to {id}: {case:?}") });
                }
            }
        }
    }
    if staff {
        let queries = [
            pb::FindSimilarCasesRequest {
                query: Some(Query::Text(ACCUSED_TEXT.into())),
                petitioner_account_id: owner_id.to_owned(),
                page_size: 50,
                ..Default::default()
            },
            pb::FindSimilarCasesRequest {
                query: Some(Query::Text(ACCUSED_TEXT.into())),
                page_size: 50,
                ..Default::default()
            },
        ];
        let by_case = all.iter().map(|id| pb::FindSimilarCasesRequest {
            query: Some(Query::CaseId(id.clone())),
            page_size: 50,
            ..Default::default()
        });
        for query in queries.into_iter().chain(by_case) {
            if let Ok(matches) = reader.cases().find_similar_cases(query).await {
                for m in matches {
                    let case_id = m.case.as_ref().map(|c| c.id.clone()).unwrap_or_default();
                    records.push(Record { case_id, text: format!("{m:?}") });
                }
            }
        }
    }
    let mut position = 0;
    loop {
        let page = reader
            .feed()
            .list_changes(pb::ListChangesRequest { after_position: position, page_size: 500, filter: None })
            .await?;
        for change in &page.changes {
            records.push(Record { case_id: change.aggregate_id.clone(), text: format!("{change:?}") });
        }
        position = page.next_position;
        if page.caught_up {
            break;
        }
    }
    Ok(records)
}

async fn check(s: Scenario) -> Result<()> {
    let server = TestServer::spawn_with(|c| c.intake.duplicate_detection = true).await?;
    let w = CaseWorld::create(&server).await?;
    let me = w.owner.identity().get_me().await?;
    let accuser = Accuser { account_id: me.id.clone(), name: me.display_name.clone(), phone: me.phone.clone() };
    let (accusations, markers) = file(&w, &s).await?;
    let accusations: BTreeSet<String> = accusations.into_iter().collect();
    let all: Vec<String> = {
        let cases: Vec<pb::Case> = w.admin.cases().cases(pb::ListCasesRequest::default()).try_collect().await?;
        cases.into_iter().map(|c| c.id).collect()
    };
    let phone_digits = accuser.phone.chars().filter(char::is_ascii_digit).collect::<String>();
    // The accuser's other cases: a link from an accusation to one names them.
    let own: Vec<pb::Case> = w.owner.cases().cases(pb::ListCasesRequest::default()).try_collect().await?;
    let own_other: Vec<String> = own.into_iter().map(|c| c.id).filter(|id| !accusations.contains(id)).collect();
    let readers = [
        ("petitioner", &w.owner, true, false),
        ("discipline office", &w.discipline_handler, true, true),
        ("another citizen", &w.other_citizen, false, false),
        ("clerk of the county", &w.clerk, false, true),
        ("clerk of another county", &w.clerk_b, false, true),
        ("handler", &w.handler, false, true),
        ("unit lead", &w.unit_lead, false, true),
        ("reviewer", &w.reviewer, false, true),
        ("city leader", &w.leader, false, true),
        ("supervisor", &w.supervisor, false, true),
        ("partner", &w.partner, false, false),
        ("admin", &w.admin, false, true),
    ];
    for (who, reader, may_know, staff) in readers {
        let records = read_everything(reader, &all, &accuser.account_id, staff).await.context(who)?;
        let about: Vec<&Record> = records.iter().filter(|r| accusations.contains(&r.case_id)).collect();
        if may_know {
            assert!(
                about.iter().any(|r| markers.iter().any(|m| r.text.contains(m.as_str()))),
                "seed {}: {who} sees the accusations' content",
                s.seed
            );
            continue;
        }
        for record in &about {
            for secret in markers.iter().chain(&own_other).map(String::as_str).chain([
                accuser.account_id.as_str(),
                accuser.name.as_str(),
                phone_digits.as_str(),
                ACCUSED_TEXT,
                "代表",
                "举报",
            ]) {
                assert!(
                    !record.text.contains(secret),
                    "seed {}: {who} read {secret:?} about accusation {}: {}",
                    s.seed,
                    record.case_id,
                    record.text
                );
            }
        }
        // Nothing about the accuser's other cases points at an accusation.
        for record in records.iter().filter(|r| !accusations.contains(&r.case_id)) {
            for id in &accusations {
                assert!(
                    !record.text.contains(id.as_str()),
                    "seed {}: {who} reads a link from case {} to accusation {id}: {}",
                    s.seed,
                    record.case_id,
                    record.text
                );
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_read_path_shows_an_accusation_or_its_accuser_to_anyone_else() -> Result<()> {
    for s in [
        Scenario { seed: 1, online: 1, registered: 0, repeat: true, handled: 2 },
        Scenario { seed: 2, online: 0, registered: 2, repeat: false, handled: 1 },
        Scenario { seed: 3, online: 2, registered: 1, repeat: true, handled: 0 },
    ] {
        check(s).await?;
    }
    Ok(())
}
