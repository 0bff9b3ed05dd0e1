//! Group commit: orders that arrive while a transaction is committing are written together in
//! the next one. Each request is answered only once its own order is durable: nothing waits for
//! a timer (an order alone is written at once), and nothing is acknowledged before its commit.
//!
//! Why: a transaction per order costs five round trips and a commit each; under load the
//! database spends its time on transaction overhead rather than rows. A batch costs six round
//! trips whatever its size (see `db::store_orders`).

use std::sync::Arc;

use anyhow::Context;
use orderflow_events::OrderPlaced;
use orderflow_storage::{Backend, Database};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::db::{self, OrderToStore};

/// Orders per transaction at most: enough to cover every request a busy service has in flight,
/// few enough that one transaction stays short.
pub const MAX_BATCH: usize = 256;

/// Hands orders to the writer task and waits for their commit. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OrderWriter {
    queue: mpsc::Sender<Pending>,
    /// Orders written per transaction, and how long each transaction took (`/metrics`).
    batches: BatchMetrics,
}

/// What `/metrics` shows of the writer: how well requests are grouped, and what a group costs.
#[derive(Debug, Clone)]
pub struct BatchMetrics {
    pub orders_per_commit: Histogram,
    pub commit_seconds: Histogram,
}

impl Default for BatchMetrics {
    fn default() -> Self {
        BatchMetrics {
            // 1, 2, 4, ... 256: up to MAX_BATCH.
            orders_per_commit: Histogram::new(exponential_buckets(1.0, 2.0, 9)),
            commit_seconds: Histogram::new(orderflow_web::metrics::latency_buckets()),
        }
    }
}

/// An order waiting for the next transaction, and where its outcome goes.
struct Pending {
    order: OrderToStore,
    answer: oneshot::Sender<anyhow::Result<OrderPlaced>>,
}

impl OrderWriter {
    /// Starts the writer task; it ends once every handle is dropped, after the orders already
    /// handed to it are written. `stored` is notified after each commit (it wakes the relay).
    ///
    /// One task, one transaction in flight: two or four writers sharing the queue were measured
    /// on PostgreSQL + Apache Kafka (2 cores) and were no faster (the batches only got smaller);
    /// SQLite has one writer at a time anyway.
    pub fn start(db: Database, stored: Arc<Notify>) -> Self {
        let (queue, waiting) = mpsc::channel(MAX_BATCH * 4);
        let batches = BatchMetrics::default();
        tokio::spawn(write_batches(db, waiting, stored, batches.clone()));
        OrderWriter { queue, batches }
    }

    pub fn metrics(&self) -> &BatchMetrics {
        &self.batches
    }

    /// Stores the order with its event; returns once it is committed (or why it was not).
    pub async fn store(&self, order: OrderToStore) -> anyhow::Result<OrderPlaced> {
        let (answer, outcome) = oneshot::channel();
        self.queue
            .send(Pending { order, answer })
            .await
            .map_err(|_| anyhow::anyhow!("the order writer has stopped"))?;
        outcome
            .await
            .context("the order writer stopped before the order was written")?
    }
}

/// Takes whatever is waiting (at least one order, at most [`MAX_BATCH`]), writes it in one
/// transaction, answers, and goes again.
async fn write_batches(
    db: Database,
    mut waiting: mpsc::Receiver<Pending>,
    stored: Arc<Notify>,
    metrics: BatchMetrics,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (orders, answers): (Vec<OrderToStore>, Vec<_>) = batch
            .drain(..)
            .map(|pending| (pending.order, pending.answer))
            .unzip();
        let started = tokio::time::Instant::now();
        let outcomes = write_batch(&db, &orders).await;
        metrics
            .commit_seconds
            .observe(started.elapsed().as_secs_f64());
        metrics.orders_per_commit.observe(orders.len() as f64);
        if outcomes.iter().any(Result::is_ok) {
            stored.notify_one();
        }
        for (answer, outcome) in answers.into_iter().zip(outcomes) {
            // A request that gave up waiting is gone; its order is stored all the same (it was
            // never acknowledged, like one whose answer was lost on the way).
            let _ = answer.send(outcome);
        }
    }
}

/// Writes the batch in one transaction. If that fails for something in the data rather than
/// the database being away, each order is written alone: one order the database rejects must
/// not fail the others that happened to share its transaction.
async fn write_batch(db: &Database, orders: &[OrderToStore]) -> Vec<anyhow::Result<OrderPlaced>> {
    match write_together(db, orders).await {
        Ok(placed) => placed.into_iter().map(Ok).collect(),
        Err(error) if orders.len() > 1 && !is_transient(&error) => {
            tracing::warn!(
                error = format!("{error:#}"),
                orders = orders.len(),
                "A batch of orders was refused; writing each alone."
            );
            let mut outcomes = Vec::with_capacity(orders.len());
            for order in orders {
                outcomes.push(
                    write_together(db, std::slice::from_ref(order))
                        .await
                        .map(|mut placed| placed.remove(0)),
                );
            }
            outcomes
        }
        Err(error) => {
            let shared = format!("{error:#}");
            let mut outcomes = vec![Err(error)];
            outcomes.extend((1..orders.len()).map(|_| Err(anyhow::anyhow!(shared.clone()))));
            outcomes
        }
    }
}

async fn write_together(
    db: &Database,
    orders: &[OrderToStore],
) -> anyhow::Result<Vec<OrderPlaced>> {
    if db.backend() == Backend::Postgres {
        return db::store_orders_in_one_statement(db, orders).await;
    }
    let mut tx = db.begin().await.context("failed to begin a transaction")?;
    let placed = db::store_orders(&mut tx, db.backend(), orders).await?;
    tx.commit().await.context("failed to commit the orders")?;
    Ok(placed)
}

