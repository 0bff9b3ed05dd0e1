//! The resilience lab: the classic experiments of this design as clicks on the live page. Stop
//! a consumer and see messages wait, start it and see them flow; kill one of two instances and
//! see its partitions move; stop the broker and see the outbox fill. Only the launcher can do
//! this (it owns the processes), and only for a front door nobody else can reach.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use orderflow_directory::Service;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{FrontDoorState, Upstream};

/// The header every lab request must carry. A page of another site can make the browser POST
/// a form to localhost, but not with a header of its own (that needs a CORS preflight, which
/// the front door never grants): so only the live page, served from here, can run experiments.
pub const LAB_HEADER: &str = "x-orderflow-lab";

/// What the launcher lets the lab do to the processes it runs.
#[async_trait]
pub trait Lab: Debug + Send + Sync + 'static {
    /// Every process it runs (the embedded broker, each service instance), in start order.
    fn processes(&self) -> Vec<LabProcess>;

    /// Stops, kills or starts the process named `name`; says what it did, or why not.
    async fn act(&self, name: &str, action: LabAction) -> Result<String, LabError>;

    /// Starts one more instance of consumer `service`; it joins the service's group.
    async fn add_instance(&self, service: &'static Service) -> Result<Upstream, LabError>;
}

/// A process as the lab sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabProcess {
    /// `kafka`, `order`, `shipping-2`.
    pub name: String,
    /// The service it is an instance of; `None` for the broker.
    pub service: Option<&'static str>,
    pub pid: Option<u32>,
    pub state: ProcessState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ProcessState {
    Running,
    /// Stopped or killed from the lab: stays down until started again.
    Stopped,
    /// Exited on its own; `up` starts it again after its restart delay, if it has one.
    Exited,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabAction {
    /// SIGTERM: a clean stop (a consumer leaves its group at once).
    Stop,
    /// SIGKILL: a crash (a consumer's partitions wait for its session timeout).
    Kill,
    Start,
}

/// Why the lab did not do it.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("there is no process {0}")]
    NoSuchProcess(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

/// Whether this front door may run experiments: `Err` says why not, for the page and the API.
pub(crate) fn availability(state: &FrontDoorState) -> Result<&Arc<dyn Lab>, String> {
    let Some(lab) = &state.settings.lab else {
        return Err(
            "The resilience lab runs only under `orderflow up`: this front door did not \
                    start the services, so it cannot stop or start them."
                .to_owned(),
        );
    };
    if !state.settings.bind.is_loopback() {
        return Err(format!(
            "The resilience lab is off: the front door listens on {}, not on a loopback address, \
             and stopping services must not be possible from another machine. Start `orderflow \
             up` without --bind to use it.",
            state.settings.bind
        ));
    }
    Ok(lab)
}

/// The lab, if this request may use it; otherwise why not, as the answer says it.
fn permitted<'a>(
    state: &'a FrontDoorState,
    headers: &HeaderMap,
) -> Result<&'a Arc<dyn Lab>, String> {
    let lab = availability(state)?;
    if !headers.contains_key(LAB_HEADER) {
        return Err(format!(
            "Lab requests come from the live page only (they carry the {LAB_HEADER} header)."
        ));
    }
    Ok(lab)
}

fn refuse(code: StatusCode, error: impl Into<String>) -> Response {
    (code, Json(json!({ "error": error.into() }))).into_response()
}

