use std::sync::atomic::{AtomicBool, Ordering};

use rdkafka::Message;
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::{KafkaSettings, ensure_topic};

/// Header names on a parked record. The original key, value and headers are kept as they were.
pub(crate) const ORIGINAL_TOPIC: &str = "orderflow.dlt.original-topic";
pub(crate) const ORIGINAL_PARTITION: &str = "orderflow.dlt.original-partition";
pub(crate) const ORIGINAL_OFFSET: &str = "orderflow.dlt.original-offset";
pub(crate) const GROUP: &str = "orderflow.dlt.group";
pub(crate) const ERROR: &str = "orderflow.dlt.error";

/// Parks records that cannot be applied on the dead-letter topic, so that their partition goes on.
pub(crate) struct DeadLetters {
    producer: FutureProducer,
    settings: KafkaSettings,
    group: String,
    /// Set once the dead-letter topic is known to exist.
    topic_ready: AtomicBool,
}

impl DeadLetters {
    pub(crate) fn new(settings: &KafkaSettings, group: &str) -> Result<Self, KafkaError> {
        let producer = settings
            .client_config(&format!("orderflow-{group}-dead-letters"))
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set(
                "message.timeout.ms",
                settings.message_timeout.as_millis().to_string(),
            )
            .create()?;
        Ok(DeadLetters {
            producer,
            settings: settings.clone(),
            group: group.to_owned(),
            topic_ready: AtomicBool::new(false),
        })
    }

    /// Sends `message` with `error` to the dead-letter topic (partitioned by its key) and returns
    /// once the broker acknowledged it.
    pub(crate) async fn park(
        &self,
        message: &BorrowedMessage<'_>,
        error: &str,
    ) -> Result<(), KafkaError> {
        if !self.topic_ready.load(Ordering::Acquire) {
            let topic = &self.settings.dead_letter_topic;
            ensure_topic(&self.settings, topic, self.settings.partitions).await?;
            self.topic_ready.store(true, Ordering::Release);
        }
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let mut headers = OwnedHeaders::new();
        if let Some(original) = message.headers() {
            for header in original.iter() {
                headers = headers.insert(Header {
                    key: header.key,
                    value: header.value,
                });
            }
        }
        let headers = headers
            .insert(Header {
                key: ORIGINAL_TOPIC,
                value: Some(message.topic()),
            })
            .insert(Header {
                key: ORIGINAL_PARTITION,
                value: Some(partition.as_str()),
            })
            .insert(Header {
                key: ORIGINAL_OFFSET,
                value: Some(offset.as_str()),
            })
            .insert(Header {
                key: GROUP,
                value: Some(self.group.as_str()),
            })
            .insert(Header {
                key: ERROR,
                value: Some(error),
            });
        // Partitioned by key, like the source: the dead-letter topic may have other partitions.
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&self.settings.dead_letter_topic).headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        self.producer
            .send(record, self.settings.request_timeout)
            .await
            .map(drop)
            .map_err(|(error, _)| error)
    }
}
