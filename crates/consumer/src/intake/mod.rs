//! How order events reach a consumer service: one variant per transport, each with how it is
//! built, how it runs, and what it says on `/health`.

mod amqp;
mod feed;
mod kafka;

use std::sync::Arc;

use orderflow_feed::PollerStatus;
use orderflow_kafka::ConsumerStatus;
use orderflow_storage::Database;
use orderflow_transport::{DeliveryStats, OrderEventHandler};
use tokio_util::sync::CancellationToken;

pub use self::amqp::AmqpIntake;
pub use self::feed::FeedIntake;
pub use self::kafka::KafkaIntake;
use crate::ConsumerServiceSettings;

/// How a consumer service is told to receive order events (the CLI's `--transport`).
#[derive(Debug, Clone)]
pub enum Transport {
    /// Kafka, as a member of the service's consumer group.
    Kafka(orderflow_kafka::KafkaSettings),
    /// RabbitMQ: the service's queue, bound to the `order` exchange.
    Amqp(orderflow_amqp::AmqpSettings),
    /// Polling the order service's Atom feed.
    Feed(orderflow_feed::PollerSettings),
}

/// The transport side of a running consumer service.
#[derive(Debug)]
pub enum Intake {
    Kafka(KafkaIntake),
    Amqp(AmqpIntake),
    Feed(FeedIntake),
}

impl Intake {
    /// Checks the settings and prepares what `/health` needs; consumes nothing yet.
    /// `topic`: what the service reads on Kafka (`order`, or bonus's `order-state`); on
    /// RabbitMQ, the matching routing key.
    pub(crate) fn build(
        service: &'static str,
        topic: &str,
        settings: &ConsumerServiceSettings,
    ) -> anyhow::Result<Self> {
        Ok(match &settings.transport {
            Transport::Kafka(kafka) => Intake::Kafka(KafkaIntake::build(service, kafka, settings)?),
            Transport::Amqp(amqp) => Intake::Amqp(AmqpIntake::build(
                service,
                amqp,
                amqp::routing_of(topic),
                settings,
            )?),
            Transport::Feed(feed) => Intake::Feed(FeedIntake::build(service, feed)),
        })
    }

    /// Consumes with `handler` until `shutdown`; an intake that ends by itself cancels it.
    /// `holds_nothing`: the service's database has no copies and no parked events, so its
    /// history must be read from the beginning (Kafka rewinds its first assignment; the feed's
    /// position is in that database and starts at 0 by itself).
    pub(crate) async fn run(
        &self,
        handler: Arc<dyn OrderEventHandler>,
        db: Database,
        holds_nothing: bool,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        match self {
            Intake::Kafka(kafka) => kafka.run(handler, db, holds_nothing, shutdown).await,
            // A queue holds what is not acknowledged yet, a stream's position is in the
            // database (0 when it holds nothing): neither needs telling.
            Intake::Amqp(amqp) => amqp.run(handler, db, shutdown).await,
            Intake::Feed(feed) => feed.run(handler, db, shutdown).await,
        }
    }

    /// Whether the transport answers, and what `/health` says of it.
    pub(crate) async fn health(&self) -> (bool, serde_json::Value) {
        match self {
            Intake::Kafka(kafka) => kafka.health().await,
            Intake::Amqp(amqp) => amqp.health().await,
            Intake::Feed(feed) => feed.health(),
        }
    }

    /// What this instance applied, found applied and parked, whatever the transport.
    pub fn delivery(&self) -> &Arc<DeliveryStats> {
        match self {
            Intake::Kafka(kafka) => kafka.status().delivery(),
            Intake::Amqp(amqp) => amqp.status().delivery(),
            Intake::Feed(feed) => feed.status().delivery(),
        }
    }

    /// The Kafka member's status, when this instance consumes from Kafka.
    pub fn kafka_status(&self) -> Option<&Arc<ConsumerStatus>> {
        match self {
            Intake::Kafka(kafka) => Some(kafka.status()),
            Intake::Amqp(_) | Intake::Feed(_) => None,
        }
    }

    /// The poller's status, when this instance reads the feed.
    pub fn feed_status(&self) -> Option<&Arc<PollerStatus>> {
        match self {
            Intake::Feed(feed) => Some(feed.status()),
            Intake::Kafka(_) | Intake::Amqp(_) => None,
        }
    }

    /// Whether what was published before this service's queue existed is gone for it (a
    /// RabbitMQ classic or quorum queue); Kafka, a stream and the feed keep the history.
    pub fn keeps_no_history(&self) -> bool {
        match self {
            Intake::Amqp(amqp) => !amqp.keeps_history(),
            Intake::Kafka(_) | Intake::Feed(_) => false,
        }
    }

    /// The feed intake, which can be asked to poll now.
    pub fn feed(&self) -> Option<&FeedIntake> {
        match self {
            Intake::Feed(feed) => Some(feed),
            Intake::Kafka(_) | Intake::Amqp(_) => None,
        }
    }
}
