use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::metrics::Metrics;

/// The largest request body any route accepts. An order form with a hundred lines is ~10 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const STYLESHEET: &str = include_str!("../assets/style.css");
/// 16x16 pixels: browsers ask every site for it, and log a 404 without it.
const FAVICON: &[u8] = include_bytes!("../assets/favicon.ico");

/// Binds `address:port`; port 0 picks a free port (tests, extra instances).
pub async fn bind(address: IpAddr, port: u16) -> anyhow::Result<TcpListener> {
    let address = SocketAddr::new(address, port);
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))
}

/// The URL a listener answers at, as logs should say it: the address it is bound to
/// (`http://127.0.0.1:8081/`, `http://[::1]:8081/`), not a `localhost` that may resolve to
/// another one.
pub fn listening_url(listener: &TcpListener) -> String {
    match listener.local_addr() {
        Ok(address) => format!("http://{address}/"),
        Err(_) => "an unknown address".to_owned(),
    }
}

/// `GET /style.css`, the stylesheet every page links relatively, and `GET /favicon.ico`.
pub fn stylesheet_router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/style.css",
            get(|| async {
                (
                    StatusCode::OK,
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "max-age=3600"),
                    ],
                    STYLESHEET,
                )
            }),
        )
        .route(
            "/favicon.ico",
            get(|| async {
                (
                    StatusCode::OK,
                    [
                        (header::CONTENT_TYPE, "image/x-icon"),
                        (header::CACHE_CONTROL, "max-age=86400"),
                    ],
                    FAVICON,
                )
            }),
        )
}

/// The span of one request: a child of the caller's span when the request carries a
/// `traceparent` (the front door's, a browser's instrumentation), a new trace otherwise. The
/// probes and scrapes that arrive every second (`/health`, `/metrics`) and the static assets
/// are not traced: they would bury the orders' traces.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    if matches!(
        request.uri().path(),
        "/health" | "/metrics" | "/style.css" | "/favicon.ico"
    ) {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        uri = %request.uri(),
        trace_id = tracing::field::Empty,
    );
    let traceparent = request
        .headers()
        .get(orderflow_telemetry::TRACEPARENT)
        .and_then(|value| value.to_str().ok());
    orderflow_telemetry::continue_trace(&span, traceparent);
    span
}

/// Serves `router` on `listener` until `shutdown` completes, then lets running requests finish.
/// Every request is counted in `metrics`, which `GET /metrics` serves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router
        .merge(
            Router::new()
                .route("/metrics", get(crate::metrics::metrics))
                .with_state(Arc::clone(&metrics)),
        )
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::track_requests,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("HTTP server failed")
}
