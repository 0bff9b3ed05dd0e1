//! `orderflow check`: whether every order has exactly the shipment and the invoice it should.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use orderflow_events::{Address, EpochMillis, OrderPlaced, Price};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::client::{Endpoints, is_unreachable};

#[derive(Debug, Clone)]
pub struct CheckSettings {
    pub endpoints: Endpoints,
    /// How long to wait for copies still on their way before reporting what is missing.
    pub settle_timeout: Duration,
}

/// What is wrong, by order id; empty lists mean consistent.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub orders: usize,
    pub shipments: usize,
    pub invoices: usize,
    pub orders_without_shipment: Vec<i64>,
    pub orders_without_invoice: Vec<i64>,
    /// Copies whose order never existed (copies of deleted orders are fine and not listed).
    pub shipments_without_order: Vec<i64>,
    pub invoices_without_order: Vec<i64>,
    pub copies_of_deleted_orders: usize,
    /// Copies that differ from their order, with what differs.
    pub differing: Vec<(i64, String)>,
}

impl CheckReport {
    pub fn consistent(&self) -> bool {
        self.orders_without_shipment.is_empty()
            && self.orders_without_invoice.is_empty()
            && self.shipments_without_order.is_empty()
            && self.invoices_without_order.is_empty()
            && self.differing.is_empty()
    }

    pub fn print(&self) {
        println!(
            "orders {}, shipments {}, invoices {}",
            self.orders, self.shipments, self.invoices
        );
        if self.copies_of_deleted_orders > 0 {
            println!(
                "copies of deleted orders (kept, as the contract says): {}",
                self.copies_of_deleted_orders
            );
        }
        let list = |what: &str, ids: &[i64]| {
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
        list("orders without a shipment", &self.orders_without_shipment);
        list("orders without an invoice", &self.orders_without_invoice);
        list("shipments without an order", &self.shipments_without_order);
        list("invoices without an order", &self.invoices_without_order);
        for (id, what) in self.differing.iter().take(20) {
            println!("copy of order {id} differs: {what}");
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Shipment {
    id: i64,
    customer: CopyCustomer,
    updated: EpochMillis,
    shipping_address: Address,
    lines: Vec<CopyLine>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Invoice {
    id: i64,
    customer: CopyCustomer,
    updated: EpochMillis,
    billing_address: Address,
    lines: Vec<CopyLine>,
    total_amount: Price,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct CopyCustomer {
    customer_id: i64,
    name: String,
    firstname: String,
    email: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct CopyLine {
    count: i64,
    item_id: i64,
    item_name: String,
    price: Option<Price>,
}

/// Checks until consistent or `settle_timeout` passed; returns the last report.
pub async fn run(settings: &CheckSettings) -> anyhow::Result<CheckReport> {
    let client = crate::client::http_client(4)?;
    let deadline = Instant::now() + settings.settle_timeout;
    loop {
        match check_once(&client, &settings.endpoints).await {
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
    endpoints: &Endpoints,
) -> anyhow::Result<CheckReport> {
    let orders: BTreeMap<i64, OrderPlaced> =
        list_all::<OrderPlaced>(client, &format!("{}api/orders", endpoints.order), |o| o.id)
            .await?;
    let shipments: BTreeMap<i64, Shipment> = list_all::<Shipment>(
        client,
        &format!("{}api/shipments", endpoints.shipping),
        |s| s.id,
    )
    .await?;
    let invoices: BTreeMap<i64, Invoice> = list_all::<Invoice>(
        client,
        &format!("{}api/invoices", endpoints.invoicing),
        |i| i.id,
    )
    .await?;
    let mut report = CheckReport {
        orders: orders.len(),
        shipments: shipments.len(),
        invoices: invoices.len(),
        ..CheckReport::default()
    };

    for (id, order) in &orders {
        match shipments.get(id) {
            None => report.orders_without_shipment.push(*id),
            Some(shipment) => {
                if let Some(difference) = shipment_difference(order, shipment) {
                    report
                        .differing
                        .push((*id, format!("shipment: {difference}")));
                }
            }
        }
        match invoices.get(id) {
            None => report.orders_without_invoice.push(*id),
            Some(invoice) => {
                if let Some(difference) = invoice_difference(order, invoice) {
                    report
                        .differing
                        .push((*id, format!("invoice: {difference}")));
                }
            }
        }
    }
    for (ids, orphans) in [
        (
            shipments.keys().copied().collect::<Vec<_>>(),
            &mut report.shipments_without_order,
        ),
        (
            invoices.keys().copied().collect::<Vec<_>>(),
            &mut report.invoices_without_order,
        ),
    ] {
        for id in ids.into_iter().filter(|id| !orders.contains_key(id)) {
            // Deleted orders keep their copies (contract section 5): order answers 410 for them.
            let status = client
                .get(format!("{}order/{id}", endpoints.order))
                .send()
                .await
                .context("order is not reachable")?
                .status();
            if status == reqwest::StatusCode::GONE {
                report.copies_of_deleted_orders += 1;
            } else {
                orphans.push(id);
            }
        }
    }
    Ok(report)
}

fn shipment_difference(order: &OrderPlaced, shipment: &Shipment) -> Option<String> {
    let customer = CopyCustomer {
        customer_id: order.customer.customer_id,
        name: order.customer.name.clone(),
        firstname: order.customer.firstname.clone(),
        email: None,
    };
    let lines: Vec<CopyLine> = order
        .order_line
        .iter()
        .map(|l| CopyLine {
            count: l.count,
            item_id: l.item.item_id,
            item_name: l.item.name.clone(),
            price: None,
        })
        .collect();
    if shipment.customer != customer {
        Some(format!(
            "customer {:?}, order says {:?}",
            shipment.customer, customer
        ))
    } else if shipment.shipping_address != order.shipping_address {
        Some(format!(
            "address {:?}, order says {:?}",
            shipment.shipping_address, order.shipping_address
        ))
    } else if shipment.lines != lines {
        Some(format!(
            "lines {:?}, order says {:?}",
            shipment.lines, lines
        ))
    } else if shipment.updated != order.updated {
        Some("time of the order".to_owned())
    } else {
        None
    }
}

fn invoice_difference(order: &OrderPlaced, invoice: &Invoice) -> Option<String> {
    let customer = CopyCustomer {
        customer_id: order.customer.customer_id,
        name: order.customer.name.clone(),
        firstname: order.customer.firstname.clone(),
        email: Some(order.customer.email.clone()),
    };
    let lines: Vec<CopyLine> = order
        .order_line
        .iter()
        .map(|l| CopyLine {
            count: l.count,
            item_id: l.item.item_id,
            item_name: l.item.name.clone(),
            price: Some(l.item.price),
        })
        .collect();
    if invoice.customer != customer {
        Some(format!(
            "customer {:?}, order says {:?}",
            invoice.customer, customer
        ))
    } else if invoice.billing_address != order.billing_address {
        Some(format!(
            "address {:?}, order says {:?}",
            invoice.billing_address, order.billing_address
        ))
    } else if invoice.lines != lines {
        Some(format!("lines {:?}, order says {:?}", invoice.lines, lines))
    } else if Some(invoice.total_amount) != order.total_price() {
        Some(format!(
            "total {}, order says {:?}",
            invoice.total_amount,
            order.total_price()
        ))
    } else if invoice.updated != order.updated {
        Some("time of the order".to_owned())
    } else {
        None
    }
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
