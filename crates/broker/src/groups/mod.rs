//! The embedded broker's consumer-group coordinator: ours, not Tansu's.
//!
//! Tansu 0.6.0's coordinator lets a member of a formed group end up with an empty assignment
//! for good, and writes the group to SQLite on every heartbeat, so that heartbeats queue behind
//! produce writes under load (`docs/embedded-broker.md` has the details). Tansu's `Broker` takes
//! any [`Coordinator`], so the embedded broker plugs this one in: the classic group protocol as
//! Apache Kafka runs it ([`group`]), held in memory, with committed offsets stored by Tansu as
//! before. Group membership is not durable: after a broker restart every member finds itself
//! unknown and joins again, as it would after a coordinator failover in a Kafka cluster.

mod group;
mod replies;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tansu_broker::coordinator::group::administrator::Controller;
use tansu_broker::coordinator::group::{Coordinator, OffsetCommit};
use tansu_sans_io::join_group_request::JoinGroupRequestProtocol;
use tansu_sans_io::leave_group_request::MemberIdentity;
use tansu_sans_io::offset_fetch_request::{OffsetFetchRequestGroup, OffsetFetchRequestTopic};
use tansu_sans_io::sync_group_request::SyncGroupRequestAssignment;
use tansu_sans_io::{Body, ErrorCode};
use tansu_storage::{OffsetCommitRequest, Storage, Topition};

use group::{Group, JoinRequest, Joined, Limits, Reply, Synced};

/// How often session timeouts and rebalance deadlines are checked.
const TICK: Duration = Duration::from_millis(100);

/// Every group this broker coordinates, shared by all connections.
#[derive(Clone)]
pub struct GroupCoordinator<S> {
    groups: Arc<Mutex<BTreeMap<String, Group>>>,
    limits: Limits,
    storage: S,
    /// Tansu's own coordinator, for reading committed offsets (which touches no group state).
    offsets: Controller<S>,
}

impl<S> fmt::Debug for GroupCoordinator<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups = self.groups.lock().map(|g| g.len()).unwrap_or_default();
        f.debug_struct("GroupCoordinator")
            .field("groups", &groups)
            .finish()
    }
}

impl<S: Storage> GroupCoordinator<S> {
    /// A coordinator whose committed offsets live in `storage`. Starts the task that expires
    /// sessions; it ends when the last clone of the coordinator is dropped.
    pub fn new(storage: S) -> tansu_broker::Result<Self> {
        let coordinator = GroupCoordinator {
            groups: Arc::default(),
            limits: Limits::default(),
            offsets: Controller::with_storage(storage.clone())?,
            storage,
        };
        tokio::spawn(keep_time(Arc::downgrade(&coordinator.groups)));
        Ok(coordinator)
    }

    /// Runs `f` on the group named `group_id`, creating it when needed.
    fn with_group<T>(&self, group_id: &str, f: impl FnOnce(&mut Group) -> T) -> T {
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let group = groups
            .entry(group_id.to_owned())
            .or_insert_with(|| Group::new(group_id, self.limits));
        f(group)
    }
}

/// Passes time to every group, and forgets groups that hold nothing.
async fn keep_time(groups: Weak<Mutex<BTreeMap<String, Group>>>) {
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(groups) = groups.upgrade() else {
            return;
        };
        let mut groups = groups.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        for group in groups.values_mut() {
            group.tick(now);
        }
        groups.retain(|_, group| !group.is_idle());
    }
}

impl<T> Reply<T> {
    /// The answer, waiting for it if it comes later; `gone` if the group dropped the request
    /// (its member was replaced by a newer request of its own).
    async fn answer(self, gone: impl FnOnce() -> T) -> T {
        match self {
            Reply::Now(answer) => answer,
            Reply::Later(answer) => answer.await.unwrap_or_else(|_| gone()),
        }
    }
}

