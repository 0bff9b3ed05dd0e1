//! The delivery policy every transport shares: apply what arrived in as few transactions as the
//! handler can; if it refuses a batch, apply the batch's events one by one, so that only the
//! culprit is parked; never move past an event that failed transiently.
//!
//! A transport supplies the rest: how records arrive (it hands [`Delivery::deliver`] what it
//! read, in order) and how a position is stored ([`Positions`]: Kafka stores offsets itself once
//! `deliver` says how many records are done; the feed moves a checkpoint in the handler's own
//! transaction). Retrying is the caller's: `deliver` stops at a transient failure and says how
//! far it got, so a transport retries from there when it suits it (the Kafka consumer at once,
//! with a [`crate::Backoff`]; the feed poller at its next poll).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use orderflow_events::avro::Fingerprint;
use orderflow_events::{EpochMillis, OrderPlaced};
use tracing::{Instrument, Span};

use crate::{Applied, BoxError, Checkpoint, HandleError, OrderEventHandler, error_chain};

/// What a transport read at one position of its stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Order(Box<OrderPlaced>),
    /// The order was deleted: the feed's 410 for it, or a tombstone (a record without a value)
    /// on the compacted `order-state` topic; `id` when the record names it. The handler may take
    /// back what the order gave ([`OrderEventHandler::handle_deleted`]); otherwise nothing is
    /// applied or parked, and the position moves on.
    Gone {
        id: Option<i64>,
    },
    /// Not an order: what was read (if anything), and why it is not one. Parked.
    Unreadable {
        payload: Option<String>,
        error: String,
    },
    /// Cannot be read yet: an Avro record whose writer schema is not known (yet; it may be on
    /// its way to the schema topic). Never passed: delivery stops there, as at a transient
    /// failure, and the transport reads it again later.
    Unresolved {
        fingerprint: Fingerprint,
        error: String,
    },
}

impl Content {
    /// A JSON record as the contract writes it; anything else is `Unreadable`, with its bytes.
    pub fn from_json(bytes: &[u8]) -> Self {
        match OrderPlaced::from_json(bytes) {
            Ok(order) => Content::Order(Box::new(order)),
            Err(error) => Content::Unreadable {
                payload: (!bytes.is_empty()).then(|| String::from_utf8_lossy(bytes).into_owned()),
                error: error.to_string(),
            },
        }
    }

    /// What to keep of it when it is parked: the bytes read, or the order as JSON.
    pub fn payload(&self) -> Option<String> {
        match self {
            Content::Order(order) => Some(order.to_json()),
            Content::Gone { .. } | Content::Unresolved { .. } => None,
            Content::Unreadable { payload, .. } => payload.clone(),
        }
    }
}

/// One record as its transport read it.
pub trait Incoming: Send + Sync {
    fn content(&self) -> &Content;
    /// Where exactly it came from, for logs and parked events: `order/3@17` (topic/partition@offset)
    /// or the order's URL.
    fn source(&self) -> &str;
    /// The W3C trace context it carries (a Kafka header, a feed entry's element), which the
    /// span that applies it continues.
    fn traceparent(&self) -> Option<&str> {
        None
    }
    /// How it was written: `json`, `avro v2` ([`crate::Decoded::encoding`]).
    fn encoding(&self) -> &str {
        "json"
    }
}

/// How a transport keeps its position in a stream.
#[async_trait]
pub trait Positions<R: Incoming>: Send + Sync {
    /// The checkpoint the handler moves in its own transaction when it applies `records` (a
    /// transport whose position lives in the consumer's database: the feed), or `None` (one that
    /// stores positions itself once `deliver` says the records are done: Kafka's offsets).
    fn checkpoint(&self, records: &[R]) -> Option<Checkpoint>;

    /// Every record up to `last` is done (applied, found applied, or passed).
    fn advanced(&self, last: &R);

    /// Moves past a record that is not applied: parks it, with why, when `parked` is `Some`
    /// (Kafka: on the dead-letter topic, then in the service's list), or skips it (`Gone`, for a
    /// handler that keeps what deleted orders gave).
    /// `Ok(false)`: another instance moved the position first. An error means "not yet": the
    /// record stays where it is and is tried again.
    async fn pass(&self, record: &R, parked: Option<&str>) -> Result<bool, BoxError>;
}

