//! `orderflow check`: whether every consumer holds exactly what it should of every order.
//!
//! Each consumer service answers its check view (`GET /api/check`: for every order it holds,
//! what it made of it) and says, through [`CheckView`], what it should have made of an order.
//! The check compares the two for every order order lists, and looks up the orders a consumer
//! holds that order no longer lists (deleted: 410, or never existed). It reads every list a page
//! at a time, side by side in id order, so its memory does not grow with the history.

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::Context;
use orderflow_directory::Service;
use orderflow_events::OrderPlaced;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
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
    fn new(view: CheckView) -> Self {
        ServiceReport {
            view,
            held: 0,
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
    let mut report = CheckReport::default();
    // Every list is read a page at a time and walked in id order, side by side: what the check
    // holds is a page per list, however long the history.
    let mut views = Vec::new();
    for view in &settings.views {
        let Some(endpoint) = endpoints.consumer(view.service.name) else {
            continue;
        };
        let mut held = Pages::new(client, endpoint.check_url(), |h: &Held| h.id);
        match held.peek().await {
            Ok(_) => views.push((ServiceReport::new(*view), held, Vec::new())),
            Err(error) if is_unreachable(&error) && !endpoint.required() => {
                report.not_running.push(view.service.name);
            }
            Err(error) => return Err(error),
        }
    }
    let mut orders = Pages::new(
        client,
        format!("{}api/orders", endpoints.order),
        |o: &OrderPlaced| o.id,
    );
    while let Some(order) = orders.next().await? {
        report.orders += 1;
        for (service, held, without_listed_order) in &mut views {
            // What it holds below this order's id that order did not list: deleted or never was.
            while let Some(entry) = held.next_below(order.id).await? {
                service.held += 1;
                without_listed_order.push(entry.id);
            }
            match held.next_if(order.id).await? {
                Some(entry) => {
                    service.held += 1;
                    let expected = (service.view.expected)(&order);
                    if entry.view != expected {
                        service.differing.push((
                            order.id,
                            format!("holds {}, order says {expected}", entry.view),
                        ));
                    }
                }
                None => service.missing.push(order.id),
            }
        }
    }
    for (mut service, mut held, mut without_listed_order) in views {
        while let Some(entry) = held.next().await? {
            service.held += 1;
            without_listed_order.push(entry.id);
        }
        sort_out_unlisted(client, endpoints, &mut service, without_listed_order).await?;
        report.services.push(service);
    }
    Ok(report)
}

/// What a consumer holds of orders that order did not list: deleted ones answer 410 (contract
/// section 5), ones that never were 404, and ones placed while the check read answer 200 (the
/// next check sees them listed).
async fn sort_out_unlisted(
    client: &reqwest::Client,
    endpoints: &Endpoints,
    service: &mut ServiceReport,
    ids: Vec<i64>,
) -> anyhow::Result<()> {
    for id in ids {
        let status = client
            .get(format!("{}order/{id}", endpoints.order))
            .send()
            .await
            .context("order is not reachable")?
            .status();
        match (status, service.view.keeps_deleted) {
            (reqwest::StatusCode::GONE, true) => service.of_deleted_orders += 1,
            (reqwest::StatusCode::GONE, false) => service.kept_deleted.push(id),
            (status, _) if status.is_success() => {}
            _ => service.without_order.push(id),
        }
    }
    Ok(())
}

/// A paged list (`?after=<id>&limit=<PAGE>`, ascending ids), read a page at a time. The next
/// page is asked for as soon as a page arrives, so every list's next page is on its way while
/// the check compares: the lists are read side by side, not one after another.
struct Pages<T> {
    id: fn(&T) -> i64,
    page: VecDeque<T>,
    next: Option<JoinHandle<anyhow::Result<Vec<T>>>>,
    client: reqwest::Client,
    url: String,
}

impl<T: DeserializeOwned + Send + 'static> Pages<T> {
    fn new(client: &reqwest::Client, url: String, id: fn(&T) -> i64) -> Self {
        let mut pages = Pages {
            id,
            page: VecDeque::new(),
            next: None,
            client: client.clone(),
            url,
        };
        pages.ask_after(0);
        pages
    }

    fn ask_after(&mut self, after: i64) {
        let client = self.client.clone();
        let url = self.url.clone();
        self.next = Some(tokio::spawn(async move {
            crate::client::get(&client, &format!("{url}?after={after}&limit={PAGE}"))
                .await?
                .json()
                .await
                .with_context(|| format!("{url} did not answer a list"))
        }));
    }

    /// The next element's id, taking the next page when this one is used up.
    async fn peek(&mut self) -> anyhow::Result<Option<i64>> {
        if self.page.is_empty()
            && let Some(next) = self.next.take()
        {
            let page = next.await.context("reading a page failed")??;
            if let Some(last) = page.last() {
                self.ask_after((self.id)(last));
            }
            self.page = page.into();
        }
        Ok(self.page.front().map(self.id))
    }

    async fn next(&mut self) -> anyhow::Result<Option<T>> {
        self.peek().await?;
        Ok(self.page.pop_front())
    }

    /// The next element if its id is below `id`.
    async fn next_below(&mut self, id: i64) -> anyhow::Result<Option<T>> {
        match self.peek().await? {
            Some(next) if next < id => Ok(self.page.pop_front()),
            _ => Ok(None),
        }
    }

    /// The next element if its id is `id`.
    async fn next_if(&mut self, id: i64) -> anyhow::Result<Option<T>> {
        match self.peek().await? {
            Some(next) if next == id => Ok(self.page.pop_front()),
            _ => Ok(None),
        }
    }
}

impl<T> Drop for Pages<T> {
    fn drop(&mut self) {
        if let Some(next) = self.next.take() {
            next.abort();
        }
    }
}

/// How many elements a page of a list asks for.
const PAGE: usize = 500;
