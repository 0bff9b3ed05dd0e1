#![doc = include_str!("../README.md")]

mod closing;
mod consumer;
mod dead_letter;
mod group_progress;
mod held;
mod probe;
mod publisher;
mod schemas;
mod settings;
mod topics;

pub use consumer::{ConsumerSettings, ConsumerStatus, run_consumer};
pub use probe::BrokerProbe;
pub use publisher::{EMBEDDED_BROKER_CLUSTER_ID, KafkaPublisher};
pub use schemas::TopicSchemas;
pub use settings::{KafkaSettings, SettingsError};
pub use topics::{COMPACTED, ensure_topic, ensure_topic_with};

/// The error type of rdkafka, re-exported so that callers need not depend on rdkafka.
pub use rdkafka::error::KafkaError;
