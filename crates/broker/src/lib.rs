#![doc = include_str!("../README.md")]

mod append;
mod groups;
mod indexes;
mod listen;
mod long_poll;
mod read;
mod statements;
mod storage;

use std::time::{Duration, SystemTime};

use anyhow::Context;
use futures::future::BoxFuture;
use tansu_broker::coordinator::group::Coordinator;
use tansu_broker::coordinator::group::administrator::Controller;
use tansu_storage::{BrokerRegistrationRequest, Storage, StorageContainer};

use crate::append::Appender;
use crate::read::Reader;
use crate::storage::BrokerStorage;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use groups::GroupCoordinator;

/// The SQLite file the broker keeps topics, records and committed offsets in. Tansu resolves it
/// against the current directory (whatever the URL says), so the process that runs the broker
/// changes into its data folder first: `orderflow broker` does.
pub const STORAGE_FILE: &str = "broker.db";

const NODE_ID: i32 = 1;
/// Its cluster id, by which orderflow's producers know it (`orderflow_kafka::EMBEDDED_BROKER_CLUSTER_ID`).
/// Tansu keys every row of its storage by it: changing it would hide an existing `broker.db`.
pub const CLUSTER_ID: &str = "orderflow";

/// Where the embedded broker listens, and which group coordinator it runs.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// Host clients connect to; also the address advertised to them.
    pub host: String,
    /// A real port: Tansu cannot listen on port 0.
    pub port: u16,
    pub groups: Groups,
    /// How often the storage is maintained: compacted topics (`cleanup.policy=compact`, the
    /// order-state topic) keep only each key's newest record afterwards. Tansu's own interval
    /// is ten minutes, too long for compaction to show in a demo or a test.
    pub maintenance_interval: Duration,
}

/// Who coordinates consumer groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Groups {
    /// [`GroupCoordinator`]: the classic group protocol as Apache Kafka runs it, in memory.
    #[default]
    Orderflow,
    /// Tansu 0.6.0's own coordinator, which strands members (`docs/embedded-broker.md`); only
    /// for showing that, and for testing the consumers' own defence against it.
    Tansu,
}

impl BrokerSettings {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        BrokerSettings {
            host: host.into(),
            port,
            groups: Groups::default(),
            maintenance_interval: Duration::from_secs(30),
        }
    }

    pub fn bootstrap(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Runs a Kafka-compatible broker (Tansu) with SQLite storage in the current directory until
/// `shutdown` is cancelled.
///
/// Tansu has no graceful stop; the broker task is aborted. Its SQLite storage survives that (and
/// SIGKILL), which is what Tansu's authors and our own measurements rely on.
///
/// The future is boxed on purpose: the whole broker is compiled into this crate, rather than
/// into the executable that awaits it, so that building `orderflow-broker` after `orderflow`
/// only links (see ARCHITECTURE.md, "one build").
pub fn run(
    settings: BrokerSettings,
    shutdown: CancellationToken,
) -> BoxFuture<'static, anyhow::Result<()>> {
    Box::pin(async move {
        let listener: Url = format!("tcp://{}:{}", settings.host, settings.port)
            .parse()
            .context("invalid broker listener address")?;
        let tansu = tansu_storage(&listener).await?;
        let storage_file = std::path::Path::new(STORAGE_FILE);
        indexes::ensure(storage_file).await?;
        let appender = Appender::open(storage_file, CLUSTER_ID)
            .await
            .context("cannot open the embedded Kafka broker's storage for producing")?;
        let reader = Reader::open(storage_file, CLUSTER_ID)
            .await
            .context("cannot open the embedded Kafka broker's storage for fetching")?;
        let storage = BrokerStorage::new(tansu, appender, reader);
        match settings.groups {
            Groups::Orderflow => {
                let groups = GroupCoordinator::new(storage.clone()).map_err(tansu_error)?;
                serve(&settings, storage, groups, shutdown).await
            }
            Groups::Tansu => {
                tracing::warn!(
                    "Running Tansu's own group coordinator, which can leave a member without partitions for good."
                );
                let groups = Controller::with_storage(storage.clone()).map_err(tansu_error)?;
                serve(&settings, storage, groups, shutdown).await
            }
        }
    })
}

/// Tansu's SQLite storage, in `STORAGE_FILE` of the current directory.
async fn tansu_storage(listener: &Url) -> anyhow::Result<StorageContainer> {
    let url: Url = format!("sqlite://{STORAGE_FILE}")
        .parse()
        .expect("a valid URL");
    StorageContainer::builder()
        .cluster_id(CLUSTER_ID)
        .node_id(NODE_ID)
        .advertised_listener(listener.clone())
        .schema_registry(None)
        .lake_house(None)
        .storage(url)
        .cancellation(CancellationToken::new())
        .silent(true)
        .build()
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))
        .context("cannot open the embedded Kafka broker's storage")
}

async fn serve<G: Coordinator>(
    settings: &BrokerSettings,
    storage: BrokerStorage,
    groups: G,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    storage
        .register_broker(BrokerRegistrationRequest {
            broker_id: NODE_ID,
            cluster_id: CLUSTER_ID.into(),
            incarnation_id: uuid::Uuid::new_v4(),
            rack: None,
        })
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))
        .context("cannot register the embedded broker in its storage")?;
    let address = settings.bootstrap();
    let tcp = TcpListener::bind((settings.host.as_str(), settings.port))
        .await
        .with_context(|| format!("the embedded broker cannot listen on {address}"))?;
    let maintenance = tokio::spawn(maintain(storage.clone(), settings.maintenance_interval));
    let mut serving =
        tokio::spawn(
            async move { listen::serve_connections(tcp, CLUSTER_ID, groups, storage).await },
        );
    tracing::info!(address = %settings.bootstrap(), storage = STORAGE_FILE, "Embedded Kafka broker (Tansu) ready.");
    let _stop_maintenance = AbortOnDrop(maintenance);
    tokio::select! {
        _ = shutdown.cancelled() => {
            serving.abort();
            let _ = tokio::time::timeout(Duration::from_secs(2), &mut serving).await;
            tracing::info!("Embedded Kafka broker stopped.");
            Ok(())
        }
        ended = &mut serving => match ended {
            Ok(Ok(())) => anyhow::bail!("the embedded Kafka broker stopped by itself"),
            Ok(Err(error)) => Err(error).context("the embedded Kafka broker failed"),
            Err(error) => Err(error).context("the embedded Kafka broker panicked"),
        },
    }
}

/// Runs Tansu's storage maintenance every `interval`: compaction (the newest record per key of a
/// compacted topic stays; tombstones are never removed by Tansu 0.6.0) and its retention policy
/// (only topics that set `cleanup.policy=delete` themselves; orderflow's do not).
async fn maintain(storage: BrokerStorage, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        if let Err(error) = storage.maintain(SystemTime::now()).await {
            tracing::warn!(%error, "Storage maintenance failed; trying again later.");
        }
    }
}

/// Aborts the task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Tansu's errors are not `std::error::Error + Sync` in every variant; their text is enough.
fn tansu_error(error: tansu_broker::Error) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}
