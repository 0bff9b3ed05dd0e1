use async_trait::async_trait;

use crate::{BoxError, Checkpoint, ParkedEvent};

/// Where a consumer keeps a position it stores itself, in its own database: the feed's, an
/// AMQP stream's. Moved in the same transaction as the effect of what was applied
/// ([`crate::OrderEventHandler`] gets the [`Checkpoint`]), and here for what is passed.
#[async_trait]
pub trait CheckpointStore: Send + Sync + 'static {
    /// The stored position in `stream` (0 before the first): the next thing to read is after it.
    async fn position(&self, stream: &str) -> Result<i64, BoxError>;

    /// Moves past something that is not applied: the checkpoint from `expected` to `next` (none
    /// for a stream without positions, where only parking is left to do), and parks it (stored
    /// with its error and what was read, for a later replay) when `parked` is `Some`, or skips
    /// it (its order was deleted). `false` if another instance moved the checkpoint first.
    async fn pass(
        &self,
        checkpoint: Option<&Checkpoint>,
        parked: Option<&ParkedEvent<'_>>,
    ) -> Result<bool, BoxError>;
}
