//! The Kafka recipe: order publishes through the outbox to topic `order`; shipping and invoicing
//! consume in their groups.

mod avro;
mod broker_outage;
mod consumer_crash;
mod fixtures;
mod late_topic;
mod metrics;
mod poison;
mod scaling;
mod two_relays;
mod validation;
mod worked_example;
