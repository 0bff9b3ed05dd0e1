//! How a consumer service keeps its copy of every order: the service says how an order becomes
//! its rows ([`Projection`]); [`Projector`] owns the rest, the same for every service: one
//! transaction per batch, the checkpoint in it, the first copy wins, the answers, the log line,
//! and which database errors are worth a retry.

use std::collections::HashSet;
use std::marker::PhantomData;

use async_trait::async_trait;
use orderflow_events::{EpochMillis, OrderPlaced};
use orderflow_storage::Database;
use orderflow_transport::{Applied, Checkpoint, HandleError, OrderEventHandler};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use sqlx::AnyConnection;

use crate::advance_checkpoint;

/// How an order becomes a consumer service's rows. Only what differs between services: the
/// tables come from the service's migrations, the rest from [`Projector`].
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// What one copy is called, capitalised: `Shipment`, as in the log line
    /// `Shipment id 1 already exists - ignored`.
    const COPY: &'static str;

    /// Whether an order can become a copy at all; `Err` says why not, and the event is parked
    /// (a record from elsewhere may carry numbers the copy cannot hold).
    fn accepts(order: &OrderPlaced) -> Result<(), String> {
        let _ = order;
        Ok(())
    }

    /// Inserts the copies of `orders` whose ids are not stored yet (`ON CONFLICT (id) DO
    /// NOTHING RETURNING id`), stamped `received_ms`, and returns the ids inserted now.
    async fn insert_copies(
        connection: &mut AnyConnection,
        orders: &[OrderPlaced],
        received_ms: i64,
    ) -> Result<Vec<i64>, sqlx::Error>;

    /// Inserts what belongs to the copies created now, in the same transaction (their lines).
    async fn insert_details(
        connection: &mut AnyConnection,
        created: &[&OrderPlaced],
    ) -> Result<(), sqlx::Error>;

    /// Whether a deleted order takes its rows with it (bonus: a deleted order earns nothing), or
    /// they stay (shipping's and invoicing's copies, as the contract says).
    const TAKES_BACK_DELETED: bool = false;

    /// Removes order `id`'s rows (only called when `TAKES_BACK_DELETED`); `true` when there
    /// were any.
    async fn delete_rows(connection: &mut AnyConnection, id: i64) -> Result<bool, sqlx::Error> {
        let _ = (connection, id);
        Ok(false)
    }
}

/// A [`Projection`] as the transports see it: an idempotent [`OrderEventHandler`].
pub struct Projector<P> {
    db: Database,
    /// Seconds from each order's time to its copy committed here (`/metrics`).
    age: Histogram,
    projection: PhantomData<fn() -> P>,
}

impl<P> std::fmt::Debug for Projector<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projector")
            .field("projection", &std::any::type_name::<P>())
            .finish_non_exhaustive()
    }
}

impl<P: Projection> Projector<P> {
    pub fn new(db: Database) -> Self {
        Projector {
            db,
            // 1 ms doubling to about 9 minutes: a copy waits that long while its consumer is
            // down or catching up.
            age: Histogram::new(exponential_buckets(0.001, 2.0, 20)),
            projection: PhantomData,
        }
    }

    /// The ages of the events whose copies this projector committed, for `/metrics`.
    pub fn age(&self) -> &Histogram {
        &self.age
    }

    /// Stores the copies of `orders` (in order) in one transaction, and moves the checkpoint, if
    /// any, in the same one. A copy whose id exists (or came earlier in `orders`) is left as it
    /// is: the first one wins, answered `AlreadyPresent`.
    async fn store(
        &self,
        orders: &[OrderPlaced],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Vec<Applied>, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        if let Some(checkpoint) = checkpoint
            && !advance_checkpoint(&mut tx, checkpoint).await?
        {
            tx.rollback().await?;
            return Ok(vec![Applied::CheckpointMoved; orders.len()]);
        }
        let inserted: HashSet<i64> = P::insert_copies(&mut tx, orders, EpochMillis::now().0)
            .await?
            .into_iter()
            .collect();
        let answers = first_copies(orders, &inserted);
        let created: Vec<&OrderPlaced> = orders
            .iter()
            .zip(&answers)
            .filter(|(_, applied)| **applied == Applied::Created)
            .map(|(order, _)| order)
            .collect();
        P::insert_details(&mut tx, &created).await?;
        tx.commit().await?;
        let committed_ms = EpochMillis::now().0;
        for order in &created {
            self.age
                .observe((committed_ms - order.updated.0).max(0) as f64 / 1000.0);
        }
        for (order, applied) in orders.iter().zip(&answers) {
            match applied {
                Applied::Created => tracing::debug!(order_id = order.id, "{} stored.", P::COPY),
                _ => tracing::info!("{} id {} already exists - ignored", P::COPY, order.id),
            }
        }
        Ok(answers)
    }

    /// Removes what order `id` gave, moving the checkpoint, if any, in the same transaction.
    async fn take_back(
        &self,
        id: i64,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Applied, sqlx::Error> {
        let mut tx = self.db.begin().await?;
        if let Some(checkpoint) = checkpoint
            && !advance_checkpoint(&mut tx, checkpoint).await?
        {
            tx.rollback().await?;
            return Ok(Applied::CheckpointMoved);
        }
        let removed = P::delete_rows(&mut tx, id).await?;
        tx.commit().await?;
        if removed {
            tracing::info!(
                order_id = id,
                "Order {id} was deleted: its {} is taken back.",
                P::COPY
            );
            Ok(Applied::Created)
        } else {
            tracing::debug!(
                order_id = id,
                "Order {id} was deleted; nothing left to take back."
            );
            Ok(Applied::AlreadyPresent)
        }
    }
}

#[async_trait]
impl<P: Projection> OrderEventHandler for Projector<P> {
    async fn handle_batch(
        &self,
        orders: &[OrderPlaced],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Vec<Applied>, HandleError> {
        for order in orders {
            P::accepts(order).map_err(|why| HandleError::Permanent(why.into()))?;
        }
        self.store(orders, checkpoint).await.map_err(classify)
    }

    async fn handle(
        &self,
        order: &OrderPlaced,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Applied, HandleError> {
        let answers = self
            .handle_batch(std::slice::from_ref(order), checkpoint)
            .await?;
        answers
            .first()
            .copied()
            .ok_or_else(|| HandleError::Transient("no answer for the order".into()))
    }

    async fn handle_deleted(
        &self,
        id: i64,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Option<Applied>, HandleError> {
        if !P::TAKES_BACK_DELETED {
            return Ok(None);
        }
        self.take_back(id, checkpoint)
            .await
            .map(Some)
            .map_err(classify)
    }
}

/// `Created` for each order whose id was inserted now, the first time it appears; the rest
/// already existed.
fn first_copies(orders: &[OrderPlaced], inserted: &HashSet<i64>) -> Vec<Applied> {
    let mut answered = HashSet::new();
    orders
        .iter()
        .map(|order| {
            if inserted.contains(&order.id) && answered.insert(order.id) {
                Applied::Created
            } else {
                Applied::AlreadyPresent
            }
        })
        .collect()
}

/// A database error as the consumer sees it: retry it (database away) or park the event
/// (the event's data is what the database rejects).
pub fn classify(error: sqlx::Error) -> HandleError {
    if orderflow_storage::is_transient(&error) {
        HandleError::Transient(Box::new(error))
    } else {
        HandleError::Permanent(Box::new(error))
    }
}
