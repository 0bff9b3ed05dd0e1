//! Partitions held at a record that cannot be read yet: an Avro record whose writer schema is
//! not known (yet). Its partition must not move past it (that would break the order of its
//! keys), but the member's other partitions must not wait for it either. So the partition is
//! paused and rewound to that record, and resumed after a backoff to read it again, while the
//! rest of the member's batch is applied.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use orderflow_transport::Backoff;
use tokio::time::Instant;

/// The first look again after 500 ms, doubling up to 30 s.
const LOOK_AGAIN: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));

/// The partitions a member holds, shared with its health page.
#[derive(Debug, Default)]
pub(crate) struct HeldPartitions {
    held: Mutex<BTreeMap<i32, Hold>>,
}

#[derive(Debug)]
struct Hold {
    offset: i64,
    /// Why: which writer schema the record names.
    reason: String,
    backoff: Backoff,
    /// When to resume the partition; `None` once resumed (the record is being read again).
    resume_at: Option<Instant>,
}

impl HeldPartitions {
    fn held(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, Hold>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Holds `partition` at `offset`, and says for how long: longer each time the same record
    /// is held again.
    pub(crate) fn hold(
        &self,
        partition: i32,
        offset: i64,
        reason: String,
        now: Instant,
    ) -> Duration {
        let mut held = self.held();
        let hold = held.entry(partition).or_insert_with(|| Hold {
            offset,
            reason: String::new(),
            backoff: LOOK_AGAIN,
            resume_at: None,
        });
        if hold.offset != offset {
            hold.offset = offset;
            hold.backoff = LOOK_AGAIN;
        }
        hold.reason = reason;
        let delay = hold.backoff.next_delay();
        hold.resume_at = Some(now + delay);
        delay
    }

    /// The partitions whose time to be read again has come; they count as resumed from now.
    pub(crate) fn due(&self, now: Instant) -> Vec<i32> {
        let mut held = self.held();
        let mut due = Vec::new();
        for (partition, hold) in held.iter_mut() {
            if hold.resume_at.is_some_and(|at| at <= now) {
                hold.resume_at = None;
                due.push(*partition);
            }
        }
        due
    }

    /// A record of `partition` at `offset` was done: a hold at or before it is over.
    pub(crate) fn passed(&self, partition: i32, offset: i64) {
        let mut held = self.held();
        if held
            .get(&partition)
            .is_some_and(|hold| hold.offset <= offset)
        {
            held.remove(&partition);
        }
    }

    /// `partitions` left this member: whoever gets them reads the record again.
    pub(crate) fn forget(&self, partitions: impl IntoIterator<Item = i32>) {
        let mut held = self.held();
        for partition in partitions {
            held.remove(&partition);
        }
    }

    /// This member's partitions are all gone (it left the group).
    pub(crate) fn clear(&self) {
        self.held().clear();
    }

    /// Partition, offset and why, for the health page.
    pub(crate) fn describe(&self) -> BTreeMap<i32, (i64, String)> {
        self.held()
            .iter()
            .map(|(partition, hold)| (*partition, (hold.offset, hold.reason.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_partition_is_due_after_its_backoff_and_held_longer_each_time() {
        let held = HeldPartitions::default();
        let start = Instant::now();
        let first = held.hold(3, 17, "schema 0123".into(), start);
        assert_eq!(first, Duration::from_millis(500));
        assert!(held.due(start).is_empty());
        assert_eq!(held.due(start + first), [3]);
        assert!(held.due(start + first).is_empty(), "due once per hold");
        let second = held.hold(3, 17, "schema 0123".into(), start + first);
        assert_eq!(second, Duration::from_secs(1));
        assert_eq!(held.describe()[&3], (17, "schema 0123".to_owned()));
    }

    #[test]
    fn a_hold_ends_once_its_record_is_done_or_its_partition_leaves() {
        let held = HeldPartitions::default();
        let now = Instant::now();
        held.hold(1, 10, "a".into(), now);
        held.hold(2, 20, "b".into(), now);
        held.passed(1, 9);
        held.passed(1, 10);
        held.forget([2]);
        assert!(held.describe().is_empty());
        // Another record held on the same partition starts its backoff afresh.
        held.hold(1, 10, "a".into(), now);
        assert_eq!(
            held.hold(1, 11, "a".into(), now),
            Duration::from_millis(500)
        );
    }
}
