use std::sync::Arc;

use orderflow_feed::PollerStatus;
use orderflow_kafka::ConsumerStatus;
use orderflow_storage::Database;
use orderflow_transport::DeliveryStats;

use crate::Intake;

/// Everything a consumer service's request handler may touch. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ConsumerState {
    /// `shipping` or `invoicing`.
    pub service: &'static str,
    /// The service's own schema.
    pub db: Database,
    /// How events reach this instance, and how it is doing.
    pub intake: Arc<Intake>,
}

impl ConsumerState {
    /// What this instance applied, found applied and parked.
    pub fn delivery(&self) -> &Arc<DeliveryStats> {
        self.intake.delivery()
    }

    /// The Kafka member's status; `None` when this instance reads the feed.
    pub fn kafka_status(&self) -> Option<&Arc<ConsumerStatus>> {
        self.intake.kafka_status()
    }

    /// The poller's status; `None` when this instance consumes from Kafka.
    pub fn feed_status(&self) -> Option<&Arc<PollerStatus>> {
        self.intake.feed_status()
    }

    /// Whether this instance polls the feed (the list pages show a "Poll" button then).
    pub fn polls_feed(&self) -> bool {
        self.intake.feed().is_some()
    }

    /// What the list pages say when the transport keeps no history for this service.
    pub fn history_note(&self) -> Option<&'static str> {
        self.intake.keeps_no_history().then_some(
            "This service reads a RabbitMQ queue: it holds only the orders placed since its queue exists; what was published before is gone for it (a stream queue would keep it).",
        )
    }
}
