#![doc = include_str!("../README.md")]

mod checkpoint;
mod health;
mod parking;
mod poll;
mod service;
mod state;

pub use checkpoint::{DatabaseCheckpoints, advance_checkpoint};
pub use parking::{DatabaseParkingLot, ParkedRow, ReplayReport, parked_events, replay_parked};
pub use service::{ConsumerService, ConsumerServiceSettings, ConsumerTransport};
pub use state::{ConsumerState, Intake};

use orderflow_transport::HandleError;

/// How a consumer service is told to receive order events (the CLI's `--transport`).
#[derive(Debug, Clone)]
pub enum Transport {
    /// Kafka, in the service's consumer group.
    Kafka(orderflow_kafka::KafkaSettings),
    /// Polling the order service's Atom feed.
    Feed(orderflow_feed::PollerSettings),
}

/// A database error as the consumer sees it: retry it (database away) or park the event
/// (the event's data is what the database rejects).
pub fn classify(error: sqlx::Error) -> HandleError {
    if orderflow_storage::is_transient(&error) {
        HandleError::Transient(Box::new(error))
    } else {
        HandleError::Permanent(Box::new(error))
    }
}
