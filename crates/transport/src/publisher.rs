use async_trait::async_trait;

use crate::BoxError;

/// One event as the outbox stored it, ready to send: a record on the event stream (topic
/// `order`), one on the state stream (the compacted `order-state`), or both. The publisher
/// answers `Ok` for it only once every one of its records is durably accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEvent {
    /// The outbox row's id: unique, increasing in insertion order.
    pub id: i64,
    /// The record key on the event stream, `<id>created`.
    pub key: String,
    /// The JSON value on the event stream; `None`: the event only changes the order's state
    /// (a deletion), so nothing goes on the event stream.
    pub payload: Option<String>,
    /// The order's state after the event, for the state stream; `None`: the state stream does
    /// not hear of it.
    pub state: Option<StateRecord>,
    /// A name for the kind of event, e.g. `order.created`; sent as a header, never as `__TypeId__`.
    pub event_type: String,
    /// When the event was stored, epoch milliseconds.
    pub created_ms: i64,
    /// The W3C trace context of the relay's span for it, sent as the `traceparent` header so
    /// that each consumer continues the order's trace; `None` when not traced.
    pub traceparent: Option<String>,
}

/// An order's current state on the compacted state stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRecord {
    /// The order id, `17`: compaction keeps the newest record per key.
    pub key: String,
    /// The order's JSON (the same document as on the event stream); `None` once the order is
    /// deleted: a tombstone.
    pub value: Option<String>,
}

/// Sends stored events to other services.
///
/// Implementations must be safe to call concurrently. `publish` returns after the transport has
/// durably accepted the event (for Kafka: acknowledged by all in-sync replicas), not before; the
/// outbox marks an event sent only then.
#[async_trait]
pub trait Publisher: Send + Sync + 'static {
    /// Makes sure the destination exists (for Kafka: the topic, with its partitions). Called before
    /// the first batch and again after a failure; cheap when there is nothing to do.
    async fn prepare(&self) -> Result<(), PublishError>;

    /// Sends `events` in order and returns one result per event, in the same order. Events of one
    /// batch may be in flight together; an event whose result is `Ok` has been durably accepted.
    async fn publish(&self, events: &[OutgoingEvent]) -> Vec<Result<(), PublishError>>;
}

/// Why an event was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// Broker unreachable, queue full, timed out: safe to retry later.
    #[error("transient publish failure")]
    Transient(#[source] BoxError),
    /// Message too large, not authorized, topic misconfigured: retrying will not help until an
    /// operator acts.
    #[error("permanent publish failure")]
    Permanent(#[source] BoxError),
}
