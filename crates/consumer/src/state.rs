use std::sync::Arc;

use orderflow_feed::PollerStatus;
use orderflow_feed::poller::PollNow;
use orderflow_kafka::{BrokerProbe, ConsumerStatus};
use orderflow_storage::Database;
use tokio::sync::mpsc;

/// Everything a consumer service's request handler may touch. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ConsumerState {
    /// `shipping` or `invoicing`.
    pub service: &'static str,
    /// The service's own schema.
    pub db: Database,
    /// How events reach this instance, and how it is doing.
    pub intake: Intake,
}

/// The transport side of a running consumer service.
#[derive(Clone, Debug)]
pub enum Intake {
    /// A member of a Kafka consumer group.
    Kafka {
        /// The consumer group this instance belongs to.
        group: String,
        /// What this member is doing: its partitions, how many records it applied.
        status: Arc<ConsumerStatus>,
        /// Asks the broker whether it is reachable, for `/health`.
        broker: BrokerProbe,
    },
    /// A poller of the order feed.
    Feed {
        feed_url: String,
        /// What the poller did last.
        status: Arc<PollerStatus>,
        /// Asks the poller to poll now (`POST /poll`); it answers when that poll is over.
        poll_now: mpsc::Sender<PollNow>,
    },
}

impl ConsumerState {
    /// The Kafka member's status. Panics in feed mode (for tests of the Kafka recipe).
    pub fn kafka_status(&self) -> &Arc<ConsumerStatus> {
        match &self.intake {
            Intake::Kafka { status, .. } => status,
            Intake::Feed { .. } => panic!("this instance reads the feed, not Kafka"),
        }
    }

    /// The poller's status. Panics in Kafka mode (for tests of the feed recipe).
    pub fn feed_status(&self) -> &Arc<PollerStatus> {
        match &self.intake {
            Intake::Feed { status, .. } => status,
            Intake::Kafka { .. } => panic!("this instance reads Kafka, not the feed"),
        }
    }

    /// Whether this instance polls the feed (the list pages show a "Poll" button then).
    pub fn polls_feed(&self) -> bool {
        matches!(self.intake, Intake::Feed { .. })
    }
}
