//! The shipping service's queries for its pages: listing and showing shipments.

use std::collections::BTreeMap;

use anyhow::Context;
use orderflow_events::{Address, EpochMillis, OrderPlaced};
use orderflow_storage::Database;
use serde::Serialize;
use sqlx::Row;

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
    /// The shipment `order` becomes, stored at `received_ms`.
    pub fn of(order: &OrderPlaced, received_ms: i64) -> Self {
        Shipment {
            id: order.id,
            customer: ShipmentCustomer {
                customer_id: order.customer.customer_id,
                name: order.customer.name.clone(),
                firstname: order.customer.firstname.clone(),
            },
            updated: order.updated,
            shipping_address: order.shipping_address.clone(),
            lines: order
                .order_line
                .iter()
                .map(|line| ShipmentLine {
                    count: line.count,
                    item_id: line.item.item_id,
                    item_name: line.item.name.clone(),
                })
                .collect(),
            received_ms,
        }
    }

    /// "Eberhard Wolff".
    pub fn customer_name(&self) -> String {
        format!("{} {}", self.customer.firstname, self.customer.name)
    }
}

/// The newest shipments first, at most `limit`.
pub async fn newest_shipments(db: &Database, limit: i64) -> anyhow::Result<Vec<ShipmentSummary>> {
    let shipments = sqlx::query(
        "SELECT id, customer_firstname, customer_name FROM shipment ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
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
    Ok(shipments)
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
