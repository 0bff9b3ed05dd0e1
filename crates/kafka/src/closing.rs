//! Closing a group member without hanging on a broker that is gone.
//!
//! rdkafka closes a consumer in its `Drop`: librdkafka commits, leaves the group, and rdkafka
//! polls until it says it is closed, with no deadline. With the group's coordinator unreachable
//! that can last forever: in CI a test's member, stopped after the test had killed its broker,
//! was still closing ten minutes later, and it blocked the runtime's worker thread meanwhile.
//! So a member's last commit and its close run on a thread of their own. Shutdown waits for
//! them up to a deadline and then goes on (the group hands the partitions on after the session
//! timeout, as it does for a member that was killed); a member dropped without being closed
//! (its task was cancelled) is closed on that thread in the background.

use std::ops::Deref;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// A group member that is closed off the async runtime's threads.
pub(crate) struct Closing<C: ConsumerContext + 'static>(Option<StreamConsumer<C>>);

impl<C: ConsumerContext + 'static> Closing<C> {
    pub(crate) fn new(consumer: StreamConsumer<C>) -> Self {
        Closing(Some(consumer))
    }

    /// Commits the stored offsets and leaves the group; `false` when that took longer than
    /// `within` (it goes on in the background).
    pub(crate) async fn close(mut self, within: Duration) -> bool {
        let Some(consumer) = self.0.take() else {
            return true;
        };
        let (closed, done) = tokio::sync::oneshot::channel();
        close_on_own_thread(consumer, move || {
            let _ = closed.send(());
        });
        tokio::time::timeout(within, done).await.is_ok()
    }
}

impl<C: ConsumerContext + 'static> Deref for Closing<C> {
    type Target = StreamConsumer<C>;

    fn deref(&self) -> &StreamConsumer<C> {
        self.0.as_ref().expect("a member is only taken by close")
    }
}

impl<C: ConsumerContext + 'static> Drop for Closing<C> {
    fn drop(&mut self) {
        if let Some(consumer) = self.0.take() {
            close_on_own_thread(consumer, || {});
        }
    }
}

fn close_on_own_thread<C: ConsumerContext + 'static>(
    consumer: StreamConsumer<C>,
    then: impl FnOnce() + Send + 'static,
) {
    let close = move || {
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => tracing::warn!(%error, "Final offset commit failed."),
        }
        drop(consumer);
        then();
    };
    // Were no thread to be had, the closure (and the member with it) is dropped right here:
    // closed in place, as rdkafka would, only without the last commit.
    if let Err(error) = std::thread::Builder::new()
        .name("kafka-close".into())
        .spawn(close)
    {
        tracing::warn!(%error, "No thread to close the Kafka consumer on; closing it in place.");
    }
}
