//! `orderflow check`: whether every consumer holds exactly what it should of every order.
//!
//! Each consumer service answers its check view (`GET /api/check`: for every order it holds,
//! what it made of it) and says, through [`CheckView`], what it should have made of an order.
//! The check compares the two for every order order lists, and looks up the orders a consumer
//! holds that order no longer lists (deleted: 410, or never existed).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use orderflow_directory::Service;
use orderflow_events::OrderPlaced;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::client::{Endpoints, is_unreachable};

/// What one consumer service should hold of an order, as its check view shows it.
#[derive(Debug, Clone, Copy)]
pub struct CheckView {
    pub service: &'static Service,
    /// What its copies are called in the report: `shipments`.
    pub copies: &'static str,
    /// The view of `order` it should hold.
    pub expected: fn(&OrderPlaced) -> serde_json::Value,
    /// Whether it keeps what it made of a deleted order (shipping, invoicing: the contract says
    /// copies stay), or takes it back (bonus: a deleted order earns nothing).
    pub keeps_deleted: bool,
}

#[derive(Debug, Clone)]
pub struct CheckSettings {
    pub endpoints: Endpoints,
    /// The consumers to check; one not among `endpoints` is left out.
    pub views: Vec<CheckView>,
    /// How long to wait for copies still on their way before reporting what is missing.
    pub settle_timeout: Duration,
}

/// What is wrong, per consumer and by order id; empty lists mean consistent.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub orders: usize,
    pub services: Vec<ServiceReport>,
    /// Consumers that join later (bonus) and were not running: not checked.
    pub not_running: Vec<&'static str>,
}

/// One consumer's part of the report.
#[derive(Debug)]
pub struct ServiceReport {
    pub view: CheckView,
    /// Entries in its check view.
    pub held: usize,
    /// Orders it holds nothing of.
    pub missing: Vec<i64>,
    /// What it holds of orders that never existed.
    pub without_order: Vec<i64>,
    /// What it holds of deleted orders, where that is right (kept, as the contract says).
    pub of_deleted_orders: usize,
    /// What it still holds of deleted orders although it should have taken it back.
    pub kept_deleted: Vec<i64>,
    /// Entries that differ from their order, with what differs.
    pub differing: Vec<(i64, String)>,
}

impl ServiceReport {
    fn new(view: CheckView, held: usize) -> Self {
        ServiceReport {
            view,
            held,
            missing: Vec::new(),
            without_order: Vec::new(),
            of_deleted_orders: 0,
            kept_deleted: Vec::new(),
            differing: Vec::new(),
        }
    }

    pub fn consistent(&self) -> bool {
        self.missing.is_empty()
            && self.without_order.is_empty()
            && self.kept_deleted.is_empty()
            && self.differing.is_empty()
    }
}

impl CheckReport {
    pub fn consistent(&self) -> bool {
        self.services.iter().all(ServiceReport::consistent)
    }

    /// The report of consumer `name`, if it was checked.
    pub fn service(&self, name: &str) -> Option<&ServiceReport> {
        self.services.iter().find(|s| s.view.service.name == name)
    }

    /// Entries that differ from their order, over every consumer.
    pub fn differing(&self) -> usize {
        self.services.iter().map(|s| s.differing.len()).sum()
    }

    pub fn print(&self) {
        let mut counts = vec![format!("orders {}", self.orders)];
        counts.extend(
            self.services
                .iter()
                .map(|s| format!("{} {}", s.view.copies, s.held)),
        );
        println!("{}", counts.join(", "));
        for name in &self.not_running {
            println!("{name}: not running, not checked");
        }
        let list = |what: String, ids: &[i64]| {
            if !ids.is_empty() {
                let shown: Vec<String> = ids.iter().take(20).map(i64::to_string).collect();
                let more = if ids.len() > 20 {
                    format!(" and {} more", ids.len() - 20)
                } else {
                    String::new()
                };
                println!("{what}: {} ({}{more})", ids.len(), shown.join(", "));
            }
        };
        for service in &self.services {
            let name = service.view.service.name;
            if service.of_deleted_orders > 0 {
                println!(
                    "{name}: {} of deleted orders (kept, as the contract says): {}",
                    service.view.copies, service.of_deleted_orders
                );
            }
            list(format!("orders {name} holds nothing of"), &service.missing);
            list(
                format!("{name}: {} without an order", service.view.copies),
                &service.without_order,
            );
            list(
                format!("{name}: deleted orders still counted"),
                &service.kept_deleted,
            );
            for (id, what) in service.differing.iter().take(20) {
                println!("{name}: order {id} differs: {what}");
            }
        }
        println!(
            "{}",
            if self.consistent() {
                "consistent"
            } else {
                "NOT consistent"
            }
        );
    }
}

