use std::sync::Arc;

use anyhow::Context;
use orderflow_kafka::{BrokerProbe, ConsumerSettings, ConsumerStatus, KafkaSettings, run_consumer};
use orderflow_storage::Database;
use orderflow_transport::OrderEventHandler;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{ConsumerServiceSettings, DatabaseParkingLot};

/// A member of the service's consumer group (named like the service).
#[derive(Debug)]
pub struct KafkaIntake {
    settings: ConsumerSettings,
    /// What this member is doing: its partitions, how many records it applied.
    status: Arc<ConsumerStatus>,
    /// Asks the broker whether it is reachable, for `/health`.
    broker: BrokerProbe,
}

impl KafkaIntake {
    pub(super) fn build(
        service: &'static str,
        kafka: &KafkaSettings,
        service_settings: &ConsumerServiceSettings,
    ) -> anyhow::Result<Self> {
        kafka.validate()?;
        let mut settings = ConsumerSettings::new(kafka.clone(), &service_settings.group);
        settings.session_timeout = service_settings.session_timeout;
        tracing::info!(
            group = %settings.group_id,
            brokers = %kafka.brokers,
            topic = %kafka.topic,
            reader_schema = %kafka.reader_version,
            "{service} consumes from Kafka"
        );
        Ok(KafkaIntake {
            broker: BrokerProbe::new(kafka).context("cannot create the Kafka health probe")?,
            settings,
            status: Arc::default(),
        })
    }

    pub fn status(&self) -> &Arc<ConsumerStatus> {
        &self.status
    }

    pub(super) async fn run(
        &self,
        handler: Arc<dyn OrderEventHandler>,
        db: Database,
        holds_nothing: bool,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let parking = Arc::new(DatabaseParkingLot { db });
        let status = Arc::clone(&self.status);
        let settings = ConsumerSettings {
            from_beginning: holds_nothing,
            ..self.settings.clone()
        };
        run_consumer(settings, handler, parking, status, shutdown)
            .await
            .context("the Kafka consumer failed")
    }

    pub(super) async fn health(&self) -> (bool, serde_json::Value) {
        let broker = self.broker.check().await;
        let lag = self.status.lag();
        let details = json!({
            "transport": "kafka",
            "broker": match &broker { Ok(_) => json!("up"), Err(error) => json!({"down": error}) },
            "group": self.settings.group_id,
            "assignedPartitions": self.status.assigned_partitions(),
            "totalLag": lag.values().sum::<i64>(),
            "lag": lag,
            "waitingForTopic": self.status.waiting_for_topic(),
            // Partitions held at a record whose writer schema is not known yet.
            "waitingForSchema": self.status.waiting_for_schema().into_iter()
                .map(|(partition, (offset, why))| json!({"partition": partition, "offset": offset, "error": why}))
                .collect::<Vec<_>>(),
            // Records of every schema version are read into this one.
            "readerSchema": format!("avro {}", self.settings.kafka.reader_version),
        });
        (broker.is_ok(), details)
    }
}
