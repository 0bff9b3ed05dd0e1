//! Forwards one request to an instance of a service, with the prefix stripped.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use orderflow_web::AppError;

use orderflow_directory::Service;

use crate::{FrontDoorState, Upstream};

/// Headers that belong to one connection and must not be forwarded (RFC 9110, section 7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The instances of each service, picked round-robin.
#[derive(Debug)]
pub(crate) struct Upstreams {
    by_service: HashMap<&'static Service, (Vec<String>, AtomicUsize)>,
}

impl Upstreams {
    pub(crate) fn new(upstreams: &[Upstream]) -> Self {
        let mut by_service: HashMap<&'static Service, (Vec<String>, AtomicUsize)> = HashMap::new();
        for upstream in upstreams {
            by_service
                .entry(upstream.service)
                .or_insert_with(|| (Vec::new(), AtomicUsize::new(0)))
                .0
                .push(upstream.url.clone());
        }
        Upstreams { by_service }
    }

    fn pick(&self, service: &'static Service) -> Option<&str> {
        let (urls, next) = self.by_service.get(service)?;
        if urls.is_empty() {
            return None;
        }
        Some(&urls[next.fetch_add(1, Ordering::Relaxed) % urls.len()])
    }
}

pub(crate) async fn forward(
    State(state): State<Arc<FrontDoorState>>,
    service: &'static Service,
    request: Request,
) -> Response {
    let Some(upstream) = state.upstreams.pick(service) else {
        return AppError::NotFound(format!("No {} instance is configured.", service.name))
            .into_response();
    };
    match forward_to(&state, service, upstream, request).await {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(service = service.name, %upstream, error = format!("{error:#}"), "Upstream not reachable.");
            AppError::BadGateway(format!(
                "The {name} service at {upstream} is not reachable right now. Is it running? \
                 Start it with `orderflow {name}` (or `orderflow up --with {name}`).",
                name = service.name
            ))
            .into_response()
        }
    }
}

async fn forward_to(
    state: &FrontDoorState,
    service: &'static Service,
    upstream: &str,
    request: Request,
) -> anyhow::Result<Response> {
    let (parts, body) = request.into_parts();
    let prefix = service.prefix();
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let rest = path_and_query
        .strip_prefix(prefix.as_str())
        .unwrap_or(path_and_query);
    let url = format!("{upstream}{rest}");

    let mut headers = without_hop_by_hop(&parts.headers);
    headers.remove(header::HOST);
    // Only the front door says how the client reached it; what a client claims is dropped.
    for forwarded in [
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-prefix",
        "x-forwarded-for",
        "forwarded",
    ] {
        headers.remove(forwarded);
    }
    let host = parts.headers.get(header::HOST).cloned();
    if let Some(host) = host {
        headers.insert(HeaderName::from_static("x-forwarded-host"), host);
    }
    headers.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static("http"),
    );
    headers.insert(
        HeaderName::from_static("x-forwarded-prefix"),
        HeaderValue::from_str(&prefix)?,
    );
    // The service's request span continues the front door's: one trace from the browser on.
    if let Some(traceparent) = orderflow_telemetry::traceparent(&tracing::Span::current()) {
        headers.insert(
            HeaderName::from_static(orderflow_telemetry::TRACEPARENT),
            HeaderValue::from_str(&traceparent)?,
        );
    }

    let body = reqwest::Body::wrap_stream(body.into_data_stream());
    let upstream_response = state
        .client
        .request(parts.method, &url)
        .headers(headers)
        .body(body)
        .send()
        .await?;

    let status = upstream_response.status();
    let mut response_headers = without_hop_by_hop(upstream_response.headers());
    if let Some(location) = response_headers
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
    {
        // An absolute redirect to the upstream itself would leave the front door.
        if let Some(path) = location.strip_prefix(upstream) {
            let rewritten = format!("{prefix}{path}");
            response_headers.insert(header::LOCATION, HeaderValue::from_str(&rewritten)?);
        }
    }
    let stream = upstream_response
        .bytes_stream()
        .map_err(std::io::Error::other);
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    *response.headers_mut() = response_headers;
    Ok(response)
}

/// The headers minus hop-by-hop ones: the fixed list and those the `Connection` header names.
fn without_hop_by_hop(headers: &HeaderMap) -> HeaderMap {
    let mut kept = headers.clone();
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    for name in HOP_BY_HOP
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        kept.remove(name);
    }
    kept
}
