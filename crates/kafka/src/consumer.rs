use orderflow_transport::error_chain;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use orderflow_transport::{
    Backoff, BoxError, Checkpoint, Content, Decoded, Decoder, Delivery, DeliveryStats, Incoming,
    OrderEventHandler, ParkedEvent, ParkingLot, Positions, Stopped, WriterSchemas,
};
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, RebalanceProtocol,
    StreamConsumer,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Message, Offset, Statistics, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::closing::Closing;
use crate::dead_letter::DeadLetters;
use crate::group_progress::IdleWatch;
use crate::held::HeldPartitions;
use crate::{KafkaSettings, TopicSchemas};

/// One consumer group member's configuration.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    pub kafka: KafkaSettings,
    /// `shipping` or `invoicing`: every instance of a service shares its group, so each record
    /// is handled by exactly one instance of each service.
    pub group_id: String,
    /// How long the group waits for a silent member (one killed with `kill -9`) before handing
    /// its partitions to the others.
    pub session_timeout: Duration,
    /// Read the partitions of the first assignment from their beginning, whatever offsets the
    /// group committed: the consumer's database holds nothing yet (new, or emptied to be
    /// rebuilt), so the whole history must be applied to it again, idempotently.
    pub from_beginning: bool,
}

impl ConsumerSettings {
    pub fn new(kafka: KafkaSettings, group_id: impl Into<String>) -> Self {
        ConsumerSettings {
            kafka,
            group_id: group_id.into(),
            session_timeout: Duration::from_secs(10),
            from_beginning: false,
        }
    }
}

/// What a running consumer is doing, for health pages and tests. Shared with the consumer task.
#[derive(Debug, Default)]
pub struct ConsumerStatus {
    assigned: Mutex<BTreeSet<i32>>,
    /// Records behind the end of each owned partition, from librdkafka's statistics (every 5 s).
    lag: Mutex<BTreeMap<i32, i64>>,
    delivery: Arc<DeliveryStats>,
    waiting_for_topic: AtomicBool,
    /// Partitions waiting at a record that cannot be read yet.
    held: HeldPartitions,
}

impl ConsumerStatus {
    /// The partitions this member owns now, ascending.
    pub fn assigned_partitions(&self) -> Vec<i32> {
        self.assigned
            .lock()
            .expect("status lock")
            .iter()
            .copied()
            .collect()
    }

    /// Records not yet consumed, per owned partition (as of the last statistics, at most 5 s old;
    /// partitions that left this member are dropped at once, so the figure never goes stale).
    pub fn lag(&self) -> BTreeMap<i32, i64> {
        self.lag.lock().expect("status lock").clone()
    }

    /// What this member applied, found applied, and parked.
    pub fn delivery(&self) -> &Arc<DeliveryStats> {
        &self.delivery
    }

    /// Partitions waiting at a record whose writer schema is not known yet: partition to the
    /// record's offset and why.
    pub fn waiting_for_schema(&self) -> BTreeMap<i32, (i64, String)> {
        self.held.describe()
    }

    /// Whether the subscribed topic does not exist (yet).
    pub fn waiting_for_topic(&self) -> bool {
        self.waiting_for_topic.load(Ordering::Relaxed)
    }
}

