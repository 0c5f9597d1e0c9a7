//! MetricsService end to end: the synthetic city-year reproduces the seed
//! city's figures exactly; exports add up to their figures; a dashboard
//! "as of" a past day does not change when later events arrive; formulas
//! on hand-made histories; the projection equals a recomputation from the
//! event log; the authorization matrix over both RPCs; bad input.

use anyhow::{Context, Result};
use chrono::Duration;
use diesel::prelude::*;
use petition_sdk::tonic::Code;
use petition_sdk::{Client, figure, pb};
use petition_tests::metrics_world::*;
use petition_tests::*;
use uuid::Uuid;

use crate::support::{expect_error, expect_invalid};

use pb::MetricId as M;

fn year_period(year: i32) -> Option<pb::MetricPeriod> {
    Some(pb::MetricPeriod { period: Some(pb::metric_period::Period::Year(year)) })
}

fn request(region: &str, year: i32, breakdown: pb::MetricBreakdown) -> pb::GetMetricsRequest {
    pb::GetMetricsRequest {
        region_code: region.into(),
        period: year_period(year),
        breakdown: breakdown.into(),
        ..Default::default()
    }
}

/// (numerator, denominator, display) of `metric` in `group`.
fn nd(group: &pb::MetricGroup, metric: M) -> (i64, i64, String) {
    let f = figure(group, metric).unwrap_or_else(|| panic!("no {metric:?}"));
    (f.numerator, f.denominator, f.display.clone())
}

/// A response without the log position it was counted through (which
/// moves with every write, while the figures of a past day do not).
fn figures(r: pb::GetMetricsResponse) -> pb::GetMetricsResponse {
    pb::GetMetricsResponse { counted_through: 0, ..r }
}

fn total(r: &pb::GetMetricsResponse) -> &pb::MetricGroup {
    r.total.as_ref().unwrap_or_else(|| panic!("no total"))
}

/// The metrics an export can list (all but backlog and mediation).
const EXPORTED: [M; 14] = [
    M::Filings,
    M::FilingsYearOnYear,
    M::FirstTimeFilings,
    M::RepeatFilings,
    M::EscalatedFilings,
    M::TimelyAcceptanceRate,
    M::OnTimeCompletionRate,
    M::CompletionRate,
    M::SatisfactionRate,
    M::SatisfactionRateNotRatedSatisfied,
    M::ParticipationRate,
    M::RepeatRate,
    M::CessationRate,
    M::OneVisitRate,
];

/// The export's lines counted: (in numerator, in denominator).
async fn exported(client: &Client, region: &str, year: i32, metric: M, as_of: &str) -> Result<(i64, i64)> {
    let csv = client
        .metrics()
        .export_csv(pb::ExportMetricRowsRequest {
            region_code: region.into(),
            period: year_period(year),
            as_of_date: as_of.into(),
            metric: metric.into(),
            formula_version: 0,
        })
        .await?;
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("case_number,metric,in_numerator,in_denominator,fact"));
    let (mut n, mut d) = (0, 0);
    for line in lines {
        let cells: Vec<&str> = line.splitn(5, ',').collect();
        n += i64::from(cells[2] == "1");
        d += i64::from(cells[3] == "1");
    }
    Ok((n, d))
}

