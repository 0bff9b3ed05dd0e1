//! One consumer group under the classic group protocol, as Apache Kafka's group coordinator
//! runs it: a rebalance is a barrier. Once it begins, every member's JoinGroup waits until all
//! known members have joined again (or the rebalance timeout passed), so that the leader plans
//! for exactly the members of the new generation; followers' SyncGroup waits for the leader's
//! plan. Members that stop heartbeating are removed after their session timeout, which starts
//! the next rebalance.
//!
//! Pure state: no I/O, time passed in, answers that have to wait are handed back as a
//! [`Reply::Later`] receiver that a later call completes. [`super::GroupCoordinator`] wraps it
//! in the broker's `Coordinator` trait.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tansu_sans_io::ErrorCode;
use tokio::sync::oneshot;

/// Limits on what members may ask for, as Apache Kafka's broker settings
/// (`group.min.session.timeout.ms`, `group.max.session.timeout.ms`,
/// `group.initial.rebalance.delay.ms`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) min_session_timeout: Duration,
    pub(crate) max_session_timeout: Duration,
    /// How long the first rebalance of an empty group waits for more members.
    pub(crate) initial_rebalance_delay: Duration,
}

impl Default for Limits {
    /// The values of the single-node Apache Kafka that CI runs (`.ci/kafka/broker`), so that the
    /// embedded default and Apache Kafka behave alike.
    fn default() -> Self {
        Limits {
            min_session_timeout: Duration::from_secs(2),
            max_session_timeout: Duration::from_secs(30 * 60),
            initial_rebalance_delay: Duration::ZERO,
        }
    }
}

/// A JoinGroup request, as the group needs it.
#[derive(Debug, Clone)]
pub(crate) struct JoinRequest {
    pub(crate) client_id: String,
    /// Empty for a member joining for the first time.
    pub(crate) member_id: String,
    /// Static membership (`group.instance.id`).
    pub(crate) instance_id: Option<String>,
    pub(crate) session_timeout: Duration,
    pub(crate) rebalance_timeout: Duration,
    pub(crate) protocol_type: String,
    /// Assignment protocols the member supports, in its order of preference, with its metadata.
    pub(crate) protocols: Vec<(String, Bytes)>,
}

/// The answer to a JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Joined {
    pub(crate) error: ErrorCode,
    pub(crate) generation: i32,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol_name: Option<String>,
    pub(crate) leader: String,
    pub(crate) member_id: String,
    /// For the leader only: every member of the generation with its metadata for the chosen
    /// protocol, which the leader's plan must cover.
    pub(crate) members: Vec<JoinedMember>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoinedMember {
    pub(crate) member_id: String,
    pub(crate) instance_id: Option<String>,
    pub(crate) metadata: Bytes,
}

impl Joined {
    pub(crate) fn refused(error: ErrorCode, member_id: impl Into<String>) -> Self {
        Joined {
            error,
            generation: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            member_id: member_id.into(),
            members: Vec::new(),
        }
    }
}

/// The answer to a SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Synced {
    pub(crate) error: ErrorCode,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol_name: Option<String>,
    /// The member's part of the leader's plan (empty when the plan gives it nothing).
    pub(crate) assignment: Bytes,
}

impl Synced {
    pub(crate) fn refused(error: ErrorCode) -> Self {
        Synced {
            error,
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

/// An answer now, or one that a later request (or the passing of time) gives.
#[derive(Debug)]
pub(crate) enum Reply<T> {
    Now(T),
    Later(oneshot::Receiver<T>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No members.
    Empty,
    /// Waiting for every member to join again, at most until `deadline`.
    PreparingRebalance { deadline: Instant },
    /// The generation is formed; waiting for the leader's plan.
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
}

#[derive(Debug)]
struct Member {
    instance_id: Option<String>,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    protocols: Vec<(String, Bytes)>,
    /// Its last heartbeat, join, sync or offset commit.
    last_seen: Instant,
    assignment: Bytes,
    /// Its JoinGroup, waiting for the rebalance to complete.
    awaiting_join: Option<oneshot::Sender<Joined>>,
    /// Its SyncGroup, waiting for the leader's plan.
    awaiting_sync: Option<oneshot::Sender<Synced>>,
}

impl Member {
    fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, metadata)| metadata.clone())
            .unwrap_or_default()
    }

    fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(name, _)| name == protocol)
    }

    /// A member in the middle of a join or sync is not expected to heartbeat.
    fn waiting(&self) -> bool {
        self.awaiting_join.is_some() || self.awaiting_sync.is_some()
    }
}

