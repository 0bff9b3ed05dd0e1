//! The order service's queries. Portable SQL for PostgreSQL and SQLite (see orderflow-storage).

use std::collections::BTreeMap;

use anyhow::Context;
use orderflow_events::{
    Address, Customer, EpochMillis, Item, OrderLine, OrderPlaced, Price, order_created_key,
    order_state_key,
};
use orderflow_storage::{Backend, Database, params};
use sqlx::{AnyConnection, Row};

use crate::domain::ResolvedOrder;

/// The event type of an order's first event; sent as the `ce_type` header.
pub const ORDER_CREATED: &str = "order.created";

/// The event type of an order's deletion: only its state changes (a tombstone on
/// `order-state`); the `order` topic, as the originals', carries creations only. Its outbox row
/// has no document (an empty payload).
pub const ORDER_DELETED: &str = "order.deleted";

/// How many orders the list page shows at most, newest first.
pub const LIST_LIMIT: i64 = 500;

/// A row of the order list.
#[derive(Debug, Clone)]
pub struct OrderSummary {
    pub id: i64,
    pub customer_name: String,
    pub total_price: Price,
}

/// An order ready to be stored: resolved against the catalog, stamped with the time it was
/// placed, and carrying the trace context of the request that placed it.
#[derive(Debug, Clone)]
pub struct OrderToStore {
    pub order: ResolvedOrder,
    pub placed: EpochMillis,
    pub traceparent: Option<String>,
}

/// Stores the orders and their `order.created` events in the transaction `tx` belongs to: each
/// order with its event, or (the transaction rolled back) none of them. Returns the events as
/// they will be published, in the order of `orders`.
///
/// Five statements whatever the batch's size: the orders' ids are taken first (a multi-row
/// insert's `RETURNING` order is not guaranteed on either backend, so ids that come back could
/// not be matched to their orders), then one statement for all orders, one for all lines and
/// one for all events, as few as the parameter limits allow. (PostgreSQL's writer uses
/// [`store_orders_in_one_statement`].)
pub async fn store_orders(
    tx: &mut AnyConnection,
    backend: Backend,
    orders: &[OrderToStore],
) -> anyhow::Result<Vec<OrderPlaced>> {
    let ids = allocate_order_ids(tx, backend, orders.len()).await?;
    let events = events_of(&ids, orders);
    let rows: Vec<(&OrderPlaced, &OrderToStore)> = events.iter().zip(orders).collect();
    params::insert_rows(
        tx,
        "INSERT INTO orders (id, customer_id, updated_ms, shipping_street, shipping_zip, \
         shipping_city, billing_street, billing_zip, billing_city, total_price)",
        10,
        "",
        &rows,
        |query, (event, stored)| {
            let (ship, bill) = (&event.shipping_address, &event.billing_address);
            query
                .bind(event.id)
                .bind(event.customer.customer_id)
                .bind(event.updated.0)
                .bind(&ship.street)
                .bind(&ship.zip)
                .bind(&ship.city)
                .bind(&bill.street)
                .bind(&bill.zip)
                .bind(&bill.city)
                .bind(stored.order.total.to_string())
        },
    )
    .await
    .context("failed to insert the orders")?;

    let lines: Vec<(i64, usize, &OrderLine)> = events
        .iter()
        .flat_map(|event| {
            event
                .order_line
                .iter()
                .enumerate()
                .map(|(line_no, line)| (event.id, line_no, line))
        })
        .collect();
    params::insert_rows(
        tx,
        "INSERT INTO order_line (order_id, line_no, count, item_id, item_name, price)",
        6,
        "",
        &lines,
        |query, (id, line_no, line)| {
            query
                .bind(*id)
                .bind(*line_no as i64)
                .bind(line.count)
                .bind(line.item.item_id)
                .bind(&line.item.name)
                .bind(line.item.price.to_string())
        },
    )
    .await
    .context("failed to insert the order lines")?;

    let outbox: Vec<(&OrderPlaced, &OrderToStore, String)> = events
        .iter()
        .zip(orders)
        .map(|(event, stored)| (event, stored, event.to_json()))
        .collect();
    params::insert_rows(
        tx,
        "INSERT INTO order_event (order_id, event_type, event_key, payload, created_ms, \
         traceparent)",
        6,
        "",
        &outbox,
        |query, (event, stored, payload)| {
            query
                .bind(event.id)
                .bind(ORDER_CREATED)
                .bind(order_created_key(event.id))
                .bind(payload.as_str())
                .bind(stored.placed.0)
                .bind(stored.traceparent.as_deref())
        },
    )
    .await
    .context("failed to insert the orders' events")?;
    Ok(events)
}

