#![doc = include_str!("../README.md")]

mod store;
mod suite;

use std::sync::Arc;

use async_trait::async_trait;
use orderflow_transport::DeliveryStats;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use store::MemoryStore;
pub use suite::*;

/// What a transport promises beyond "every event, applied once" (`docs/transports.md`).
#[derive(Debug, Clone, Copy)]
pub struct Characteristics {
    /// One order for all events (the feed), not only per key (Kafka's partitions).
    pub total_order: bool,
    /// A consumer that starts late still gets every event published before (a log, not a
    /// queue).
    pub keeps_history: bool,
}

/// One event to publish: its key (`<id>created`) and its bytes, which need not be an order.
#[derive(Debug, Clone)]
pub struct Event {
    pub key: String,
    pub payload: Vec<u8>,
}

/// A transport under test: a fresh stream of its own (topic, feed) per value.
#[async_trait]
pub trait TransportUnderTest: Send + Sync {
    fn characteristics(&self) -> Characteristics;

    /// Publishes `events` in order and returns once each is durably accepted.
    async fn publish(&self, events: &[Event]);

    /// Starts one consumer instance on the stream, applying into `store` (its handler, its
    /// parking lot, and where it keeps positions if the transport keeps them in the consumer).
    /// Instances started on one store are instances of one service.
    async fn start(&self, store: Arc<MemoryStore>) -> Instance;
}

/// A running consumer instance.
#[derive(Debug)]
pub struct Instance {
    /// What this instance applied, found applied, and parked.
    pub stats: Arc<DeliveryStats>,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<()>,
}

impl Instance {
    /// Stops it cleanly (a Kafka member commits, a poller finishes its poll) and waits.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("the consumer instance panicked");
    }
}
