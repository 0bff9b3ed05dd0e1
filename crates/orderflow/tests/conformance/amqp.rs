//! RabbitMQ under the conformance suite, twice: on classic queues (a message is gone once
//! acknowledged: no history for a late consumer) and on stream queues (the history stays; the
//! position is the consumer's own). Each test has an exchange of its own; each service (a
//! store of the suite) a queue of its own; the publisher is order's relay's, the consumer
//! shipping's.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use orderflow_amqp::{
    AmqpConsumerSettings, AmqpPublisher, AmqpSettings, AmqpStatus, QueueType, Routing, run_consumer,
};
use orderflow_conformance::{Characteristics, Event, Instance, MemoryStore, TransportUnderTest};
use orderflow_testkit::Isolation;
use orderflow_transport::{OutgoingEvent, Publisher};
use tokio_util::sync::CancellationToken;

struct Amqp {
    settings: AmqpSettings,
    iso: Isolation,
    publisher: AmqpPublisher,
    /// The queue of each store (service) started so far.
    queues: Mutex<Vec<(Arc<MemoryStore>, String)>>,
}

async fn amqp(queue_type: QueueType) -> Option<Amqp> {
    orderflow_testkit::capture_logs();
    let url = orderflow_testkit::rabbit::amqp_url().await?;
    let iso = Isolation::new();
    let settings = AmqpSettings::new(url)
        .with_exchange(iso.topic())
        .with_queue_type(queue_type);
    let publisher = AmqpPublisher::new(settings.clone());
    publisher.prepare().await.expect("RabbitMQ answers");
    Some(Amqp {
        settings,
        iso,
        publisher,
        queues: Mutex::default(),
    })
}

impl Amqp {
    /// The queue of the service `store` is: one per store.
    fn queue_of(&self, store: &Arc<MemoryStore>) -> String {
        let mut queues = self.queues.lock().unwrap();
        if let Some((_, queue)) = queues.iter().find(|(s, _)| Arc::ptr_eq(s, store)) {
            return queue.clone();
        }
        let queue = self.iso.group(&format!("service{}", queues.len()));
        queues.push((Arc::clone(store), queue.clone()));
        queue
    }
}

#[async_trait]
impl TransportUnderTest for Amqp {
    fn characteristics(&self) -> Characteristics {
        Characteristics {
            // One queue, read by one instance, is first in, first out.
            total_order: true,
            keeps_history: self.settings.queue_type.keeps_history(),
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
        self.publisher.prepare().await.expect("RabbitMQ answers");
        for result in self.publisher.publish(&outgoing).await {
            result.expect("RabbitMQ confirmed the event");
        }
    }

    async fn start(&self, store: Arc<MemoryStore>) -> Instance {
        let settings = AmqpConsumerSettings {
            amqp: self.settings.clone(),
            service: self.queue_of(&store),
            routing: Routing::Events,
        };
        let status = Arc::new(AmqpStatus::default());
        let stats = Arc::clone(status.delivery());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let (shutdown, status) = (shutdown.clone(), Arc::clone(&status));
            async move {
                run_consumer(
                    settings,
                    store.clone(),
                    store.clone(),
                    store,
                    status,
                    shutdown,
                )
                .await;
            }
        });
        // Started means consuming: the queue exists and is bound, so nothing published from
        // now on can miss it.
        orderflow_conformance::eventually("the consumer to consume", || status.connected()).await;
        Instance {
            stats,
            shutdown,
            task,
        }
    }
}

mod classic_queue {
    orderflow_conformance::conformance_tests!(if_available: super::amqp(orderflow_amqp::QueueType::Classic));
}

mod stream_queue {
    orderflow_conformance::conformance_tests!(if_available: super::amqp(orderflow_amqp::QueueType::Stream));
}
