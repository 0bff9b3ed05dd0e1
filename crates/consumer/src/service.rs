use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use orderflow_storage::{Database, DatabaseSettings, Migrations};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::copies::{self, Copies};
use crate::{ConsumerState, Intake, Projection, Projector, Transport, health, parking, poll};

/// What makes a consumer service itself. orderflow-consumer does the rest: start-up, the
/// intake, idempotent storing, the list, copy and API routes, `/health`, `/parked`, `/poll`,
/// `/style.css`, `orderflow replay`.
pub trait Service: Send + Sync + 'static {
    /// Its entry in the directory: name (schema, consumer group, log lines), default port.
    const SERVICE: &'static orderflow_directory::Service;
    /// `shipping`.
    const NAME: &'static str = Self::SERVICE.name;
    /// The port it listens on unless told otherwise.
    const PORT: u16 = Self::SERVICE.port;
    /// The Kafka topic it reads unless told otherwise: the `order` events, or (bonus) each
    /// order's current state on the compacted `order-state` topic.
    const TOPIC: &'static str = orderflow_events::ORDER_TOPIC;
    /// Its own tables (numbered from 1; orderflow-consumer's come from 1001).
    const MIGRATIONS: Migrations;
    /// How an order becomes its rows.
    type Projection: Projection;
    /// How its copies are listed and shown (`/`, `/{id}`, `/api/<copies>`).
    type Copies: Copies;
    /// Pages of its own besides those.
    fn pages() -> Router<ConsumerState> {
        Router::new()
    }
}

/// The orderflow-consumer tables every consumer service has: feed positions, parked events.
pub const CONSUMER_MIGRATIONS: Migrations = Migrations {
    postgres: || sqlx::migrate!("./migrations/postgres"),
    sqlite: || sqlx::migrate!("./migrations/sqlite"),
};

/// Everything a consumer service needs to start.
#[derive(Debug, Clone)]
pub struct ConsumerServiceSettings {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub database: DatabaseSettings,
    pub transport: Transport,
    /// With Kafka: the consumer group (the service's name; tests isolate themselves with others).
    pub group: String,
    /// With Kafka: how long the group waits for a silent member (one killed with `kill -9`)
    /// before handing its partitions to the others.
    pub session_timeout: Duration,
}

/// A built consumer service `S`: database migrated, port bound. `run_until` runs it.
pub struct Application<S: Service> {
    listener: TcpListener,
    port: u16,
    state: ConsumerState,
    handler: Arc<Projector<S::Projection>>,
    metrics: Arc<orderflow_web::Metrics>,
    service: PhantomData<fn() -> S>,
}

impl<S: Service> std::fmt::Debug for Application<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("service", &self.state.service)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl<S: Service> Application<S> {
    /// The contract's defaults: on localhost at `S::PORT`, its schema and (with Kafka) its
    /// consumer group both named `S::NAME`.
    pub fn default_settings(
        database_url: impl Into<String>,
        transport: Transport,
    ) -> ConsumerServiceSettings {
        ConsumerServiceSettings {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: S::PORT,
            database: DatabaseSettings::new(database_url, S::NAME),
            transport,
            group: S::NAME.to_owned(),
            session_timeout: Duration::from_secs(10),
        }
    }

    /// An instance with nothing around it, for tests of its pages: a SQLite file in `folder`, a
    /// feed nobody serves (no broker needed; polls fail quietly), a free port.
    pub fn standalone_settings(folder: &std::path::Path) -> ConsumerServiceSettings {
        let database = format!(
            "sqlite://{}?mode=rwc",
            folder.join(format!("{}.db", S::NAME)).display()
        );
        let feed = orderflow_feed::PollerSettings::new("http://127.0.0.1:9/feed");
        let mut settings = Self::default_settings(database, Transport::Feed(feed));
        settings.port = 0;
        settings
    }

    /// Connects to the service's database and applies every migration it needs.
    pub async fn connect_database(settings: &DatabaseSettings) -> anyhow::Result<Database> {
        Database::connect(settings, &[S::MIGRATIONS, CONSUMER_MIGRATIONS]).await
    }

