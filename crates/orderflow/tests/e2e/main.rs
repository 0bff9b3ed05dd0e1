//! The recipes end to end (Kafka, the feed, RabbitMQ). Without `DATABASE_URL` and `KAFKA_BROKERS`: SQLite files and the
//! embedded broker; with them (`.ci/run`): a real PostgreSQL and Apache Kafka. Every test has its
//! own schemas (or files), topic, consumer groups and ports, so they run in parallel.

// Helpers are `pub` for the test modules; the test binary exports nothing.
#![allow(unreachable_pub)]

mod helpers;

mod amqp_recipe;
mod bonus;
mod feed_recipe;
mod kafka_recipe;
