use std::net::IpAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use orderflow_kafka::{BrokerProbe, ConsumerSettings, ConsumerStatus, run_consumer};
use orderflow_storage::{Database, DatabaseSettings, Migrations};
use orderflow_transport::OrderEventHandler;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{ConsumerState, health};

/// Everything a consumer service needs to start.
#[derive(Debug, Clone)]
pub struct ConsumerServiceSettings {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub database: DatabaseSettings,
    pub consumer: ConsumerSettings,
}

/// A built consumer service: database migrated, port bound. `run_until` runs it.
#[derive(Debug)]
pub struct ConsumerService {
    listener: TcpListener,
    port: u16,
    state: ConsumerState,
    consumer: ConsumerSettings,
}

impl ConsumerService {
    pub async fn build(
        service: &'static str,
        settings: ConsumerServiceSettings,
        migrations: Migrations,
    ) -> anyhow::Result<Self> {
        settings.consumer.kafka.validate()?;
        let db = Database::connect(&settings.database, migrations).await?;
        let broker = BrokerProbe::new(&settings.consumer.kafka)
            .context("cannot create the Kafka health probe")?;
        let listener = orderflow_web::bind(settings.bind, settings.port).await?;
        let port = listener.local_addr()?.port();
        tracing::info!(
            port,
            group = %settings.consumer.group_id,
            brokers = %settings.consumer.kafka.brokers,
            topic = %settings.consumer.kafka.topic,
            "{service} service listening on http://localhost:{port}/"
        );
        let state = ConsumerState {
            service,
            db,
            status: Arc::new(ConsumerStatus::default()),
            broker,
            group: settings.consumer.group_id.clone(),
        };
        Ok(ConsumerService {
            listener,
            port,
            state,
            consumer: settings.consumer,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &ConsumerState {
        &self.state
    }

    /// Serves `pages` (plus `/health` and `/style.css`) and consumes with `handler` until
    /// `shutdown` is cancelled. If either stops on its own, the other is stopped too.
    pub async fn run_until(
        self,
        pages: Router<ConsumerState>,
        handler: Arc<dyn OrderEventHandler>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let consumer = tokio::spawn({
            let shutdown = shutdown.clone();
            let status = Arc::clone(&self.state.status);
            async move {
                let result = run_consumer(self.consumer, handler, status, shutdown.clone()).await;
                shutdown.cancel();
                result
            }
        });
        let db = self.state.db.clone();
        let router = pages
            .merge(health::router())
            .merge(orderflow_web::stylesheet_router())
            .with_state(self.state);
        let served =
            orderflow_web::serve(self.listener, router, shutdown.clone().cancelled_owned()).await;
        shutdown.cancel();
        let consumed = consumer.await.context("the consumer panicked")?;
        db.close().await;
        served?;
        consumed.context("the consumer failed")
    }
}