/// One group's membership, generation and assignments.
#[derive(Debug)]
pub(crate) struct Group {
    id: String,
    limits: Limits,
    state: State,
    generation: i32,
    protocol_type: Option<String>,
    /// Chosen when a generation forms.
    protocol: Option<String>,
    leader: Option<String>,
    members: BTreeMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED and not used yet, with when they expire.
    pending: BTreeMap<String, Instant>,
}

impl Group {
    pub(crate) fn new(id: impl Into<String>, limits: Limits) -> Self {
        Group {
            id: id.into(),
            limits,
            state: State::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: BTreeMap::new(),
        }
    }

    /// The members of the current generation, by id.
    #[cfg(test)]
    fn member_ids(&self) -> Vec<String> {
        self.members.keys().cloned().collect()
    }

    #[cfg(test)]
    fn is_stable(&self) -> bool {
        self.state == State::Stable
    }

    pub(crate) fn join(&mut self, now: Instant, request: JoinRequest) -> Reply<Joined> {
        if let Err(error) = self.admissible(&request) {
            return Reply::Now(Joined::refused(error, request.member_id));
        }
        let member_id = if request.member_id.is_empty() {
            let Some(instance_id) = &request.instance_id else {
                // KIP-394: a new member first gets its id, and joins with it.
                let member_id = format!("{}-{}", request.client_id, uuid::Uuid::new_v4());
                self.pending
                    .insert(member_id.clone(), now + request.session_timeout);
                return Reply::Now(Joined::refused(ErrorCode::MemberIdRequired, member_id));
            };
            // A static member gets its id at once and takes over from an earlier incarnation.
            if let Some(earlier) = self.member_with_instance(instance_id) {
                self.remove_member(&earlier, ErrorCode::FencedInstanceId);
            }
            format!("{instance_id}-{}", uuid::Uuid::new_v4())
        } else if self.pending.remove(&request.member_id).is_some()
            || self.members.contains_key(&request.member_id)
        {
            request.member_id.clone()
        } else {
            return Reply::Now(Joined::refused(
                ErrorCode::UnknownMemberId,
                request.member_id,
            ));
        };

        self.protocol_type = Some(request.protocol_type.clone());
        let changed = match self.members.get_mut(&member_id) {
            Some(member) => {
                let changed = member.protocols != request.protocols;
                member.protocols = request.protocols;
                member.session_timeout = request.session_timeout;
                member.rebalance_timeout = request.rebalance_timeout;
                member.last_seen = now;
                changed
            }
            None => {
                tracing::debug!(parent: None, group = %self.id, member = %member_id, "A member joins the group.");
                self.members.insert(
                    member_id.clone(),
                    Member {
                        instance_id: request.instance_id,
                        session_timeout: request.session_timeout,
                        rebalance_timeout: request.rebalance_timeout,
                        protocols: request.protocols,
                        last_seen: now,
                        assignment: Bytes::new(),
                        awaiting_join: None,
                        awaiting_sync: None,
                    },
                );
                true
            }
        };

        match self.state {
            // A member that asks again with nothing changed (it missed the answer) gets the
            // current generation; a leader that asks again plans anew.
            State::CompletingRebalance if !changed => {
                return Reply::Now(self.joined(&member_id));
            }
            State::Stable if !changed && self.leader.as_deref() != Some(&member_id) => {
                return Reply::Now(self.joined(&member_id));
            }
            State::PreparingRebalance { .. } => {}
            State::Empty | State::CompletingRebalance | State::Stable => {
                self.prepare_rebalance(now, "a member joins")
            }
        }
        let (answer, reply) = oneshot::channel();
        if let Some(member) = self.members.get_mut(&member_id) {
            member.awaiting_join = Some(answer);
        }
        self.try_complete_join(now);
        Reply::Later(reply)
    }