    /// What `orderflow check` compares for this service, its copies called `copies` in the
    /// report (`shipments`).
    pub fn check_view(copies: &'static str) -> orderflow_tools::check::CheckView {
        orderflow_tools::check::CheckView {
            service: S::SERVICE,
            copies,
            expected: crate::expected_view::<S::Copies>,
            keeps_deleted: !<S::Projection as Projection>::TAKES_BACK_DELETED,
        }
    }

    /// The service's handler for order events, for the transports and for `orderflow replay`.
    pub fn handler(db: Database) -> Projector<S::Projection> {
        Projector::new(db)
    }

    pub async fn build(settings: ConsumerServiceSettings) -> anyhow::Result<Self> {
        let intake = Intake::build(S::NAME, S::TOPIC, &settings)?;
        let db = Self::connect_database(&settings.database).await?;
        let listener = orderflow_web::bind(settings.bind, settings.port).await?;
        let port = listener.local_addr()?.port();
        tracing::info!(
            port,
            "{} service listening on {}",
            S::NAME,
            orderflow_web::listening_url(&listener)
        );
        let state = ConsumerState {
            service: S::NAME,
            db: db.clone(),
            intake: Arc::new(intake),
        };
        let handler = Arc::new(Self::handler(db));
        let mut metrics = orderflow_web::MetricsBuilder::new(S::NAME);
        metrics
            .registry()
            .register_collector(Box::new(crate::metrics::ConsumerCollector {
                state: state.clone(),
            }));
        metrics.registry().register_with_unit(
            "orderflow_event_age",
            "From an order's time to its copy committed here",
            prometheus_client::registry::Unit::Seconds,
            handler.age().clone(),
        );
        Ok(Application {
            listener,
            port,
            state,
            handler,
            metrics: metrics.build(),
            service: PhantomData,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &ConsumerState {
        &self.state
    }

    /// Serves the service's pages (plus `/health`, `/parked`, `/poll` and `/style.css`) and
    /// consumes until `shutdown` is cancelled. If either stops on its own, the other is stopped
    /// too.
    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let handler = Arc::clone(&self.handler);
        let holds_nothing = holds_nothing::<S>(&self.state.db).await?;
        // Whatever ends the intake, an error or a panic, ends the service too: a consumer service
        // that no longer consumes must not look healthy. (`up` restarts it.)
        let intake = {
            let (intake, db, shutdown) = (
                Arc::clone(&self.state.intake),
                self.state.db.clone(),
                shutdown.clone(),
            );
            tokio::spawn(async move {
                let outcome = intake
                    .run(handler, db, holds_nothing, shutdown.clone())
                    .await;
                shutdown.cancel();
                outcome
            })
        };
        let db = self.state.db.clone();
        let router = S::pages()
            .merge(copies::router::<S::Copies>())
            .merge(health::router())
            .merge(poll::router())
            .merge(parking::router())
            .merge(orderflow_web::stylesheet_router())
            .with_state(self.state);
        let served = orderflow_web::serve(
            self.listener,
            router,
            self.metrics,
            shutdown.clone().cancelled_owned(),
        )
        .await;
        shutdown.cancel();
        let consumed = intake.await.context("the consumer panicked")?;
        db.close().await;
        served?;
        consumed
    }
}

/// Whether `S`'s database has neither copies nor parked events: new, or emptied to be rebuilt.
async fn holds_nothing<S: Service>(db: &Database) -> anyhow::Result<bool> {
    use sqlx::Row;
    let table = <S::Copies as Copies>::TABLE;
    let row = sqlx::query(&format!(
        "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM {table} LIMIT 1) AS c) + \
         (SELECT COUNT(*) FROM (SELECT 1 FROM parked_event LIMIT 1) AS p) AS n"
    ))
    .fetch_one(db.pool())
    .await
    .with_context(|| format!("cannot read whether {} holds anything", S::NAME))?;
    Ok(row.try_get::<i64, _>("n")? == 0)
}
