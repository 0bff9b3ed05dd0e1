//! The Kafka recipe end to end, on a real PostgreSQL and a real Apache Kafka (`.ci/run` starts
//! both). Every test has its own schemas, topic and consumer groups, so they run in parallel.

// Helpers are `pub` for the test modules; the test binary exports nothing.
#![allow(unreachable_pub)]
mod helpers;

mod broker_outage;
mod consumer_crash;
mod fixtures;
mod late_topic;
mod scaling;
mod validation;
mod worked_example;
