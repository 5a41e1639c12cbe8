//! KEDA's `ExternalScaler` service over the shared snapshot: every answer is a lookup.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::proto::external_scaler_server::ExternalScaler;
use super::proto::{
    GetMetricSpecResponse, GetMetricsRequest, GetMetricsResponse, IsActiveResponse, MetricSpec,
    MetricValue, ScaledObjectRef,
};
use super::state::{Lookup, Shared};

/// The metric every ScaledObject of a service scales on: `holoscale-<service>`.
pub fn metric_name(service: &str) -> String {
    format!("holoscale-{service}")
}

/// The gRPC service.
#[derive(Debug, Clone)]
pub struct Keda {
    shared: Arc<Shared>,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Keda {
    /// The service over `shared`; streams end when `shutdown` turns true.
    pub fn new(shared: Arc<Shared>, shutdown: tokio::sync::watch::Receiver<bool>) -> Keda {
        Keda { shared, shutdown }
    }

    /// The service and scaler a ScaledObject names in its metadata (`service`, optional
    /// `scaler`), checked against what is served.
    fn select(
        &self,
        method: &'static str,
        r: &ScaledObjectRef,
    ) -> Result<(Option<String>, String), Status> {
        let Some(service) = r.scaler_metadata.get("service").filter(|s| !s.is_empty()) else {
            self.shared.metrics.count(method, "invalid_argument");
            return Err(Status::invalid_argument(format!(
                "ScaledObject {}/{}: its trigger metadata needs `service` (one of {})",
                r.namespace,
                r.name,
                self.shared.cfg.services().join(", ")
            )));
        };
        let scaler = r
            .scaler_metadata
            .get("scaler")
            .filter(|s| !s.is_empty())
            .cloned();
        match self.shared.decision(scaler.as_deref(), service) {
            Lookup::UnknownService => {
                self.shared.metrics.count(method, "not_found");
                Err(Status::not_found(format!(
                    "service `{service}` is not served (served: {})",
                    self.shared.cfg.services().join(", ")
                )))
            }
            Lookup::UnknownScaler(s) => {
                self.shared.metrics.count(method, "not_found");
                Err(Status::not_found(format!(
                    "scaler `{s}` is not served (served: {})",
                    self.shared.scaler_labels().join(", ")
                )))
            }
            _ => Ok((scaler, service.clone())),
        }
    }
}

type ActiveStream = Pin<Box<dyn Stream<Item = Result<IsActiveResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ExternalScaler for Keda {
    async fn is_active(
        &self,
        request: Request<ScaledObjectRef>,
    ) -> Result<Response<IsActiveResponse>, Status> {
        self.select("IsActive", request.get_ref())?;
        self.shared.metrics.count("IsActive", "ok");
        // holoscale never scales a service to zero: a served service is always active.
        Ok(Response::new(IsActiveResponse { result: true }))
    }

    type StreamIsActiveStream = ActiveStream;

    async fn stream_is_active(
        &self,
        request: Request<ScaledObjectRef>,
    ) -> Result<Response<Self::StreamIsActiveStream>, Status> {
        self.select("StreamIsActive", request.get_ref())?;
        self.shared.metrics.count("StreamIsActive", "ok");
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let period = Duration::from_millis(self.shared.cfg.interval_ms().max(1) as u64);
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if tx.send(Ok(IsActiveResponse { result: true })).await.is_err() {
                            return; // the client went away
                        }
                    }
                    _ = shutdown.changed() => return,
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn get_metric_spec(
        &self,
        request: Request<ScaledObjectRef>,
    ) -> Result<Response<GetMetricSpecResponse>, Status> {
        let (_, service) = self.select("GetMetricSpec", request.get_ref())?;
        self.shared.metrics.count("GetMetricSpec", "ok");
        // A target of 1 per replica: the HPA sets replicas = metric value / 1.
        Ok(Response::new(GetMetricSpecResponse {
            metric_specs: vec![MetricSpec {
                metric_name: metric_name(&service),
                target_size: 1,
                target_size_float: 1.0,
            }],
        }))
    }

    async fn get_metrics(
        &self,
        request: Request<GetMetricsRequest>,
    ) -> Result<Response<GetMetricsResponse>, Status> {
        let req = request.into_inner();
        let r = req.scaled_object_ref.unwrap_or_default();
        let (scaler, service) = self.select("GetMetrics", &r)?;
        match self.shared.decision(scaler.as_deref(), &service) {
            Lookup::Found(rec, _) => {
                self.shared.metrics.count("GetMetrics", "ok");
                let name = if req.metric_name.is_empty() {
                    metric_name(&service)
                } else {
                    req.metric_name
                };
                Ok(Response::new(GetMetricsResponse {
                    metric_values: vec![MetricValue {
                        metric_name: name,
                        metric_value: i64::from(rec.replicas),
                        metric_value_float: f64::from(rec.replicas),
                    }],
                }))
            }
            _ => {
                self.shared.metrics.count("GetMetrics", "unavailable");
                Err(Status::unavailable(format!(
                    "no decision for `{service}` yet: waiting for the first telemetry"
                )))
            }
        }
    }
}