/// Whether the database was away (every order would fail alone too) rather than refusing what
/// was written.
fn is_transient(error: &anyhow::Error) -> bool {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .is_none_or(orderflow_storage::is_transient)
}

#[cfg(test)]
mod tests {
    use orderflow_events::{Address, Customer, EpochMillis, Item, OrderLine};
    use orderflow_storage::DatabaseSettings;

    use super::*;
    use crate::domain::ResolvedOrder;

    /// A fresh order database: on the PostgreSQL of `DATABASE_URL` when it is set (as `.ci/run`
    /// sets it; the writer takes another road there), in a schema of its own, dropped by
    /// [`Scratch::remove`]; otherwise a SQLite file of its own.
    async fn database() -> (Database, Scratch) {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "group_commit_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let (url, scratch) = match std::env::var("DATABASE_URL") {
            Ok(url) => (url, Scratch::Schema(name.clone())),
            Err(_) => {
                let path = std::env::temp_dir().join(format!("orderflow-{name}.db"));
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    Scratch::File(path),
                )
            }
        };
        let db = Database::connect(
            &DatabaseSettings::new(url, name),
            &[crate::startup::MIGRATIONS],
        )
        .await
        .expect("a database");
        (db, scratch)
    }

    enum Scratch {
        File(std::path::PathBuf),
        Schema(String),
    }

    impl Scratch {
        async fn remove(self, db: &Database) {
            match self {
                Scratch::File(path) => {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                    }
                }
                Scratch::Schema(schema) => {
                    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                        .execute(db.pool())
                        .await
                        .expect("the test's schema dropped");
                }
            }
        }
    }

    /// Order `n`: `n % 5 + 1` lines, the n-th's count `n` (0 for `n == 0`: refused by the
    /// table's `CHECK (count > 0)`).
    fn order(n: i64) -> OrderToStore {
        let address = |street: &str| Address {
            street: format!("{street} {n}"),
            zip: "12345".into(),
            city: "Town".into(),
        };
        let lines = (0..n % 5 + 1)
            .map(|line| OrderLine {
                count: if line == 0 { n } else { line },
                item: Item {
                    item_id: 1,
                    name: "iPod".into(),
                    price: "42.0".parse().expect("a price"),
                    category: None,
                },
            })
            .collect();
        OrderToStore {
            order: ResolvedOrder {
                customer: Customer {
                    customer_id: 1,
                    name: "Wolff".into(),
                    firstname: "Eberhard".into(),
                    email: "eberhard.wolff@gmail.com".into(),
                },
                shipping_address: address("Ship"),
                billing_address: address("Bill"),
                lines,
                total: "42.0".parse().expect("a price"),
            },
            placed: EpochMillis(1_700_000_000_000 + n),
            traceparent: None,
        }
    }

    /// How many transactions the writer committed, as `/metrics` says.
    fn commits(metrics: &BatchMetrics) -> u64 {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("per_commit", "", metrics.orders_per_commit.clone());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encodable");
        text.lines()
            .find_map(|line| line.strip_prefix("per_commit_count "))
            .and_then(|count| count.trim().parse().ok())
            .unwrap_or_else(|| panic!("no count in {text}"))
    }

    #[tokio::test]
    async fn orders_placed_together_share_transactions_and_each_gets_its_own_rows() {
        let (db, scratch) = database().await;
        let writer = OrderWriter::start(db.clone(), Arc::default());
        let placed: Vec<OrderPlaced> =
            futures::future::join_all((1..=60).map(|n| writer.store(order(n))))
                .await
                .into_iter()
                .collect::<anyhow::Result<_>>()
                .expect("every order stored");

        let commits = commits(writer.metrics());
        assert!(
            commits < 60,
            "60 orders at once took {commits} transactions"
        );
        for (n, event) in (1..=60).zip(&placed) {
            // What the writer answered is what was stored, lines and all, under its own id.
            assert_eq!(event.order_line.len() as i64, n % 5 + 1, "order {n}");
            assert_eq!(event.order_line[0].count, n);
            assert_eq!(event.shipping_address.street, format!("Ship {n}"));
            let stored = db::load_order(&db, event.id).await.expect("readable");
            assert_eq!(stored.as_ref(), Some(event), "order {n} as stored");
        }
        let outbox = db::outbox(&db).await.expect("the outbox");
        assert_eq!(outbox.pending, 60, "one event per order");
        scratch.remove(&db).await;
    }

    #[tokio::test]
    async fn an_order_the_database_refuses_fails_alone() {
        let (db, scratch) = database().await;
        let writer = OrderWriter::start(db.clone(), Arc::default());
        let outcomes = futures::future::join_all((0..8).map(|n| writer.store(order(n)))).await;

        let refused = outcomes[0]
            .as_ref()
            .expect_err("a line of count 0 is refused");
        // SQLite: "CHECK constraint failed: count > 0"; PostgreSQL: "order_line_count_check".
        assert!(format!("{refused:#}").contains("count"), "{refused:#}");
        for outcome in &outcomes[1..] {
            let event = outcome.as_ref().expect("the others are stored");
            assert!(
                db::load_order(&db, event.id)
                    .await
                    .expect("readable")
                    .is_some()
            );
        }
        assert_eq!(db::outbox(&db).await.expect("the outbox").pending, 7);
        scratch.remove(&db).await;
    }
}
