//! The transport conformance suite (orderflow-conformance) against each transport: Kafka (the
//! embedded broker, or Apache Kafka when `KAFKA_BROKERS` is set), RabbitMQ (classic and stream
//! queues) and the feed.

mod amqp;
mod feed;
mod kafka;
