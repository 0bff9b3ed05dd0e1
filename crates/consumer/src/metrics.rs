//! What a consumer service adds to its `/metrics`: read from the transport's status at each
//! scrape (so a revoked partition's series is gone at once, and an owned partition that has seen
//! no record yet says 0), plus the age of each event when its copy was committed.

use std::fmt::Error;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::ConsumerState;

/// A consumer service's figures, encoded at each scrape.
#[derive(Debug)]
pub(crate) struct ConsumerCollector {
    pub(crate) state: ConsumerState,
}

fn counter(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), Error> {
    let counter = ConstCounter::new(value);
    counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)
}

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), Error> {
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

impl Collector for ConsumerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), Error> {
        let delivery = self.state.delivery();
        counter(
            &mut encoder,
            "orderflow_events_applied",
            "Events whose effect this instance committed",
            delivery.applied(),
        )?;
        counter(
            &mut encoder,
            "orderflow_events_duplicate",
            "Events found applied before (redeliveries): answered, not applied again",
            delivery.duplicates(),
        )?;
        counter(
            &mut encoder,
            "orderflow_events_parked",
            "Events that cannot be applied, parked (dead-letter topic and parked_event)",
            delivery.parked(),
        )?;
        if let Some(kafka) = self.state.kafka_status() {
            let lag = kafka.lag();
            let owned = kafka.assigned_partitions();
            gauge(
                &mut encoder,
                "orderflow_consumer_partitions",
                "Partitions this group member owns",
                owned.len() as i64,
            )?;
            let mut family = encoder.encode_descriptor(
                "orderflow_consumer_lag",
                "Records behind the end of each owned partition (0 until librdkafka's first statistics)",
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for partition in owned {
                let value = ConstGauge::new(lag.get(&partition).copied().unwrap_or(0));
                value.encode(family.encode_family(&[("partition", partition.to_string())])?)?;
            }
        }
        if let Some(feed) = self.state.feed_status() {
            gauge(
                &mut encoder,
                "orderflow_feed_position",
                "The feed position this instance stored last",
                feed.position(),
            )?;
            let mut family = encoder.encode_descriptor(
                "orderflow_feed_polls",
                "Polls of the feed, by outcome",
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            let failed = feed.failed_polls();
            for (outcome, value) in [
                ("ok", feed.polls().saturating_sub(failed)),
                ("failed", failed),
            ] {
                ConstCounter::new(value).encode(family.encode_family(&[("outcome", outcome)])?)?;
            }
        }
        Ok(())
    }
}
