//! [`MetricsClient`]: typed calls to `petition.v1.MetricsService`.

use futures::StreamExt;
use futures::stream::BoxStream;
use petition_proto::v1::metrics_service_client::MetricsServiceClient;

use crate::client::{Client, rpc};
use crate::error::{Error, Result};
use crate::pb;

/// The calls of `MetricsService`: the city's figures for a region subtree
/// and a period (每项指标: numerator, denominator, formula and version),
/// "as of" any past day, and the rows behind each figure as CSV. Get one
/// from [`Client::metrics`].
///
/// Bureau clerks, leaders and supervisors read their jurisdiction's
/// subtree (`PERMISSION_DENIED` `OUTSIDE_JURISDICTION` beyond it); handlers
/// and unit leads their own organization's figures; admins everything.
#[derive(Clone, Debug)]
pub struct MetricsClient {
    client: Client,
}

impl MetricsClient {
    pub(crate) fn new(client: Client) -> Self {
        MetricsClient { client }
    }

    /// The dashboard as asked.
    pub async fn get_metrics(&self, request: pb::GetMetricsRequest) -> Result<pb::GetMetricsResponse> {
        self.client.call(request, rpc!(MetricsServiceClient::get_metrics)).await
    }

    /// The year's dashboard of the subtree at `region_code` (empty: the
    /// caller's jurisdiction), now, grouped by `breakdown`.
    pub async fn year(
        &self,
        region_code: impl Into<String>,
        year: i32,
        breakdown: pb::MetricBreakdown,
    ) -> Result<pb::GetMetricsResponse> {
        self.get_metrics(pb::GetMetricsRequest {
            region_code: region_code.into(),
            period: Some(pb::MetricPeriod { period: Some(pb::metric_period::Period::Year(year)) }),
            breakdown: breakdown.into(),
            ..Default::default()
        })
        .await
    }

    /// The export's CSV chunks as the server streams them.
    pub async fn export_metric_rows(
        &self,
        request: pb::ExportMetricRowsRequest,
    ) -> Result<BoxStream<'static, Result<Vec<u8>>>> {
        let stream = self.client.call(request, rpc!(MetricsServiceClient::export_metric_rows)).await?;
        Ok(stream.map(|chunk| chunk.map(|c| c.csv).map_err(Error::from)).boxed())
    }

    /// The whole export as one CSV text.
    pub async fn export_csv(&self, request: pb::ExportMetricRowsRequest) -> Result<String> {
        let mut stream = self.export_metric_rows(request).await?;
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            bytes.extend(chunk?);
        }
        String::from_utf8(bytes).map_err(|e| Error::from(tonic::Status::internal(format!("export is not UTF-8: {e}"))))
    }
}

/// The figure of `metric` in `group`, if present.
pub fn figure(group: &pb::MetricGroup, metric: pb::MetricId) -> Option<&pb::Figure> {
    group.figures.iter().find(|f| f.metric == metric as i32)
}