/// Counts of what a consumer did, the same for every transport; `/health` shows them.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    applied: AtomicU64,
    duplicates: AtomicU64,
    parked: AtomicU64,
    /// Records done (applied, found applied, or parked) by how they were written.
    encodings: Mutex<BTreeMap<String, u64>>,
    /// The newest copies this instance stored, newest last, at most [`RECENT_STORED`].
    recent: Mutex<VecDeque<Stored>>,
}

/// How many stored copies [`DeliveryStats::recent`] remembers.
pub const RECENT_STORED: usize = 200;

/// A copy this instance stored: of which order, read where, when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    pub order_id: i64,
    /// Where the record was read: `order/3@17`, or the order's URL.
    pub source: String,
    /// When its copy was committed, epoch milliseconds.
    pub stored_ms: i64,
}

impl DeliveryStats {
    /// Events whose effect was stored by this instance.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// Events that had been applied before (redeliveries, duplicates): answered, not applied.
    pub fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::Relaxed)
    }

    /// Events parked because they cannot be applied.
    pub fn parked(&self) -> u64 {
        self.parked.load(Ordering::Relaxed)
    }

    /// Records done by how they were written: `{"json": 120, "avro v1": 30, "avro v2": 50}`.
    pub fn encodings(&self) -> BTreeMap<String, u64> {
        self.encodings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn count_encodings<R: Incoming>(&self, done: &[R]) {
        if done.is_empty() {
            return;
        }
        let mut encodings = self.encodings.lock().unwrap_or_else(|e| e.into_inner());
        for record in done {
            match encodings.get_mut(record.encoding()) {
                Some(count) => *count += 1,
                None => {
                    encodings.insert(record.encoding().to_owned(), 1);
                }
            }
        }
    }

    /// The newest copies this instance stored (newest first): the live page shows which
    /// instance stored an order, and from which partition and offset.
    pub fn recent(&self) -> Vec<Stored> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.iter().rev().cloned().collect()
    }

    fn remember<R: Incoming>(&self, record: &R) {
        let Content::Order(order) = record.content() else {
            return;
        };
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == RECENT_STORED {
            recent.pop_front();
        }
        recent.push_back(Stored {
            order_id: order.id,
            source: record.source().to_owned(),
            stored_ms: EpochMillis::now().0,
        });
    }

    fn count(&self, answers: &[Applied]) -> usize {
        let created = answers.iter().filter(|a| **a == Applied::Created).count();
        self.applied.fetch_add(created as u64, Ordering::Relaxed);
        self.duplicates
            .fetch_add((answers.len() - created) as u64, Ordering::Relaxed);
        created
    }
}

/// How far one `deliver` got.
#[derive(Debug, Default)]
#[must_use]
pub struct Progress {
    /// Records done, from the first: their positions may be stored.
    pub done: usize,
    /// Of those, how many were applied now (not duplicates, not passed).
    pub created: usize,
    /// Why it stopped before the end, if it did.
    pub stopped: Option<Stopped>,
}

/// Why `deliver` stopped before the last record.
#[derive(Debug)]
pub enum Stopped {
    /// The database (or the dead-letter topic) is away: the record at `done` must be tried again
    /// later, and nothing after it may be stored.
    Transient(BoxError),
    /// Another instance moved the checkpoint: read the position again.
    PositionMoved,
}

impl Progress {
    fn stopped(stopped: Stopped) -> Self {
        Progress {
            stopped: Some(stopped),
            ..Progress::default()
        }
    }

    fn one(created: bool) -> Self {
        Progress {
            done: 1,
            created: usize::from(created),
            stopped: None,
        }
    }

    /// Adds the progress made after this one; `false` once either stopped.
    fn then(&mut self, next: Progress) -> bool {
        self.done += next.done;
        self.created += next.created;
        self.stopped = next.stopped;
        self.stopped.is_none()
    }
}

