//! The invoicing service's queries for its pages: listing and showing invoices.

use std::collections::BTreeMap;

use anyhow::Context;
use orderflow_events::{Address, EpochMillis, OrderPlaced, Price};
use orderflow_storage::Database;
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct InvoiceSummary {
    pub id: i64,
    pub customer: String,
    pub total_amount: Price,
}

/// Invoicing's copy of an order; also what `GET /api/invoices` lists.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub id: i64,
    pub customer: InvoiceCustomer,
    /// When the order was placed.
    pub updated: EpochMillis,
    pub billing_address: Address,
    pub lines: Vec<InvoiceLine>,
    pub total_amount: Price,
    /// When this copy was stored, epoch milliseconds.
    pub received_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceCustomer {
    pub customer_id: i64,
    pub name: String,
    pub firstname: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceLine {
    pub count: i64,
    pub item_id: i64,
    pub item_name: String,
    pub price: Price,
}

impl Invoice {
    /// The invoice `order` becomes, stored at `received_ms`. Its total is the order's: an order
    /// whose total cannot be computed is refused before it becomes an invoice.
    pub fn of(order: &OrderPlaced, received_ms: i64) -> Self {
        Invoice {
            id: order.id,
            customer: InvoiceCustomer {
                customer_id: order.customer.customer_id,
                name: order.customer.name.clone(),
                firstname: order.customer.firstname.clone(),
                email: order.customer.email.clone(),
            },
            updated: order.updated,
            billing_address: order.billing_address.clone(),
            lines: order
                .order_line
                .iter()
                .map(|line| InvoiceLine {
                    count: line.count,
                    item_id: line.item.item_id,
                    item_name: line.item.name.clone(),
                    price: line.item.price,
                })
                .collect(),
            total_amount: order.total_price().unwrap_or_default(),
            received_ms,
        }
    }

    /// "Eberhard Wolff".
    pub fn customer_name(&self) -> String {
        format!("{} {}", self.customer.firstname, self.customer.name)
    }
}

impl InvoiceLine {
    /// Count times price. Stored invoices passed the total's overflow check, so a line fits.
    pub fn total_price(&self) -> Price {
        self.price.checked_mul(self.count).unwrap_or(Price::ZERO)
    }
}

/// The newest invoices first, at most `limit`.
pub async fn newest_invoices(db: &Database, limit: i64) -> anyhow::Result<Vec<InvoiceSummary>> {
    let invoices = sqlx::query(
        "SELECT id, customer_firstname, customer_name, total_amount FROM invoice \
         ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await
    .context("failed to list invoices")?
    .iter()
    .map(|row| {
        let firstname: String = row.try_get("customer_firstname")?;
        let name: String = row.try_get("customer_name")?;
        Ok(InvoiceSummary {
            id: row.try_get("id")?,
            customer: format!("{firstname} {name}"),
            total_amount: parse_price(row.try_get("total_amount")?)?,
        })
    })
    .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(invoices)
}

/// Up to `limit` invoices with ids above `after`, ascending, with their lines.
pub async fn invoices_after(db: &Database, after: i64, limit: i64) -> anyhow::Result<Vec<Invoice>> {
    let rows = sqlx::query(
        "SELECT id, customer_id, customer_name, customer_firstname, customer_email, updated_ms, \
         street, zip, city, total_amount, received_ms FROM invoice WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(db.pool())
    .await
    .context("failed to load invoices")?;
    let Some(last) = rows
        .last()
        .map(|row| row.try_get::<i64, _>("id"))
        .transpose()?
    else {
        return Ok(Vec::new());
    };
    let mut lines: BTreeMap<i64, Vec<InvoiceLine>> = BTreeMap::new();
    for line in sqlx::query(
        "SELECT invoice_id, count, item_id, item_name, price FROM invoice_line \
         WHERE invoice_id > $1 AND invoice_id <= $2 ORDER BY invoice_id, line_no",
    )
    .bind(after)
    .bind(last)
    .fetch_all(db.pool())
    .await
    .context("failed to load invoice lines")?
    {
        lines
            .entry(line.try_get("invoice_id")?)
            .or_default()
            .push(InvoiceLine {
                count: line.try_get("count")?,
                item_id: line.try_get("item_id")?,
                item_name: line.try_get("item_name")?,
                price: parse_price(line.try_get("price")?)?,
            });
    }
    rows.iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            Ok(Invoice {
                id,
                customer: InvoiceCustomer {
                    customer_id: row.try_get("customer_id")?,
                    name: row.try_get("customer_name")?,
                    firstname: row.try_get("customer_firstname")?,
                    email: row.try_get("customer_email")?,
                },
                updated: EpochMillis(row.try_get("updated_ms")?),
                billing_address: Address {
                    street: row.try_get("street")?,
                    zip: row.try_get("zip")?,
                    city: row.try_get("city")?,
                },
                lines: lines.remove(&id).unwrap_or_default(),
                total_amount: parse_price(row.try_get("total_amount")?)?,
                received_ms: row.try_get("received_ms")?,
            })
        })
        .collect()
}

fn parse_price(text: String) -> anyhow::Result<Price> {
    text.parse()
        .with_context(|| format!("stored amount `{text}` is not a decimal"))
}
