use async_trait::async_trait;
use orderflow_events::OrderPlaced;

use crate::BoxError;

/// What a consumer service does with one order event: store its own copy, exactly once.
///
/// The transport calls `handle` for one event at a time per partition (or feed), in order, and
/// records its position (Kafka offset, feed cursor) only after `handle` returned `Ok`. So an
/// implementation must commit its effect before returning `Ok`, and must treat an event it has
/// already applied as done (`Applied::AlreadyPresent`): after a crash it sees it again.
#[async_trait]
pub trait OrderEventHandler: Send + Sync + 'static {
    async fn handle(&self, order: &OrderPlaced) -> Result<Applied, HandleError>;
}

/// What `handle` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The copy was stored now.
    Created,
    /// A copy with this id was stored before; the first one wins and nothing changed.
    AlreadyPresent,
}

/// Why an event could not be applied, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandleError {
    /// The database is unreachable, restarting or overloaded: retry the same event later, and
    /// do not move past it.
    #[error("transient failure, will retry")]
    Transient(#[source] BoxError),
    /// The event itself is unacceptable (a value the database rejects): retrying gives the same
    /// answer. The transport parks it and moves on.
    #[error("the event cannot be applied")]
    Permanent(#[source] BoxError),
}
