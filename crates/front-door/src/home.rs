use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::future::join_all;
use orderflow_web::HtmlPage;
use serde_json::json;

use crate::{FrontDoorState, Service};

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
}

struct InstanceLink {
    label: String,
    url: String,
}

pub(crate) async fn home_page(State(state): State<Arc<FrontDoorState>>) -> HtmlPage<HomePage> {
    let services = Service::ALL
        .iter()
        .map(|service| ServiceLink {
            name: service.name(),
            href: format!("{}/", service.name()),
            description: match service {
                Service::Order => "Place orders and see all of them.",
                Service::Shipping => "Shipments, made from every new order.",
                Service::Invoicing => "Invoices, made from every new order.",
            },
        })
        .collect();
    let instances = state
        .settings
        .upstreams
        .iter()
        .map(|upstream| InstanceLink {
            label: upstream.label.clone(),
            url: format!("{}/", upstream.url),
        })
        .collect();
    HtmlPage::ok(HomePage {
        services,
        instances,
    })
}

/// Every instance's own `/health`, gathered: 200 when all are up.
pub(crate) async fn health(State(state): State<Arc<FrontDoorState>>) -> Response {
    let checks = state.settings.upstreams.iter().map(|upstream| {
        let client = state.client.clone();
        async move {
            let answer = client.get(format!("{}/health", upstream.url)).send().await;
            let up = answer.as_ref().is_ok_and(|r| r.status().is_success());
            let detail = match answer {
                Ok(response) => response
                    .json::<serde_json::Value>()
                    .await
                    .unwrap_or_default(),
                Err(error) => json!({ "down": error.to_string() }),
            };
            (upstream.label.clone(), up, detail)
        }
    });
    let results = join_all(checks).await;
    let all_up = results.iter().all(|(_, up, _)| *up);
    let body: serde_json::Map<String, serde_json::Value> = results
        .into_iter()
        .map(|(label, _, detail)| (label, detail))
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
