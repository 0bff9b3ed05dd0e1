//! Prometheus metrics for every service, in the OpenMetrics text format at `GET /metrics`: the
//! HTTP requests it answered (by route, method and status, with their latency), plus what the
//! service itself registers at start-up, and figures that need a query, refreshed just before
//! each scrape. prometheus-client (the Prometheus project's own Rust client) rather than a
//! global recorder: tests run several services in one process, and each keeps its own registry.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use tokio::time::Instant;

/// The content type of the OpenMetrics text format, which Prometheus reads.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets, in seconds: 0.5 ms doubling to about 16 s.
pub fn latency_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.0005, 2.0, 16)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

type Refresh = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// A service's metrics while it starts: register what it measures, then [`build`](Self::build).
pub struct MetricsBuilder {
    registry: Registry,
    refreshers: Vec<Refresh>,
}

impl std::fmt::Debug for MetricsBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsBuilder").finish_non_exhaustive()
    }
}

impl MetricsBuilder {
    /// The metrics of `service`: every series carries `service="<name>"`.
    pub fn new(service: &str) -> Self {
        let labels = std::iter::once((Cow::Borrowed("service"), Cow::Owned(service.to_owned())));
        MetricsBuilder {
            registry: Registry::with_labels(labels),
            refreshers: Vec::new(),
        }
    }

    /// Where the service registers its own metrics.
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Runs `refresh` before every scrape: for gauges that come from a query (the outbox).
    pub fn refresh_before_scrape<F, Fut>(&mut self, refresh: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.refreshers.push(Box::new(move || Box::pin(refresh())));
    }

    pub fn build(mut self) -> Arc<Metrics> {
        let requests = Family::<RequestLabels, Counter>::default();
        self.registry.register(
            "http_requests",
            "HTTP requests answered, by route, method and status",
            requests.clone(),
        );
        let latency: LatencyFamily =
            Family::new_with_constructor(|| Histogram::new(latency_buckets()));
        self.registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by route and method",
            Unit::Seconds,
            latency.clone(),
        );
        Arc::new(Metrics {
            registry: self.registry,
            refreshers: self.refreshers,
            requests,
            latency,
        })
    }
}

/// A service's metrics, built: counted by [`track_requests`], served by [`metrics`].
pub struct Metrics {
    registry: Registry,
    refreshers: Vec<Refresh>,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Everything, in the OpenMetrics text format, after the refreshers ran.
    pub async fn render(&self) -> String {
        for refresh in &self.refreshers {
            refresh().await;
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String does not fail");
        text
    }
}

/// Middleware (added with `Router::layer`, where the matched route is known): counts every
/// request by its route template (`/{id}`, never the id itself, so the series stay few).
pub async fn track_requests(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics
        .latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// `GET /metrics`.
pub async fn metrics(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [(header::CONTENT_TYPE, OPENMETRICS)],
        metrics.render().await,
    )
        .into_response()
}
