#![doc = include_str!("../README.md")]

mod consumer;
pub mod node;
mod probe;
mod publisher;
mod request;
mod settings;
mod topology;

pub use consumer::{AmqpConsumerSettings, AmqpStatus, run_consumer};
pub use probe::AmqpProbe;
pub use publisher::AmqpPublisher;
pub use settings::{
    AmqpSettings, EVENTS_ROUTING_KEY, QueueType, Routing, STATES_ROUTING_KEY, SettingsError,
};
pub use topology::{dead_letter_queue, stream_name};

/// The header that carries a message's record key: `17created` on `order.created`, the order
/// id on `order.state` (where an empty message says the order was deleted).
pub const KEY_HEADER: &str = "orderflow-key";
