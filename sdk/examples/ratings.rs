//! Rates a served opinion (评价) as each side sees it:
//!
//! 1. 刘群众 files online a leaking-pipe claim in 章贡区; the housing rule
//!    routes it to the district's housing bureau, whose handler
//!    (`zg.handler`) accepts it and serves the reply — which opens its
//!    rating, with the window's last day;
//! 2. 刘群众 rates the acceptance and the handling separately: dissatisfied
//!    with the handling, with typed reasons, then — the pipe fixed —
//!    changes it to basically satisfied within the window;
//! 3. the bureau's clerk (`zg.clerk`) records, for an offline petitioner,
//!    a rating given by phone on a demo reply still awaiting one;
//! 4. the housing bureau lists the ratings of its own work, and the
//!    rating's timeline names who gave each value.
//!
//! ```sh
//! cargo run -p petition-server -- seed-demo
//! cargo run -p petition-sdk --example ratings -- http://127.0.0.1:50051
//! ```
//!
//! Every run files a new case (password `demo-password` for everyone).

use futures::TryStreamExt;
use petition_sdk::{Client, pb};

const PASSWORD: &str = "demo-password";

fn score(satisfaction: pb::Satisfaction, reasons: &[pb::DissatisfactionReason], text: &str) -> pb::RatingScore {
    pb::RatingScore {
        satisfaction: satisfaction.into(),
        reasons: reasons.iter().map(|r| *r as i32).collect(),
        text: text.into(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "http://127.0.0.1:50051".to_owned());
    let citizen = Client::connect(&url).await?;
    citizen.login("13807970001", PASSWORD).await?;
    let handler = citizen.new_session();
    handler.login("zg.handler", PASSWORD).await?;
    let clerk = citizen.new_session();
    clerk.login("zg.clerk", PASSWORD).await?;

    // 1. Filed, accepted, replied to: the reply opens its rating.
    let stamp = chrono::Utc::now().format("%m%d%H%M%S");
    let draft = pb::CaseDraft {
        kind: pb::CaseKind::Claim.into(),
        category_code: "housing.property".into(),
        region_code: "360702001001".into(),
        title: format!("厚德路小区雨水管破裂（{stamp}）"),
        content: format!("厚德路小区8号楼雨水管破裂，编号{stamp}，雨天外墙渗水，物业拖延不修。"),
        requests: "请求督促物业更换雨水管".into(),
        ..Default::default()
    };
    let case =
        citizen.cases().submit_case(pb::SubmitCaseRequest { draft: Some(draft), request_id: String::new() }).await?;
    handler.cases().accept_case(pb::AcceptCaseRequest { case_id: case.id.clone(), ..Default::default() }).await?;
    let opinion = pb::Opinion {
        request: "更换破裂的雨水管".into(),
        facts: "经现场核查属实，已责令物业三日内更换".into(),
        decision: pb::OpinionDecision::Supported.into(),
        legal_basis: "《物业管理条例》第三十五条".into(),
        ..Default::default()
    };
    handler
        .cases()
        .reply_to_case(pb::ReplyToCaseRequest {
            case_id: case.id.clone(),
            opinion: Some(opinion),
            ..Default::default()
        })
        .await?;
    let of_case = pb::ListRatingsRequest { case_id: case.id.clone(), ..Default::default() };
    let ratings: Vec<pb::Rating> = citizen.ratings().ratings(of_case).try_collect().await?;
    let rating = ratings.first().ok_or("the reply opened no rating")?;
    println!("case {}: rating {:?} {:?}, rate by {}", case.number, rating.round(), rating.state(), rating.rate_by);

    // 2. Rated, then changed within the window.
    use pb::DissatisfactionReason as Why;
    use pb::Satisfaction as S;
    let r = citizen.ratings();
    let first = r
        .submit_rating(pb::SubmitRatingRequest {
            rating_id: rating.id.clone(),
            acceptance: Some(score(S::Satisfied, &[], "")),
            handling: Some(score(S::Dissatisfied, &[Why::NotCarriedOut], "三天过去了还没修")),
            ..Default::default()
        })
        .await?;
    println!("rated: handling {:?} {:?}", first.handling.as_ref().map(|h| h.satisfaction()), first.channel());
    let changed = r
        .submit_rating(pb::SubmitRatingRequest {
            rating_id: rating.id.clone(),
            acceptance: Some(score(S::Satisfied, &[], "")),
            handling: Some(score(S::BasicallySatisfied, &[], "已更换，但拖了一周")),
            etag: first.etag.clone(),
            ..Default::default()
        })
        .await?;
    println!(
        "changed: handling {:?} ({} change)",
        changed.handling.as_ref().map(|h| h.satisfaction()),
        changed.change_count
    );

    // 3. A phone rating recorded by the clerk, on a reply still awaiting one.
    let awaiting = pb::ListRatingsRequest { states: vec![pb::RatingState::Awaiting.into()], ..Default::default() };
    let waiting: Vec<pb::Rating> = clerk.ratings().ratings(awaiting).try_collect().await?;
    if let Some(open) = waiting.iter().find(|w| w.id != rating.id) {
        let recorded = clerk
            .ratings()
            .record_rating(pb::RecordRatingRequest {
                rating_id: open.id.clone(),
                acceptance: Some(score(S::Satisfied, &[], "")),
                handling: Some(score(S::Satisfied, &[], "电话回访：满意")),
                channel: pb::RatingChannel::Phone.into(),
                ..Default::default()
            })
            .await?;
        println!("recorded by phone: case {} {:?}", recorded.case_number, recorded.channel());
    }

    // 4. The unit's own ratings, and the timeline.
    let unit = handler.identity().get_me().await?.organization_id;
    let own = pb::ListRatingsRequest { organization_id: unit, ..Default::default() };
    let listed: Vec<pb::Rating> = handler.ratings().ratings(own).try_collect().await?;
    println!("the housing bureau sees {} rating(s) of its work", listed.len());
    let events: Vec<pb::RatingEvent> = r.rating_events(&rating.id).try_collect().await?;
    for e in events {
        println!("  #{} {:?} by {}", e.sequence, e.r#type(), e.actor_account_id);
    }
    Ok(())
}
