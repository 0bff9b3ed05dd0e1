//! The feed's side of the `order_event` table: the sequencer that gives committed events their
//! positions, and the queries behind `/feed`.
//!
//! Positions are given in two places, both in one serialized step on the `feed_sequence` row:
//! with a publisher, the relay gives them to the events it has just published, in the same
//! statement that marks them published (`mark_published`: one new row version per event, not
//! two); without one, or while the publisher fails, `sequence_pending` gives them to the oldest
//! committed events, so that the feed never waits for a broker.

use anyhow::Context;
use orderflow_events::{EpochMillis, OrderPlaced};
use orderflow_feed::FeedEntry;
use orderflow_storage::{Backend, Database, params};
use sqlx::{AnyConnection, Row};

/// Where the sequence stands, read with the `feed_sequence` row locked.
struct Sequence {
    last_position: i64,
    /// When the positions are given: never before the last step, even if the clock went back,
    /// because documents are cut at whole seconds of this time.
    sequenced_ms: i64,
}

impl Sequence {
    async fn lock(connection: &mut AnyConnection, backend: Backend) -> anyhow::Result<Sequence> {
        let state = sqlx::query(&format!(
            "SELECT last_position, last_sequenced_ms FROM feed_sequence WHERE id = 1{}",
            backend.for_update()
        ))
        .fetch_one(&mut *connection)
        .await
        .context("failed to read the feed sequence")?;
        let last_ms: i64 = state.try_get("last_sequenced_ms")?;
        Ok(Sequence {
            last_position: state.try_get("last_position")?,
            sequenced_ms: EpochMillis::now().0.max(last_ms),
        })
    }

    /// Stores that positions up to `last_position` are given.
    async fn advance(
        &self,
        connection: &mut AnyConnection,
        last_position: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE feed_sequence SET last_position = $1, last_sequenced_ms = $2 WHERE id = 1",
        )
        .bind(last_position)
        .bind(self.sequenced_ms)
        .execute(connection)
        .await
        .context("failed to store the feed sequence")?;
        Ok(())
    }
}

/// Marks the events `ids` published and gives those that have no position yet the next ones, in
/// id order, in one statement; returns how many got a position. Runs in the caller's
/// transaction, which holds the rows (the relay's `FOR UPDATE SKIP LOCKED`) and then locks the
/// sequence until it commits.
pub async fn mark_published(
    connection: &mut AnyConnection,
    backend: Backend,
    ids: &[i64],
) -> anyhow::Result<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let sequence = Sequence::lock(connection, backend).await?;
    let placeholders = params::Placeholders::of(connection);
    // Anonymous placeholders are bound in the order they appear: the ids first.
    let update = format!(
        "WITH numbered AS (SELECT id, SUM(CASE WHEN position IS NULL THEN 1 ELSE 0 END) \
         OVER (ORDER BY id) AS n FROM order_event WHERE id IN ({ids})) \
         UPDATE order_event SET published_ms = {published}, \
         position = COALESCE(order_event.position, {base} + numbered.n), \
         sequenced_ms = COALESCE(order_event.sequenced_ms, {sequenced}) \
         FROM numbered WHERE order_event.id = numbered.id RETURNING order_event.position",
        ids = placeholders.list(1, ids.len()),
        published = placeholders.list(ids.len() + 1, 1),
        base = placeholders.list(ids.len() + 2, 1),
        sequenced = placeholders.list(ids.len() + 3, 1),
    );
    let mut query = sqlx::query(&update);
    for id in ids {
        query = query.bind(*id);
    }
    let positions = query
        .bind(EpochMillis::now().0)
        .bind(sequence.last_position)
        .bind(sequence.sequenced_ms)
        .fetch_all(&mut *connection)
        .await
        .context("failed to mark events published")?;
    // Positions given before are below the sequence's; the new ones follow it without a gap.
    let mut last_position = sequence.last_position;
    for row in &positions {
        last_position = last_position.max(row.try_get::<i64, _>(0)?);
    }
    let sequenced = last_position - sequence.last_position;
    if sequenced > 0 {
        sequence.advance(connection, last_position).await?;
    }
    Ok(sequenced as usize)
}

/// Which relays may hold unsequenced events while `sequence_pending` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relays {
    /// None: the feed recipe, where nothing is published.
    None,
    /// A relay publishing: it holds its events' rows until it has marked them, and waits for
    /// the sequence to do so, so waiting here for its rows while holding the sequence would be
    /// a deadlock. `sequence_pending` waits for them only briefly and tries again later.
    Publishing,
}

/// Gives positions to up to `limit` committed events that have none, in id order; returns how
/// many. Sequencers of several order instances take turns on the `feed_sequence` row.
pub async fn sequence_pending(db: &Database, limit: i64, relays: Relays) -> anyhow::Result<usize> {
    let mut tx = db.begin().await.context("failed to begin a transaction")?;
    if relays == Relays::Publishing && db.backend() == Backend::Postgres {
        sqlx::query("SET LOCAL lock_timeout = '200ms'")
            .execute(&mut *tx)
            .await
            .context("failed to limit the sequencer's wait for locks")?;
    }
    let sequence = Sequence::lock(&mut tx, db.backend()).await?;
    let (mut position, sequenced_ms) = (sequence.last_position, sequence.sequenced_ms);
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
    .await;
    let sequenced = match sequenced {
        Ok(done) => done.rows_affected(),
        // A relay holds the oldest of them: it gives them positions as it marks them.
        Err(error) if is_lock_timeout(&error) => 0,
        Err(error) => return Err(error).context("failed to give events their positions"),
    };
    if sequenced == 0 {
        return Ok(0);
    }
    position += sequenced as i64;
    sequence.advance(&mut tx, position).await?;
    tx.commit()
        .await
        .context("failed to commit feed positions")?;
    Ok(sequenced as usize)
}

/// PostgreSQL's `lock_not_available`, which `lock_timeout` raises.
fn is_lock_timeout(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|error| error.code())
        .is_some_and(|code| code == "55P03")
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