/// Runs one member of `settings.group_id` until `shutdown` is cancelled, handing every record of
/// the topic to `handler`.
///
/// A record's offset is stored only after `handler` committed its effect (or after the record
/// was parked on the dead-letter topic); stored offsets are committed every second, before
/// partitions are revoked, and on shutdown. So a crash repeats at most the records since the
/// last commit, and the handler's idempotence makes the repetition harmless.
pub async fn run_consumer(
    settings: ConsumerSettings,
    handler: Arc<dyn OrderEventHandler>,
    parking: Arc<dyn ParkingLot>,
    status: Arc<ConsumerStatus>,
    shutdown: CancellationToken,
) -> Result<(), KafkaError> {
    let dead_letters = DeadLetters::new(&settings.kafka, &settings.group_id)?;
    let schemas = Arc::new(TopicSchemas::new(
        &settings.kafka,
        settings.kafka.reader_version,
    ));
    let member = Member {
        decoder: Decoder::new(
            Arc::clone(&schemas) as Arc<dyn WriterSchemas>,
            settings.kafka.reader_version,
        ),
        schemas,
        delivery: Delivery::new(&settings.group_id, handler, Arc::clone(status.delivery())),
        parking,
        status,
        dead_letters,
        shutdown: shutdown.clone(),
    };
    // Every two session timeouts a member without partitions looks whether any wait unattended.
    let mut idle = IdleWatch::new(settings.session_timeout * 2);
    // Shared by the members this loop creates: only the very first assignment rewinds.
    let rewind = Arc::new(AtomicBool::new(settings.from_beginning));
    loop {
        let consumer = Closing::new(create_consumer(&settings, &member.status, &rewind)?);
        consumer.subscribe(&[&settings.kafka.topic])?;
        tracing::info!(
            group = %settings.group_id,
            topic = %settings.kafka.topic,
            brokers = %settings.kafka.brokers,
            "Consumer started."
        );
        let ended = member.consume(&consumer, &settings, &mut idle).await;
        if !consumer.close(CLOSE_TIMEOUT).await {
            tracing::warn!(
                group = %settings.group_id,
                "Kafka did not let this member leave its group within {CLOSE_TIMEOUT:?}; going on without waiting (the group hands its partitions on after the session timeout)."
            );
        }
        member.status.assigned.lock().expect("status lock").clear();
        member.status.lag.lock().expect("status lock").clear();
        member.status.held.clear();
        match ended {
            Ended::Shutdown => break,
            Ended::HoldFailed => tracing::warn!(
                group = %settings.group_id,
                "A partition could not be held at a record it cannot read yet; joining the group again."
            ),
            Ended::Stranded(unattended) => tracing::warn!(
                group = %settings.group_id,
                partitions = ?unattended,
                "This member has no partitions while records wait on partitions that no member consumes; joining the group again."
            ),
        }
    }
    tracing::info!(group = %settings.group_id, "Consumer stopped.");
    Ok(())
}

/// Why a member stopped consuming.
enum Ended {
    Shutdown,
    /// It has no partitions while these have records waiting that nobody commits: some group
    /// coordinators (Tansu 0.6.0's) answer a member with an empty assignment and never correct
    /// it (`group_progress`). A fresh member is assigned normally.
    Stranded(Vec<i32>),
    /// A partition could not be held at a record it cannot read yet (the pause or seek failed,
    /// e.g. it was revoked meanwhile): the member leaves and a fresh one starts from the
    /// committed offsets, which never pass that record.
    HoldFailed,
}

fn create_consumer(
    settings: &ConsumerSettings,
    status: &Arc<ConsumerStatus>,
    rewind: &Arc<AtomicBool>,
) -> Result<StreamConsumer<GroupContext>, KafkaError> {
    let context = GroupContext {
        group: settings.group_id.clone(),
        status: Arc::clone(status),
        rewind: Arc::clone(rewind),
    };
    settings
        .kafka
        .client_config(&format!("orderflow-{}", settings.group_id))
        .set("group.id", &settings.group_id)
        .set("auto.offset.reset", "earliest")
        // Offsets are stored by us, after the effect is committed; librdkafka's own storing on
        // delivery to the application is what skips records on close (see kafka-brokers.md).
        .set("enable.auto.offset.store", "false")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set(
            "session.timeout.ms",
            settings.session_timeout.as_millis().to_string(),
        )
        .set(
            "heartbeat.interval.ms",
            (settings.session_timeout.as_millis() / 4).to_string(),
        )
        .set("allow.auto.create.topics", "false")
        // Statistics every 5 s carry each partition's consumer lag, for /health.
        .set("statistics.interval.ms", "5000")
        .create_with_context(context)
}

