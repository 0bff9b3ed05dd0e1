//! Kafka under the conformance suite: a topic and a consumer group of its own per test, the
//! producer orderflow's relay uses, and `run_consumer` as shipping runs it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use orderflow_conformance::{Characteristics, Event, Instance, MemoryStore, TransportUnderTest};
use orderflow_kafka::{ConsumerSettings, ConsumerStatus, KafkaPublisher, KafkaSettings};
use orderflow_testkit::{Isolation, TestEnv};
use orderflow_transport::{OutgoingEvent, Publisher};
use tokio_util::sync::CancellationToken;

const ORDERFLOW_BROKER: &str = env!("CARGO_BIN_EXE_orderflow-broker");

struct Kafka {
    settings: KafkaSettings,
    group: String,
    publisher: KafkaPublisher,
}

async fn kafka() -> Kafka {
    orderflow_testkit::capture_logs();
    let env = TestEnv::from_env(ORDERFLOW_BROKER);
    let iso = Isolation::new();
    let settings = KafkaSettings::new(&env.kafka_brokers).with_topic(iso.topic());
    let publisher = KafkaPublisher::new(settings.clone());
    publisher.prepare().await.expect("the topic is created");
    Kafka {
        group: iso.group("conformance"),
        publisher,
        settings,
    }
}

#[async_trait]
impl TransportUnderTest for Kafka {
    fn characteristics(&self) -> Characteristics {
        Characteristics {
            total_order: false,
            keeps_history: true,
        }
    }

    async fn publish(&self, events: &[Event]) {
        let outgoing: Vec<OutgoingEvent> = events
            .iter()
            .zip(1..)
            .map(|(event, id)| OutgoingEvent {
                id,
                key: event.key.clone(),
                payload: Some(String::from_utf8(event.payload.clone()).expect("text")),
                state: None,
                event_type: "order.created".to_owned(),
                created_ms: 0,
                traceparent: None,
            })
            .collect();
        for result in self.publisher.publish(&outgoing).await {
            result.expect("the broker took the event");
        }
    }

    async fn start(&self, store: Arc<MemoryStore>) -> Instance {
        let mut settings = ConsumerSettings::new(self.settings.clone(), &self.group);
        settings.session_timeout = Duration::from_secs(6);
        let status = Arc::new(ConsumerStatus::default());
        let stats = Arc::clone(status.delivery());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                orderflow_kafka::run_consumer(settings, store.clone(), store, status, shutdown)
                    .await
                    .expect("the consumer runs");
            }
        });
        Instance {
            stats,
            shutdown,
            task,
        }
    }
}

orderflow_conformance::conformance_tests!(kafka());
