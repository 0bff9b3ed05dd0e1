//! `/live`: every order's journey and every instance's state, updating by itself. The page is
//! static HTML with a small script that polls `/live/state.json` each second; the state is
//! gathered here from what each service already answers (`/health`, order's `/api/journeys`,
//! each consumer's `/api/check` and `/api/recent`), so no service calls another for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Json;
use axum::extract::State;
use futures::future::join_all;
use orderflow_directory::Service;
use orderflow_web::HtmlPage;
use serde_json::{Value, json};

use crate::FrontDoorState;
use crate::home::{Probe, probe_all};

/// How long the state waits for any one instance: one that hangs must not stall the page.
const LIVE_PROBE_TIMEOUT: Duration = Duration::from_millis(800);

/// How many of the newest orders the page follows.
const JOURNEYS: i64 = 20;

#[derive(Template)]
#[template(path = "live.html")]
pub(crate) struct LivePage {
    lab_header: &'static str,
}

pub(crate) async fn live_page() -> HtmlPage<LivePage> {
    HtmlPage::ok(LivePage {
        lab_header: crate::LAB_HEADER,
    })
}

/// `GET /live/state.json`: what the page shows, gathered now.
pub(crate) async fn live_state(State(state): State<Arc<FrontDoorState>>) -> Json<Value> {
    let probes = probe_all(&state, LIVE_PROBE_TIMEOUT).await;
    let journeys = match first_up(&probes, &orderflow_directory::ORDER) {
        Some(order) => get_json(&state, &format!("{order}/api/journeys?limit={JOURNEYS}")).await,
        None => None,
    };
    let orders = journeys
        .as_ref()
        .and_then(|j| j["orders"].as_array().cloned())
        .unwrap_or_default();
    let ids: Vec<i64> = orders.iter().filter_map(|o| o["id"].as_i64()).collect();
    let copies = copies_of(&state, &probes, &ids).await;

    let journeys_out: Vec<Value> = orders
        .into_iter()
        .map(|mut order| {
            let id = order["id"].as_i64().unwrap_or_default();
            let mut record = Value::Null;
            let mut per_service = serde_json::Map::new();
            for consumer in &copies {
                let copy = consumer.stored.get(&id).cloned();
                if let Some(copy) = &copy
                    && record.is_null()
                    && consumer.service.name != "bonus"
                {
                    record = copy["source"].clone();
                }
                per_service.insert(
                    consumer.service.name.to_owned(),
                    json!({ "running": consumer.running, "copy": copy }),
                );
            }
            order["record"] = record;
            order["copies"] = Value::Object(per_service);
            order
        })
        .collect();

    let lab = match crate::lab::availability(&state) {
        Ok(lab) => json!({ "available": true, "processes": lab.processes() }),
        Err(why) => json!({ "available": false, "why": why }),
    };
    let instances: Vec<Value> = probes
        .iter()
        .map(|probe| {
            json!({
                "label": probe.upstream.label,
                "service": probe.upstream.service.name,
                "url": format!("{}/", probe.upstream.url),
                "up": probe.up,
                "health": probe.detail,
            })
        })
        .collect();
    Json(json!({
        "at": now_ms(),
        "services": orderflow_directory::ALL
            .iter()
            .map(|s| json!({ "name": s.name, "consumer": s.is_consumer() }))
            .collect::<Vec<_>>(),
        "order": journeys.map(|j| json!({ "transport": j["transport"], "outbox": j["outbox"] })),
        "journeys": journeys_out,
        "instances": instances,
        "lab": lab,
    }))
}

/// What one consumer service holds of the followed orders: its copies (by id: when stored,
/// by which instance, from which record), and whether any of its instances runs.
struct ServiceCopies {
    service: &'static Service,
    running: bool,
    stored: HashMap<i64, Value>,
}

async fn copies_of(state: &FrontDoorState, probes: &[Probe], ids: &[i64]) -> Vec<ServiceCopies> {
    let consumers: Vec<&'static Service> = orderflow_directory::consumers()
        .filter(|service| probes.iter().any(|p| p.upstream.service == *service))
        .collect();
    let (Some(first), Some(last)) = (ids.iter().min(), ids.iter().max()) else {
        return consumers
            .into_iter()
            .map(|service| ServiceCopies {
                service,
                running: first_up(probes, service).is_some(),
                stored: HashMap::new(),
            })
            .collect();
    };
    let gathered = consumers.into_iter().map(|service| async move {
        let up: Vec<&Probe> = probes
            .iter()
            .filter(|p| p.upstream.service == service && p.up)
            .collect();
        // Any instance answers for the service's database; each remembers what it stored.
        let check = match up.first() {
            Some(probe) => {
                let url = format!(
                    "{}/api/check?after={}&limit={}",
                    probe.upstream.url,
                    first - 1,
                    last - first + 1
                );
                get_json(state, &url).await
            }
            None => None,
        };
        let recents = join_all(up.iter().map(|probe| async move {
            let recent = get_json(state, &format!("{}/api/recent", probe.upstream.url)).await;
            (probe.upstream.label.clone(), recent)
        }))
        .await;
        let mut by_instance: HashMap<i64, (String, Value)> = HashMap::new();
        for (label, recent) in recents {
            for stored in recent
                .as_ref()
                .and_then(|r| r["stored"].as_array())
                .into_iter()
                .flatten()
            {
                if let Some(id) = stored["orderId"].as_i64() {
                    by_instance.insert(id, (label.clone(), stored["source"].clone()));
                }
            }
        }
        let stored = check
            .as_ref()
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|held| {
                let id = held["id"].as_i64()?;
                let (by, source) = by_instance.remove(&id).unzip();
                Some((
                    id,
                    json!({ "storedMs": held["receivedMs"], "by": by, "source": source }),
                ))
            })
            .collect();
        ServiceCopies {
            service,
            running: !up.is_empty(),
            stored,
        }
    });
    join_all(gathered).await
}

fn first_up(probes: &[Probe], service: &Service) -> Option<String> {
    probes
        .iter()
        .find(|p| p.upstream.service == service && p.up)
        .map(|p| p.upstream.url.clone())
}

async fn get_json(state: &FrontDoorState, url: &str) -> Option<Value> {
    let response = state
        .client
        .get(url)
        .timeout(LIVE_PROBE_TIMEOUT)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