impl Member {
    /// Consumes until shutdown, or until this member is stranded without partitions.
    async fn consume(
        &self,
        consumer: &StreamConsumer<GroupContext>,
        settings: &ConsumerSettings,
        idle: &mut IdleWatch,
    ) -> Ended {
        let member = self;
        let shutdown = &self.shutdown;
        let mut watchdog = tokio::time::interval(Duration::from_secs(1));
        loop {
            // Here, not only when idle: with traffic on other partitions, `recv` is always ready.
            member.resume_due(consumer);
            let received = tokio::select! {
                // Shutdown first: a record received after it would be applied while an earlier,
                // interrupted one was not.
                biased;
                _ = shutdown.cancelled() => return Ended::Shutdown,
                received = consumer.recv() => received,
                _ = watchdog.tick() => {
                    if !member.status.assigned.lock().expect("status lock").is_empty() {
                        idle.busy();
                    } else if let Some(unattended) = idle.idle(settings).await {
                        return Ended::Stranded(unattended);
                    }
                    continue;
                }
            };
            match received {
                Ok(message) => {
                    member
                        .status
                        .waiting_for_topic
                        .store(false, Ordering::Relaxed);
                    // Whatever else has arrived goes into the same batch: one transaction for many
                    // records is what lets a consumer keep up.
                    let mut batch = vec![Record::new(message, &member.decoder)];
                    while batch.len() < MAX_BATCH {
                        match consumer.recv().now_or_never() {
                            Some(Ok(message)) => batch.push(Record::new(message, &member.decoder)),
                            Some(Err(error)) => {
                                tracing::debug!(%error, "Consumer error while batching.");
                                break;
                            }
                            None => break,
                        }
                    }
                    let (batch, hold_failed) = member.hold_unresolved(consumer, batch).await;
                    let done = member.process_batch(&batch).await;
                    for record in &batch[..done] {
                        if let Err(error) = consumer.store_offset_from_message(&record.message) {
                            // The partition was revoked meanwhile; its new owner sees the record
                            // again, and the handler's idempotence absorbs the repetition.
                            tracing::debug!(%error, "Offset not stored.");
                        }
                        let message = &record.message;
                        member
                            .status
                            .held
                            .passed(message.partition(), message.offset());
                    }
                    // Shutdown while a record was failing: stop here, so that no later record's
                    // offset gets stored (and committed) past it.
                    if done < batch.len() {
                        return Ended::Shutdown;
                    }
                    if hold_failed {
                        return Ended::HoldFailed;
                    }
                }
                Err(KafkaError::MessageConsumption(
                    RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic,
                )) => {
                    if !member
                        .status
                        .waiting_for_topic
                        .swap(true, Ordering::Relaxed)
                    {
                        tracing::warn!(
                            group = %settings.group_id,
                            topic = %settings.kafka.topic,
                            "Topic does not exist yet; waiting for it."
                        );
                    }
                }
                Err(error) => tracing::warn!(group = %settings.group_id, %error, "Consumer error."),
            }
        }
    }
}

/// How long stopping waits for a member's last commit and its leaving the group.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// The most records applied in one batch (one database transaction).
const MAX_BATCH: usize = 256;

/// Transient failures are retried on the same records after 100 ms, doubling up to 10 s.
const RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));

struct Member {
    delivery: Delivery,
    /// Reads each record's value, whatever encoding and schema version wrote it.
    decoder: Decoder,
    /// The writer schemas `decoder` knows; refreshed from the schema topic when a record names
    /// one it does not.
    schemas: Arc<TopicSchemas>,
    /// The service's list of parked events (its UI, `orderflow replay`).
    parking: Arc<dyn ParkingLot>,
    status: Arc<ConsumerStatus>,
    dead_letters: DeadLetters,
    shutdown: CancellationToken,
}

/// A record and what it holds.
struct Record<'a> {
    message: BorrowedMessage<'a>,
    content: Content,
    /// `order/3@17`.
    source: String,
    /// The `traceparent` header, if the producer traced it.
    traceparent: Option<String>,
    /// How the value was written: `json`, `avro v2`.
    encoding: String,
}

/// The order id a record key names: `17` (order-state) or `17created` (order).
fn order_id_of_key(key: &[u8]) -> Option<i64> {
    let key = std::str::from_utf8(key).ok()?;
    key.strip_suffix("created").unwrap_or(key).parse().ok()
}

impl<'a> Record<'a> {
    fn new(message: BorrowedMessage<'a>, decoder: &Decoder) -> Self {
        let Decoded { content, encoding } = match message.payload() {
            Some(payload) => decoder.decode(header(&message, CONTENT_TYPE), payload),
            // A tombstone: on the compacted `order-state` topic, the order (the key) was deleted.
            None => Decoded {
                content: Content::Gone {
                    id: message.key().and_then(order_id_of_key),
                },
                encoding: "none (tombstone)".to_owned(),
            },
        };
        let source = format!(
            "{}/{}@{}",
            message.topic(),
            message.partition(),
            message.offset()
        );
        let traceparent = header(&message, orderflow_telemetry::TRACEPARENT).map(str::to_owned);
        Record {
            message,
            content,
            source,
            traceparent,
            encoding,
        }
    }