/// One entry of a check view.
#[derive(Debug, Deserialize)]
struct Held {
    id: i64,
    view: serde_json::Value,
}

/// Checks until consistent or `settle_timeout` passed; returns the last report.
pub async fn run(settings: &CheckSettings) -> anyhow::Result<CheckReport> {
    let client = crate::client::http_client(4)?;
    let deadline = Instant::now() + settings.settle_timeout;
    loop {
        match check_once(&client, settings).await {
            Ok(report) if report.consistent() || Instant::now() >= deadline => return Ok(report),
            Ok(_) => {}
            // A service restarting: ask again while there is time.
            Err(error) if is_unreachable(&error) && Instant::now() < deadline => {
                tracing::debug!(%error, "Checking again.");
            }
            Err(error) => return Err(error),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn check_once(
    client: &reqwest::Client,
    settings: &CheckSettings,
) -> anyhow::Result<CheckReport> {
    let endpoints = &settings.endpoints;
    let orders: BTreeMap<i64, OrderPlaced> =
        list_all::<OrderPlaced>(client, &format!("{}api/orders", endpoints.order), |o| o.id)
            .await?;
    let mut report = CheckReport {
        orders: orders.len(),
        ..CheckReport::default()
    };
    for view in &settings.views {
        let Some(endpoint) = endpoints.consumer(view.service.name) else {
            continue;
        };
        let held = match list_all::<Held>(client, &endpoint.check_url(), |h| h.id).await {
            Ok(held) => held,
            Err(error) if is_unreachable(&error) && !endpoint.required() => {
                report.not_running.push(view.service.name);
                continue;
            }
            Err(error) => return Err(error),
        };
        report
            .services
            .push(compare(client, endpoints, *view, &orders, held).await?);
    }
    Ok(report)
}

/// One consumer's view against the orders.
async fn compare(
    client: &reqwest::Client,
    endpoints: &Endpoints,
    view: CheckView,
    orders: &BTreeMap<i64, OrderPlaced>,
    held: BTreeMap<i64, Held>,
) -> anyhow::Result<ServiceReport> {
    let mut report = ServiceReport::new(view, held.len());
    for (id, order) in orders {
        match held.get(id) {
            None => report.missing.push(*id),
            Some(held) => {
                let expected = (view.expected)(order);
                if held.view != expected {
                    report
                        .differing
                        .push((*id, format!("holds {}, order says {expected}", held.view)));
                }
            }
        }
    }
    for id in held.keys().filter(|id| !orders.contains_key(id)) {
        // Deleted orders answer 410 (contract section 5); one that never was, 404.
        let status = client
            .get(format!("{}order/{id}", endpoints.order))
            .send()
            .await
            .context("order is not reachable")?
            .status();
        match (status == reqwest::StatusCode::GONE, view.keeps_deleted) {
            (true, true) => report.of_deleted_orders += 1,
            (true, false) => report.kept_deleted.push(*id),
            (false, _) => report.without_order.push(*id),
        }
    }
    Ok(report)
}

/// Every element of a paged list (`?after=<id>&limit=1000`), by id.
async fn list_all<T: DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    id: impl Fn(&T) -> i64,
) -> anyhow::Result<BTreeMap<i64, T>> {
    let mut all = BTreeMap::new();
    let mut after = 0;
    loop {
        let page: Vec<T> = crate::client::get(client, &format!("{url}?after={after}&limit=1000"))
            .await?
            .json()
            .await
            .with_context(|| format!("{url} did not answer a list"))?;
        let Some(last) = page.last().map(&id) else {
            break;
        };
        after = last;
        for element in page {
            all.insert(id(&element), element);
        }
    }
    Ok(all)
}
