//! The bonus service's queries for its pages: customers with their points, a customer's orders.

use anyhow::Context;
use orderflow_events::{EpochMillis, Price};
use orderflow_storage::Database;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

/// What one live order earned; also what `GET /api/orders` lists and `orderflow check` compares.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BonusOrder {
    /// The order's id.
    pub id: i64,
    pub customer: BonusCustomer,
    /// When the order was placed.
    pub updated: EpochMillis,
    pub total: Price,
    pub points: i64,
    /// When this row was stored, epoch milliseconds.
    pub received_ms: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BonusCustomer {
    pub customer_id: i64,
    pub name: String,
    pub firstname: String,
}

/// A customer's standing: what `GET /api/points` lists and the customers page shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerPoints {
    #[serde(flatten)]
    pub customer: BonusCustomer,
    pub points: i64,
    /// Live orders that earned them.
    pub orders: i64,
}

impl BonusCustomer {
    /// "Eberhard Wolff".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.firstname, self.name)
    }
}

/// Customers with points, most points first: every one, or the first `limit`.
pub async fn customers(db: &Database, limit: Option<i64>) -> anyhow::Result<Vec<CustomerPoints>> {
    sqlx::query(&format!(
        "{SELECT_STANDING} ORDER BY c.points DESC, c.customer_id LIMIT $1"
    ))
    .bind(limit.unwrap_or(i64::MAX))
    .fetch_all(db.pool())
    .await
    .context("failed to read the customers' points")?
    .iter()
    .map(customer_points)
    .collect()
}

/// One customer's standing, if they have points.
pub async fn standing(db: &Database, customer_id: i64) -> anyhow::Result<Option<CustomerPoints>> {
    sqlx::query(&format!("{SELECT_STANDING} WHERE c.customer_id = $1"))
        .bind(customer_id)
        .fetch_optional(db.pool())
        .await
        .context("failed to read the customer's points")?
        .as_ref()
        .map(customer_points)
        .transpose()
}

/// A customer's standing is kept by triggers on bonus_order (migrations 0002_bonus_customer, 0003_row_count_triggers), so that reading
/// it costs a row per customer, not a sum over every order; the name is the newest order's.
const SELECT_STANDING: &str = "SELECT c.customer_id, n.customer_name, n.customer_firstname, \
                               c.points, c.orders FROM bonus_customer c \
                               JOIN bonus_order n ON n.id = c.newest_order_id";

fn customer_points(row: &AnyRow) -> anyhow::Result<CustomerPoints> {
    Ok(CustomerPoints {
        customer: BonusCustomer {
            customer_id: row.try_get("customer_id")?,
            name: row.try_get("customer_name")?,
            firstname: row.try_get("customer_firstname")?,
        },
        points: row.try_get("points")?,
        orders: row.try_get("orders")?,
    })
}

/// Up to `limit` of a customer's live orders, newest first, and how many they have.
pub async fn orders_of(
    db: &Database,
    customer_id: i64,
    limit: i64,
) -> anyhow::Result<Vec<BonusOrder>> {
    sqlx::query(&format!(
        "{SELECT_ORDER} WHERE customer_id = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(customer_id)
    .bind(limit)
    .fetch_all(db.pool())
    .await
    .context("failed to load the customer's orders")?
    .iter()
    .map(bonus_order)
    .collect()
}

/// Up to `limit` orders with ids above `after`, ascending.
pub async fn orders_after(
    db: &Database,
    after: i64,
    limit: i64,
) -> anyhow::Result<Vec<BonusOrder>> {
    sqlx::query(&format!(
        "{SELECT_ORDER} WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(db.pool())
    .await
    .context("failed to load bonus orders")?
    .iter()
    .map(bonus_order)
    .collect()
}

const SELECT_ORDER: &str = "SELECT id, customer_id, customer_name, customer_firstname, total, \
                            points, updated_ms, received_ms FROM bonus_order";

fn bonus_order(row: &AnyRow) -> anyhow::Result<BonusOrder> {
    let total: String = row.try_get("total")?;
    Ok(BonusOrder {
        id: row.try_get("id")?,
        customer: BonusCustomer {
            customer_id: row.try_get("customer_id")?,
            name: row.try_get("customer_name")?,
            firstname: row.try_get("customer_firstname")?,
        },
        updated: EpochMillis(row.try_get("updated_ms")?),
        total: total
            .parse()
            .with_context(|| format!("stored total {total:?} is not a decimal"))?,
        points: row.try_get("points")?,
        received_ms: row.try_get("received_ms")?,
    })
}
