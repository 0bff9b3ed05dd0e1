use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::future::join_all;
use orderflow_web::HtmlPage;
use serde_json::json;

use crate::{FrontDoorState, Upstream};

/// How long the home page waits for an instance's `/health`: a service that is not running
/// must not make the page hang.
const HOME_PROBE_TIMEOUT: Duration = Duration::from_millis(800);

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct HomePage {
    services: Vec<ServiceLink>,
    instances: Vec<InstanceLink>,
}

struct ServiceLink {
    name: &'static str,
    href: String,
    description: &'static str,
    running: bool,
}

struct InstanceLink {
    label: String,
    url: String,
    running: bool,
}

/// What one instance's `/health` said.
pub(crate) struct Probe {
    pub(crate) upstream: Upstream,
    pub(crate) up: bool,
    pub(crate) detail: serde_json::Value,
}

pub(crate) async fn probe_all(state: &FrontDoorState, timeout: Duration) -> Vec<Probe> {
    let instances = state.instances();
    let checks = instances.into_iter().map(|upstream| async move {
        let answer = state
            .client
            .get(format!("{}/health", upstream.url))
            .timeout(timeout)
            .send()
            .await;
        let up = answer.as_ref().is_ok_and(|r| r.status().is_success());
        let detail = match answer {
            Ok(response) => response
                .json::<serde_json::Value>()
                .await
                .unwrap_or_default(),
            Err(error) => json!({ "down": error.to_string() }),
        };
        Probe {
            upstream,
            up,
            detail,
        }
    });
    join_all(checks).await
}

/// The services behind the front door, each marked running or not (a service that joins later
/// shows up here once it answers), and every instance.
pub(crate) async fn home_page(State(state): State<Arc<FrontDoorState>>) -> HtmlPage<HomePage> {
    let probes = probe_all(&state, HOME_PROBE_TIMEOUT).await;
    let services = orderflow_directory::ALL
        .iter()
        .filter(|service| probes.iter().any(|p| p.upstream.service == **service))
        .map(|service| ServiceLink {
            name: service.name,
            href: format!("{}/", service.name),
            description: service.summary,
            running: probes
                .iter()
                .any(|p| p.upstream.service == *service && p.up),
        })
        .collect();
    let instances = probes
        .iter()
        .map(|probe| InstanceLink {
            label: probe.upstream.label.clone(),
            url: format!("{}/", probe.upstream.url),
            running: probe.up,
        })
        .collect();
    HtmlPage::ok(HomePage {
        services,
        instances,
    })
}

/// Every instance's own `/health`, gathered: 200 when all required ones are up.
pub(crate) async fn health(State(state): State<Arc<FrontDoorState>>) -> Response {
    let probes = probe_all(&state, Duration::from_secs(5)).await;
    let all_up = probes.iter().all(|p| p.up || !p.upstream.required);
    let body: serde_json::Map<String, serde_json::Value> = probes
        .into_iter()
        .map(|probe| (probe.upstream.label.clone(), probe.detail))
        .collect();
    let code = if all_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(json!({ "status": if all_up { "up" } else { "down" }, "instances": body })),
    )
        .into_response()
}
