use async_trait::async_trait;
use orderflow_events::OrderPlaced;

use crate::BoxError;

/// What a consumer service does with one order event: store its own copy, exactly once.
///
/// The transport calls `handle` for one event at a time per partition (or feed), in order. So an
/// implementation must commit its effect before returning `Ok`, and must treat an event it has
/// already applied as done (`Applied::AlreadyPresent`): after a crash it sees it again.
///
/// Kafka keeps the position itself (the offset, stored after `Ok`): `checkpoint` is `None`. The
/// feed keeps it in the service's database: `checkpoint` is `Some`, and the implementation moves
/// it from `expected` to `next` in the same transaction as its effect, or, if another instance
/// has moved it already, changes nothing and answers `Applied::CheckpointMoved`.
#[async_trait]
pub trait OrderEventHandler: Send + Sync + 'static {
    /// Applies several events, in order, in as few transactions as the implementation can,
    /// answering per event; with a checkpoint, it moves from `expected` to `next` (the last
    /// event's position) in the same transaction, or nothing is written and every answer is
    /// `CheckpointMoved`. An error means the batch is not done (applying again is harmless): the
    /// transport retries it (transient) or applies its events one by one to find the culprit
    /// (permanent). The default applies them one by one, and refuses a checkpoint (it could not
    /// move it atomically), which makes readers apply one by one.
    async fn handle_batch(
        &self,
        orders: &[OrderPlaced],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Vec<Applied>, HandleError> {
        if checkpoint.is_some() {
            return Err(HandleError::Permanent(
                "this handler applies batches without a checkpoint only".into(),
            ));
        }
        let mut applied = Vec::with_capacity(orders.len());
        for order in orders {
            applied.push(self.handle(order, None).await?);
        }
        Ok(applied)
    }

    async fn handle(
        &self,
        order: &OrderPlaced,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Applied, HandleError>;

    /// Order `id` was deleted. `None`: nothing to take back, this service keeps what the order
    /// gave (shipping's and invoicing's copies stay, as the contract says), and the transport
    /// moves past the record itself. A service that takes it back (bonus: its points) does so
    /// idempotently (`Created` when something was removed now, `AlreadyPresent` when nothing
    /// was left), moving the checkpoint, if any, in the same transaction like `handle`.
    async fn handle_deleted(
        &self,
        id: i64,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Option<Applied>, HandleError> {
        let _ = (id, checkpoint);
        Ok(None)
    }
}

/// A reader's position in a stream it keeps in the consumer's database (the feed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Which stream: the feed's URL.
    pub stream: String,
    /// The stored position the reader started from.
    pub expected: i64,
    /// The position of the event being applied.
    pub next: i64,
}

/// What `handle` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The copy was stored now (or, for a deletion, what the order gave was taken back now).
    Created,
    /// A copy with this id was stored before; the first one wins and nothing changed (but the
    /// checkpoint, if any, moved on).
    AlreadyPresent,
    /// The checkpoint was no longer at `expected`: another instance got there first. Nothing
    /// was written; the reader should read its position again.
    CheckpointMoved,
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