    pub(crate) fn sync(
        &mut self,
        now: Instant,
        member_id: &str,
        generation: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        plan: Vec<(String, Bytes)>,
    ) -> Reply<Synced> {
        if !self.members.contains_key(member_id) {
            return Reply::Now(Synced::refused(ErrorCode::UnknownMemberId));
        }
        if generation != self.generation {
            return Reply::Now(Synced::refused(ErrorCode::IllegalGeneration));
        }
        let mismatch = |asked: Option<&str>, ours: &Option<String>| {
            asked.is_some_and(|asked| ours.as_deref() != Some(asked))
        };
        if mismatch(protocol_type, &self.protocol_type) || mismatch(protocol_name, &self.protocol) {
            return Reply::Now(Synced::refused(ErrorCode::InconsistentGroupProtocol));
        }
        match self.state {
            State::Empty => Reply::Now(Synced::refused(ErrorCode::UnknownMemberId)),
            State::PreparingRebalance { .. } => {
                Reply::Now(Synced::refused(ErrorCode::RebalanceInProgress))
            }
            State::Stable => {
                let assignment = self.members[member_id].assignment.clone();
                Reply::Now(self.synced(assignment))
            }
            State::CompletingRebalance => {
                let (answer, reply) = oneshot::channel();
                let member = self.members.get_mut(member_id).expect("checked above");
                member.last_seen = now;
                member.awaiting_sync = Some(answer);
                if self.leader.as_deref() == Some(member_id) {
                    self.apply_plan(now, plan);
                }
                Reply::Later(reply)
            }
        }
    }

    pub(crate) fn heartbeat(
        &mut self,
        now: Instant,
        member_id: &str,
        generation: i32,
    ) -> ErrorCode {
        let Some(member) = self.members.get_mut(member_id) else {
            return ErrorCode::UnknownMemberId;
        };
        if generation != self.generation {
            return ErrorCode::IllegalGeneration;
        }
        member.last_seen = now;
        match self.state {
            State::PreparingRebalance { .. } => ErrorCode::RebalanceInProgress,
            State::Empty | State::CompletingRebalance | State::Stable => ErrorCode::None,
        }
    }

    /// Removes the members that leave; an error code for each, in order.
    pub(crate) fn leave(&mut self, now: Instant, member_ids: &[&str]) -> Vec<ErrorCode> {
        let mut left = false;
        let outcome = member_ids
            .iter()
            .map(|member_id| {
                if self.members.contains_key(*member_id) {
                    tracing::info!(parent: None, group = %self.id, member = %member_id, "A member leaves the group.");
                    self.remove_member(member_id, ErrorCode::UnknownMemberId);
                    left = true;
                    ErrorCode::None
                } else if self.pending.remove(*member_id).is_some() {
                    left = true;
                    ErrorCode::None
                } else {
                    ErrorCode::UnknownMemberId
                }
            })
            .collect();
        if left {
            self.membership_changed(now, "a member left");
        }
        outcome
    }

    /// Whether an offset commit from this member in this generation may be stored (Apache
    /// Kafka's fencing: a member that is no longer in the generation must not move offsets).
    /// A commit counts as a sign of life.
    pub(crate) fn admit_commit(
        &mut self,
        now: Instant,
        member_id: &str,
        generation: i32,
    ) -> ErrorCode {
        if generation < 0 && member_id.is_empty() {
            // A client that manages its own partitions, outside any generation.
            return if self.members.is_empty() {
                ErrorCode::None
            } else {
                ErrorCode::UnknownMemberId
            };
        }
        let Some(member) = self.members.get_mut(member_id) else {
            return ErrorCode::UnknownMemberId;
        };
        if generation != self.generation {
            return ErrorCode::IllegalGeneration;
        }
        member.last_seen = now;
        match self.state {
            State::CompletingRebalance => ErrorCode::RebalanceInProgress,
            State::Empty | State::PreparingRebalance { .. } | State::Stable => ErrorCode::None,
        }
    }

