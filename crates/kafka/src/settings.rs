use std::time::Duration;

use orderflow_events::avro::SchemaVersion;
use orderflow_events::wire::RecordEncoding;
use rdkafka::ClientConfig;

/// How to reach Kafka and which topic carries the orders.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    pub brokers: String,
    /// The order topic (`order` unless a test isolates itself).
    pub topic: String,
    /// Partitions the topic is created with.
    pub partitions: i32,
    /// Replication factor the topic is created with (1 on one machine).
    pub replication_factor: i32,
    /// Where unreadable or unappliable records are parked.
    pub dead_letter_topic: String,
    /// How long an operation against the broker (create topic, metadata) may take.
    pub request_timeout: Duration,
    /// How a producer writes order records (the contract's JSON unless told otherwise).
    pub encoding: RecordEncoding,
    /// The schema version a consumer reads records into, whatever version wrote them.
    pub reader_version: SchemaVersion,
}

/// A configuration that cannot work: said at start-up rather than discovered as silence later
/// (a misspelled bootstrap list that falls back to localhost is a classic).
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "no Kafka brokers given: set --kafka-brokers or KAFKA_BROKERS to host:port[,host:port]"
    )]
    NoBrokers,
    #[error("`{0}` is not a broker address: expected host:port, e.g. localhost:9092")]
    BadBroker(String),
    #[error("`{0}` is not a valid topic name")]
    BadTopic(String),
    #[error("a topic needs at least one partition and a replication factor of at least one")]
    BadTopicShape,
}

impl KafkaSettings {
    /// Settings for the contract's topic, `order` with 5 partitions, on `brokers`.
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaSettings {
            brokers: brokers.into(),
            topic: orderflow_events::ORDER_TOPIC.to_owned(),
            partitions: orderflow_events::ORDER_TOPIC_PARTITIONS,
            replication_factor: 1,
            dead_letter_topic: orderflow_events::ORDER_DEAD_LETTER_TOPIC.to_owned(),
            request_timeout: Duration::from_secs(10),
            encoding: RecordEncoding::default(),
            reader_version: SchemaVersion::LATEST,
        }
    }

    /// Writes records with `encoding`.
    pub fn with_encoding(mut self, encoding: RecordEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Reads records into `version`.
    pub fn with_reader_version(mut self, version: SchemaVersion) -> Self {
        self.reader_version = version;
        self
    }

    /// The compacted topic where producers publish the Avro schemas they write `topic` with:
    /// `<topic>.schemas`, which for the contract's topic is `order.schemas`.
    pub fn schemas_topic(&self) -> String {
        format!("{}.schemas", self.topic)
    }

    /// The compacted topic the order service also writes each order's current state to:
    /// `<topic>-state`, which for the contract's topic is `order-state`.
    pub fn state_topic(&self) -> String {
        format!("{}-state", self.topic)
    }

    /// Uses `topic` (and `<topic>.DLT` for parked records) instead of the contract's.
    pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = topic.into();
        self.dead_letter_topic = format!("{}.DLT", self.topic);
        self
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        let brokers: Vec<&str> = self.brokers.split(',').map(str::trim).collect();
        if brokers.iter().all(|broker| broker.is_empty()) {
            return Err(SettingsError::NoBrokers);
        }
        for broker in brokers {
            let valid = broker.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty()
                    && !host.contains("://")
                    && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
            if !valid {
                return Err(SettingsError::BadBroker(broker.to_owned()));
            }
        }
        for topic in [&self.topic, &self.dead_letter_topic] {
            let valid = !topic.is_empty()
                && topic.len() <= 249
                && topic
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !valid {
                return Err(SettingsError::BadTopic(topic.clone()));
            }
        }
        if self.partitions < 1 || self.replication_factor < 1 {
            return Err(SettingsError::BadTopicShape);
        }
        Ok(())
    }

    /// The configuration every client starts from.
    pub(crate) fn client_config(&self, client_id: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", client_id)
            // Never let a metadata request (a health probe, a producer) create a topic: a broker
            // with auto-creation on would make `order` with one partition (pitfall #23).
            .set("allow.auto.create.topics", "false")
            // Notice a topic created after start-up within seconds, not librdkafka's 5 minutes.
            .set("topic.metadata.refresh.interval.ms", "2000")
            // The broker being down is reported by our own logs and health checks, once.
            .set("log.connection.close", "false");
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_broker_lists() {
        assert!(KafkaSettings::new("localhost:9092").validate().is_ok());
        assert!(KafkaSettings::new("a:9092, b:9093").validate().is_ok());
    }

    #[test]
    fn rejects_what_would_silently_fall_back() {
        for brokers in [
            "",
            "localhost",
            "localhost:port",
            "kafka://host:9092",
            "host:0",
        ] {
            assert!(KafkaSettings::new(brokers).validate().is_err(), "{brokers}");
        }
        assert!(
            KafkaSettings::new("h:1")
                .with_topic("no spaces")
                .validate()
                .is_err()
        );
    }

    #[test]
    fn a_topic_brings_its_dead_letter_topic() {
        let settings = KafkaSettings::new("h:1").with_topic("order-test");
        assert_eq!(settings.dead_letter_topic, "order-test.DLT");
        assert_eq!(KafkaSettings::new("h:1").dead_letter_topic, "order.DLT");
    }
}