/// The `order.created` events of `orders` stored under `ids`, in the same order.
fn events_of(ids: &[i64], orders: &[OrderToStore]) -> Vec<OrderPlaced> {
    ids.iter()
        .zip(orders)
        .map(|(id, OrderToStore { order, placed, .. })| {
            OrderPlaced::new(
                *id,
                order.customer.clone(),
                *placed,
                order.shipping_address.clone(),
                order.billing_address.clone(),
                order.lines.clone(),
            )
        })
        .collect()
}

/// PostgreSQL: stores the orders and their events like [`store_orders`], in two round trips
/// instead of six: the ids first (`nextval` needs no transaction), then one statement that
/// inserts the orders, their lines and their events at once (data-modifying `WITH` clauses; one
/// statement is one transaction). Each round trip costs the group-commit writer the time until
/// the order service is scheduled again, and on a busy machine those gaps were most of its
/// time: `pg_stat_activity` sampled during `orderflow load -n 8000 -c 64` found the writer's
/// session idle inside its transaction for 0.63 of the 0.87 it was busy (BEGIN, ids, three
/// inserts, COMMIT).
///
/// The rows travel as one JSON document read by `jsonb_to_recordset`, so the statement's text
/// is the same for every batch (prepared once per connection) whatever the number of orders and
/// lines; sqlx's `Any` driver cannot bind arrays, which `UNNEST` would take.
pub async fn store_orders_in_one_statement(
    db: &Database,
    orders: &[OrderToStore],
) -> anyhow::Result<Vec<OrderPlaced>> {
    let mut connection = db
        .pool()
        .acquire()
        .await
        .context("no database connection")?;
    let ids = allocate_order_ids(&mut connection, Backend::Postgres, orders.len()).await?;
    let events = events_of(&ids, orders);
    let document = batch_document(&events, orders);
    sqlx::query(STORE_BATCH)
        .bind(document.to_string())
        .execute(&mut *connection)
        .await
        .context("failed to store the orders")?;
    Ok(events)
}

/// The rows of a batch for [`STORE_BATCH`]: `{"orders": [...], "lines": [...], "events": [...]}`.
fn batch_document(events: &[OrderPlaced], orders: &[OrderToStore]) -> serde_json::Value {
    let rows = events.iter().zip(orders);
    let order_rows: Vec<serde_json::Value> = rows
        .clone()
        .map(|(event, stored)| {
            let (ship, bill) = (&event.shipping_address, &event.billing_address);
            serde_json::json!({
                "id": event.id,
                "customer_id": event.customer.customer_id,
                "updated_ms": event.updated.0,
                "shipping_street": ship.street,
                "shipping_zip": ship.zip,
                "shipping_city": ship.city,
                "billing_street": bill.street,
                "billing_zip": bill.zip,
                "billing_city": bill.city,
                "total_price": stored.order.total.to_string(),
            })
        })
        .collect();
    let line_rows: Vec<serde_json::Value> = events
        .iter()
        .flat_map(|event| {
            event.order_line.iter().enumerate().map(|(line_no, line)| {
                serde_json::json!({
                    "order_id": event.id,
                    "line_no": line_no,
                    "count": line.count,
                    "item_id": line.item.item_id,
                    "item_name": line.item.name,
                    "price": line.item.price.to_string(),
                })
            })
        })
        .collect();
    let event_rows: Vec<serde_json::Value> = rows
        .map(|(event, stored)| {
            serde_json::json!({
                "order_id": event.id,
                "event_type": ORDER_CREATED,
                "event_key": order_created_key(event.id),
                "payload": event.to_json(),
                "created_ms": stored.placed.0,
                "traceparent": stored.traceparent,
            })
        })
        .collect();
    serde_json::json!({ "orders": order_rows, "lines": line_rows, "events": event_rows })
}

