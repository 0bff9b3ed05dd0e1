//! The outbox relay: publishes the events that `place_order` committed in the order they were
//! stored, marking each one published (and giving it its feed position, in the same statement)
//! only after the broker acknowledged it; without a publisher, or while it fails, it gives them
//! their feed positions alone.
//!
//! An event is therefore never lost (it stays pending until acknowledged, whatever crashes) and
//! may be published twice (acknowledged, then the mark is lost to a crash); consumers are
//! idempotent for that reason.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use orderflow_storage::{Backend, Database};
use orderflow_transport::{Backoff, OutgoingEvent, PublishError, Publisher, StateRecord};
use prometheus_client::metrics::histogram::Histogram;
use sqlx::{AnyConnection, Row};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use orderflow_events::{EpochMillis, order_state_key};

use crate::db::{ORDER_CREATED, ORDER_DELETED};
use crate::feed_db;

/// How the relay paces itself.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Events published per round trip.
    pub batch_size: i64,
    /// How often to look for events without being woken: events committed by another instance
    /// of order, or left pending by a failure.
    pub idle_poll: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        RelaySettings {
            batch_size: 500,
            idle_poll: Duration::from_secs(1),
        }
    }
}

/// Moves committed events from the `order_event` table to the transport.
#[derive(Clone)]
pub struct OutboxRelay {
    db: Database,
    /// Where events go besides the feed; `None` in feed mode.
    publisher: Option<Arc<dyn Publisher>>,
    /// Notified by the request handlers right after an order commits, so that its event leaves
    /// at once instead of at the next idle poll.
    wake: Arc<Notify>,
    settings: RelaySettings,
    /// Seconds from handing a batch to the publisher to its last acknowledgement (`/metrics`).
    publish_seconds: Histogram,
    /// Counts the rounds that gave events feed positions: long-polling feed readers wait on it.
    sequenced: Arc<watch::Sender<u64>>,
}

