//! The shipping service's queries: storing a shipment once, listing and showing shipments.

use anyhow::Context;
use orderflow_consumer::advance_checkpoint;
use orderflow_events::{Address, EpochMillis, OrderPlaced};
use orderflow_storage::{Database, params};
use orderflow_transport::{Applied, Checkpoint};
use sqlx::Row;

/// How many shipments the list page shows at most, newest first.
pub const LIST_LIMIT: i64 = 500;

#[derive(Debug, Clone)]
pub struct ShipmentSummary {
    pub id: i64,
    pub customer: String,
}

#[derive(Debug, Clone)]
pub struct Shipment {
    pub id: i64,
    pub customer_id: i64,
    pub customer: String,
    pub updated: EpochMillis,
    pub address: Address,
    pub lines: Vec<ShipmentLine>,
}

#[derive(Debug, Clone)]
pub struct ShipmentLine {
    pub count: i64,
    pub item_id: i64,
    pub item_name: String,
}

/// Stores the shipment for `order` (and moves the feed checkpoint, if any) with its lines in one transaction, unless a shipment with
/// that id exists: then nothing changes (the first copy wins).
pub async fn store_shipment(
    db: &Database,
    order: &OrderPlaced,
    checkpoint: Option<&Checkpoint>,
) -> Result<Applied, sqlx::Error> {
    let mut tx = db.begin().await?;
    if let Some(checkpoint) = checkpoint
        && !advance_checkpoint(&mut tx, checkpoint).await?
    {
        tx.rollback().await?;
        return Ok(Applied::CheckpointMoved);
    }
    let address = &order.shipping_address;
    let inserted = sqlx::query(
        "INSERT INTO shipment (id, customer_id, customer_name, customer_firstname, updated_ms, \
         street, zip, city, received_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(order.id)
    .bind(order.customer.customer_id)
    .bind(&order.customer.name)
    .bind(&order.customer.firstname)
    .bind(order.updated.0)
    .bind(&address.street)
    .bind(&address.zip)
    .bind(&address.city)
    .bind(EpochMillis::now().0)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // Nothing of ours changes, but a feed checkpoint still moves past this entry.
        tx.commit().await?;
        tracing::info!("Shipment id {} already exists - ignored", order.id);
        return Ok(Applied::AlreadyPresent);
    }
    if !order.order_line.is_empty() {
        let insert = format!(
            "INSERT INTO shipment_line (shipment_id, line_no, count, item_id, item_name) VALUES {}",
            params::value_rows(order.order_line.len(), 5)
        );
        let mut lines = sqlx::query(&insert);
        for (line_no, line) in order.order_line.iter().enumerate() {
            lines = lines
                .bind(order.id)
                .bind(line_no as i64)
                .bind(line.count)
                .bind(line.item.item_id)
                .bind(&line.item.name);
        }
        lines.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    tracing::debug!(order_id = order.id, "Shipment stored.");
    Ok(Applied::Created)
}

/// The newest shipments first, at most [`LIST_LIMIT`], and how many there are in all.
pub async fn list_shipments(db: &Database) -> anyhow::Result<(Vec<ShipmentSummary>, i64)> {
    let shipments = sqlx::query(
        "SELECT id, customer_firstname, customer_name FROM shipment ORDER BY id DESC LIMIT $1",
    )
    .bind(LIST_LIMIT)
    .fetch_all(db.pool())
    .await
    .context("failed to list shipments")?
    .iter()
    .map(|row| {
        let firstname: String = row.try_get("customer_firstname")?;
        let name: String = row.try_get("customer_name")?;
        Ok(ShipmentSummary {
            id: row.try_get("id")?,
            customer: format!("{firstname} {name}"),
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM shipment")
        .fetch_one(db.pool())
        .await
        .context("failed to count shipments")?
        .try_get("n")?;
    Ok((shipments, total))
}

pub async fn load_shipment(db: &Database, id: i64) -> anyhow::Result<Option<Shipment>> {
    let Some(row) = sqlx::query(
        "SELECT id, customer_id, customer_name, customer_firstname, updated_ms, street, zip, city \
         FROM shipment WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await
    .context("failed to load the shipment")?
    else {
        return Ok(None);
    };
    let lines = sqlx::query(
        "SELECT count, item_id, item_name FROM shipment_line WHERE shipment_id = $1 ORDER BY line_no",
    )
    .bind(id)
    .fetch_all(db.pool())
    .await
    .context("failed to load the shipment's lines")?
    .iter()
    .map(|line| {
        Ok(ShipmentLine {
            count: line.try_get("count")?,
            item_id: line.try_get("item_id")?,
            item_name: line.try_get("item_name")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let firstname: String = row.try_get("customer_firstname")?;
    let name: String = row.try_get("customer_name")?;
    Ok(Some(Shipment {
        id: row.try_get("id")?,
        customer_id: row.try_get("customer_id")?,
        customer: format!("{firstname} {name}"),
        updated: EpochMillis(row.try_get("updated_ms")?),
        address: Address {
            street: row.try_get("street")?,
            zip: row.try_get("zip")?,
            city: row.try_get("city")?,
        },
        lines,
    }))
}
