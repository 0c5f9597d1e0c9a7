//! The city's dashboard and the rows behind one of its figures:
//!
//! 1. the city bureau's leader (`city.leader`) asks for this year's figures
//!    of 赣州市, by county: every figure with its numerator, denominator,
//!    formula and version;
//! 2. the same figures as they stood at the end of last month (`as_of`):
//!    what the dashboard showed that day;
//! 3. the cases behind the completion rate (办结率), as CSV.
//!
//! ```sh
//! cargo run -p petition-server -- seed-demo
//! cargo run -p petition-sdk --example metrics -- http://127.0.0.1:50051
//! ```

use chrono::Datelike;
use petition_sdk::{Client, pb};

const PASSWORD: &str = "demo-password";

fn print(title: &str, group: &pb::MetricGroup) {
    println!("{title}");
    for f in &group.figures {
        let name = pb::MetricId::try_from(f.metric).map(|m| m.as_str_name()).unwrap_or("?");
        let name = name.trim_start_matches("METRIC_ID_");
        if f.available {
            println!(
                "  {name:<40} {:>10}  ({} / {}, {} v{})",
                f.display, f.numerator, f.denominator, f.formula_id, f.formula_version
            );
        } else {
            println!("  {name:<40} {:>10}", "n/a");
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "http://127.0.0.1:50051".to_owned());
    let leader = Client::connect(&url).await?;
    leader.login("city.leader", PASSWORD).await?;
    let metrics = leader.metrics();
    let today = chrono::Utc::now().date_naive();

    // 1. This year, by county.
    let dashboard = metrics.year("360700", today.year(), pb::MetricBreakdown::ChildRegion).await?;
    println!(
        "{} {}..{} as of {}",
        dashboard.region_code, dashboard.start_date, dashboard.end_date, dashboard.as_of_date
    );
    if let Some(total) = &dashboard.total {
        print("city", total);
    }
    for group in &dashboard.groups {
        print(&format!("county {}", group.key), group);
    }

    // 2. As it stood at the end of last month.
    let last_month_end = today.with_day(1).and_then(|d| d.pred_opt()).unwrap_or(today);
    let then = metrics
        .get_metrics(pb::GetMetricsRequest {
            region_code: "360700".into(),
            period: Some(pb::MetricPeriod { period: Some(pb::metric_period::Period::Year(today.year())) }),
            as_of_date: last_month_end.to_string(),
            ..Default::default()
        })
        .await?;
    if let Some(total) = &then.total {
        print(&format!("city as of {}", then.as_of_date), total);
    }

    // 3. The cases behind the completion rate.
    let csv = metrics
        .export_csv(pb::ExportMetricRowsRequest {
            region_code: "360700".into(),
            period: Some(pb::MetricPeriod { period: Some(pb::metric_period::Period::Year(today.year())) }),
            metric: pb::MetricId::CompletionRate.into(),
            ..Default::default()
        })
        .await?;
    print!("{csv}");
    Ok(())
}