fn answer(result: Result<String, LabError>) -> Response {
    match result {
        Ok(message) => Json(json!({ "message": message })).into_response(),
        Err(error @ LabError::NoSuchProcess(_)) => refuse(StatusCode::NOT_FOUND, error.to_string()),
        Err(error @ LabError::Refused(_)) => refuse(StatusCode::CONFLICT, error.to_string()),
        Err(error @ LabError::Failed(_)) => {
            refuse(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
        }
    }
}

/// `POST /lab/processes/{name}/{stop|kill|start}`.
pub(crate) async fn act(
    State(state): State<Arc<FrontDoorState>>,
    Path((name, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let lab = match permitted(&state, &headers) {
        Ok(lab) => lab,
        Err(why) => return refuse(StatusCode::FORBIDDEN, why),
    };
    let action = match action.as_str() {
        "stop" => LabAction::Stop,
        "kill" => LabAction::Kill,
        "start" => LabAction::Start,
        other => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("`{other}` is not an action: stop, kill or start"),
            );
        }
    };
    tracing::info!(process = %name, ?action, "Lab: acting on a process.");
    answer(lab.act(&name, action).await)
}

/// `POST /lab/instances/{service}`: one more instance of a consumer service.
pub(crate) async fn add_instance(
    State(state): State<Arc<FrontDoorState>>,
    Path(service): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lab = match permitted(&state, &headers) {
        Ok(lab) => lab,
        Err(why) => return refuse(StatusCode::FORBIDDEN, why),
    };
    let Some(service) = orderflow_directory::named(&service).filter(|s| s.is_consumer()) else {
        return refuse(
            StatusCode::NOT_FOUND,
            format!(
                "`{service}` is not a consumer service: {}",
                orderflow_directory::consumer_names()
            ),
        );
    };
    tracing::info!(service = service.name, "Lab: adding an instance.");
    match lab.add_instance(service).await {
        Ok(upstream) => {
            let message = format!("{} started at {}", upstream.label, upstream.url);
            state.add_instance(upstream);
            Json(json!({ "message": message })).into_response()
        }
        Err(error) => answer(Err(error)),
    }
}

/// How many orders one burst places at most.
const MAX_BURST: usize = 1000;

#[derive(Debug, Deserialize)]
pub(crate) struct Burst {
    count: Option<usize>,
}

/// `POST /lab/burst?count=50`: places that many orders through order's JSON API, eight at a
/// time, and says how many it took.
pub(crate) async fn burst(
    State(state): State<Arc<FrontDoorState>>,
    Query(burst): Query<Burst>,
    headers: HeaderMap,
) -> Response {
    if let Err(why) = permitted(&state, &headers) {
        return refuse(StatusCode::FORBIDDEN, why);
    }
    let count = burst.count.unwrap_or(50).clamp(1, MAX_BURST);
    let Some(order) = state
        .instances()
        .into_iter()
        .find(|u| *u.service == orderflow_directory::ORDER)
    else {
        return refuse(
            StatusCode::CONFLICT,
            "no order instance to place orders with",
        );
    };
    let url = format!("{}/api/orders", order.url);
    let placed = futures::stream::iter(0..count)
        .map(|n| {
            let (client, url) = (state.client.clone(), url.clone());
            async move {
                client
                    .post(&url)
                    .timeout(Duration::from_secs(10))
                    .json(&burst_order(n))
                    .send()
                    .await
                    .is_ok_and(|response| response.status() == StatusCode::CREATED)
            }
        })
        .buffer_unordered(8)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await;
    tracing::info!(count, placed, "Lab: burst of orders placed.");
    let message = match placed {
        n if n == count => format!("{count} orders placed"),
        n => format!("{n} of {count} orders placed; order refused or did not answer the rest"),
    };
    Json(json!({ "message": message, "placed": placed })).into_response()
}

/// The `n`th order of a burst: the seed customers and items, a few lines.
fn burst_order(n: usize) -> serde_json::Value {
    json!({
        "customerId": 1 + n % 2,
        "shippingAddress": {"street": "Ohlauer Str. 43", "zip": "10999", "city": "Berlin"},
        "billingAddress": {"street": "Krischerstr. 100", "zip": "40789", "city": "Monheim am Rhein"},
        "orderLine": [
            {"count": 1 + n % 5, "itemId": 1 + n % 4},
            {"count": 1, "itemId": 1 + (n + 1) % 4}
        ]
    })
}
