//! The feed's side of the `order_event` table: the sequencer that gives committed events their
//! positions, and the queries behind `/feed`.

use anyhow::Context;
use orderflow_events::{EpochMillis, OrderPlaced};
use orderflow_feed::FeedEntry;
use orderflow_storage::{Backend, Database};
use sqlx::Row;

/// Gives positions to up to `limit` committed events that have none, in id order; returns how
/// many. Sequencers of several order instances take turns on the `feed_sequence` row.
pub async fn sequence_pending(db: &Database, limit: i64) -> anyhow::Result<usize> {
    let mut tx = db.begin().await.context("failed to begin a transaction")?;
    let lock = match db.backend() {
        Backend::Postgres => " FOR UPDATE",
        // BEGIN IMMEDIATE already holds the write lock.
        Backend::Sqlite => "",
    };
    let state = sqlx::query(&format!(
        "SELECT last_position, last_sequenced_ms FROM feed_sequence WHERE id = 1{lock}"
    ))
    .fetch_one(&mut *tx)
    .await
    .context("failed to read the feed sequence")?;
    let (mut position, last_ms): (i64, i64) = (
        state.try_get("last_position")?,
        state.try_get("last_sequenced_ms")?,
    );
    // Never backwards, even if the clock is: documents are cut at whole seconds of this time.
    let sequenced_ms = EpochMillis::now().0.max(last_ms);
    // One statement numbers the oldest unsequenced events in id order and gives them the next
    // positions (window functions and UPDATE ... FROM: PostgreSQL, and SQLite since 3.33).
    let sequenced = sqlx::query(
        "WITH numbered AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM order_event \
         WHERE position IS NULL ORDER BY id LIMIT $1) \
         UPDATE order_event SET position = $2 + numbered.n, sequenced_ms = $3 \
         FROM numbered WHERE order_event.id = numbered.id",
    )
    .bind(limit)
    .bind(position)
    .bind(sequenced_ms)
    .execute(&mut *tx)
    .await
    .context("failed to give events their positions")?
    .rows_affected();
    if sequenced == 0 {
        return Ok(0);
    }
    position += sequenced as i64;
    sqlx::query("UPDATE feed_sequence SET last_position = $1, last_sequenced_ms = $2 WHERE id = 1")
        .bind(position)
        .bind(sequenced_ms)
        .execute(&mut *tx)
        .await
        .context("failed to store the feed sequence")?;
    tx.commit()
        .await
        .context("failed to commit feed positions")?;
    Ok(sequenced as usize)
}

/// The newest position sequenced before `cutoff_ms` (0 when there is none).
pub async fn newest_visible(db: &Database, cutoff_ms: i64) -> anyhow::Result<i64> {
    let row = sqlx::query(
        "SELECT position FROM order_event WHERE position IS NOT NULL AND sequenced_ms < $1 \
         ORDER BY position DESC LIMIT 1",
    )
    .bind(cutoff_ms)
    .fetch_optional(db.pool())
    .await
    .context("failed to read the newest feed position")?;
    Ok(match row {
        Some(row) => row.try_get("position")?,
        None => 0,
    })
}

/// The first position sequenced at or after `from_ms`, if any (positions and their times grow
/// together: the sequencer never goes back in time).
pub async fn first_sequenced_from(db: &Database, from_ms: i64) -> anyhow::Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT position FROM order_event WHERE position IS NOT NULL AND sequenced_ms >= $1 \
         ORDER BY sequenced_ms, position LIMIT 1",
    )
    .bind(from_ms)
    .fetch_optional(db.pool())
    .await
    .context("failed to find where a reader left the feed")?;
    Ok(match row {
        Some(row) => Some(row.try_get("position")?),
        None => None,
    })
}

/// The entries with positions `first..=last` whose orders still exist, ascending, and when the
/// newest of them was sequenced (for `Last-Modified`). Each carries its order's document: its
/// `order.created` event's payload, the same JSON `GET /order/{id}` answers (an order's lines
/// never change after it is placed).
pub async fn entries(
    db: &Database,
    first: i64,
    last: i64,
) -> anyhow::Result<(Vec<FeedEntry>, i64)> {
    let rows = sqlx::query(
        "SELECT e.position, e.order_id, e.created_ms, e.sequenced_ms, e.traceparent, e.payload \
         FROM order_event e \
         JOIN orders o ON o.id = e.order_id \
         WHERE e.position >= $1 AND e.position <= $2 ORDER BY e.position",
    )
    .bind(first)
    .bind(last)
    .fetch_all(db.pool())
    .await
    .context("failed to read feed entries")?;
    let mut last_sequenced = 0;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        last_sequenced = last_sequenced.max(row.try_get::<i64, _>("sequenced_ms")?);
        entries.push(FeedEntry {
            position: row.try_get("position")?,
            order_id: row.try_get("order_id")?,
            updated_ms: row.try_get("created_ms")?,
            traceparent: row.try_get("traceparent")?,
            order: contract_document(row.try_get("payload")?),
        });
    }
    Ok((entries, last_sequenced))
}

/// The order's document as `GET /order/{id}` answers it (the contract's record) from its
/// event's payload, which keeps the fields of later versions too (items' categories). `None` for
/// a deletion's empty payload, or one that does not read (the reader then fetches the order).
fn contract_document(payload: String) -> Option<String> {
    if payload.is_empty() {
        return None;
    }
    if !payload.contains("\"category\"") {
        return Some(payload);
    }
    OrderPlaced::from_json(payload.as_bytes())
        .ok()
        .map(|order| order.to_contract_json())
}