    /// What the passing of time does: members whose session expired are removed, member ids
    /// never used are forgotten, and a rebalance whose deadline passed completes without the
    /// members that did not join again.
    pub(crate) fn tick(&mut self, now: Instant) {
        let pending = self.pending.len();
        self.pending.retain(|_, expires| *expires > now);
        let mut changed = pending != self.pending.len();
        let expired: Vec<(String, Duration)> = self
            .members
            .iter()
            .filter(|(_, member)| {
                !member.waiting() && now.duration_since(member.last_seen) > member.session_timeout
            })
            .map(|(id, member)| (id.clone(), member.session_timeout))
            .collect();
        for (member_id, session_timeout) in expired {
            tracing::info!(
                parent: None,
                group = %self.id,
                member = %member_id,
                session_timeout = ?session_timeout,
                "A member sent no heartbeat within its session timeout; removing it."
            );
            self.remove_member(&member_id, ErrorCode::UnknownMemberId);
            changed = true;
        }
        if changed {
            self.membership_changed(now, "a member's session expired");
        } else {
            self.try_complete_join(now);
        }
    }

    /// Whether the group holds nothing worth keeping.
    pub(crate) fn is_idle(&self) -> bool {
        self.state == State::Empty && self.pending.is_empty()
    }

    fn admissible(&self, request: &JoinRequest) -> Result<(), ErrorCode> {
        let timeout = request.session_timeout;
        if timeout < self.limits.min_session_timeout || timeout > self.limits.max_session_timeout {
            return Err(ErrorCode::InvalidSessionTimeout);
        }
        if request.protocol_type.is_empty() || request.protocols.is_empty() {
            return Err(ErrorCode::InconsistentGroupProtocol);
        }
        let others: Vec<&Member> = self
            .members
            .iter()
            .filter(|(id, _)| **id != request.member_id)
            .map(|(_, member)| member)
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        let same_type = self.protocol_type.as_deref() == Some(request.protocol_type.as_str());
        let common = request
            .protocols
            .iter()
            .any(|(name, _)| others.iter().all(|member| member.supports(name)));
        if same_type && common {
            Ok(())
        } else {
            Err(ErrorCode::InconsistentGroupProtocol)
        }
    }

    fn member_with_instance(&self, instance_id: &str) -> Option<String> {
        self.members
            .iter()
            .find(|(_, member)| member.instance_id.as_deref() == Some(instance_id))
            .map(|(id, _)| id.clone())
    }

    /// Removes a member, answering whatever it is waiting for with `error`.
    fn remove_member(&mut self, member_id: &str, error: ErrorCode) {
        if let Some(member) = self.members.remove(member_id) {
            if let Some(answer) = member.awaiting_join {
                let _ = answer.send(Joined::refused(error, member_id));
            }
            if let Some(answer) = member.awaiting_sync {
                let _ = answer.send(Synced::refused(error));
            }
        }
        if self.leader.as_deref() == Some(member_id) {
            self.leader = None;
        }
    }

    fn membership_changed(&mut self, now: Instant, reason: &str) {
        match self.state {
            State::Stable | State::CompletingRebalance => self.prepare_rebalance(now, reason),
            State::PreparingRebalance { .. } => self.try_complete_join(now),
            State::Empty => {}
        }
        if self.members.is_empty() && self.state != State::Empty {
            self.become_empty();
        }
    }

    /// Starts a rebalance: members learn of it from their next heartbeat and join again.
    fn prepare_rebalance(&mut self, now: Instant, reason: &str) {
        for member in self.members.values_mut() {
            if let Some(answer) = member.awaiting_sync.take() {
                // Its session runs again from now: it waited for us, not the other way round.
                member.last_seen = now;
                let _ = answer.send(Synced::refused(ErrorCode::RebalanceInProgress));
            }
        }
        let wait = if self.state == State::Empty {
            self.limits.initial_rebalance_delay
        } else {
            self.members
                .values()
                .map(|member| member.rebalance_timeout)
                .max()
                .unwrap_or_default()
        };
        tracing::info!(parent: None, group = %self.id, generation = self.generation, reason, "Rebalance begins.");
        self.state = State::PreparingRebalance {
            deadline: now + wait,
        };
    }

