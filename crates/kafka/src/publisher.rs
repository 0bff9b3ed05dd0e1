use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use futures::future::join_all;
use orderflow_events::OrderPlaced;
use orderflow_events::wire::JSON_CONTENT_TYPE;
use orderflow_transport::{OutgoingEvent, PublishError, Publisher};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

use tokio::sync::OnceCell;

use crate::schemas::publish_schema;
use crate::topics::cluster_id;
use crate::{COMPACTED, KafkaSettings, ensure_topic, ensure_topic_with};

/// The outbox relay's sink: sends stored events as records on the order topic, and each order's
/// state on the compacted `<topic>-state`.
pub struct KafkaPublisher {
    /// Made by the first `prepare`, once the broker said what it is.
    producer: OnceCell<FutureProducer>,
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

/// The cluster id of orderflow's embedded broker (`orderflow-broker`), by which a producer
/// knows it: Apache Kafka's cluster ids are random base64 UUIDs, never this.
pub const EMBEDDED_BROKER_CLUSTER_ID: &str = "orderflow";

impl KafkaPublisher {
    /// Does not contact the broker: Kafka may be down when order starts.
    pub fn new(settings: KafkaSettings) -> Self {
        KafkaPublisher {
            producer: OnceCell::new(),
            settings,
            topic_ready: AtomicBool::new(false),
        }
    }

    /// The producer for this broker. Idempotent (exactly one copy per send, in order, even when
    /// librdkafka retries), except on the embedded broker: Tansu 0.6.0 cannot take the epoch an
    /// idempotent librdkafka producer bumps itself after a message timed out (its storage
    /// panics, and the broker answers nothing from then on; docs/embedded-broker.md). There,
    /// one request in flight keeps the order, and a retry that duplicates a record is absorbed
    /// by the idempotent consumers.
    fn create_producer(&self, embedded: bool) -> Result<FutureProducer, KafkaError> {
        let mut config = self.settings.client_config("orderflow-order");
        config
            .set("acks", "all")
            // The partitioner of the Java client: a key lands where the original producer puts it.
            .set("partitioner", "murmur2_random")
            // The relay sends a batch and waits for it; a short linger groups it into few requests.
            .set("linger.ms", "2")
            // How long a record may wait for an unreachable broker before the relay hears of it
            // and retries the batch later (it stays in the outbox meanwhile).
            .set(
                "message.timeout.ms",
                self.settings.message_timeout.as_millis().to_string(),
            );
        if embedded {
            config
                .set("enable.idempotence", "false")
                .set("max.in.flight.requests.per.connection", "1");
        } else {
            config.set("enable.idempotence", "true");
        }
        config.create()
    }

    fn producer(&self) -> Result<&FutureProducer, KafkaError> {
        self.producer.get().ok_or(KafkaError::Canceled)
    }

    fn record_headers(event: &OutgoingEvent, content_type: &str) -> OwnedHeaders {
        // CloudEvents' Kafka binding, binary mode. Deliberately no `__TypeId__`: the original
        // consumers would try to load a Java class of that name.
        let id = event.id.to_string();
        let headers = OwnedHeaders::new_with_capacity(6)
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
                value: Some(content_type),
            });
        // W3C trace context, as OpenTelemetry's Kafka instrumentations carry it.
        match &event.traceparent {
            Some(traceparent) => headers.insert(Header {
                key: orderflow_telemetry::TRACEPARENT,
                value: Some(traceparent.as_str()),
            }),
            None => headers,
        }
    }
}