    /// Reads the value again once more writer schemas are known.
    fn decode_again(&mut self, decoder: &Decoder) {
        if let Some(payload) = self.message.payload() {
            let decoded = decoder.decode(header(&self.message, CONTENT_TYPE), payload);
            self.content = decoded.content;
            self.encoding = decoded.encoding;
        }
    }
}

/// The header that says how a record's value is written.
const CONTENT_TYPE: &str = "content-type";

/// The first header named `name`, if it is text.
fn header<'m>(message: &'m BorrowedMessage<'_>, name: &str) -> Option<&'m str> {
    message.headers().and_then(|headers| {
        headers
            .iter()
            .find(|header| header.key == name)
            .and_then(|header| header.value)
            .and_then(|value| std::str::from_utf8(value).ok())
    })
}

impl Incoming for Record<'_> {
    fn content(&self) -> &Content {
        &self.content
    }

    fn source(&self) -> &str {
        &self.source
    }

    fn traceparent(&self) -> Option<&str> {
        self.traceparent.as_deref()
    }

    fn encoding(&self) -> &str {
        &self.encoding
    }
}

/// Kafka keeps positions itself: an offset is stored once its record is done, so the handler
/// moves no checkpoint; a record is passed by parking it on the dead-letter topic.
#[async_trait]
impl<'a> Positions<Record<'a>> for Member {
    fn checkpoint(&self, _records: &[Record<'a>]) -> Option<Checkpoint> {
        None
    }

    fn advanced(&self, _last: &Record<'a>) {}

    async fn pass(&self, record: &Record<'a>, parked: Option<&str>) -> Result<bool, BoxError> {
        let Some(reason) = parked else {
            return Ok(true);
        };
        let message = &record.message;
        self.dead_letters.park(message, reason).await?;
        // What was read: the value as text, or the order it decoded to (an Avro record), or
        // its bytes in base64 when they are neither.
        let payload = match (&record.content, message.payload()) {
            (Content::Order(order), _) => Some(order.to_json()),
            (Content::Unreadable { payload, .. }, _) => payload.clone(),
            (_, value) => value.map(|value| String::from_utf8_lossy(value).into_owned()),
        };
        let event = ParkedEvent {
            stream: message.topic(),
            position: Some(message.offset()),
            source: &record.source,
            payload: payload.as_deref(),
            encoding: &record.encoding,
            error: reason,
        };
        // The dead-letter topic has it; the service's own list is for its UI and replay.
        if let Err(error) = self.parking.park(&event).await {
            tracing::warn!(source = %record.source, %error, "Parked record not listed in the service's database.");
        }
        Ok(true)
    }
}

impl Member {
    /// Applies `records` (in partition order) and returns how many of them, from the first, are
    /// done (applied, found applied, or parked): all of them, unless shutdown came while one was
    /// still failing. Transient failures are retried on the same records.
    async fn process_batch(&self, records: &[Record<'_>]) -> usize {
        let mut done = 0;
        let mut backoff = RETRY;
        while done < records.len() {
            let progress = self.delivery.deliver(self, &records[done..]).await;
            done += progress.done;
            let error = match progress.stopped {
                None => continue,
                Some(Stopped::Transient(error)) => error_chain(&*error),
                // No checkpoint is moved here; if a position ever "moved", retry the same way.
                Some(Stopped::PositionMoved) => "the position moved".to_owned(),
            };
            if progress.done > 0 {
                backoff.reset();
            }
            let delay = backoff.next_delay();
            tracing::warn!(
                source = records[done].source(), records = records.len() - done, %error, retry_in = ?delay,
                "Records could not be applied (or parked) yet; retrying."
            );
            if !self.sleep(delay).await {
                break;
            }
        }
        done
    }

    /// Records that name a writer schema this member does not know: looks the schemas up on
    /// the schema topic and reads those records again. A partition whose record stays
    /// unreadable is held there (paused, and rewound to it, so that it is fetched again when
    /// resumed after a backoff: the schema may be on its way) and leaves the batch from that
    /// record on; the member's other partitions go on.
    /// Also says whether a hold failed: the member must then leave the group and start afresh
    /// from the committed offsets.
    async fn hold_unresolved<'a, C: ConsumerContext>(
        &self,
        consumer: &StreamConsumer<C>,
        mut batch: Vec<Record<'a>>,
    ) -> (Vec<Record<'a>>, bool) {
        let unresolved = |r: &Record<'_>| matches!(r.content, Content::Unresolved { .. });
        if !batch.iter().any(unresolved) {
            return (batch, false);
        }
        match self.schemas.refresh().await {
            Ok(_) => {
                for record in batch.iter_mut().filter(|r| unresolved(r)) {
                    record.decode_again(&self.decoder);
                }
            }
            Err(error) => {
                tracing::warn!(%error, topic = %self.schemas.topic(), "The schema topic could not be read.")
            }
        }
        // The first record of each partition that is still unreadable.
        let mut holds: BTreeMap<i32, (i64, String)> = BTreeMap::new();
        for record in batch.iter().filter(|r| unresolved(r)) {
            let (partition, offset) = (record.message.partition(), record.message.offset());
            if let Content::Unresolved { error, .. } = &record.content {
                holds.entry(partition).or_insert((offset, error.clone()));
            }
        }
        let topic = batch[0].message.topic().to_owned();
        let mut hold_failed = false;
        for (partition, (offset, reason)) in &holds {
            let delay = self.status.held.hold(
                *partition,
                *offset,
                reason.clone(),
                tokio::time::Instant::now(),
            );
            let mut list = TopicPartitionList::new();
            list.add_partition(&topic, *partition);
            let held = consumer.pause(&list).and_then(|()| {
                consumer.seek(
                    &topic,
                    *partition,
                    Offset::Offset(*offset),
                    Duration::from_secs(5),
                )
            });
            match held {
                Ok(()) => tracing::warn!(
                    source = format!("{topic}/{partition}@{offset}"),
                    error = %reason,
                    look_again_in = ?delay,
                    "A record cannot be read yet; its partition waits there while the others go on."
                ),
                // Not held (revoked meanwhile, say): its records still leave the batch, so the
                // other partitions go on, and the member starts afresh after this batch.
                Err(error) => {
                    tracing::warn!(%error, partition, "The partition could not be held.");
                    self.status.held.forget([*partition]);
                    hold_failed = true;
                }
            }
        }
        // What is still unreadable leaves the batch from its record on: a partition held before
        // whose record reads now is delivered (its hold ends once that record is done).
        batch.retain(|record| {
            let message = &record.message;
            holds
                .get(&message.partition())
                .is_none_or(|(offset, _)| message.offset() < *offset)
        });
        (batch, hold_failed)
    }

    /// Resumes the held partitions whose backoff passed, to read their record again.
    fn resume_due<C: ConsumerContext>(&self, consumer: &StreamConsumer<C>) {
        let due = self.status.held.due(tokio::time::Instant::now());
        if due.is_empty() {
            return;
        }
        let Ok(assignment) = consumer.assignment() else {
            return;
        };
        let mut list = TopicPartitionList::new();
        for element in assignment.elements() {
            if due.contains(&element.partition()) {
                list.add_partition(element.topic(), element.partition());
            }
        }
        if let Err(error) = consumer.resume(&list) {
            tracing::warn!(%error, "Held partitions could not be resumed.");
        }
    }

    /// Waits `delay`; `false` when shutdown came first.
    async fn sleep(&self, delay: Duration) -> bool {
        tokio::select! {
            _ = self.shutdown.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }
}

/// Logs rebalances in the contract's words and commits stored offsets before partitions leave.
struct GroupContext {
    group: String,
    status: Arc<ConsumerStatus>,
    /// Set until the first assignment, when [`ConsumerSettings::from_beginning`].
    rewind: Arc<AtomicBool>,
}

impl ClientContext for GroupContext {
    /// librdkafka's errors, logged as rdkafka does, but for a topic that does not exist yet:
    /// the member waits for it and says so once itself ("Topic does not exist yet; waiting for
    /// it."), so librdkafka repeating it on every metadata refresh is no error.
    fn error(&self, error: KafkaError, reason: &str) {
        let missing_topic = matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic)
        );
        if missing_topic {
            tracing::debug!(group = %self.group, "librdkafka: {error}: {reason}");
        } else {
            tracing::error!(group = %self.group, "librdkafka: {error}: {reason}");
        }
    }

    /// librdkafka's statistics (`statistics.interval.ms`): the consumer lag of owned partitions.
    fn stats(&self, statistics: Statistics) {
        let assigned = self.status.assigned_partitions();
        let lag: BTreeMap<i32, i64> = statistics
            .topics
            .values()
            .flat_map(|topic| topic.partitions.iter())
            .filter(|(id, partition)| assigned.contains(id) && partition.consumer_lag >= 0)
            .map(|(id, partition)| (*id, partition.consumer_lag))
            .collect();
        *self.status.lag.lock().expect("status lock") = lag;
    }
}

impl ConsumerContext for GroupContext {
    /// rdkafka's own rebalance (pre-rebalance, assign or unassign, post-rebalance), written out
    /// because the first assignment of a consumer with an empty database must be rewound to the
    /// beginning *before* it is assigned: seeking afterwards would race the first fetches.
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        error: RDKafkaRespErr,
        partitions: &mut TopicPartitionList,
    ) {
        let assign = error == RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
        if assign && self.rewind.swap(false, Ordering::AcqRel) {
            let elements: Vec<(String, i32)> = partitions
                .elements()
                .iter()
                .map(|e| (e.topic().to_owned(), e.partition()))
                .collect();
            for (topic, partition) in elements {
                let _ = partitions.set_partition_offset(&topic, partition, Offset::Beginning);
            }
            tracing::info!(
                "{}: its database holds nothing yet: reading {} from the beginning",
                self.group,
                describe(partitions)
            );
        }
        let rebalance = match error {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => Rebalance::Assign(partitions),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => Rebalance::Revoke(partitions),
            other => Rebalance::Error(KafkaError::Rebalance(other.into())),
        };
        self.pre_rebalance(consumer, &rebalance);
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let done = match (assign, cooperative) {
            (true, true) => consumer.incremental_assign(partitions),
            (true, false) => consumer.assign(partitions),
            (false, true) => consumer.incremental_unassign(partitions),
            (false, false) => consumer.unassign(),
        };
        if let Err(error) = done {
            tracing::warn!(group = %self.group, %error, "Applying the rebalance failed.");
        } else if assign {
            // A partition this member held (paused) and that comes back to it must not stay
            // paused: librdkafka keeps an application's pause across unassign and assign.
            let _ = consumer.resume(partitions);
        }
        self.post_rebalance(consumer, &rebalance);
    }

    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            // Commit what was processed while we still own it, so the next owner starts there.
            match consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                Err(error) => tracing::warn!(%error, "Offset commit before revocation failed."),
            }
            tracing::info!(
                "{}: partitions revoked: {}",
                self.group,
                describe(partitions)
            );
            let mut assigned = self.status.assigned.lock().expect("status lock");
            let mut lag = self.status.lag.lock().expect("status lock");
            for element in partitions.elements() {
                assigned.remove(&element.partition());
                lag.remove(&element.partition());
            }
            self.status
                .held
                .forget(partitions.elements().iter().map(|e| e.partition()));
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                tracing::info!(
                    "{}: partitions assigned: {}",
                    self.group,
                    describe(partitions)
                );
                let mut assigned = self.status.assigned.lock().expect("status lock");
                assigned.extend(partitions.elements().iter().map(|e| e.partition()));
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(error) => {
                tracing::warn!(group = %self.group, %error, "Rebalance failed.")
            }
        }
    }
}

/// `[order-0, order-1, order-2]`.
fn describe(partitions: &TopicPartitionList) -> String {
    let mut names: Vec<(String, i32)> = partitions
        .elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect();
    names.sort();
    let names: Vec<String> = names.into_iter().map(|(t, p)| format!("{t}-{p}")).collect();
    format!("[{}]", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::order_id_of_key;

    #[test]
    fn a_key_names_its_order_on_either_topic() {
        assert_eq!(order_id_of_key(b"17"), Some(17));
        assert_eq!(order_id_of_key(b"17created"), Some(17));
        assert_eq!(order_id_of_key(b"seventeen"), None);
        assert_eq!(order_id_of_key(&[0xff]), None);
    }
}