impl std::fmt::Debug for OutboxRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRelay")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl OutboxRelay {
    pub fn new(
        db: Database,
        publisher: Option<Arc<dyn Publisher>>,
        wake: Arc<Notify>,
        settings: RelaySettings,
    ) -> Self {
        OutboxRelay {
            db,
            publisher,
            wake,
            settings,
            publish_seconds: Histogram::new(orderflow_web::metrics::latency_buckets()),
            sequenced: Arc::new(watch::Sender::new(0)),
        }
    }

    /// Changes whenever events got feed positions (in this process); closed once the relay
    /// stopped.
    pub fn sequenced(&self) -> watch::Receiver<u64> {
        self.sequenced.subscribe()
    }

    /// How long each batch took to be acknowledged, for `/metrics`.
    pub fn publish_seconds(&self) -> &Histogram {
        &self.publish_seconds
    }

    /// Publishes until `shutdown`. Failures are logged and retried with backoff; they never end
    /// the loop, because the events wait safely in the table.
    pub async fn run(self, shutdown: CancellationToken) {
        // 400 ms after the first failure, doubling up to 6.4 s.
        let mut backoff = Backoff::new(Duration::from_millis(400), Duration::from_millis(6400));
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let delay = match self.relay_batch().await {
                Ok(published) => {
                    if backoff.failures() > 0 {
                        tracing::info!(published, "Publishing resumed.");
                        backoff.reset();
                    }
                    if published as i64 == self.settings.batch_size {
                        continue; // more are waiting
                    }
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = self.wake.notified() => continue,
                        _ = tokio::time::sleep(self.settings.idle_poll) => continue,
                    }
                }
                Err(error) => {
                    let delay = backoff.next_delay();
                    let failures = backoff.failures();
                    // Warn on the first failure of an outage, then only now and then.
                    if failures == 1 || failures.is_multiple_of(10) {
                        tracing::warn!(error = format!("{error:#}"), failures, retry_in = ?delay,
                            "Events could not be published; they stay in the outbox.");
                    }
                    delay
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        tracing::info!("Outbox relay stopped.");
    }

    /// Publishes one batch of pending events, or without a publisher gives them feed positions;
    /// returns how many it handled. Tests call it to drain the outbox without waiting for the
    /// loop.
    pub async fn relay_batch(&self) -> anyhow::Result<usize> {
        let Some(publisher) = &self.publisher else {
            let sequenced = feed_db::sequence_pending(
                &self.db,
                self.settings.batch_size,
                feed_db::Relays::None,
            )
            .await?;
            self.announce(sequenced);
            return Ok(sequenced);
        };
        let outcome = self.publish_batch(publisher.as_ref()).await;
        if outcome.is_err() {
            self.sequence_unpublished().await;
        }
        outcome
    }

    /// Published events get their feed positions as they are marked; while the broker is away,
    /// those waiting for it get theirs here, all of them: the feed never waits for a broker.
    async fn sequence_unpublished(&self) {
        loop {
            let sequenced = feed_db::sequence_pending(
                &self.db,
                self.settings.batch_size,
                feed_db::Relays::Publishing,
            )
            .await;
            match sequenced {
                Ok(sequenced) => {
                    self.announce(sequenced);
                    if (sequenced as i64) < self.settings.batch_size {
                        return;
                    }
                }
                Err(error) => {
                    tracing::debug!(
                        error = format!("{error:#}"),
                        "Unpublished events could not be given feed positions."
                    );
                    return;
                }
            }
        }
    }

    /// Wakes long-polling feed readers when events got positions.
    fn announce(&self, sequenced: usize) {
        if sequenced > 0 {
            self.sequenced.send_modify(|rounds| *rounds += 1);
        }
    }

    async fn publish_batch(&self, publisher: &dyn Publisher) -> anyhow::Result<usize> {
        publisher
            .prepare()
            .await
            .context("the transport is not ready")?;
        let sent = match self.db.backend() {
            // Several order instances may relay at once: each takes rows nobody else holds and
            // keeps them until they are marked, in the same transaction.
            Backend::Postgres => {
                let mut tx = self.begin().await?;
                let sent = self.send_pending(publisher, &mut tx).await?;
                self.commit_marks(tx, &sent.acknowledged).await?;
                sent
            }
            // One writer at a time: a transaction held across the publish would block the
            // order form, and there is only one order instance per SQLite file. The marks are
            // written in a transaction of their own.
            Backend::Sqlite => {
                let mut connection = self
                    .db
                    .pool()
                    .acquire()
                    .await
                    .context("no database connection")?;
                let sent = self.send_pending(publisher, &mut connection).await?;
                drop(connection);
                if !sent.acknowledged.is_empty() {
                    self.commit_marks(self.begin().await?, &sent.acknowledged)
                        .await?;
                }
                sent
            }
        };
        tracing::debug!(published = sent.acknowledged.len(), "Events published.");
        match sent.first_error {
            None => Ok(sent.acknowledged.len()),
            Some(error) => Err(anyhow::Error::new(error).context(format!(
                "{} of {} events were not acknowledged",
                sent.attempted - sent.acknowledged.len(),
                sent.attempted
            ))),
        }
    }

    async fn begin(&self) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Any>> {
        self.db
            .begin()
            .await
            .context("failed to begin a transaction")
    }

    /// Marks the `acknowledged` events published (and gives them feed positions) in `tx`, and
    /// commits it.
    async fn commit_marks(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        acknowledged: &[i64],
    ) -> anyhow::Result<()> {
        let sequenced = feed_db::mark_published(&mut tx, self.db.backend(), acknowledged).await?;
        tx.commit()
            .await
            .context("failed to commit published marks")?;
        self.announce(sequenced);
        Ok(())
    }

    /// Reads the oldest pending events on `connection` and hands them to the publisher.
    async fn send_pending(
        &self,
        publisher: &dyn Publisher,
        connection: &mut AnyConnection,
    ) -> anyhow::Result<Sent> {
        // Another relay may hold earlier rows (SKIP LOCKED passes them by). An event whose
        // order has an earlier one still unpublished waits for it: a deletion's tombstone must
        // never overtake the state it deletes, whoever publishes which.
        let select = format!(
            "SELECT id, order_id, event_key, payload, event_type, created_ms, traceparent \
             FROM order_event e WHERE published_ms IS NULL \
             AND NOT EXISTS (SELECT 1 FROM order_event earlier WHERE earlier.order_id = e.order_id \
             AND earlier.published_ms IS NULL AND earlier.id < e.id) \
             ORDER BY id LIMIT $1{}",
            self.db.backend().skip_locked()
        );
        let rows = sqlx::query(&select)
            .bind(self.settings.batch_size)
            .fetch_all(&mut *connection)
            .await
            .context("failed to read pending events")?
            .iter()
            .map(OutboxRow::read)
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .context("failed to read a pending event")?;
        if rows.is_empty() {
            return Ok(Sent::default());
        }
        // One span per event, in the trace of the request that stored it, open until the broker
        // acknowledged it; the records carry the span's context on.
        let now = EpochMillis::now().0;
        let (events, _spans): (Vec<OutgoingEvent>, Vec<tracing::Span>) = rows
            .into_iter()
            .map(|row| {
                let span = tracing::info_span!(
                    "publish",
                    order_id = row.order_id,
                    event = %row.event_type,
                    outbox_ms = now - row.created_ms,
                    trace_id = tracing::field::Empty,
                );
                orderflow_telemetry::continue_trace(&span, row.traceparent.as_deref());
                let mut event = row.outgoing();
                event.traceparent = orderflow_telemetry::traceparent(&span);
                (event, span)
            })
            .unzip();

        let started = tokio::time::Instant::now();
        let results = publisher.publish(&events).await;
        self.publish_seconds
            .observe(started.elapsed().as_secs_f64());
        // Only the events before the first failure count as sent: one after it may be the same
        // order's deletion, and its tombstone must never overtake the order's state (it would
        // bring the order back once compacted). The rest is sent again; readers are idempotent.
        let mut sent = Sent {
            attempted: events.len(),
            ..Sent::default()
        };
        for (event, result) in events.iter().zip(results) {
            match result {
                Ok(()) if sent.first_error.is_none() => sent.acknowledged.push(event.id),
                Ok(()) => {}
                Err(error) => {
                    sent.first_error.get_or_insert(error);
                }
            }
        }
        Ok(sent)
    }
}