/// One batch in one statement (PostgreSQL). The events are inserted in the document's order,
/// which is the orders' (their ids, hence the relay's order, follow it).
const STORE_BATCH: &str = "WITH batch AS (SELECT $1::jsonb AS doc), \
     new_orders AS (INSERT INTO orders (id, customer_id, updated_ms, shipping_street, \
       shipping_zip, shipping_city, billing_street, billing_zip, billing_city, total_price) \
       SELECT * FROM jsonb_to_recordset((SELECT doc -> 'orders' FROM batch)) AS o(id BIGINT, \
       customer_id BIGINT, updated_ms BIGINT, shipping_street TEXT, shipping_zip TEXT, \
       shipping_city TEXT, billing_street TEXT, billing_zip TEXT, billing_city TEXT, \
       total_price TEXT)), \
     new_lines AS (INSERT INTO order_line (order_id, line_no, count, item_id, item_name, price) \
       SELECT * FROM jsonb_to_recordset((SELECT doc -> 'lines' FROM batch)) AS l(order_id \
       BIGINT, line_no BIGINT, count BIGINT, item_id BIGINT, item_name TEXT, price TEXT)) \
     INSERT INTO order_event (order_id, event_type, event_key, payload, created_ms, traceparent) \
     SELECT order_id, event_type, event_key, payload, created_ms, traceparent \
     FROM ROWS FROM (jsonb_to_recordset((SELECT doc -> 'events' FROM batch)) AS (order_id \
     BIGINT, event_type TEXT, event_key TEXT, payload TEXT, created_ms BIGINT, traceparent TEXT)) \
     WITH ORDINALITY AS e(order_id, event_type, event_key, payload, created_ms, traceparent, n) \
     ORDER BY n";

/// `count` new order ids, ascending, that no other writer will use.
///
/// PostgreSQL: from the table's sequence (several order instances may write at once).
/// SQLite: after the highest id ever given (AUTOINCREMENT's `sqlite_sequence`, which an insert
/// with explicit ids moves on); the transaction holds the file's write lock from its start.
async fn allocate_order_ids(
    tx: &mut AnyConnection,
    backend: Backend,
    count: usize,
) -> anyhow::Result<Vec<i64>> {
    let count = i64::try_from(count).context("too many orders at once")?;
    match backend {
        Backend::Postgres => {
            let mut ids = sqlx::query(
                "SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id \
                 FROM generate_series(1, $1)",
            )
            .bind(count)
            .fetch_all(&mut *tx)
            .await
            .context("failed to take order ids")?
            .iter()
            .map(|row| row.try_get::<i64, _>("id"))
            .collect::<Result<Vec<_>, _>>()
            .context("failed to read an order id")?;
            ids.sort_unstable();
            Ok(ids)
        }
        Backend::Sqlite => {
            let last: i64 = sqlx::query(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'orders'), 0) \
                 AS last",
            )
            .fetch_one(&mut *tx)
            .await
            .context("failed to read the last order id")?
            .try_get("last")
            .context("failed to read the last order id")?;
            Ok((last + 1..=last + count).collect())
        }
    }
}