/// A consumer service's handler behind the delivery policy.
#[derive(Clone)]
pub struct Delivery {
    /// Who applies: the consumer group or feed reader, named in each record's span.
    consumer: Arc<str>,
    handler: Arc<dyn OrderEventHandler>,
    stats: Arc<DeliveryStats>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("consumer", &self.consumer)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    pub fn new(
        consumer: &str,
        handler: Arc<dyn OrderEventHandler>,
        stats: Arc<DeliveryStats>,
    ) -> Self {
        Delivery {
            consumer: consumer.into(),
            handler,
            stats,
        }
    }

    /// The span of applying one record: in the trace the record carries, open until `deliver`
    /// is done with it (records applied together share the time of their one transaction).
    fn span_for<R: Incoming>(&self, record: &R) -> Span {
        let span = tracing::info_span!(
            "apply",
            consumer = %self.consumer,
            source = record.source(),
            trace_id = tracing::field::Empty,
        );
        orderflow_telemetry::continue_trace(&span, record.traceparent());
        span
    }

    pub fn stats(&self) -> &Arc<DeliveryStats> {
        &self.stats
    }

    /// Applies `records` (in stream order) until the end or the first record that cannot be done
    /// yet. Consecutive orders go to the handler together; whatever is not an order is passed on
    /// its own (parked, or skipped when gone).
    pub async fn deliver<R: Incoming>(
        &self,
        positions: &dyn Positions<R>,
        records: &[R],
    ) -> Progress {
        let spans: Vec<Span> = records.iter().map(|r| self.span_for(r)).collect();
        let mut progress = Progress::default();
        while progress.done < records.len() {
            let rest = &records[progress.done..];
            let span = spans[progress.done].clone();
            let orders = rest
                .iter()
                .take_while(|r| matches!(r.content(), Content::Order(_)))
                .count();
            let step = match orders {
                0 => match rest[0].content() {
                    Content::Gone { id: Some(id) } => {
                        self.delete(positions, &rest[0], *id).instrument(span).await
                    }
                    Content::Unresolved { error, .. } => {
                        Progress::stopped(Stopped::Transient(error.clone().into()))
                    }
                    _ => self.pass(positions, &rest[0], None).instrument(span).await,
                },
                1 => self.apply_one(positions, &rest[0]).instrument(span).await,
                _ => {
                    let spans = &spans[progress.done..progress.done + orders];
                    self.apply_together(positions, &rest[..orders], spans).await
                }
            };
            if !progress.then(step) {
                break;
            }
        }
        self.stats.count_encodings(&records[..progress.done]);
        progress
    }

    /// Orders in one `handle_batch`; refused as a whole (not transiently), one by one, each in
    /// its span.
    async fn apply_together<R: Incoming>(
        &self,
        positions: &dyn Positions<R>,
        records: &[R],
        spans: &[Span],
    ) -> Progress {
        let orders: Vec<OrderPlaced> = records
            .iter()
            .filter_map(|r| match r.content() {
                Content::Order(order) => Some((**order).clone()),
                _ => None,
            })
            .collect();
        let checkpoint = positions.checkpoint(records);
        match self
            .handler
            .handle_batch(&orders, checkpoint.as_ref())
            .await
        {
            Ok(answers) if answers.contains(&Applied::CheckpointMoved) => {
                Progress::stopped(Stopped::PositionMoved)
            }
            Ok(answers) => {
                let created = self.stats.count(&answers);
                for ((span, answer), record) in spans.iter().zip(&answers).zip(records) {
                    span.in_scope(|| tracing::debug!(?answer, "Applied."));
                    if *answer == Applied::Created {
                        self.stats.remember(record);
                    }
                }
                if let Some(last) = records.last() {
                    positions.advanced(last);
                }
                Progress {
                    done: records.len(),
                    created,
                    stopped: None,
                }
            }
            Err(HandleError::Transient(error)) => Progress::stopped(Stopped::Transient(error)),
            Err(_) => {
                let mut progress = Progress::default();
                for (record, span) in records.iter().zip(spans) {
                    let step = self
                        .apply_one(positions, record)
                        .instrument(span.clone())
                        .await;
                    if !progress.then(step) {
                        break;
                    }
                }
                progress
            }
        }
    }