/// What one publish achieved.
#[derive(Debug, Default)]
struct Sent {
    /// How many events were handed to the publisher.
    attempted: usize,
    /// The ids of the events acknowledged before the first failure, to be marked published.
    acknowledged: Vec<i64>,
    first_error: Option<PublishError>,
}

/// A pending row of the outbox.
#[derive(Debug)]
struct OutboxRow {
    id: i64,
    order_id: i64,
    key: String,
    payload: String,
    event_type: String,
    created_ms: i64,
    /// The storing request's trace context, if it was traced.
    traceparent: Option<String>,
}

impl OutboxRow {
    fn read(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(OutboxRow {
            id: row.try_get("id")?,
            order_id: row.try_get("order_id")?,
            key: row.try_get("event_key")?,
            payload: row.try_get("payload")?,
            event_type: row.try_get("event_type")?,
            created_ms: row.try_get("created_ms")?,
            traceparent: row.try_get("traceparent")?,
        })
    }

    /// The row as the publisher sends it. A new order goes on the event stream (as the
    /// originals' records) and, as its current state, on the state stream; a deletion only on
    /// the state stream, as a tombstone. A type this service does not know goes where events
    /// always went, on the event stream.
    fn outgoing(self) -> OutgoingEvent {
        let state_key = order_state_key(self.order_id);
        let (payload, state) = match self.event_type.as_str() {
            ORDER_CREATED => (
                Some(self.payload.clone()),
                Some(StateRecord {
                    key: state_key,
                    value: Some(self.payload),
                }),
            ),
            ORDER_DELETED => (
                None,
                Some(StateRecord {
                    key: state_key,
                    value: None,
                }),
            ),
            _ => (Some(self.payload), None),
        };
        OutgoingEvent {
            id: self.id,
            key: self.key,
            payload,
            state,
            event_type: self.event_type,
            created_ms: self.created_ms,
            traceparent: self.traceparent,
        }
    }
}

#[cfg(test)]
mod outgoing_tests {
    use super::*;

    #[test]
    fn a_new_order_goes_on_both_streams_and_a_deletion_is_a_tombstone_on_the_state_stream() {
        let row = |id, key: &str, payload: &str, event_type: &str| OutboxRow {
            id,
            order_id: 7,
            key: key.to_owned(),
            payload: payload.to_owned(),
            event_type: event_type.to_owned(),
            created_ms: 0,
            traceparent: None,
        };
        let placed = row(1, "7created", "{}", ORDER_CREATED).outgoing();
        assert_eq!(placed.payload.as_deref(), Some("{}"));
        let state = placed.state.expect("a state record");
        assert_eq!(
            (state.key.as_str(), state.value.as_deref()),
            ("7", Some("{}"))
        );

        let deleted = row(2, "7", "", ORDER_DELETED).outgoing();
        assert_eq!(deleted.payload, None);
        let state = deleted.state.expect("a tombstone");
        assert_eq!((state.key.as_str(), state.value), ("7", None));
    }
}