/// The newest orders first, at most [`LIST_LIMIT`], and how many there are in all.
pub async fn list_orders(db: &Database) -> anyhow::Result<(Vec<OrderSummary>, i64)> {
    let rows = sqlx::query(
        "SELECT o.id, c.firstname, c.name, o.total_price FROM orders o \
         JOIN customer c ON c.id = o.customer_id ORDER BY o.id DESC LIMIT $1",
    )
    .bind(LIST_LIMIT)
    .fetch_all(db.pool())
    .await
    .context("failed to list orders")?;
    let orders = rows
        .iter()
        .map(|row| {
            let firstname: String = row.try_get("firstname")?;
            let name: String = row.try_get("name")?;
            Ok(OrderSummary {
                id: row.try_get("id")?,
                customer_name: format!("{firstname} {name}"),
                total_price: parse_price(row.try_get("total_price")?)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((orders, db.row_count("orders").await?))
}

/// The order as the whole document consumers read (same as its event's value).
pub async fn load_order(db: &Database, id: i64) -> anyhow::Result<Option<OrderPlaced>> {
    Ok(orders_after(db, id - 1, 1)
        .await?
        .into_iter()
        .find(|order| order.id == id))
}

/// Up to `limit` orders with ids above `after`, ascending, each the whole document consumers read.
pub async fn orders_after(
    db: &Database,
    after: i64,
    limit: i64,
) -> anyhow::Result<Vec<OrderPlaced>> {
    let rows = sqlx::query(
        "SELECT o.id, o.updated_ms, o.shipping_street, o.shipping_zip, o.shipping_city, \
         o.billing_street, o.billing_zip, o.billing_city, \
         c.id AS customer_id, c.name, c.firstname, c.email \
         FROM orders o JOIN customer c ON c.id = o.customer_id WHERE o.id > $1 ORDER BY o.id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(db.pool())
    .await
    .context("failed to load orders")?;
    let Some(last) = rows
        .last()
        .map(|row| row.try_get::<i64, _>("id"))
        .transpose()?
    else {
        return Ok(Vec::new());
    };
    let mut lines: BTreeMap<i64, Vec<OrderLine>> = BTreeMap::new();
    for line in sqlx::query(
        "SELECT order_id, count, item_id, item_name, price FROM order_line \
         WHERE order_id > $1 AND order_id <= $2 ORDER BY order_id, line_no",
    )
    .bind(after)
    .bind(last)
    .fetch_all(db.pool())
    .await
    .context("failed to load order lines")?
    {
        lines
            .entry(line.try_get("order_id")?)
            .or_default()
            .push(OrderLine {
                count: line.try_get("count")?,
                item: Item {
                    item_id: line.try_get("item_id")?,
                    name: line.try_get("item_name")?,
                    price: parse_price(line.try_get("price")?)?,
                    // The order's document is the contract's record, which has no category.
                    category: None,
                },
            });
    }
    let mut orders = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        // Every stored order has a line. None means it was deleted between the two reads:
        // leave it out rather than hand out a copy without lines.
        let Some(order_lines) = lines.remove(&id) else {
            continue;
        };
        let address = |prefix: &str| -> anyhow::Result<Address> {
            Ok(Address {
                street: row.try_get(format!("{prefix}_street").as_str())?,
                zip: row.try_get(format!("{prefix}_zip").as_str())?,
                city: row.try_get(format!("{prefix}_city").as_str())?,
            })
        };
        orders.push(OrderPlaced::new(
            id,
            Customer {
                customer_id: row.try_get("customer_id")?,
                name: row.try_get("name")?,
                firstname: row.try_get("firstname")?,
                email: row.try_get("email")?,
            },
            EpochMillis(row.try_get("updated_ms")?),
            address("shipping")?,
            address("billing")?,
            order_lines,
        ));
    }
    Ok(orders)
}

/// Whether order `id` was ever announced (it may have been deleted since).
pub async fn was_announced(db: &Database, id: i64) -> anyhow::Result<bool> {
    Ok(
        sqlx::query("SELECT id FROM order_event WHERE order_id = $1 LIMIT 1")
            .bind(id)
            .fetch_optional(db.pool())
            .await
            .context("failed to look for the order's event")?
            .is_some(),
    )
}

/// Deletes the order and its lines, and stores its `order.deleted` event in the same
/// transaction; `false` when there was no such order. Its earlier events stay in the log:
/// shipping's and invoicing's copies are not touched; readers of each order's state (bonus)
/// learn of the deletion.
pub async fn delete_order(db: &Database, id: i64) -> anyhow::Result<bool> {
    let mut tx = db.begin().await.context("failed to begin a transaction")?;
    // Explicit, rather than relying on ON DELETE CASCADE, which SQLite enforces only with
    // foreign keys switched on.
    sqlx::query("DELETE FROM order_line WHERE order_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("failed to delete the order's lines")?;
    let deleted = sqlx::query("DELETE FROM orders WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("failed to delete the order")?
        .rows_affected();
    if deleted > 0 {
        sqlx::query(
            "INSERT INTO order_event (order_id, event_type, event_key, payload, created_ms, \
             traceparent) VALUES ($1, $2, $3, '', $4, $5)",
        )
        .bind(id)
        .bind(ORDER_DELETED)
        .bind(order_state_key(id))
        .bind(EpochMillis::now().0)
        .bind(orderflow_telemetry::traceparent(&tracing::Span::current()))
        .execute(&mut *tx)
        .await
        .context("failed to store the order's deletion")?;
    }
    tx.commit().await.context("failed to commit the deletion")?;
    Ok(deleted > 0)
}

/// What waits in the outbox.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outbox {
    /// Events not yet acknowledged by the broker.
    pub pending: i64,
    /// When the oldest of them was stored, epoch milliseconds.
    pub oldest_ms: Option<i64>,
}

pub async fn outbox(db: &Database) -> anyhow::Result<Outbox> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MIN(created_ms) AS oldest FROM order_event WHERE published_ms IS NULL",
    )
    .fetch_one(db.pool())
    .await
    .context("failed to read the outbox")?;
    Ok(Outbox {
        pending: row.try_get("n")?,
        oldest_ms: row.try_get("oldest")?,
    })
}

/// How far an order got on its way out, as the live page shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Journey {
    pub id: i64,
    pub customer: String,
    pub total: String,
    /// When it was stored with its event, epoch milliseconds.
    pub placed_ms: i64,
    /// When the broker acknowledged its event; `None` while it waits in the outbox (always, in
    /// feed mode: readers take it from the table).
    pub published_ms: Option<i64>,
    /// Its position in the feed, once sequenced.
    pub position: Option<i64>,
}

/// The newest `limit` orders first, with their events' progress.
pub async fn journeys(db: &Database, limit: i64) -> anyhow::Result<Vec<Journey>> {
    let rows = sqlx::query(
        "SELECT o.id, c.firstname, c.name, o.total_price, e.created_ms, e.published_ms, \
         e.position FROM orders o JOIN customer c ON c.id = o.customer_id \
         JOIN order_event e ON e.order_id = o.id AND e.event_type = $1 \
         ORDER BY o.id DESC LIMIT $2",
    )
    .bind(ORDER_CREATED)
    .bind(limit)
    .fetch_all(db.pool())
    .await
    .context("failed to read the newest orders")?;
    rows.iter()
        .map(|row| {
            Ok(Journey {
                id: row.try_get("id")?,
                customer: format!(
                    "{} {}",
                    row.try_get::<String, _>("firstname")?,
                    row.try_get::<String, _>("name")?
                ),
                total: row.try_get("total_price")?,
                placed_ms: row.try_get("created_ms")?,
                published_ms: row.try_get("published_ms")?,
                position: row.try_get("position")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .context("failed to read an order's journey")
}

fn parse_price(text: String) -> anyhow::Result<Price> {
    text.parse()
        .with_context(|| format!("stored price `{text}` is not a decimal"))
}
