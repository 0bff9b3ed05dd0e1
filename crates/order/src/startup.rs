use std::sync::Arc;

use anyhow::Context;
use orderflow_amqp::{AmqpProbe, AmqpPublisher};
use orderflow_kafka::{BrokerProbe, KafkaPublisher};
use orderflow_storage::{Database, Migrations};
use orderflow_transport::Publisher;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::catalog::Catalog;
use crate::config::{OrderTransport, Settings};
use crate::group_commit::OrderWriter;
use crate::relay::OutboxRelay;
use crate::routes;
use crate::state::{AppState, Broker};

/// The order service's migrations, for both backends.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: || sqlx::migrate!("./migrations/postgres"),
    sqlite: || sqlx::migrate!("./migrations/sqlite"),
};

/// A built order service: database migrated, port bound, relay ready. `run_until` runs it.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
    relay: OutboxRelay,
    metrics: Arc<orderflow_web::Metrics>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        match &settings.transport {
            OrderTransport::Kafka(kafka) => kafka.validate()?,
            OrderTransport::Amqp(amqp) => amqp.validate()?,
            OrderTransport::Feed => {}
        }
        let db = Database::connect(&settings.database, &[MIGRATIONS]).await?;
        let (publisher, broker): (Option<Arc<dyn Publisher>>, _) = match &settings.transport {
            OrderTransport::Kafka(kafka) => (
                Some(Arc::new(KafkaPublisher::new(kafka.clone()))),
                Some(Broker::Kafka(
                    BrokerProbe::new(kafka).context("cannot create the Kafka health probe")?,
                )),
            ),
            OrderTransport::Amqp(amqp) => (
                Some(Arc::new(AmqpPublisher::new(amqp.clone()))),
                Some(Broker::Amqp(AmqpProbe::new(amqp))),
            ),
            OrderTransport::Feed => (None, None),
        };
        let relay_wake = Arc::new(Notify::new());
        let relay = OutboxRelay::new(
            db.clone(),
            publisher,
            Arc::clone(&relay_wake),
            settings.relay.clone(),
        );
        let listener = orderflow_web::bind(settings.bind, settings.port).await?;
        let port = listener.local_addr()?.port();
        let url = orderflow_web::listening_url(&listener);
        match &settings.transport {
            OrderTransport::Kafka(kafka) => tracing::info!(
                port,
                brokers = %kafka.brokers,
                topic = %kafka.topic,
                records = %kafka.encoding.label(),
                "Order service listening on {url} (feed at /feed)"
            ),
            OrderTransport::Amqp(amqp) => tracing::info!(
                port,
                url = %amqp.redacted_url(),
                exchange = %amqp.exchange,
                "Order service listening on {url} (feed at /feed), publishing to RabbitMQ"
            ),
            OrderTransport::Feed => {
                tracing::info!(
                    port,
                    "Order service listening on {url} (feed at /feed, no Kafka)"
                )
            }
        }
        let catalog = Arc::new(Catalog::load(&db).await?);
        let state = AppState {
            catalog,
            orders: OrderWriter::start(db.clone(), Arc::clone(&relay_wake)),
            sequenced: relay.sequenced(),
            long_polls: Arc::default(),
            db,
            relay_wake,
            transport: settings.transport.name(),
            broker,
            feed_page_size: settings.feed_page_size,
            public_url: settings.public_url.clone(),
        };
        let metrics = crate::metrics::order_metrics(
            &state.db,
            &relay,
            state.orders.metrics(),
            &settings.transport,
        );
        Ok(Application {
            listener,
            port,
            state,
            relay,
            metrics,
        })
    }

    /// The port actually bound (useful when the settings said 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn database(&self) -> &Database {
        &self.state.db
    }

    /// The relay, so that tests can drain the outbox without waiting.
    pub fn relay(&self) -> &OutboxRelay {
        &self.relay
    }

    /// Serves HTTP and relays events until `shutdown` is cancelled (or the server fails, which
    /// cancels it). Returns once both have stopped.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let relay = tokio::spawn(self.relay.run(shutdown.clone()));
        let db = self.state.db.clone();
        let served = orderflow_web::serve(
            self.listener,
            routes::router(self.state),
            self.metrics,
            shutdown.clone().cancelled_owned(),
        )
        .await;
        shutdown.cancel();
        relay.await.context("the outbox relay panicked")?;
        db.close().await;
        served
    }
}
