//! Applying what a poll read, through the shared delivery policy, with the feed's way of
//! keeping a position: a checkpoint in the consumer's database, moved in the same transaction as
//! each batch's effect (compare-and-set, so that two instances never apply an entry twice).

use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use futures::StreamExt;
use orderflow_transport::{BoxError, Checkpoint, CheckpointStore, ParkedEvent, Positions, Stopped};

use super::fetch::FeedRecord;
use super::walk::Walked;
use super::{PollError, Poller, PollerStatus};

/// Orders applied in one transaction at most.
const APPLY_BATCH: usize = 100;

/// Orders read ahead of the one being applied.
const READ_AHEAD: usize = 16;

/// How a poll ended, when it read everything it could.
pub(super) enum Applied {
    /// Every entry is done; this many were applied now.
    All(usize),
    /// Another instance moved the checkpoint meanwhile (this many were applied before that):
    /// the next poll starts from the stored position.
    Overtaken(usize),
}

/// A reader's position in one feed, as the delivery policy sees it.
struct FeedPositions<'a> {
    stream: &'a str,
    /// The stored position this poll has reached.
    position: AtomicI64,
    checkpoints: &'a dyn CheckpointStore,
    status: &'a PollerStatus,
}

#[async_trait]
impl Positions<FeedRecord> for FeedPositions<'_> {
    fn checkpoint(&self, records: &[FeedRecord]) -> Option<Checkpoint> {
        let next = records.last()?.position?;
        Some(Checkpoint {
            stream: self.stream.to_owned(),
            expected: self.position.load(Ordering::Relaxed),
            next,
        })
    }

    fn advanced(&self, last: &FeedRecord) {
        if let Some(position) = last.position {
            self.position.store(position, Ordering::Relaxed);
            self.status.position.store(position, Ordering::Relaxed);
        }
    }

    async fn pass(&self, record: &FeedRecord, parked: Option<&str>) -> Result<bool, BoxError> {
        let checkpoint = self.checkpoint(std::slice::from_ref(record));
        let payload = record.content.payload();
        let parked = parked.map(|error| ParkedEvent {
            stream: self.stream,
            position: record.position,
            source: &record.source,
            payload: payload.as_deref(),
            encoding: "json",
            error,
        });
        if checkpoint.is_none() && parked.is_none() {
            // A gone entry of a feed without positions: nothing to move, nothing to keep.
            return Ok(true);
        }
        self.checkpoints
            .pass(checkpoint.as_ref(), parked.as_ref())
            .await
    }
}

impl Poller {
    /// Reads the walked entries' orders (several at once, so that HTTP round trips overlap) and
    /// hands them to the delivery policy strictly in order, up to [`APPLY_BATCH`] at a time.
    pub(super) async fn apply(&self, walked: Walked, position: i64) -> Result<Applied, PollError> {
        let entries: Vec<_> = match walked {
            Walked::Positioned(entries) => entries
                .into_iter()
                .map(|(p, entry, url)| (Some(p), entry, url))
                .collect(),
            Walked::Unpositioned(entries) => entries
                .into_iter()
                .map(|(entry, url)| (None, entry, url))
                .collect(),
        };
        let positions = FeedPositions {
            stream: &self.settings.feed_url,
            position: AtomicI64::new(position),
            checkpoints: &*self.checkpoints,
            status: &self.status,
        };
        let mut reads = futures::stream::iter(
            entries
                .into_iter()
                .map(|(p, entry, url)| self.read_entry(p, entry, url)),
        )
        .buffered(READ_AHEAD);
        let mut applied = 0;
        let mut batch = Vec::with_capacity(APPLY_BATCH);
        loop {
            let read = reads.next().await;
            let end = read.is_none();
            if let Some(record) = read {
                batch.push(record?);
            }
            if batch.len() < APPLY_BATCH && !end {
                continue;
            }
            let progress = self.delivery.deliver(&positions, &batch).await;
            applied += progress.created;
            match progress.stopped {
                None => {}
                Some(Stopped::Transient(error)) => return Err(PollError::Apply(error)),
                Some(Stopped::PositionMoved) => return Ok(Applied::Overtaken(applied)),
            }
            batch.clear();
            if end {
                return Ok(Applied::All(applied));
            }
        }
    }
}
