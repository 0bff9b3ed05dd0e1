use std::time::Duration;

/// How to reach RabbitMQ, and the names of what orderflow declares there.
#[derive(Debug, Clone)]
pub struct AmqpSettings {
    /// `amqp://user:password@host:5672/%2f`.
    pub url: String,
    /// The topic exchange order publishes to (`order`).
    pub exchange: String,
    /// Where consumers put what they cannot apply (`order.DLX`).
    pub dead_letter_exchange: String,
    /// The kind of queue each consumer service declares.
    pub queue_type: QueueType,
    /// Messages a consumer instance may hold unacknowledged: its batch.
    pub prefetch: u16,
    /// How long connecting, declaring and a publisher confirm may take.
    pub request_timeout: Duration,
}

/// The queue a consumer service reads from: what RabbitMQ keeps, and who gets what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueType {
    /// RabbitMQ's classic queue: a message is gone once acked; instances compete for messages.
    Classic,
    /// A replicated (Raft) queue: the same semantics, surviving the loss of a minority of nodes.
    Quorum,
    /// An append-only log: messages stay (the history), each reader keeps its own position;
    /// instances of one service each read everything (no competing consumers on a stream).
    Stream,
}

impl QueueType {
    /// The `x-queue-type` argument.
    pub fn argument(self) -> &'static str {
        match self {
            QueueType::Classic => "classic",
            QueueType::Quorum => "quorum",
            QueueType::Stream => "stream",
        }
    }

    /// Whether a service that starts later finds what was published before its queue existed:
    /// only on a stream (and only since the stream was declared).
    pub fn keeps_history(self) -> bool {
        self == QueueType::Stream
    }
}

/// What a consumer service reads: new orders, or each order's state (bonus).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// `order.created`: one message per new order (the Kafka recipe's topic `order`).
    Events,
    /// `order.state`: each order's state, or an empty message once it is deleted (the Kafka
    /// recipe's compacted `order-state`).
    States,
}

impl Routing {
    pub fn key(self) -> &'static str {
        match self {
            Routing::Events => EVENTS_ROUTING_KEY,
            Routing::States => STATES_ROUTING_KEY,
        }
    }
}

/// The routing key of a new order's message.
pub const EVENTS_ROUTING_KEY: &str = "order.created";
/// The routing key of an order's state (or deletion).
pub const STATES_ROUTING_KEY: &str = "order.state";

/// A configuration that cannot work, said at start-up.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "`{0}` is not an AMQP URL: expected amqp://user:password@host:5672/vhost, e.g. amqp://guest:guest@localhost:5672/%2f"
    )]
    BadUrl(String),
    #[error("`{0}` is not a valid exchange or queue name (letters, digits, '.', '_', '-')")]
    BadName(String),
    #[error("the prefetch must be between 1 and 10000")]
    BadPrefetch,
    #[error(
        "amqps:// needs TLS, which this build of orderflow's RabbitMQ client leaves out; use amqp:// (on a trusted network or through a TLS proxy)"
    )]
    NoTls,
}

impl AmqpSettings {
    /// The contract's names (`order`, `order.DLX`) on the broker at `url`, classic queues.
    pub fn new(url: impl Into<String>) -> Self {
        AmqpSettings {
            url: url.into(),
            exchange: "order".to_owned(),
            dead_letter_exchange: "order.DLX".to_owned(),
            queue_type: QueueType::Classic,
            prefetch: 256,
            request_timeout: Duration::from_secs(10),
        }
    }

    /// Uses `exchange` (and `<exchange>.DLX`) instead of the contract's.
    pub fn with_exchange(mut self, exchange: impl Into<String>) -> Self {
        self.exchange = exchange.into();
        self.dead_letter_exchange = format!("{}.DLX", self.exchange);
        self
    }

    pub fn with_queue_type(mut self, queue_type: QueueType) -> Self {
        self.queue_type = queue_type;
        self
    }

    pub fn validate(&self) -> Result<(), SettingsError> {
        let url = url::Url::parse(self.url.trim())
            .map_err(|_| SettingsError::BadUrl(redact(&self.url)))?;
        if url.scheme() == "amqps" {
            return Err(SettingsError::NoTls);
        }
        if url.scheme() != "amqp" || url.host_str().is_none_or(str::is_empty) {
            return Err(SettingsError::BadUrl(redact(&self.url)));
        }
        for name in [&self.exchange, &self.dead_letter_exchange] {
            if !valid_name(name) {
                return Err(SettingsError::BadName(name.clone()));
            }
        }
        if !(1..=10_000).contains(&self.prefetch) {
            return Err(SettingsError::BadPrefetch);
        }
        Ok(())
    }

    /// The URL without its password, for logs.
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }
}

/// A queue or exchange name RabbitMQ takes and a reader can tell apart from a path.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(not a URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_no_amqp_url_and_never_repeats_a_password() {
        assert!(
            AmqpSettings::new("amqp://guest:guest@localhost:5672/%2f")
                .validate()
                .is_ok()
        );
        assert!(AmqpSettings::new("amqp://localhost").validate().is_ok());
        for url in [
            "",
            "localhost:5672",
            "http://localhost:5672",
            "amqp://",
            "amqps://h:5671",
        ] {
            assert!(AmqpSettings::new(url).validate().is_err(), "{url}");
        }
        let error = AmqpSettings::new("kafka://user:s3cret@host:1")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(!error.contains("s3cret"), "{error}");
        assert_eq!(
            AmqpSettings::new("amqp://u:s3cret@h:5672/%2f").redacted_url(),
            "amqp://u:***@h:5672/%2f"
        );
    }

    #[test]
    fn an_exchange_brings_its_dead_letter_exchange() {
        let settings = AmqpSettings::new("amqp://h").with_exchange("order-t1");
        assert_eq!(settings.dead_letter_exchange, "order-t1.DLX");
        assert!(
            AmqpSettings::new("amqp://h")
                .with_exchange("a/b")
                .validate()
                .is_err()
        );
    }
}