    async fn apply_one<R: Incoming>(&self, positions: &dyn Positions<R>, record: &R) -> Progress {
        let Content::Order(order) = record.content() else {
            return self.pass(positions, record, None).await;
        };
        let checkpoint = positions.checkpoint(std::slice::from_ref(record));
        match self.handler.handle(order, checkpoint.as_ref()).await {
            Ok(Applied::CheckpointMoved) => Progress::stopped(Stopped::PositionMoved),
            Ok(applied) => {
                tracing::debug!(answer = ?applied, "Applied.");
                if applied == Applied::Created {
                    self.stats.remember(record);
                }
                let created = self.stats.count(&[applied]) == 1;
                positions.advanced(record);
                Progress::one(created)
            }
            Err(HandleError::Transient(error)) => Progress::stopped(Stopped::Transient(error)),
            Err(error) => {
                let reason = error_chain(&error);
                self.pass(positions, record, Some(reason)).await
            }
        }
    }

    /// Order `id` was deleted: the handler takes back what it gave, in its own transaction with
    /// the checkpoint, or (answering `None`) keeps it, and the record is passed.
    async fn delete<R: Incoming>(
        &self,
        positions: &dyn Positions<R>,
        record: &R,
        id: i64,
    ) -> Progress {
        let checkpoint = positions.checkpoint(std::slice::from_ref(record));
        match self.handler.handle_deleted(id, checkpoint.as_ref()).await {
            Ok(None) => self.pass(positions, record, None).await,
            Ok(Some(Applied::CheckpointMoved)) => Progress::stopped(Stopped::PositionMoved),
            Ok(Some(applied)) => {
                let created = self.stats.count(&[applied]) == 1;
                positions.advanced(record);
                Progress::one(created)
            }
            Err(HandleError::Transient(error)) => Progress::stopped(Stopped::Transient(error)),
            Err(error) => {
                let reason = error_chain(&error);
                self.pass(positions, record, Some(reason)).await
            }
        }
    }

