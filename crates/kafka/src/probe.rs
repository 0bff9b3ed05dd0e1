use rdkafka::producer::DefaultProducerContext;
use rdkafka::producer::{BaseProducer, Producer};
use std::sync::Arc;
use std::time::Duration;

use crate::KafkaSettings;

/// Answers "is the broker reachable, and does the topic exist?" for health endpoints.
#[derive(Clone)]
pub struct BrokerProbe {
    /// A client of its own, so that a health check never waits behind the service's traffic.
    client: Arc<BaseProducer<DefaultProducerContext>>,
    topic: String,
}

impl std::fmt::Debug for BrokerProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerProbe")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl BrokerProbe {
    pub fn new(settings: &KafkaSettings) -> Result<Self, crate::KafkaError> {
        let client = settings.client_config("orderflow-health").create()?;
        Ok(BrokerProbe {
            client: Arc::new(client),
            topic: settings.topic.clone(),
        })
    }

    /// `Ok` with the topic's partition count (0 when the topic does not exist yet), or why the
    /// broker could not be asked.
    pub async fn check(&self) -> Result<usize, String> {
        let client = Arc::clone(&self.client);
        let topic = self.topic.clone();
        tokio::task::spawn_blocking(move || {
            // librdkafka asks one broker; if that one is half-reachable (back from a network
            // partition, its connection still being set up), a second request goes elsewhere.
            let ask = |timeout| client.client().fetch_metadata(Some(&topic), timeout);
            // Two short tries keep a health check under 3 s, well within any prober's timeout.
            ask(Duration::from_millis(1500))
                .or_else(|_| ask(Duration::from_millis(1500)))
                .map(|metadata| {
                    metadata
                        .topics()
                        .iter()
                        .find(|t| t.name() == topic && t.error().is_none())
                        .map_or(0, |t| t.partitions().len())
                })
                .map_err(|error| error.to_string())
        })
        .await
        .map_err(|error| error.to_string())?
    }
}
