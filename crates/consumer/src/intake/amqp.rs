use std::sync::Arc;

use orderflow_amqp::{
    AmqpConsumerSettings, AmqpProbe, AmqpSettings, AmqpStatus, QueueType, Routing, run_consumer,
};
use orderflow_storage::Database;
use orderflow_transport::OrderEventHandler;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{ConsumerServiceSettings, DatabaseCheckpoints, DatabaseParkingLot};

/// An instance of the service on its RabbitMQ queue.
#[derive(Debug)]
pub struct AmqpIntake {
    settings: AmqpConsumerSettings,
    probe: AmqpProbe,
    status: Arc<AmqpStatus>,
}

impl AmqpIntake {
    pub(super) fn build(
        service: &'static str,
        amqp: &AmqpSettings,
        routing: Routing,
        service_settings: &ConsumerServiceSettings,
    ) -> anyhow::Result<Self> {
        amqp.validate()?;
        let group = service_settings.group.clone();
        anyhow::ensure!(
            !group.is_empty()
                && group
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')),
            "`{group}` cannot name a RabbitMQ queue (letters, digits, '.', '_', '-')"
        );
        let queue = match amqp.queue_type {
            QueueType::Stream => orderflow_amqp::stream_name(amqp, routing),
            QueueType::Classic | QueueType::Quorum => group.clone(),
        };
        tracing::info!(
            queue = %queue,
            url = %amqp.redacted_url(),
            exchange = %amqp.exchange,
            queue_type = amqp.queue_type.argument(),
            "{service} consumes from RabbitMQ"
        );
        Ok(AmqpIntake {
            probe: AmqpProbe::new(amqp),
            settings: AmqpConsumerSettings {
                amqp: amqp.clone(),
                service: group,
                routing,
            },
            status: Arc::default(),
        })
    }

    /// The queue this instance consumes: its service's, or the shared stream.
    fn queue(&self) -> String {
        let amqp = &self.settings.amqp;
        match amqp.queue_type {
            QueueType::Stream => orderflow_amqp::stream_name(amqp, self.settings.routing),
            QueueType::Classic | QueueType::Quorum => self.settings.service.clone(),
        }
    }

    /// Whether a service that starts later still finds what was published before (a stream).
    pub fn keeps_history(&self) -> bool {
        self.settings.amqp.queue_type.keeps_history()
    }

    pub fn status(&self) -> &Arc<AmqpStatus> {
        &self.status
    }

    pub(super) async fn run(
        &self,
        handler: Arc<dyn OrderEventHandler>,
        db: Database,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let parking = Arc::new(DatabaseParkingLot { db: db.clone() });
        let checkpoints = Arc::new(DatabaseCheckpoints { db });
        run_consumer(
            self.settings.clone(),
            handler,
            parking,
            checkpoints,
            Arc::clone(&self.status),
            shutdown,
        )
        .await;
        Ok(())
    }

    pub(super) async fn health(&self) -> (bool, serde_json::Value) {
        let broker = self.probe.check().await;
        let amqp = &self.settings.amqp;
        let mut details = json!({
            "transport": "amqp",
            "broker": match &broker { Ok(()) => json!("up"), Err(error) => json!({"down": error}) },
            "queue": self.queue(),
            "queueType": amqp.queue_type.argument(),
            "routingKey": self.settings.routing.key(),
            "consuming": self.status.connected(),
            "deadLetterQueue": orderflow_amqp::dead_letter_queue(&self.settings.service),
            // A classic or quorum queue has only what was published since it exists; a
            // stream keeps the history (docs/transports.md).
            "keepsHistory": amqp.queue_type.keeps_history(),
        });
        if amqp.queue_type.keeps_history() {
            details["position"] = json!(self.status.position());
        }
        (broker.is_ok(), details)
    }
}

/// What a service reads on RabbitMQ, from the Kafka topic it would read.
pub(crate) fn routing_of(topic: &str) -> Routing {
    if topic == orderflow_events::ORDER_STATE_TOPIC {
        Routing::States
    } else {
        Routing::Events
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bonus_reads_states_and_the_others_new_orders() {
        use orderflow_amqp::Routing;
        assert_eq!(super::routing_of("order-state"), Routing::States);
        assert_eq!(super::routing_of("order"), Routing::Events);
    }
}
