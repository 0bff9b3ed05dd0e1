//! The consumer side under test: an idempotent projection in memory, with the position a
//! transport may keep in the consumer's database, moved atomically with the effect.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use orderflow_events::OrderPlaced;
use orderflow_transport::{
    Applied, BoxError, Checkpoint, CheckpointStore, HandleError, OrderEventHandler, ParkedEvent,
    ParkingLot,
};

/// Everything one service's instances share, behind one lock: a "transaction" is one critical
/// section, so a batch and its checkpoint move together or not at all.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Order ids in the order they were applied (created).
    applied: Vec<i64>,
    stored: HashSet<i64>,
    checkpoints: HashMap<String, i64>,
    /// Sources and errors of the parked events.
    parked: Vec<(String, String)>,
    /// Ids refused for good (poison the database would reject).
    refuse: HashSet<i64>,
    /// Ids whose batch fails transiently this many more times.
    fail: HashMap<i64, u32>,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("store lock")
    }

    /// Refuses order `id` permanently, as a database refuses data it cannot hold.
    pub fn refuse(&self, id: i64) {
        self.state().refuse.insert(id);
    }

    /// Fails any batch holding order `id` transiently, `times` times, as a database away does.
    pub fn fail_transiently(&self, id: i64, times: u32) {
        self.state().fail.insert(id, times);
    }

    /// Order ids in the order they were applied.
    pub fn applied(&self) -> Vec<i64> {
        self.state().applied.clone()
    }

    /// Transient failures still to come.
    pub fn failures_left(&self) -> u32 {
        self.state().fail.values().sum()
    }

    /// `(source, error)` of each parked event.
    pub fn parked(&self) -> Vec<(String, String)> {
        self.state().parked.clone()
    }

    /// The stored position in `stream` (0 before the first), for transports that keep it here.
    pub fn position(&self, stream: &str) -> i64 {
        self.state().checkpoints.get(stream).copied().unwrap_or(0)
    }

    /// Moves past an event without applying it (the checkpoint, if any) and parks it with
    /// `(source, error)` if given; `false` when the checkpoint was no longer where expected.
    pub fn pass(&self, checkpoint: Option<&Checkpoint>, parked: Option<(&str, &str)>) -> bool {
        let mut state = self.state();
        if let Some(checkpoint) = checkpoint
            && !state.advance(checkpoint)
        {
            return false;
        }
        if let Some((source, error)) = parked {
            state.parked.push((source.to_owned(), error.to_owned()));
        }
        true
    }
}

impl State {
    fn advance(&mut self, checkpoint: &Checkpoint) -> bool {
        let at = self
            .checkpoints
            .entry(checkpoint.stream.clone())
            .or_default();
        if *at != checkpoint.expected {
            return false;
        }
        *at = checkpoint.next;
        true
    }
}

#[async_trait]
impl OrderEventHandler for MemoryStore {
    async fn handle_batch(
        &self,
        orders: &[OrderPlaced],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Vec<Applied>, HandleError> {
        let mut state = self.state();
        for order in orders {
            if let Some(left) = state.fail.get_mut(&order.id)
                && *left > 0
            {
                *left -= 1;
                return Err(HandleError::Transient(
                    format!("the store is away (order {})", order.id).into(),
                ));
            }
            if state.refuse.contains(&order.id) {
                return Err(HandleError::Permanent(
                    format!("order {} is refused", order.id).into(),
                ));
            }
        }
        if let Some(checkpoint) = checkpoint
            && !state.advance(checkpoint)
        {
            return Ok(vec![Applied::CheckpointMoved; orders.len()]);
        }
        Ok(orders
            .iter()
            .map(|order| {
                if state.stored.insert(order.id) {
                    state.applied.push(order.id);
                    Applied::Created
                } else {
                    Applied::AlreadyPresent
                }
            })
            .collect())
    }

    async fn handle(
        &self,
        order: &OrderPlaced,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Applied, HandleError> {
        let answers = self
            .handle_batch(std::slice::from_ref(order), checkpoint)
            .await?;
        Ok(answers[0])
    }
}

#[async_trait]
impl ParkingLot for MemoryStore {
    async fn park(&self, event: &ParkedEvent<'_>) -> Result<(), BoxError> {
        self.pass(None, Some((event.source, event.error)));
        Ok(())
    }
}

/// The position a transport keeps in the consumer's database (the feed's, an AMQP stream's).
#[async_trait]
impl CheckpointStore for MemoryStore {
    async fn position(&self, stream: &str) -> Result<i64, BoxError> {
        Ok(MemoryStore::position(self, stream))
    }

    async fn pass(
        &self,
        checkpoint: Option<&Checkpoint>,
        parked: Option<&ParkedEvent<'_>>,
    ) -> Result<bool, BoxError> {
        Ok(MemoryStore::pass(
            self,
            checkpoint,
            parked.map(|parked| (parked.source, parked.error)),
        ))
    }
}
