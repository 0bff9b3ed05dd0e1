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
    /// `min.insync.replicas` of the topics orderflow creates (with `acks=all`, how many
    /// replicas must have a record before it counts as written); `None`: the broker's default.
    pub min_insync_replicas: Option<i32>,
    /// librdkafka's `client.rack`: on a cluster with racks (and `replica.selector.class` set on
    /// the brokers), consumers fetch from a replica in their own rack.
    pub client_rack: Option<String>,
    /// How long an operation against the broker (create topic, metadata) may take.
    pub request_timeout: Duration,
    /// How long a record may wait to be acknowledged (unreachable brokers, no leader) before
    /// the producer gives up on it; the outbox keeps it and the relay sends it again.
    pub message_timeout: Duration,
    /// How long a connection to one broker may take to set up before the client tries another
    /// (librdkafka's default, 30 s, keeps a client on a broker that came back from a network
    /// partition half-reachable).
    pub connection_setup_timeout: Duration,
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
    #[error(
        "min.insync.replicas {min_insync} must be between 1 and the replication factor {replication}: with more, no write could ever succeed"
    )]
    BadMinInsync { min_insync: i32, replication: i32 },
    #[error("`{0}` must be more than zero")]
    ZeroTimeout(&'static str),
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
            min_insync_replicas: None,
            client_rack: None,
            request_timeout: Duration::from_secs(10),
            message_timeout: Duration::from_secs(20),
            connection_setup_timeout: Duration::from_secs(10),
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
        if let Some(min_insync) = self.min_insync_replicas
            && !(1..=self.replication_factor).contains(&min_insync)
        {
            return Err(SettingsError::BadMinInsync {
                min_insync,
                replication: self.replication_factor,
            });
        }
        for (name, timeout) in [
            ("the request timeout", self.request_timeout),
            ("the message timeout", self.message_timeout),
            (
                "the connection setup timeout",
                self.connection_setup_timeout,
            ),
        ] {
            if timeout.is_zero() {
                return Err(SettingsError::ZeroTimeout(name));
            }
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
            .set("log.connection.close", "false")
            .set(
                "socket.connection.setup.timeout.ms",
                self.connection_setup_timeout.as_millis().to_string(),
            );
        if let Some(rack) = &self.client_rack {
            config.set("client.rack", rack);
        }
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
    fn refuses_a_cluster_shape_no_write_could_satisfy() {
        let mut settings = KafkaSettings::new("a:9092,b:9092,c:9092");
        settings.replication_factor = 3;
        settings.min_insync_replicas = Some(2);
        assert!(settings.validate().is_ok());
        settings.min_insync_replicas = Some(4);
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("min.insync.replicas 4"), "{error}");
        settings.min_insync_replicas = Some(0);
        assert!(settings.validate().is_err());
        settings.min_insync_replicas = None;
        settings.message_timeout = Duration::ZERO;
        assert!(
            settings
                .validate()
                .unwrap_err()
                .to_string()
                .contains("message timeout")
        );
    }

    #[test]
    fn a_rack_and_the_connection_setup_timeout_reach_the_client() {
        let mut settings = KafkaSettings::new("a:9092");
        settings.client_rack = Some("eu-1a".into());
        let config = settings.client_config("test");
        assert_eq!(config.get("client.rack"), Some("eu-1a"));
        assert_eq!(
            config.get("socket.connection.setup.timeout.ms"),
            Some("10000")
        );
    }

    #[test]
    fn a_topic_brings_its_dead_letter_topic() {
        let settings = KafkaSettings::new("h:1").with_topic("order-test");
        assert_eq!(settings.dead_letter_topic, "order-test.DLT");
        assert_eq!(KafkaSettings::new("h:1").dead_letter_topic, "order.DLT");
    }
}
