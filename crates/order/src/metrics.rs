//! What order adds to its `/metrics`: the outbox (events waiting for the broker, and how long
//! the oldest has waited), read from the database before each scrape, and how long the relay's
//! batches take to be acknowledged; and how orders are grouped into transactions.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use orderflow_events::EpochMillis;
use orderflow_storage::Database;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Unit;

use crate::config::OrderTransport;
use crate::group_commit::BatchMetrics;
use crate::relay::OutboxRelay;

/// Order's metrics. In feed mode there is no outbox to watch (readers take the events from the
/// table), so only the HTTP figures.
pub(crate) fn order_metrics(
    db: &Database,
    relay: &OutboxRelay,
    writer: &BatchMetrics,
    transport: &OrderTransport,
) -> Arc<orderflow_web::Metrics> {
    let mut metrics = orderflow_web::MetricsBuilder::new("order");
    metrics.registry().register(
        "orderflow_orders_per_commit",
        "Orders written together in one transaction (group commit)",
        writer.orders_per_commit.clone(),
    );
    metrics.registry().register_with_unit(
        "orderflow_order_commit",
        "From beginning a transaction of orders to its commit",
        Unit::Seconds,
        writer.commit_seconds.clone(),
    );
    if !matches!(transport, OrderTransport::Feed) {
        let pending = Gauge::<i64, AtomicI64>::default();
        let oldest = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        metrics.registry().register(
            "orderflow_outbox_pending",
            "Events stored with their order and not yet acknowledged by the broker",
            pending.clone(),
        );
        metrics.registry().register_with_unit(
            "orderflow_outbox_oldest_pending_age",
            "How long the oldest event not yet acknowledged has waited (0 when none waits)",
            Unit::Seconds,
            oldest.clone(),
        );
        metrics.registry().register_with_unit(
            "orderflow_relay_publish",
            "From handing a batch of events to the broker to its last acknowledgement",
            Unit::Seconds,
            relay.publish_seconds().clone(),
        );
        let db = db.clone();
        metrics.refresh_before_scrape(move || {
            let (db, pending, oldest) = (db.clone(), pending.clone(), oldest.clone());
            async move {
                match crate::db::outbox(&db).await {
                    Ok(crate::db::Outbox {
                        pending: count,
                        oldest_ms,
                    }) => {
                        pending.set(count);
                        let age_ms = oldest_ms.map_or(0, |ms| (EpochMillis::now().0 - ms).max(0));
                        oldest.set(age_ms as f64 / 1000.0);
                    }
                    // The gauges keep their last values; /health says the database is down.
                    Err(error) => tracing::debug!(
                        error = format!("{error:#}"),
                        "Outbox not readable for /metrics."
                    ),
                }
            }
        });
    }
    metrics.build()
}