/// Waits until the server has counted every event now in the log (the
/// metrics follow the log a moment after each write).
async fn counted(client: &Client, conn: &mut PgConnection) -> Result<()> {
    #[derive(QueryableByName)]
    struct Newest {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        position: i64,
    }
    let newest: Newest =
        diesel::sql_query("SELECT COALESCE(max((xid << 16) | idx), 0) AS position FROM events").get_result(conn)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match client.metrics().year("", 2000, pb::MetricBreakdown::None).await {
            Ok(r) if r.counted_through >= newest.position => return Ok(()),
            Ok(_) => {}
            Err(e) if e.code() == Code::Unavailable => {}
            Err(e) => return Err(e.into()),
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "the metrics never counted position {}", newest.position);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A world with one case filed through the API (the template the
/// histories copy) and a connection to its database.
async fn world(server: &TestServer) -> Result<(CaseWorld, Uuid, Uuid, PgConnection)> {
    let w = CaseWorld::create(server).await?;
    let template = w.submit(claim("模板")).await?;
    let conn = server.database.as_ref().context("own database")?.connect()?;
    let (template, petitioner) = (template.id.parse()?, w.owner_id.parse()?);
    Ok((w, template, petitioner, conn))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_synthetic_city_year_reproduces_the_seed_figures() -> Result<()> {
    let server = TestServer::spawn().await?;
    let (w, template, petitioner, mut conn) = world(&server).await?;
    let year = last_year();
    let unit: Uuid = w.dir.unit_a.id.parse()?;
    let city = city_year(year, &w.dir.unit_a.id);
    write(&mut conn, template, petitioner, &city.histories, None)?;
    write_ratings(&mut conn, unit, &city.ratings)?;
    counted(&w.leader, &mut conn).await?;

    let m = w.leader.metrics();
    let by_county = m.year("360700", year, pb::MetricBreakdown::ChildRegion).await?;
    let t = total(&by_county);
    assert_eq!(nd(t, M::Filings), (298, 0, "298".into()));
    assert_eq!(nd(t, M::FilingsYearOnYear), (298, 418, "-28.71".into()));
    assert_eq!(nd(t, M::RepeatFilings), (82, 0, "82".into()));
    assert_eq!(nd(t, M::EscalatedFilings), (10, 0, "10".into()));
    assert_eq!(nd(t, M::RepeatRate), (82, 298, "27.52".into()));
    assert_eq!(nd(t, M::CompletionRate), (163, 171, "95.32".into()));
    assert_eq!(nd(t, M::OnTimeCompletionRate), (145, 145, "100.00".into()));
    assert_eq!(nd(t, M::CessationRate), (138, 145, "95.17".into()));
    assert_eq!(nd(t, M::SatisfactionRate), (129, 132, "97.73".into()));
    assert_eq!(nd(t, M::SatisfactionRateNotRatedSatisfied), (146, 149, "97.99".into()));
    assert_eq!(nd(t, M::ParticipationRate), (132, 149, "88.59".into()));
    assert_eq!(nd(t, M::TimelyAcceptanceRate), (168, 171, "98.25".into()));
    assert_eq!(nd(t, M::OneVisitRate), (145, 145, "100.00".into()));
    let backlog = figure(t, M::BacklogResolutionRate).context("backlog")?;
    assert!(!backlog.available && backlog.display.is_empty());
    let mediation = figure(t, M::MediationSettlementRate).context("mediation")?;
    assert!(mediation.available && mediation.denominator == 0);
    let completion = figure(t, M::CompletionRate).context("completion")?;
    assert_eq!((completion.formula_id.as_str(), completion.formula_version), ("completion_rate", 2));
    assert_eq!(by_county.start_date, format!("{year}-01-01"));
    assert_eq!(by_county.end_date, format!("{year}-12-31"));

    // Completion v1 (replies only) stays computable: the same here, as no
    // accepted case was withdrawn.
    let v1 = m
        .get_metrics(pb::GetMetricsRequest {
            formulas: vec![pb::FormulaChoice { metric: M::CompletionRate.into(), version: 1 }],
            ..request("360700", year, pb::MetricBreakdown::None)
        })
        .await?;
    let completion_v1 = figure(total(&v1), M::CompletionRate).context("completion v1")?;
    assert_eq!((completion_v1.numerator, completion_v1.denominator, completion_v1.formula_version), (163, 171, 1));
    assert!(v1.groups.is_empty());

    // Each case lies in one county: the counties add up to the city.
    assert_eq!(by_county.groups.iter().map(|g| g.key.as_str()).collect::<Vec<_>>(), ["360702", "360731"]);
    for metric in EXPORTED {
        let sum = |pick: fn(&pb::Figure) -> i64| -> i64 {
            by_county.groups.iter().map(|g| figure(g, metric).map(pick).unwrap_or(0)).sum()
        };
        let f = figure(t, metric).context("figure")?;
        assert_eq!((sum(|f| f.numerator), sum(|f| f.denominator)), (f.numerator, f.denominator), "{metric:?}");
    }
    // By month: the filings of the months add up, and months follow each
    // figure's own time (replies: January to July).
    let by_month = m.year("360700", year, pb::MetricBreakdown::Month).await?;
    let filed: i64 = by_month.groups.iter().filter_map(|g| figure(g, M::Filings)).map(|f| f.numerator).sum();
    assert_eq!(filed, 298);
    let replied: i64 =
        by_month.groups.iter().filter_map(|g| figure(g, M::OnTimeCompletionRate)).map(|f| f.denominator).sum();
    assert_eq!(replied, 145);
    assert!(by_month.groups.iter().all(|g| g.key.starts_with(&format!("{year}-"))));
    // By handling organization: unit A accepted every accepted case.
    let by_unit = m.year("360700", year, pb::MetricBreakdown::HandlingOrganization).await?;
    let unit_a = by_unit.groups.iter().find(|g| g.key == w.dir.unit_a.id).context("unit A's group")?;
    assert_eq!(nd(unit_a, M::CompletionRate).1, 171);

    // Today's dashboards sum the days counted as the log arrived; one as of
    // yesterday counts the cases' facts at that day's end. Nothing of last
    // year happened since, so every breakdown agrees.
    let today = petition_server::time::shanghai_today();
    if today.pred_opt().is_some_and(|d| chrono::Datelike::year(&d) > year) {
        for breakdown in [
            pb::MetricBreakdown::None,
            pb::MetricBreakdown::ChildRegion,
            pb::MetricBreakdown::Category,
            pb::MetricBreakdown::Channel,
            pb::MetricBreakdown::HandlingOrganization,
            pb::MetricBreakdown::Month,
        ] {
            let now = m.year("360700", year, breakdown).await?;
            let yesterday = m
                .get_metrics(pb::GetMetricsRequest {
                    as_of_date: today.pred_opt().map(|d| d.to_string()).unwrap_or_default(),
                    ..request("360700", year, breakdown)
                })
                .await?;
            assert_eq!((&now.total, &now.groups), (&yesterday.total, &yesterday.groups), "{breakdown:?}");
        }
    }

    // Export = figure, for every exported metric.
    for metric in EXPORTED {
        let f = figure(t, metric).context("figure")?;
        assert_eq!(exported(&w.leader, "360700", year, metric, "").await?, (f.numerator, f.denominator), "{metric:?}");
    }

    // A county's clerk sees county A's half; unit A's handler sees the
    // cases unit A accepted and its ratings.
    let county = w.clerk.metrics().year("", year, pb::MetricBreakdown::None).await?;
    assert_eq!(county.region_code, "360702");
    let county_a = by_county.groups.iter().find(|g| g.key == "360702").context("county A")?;
    for metric in EXPORTED {
        assert_eq!(figure(total(&county), metric), figure(county_a, metric), "{metric:?}");
    }
    let own = w.handler.metrics().year("360700", year, pb::MetricBreakdown::None).await?;
    assert_eq!(nd(total(&own), M::CompletionRate).1, 171);
    assert_eq!(nd(total(&own), M::SatisfactionRate), (129, 132, "97.73".into()));
    assert!(!figure(total(&own), M::MediationSettlementRate).context("mediation")?.available);
    let other = w.handler_b.metrics().year("360700", year, pb::MetricBreakdown::None).await?;
    assert_eq!(nd(total(&other), M::Filings).0, 0);
    assert_eq!(nd(total(&other), M::SatisfactionRate).1, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_as_of_a_past_day_does_not_change_when_later_events_arrive() -> Result<()> {
    let server = TestServer::spawn().await?;
    let (w, template, petitioner, mut conn) = world(&server).await?;
    let year = last_year();
    let unit: Uuid = w.dir.unit_a.id.parse()?;
    let city = city_year(year, &w.dir.unit_a.id);
    // The log as it stood at the end of 15 April: the events before, the
    // rating windows opened and the ratings given by then.
    let day = ymd(year, 4, 15);
    let cut = at(day + Duration::days(1), -12);
    write(&mut conn, template, petitioner, &city.histories, Some(cut))?;
    let then: Vec<Rating> = city
        .ratings
        .iter()
        .filter(|r| r.served <= day)
        .map(|r| Rating { rated: r.rated.filter(|(d, _)| *d <= day), ..r.clone() })
        .collect();
    write_ratings(&mut conn, unit, &then)?;
    counted(&w.leader, &mut conn).await?;
    let ask = |breakdown: pb::MetricBreakdown| pb::GetMetricsRequest {
        as_of_date: day.to_string(),
        ..request("360700", year, breakdown)
    };
    let m = w.leader.metrics();
    let shown = figures(m.get_metrics(ask(pb::MetricBreakdown::ChildRegion)).await?);
    let shown_months = figures(m.get_metrics(ask(pb::MetricBreakdown::Month)).await?);
    let shown_export = exported(&w.leader, "360700", year, M::CompletionRate, &day.to_string()).await?;
    // Sanity: the day's figures are partial.
    assert!(nd(total(&shown), M::Filings).0 < 298);
    assert!(nd(total(&shown), M::Filings).0 > 0);
    assert!(nd(total(&shown), M::SatisfactionRate).1 > 0);

    // Everything after it arrives.
    write(&mut conn, template, petitioner, &city.histories, None)?;
    write_ratings(&mut conn, unit, &city.ratings)?;
    counted(&w.leader, &mut conn).await?;
    assert_eq!(figures(m.get_metrics(ask(pb::MetricBreakdown::ChildRegion)).await?), shown);
    assert_eq!(figures(m.get_metrics(ask(pb::MetricBreakdown::Month)).await?), shown_months);
    assert_eq!(exported(&w.leader, "360700", year, M::CompletionRate, &day.to_string()).await?, shown_export);
    // While now the year is complete.
    let now = m.get_metrics(request("360700", year, pb::MetricBreakdown::None)).await?;
    assert_eq!(nd(total(&now), M::Filings).0, 298);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formulas_on_hand_made_histories() -> Result<()> {
    let server = TestServer::spawn().await?;
    let (w, template, petitioner, mut conn) = world(&server).await?;
    let year = last_year();
    let unit = w.dir.unit_a.id.clone();
    let d = |m, day| ymd(year, m, day);
    // Filed on 30 December of the year before, accepted and replied in the
    // year: accepted in the year (completion, timely acceptance), filed in
    // the year before (year-on-year).
    let crossing = History::filed(ymd(year - 1, 12, 30), TOWNSHIP_A)
        .routed(ymd(year - 1, 12, 31), &unit, d(1, 15))
        .accepted(d(1, 3), d(3, 4))
        .replied(d(2, 1));
    // A repeat of that case of last year, then a review of the reply.
    let repeat = History::filed(d(2, 20), TOWNSHIP_A).repeat_of(crossing.id, true);
    // Replied after the first deadline, before the extended one: on time.
    let extended = History::filed(d(3, 1), TOWNSHIP_A)
        .routed(d(3, 1), &unit, d(3, 16))
        .accepted(d(3, 2), d(3, 12))
        .extended(d(3, 10), d(4, 11))
        .replied(d(4, 1));
    // Replied a day late without an extension; reviewed, and the review's
    // reply is rated.
    let late = History::filed(d(3, 1), TOWNSHIP_A)
        .routed(d(3, 1), &unit, d(3, 16))
        .accepted(d(3, 20), d(5, 19))
        .replied(d(5, 20))
        .review_requested(d(6, 1))
        .review_replied(d(7, 1));
    // A filing linked as a repeat, unlinked later: a repeat until then.
    let unlinked = History::filed(d(8, 1), TOWNSHIP_A).repeat_of(late.id, false).unlinked(d(9, 1));
    // Accepted, then withdrawn: concluded for completion v2, open for v1.
    let withdrawn = History::filed(d(4, 1), TOWNSHIP_A)
        .routed(d(4, 1), &unit, d(4, 16))
        .accepted(d(4, 2), d(6, 1))
        .withdrawn(d(4, 10));
    let histories = [crossing.clone(), repeat, extended.clone(), late.clone(), unlinked, withdrawn];
    write(&mut conn, template, petitioner, &histories, None)?;
    let rating = |h: &History, round, served, rated| Rating {
        case_id: h.id,
        round,
        region_path: TOWNSHIP_A.into(),
        served,
        rate_by: served + Duration::days(10),
        rated,
    };
    write_ratings(
        &mut conn,
        w.dir.unit_a.id.parse()?,
        &[
            rating(&crossing, 1, d(2, 1), Some((d(2, 3), 1))),
            rating(&extended, 1, d(4, 1), None),
            rating(&late, 1, d(5, 20), Some((d(5, 22), 3))),
            rating(&late, 2, d(7, 1), Some((d(7, 2), 2))),
        ],
    )?;
    counted(&w.leader, &mut conn).await?;
    let m = w.clerk.metrics();
    let t = m.year("360702", year, pb::MetricBreakdown::None).await?;
    let t = total(&t);
    assert_eq!(nd(t, M::Filings).0, 5, "the crossing case was filed the year before");
    assert_eq!(nd(t, M::FilingsYearOnYear), (5, 1, "400.00".into()));
    assert_eq!(nd(t, M::RepeatFilings).0, 1, "the unlinked filing is no repeat now");
    assert_eq!(nd(t, M::EscalatedFilings).0, 1);
    assert_eq!(nd(t, M::RepeatRate), (1, 5, "20.00".into()));
    assert_eq!(nd(t, M::TimelyAcceptanceRate), (3, 4, "75.00".into()), "the late case was accepted after the limit");
    assert_eq!(nd(t, M::OnTimeCompletionRate), (2, 3, "66.67".into()), "the extension kept one on time");
    assert_eq!(nd(t, M::CompletionRate), (4, 4, "100.00".into()), "v2 counts the withdrawn case");
    // The crossing case was brought again 19 days after its reply; the late
    // one asked for review 12 days after.
    assert_eq!(nd(t, M::CessationRate), (1, 3, "33.33".into()));
    assert_eq!(nd(t, M::OneVisitRate), (3, 3, "100.00".into()));
    // Two rounds of the reviewed case count, one each.
    assert_eq!(nd(t, M::SatisfactionRate), (2, 3, "66.67".into()));
    assert_eq!(nd(t, M::ParticipationRate), (3, 4, "75.00".into()));
    assert_eq!(nd(t, M::SatisfactionRateNotRatedSatisfied), (3, 4, "75.00".into()));
    let v1 = m
        .get_metrics(pb::GetMetricsRequest {
            formulas: vec![pb::FormulaChoice { metric: M::CompletionRate.into(), version: 1 }],
            ..request("360702", year, pb::MetricBreakdown::None)
        })
        .await?;
    assert_eq!(nd(total(&v1), M::CompletionRate), (3, 4, "75.00".into()));
    // As of 15 August the unlinked filing was still a repeat.
    let august = m
        .get_metrics(pb::GetMetricsRequest {
            as_of_date: d(8, 15).to_string(),
            ..request("360702", year, pb::MetricBreakdown::None)
        })
        .await?;
    assert_eq!(nd(total(&august), M::RepeatFilings).0, 2);
    // The first quarter: the crossing case's acceptance is in January.
    let q1 = m
        .get_metrics(pb::GetMetricsRequest {
            period: Some(pb::MetricPeriod { period: Some(pb::metric_period::Period::Quarter(format!("{year}-Q1"))) }),
            ..request("360702", year, pb::MetricBreakdown::Month)
        })
        .await?;
    let january = q1.groups.iter().find(|g| g.key == format!("{year}-01")).context("January")?;
    assert_eq!(nd(january, M::TimelyAcceptanceRate), (1, 1, "100.00".into()));
    assert_eq!(nd(january, M::Filings).0, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_projection_equals_a_recomputation_from_the_event_log() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let replied = w.replied_case("已答复").await?;
    w.owner
        .cases()
        .request_review(pb::RequestReviewRequest {
            case_id: replied.id.clone(),
            reason: "不服答复".into(),
            ..Default::default()
        })
        .await?;
    w.routed_case("已转送").await?;
    w.accepted_case("已受理").await?;
    let mut conn = server.database.as_ref().context("own database")?.connect()?;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count =
        |conn: &mut PgConnection, sql: &str| -> Result<i64> { Ok(diesel::sql_query(sql).get_result::<N>(conn)?.n) };
    counted(&w.leader, &mut conn).await?;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM case_facts")?, 3);
    let drift = "SELECT count(*) AS n FROM ((SELECT * FROM case_facts EXCEPT SELECT * FROM case_facts_from_events)
                 UNION ALL (SELECT * FROM case_facts_from_events EXCEPT SELECT * FROM case_facts)) d";
    assert_eq!(count(&mut conn, drift)?, 0);
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM case_facts WHERE replied_on_time AND review_requested_at IS NOT NULL
             AND accepted_in_time AND first_time"
        )?,
        1
    );
    // Figures of this year, as the county's clerk sees them.
    let year = chrono::Datelike::year(&chrono::Utc::now());
    let t = w.clerk.metrics().year("", year, pb::MetricBreakdown::None).await?;
    let t = total(&t);
    assert_eq!(nd(t, M::Filings).0, 3);
    assert_eq!(nd(t, M::FirstTimeFilings).0, 1);
    assert_eq!(nd(t, M::TimelyAcceptanceRate), (2, 2, "100.00".into()));
    assert_eq!(nd(t, M::OnTimeCompletionRate), (1, 1, "100.00".into()));
    assert_eq!(nd(t, M::CompletionRate), (1, 2, "50.00".into()));

    // The days counted write by write equal the days counted anew from the
    // whole log (a server with other definitions counts anew; so does this
    // one once its record of what it counted with is gone).
    #[derive(QueryableByName)]
    struct Days {
        #[diesel(sql_type = diesel::sql_types::Text)]
        days: String,
    }
    let days = |conn: &mut PgConnection| -> Result<String> {
        Ok(diesel::sql_query(
            "SELECT COALESCE(string_agg(d::text, E'\\n' ORDER BY d::text), '') AS days FROM metric_days d
             WHERE filed + accepted + replied + rating_windows + filed_repeat + accepted_replied + rated > 0",
        )
        .get_result::<Days>(conn)?
        .days)
    };
    let followed = days(&mut conn)?;
    assert!(followed.lines().count() >= 4, "{followed}");
    diesel::sql_query("UPDATE metrics_state SET layout = ''").execute(&mut conn)?;
    counted(&w.leader, &mut conn).await?;
    assert_eq!(days(&mut conn)?, followed);
    let again = w.clerk.metrics().year("", year, pb::MetricBreakdown::None).await?;
    assert_eq!(total(&again), t);
    Ok(())
}

/// Every caller against both RPCs: allowed, PERMISSION_DENIED (the role,
/// or OUTSIDE_JURISDICTION for a region beyond theirs), UNAUTHENTICATED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_authorization_matrix() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    w.accepted_case("受理").await?;
    let year = chrono::Datelike::year(&chrono::Utc::now());
    let get = |c: &Client, region: &str| {
        let c = c.clone();
        let r = request(region, year, pb::MetricBreakdown::None);
        async move { c.metrics().get_metrics(r).await }
    };
    let export = |c: &Client, region: &str| {
        let c = c.clone();
        let r = pb::ExportMetricRowsRequest {
            region_code: region.into(),
            period: year_period(year),
            metric: M::Filings.into(),
            ..Default::default()
        };
        async move { c.metrics().export_csv(r).await }
    };
    // Allowed.
    for (who, region) in [
        (&w.admin, "360700"),
        (&w.leader, "360700"),
        (&w.supervisor, "360700"),
        (&w.leader, "360731"),
        (&w.clerk, "360702"),
        (&w.clerk, "360702001"),
        (&w.clerk, ""),
        (&w.handler, ""),
        (&w.unit_lead, "360700"),
    ] {
        get(who, region).await.with_context(|| format!("GetMetrics {region}"))?;
        export(who, region).await.with_context(|| format!("ExportMetricRows {region}"))?;
    }
    // A county sees its subtree only.
    for (who, region) in [(&w.clerk, "360731"), (&w.clerk, "360700"), (&w.clerk_b, "360702")] {
        expect_error(get(who, region).await, Code::PermissionDenied, Some("OUTSIDE_JURISDICTION"));
        expect_error(export(who, region).await, Code::PermissionDenied, Some("OUTSIDE_JURISDICTION"));
    }
    // Citizens and partners read no metrics.
    for who in [&w.owner, &w.other_citizen, &w.partner] {
        expect_error(get(who, "360702").await, Code::PermissionDenied, Some("PERMISSION_DENIED"));
        expect_error(export(who, "360702").await, Code::PermissionDenied, Some("PERMISSION_DENIED"));
    }
    let anonymous = w.admin.new_session();
    expect_error(get(&anonymous, "360702").await, Code::Unauthenticated, None);
    expect_error(export(&anonymous, "360702").await, Code::Unauthenticated, None);
    // A unit reads its own organization's figures: unit A accepted the
    // case, county B's unit did not.
    let mut conn = server.database.as_ref().context("own database")?.connect()?;
    counted(&w.leader, &mut conn).await?;
    let own = get(&w.handler, "360700").await?;
    assert_eq!(nd(total(&own), M::Filings).0, 1);
    let other = get(&w.handler_b, "360700").await?;
    assert_eq!(nd(total(&other), M::Filings).0, 0);
    assert_eq!(export(&w.handler_b, "360700").await?.lines().count(), 1, "the header alone");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_name_their_fields() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let m = admin.metrics();
    let with = |period: pb::metric_period::Period| pb::GetMetricsRequest {
        region_code: "360700".into(),
        period: Some(pb::MetricPeriod { period: Some(period) }),
        ..Default::default()
    };
    use pb::metric_period::Period as P;
    let range = |s: &str, e: &str| P::Range(pb::MetricDateRange { start_date: s.into(), end_date: e.into() });
    expect_invalid(m.get_metrics(with(range("2026-03-02", "2026-03-01"))).await, &["period.range.end_date"]);
    expect_invalid(
        m.get_metrics(with(range("2026-3-02", ""))).await,
        &["period.range.start_date", "period.range.end_date"],
    );
    expect_invalid(m.get_metrics(with(P::Month("2026-13".into()))).await, &["period.month"]);
    expect_invalid(m.get_metrics(with(P::Quarter("2026-Q5".into()))).await, &["period.quarter"]);
    expect_invalid(m.get_metrics(with(P::Year(1900))).await, &["period.year"]);
    expect_invalid(
        m.get_metrics(pb::GetMetricsRequest { region_code: "360700".into(), ..Default::default() }).await,
        &["period"],
    );
    expect_invalid(
        m.get_metrics(pb::GetMetricsRequest { period: year_period(2026), ..Default::default() }).await,
        &["region_code"],
    );
    expect_invalid(m.get_metrics(pb::GetMetricsRequest { breakdown: 99, ..with(P::Year(2026)) }).await, &["breakdown"]);
    expect_invalid(
        m.get_metrics(pb::GetMetricsRequest { as_of_date: "2999-01-01".into(), ..with(P::Year(2026)) }).await,
        &["as_of_date"],
    );
    expect_invalid(
        m.get_metrics(pb::GetMetricsRequest {
            formulas: vec![
                pb::FormulaChoice { metric: M::CompletionRate.into(), version: 9 },
                pb::FormulaChoice { metric: 77, version: 1 },
                pb::FormulaChoice { metric: M::Filings.into(), version: 1 },
                pb::FormulaChoice { metric: M::Filings.into(), version: 1 },
            ],
            ..with(P::Year(2026))
        })
        .await,
        &["formulas[0].version", "formulas[1].metric", "formulas[3].metric"],
    );
    expect_invalid(
        m.get_metrics(pb::GetMetricsRequest { region_code: "999999".into(), ..with(P::Year(2026)) }).await,
        &["region_code"],
    );
    let export = |metric: i32, version: i32| pb::ExportMetricRowsRequest {
        region_code: "360700".into(),
        period: year_period(2026),
        metric,
        formula_version: version,
        ..Default::default()
    };
    expect_invalid(m.export_csv(export(0, 0)).await, &["metric"]);
    expect_invalid(m.export_csv(export(M::BacklogResolutionRate.into(), 0)).await, &["metric"]);
    expect_invalid(m.export_csv(export(M::CompletionRate.into(), 3)).await, &["formula_version"]);
    expect_invalid(m.export_csv(pb::ExportMetricRowsRequest { period: None, ..export(1, 0) }).await, &["period"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_example_reads_the_demo_dashboard_and_its_export() -> Result<()> {
    let server = TestServer::spawn().await?;
    petition_server::seed::run(&server.state).await?;
    let leader = server.client().await?.new_session();
    leader.login("city.leader", petition_server::seed::DEMO_PASSWORD).await?;
    let mut conn = server.database.as_ref().context("own database")?.connect()?;
    counted(&leader, &mut conn).await?;
    let stdout = crate::support::run_example("metrics", &server.url).await?;
    // The demo's cases were filed this year (Beijing): the city's filings
    // are theirs, and the export lists the accepted ones.
    let year = chrono::Datelike::year(&petition_server::time::shanghai_today());
    let dashboard = leader.metrics().year("360700", year, pb::MetricBreakdown::None).await?;
    let filings = nd(total(&dashboard), M::Filings).0;
    assert!(filings > 0, "{dashboard:?}");
    let shown =
        stdout.lines().find_map(|l| l.trim().strip_prefix("FILINGS ")).and_then(|l| l.split_whitespace().next());
    assert_eq!(shown, Some(filings.to_string().as_str()), "{stdout}");
    assert!(stdout.contains("county 360702"), "{stdout}");
    assert!(stdout.contains("case_number,metric,in_numerator,in_denominator,fact"), "{stdout}");
    assert!(stdout.contains("completion_rate,"), "{stdout}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legal_aid_figures_count_the_centres_applications_and_first_decisions() -> Result<()> {
    use petition_tests::legal_aid_world::{LegalAidWorld, Stage};
    let server = TestServer::spawn().await?;
    let la = LegalAidWorld::create(&server).await?;
    for (stage, tag) in [
        (Stage::Granted, "准予"),
        (Stage::GrantedFirst, "先行"),
        (Stage::Refused, "不予"),
        (Stage::UnderReview, "审查中"),
    ] {
        la.application_in(stage, tag).await?;
    }
    let year = chrono::Datelike::year(&petition_server::time::shanghai_today());
    let m = la.cw.leader.metrics();
    let city = m.year("360700", year, pb::MetricBreakdown::None).await?;
    let t = total(&city);
    assert_eq!(nd(t, M::LegalAidApplications).0, 4);
    assert_eq!(nd(t, M::LegalAidGrantRate), (2, 3, "66.67".into()), "granted, granted first / and refused");
    assert_eq!(nd(t, M::LegalAidTimelyDecisionRate), (3, 3, "100.00".into()));
    // The city's centre: its own region's group.
    let by_region = m.year("360700", year, pb::MetricBreakdown::ChildRegion).await?;
    let own = by_region.groups.iter().find(|g| g.key == "360700").context("the city's own group")?;
    assert_eq!(nd(own, M::LegalAidApplications).0, 4);
    // A breakdown applications do not have: totals only.
    let by_category = m.year("360700", year, pb::MetricBreakdown::Category).await?;
    assert_eq!(nd(total(&by_category), M::LegalAidGrantRate), (2, 3, "66.67".into()));
    assert!(by_category.groups.iter().all(|g| !figure(g, M::LegalAidGrantRate).is_some_and(|f| f.available)));
    // County B's centre received none; a unit's figures have none.
    let county_b = m.year("360731", year, pb::MetricBreakdown::None).await?;
    assert_eq!(nd(total(&county_b), M::LegalAidApplications).0, 0);
    let unit = la.cw.handler.metrics().year("", year, pb::MetricBreakdown::None).await?;
    assert!(!figure(total(&unit), M::LegalAidApplications).context("figure")?.available);
    // Their rows are applications, not cases: no export.
    let export = la
        .cw
        .leader
        .metrics()
        .export_csv(pb::ExportMetricRowsRequest {
            region_code: "360700".into(),
            period: year_period(year),
            metric: M::LegalAidGrantRate.into(),
            ..Default::default()
        })
        .await;
    expect_invalid(export, &["metric"]);
    Ok(())
}
