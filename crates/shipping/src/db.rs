//! The shipping service's queries: storing a shipment once, listing and showing shipments.

use std::collections::{BTreeMap, HashSet};

use anyhow::Context;
use orderflow_consumer::advance_checkpoint;
use orderflow_events::{Address, EpochMillis, OrderLine, OrderPlaced};
use orderflow_storage::{Database, params};
use orderflow_transport::{Applied, Checkpoint};
use serde::Serialize;
use sqlx::Row;

/// Shipments inserted per statement (9 parameters each).
const ORDERS_PER_STATEMENT: usize = 500;

/// Lines inserted per statement.
const LINES_PER_STATEMENT: usize = 1000;

/// How many shipments the list page shows at most, newest first.
pub const LIST_LIMIT: i64 = 500;

#[derive(Debug, Clone)]
pub struct ShipmentSummary {
    pub id: i64,
    pub customer: String,
}

/// Shipping's copy of an order; also what `GET /api/shipments` lists.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shipment {
    pub id: i64,
    pub customer: ShipmentCustomer,
    /// When the order was placed.
    pub updated: EpochMillis,
    pub shipping_address: Address,
    pub lines: Vec<ShipmentLine>,
    /// When this copy was stored, epoch milliseconds.
    pub received_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentCustomer {
    pub customer_id: i64,
    pub name: String,
    pub firstname: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentLine {
    pub count: i64,
    pub item_id: i64,
    pub item_name: String,
}

impl Shipment {
    /// "Eberhard Wolff".
    pub fn customer_name(&self) -> String {
        format!("{} {}", self.customer.firstname, self.customer.name)
    }
}

/// Stores the shipments for `orders` (in order) in one transaction, and moves the feed
/// checkpoint, if any, in the same one. A shipment whose id exists (or came earlier in `orders`)
/// is left as it is: the first copy wins, answered `AlreadyPresent`.
pub async fn store_shipments(
    db: &Database,
    orders: &[OrderPlaced],
    checkpoint: Option<&Checkpoint>,
) -> Result<Vec<Applied>, sqlx::Error> {
    let mut tx = db.begin().await?;
    if let Some(checkpoint) = checkpoint
        && !advance_checkpoint(&mut tx, checkpoint).await?
    {
        tx.rollback().await?;
        return Ok(vec![Applied::CheckpointMoved; orders.len()]);
    }
    let received_ms = EpochMillis::now().0;
    let mut inserted = HashSet::new();
    for chunk in orders.chunks(ORDERS_PER_STATEMENT) {
        let insert = format!(
            "INSERT INTO shipment (id, customer_id, customer_name, customer_firstname, updated_ms, \
             street, zip, city, received_ms) VALUES {} ON CONFLICT (id) DO NOTHING RETURNING id",
            params::value_rows(chunk.len(), 9)
        );
        let mut query = sqlx::query(&insert);
        for order in chunk {
            let address = &order.shipping_address;
            query = query
                .bind(order.id)
                .bind(order.customer.customer_id)
                .bind(&order.customer.name)
                .bind(&order.customer.firstname)
                .bind(order.updated.0)
                .bind(&address.street)
                .bind(&address.zip)
                .bind(&address.city)
                .bind(received_ms);
        }
        for row in query.fetch_all(&mut *tx).await? {
            inserted.insert(row.try_get::<i64, _>("id")?);
        }
    }
    let answers = first_copies(orders, &inserted);
    // The lines of the shipments stored now, in chunks: PostgreSQL takes at most 65,535
    // parameters per statement, and a record from elsewhere may have any number of lines.
    let lines: Vec<(i64, usize, &OrderLine)> = orders
        .iter()
        .zip(&answers)
        .filter(|(_, applied)| **applied == Applied::Created)
        .flat_map(|(order, _)| {
            order
                .order_line
                .iter()
                .enumerate()
                .map(move |(n, line)| (order.id, n, line))
        })
        .collect();
    for chunk in lines.chunks(LINES_PER_STATEMENT) {
        let insert = format!(
            "INSERT INTO shipment_line (shipment_id, line_no, count, item_id, item_name) VALUES {}",
            params::value_rows(chunk.len(), 5)
        );
        let mut query = sqlx::query(&insert);
        for (id, line_no, line) in chunk {
            query = query
                .bind(*id)
                .bind(*line_no as i64)
                .bind(line.count)
                .bind(line.item.item_id)
                .bind(&line.item.name);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    for (order, applied) in orders.iter().zip(&answers) {
        match applied {
            Applied::Created => tracing::debug!(order_id = order.id, "Shipment stored."),
            _ => tracing::info!("Shipment id {} already exists - ignored", order.id),
        }
    }
    Ok(answers)
}

/// `Created` for each order whose id was inserted now, the first time it appears; the rest
/// already existed.
fn first_copies(orders: &[OrderPlaced], inserted: &HashSet<i64>) -> Vec<Applied> {
    let mut answered = HashSet::new();
    orders
        .iter()
        .map(|order| {
            if inserted.contains(&order.id) && answered.insert(order.id) {
                Applied::Created
            } else {
                Applied::AlreadyPresent
            }
        })
        .collect()
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
    Ok(shipments_after(db, id - 1, 1)
        .await?
        .into_iter()
        .find(|shipment| shipment.id == id))
}

/// Up to `limit` shipments with ids above `after`, ascending, with their lines.
pub async fn shipments_after(
    db: &Database,
    after: i64,
    limit: i64,
) -> anyhow::Result<Vec<Shipment>> {
    let rows = sqlx::query(
        "SELECT id, customer_id, customer_name, customer_firstname, updated_ms, street, zip, city, \
         received_ms FROM shipment WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(db.pool())
    .await
    .context("failed to load shipments")?;
    let Some(last) = rows
        .last()
        .map(|row| row.try_get::<i64, _>("id"))
        .transpose()?
    else {
        return Ok(Vec::new());
    };
    let mut lines: BTreeMap<i64, Vec<ShipmentLine>> = BTreeMap::new();
    for line in sqlx::query(
        "SELECT shipment_id, count, item_id, item_name FROM shipment_line \
         WHERE shipment_id > $1 AND shipment_id <= $2 ORDER BY shipment_id, line_no",
    )
    .bind(after)
    .bind(last)
    .fetch_all(db.pool())
    .await
    .context("failed to load shipment lines")?
    {
        lines
            .entry(line.try_get("shipment_id")?)
            .or_default()
            .push(ShipmentLine {
                count: line.try_get("count")?,
                item_id: line.try_get("item_id")?,
                item_name: line.try_get("item_name")?,
            });
    }
    rows.iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            Ok(Shipment {
                id,
                customer: ShipmentCustomer {
                    customer_id: row.try_get("customer_id")?,
                    name: row.try_get("customer_name")?,
                    firstname: row.try_get("customer_firstname")?,
                },
                updated: EpochMillis(row.try_get("updated_ms")?),
                shipping_address: Address {
                    street: row.try_get("street")?,
                    zip: row.try_get("zip")?,
                    city: row.try_get("city")?,
                },
                lines: lines.remove(&id).unwrap_or_default(),
                received_ms: row.try_get("received_ms")?,
            })
        })
        .collect()
}
