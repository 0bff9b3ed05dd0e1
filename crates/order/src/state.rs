use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use orderflow_events::{EpochMillis, OrderPlaced};
use orderflow_feed::PageSize;
use orderflow_kafka::BrokerProbe;
use orderflow_storage::Database;
use tokio::sync::{Notify, watch};

use crate::catalog::Catalog;
use crate::db::OrderToStore;
use crate::domain::Invalid;
use crate::domain::NewOrder;
use crate::group_commit::OrderWriter;

/// The broker order publishes to, asked for `/health`.
#[derive(Clone, Debug)]
pub enum Broker {
    Kafka(BrokerProbe),
    Amqp(orderflow_amqp::AmqpProbe),
}

impl Broker {
    /// `Ok(Some(partitions of the topic))` on Kafka (0: not created yet), `Ok(None)` on
    /// RabbitMQ; why it cannot be reached otherwise.
    pub async fn check(&self) -> Result<Option<usize>, String> {
        match self {
            Broker::Kafka(probe) => probe.check().await.map(Some),
            Broker::Amqp(probe) => probe.check().await.map(|()| None),
        }
    }
}

/// Everything a request handler may touch. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The order schema (orders, catalog, outbox).
    pub db: Database,
    /// Customers and items, read at start-up.
    pub catalog: Arc<Catalog>,
    /// Wakes the outbox relay once an event has committed, so that it leaves immediately.
    pub relay_wake: Arc<Notify>,
    /// Writes orders in groups (group commit); it wakes the relay itself.
    pub orders: OrderWriter,
    /// Changes when events got feed positions: long-polling feed readers wait on it.
    pub sequenced: watch::Receiver<u64>,
    /// Feed readers held right now, waiting for the feed to change (`/health`).
    pub long_polls: Arc<AtomicUsize>,
    /// `kafka`, `amqp` or `feed`.
    pub transport: &'static str,
    /// Asks the broker whether it is reachable, for `/health`; `None` in feed mode.
    pub broker: Option<Broker>,
    /// Entries per feed document.
    pub feed_page_size: PageSize,
    /// The configured public URL for the feed's links, if any.
    pub public_url: Option<String>,
}

impl AppState {
    /// Stores the order with its event (with the other orders placed meanwhile: group commit);
    /// returns once it is committed.
    pub async fn place_order(&self, order: &NewOrder) -> Result<OrderPlaced, PlaceOrderError> {
        // Customers and items are checked against the catalog read at start-up: no query for them.
        let resolved = self
            .catalog
            .resolve(order)
            .map_err(PlaceOrderError::Invalid)?;
        let placed = self
            .orders
            .store(OrderToStore {
                order: resolved,
                placed: EpochMillis::now(),
                traceparent: orderflow_telemetry::traceparent(&tracing::Span::current()),
            })
            .await?;
        tracing::debug!(order_id = placed.id, "Order placed.");
        Ok(placed)
    }
}

/// Why an order was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    /// The request names a customer or item that does not exist.
    #[error("invalid order")]
    Invalid(Invalid),
    #[error(transparent)]
    Database(#[from] anyhow::Error),
}
