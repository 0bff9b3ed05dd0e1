//! Whether a member without partitions is needed: a partition whose records wait while the
//! group's committed offset for it stands still has no one consuming it.
//!
//! A broker's group coordinator can leave a member with an empty assignment although partitions
//! have no owner (Tansu 0.6.0's does, see `docs/embedded-broker.md`); the member then waits for
//! good, and the partitions' records wait with it. A member that only counted its own empty
//! assignment could not tell that apart from a group with more members than partitions, where
//! an idle member is right and rejoining would only make the others rebalance again and again.
//! The group's progress tells them apart: in an over-provisioned group every partition's
//! committed offset follows its records.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use orderflow_transport::Backoff;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};
use tokio::time::Instant;

use crate::ConsumerSettings;

/// One partition as the group sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Progress {
    /// The group's committed offset; `None` before its first commit.
    pub(crate) committed: Option<i64>,
    /// The partition's first and next offsets (low and high watermarks).
    pub(crate) start: i64,
    pub(crate) end: i64,
}

impl Progress {
    /// Whether records wait that the group has not committed.
    fn waiting(&self) -> bool {
        self.end > self.committed.unwrap_or(self.start).max(self.start)
    }
}

/// Every partition of the topic, by number.
pub(crate) type Snapshot = BTreeMap<i32, Progress>;

/// Partitions that had records waiting at both looks while the group's committed offset did
/// not move between them.
pub(crate) fn unattended(before: &Snapshot, after: &Snapshot) -> Vec<i32> {
    after
        .iter()
        .filter(|(partition, now)| {
            before.get(partition).is_some_and(|then| {
                then.waiting() && now.waiting() && then.committed == now.committed
            })
        })
        .map(|(partition, _)| *partition)
        .collect()
}

/// Reads the group's committed offsets and the partitions' watermarks, with a client of its own
/// that never joins the group.
pub(crate) struct GroupProgress {
    client: Arc<BaseConsumer>,
    topic: String,
}

const ASK_TIMEOUT: Duration = Duration::from_secs(3);

impl GroupProgress {
    pub(crate) fn new(settings: &ConsumerSettings) -> Result<Self, KafkaError> {
        let client = settings
            .kafka
            .client_config(&format!("orderflow-{}-progress", settings.group_id))
            .set("group.id", &settings.group_id)
            .set("enable.auto.commit", "false")
            .create()?;
        Ok(GroupProgress {
            client: Arc::new(client),
            topic: settings.kafka.topic.clone(),
        })
    }

    pub(crate) async fn snapshot(&self) -> Result<Snapshot, KafkaError> {
        let (client, topic) = (Arc::clone(&self.client), self.topic.clone());
        tokio::task::spawn_blocking(move || {
            let metadata = client.fetch_metadata(Some(&topic), ASK_TIMEOUT)?;
            let partitions: Vec<i32> = metadata
                .topics()
                .iter()
                .filter(|t| t.name() == topic)
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect();
            let mut asked = TopicPartitionList::new();
            for partition in &partitions {
                asked.add_partition(&topic, *partition);
            }
            let committed = client.committed_offsets(asked, ASK_TIMEOUT)?;
            let mut snapshot = Snapshot::new();
            for partition in partitions {
                let (start, end) = client.fetch_watermarks(&topic, partition, ASK_TIMEOUT)?;
                let committed = committed
                    .find_partition(&topic, partition)
                    .and_then(|element| match element.offset() {
                        Offset::Offset(offset) => Some(offset),
                        _ => None,
                    });
                snapshot.insert(
                    partition,
                    Progress {
                        committed,
                        start,
                        end,
                    },
                );
            }
            Ok(snapshot)
        })
        .await
        .map_err(|_| KafkaError::Canceled)?
    }
}

/// Watches a member while it has no partitions: looks at the group's progress every so often
/// and says when partitions are left unattended. Kept across rejoins, so that a rejoin that did
/// not help makes the next look wait twice as long.
pub(crate) struct IdleWatch {
    /// The time between looks: two session timeouts, doubled by every rejoin that did not
    /// help, up to eight times that.
    every: Backoff,
    progress: Option<GroupProgress>,
    idle_since: Option<Instant>,
    last_look: Option<(Instant, Snapshot)>,
}

impl IdleWatch {
    /// Looks every `every` (two session timeouts: long enough for a rebalance to finish).
    pub(crate) fn new(every: Duration) -> Self {
        IdleWatch {
            every: Backoff::new(every, every.saturating_mul(8)),
            progress: None,
            idle_since: None,
            last_look: None,
        }
    }

    /// The member has partitions: nothing to watch, and rejoining helped if it was needed.
    pub(crate) fn busy(&mut self) {
        self.every.reset();
        self.idle_since = None;
        self.last_look = None;
    }

    /// The member has none: the partitions left unattended since the last look, if it is time to
    /// look again and there are any.
    pub(crate) async fn idle(&mut self, settings: &ConsumerSettings) -> Option<Vec<i32>> {
        let now = Instant::now();
        let every = self.every.peek();
        let since = *self.idle_since.get_or_insert(now);
        let due = match &self.last_look {
            Some((at, _)) => now.duration_since(*at) >= every,
            None => now.duration_since(since) >= every,
        };
        if !due {
            return None;
        }
        if self.progress.is_none() {
            match GroupProgress::new(settings) {
                Ok(progress) => self.progress = Some(progress),
                Err(error) => {
                    tracing::debug!(%error, "Cannot create the group progress client.");
                    return None;
                }
            }
        }
        let snapshot = match self.progress.as_ref()?.snapshot().await {
            Ok(snapshot) => snapshot,
            Err(error) => {
                tracing::debug!(%error, "Cannot read the group's progress.");
                return None;
            }
        };
        let found = self
            .last_look
            .as_ref()
            .map(|(_, before)| unattended(before, &snapshot))
            .unwrap_or_default();
        self.last_look = Some((now, snapshot));
        if found.is_empty() {
            return None;
        }
        self.every.next_delay();
        self.idle_since = None;
        self.last_look = None;
        Some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(parts: &[(i32, Option<i64>, i64)]) -> Snapshot {
        parts
            .iter()
            .map(|(partition, committed, end)| {
                (
                    *partition,
                    Progress {
                        committed: *committed,
                        start: 0,
                        end: *end,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn records_waiting_on_a_partition_whose_commits_stand_still_are_unattended() {
        let before = snapshot(&[(0, Some(10), 12), (1, Some(5), 5), (2, None, 3)]);
        let after = snapshot(&[(0, Some(10), 20), (1, Some(5), 9), (2, None, 4)]);
        assert_eq!(unattended(&before, &after), vec![0, 2]);
    }

    #[test]
    fn an_over_provisioned_group_that_keeps_up_leaves_nothing_unattended() {
        // Every partition's commits follow its records, or nothing waits.
        let before = snapshot(&[(0, Some(10), 12), (1, Some(5), 5), (2, Some(3), 3)]);
        let after = snapshot(&[(0, Some(19), 20), (1, Some(5), 5), (2, Some(7), 9)]);
        assert!(unattended(&before, &after).is_empty());
    }

    #[test]
    fn a_partition_seen_once_is_not_judged() {
        let before = snapshot(&[(0, Some(10), 12)]);
        let after = snapshot(&[(0, Some(10), 12), (1, None, 7)]);
        assert_eq!(unattended(&before, &after), vec![0]);
    }

    #[test]
    fn records_removed_by_retention_do_not_count_as_waiting() {
        let gone = Progress {
            committed: Some(3),
            start: 10,
            end: 10,
        };
        assert!(!gone.waiting());
    }
}