    /// Moves past a record that is not applied: parked when there is a reason (the handler's, or
    /// why it is not an order), skipped when it is gone.
    async fn pass<R: Incoming>(
        &self,
        positions: &dyn Positions<R>,
        record: &R,
        reason: Option<String>,
    ) -> Progress {
        let reason = match (reason, record.content()) {
            (Some(reason), _) => Some(reason),
            (None, Content::Unreadable { error, .. }) => Some(error.clone()),
            (None, _) => None,
        };
        match &reason {
            Some(error) => {
                tracing::error!(source = record.source(), %error, "Event cannot be applied; parking it.")
            }
            None => tracing::info!(
                source = record.source(),
                "What the event names no longer exists (deleted); skipped."
            ),
        }
        match positions.pass(record, reason.as_deref()).await {
            Ok(true) => {
                if reason.is_some() {
                    self.stats.parked.fetch_add(1, Ordering::Relaxed);
                }
                positions.advanced(record);
                Progress::one(false)
            }
            Ok(false) => Progress::stopped(Stopped::PositionMoved),
            Err(error) => Progress::stopped(Stopped::Transient(error)),
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    /// A handler that keeps ids; refuses `poison` for good and fails transiently while `down`.
    #[derive(Default)]
    struct Ids {
        stored: Mutex<Vec<i64>>,
        batches: Mutex<Vec<usize>>,
        poison: Option<i64>,
        down: std::sync::atomic::AtomicBool,
        /// Takes back what a deleted order gave, as bonus does; otherwise keeps it.
        takes_back: bool,
    }

    #[async_trait]
    impl OrderEventHandler for Ids {
        async fn handle_batch(
            &self,
            orders: &[OrderPlaced],
            _: Option<&Checkpoint>,
        ) -> Result<Vec<Applied>, HandleError> {
            if orders.iter().any(|o| Some(o.id) == self.poison) {
                return Err(HandleError::Permanent("poison in the batch".into()));
            }
            self.batches.lock().unwrap().push(orders.len());
            let mut answers = Vec::new();
            for order in orders {
                answers.push(self.handle(order, None).await?);
            }
            Ok(answers)
        }

        async fn handle(
            &self,
            order: &OrderPlaced,
            _: Option<&Checkpoint>,
        ) -> Result<Applied, HandleError> {
            if self.down.load(Ordering::Relaxed) {
                return Err(HandleError::Transient("database away".into()));
            }
            if Some(order.id) == self.poison {
                return Err(HandleError::Permanent("rejected".into()));
            }
            let mut stored = self.stored.lock().unwrap();
            if stored.contains(&order.id) {
                return Ok(Applied::AlreadyPresent);
            }
            stored.push(order.id);
            Ok(Applied::Created)
        }

        async fn handle_deleted(
            &self,
            id: i64,
            _: Option<&Checkpoint>,
        ) -> Result<Option<Applied>, HandleError> {
            if !self.takes_back {
                return Ok(None);
            }
            let mut stored = self.stored.lock().unwrap();
            let before = stored.len();
            stored.retain(|stored| *stored != id);
            Ok(Some(if stored.len() < before {
                Applied::Created
            } else {
                Applied::AlreadyPresent
            }))
        }
    }

    struct Record(Content, String);

    impl Incoming for Record {
        fn content(&self) -> &Content {
            &self.0
        }
        fn source(&self) -> &str {
            &self.1
        }
    }

    /// Positions stored after the fact, like Kafka's; remembers what was passed and how far.
    #[derive(Default)]
    struct Offsets {
        passed: Mutex<Vec<(String, Option<String>)>>,
        last: Mutex<Option<String>>,
    }

    #[async_trait]
    impl Positions<Record> for Offsets {
        fn checkpoint(&self, _: &[Record]) -> Option<Checkpoint> {
            None
        }
        fn advanced(&self, last: &Record) {
            *self.last.lock().unwrap() = Some(last.1.clone());
        }
        async fn pass(&self, record: &Record, parked: Option<&str>) -> Result<bool, BoxError> {
            self.passed
                .lock()
                .unwrap()
                .push((record.1.clone(), parked.map(str::to_owned)));
            Ok(true)
        }
    }

    fn order(id: i64) -> Record {
        let json = format!(
            r#"{{"id":{id},"customer":{{"customerId":1,"name":"Wolff","firstname":"Eberhard","email":"e@x"}},"updated":0,"shippingAddress":{{"street":"s","zip":"z","city":"c"}},"billingAddress":{{"street":"s","zip":"z","city":"c"}},"orderLine":[{{"count":1,"item":{{"itemId":1,"name":"iPod","price":42.0}}}}]}}"#
        );
        Record(Content::from_json(json.as_bytes()), format!("order/0@{id}"))
    }

    fn garbage(at: i64) -> Record {
        Record(Content::from_json(b"not json"), format!("order/0@{at}"))
    }

    fn deleted(id: Option<i64>, at: i64) -> Record {
        Record(Content::Gone { id }, format!("order-state/0@{at}"))
    }

    fn delivery(handler: Ids) -> (Delivery, Arc<Ids>) {
        let handler = Arc::new(handler);
        let delivery = Delivery::new("test", handler.clone(), Arc::default());
        (delivery, handler)
    }

    #[tokio::test]
    async fn consecutive_orders_go_in_one_batch() {
        let (delivery, handler) = delivery(Ids::default());
        let offsets = Offsets::default();
        let records = [order(1), order(2), order(3)];
        let progress = delivery.deliver(&offsets, &records).await;
        assert_eq!((progress.done, progress.created), (3, 3));
        assert!(progress.stopped.is_none());
        assert_eq!(*handler.batches.lock().unwrap(), [3]);
        assert_eq!(offsets.last.lock().unwrap().as_deref(), Some("order/0@3"));
    }

    #[tokio::test]
    async fn a_refused_batch_is_applied_one_by_one_and_only_the_culprit_is_parked() {
        let (delivery, handler) = delivery(Ids {
            poison: Some(2),
            ..Ids::default()
        });
        let offsets = Offsets::default();
        let records = [order(1), order(2), order(3)];
        let progress = delivery.deliver(&offsets, &records).await;
        assert_eq!((progress.done, progress.created), (3, 2));
        assert_eq!(*handler.stored.lock().unwrap(), [1, 3]);
        let passed = offsets.passed.lock().unwrap();
        assert_eq!(passed.len(), 1);
        assert_eq!(passed[0].0, "order/0@2");
        assert!(passed[0].1.as_deref().unwrap().contains("rejected"));
        assert_eq!(delivery.stats().parked(), 1);
        assert_eq!(delivery.stats().applied(), 2);
    }

    #[tokio::test]
    async fn an_unreadable_record_is_parked_in_place_and_splits_the_batch() {
        let (delivery, handler) = delivery(Ids::default());
        let offsets = Offsets::default();
        let records = [order(1), order(2), garbage(3), order(4), order(5)];
        let progress = delivery.deliver(&offsets, &records).await;
        assert_eq!((progress.done, progress.created), (5, 4));
        assert_eq!(*handler.batches.lock().unwrap(), [2, 2]);
        assert_eq!(*handler.stored.lock().unwrap(), [1, 2, 4, 5]);
        assert_eq!(offsets.passed.lock().unwrap()[0].0, "order/0@3");
    }

    #[tokio::test]
    async fn a_transient_failure_stops_before_the_record_and_nothing_after_it_is_done() {
        let (delivery, handler) = delivery(Ids::default());
        handler.down.store(true, Ordering::Relaxed);
        let offsets = Offsets::default();
        let records = [order(1), order(2)];
        let progress = delivery.deliver(&offsets, &records).await;
        assert_eq!(progress.done, 0);
        assert!(matches!(progress.stopped, Some(Stopped::Transient(_))));
        assert!(offsets.last.lock().unwrap().is_none());

        handler.down.store(false, Ordering::Relaxed);
        let progress = delivery.deliver(&offsets, &records[progress.done..]).await;
        assert_eq!((progress.done, progress.created), (2, 2));
    }

    #[tokio::test]
    async fn a_repeated_event_counts_as_a_duplicate() {
        let (delivery, _) = delivery(Ids::default());
        let offsets = Offsets::default();
        let progress = delivery.deliver(&offsets, &[order(7), order(7)]).await;
        assert_eq!((progress.done, progress.created), (2, 1));
        assert_eq!(delivery.stats().duplicates(), 1);
    }

    #[tokio::test]
    async fn a_deletion_is_skipped_by_a_handler_that_keeps_copies() {
        let (delivery, handler) = delivery(Ids::default());
        let offsets = Offsets::default();
        let records = [order(1), deleted(Some(1), 2), order(3)];
        let progress = delivery.deliver(&offsets, &records).await;
        assert_eq!((progress.done, progress.created), (3, 2));
        assert_eq!(*handler.stored.lock().unwrap(), [1, 3]);
        // Passed without a reason: skipped, not parked.
        assert_eq!(
            *offsets.passed.lock().unwrap(),
            [("order-state/0@2".to_owned(), None)]
        );
        assert_eq!(delivery.stats().parked(), 0);
    }

    #[tokio::test]
    async fn a_deletion_takes_back_what_the_order_gave_once() {
        let (delivery, handler) = delivery(Ids {
            takes_back: true,
            ..Ids::default()
        });
        let offsets = Offsets::default();
        let records = [order(1), order(2), deleted(Some(1), 3), deleted(Some(1), 4)];
        let progress = delivery.deliver(&offsets, &records).await;
        assert_eq!(progress.done, 4);
        assert_eq!(*handler.stored.lock().unwrap(), [2]);
        assert!(offsets.passed.lock().unwrap().is_empty());
        assert_eq!(
            offsets.last.lock().unwrap().as_deref(),
            Some("order-state/0@4")
        );
        // The second deletion found nothing left: a duplicate.
        assert_eq!(delivery.stats().duplicates(), 1);
    }

    #[tokio::test]
    async fn a_deletion_that_names_no_order_is_skipped() {
        let (delivery, _) = delivery(Ids {
            takes_back: true,
            ..Ids::default()
        });
        let offsets = Offsets::default();
        let progress = delivery.deliver(&offsets, &[deleted(None, 1)]).await;
        assert_eq!(progress.done, 1);
        assert_eq!(offsets.passed.lock().unwrap().len(), 1);
    }
}
