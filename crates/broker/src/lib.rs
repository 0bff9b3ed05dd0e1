#![doc = include_str!("../README.md")]

use std::time::Duration;

use anyhow::Context;
use tansu_broker::broker::Broker;
use tansu_broker::coordinator::group::administrator::Controller;
use tansu_storage::StorageContainer;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

/// The SQLite file the broker keeps topics, records and committed offsets in. Tansu resolves it
/// against the current directory (whatever the URL says), so the process that runs the broker
/// changes into its data folder first: `orderflow broker` does.
pub const STORAGE_FILE: &str = "broker.db";

/// Where the embedded broker listens.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// Host clients connect to; also the address advertised to them.
    pub host: String,
    /// A real port: Tansu cannot listen on port 0.
    pub port: u16,
}

impl BrokerSettings {
    pub fn bootstrap(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Runs a Kafka-compatible broker (Tansu) with SQLite storage in the current directory until
/// `shutdown` is cancelled.
///
/// Tansu has no graceful stop; the broker task is aborted. Its SQLite storage survives that (and
/// SIGKILL), which is what Tansu's authors and our own measurements rely on.
pub async fn run(settings: &BrokerSettings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener: Url = format!("tcp://{}:{}", settings.host, settings.port)
        .parse()
        .context("invalid broker listener address")?;
    let storage: Url = format!("sqlite://{STORAGE_FILE}")
        .parse()
        .expect("a valid URL");
    let mut broker = Broker::<Controller<StorageContainer>, StorageContainer>::builder()
        .node_id(1)
        .cluster_id("orderflow")
        .incarnation_id(uuid::Uuid::new_v4())
        .advertised_listener(listener.clone())
        .storage(storage)
        .listener(listener)
        .schema_registry(None)
        .lake_house(None)
        .otlp_endpoint_url(None)
        .authentication(false)
        .tls_server_config(None)
        .silent(true)
        .build()
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))
        .context("cannot start the embedded Kafka broker")?;
    let mut serving = tokio::spawn(async move { broker.serve(Instant::now()).await });
    tracing::info!(address = %settings.bootstrap(), storage = STORAGE_FILE, "Embedded Kafka broker (Tansu) ready.");
    tokio::select! {
        _ = shutdown.cancelled() => {
            serving.abort();
            let _ = tokio::time::timeout(Duration::from_secs(2), &mut serving).await;
            tracing::info!("Embedded Kafka broker stopped.");
            Ok(())
        }
        ended = &mut serving => match ended {
            Ok(Ok(())) => anyhow::bail!("the embedded Kafka broker stopped by itself"),
            Ok(Err(error)) => Err(anyhow::anyhow!("{error}")).context("the embedded Kafka broker failed"),
            Err(error) => Err(error).context("the embedded Kafka broker panicked"),
        },
    }
}
