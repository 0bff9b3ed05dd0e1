use std::sync::Arc;

pub use orderflow_consumer::Transport;
use orderflow_consumer::{ConsumerService, ConsumerServiceSettings, ConsumerState};
use orderflow_storage::Migrations;
use tokio_util::sync::CancellationToken;

use crate::handler::ShipmentProjector;
use crate::routes;

/// The name of the service, its consumer group and its PostgreSQL schema.
pub const SERVICE: &str = "shipping";
/// The port shipping listens on unless told otherwise (contract section 1).
pub const DEFAULT_PORT: u16 = 8082;

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub const MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES_MIGRATIONS,
    sqlite: &SQLITE_MIGRATIONS,
};

/// Shipping's settings with the contract's defaults: port 8082, schema `shipping`, and (for Kafka)
/// group `shipping`.
pub fn default_settings(
    database_url: impl Into<String>,
    transport: Transport,
) -> ConsumerServiceSettings {
    ConsumerServiceSettings::with_defaults(SERVICE, DEFAULT_PORT, database_url, transport)
}

/// A built shipping service. `run_until` runs it.
#[derive(Debug)]
pub struct Application {
    service: ConsumerService,
}

impl Application {
    pub async fn build(settings: ConsumerServiceSettings) -> anyhow::Result<Self> {
        Ok(Application {
            service: ConsumerService::build(SERVICE, settings, MIGRATIONS).await?,
        })
    }

    pub fn port(&self) -> u16 {
        self.service.port()
    }

    pub fn state(&self) -> &ConsumerState {
        self.service.state()
    }

    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let handler = Arc::new(ShipmentProjector {
            db: self.service.state().db.clone(),
        });
        self.service
            .run_until(routes::router(), handler, shutdown)
            .await
    }
}