    /// Forms the next generation once every member joined again (or the deadline passed).
    fn try_complete_join(&mut self, now: Instant) {
        let State::PreparingRebalance { deadline } = self.state else {
            return;
        };
        let everyone =
            self.members.values().all(|m| m.awaiting_join.is_some()) && self.pending.is_empty();
        if !everyone && now < deadline {
            return;
        }
        let late: Vec<String> = self
            .members
            .iter()
            .filter(|(_, member)| member.awaiting_join.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        for member_id in late {
            tracing::info!(parent: None, group = %self.id, member = %member_id, "A member did not join again within the rebalance timeout; removing it.");
            self.remove_member(&member_id, ErrorCode::UnknownMemberId);
        }
        self.generation += 1;
        if self.members.is_empty() {
            self.become_empty();
            return;
        }
        self.protocol = self.choose_protocol();
        if self.leader.is_none() {
            self.leader = self.members.keys().next().cloned();
        }
        self.state = State::CompletingRebalance;
        for member in self.members.values_mut() {
            member.last_seen = now;
            member.assignment = Bytes::new();
        }
        tracing::info!(
            parent: None,
            group = %self.id,
            generation = self.generation,
            members = self.members.len(),
            leader = self.leader.as_deref().unwrap_or_default(),
            "Generation formed."
        );
        let answers: Vec<(String, oneshot::Sender<Joined>)> = self
            .members
            .iter_mut()
            .filter_map(|(id, member)| member.awaiting_join.take().map(|a| (id.clone(), a)))
            .collect();
        for (member_id, answer) in answers {
            let _ = answer.send(self.joined(&member_id));
        }
    }

    /// The leader's plan: each member's part; members it leaves out get an empty assignment
    /// (more members than partitions), members it names that are not in the generation are
    /// ignored.
    fn apply_plan(&mut self, now: Instant, plan: Vec<(String, Bytes)>) {
        let mut plan: BTreeMap<String, Bytes> = plan.into_iter().collect();
        for (member_id, member) in self.members.iter_mut() {
            member.assignment = plan.remove(member_id).unwrap_or_default();
            member.last_seen = now;
        }
        self.state = State::Stable;
        tracing::debug!(parent: None, group = %self.id, generation = self.generation, "Assignment distributed; the group is stable.");
        let answers: Vec<(Bytes, oneshot::Sender<Synced>)> = self
            .members
            .values_mut()
            .filter_map(|member| {
                let assignment = member.assignment.clone();
                member.awaiting_sync.take().map(|a| (assignment, a))
            })
            .collect();
        for (assignment, answer) in answers {
            let _ = answer.send(self.synced(assignment));
        }
    }

    fn become_empty(&mut self) {
        self.state = State::Empty;
        self.leader = None;
        self.protocol = None;
        self.protocol_type = None;
    }

    /// The protocol every member supports that most members prefer (Kafka's vote).
    fn choose_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&str> = first
            .protocols
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| self.members.values().all(|m| m.supports(name)))
            .collect();
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for member in self.members.values() {
            if let Some((name, _)) = member
                .protocols
                .iter()
                .find(|(name, _)| candidates.contains(&name.as_str()))
            {
                *votes.entry(name.as_str()).or_default() += 1;
            }
        }
        // Most votes; among equals, the first member's preference.
        candidates
            .iter()
            .max_by_key(|name| {
                let rank = candidates.iter().position(|c| c == *name).unwrap_or(0);
                (
                    votes.get(**name).copied().unwrap_or(0),
                    std::cmp::Reverse(rank),
                )
            })
            .map(|name| (*name).to_owned())
    }

    fn joined(&self, member_id: &str) -> Joined {
        let leader = self.leader.clone().unwrap_or_default();
        let protocol = self.protocol.clone().unwrap_or_default();
        let members = if leader == member_id {
            self.members
                .iter()
                .map(|(id, member)| JoinedMember {
                    member_id: id.clone(),
                    instance_id: member.instance_id.clone(),
                    metadata: member.metadata(&protocol),
                })
                .collect()
        } else {
            Vec::new()
        };
        Joined {
            error: ErrorCode::None,
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            leader,
            member_id: member_id.to_owned(),
            members,
        }
    }

    fn synced(&self, assignment: Bytes) -> Synced {
        Synced {
            error: ErrorCode::None,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            assignment,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;

    const SESSION: Duration = Duration::from_secs(10);

    fn request(member_id: &str) -> JoinRequest {
        JoinRequest {
            client_id: "orderflow-shipping".to_owned(),
            member_id: member_id.to_owned(),
            instance_id: None,
            session_timeout: SESSION,
            rebalance_timeout: Duration::from_secs(30),
            protocol_type: "consumer".to_owned(),
            protocols: vec![
                ("range".to_owned(), Bytes::from_static(b"r")),
                ("roundrobin".to_owned(), Bytes::from_static(b"rr")),
            ],
        }
    }

    /// The answer, which must be there already.
    fn answered<T: fmt::Debug>(reply: Reply<T>) -> T {
        match reply {
            Reply::Now(answer) => answer,
            Reply::Later(mut answer) => answer.try_recv().expect("answered"),
        }
    }

    /// The receiver of an answer that must not be there yet.
    fn waiting<T: fmt::Debug>(reply: Reply<T>) -> oneshot::Receiver<T> {
        match reply {
            Reply::Now(answer) => panic!("answered at once: {answer:?}"),
            Reply::Later(mut answer) => {
                assert!(answer.try_recv().is_err(), "not answered yet");
                answer
            }
        }
    }

    /// A member id, as a new member gets it.
    fn member_id(group: &mut Group, now: Instant) -> String {
        let refused = answered(group.join(now, request("")));
        assert_eq!(refused.error, ErrorCode::MemberIdRequired);
        refused.member_id
    }

    fn plan(parts: &[(&str, &'static [u8])]) -> Vec<(String, Bytes)> {
        parts
            .iter()
            .map(|(id, part)| ((*id).to_owned(), Bytes::from_static(part)))
            .collect()
    }

    /// A group with one member `a` that has partitions "a".
    fn stable_group_of_one(now: Instant) -> (Group, String) {
        let mut group = Group::new("shipping", Limits::default());
        let a = member_id(&mut group, now);
        let joined = answered(group.join(now, request(&a)));
        assert_eq!((joined.error, joined.generation), (ErrorCode::None, 1));
        assert_eq!(joined.leader, a);
        assert_eq!(joined.protocol_name.as_deref(), Some("range"));
        let synced = answered(group.sync(now, &a, 1, None, None, plan(&[(&a, b"a")])));
        assert_eq!(synced.assignment, Bytes::from_static(b"a"));
        assert!(group.is_stable());
        (group, a)
    }

    /// The group of `a` after `b` joined: generation 2 formed, the plan not sent yet.
    fn second_generation_formed(now: Instant) -> (Group, String, String) {
        let (mut group, a) = stable_group_of_one(now);
        let b = member_id(&mut group, now);
        let b_joined = waiting(group.join(now, request(&b)));
        assert_eq!(answered(group.join(now, request(&a))).generation, 2);
        assert_eq!(answered(Reply::Later(b_joined)).generation, 2);
        (group, a, b)
    }

    #[test]
    fn a_first_member_forms_the_group_at_once_and_leads_it() {
        stable_group_of_one(Instant::now());
    }

    #[test]
    fn a_new_member_waits_until_the_others_joined_again_and_the_leader_plans_for_all() {
        let now = Instant::now();
        let (mut group, a) = stable_group_of_one(now);
        let b = member_id(&mut group, now);
        let b_joined = waiting(group.join(now, request(&b)));
        assert_eq!(group.heartbeat(now, &a, 1), ErrorCode::RebalanceInProgress);
        let a_joined = answered(group.join(now, request(&a)));
        assert_eq!(a_joined.generation, 2);
        assert_eq!(a_joined.leader, a);
        let planned_for: Vec<&str> = a_joined
            .members
            .iter()
            .map(|m| m.member_id.as_str())
            .collect();
        assert_eq!(planned_for.len(), 2);
        assert!(planned_for.contains(&a.as_str()) && planned_for.contains(&b.as_str()));
        let b_joined = answered(Reply::Later(b_joined));
        assert_eq!((b_joined.generation, b_joined.members.len()), (2, 0));

        let b_synced = waiting(group.sync(now, &b, 2, None, None, Vec::new()));
        let a_synced =
            answered(group.sync(now, &a, 2, None, None, plan(&[(&a, b"a"), (&b, b"b")])));
        assert_eq!(a_synced.assignment, Bytes::from_static(b"a"));
        assert_eq!(
            answered(Reply::Later(b_synced)).assignment,
            Bytes::from_static(b"b")
        );
        assert_eq!(group.heartbeat(now, &a, 2), ErrorCode::None);
    }

    #[test]
    fn a_killed_member_is_replaced_by_its_successor_once_its_session_expires() {
        let start = Instant::now();
        let (mut group, killed) = stable_group_of_one(start);
        // The successor starts 3 s later and waits: the group still counts on the killed one.
        let later = start + Duration::from_secs(3);
        let successor = member_id(&mut group, later);
        let joined = waiting(group.join(later, request(&successor)));
        group.tick(start + Duration::from_secs(9));
        assert!(group.member_ids().contains(&killed));
        group.tick(start + SESSION + Duration::from_millis(100));
        let joined = answered(Reply::Later(joined));
        assert_eq!((joined.error, joined.generation), (ErrorCode::None, 2));
        assert_eq!(joined.leader, successor);
        assert_eq!(joined.members.len(), 1);
        assert_eq!(group.member_ids(), vec![successor]);
    }

    #[test]
    fn a_member_left_out_of_the_plan_gets_an_empty_assignment_in_a_generation_that_knew_it() {
        let now = Instant::now();
        let (mut group, a, b) = second_generation_formed(now);
        let b_synced = waiting(group.sync(now, &b, 2, None, None, Vec::new()));
        answered(group.sync(now, &a, 2, None, None, plan(&[(&a, b"everything")])));
        let b_synced = answered(Reply::Later(b_synced));
        assert_eq!(
            (b_synced.error, b_synced.assignment),
            (ErrorCode::None, Bytes::new())
        );
    }

    #[test]
    fn members_of_another_generation_or_unknown_ones_are_told_so() {
        let now = Instant::now();
        let (mut group, a) = stable_group_of_one(now);
        assert_eq!(group.heartbeat(now, &a, 0), ErrorCode::IllegalGeneration);
        assert_eq!(
            group.heartbeat(now, "nobody", 1),
            ErrorCode::UnknownMemberId
        );
        assert_eq!(
            answered(group.join(now, request("nobody"))).error,
            ErrorCode::UnknownMemberId
        );
        assert_eq!(
            answered(group.sync(now, &a, 7, None, None, Vec::new())).error,
            ErrorCode::IllegalGeneration
        );
    }

    #[test]
    fn offsets_are_committed_only_by_members_of_the_current_generation() {
        let now = Instant::now();
        let (mut group, a) = stable_group_of_one(now);
        assert_eq!(group.admit_commit(now, &a, 1), ErrorCode::None);
        assert_eq!(group.admit_commit(now, &a, 0), ErrorCode::IllegalGeneration);
        assert_eq!(
            group.admit_commit(now, "zombie", 1),
            ErrorCode::UnknownMemberId
        );
        assert_eq!(group.admit_commit(now, "", -1), ErrorCode::UnknownMemberId);
        // A rebalance begins: the revoking member still commits what it did in its generation.
        let b = member_id(&mut group, now);
        let _b_joined = waiting(group.join(now, request(&b)));
        assert_eq!(group.admit_commit(now, &a, 1), ErrorCode::None);
        answered(group.join(now, request(&a)));
        assert_eq!(
            group.admit_commit(now, &a, 2),
            ErrorCode::RebalanceInProgress
        );
        assert_eq!(
            Group::new("fresh", Limits::default()).admit_commit(now, "", -1),
            ErrorCode::None
        );
    }

    #[test]
    fn a_leader_that_dies_before_planning_releases_the_waiting_followers() {
        let now = Instant::now();
        let (mut group, _leader, b) = second_generation_formed(now);
        let b_synced = waiting(group.sync(now, &b, 2, None, None, Vec::new()));
        // a never sends its plan, nor another heartbeat.
        group.tick(now + SESSION + Duration::from_millis(100));
        assert_eq!(
            answered(Reply::Later(b_synced)).error,
            ErrorCode::RebalanceInProgress
        );
        let later = now + SESSION + Duration::from_millis(200);
        let joined = answered(group.join(later, request(&b)));
        assert_eq!((joined.generation, joined.leader.as_str()), (3, b.as_str()));
    }

    #[test]
    fn a_member_that_leaves_starts_a_rebalance_among_the_others() {
        let now = Instant::now();
        let (mut group, a, b) = second_generation_formed(now);
        answered(group.sync(now, &a, 2, None, None, plan(&[(&a, b"a"), (&b, b"b")])));
        assert_eq!(
            group.leave(now, &[&a, "nobody"]),
            vec![ErrorCode::None, ErrorCode::UnknownMemberId]
        );
        assert_eq!(group.heartbeat(now, &b, 2), ErrorCode::RebalanceInProgress);
        let joined = answered(group.join(now, request(&b)));
        assert_eq!((joined.generation, joined.leader.as_str()), (3, b.as_str()));
        assert_eq!(group.leave(now, &[&b]), vec![ErrorCode::None]);
        assert!(group.is_idle());
    }

    #[test]
    fn a_member_that_never_joins_again_is_dropped_at_the_rebalance_deadline() {
        let now = Instant::now();
        let (mut group, a) = stable_group_of_one(now);
        let b = member_id(&mut group, now);
        let b_joined = waiting(group.join(now, request(&b)));
        // a keeps heartbeating (alive, but stuck) and never joins again.
        for second in 1..30 {
            let at = now + Duration::from_secs(second);
            assert_eq!(group.heartbeat(at, &a, 1), ErrorCode::RebalanceInProgress);
            group.tick(at);
        }
        group.tick(now + Duration::from_secs(31));
        let joined = answered(Reply::Later(b_joined));
        assert_eq!(joined.members.len(), 1);
        assert_eq!(group.member_ids(), vec![b]);
    }

    #[test]
    fn a_member_id_handed_out_but_never_used_is_forgotten() {
        let now = Instant::now();
        let (mut group, a) = stable_group_of_one(now);
        let _unused = member_id(&mut group, now);
        let b = member_id(&mut group, now);
        let b_joined = waiting(group.join(now, request(&b)));
        // The unused id holds the rebalance back until it expires with its session timeout.
        let a_joined = waiting(group.join(now, request(&a)));
        group.tick(now + SESSION + Duration::from_millis(100));
        assert_eq!(answered(Reply::Later(a_joined)).generation, 2);
        assert_eq!(answered(Reply::Later(b_joined)).generation, 2);
    }

    #[test]
    fn requests_the_group_cannot_honour_are_refused() {
        let now = Instant::now();
        let (mut group, _) = stable_group_of_one(now);
        let mut short = request("");
        short.session_timeout = Duration::from_millis(500);
        assert_eq!(
            answered(group.join(now, short)).error,
            ErrorCode::InvalidSessionTimeout
        );
        let b = member_id(&mut group, now);
        let mut other = request(&b);
        other.protocols = vec![("sticky".to_owned(), Bytes::new())];
        assert_eq!(
            answered(group.join(now, other)).error,
            ErrorCode::InconsistentGroupProtocol
        );
    }

    #[test]
    fn the_protocol_is_one_every_member_supports() {
        let now = Instant::now();
        let (mut group, a) = stable_group_of_one(now);
        let b = member_id(&mut group, now);
        let mut roundrobin_only = request(&b);
        roundrobin_only.protocols = vec![("roundrobin".to_owned(), Bytes::from_static(b"rr"))];
        let b_joined = waiting(group.join(now, roundrobin_only));
        let a_joined = answered(group.join(now, request(&a)));
        assert_eq!(a_joined.protocol_name.as_deref(), Some("roundrobin"));
        assert!(
            a_joined
                .members
                .iter()
                .all(|m| m.metadata == Bytes::from_static(b"rr"))
        );
        assert_eq!(
            answered(Reply::Later(b_joined)).protocol_name.as_deref(),
            Some("roundrobin")
        );
    }
}
