use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use futures::future::join_all;
use orderflow_transport::{OutgoingEvent, PublishError, Publisher};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::{KafkaSettings, ensure_topic};

/// The outbox relay's sink: sends stored events as records on the order topic.
pub struct KafkaPublisher {
    producer: FutureProducer,
    settings: KafkaSettings,
    /// Set once the topic is known to exist, so `prepare` talks to the broker only until then.
    topic_ready: AtomicBool,
}

impl std::fmt::Debug for KafkaPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaPublisher")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl KafkaPublisher {
    /// Creates the producer. Does not contact the broker: Kafka may be down when order starts.
    pub fn new(settings: KafkaSettings) -> Result<Self, KafkaError> {
        let producer = settings
            .client_config("orderflow-order")
            // Exactly one copy per send, in order, even when librdkafka retries internally.
            .set("enable.idempotence", "true")
            .set("acks", "all")
            // The partitioner of the Java client: a key lands where the original producer puts it.
            .set("partitioner", "murmur2_random")
            // The relay sends a batch and waits for it; a short linger groups it into few requests.
            .set("linger.ms", "2")
            // How long a record may wait for an unreachable broker before the relay hears of it
            // and retries the batch later (it stays in the outbox meanwhile).
            .set("message.timeout.ms", "20000")
            .create()?;
        Ok(KafkaPublisher {
            producer,
            settings,
            topic_ready: AtomicBool::new(false),
        })
    }

    fn record_headers(event: &OutgoingEvent) -> OwnedHeaders {
        // CloudEvents' Kafka binding, binary mode. Deliberately no `__TypeId__`: the original
        // consumers would try to load a Java class of that name.
        let id = event.id.to_string();
        OwnedHeaders::new_with_capacity(5)
            .insert(Header {
                key: "ce_specversion",
                value: Some("1.0"),
            })
            .insert(Header {
                key: "ce_id",
                value: Some(id.as_str()),
            })
            .insert(Header {
                key: "ce_source",
                value: Some("/order"),
            })
            .insert(Header {
                key: "ce_type",
                value: Some(event.event_type.as_str()),
            })
            .insert(Header {
                key: "content-type",
                value: Some("application/json"),
            })
    }
}

#[async_trait]
impl Publisher for KafkaPublisher {
    async fn prepare(&self) -> Result<(), PublishError> {
        if self.topic_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        ensure_topic(
            &self.settings,
            &self.settings.topic,
            self.settings.partitions,
        )
        .await
        .map_err(classify)?;
        self.topic_ready.store(true, Ordering::Release);
        Ok(())
    }

    async fn publish(&self, events: &[OutgoingEvent]) -> Vec<Result<(), PublishError>> {
        // Enqueue the whole batch first, then wait for the acknowledgements together.
        let deliveries = events.iter().map(|event| {
            let record = FutureRecord::to(&self.settings.topic)
                .key(event.key.as_str())
                .payload(event.payload.as_str())
                .headers(Self::record_headers(event));
            let queued = self
                .producer
                .send_result(record)
                .map_err(|(error, _)| error);
            async move {
                match queued {
                    Ok(delivery) => match delivery.await {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err((error, _))) => Err(classify(error)),
                        Err(_canceled) => Err(classify(KafkaError::Canceled)),
                    },
                    Err(error) => Err(classify(error)),
                }
            }
        });
        join_all(deliveries).await
    }
}

/// Whether waiting can cure a Kafka error.
fn classify(error: KafkaError) -> PublishError {
    let permanent = matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
                | RDKafkaErrorCode::InvalidTopic
                | RDKafkaErrorCode::InvalidReplicationFactor
                | RDKafkaErrorCode::InvalidPartitions
                | RDKafkaErrorCode::PolicyViolation
        )
    );
    if permanent {
        PublishError::Permanent(Box::new(error))
    } else {
        PublishError::Transient(Box::new(error))
    }
}