fn millis(ms: i32) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[async_trait]
impl<S: Storage> Coordinator for GroupCoordinator<S> {
    async fn join(
        &mut self,
        client_id: Option<&str>,
        group_id: &str,
        session_timeout_ms: i32,
        rebalance_timeout_ms: Option<i32>,
        member_id: &str,
        group_instance_id: Option<&str>,
        protocol_type: &str,
        protocols: Option<&[JoinGroupRequestProtocol]>,
        _reason: Option<&str>,
    ) -> tansu_broker::Result<Body> {
        let request = JoinRequest {
            client_id: client_id.unwrap_or("consumer").to_owned(),
            member_id: member_id.to_owned(),
            instance_id: group_instance_id.map(str::to_owned),
            session_timeout: millis(session_timeout_ms),
            // JoinGroup v0 has no rebalance timeout: Kafka uses the session timeout then.
            rebalance_timeout: millis(rebalance_timeout_ms.unwrap_or(session_timeout_ms)),
            protocol_type: protocol_type.to_owned(),
            protocols: protocols
                .unwrap_or_default()
                .iter()
                .map(|p| (p.name.clone(), p.metadata.clone()))
                .collect(),
        };
        let reply = self.with_group(group_id, |group| group.join(Instant::now(), request));
        let joined = reply
            .answer(|| Joined::refused(ErrorCode::RebalanceInProgress, member_id))
            .await;
        Ok(replies::join(joined))
    }

    async fn sync(
        &mut self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        _group_instance_id: Option<&str>,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Option<&[SyncGroupRequestAssignment]>,
    ) -> tansu_broker::Result<Body> {
        let plan = assignments
            .unwrap_or_default()
            .iter()
            .map(|a| (a.member_id.clone(), a.assignment.clone()))
            .collect();
        let reply = self.with_group(group_id, |group| {
            group.sync(
                Instant::now(),
                member_id,
                generation_id,
                protocol_type,
                protocol_name,
                plan,
            )
        });
        let synced = reply
            .answer(|| Synced::refused(ErrorCode::RebalanceInProgress))
            .await;
        Ok(replies::sync(synced))
    }

    async fn heartbeat(
        &mut self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        _group_instance_id: Option<&str>,
    ) -> tansu_broker::Result<Body> {
        let error = self.with_group(group_id, |group| {
            group.heartbeat(Instant::now(), member_id, generation_id)
        });
        Ok(replies::heartbeat(error))
    }

    async fn leave(
        &mut self,
        group_id: &str,
        member_id: Option<&str>,
        members: Option<&[MemberIdentity]>,
    ) -> tansu_broker::Result<Body> {
        // LeaveGroup v0-2 names one member, v3+ a list.
        let leaving: Vec<(&str, Option<&str>)> = match member_id {
            Some(member_id) => vec![(member_id, None)],
            None => members
                .unwrap_or_default()
                .iter()
                .map(|m| (m.member_id.as_str(), m.group_instance_id.as_deref()))
                .collect(),
        };
        let ids: Vec<&str> = leaving.iter().map(|(id, _)| *id).collect();
        let errors = self.with_group(group_id, |group| group.leave(Instant::now(), &ids));
        Ok(replies::leave(&leaving, &errors))
    }

    async fn offset_commit(&mut self, detail: OffsetCommit<'_>) -> tansu_broker::Result<Body> {
        let topics = detail.topics.unwrap_or_default();
        let verdict = self.with_group(detail.group_id, |group| {
            group.admit_commit(
                Instant::now(),
                detail.member_id.unwrap_or_default(),
                detail.generation_id_or_member_epoch.unwrap_or(-1),
            )
        });
        if verdict != ErrorCode::None {
            return Ok(replies::offset_commit_refused(topics, verdict));
        }
        let mut offsets = Vec::new();
        for topic in topics {
            for partition in topic.partitions.as_deref().unwrap_or_default() {
                offsets.push((
                    Topition::new(topic.name.clone(), partition.partition_index),
                    OffsetCommitRequest::try_from(partition)?,
                ));
            }
        }
        let retention = detail
            .retention_time_ms
            .and_then(|ms| u64::try_from(ms).ok())
            .map(Duration::from_millis);
        let stored = self
            .storage
            .offset_commit(detail.group_id, retention, &offsets)
            .await?;
        Ok(replies::offset_commit(&stored))
    }

    async fn offset_fetch(
        &mut self,
        group_id: Option<&str>,
        topics: Option<&[OffsetFetchRequestTopic]>,
        groups: Option<&[OffsetFetchRequestGroup]>,
        require_stable: Option<bool>,
    ) -> tansu_broker::Result<Body> {
        self.offsets
            .offset_fetch(group_id, topics, groups, require_stable)
            .await
    }
}
