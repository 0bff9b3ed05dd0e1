//! The transport conformance suite (orderflow-conformance) against each transport: Kafka (the
//! embedded broker, or Apache Kafka when `KAFKA_BROKERS` is set) and the feed.

mod feed;
mod kafka;
