//! The invoicing service's queries: storing an invoice once, listing and showing invoices.

use std::collections::BTreeMap;

use anyhow::Context;
use orderflow_consumer::advance_checkpoint;
use orderflow_events::{Address, EpochMillis, OrderPlaced, Price};
use orderflow_storage::{Database, params};
use orderflow_transport::{Applied, Checkpoint};
use serde::Serialize;
use sqlx::Row;

/// Lines inserted per statement.
const LINES_PER_STATEMENT: usize = 1000;

/// How many invoices the list page shows at most, newest first.
pub const LIST_LIMIT: i64 = 500;

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

/// Stores the invoice for `order` (and moves the feed checkpoint, if any) with its lines and total in one transaction, unless an invoice
/// with that id exists: then nothing changes (the first copy wins).
pub async fn store_invoice(
    db: &Database,
    order: &OrderPlaced,
    total: Price,
    checkpoint: Option<&Checkpoint>,
) -> Result<Applied, sqlx::Error> {
    let mut tx = db.begin().await?;
    if let Some(checkpoint) = checkpoint
        && !advance_checkpoint(&mut tx, checkpoint).await?
    {
        tx.rollback().await?;
        return Ok(Applied::CheckpointMoved);
    }
    let (customer, address) = (&order.customer, &order.billing_address);
    let inserted = sqlx::query(
        "INSERT INTO invoice (id, customer_id, customer_name, customer_firstname, customer_email, \
         updated_ms, street, zip, city, total_amount, received_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
    )
    .bind(order.id)
    .bind(customer.customer_id)
    .bind(&customer.name)
    .bind(&customer.firstname)
    .bind(&customer.email)
    .bind(order.updated.0)
    .bind(&address.street)
    .bind(&address.zip)
    .bind(&address.city)
    .bind(total.to_string())
    .bind(EpochMillis::now().0)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // Nothing of ours changes, but a feed checkpoint still moves past this entry.
        tx.commit().await?;
        tracing::info!("Invoice id {} already exists - ignored", order.id);
        return Ok(Applied::AlreadyPresent);
    }
    // In chunks: PostgreSQL takes at most 65,535 parameters per statement, and a record from
    // elsewhere may have any number of lines.
    for (chunk_no, chunk) in order.order_line.chunks(LINES_PER_STATEMENT).enumerate() {
        let insert = format!(
            "INSERT INTO invoice_line (invoice_id, line_no, count, item_id, item_name, price) VALUES {}",
            params::value_rows(chunk.len(), 6)
        );
        let mut lines = sqlx::query(&insert);
        for (offset, line) in chunk.iter().enumerate() {
            let line_no = chunk_no * LINES_PER_STATEMENT + offset;
            lines = lines
                .bind(order.id)
                .bind(line_no as i64)
                .bind(line.count)
                .bind(line.item.item_id)
                .bind(&line.item.name)
                .bind(line.item.price.to_string());
        }
        lines.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    tracing::debug!(order_id = order.id, "Invoice stored.");
    Ok(Applied::Created)
}

/// The newest invoices first, at most [`LIST_LIMIT`], and how many there are in all.
pub async fn list_invoices(db: &Database) -> anyhow::Result<(Vec<InvoiceSummary>, i64)> {
    let invoices = sqlx::query(
        "SELECT id, customer_firstname, customer_name, total_amount FROM invoice \
         ORDER BY id DESC LIMIT $1",
    )
    .bind(LIST_LIMIT)
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
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM invoice")
        .fetch_one(db.pool())
        .await
        .context("failed to count invoices")?
        .try_get("n")?;
    Ok((invoices, total))
}

pub async fn load_invoice(db: &Database, id: i64) -> anyhow::Result<Option<Invoice>> {
    Ok(invoices_after(db, id - 1, 1)
        .await?
        .into_iter()
        .find(|invoice| invoice.id == id))
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