#[async_trait]
impl Publisher for KafkaPublisher {
    async fn prepare(&self) -> Result<(), PublishError> {
        if self.topic_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        if self.producer.get().is_none() {
            let cluster = cluster_id(&self.settings).await.map_err(classify)?;
            let embedded = cluster.as_deref() == Some(EMBEDDED_BROKER_CLUSTER_ID);
            if embedded {
                tracing::info!(
                    "The broker is orderflow's embedded broker: producing without idempotence, one request at a time (docs/embedded-broker.md)."
                );
            }
            let producer = self.create_producer(embedded).map_err(classify)?;
            let _ = self.producer.set(producer);
        }
        ensure_topic(
            &self.settings,
            &self.settings.topic,
            self.settings.partitions,
        )
        .await
        .map_err(classify)?;
        ensure_topic_with(
            &self.settings,
            &self.settings.state_topic(),
            self.settings.partitions,
            &COMPACTED,
        )
        .await
        .map_err(classify)?;
        // Readers must be able to find the writer schema before they meet its first record.
        if let Some(schema) = self.settings.encoding.writer_schema() {
            let producer = self.producer().map_err(classify)?;
            publish_schema(producer, &self.settings, schema)
                .await
                .map_err(classify)?;
        }
        self.topic_ready.store(true, Ordering::Release);
        Ok(())
    }

    async fn publish(&self, events: &[OutgoingEvent]) -> Vec<Result<(), PublishError>> {
        // Enqueue the whole batch first (in order: a key's records keep it), then wait for the
        // acknowledgements together. An event is done once each of its records is.
        let state_topic = self.settings.state_topic();
        let deliveries = events.iter().map(|event| {
            let mut queued = Vec::with_capacity(2);
            if let Some(payload) = &event.payload {
                queued.push(self.encode(payload).and_then(|(value, content_type)| {
                    let record = FutureRecord::to(&self.settings.topic)
                        .key(event.key.as_str())
                        .payload(value.as_slice())
                        .headers(Self::record_headers(event, content_type));
                    self.send(record).map_err(classify)
                }));
            }
            if let Some(state) = &event.state {
                let encoded = state.value.as_deref().map(|value| self.encode(value));
                queued.push(match encoded {
                    Some(Err(error)) => Err(error),
                    Some(Ok((value, content_type))) => {
                        let record = FutureRecord::to(&state_topic)
                            .key(state.key.as_str())
                            .payload(value.as_slice())
                            .headers(Self::record_headers(event, content_type));
                        self.send(record).map_err(classify)
                    }
                    // No payload at all is a tombstone: compaction then drops the key's records.
                    None => {
                        let record = FutureRecord::<str, [u8]>::to(&state_topic)
                            .key(state.key.as_str())
                            .headers(Self::record_headers(event, JSON_CONTENT_TYPE));
                        self.send(record).map_err(classify)
                    }
                });
            }
            async move {
                for delivery in queued {
                    match delivery {
                        Ok(delivery) => match delivery.await {
                            Ok(Ok(_)) => {}
                            Ok(Err((error, _))) => return Err(classify(error)),
                            Err(_canceled) => return Err(classify(KafkaError::Canceled)),
                        },
                        Err(error) => return Err(error),
                    }
                }
                Ok(())
            }
        });
        join_all(deliveries).await
    }
}

impl KafkaPublisher {
    fn send(&self, record: FutureRecord<'_, str, [u8]>) -> Result<DeliveryFuture, KafkaError> {
        self.producer()
            .and_then(|producer| producer.send_result(record).map_err(|(error, _)| error))
    }

    /// A stored order (the outbox keeps JSON with every field it has) as this publisher's
    /// encoding writes it, and its content type. A payload that is not an order is sent as it
    /// was stored, as JSON.
    fn encode(&self, stored: &str) -> Result<(Vec<u8>, &'static str), PublishError> {
        let encoding = self.settings.encoding;
        match OrderPlaced::from_json(stored.as_bytes()) {
            Ok(order) => encoding
                .encode(&order)
                .map(|value| (value, encoding.content_type()))
                .map_err(|error| PublishError::Permanent(Box::new(error))),
            Err(_) => Ok((stored.as_bytes().to_vec(), JSON_CONTENT_TYPE)),
        }
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
