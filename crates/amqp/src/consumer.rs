//! One instance of a consumer service on its queue: what arrived is applied through the shared
//! delivery policy, and acknowledged only once its effect is committed (or it was parked); a
//! connection that breaks is made again, and RabbitMQ delivers again whatever was not
//! acknowledged. On a stream queue the position is the consumer's own, kept in its database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::{FutureExt, StreamExt};
use lapin::message::Delivery as Message;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use orderflow_events::avro::SchemaVersion;
use orderflow_transport::{
    Backoff, BoxError, Checkpoint, CheckpointStore, Content, Decoded, Decoder, Delivery,
    DeliveryStats, Incoming, OrderEventHandler, ParkedEvent, ParkingLot, Positions, Stopped,
    binary_payload, error_chain,
};
use tokio_util::sync::CancellationToken;

use crate::request::within;
use crate::topology::{declare_queue, text};
use crate::{AmqpSettings, KEY_HEADER, QueueType, Routing};

/// One consumer instance's configuration.
#[derive(Debug, Clone)]
pub struct AmqpConsumerSettings {
    pub amqp: AmqpSettings,
    /// The service (`shipping`): its queue (which its instances share), or, on streams, the
    /// name its dead-letter queue and logs go by.
    pub service: String,
    /// What the queue is bound to.
    pub routing: Routing,
}

/// What a running consumer is doing, for health pages and tests.
#[derive(Debug, Default)]
pub struct AmqpStatus {
    connected: AtomicBool,
    /// On a stream queue: the stored position reached (the next stream offset to apply).
    position: AtomicI64,
    delivery: Arc<DeliveryStats>,
}

impl AmqpStatus {
    /// Whether it holds a connection to RabbitMQ and consumes.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// On a stream queue, the next offset to apply.
    pub fn position(&self) -> i64 {
        self.position.load(Ordering::Relaxed)
    }

    pub fn delivery(&self) -> &Arc<DeliveryStats> {
        &self.delivery
    }
}

/// Transient failures are retried on the same messages after 100 ms, doubling up to 10 s.
const RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));

/// A lost connection is made again after 500 ms, doubling up to 10 s.
const RECONNECT: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));

/// Consumes `settings.queue` until `shutdown`, handing every message to `handler`. What cannot
/// be applied goes to the dead-letter exchange with the reason, and into `parking` (on a
/// stream: `checkpoints`, with the position); on a stream queue, the position is read from
/// and kept in `checkpoints`.
pub async fn run_consumer(
    settings: AmqpConsumerSettings,
    handler: Arc<dyn OrderEventHandler>,
    parking: Arc<dyn ParkingLot>,
    checkpoints: Arc<dyn CheckpointStore>,
    status: Arc<AmqpStatus>,
    shutdown: CancellationToken,
) {
    let member = Member {
        delivery: Delivery::new(&settings.service, handler, Arc::clone(&status.delivery)),
        // A message that says it is Avro is read with the newest schema only: the AMQP
        // transport has no schema topic (docs/encodings.md).
        decoder: Decoder::own_schema_only(SchemaVersion::LATEST),
        settings,
        parking,
        checkpoints,
        status,
        shutdown,
    };
    let mut reconnect = RECONNECT;
    while !member.shutdown.is_cancelled() {
        match member.session(&mut reconnect).await {
            Ok(()) => break,
            Err(error) => {
                member.status.connected.store(false, Ordering::Relaxed);
                let delay = reconnect.next_delay();
                if reconnect.failures() == 1 || reconnect.failures().is_multiple_of(10) {
                    tracing::warn!(
                        service = %member.settings.service,
                        url = %member.settings.amqp.redacted_url(),
                        error = %error_chain(&*error),
                        retry_in = ?delay,
                        "RabbitMQ is not reachable; connecting again."
                    );
                }
                tokio::select! {
                    _ = member.shutdown.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    tracing::info!(service = %member.settings.service, "Consumer stopped.");
}

struct Member {
    settings: AmqpConsumerSettings,
    delivery: Delivery,
    decoder: Decoder,
    parking: Arc<dyn ParkingLot>,
    checkpoints: Arc<dyn CheckpointStore>,
    status: Arc<AmqpStatus>,
    shutdown: CancellationToken,
}

impl Member {
    fn stream(&self) -> bool {
        self.settings.amqp.queue_type == QueueType::Stream
    }

    /// One connection's worth of consuming: `Ok` at shutdown, an error when the connection or
    /// the channel broke.
    async fn session(&self, reconnect: &mut Backoff) -> Result<(), BoxError> {
        let amqp = &self.settings.amqp;
        let limit = amqp.request_timeout;
        let connection = within(
            limit,
            "connecting",
            Connection::connect(
                amqp.url.trim(),
                ConnectionProperties::default()
                    .with_connection_name(format!("orderflow-{}", self.settings.service).into()),
            ),
        )
        .await?;
        let channel = within(limit, "opening a channel", connection.create_channel()).await?;
        let queue = within(
            limit,
            "declaring the queue",
            declare_queue(
                &channel,
                amqp,
                &self.settings.service,
                self.settings.routing,
            ),
        )
        .await?;
        within(
            limit,
            "setting the prefetch",
            channel.basic_qos(amqp.prefetch, BasicQosOptions::default()),
        )
        .await?;
        // Parked messages go to the dead-letter exchange on a confirming channel of their own.
        let dead_letters = within(limit, "opening a channel", connection.create_channel()).await?;
        within(
            limit,
            "enabling confirms",
            dead_letters.confirm_select(ConfirmSelectOptions::default()),
        )
        .await?;
        let position = if self.stream() {
            self.checkpoints.position(&queue).await?
        } else {
            0
        };
        self.status.position.store(position, Ordering::Relaxed);
        let mut arguments = FieldTable::default();
        if self.stream() {
            // Where this service got to: the whole history on its first start.
            arguments.insert("x-stream-offset".into(), AMQPValue::LongLongInt(position));
        }
        let mut messages = within(
            limit,
            "starting to consume",
            channel.basic_consume(
                queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                arguments,
            ),
        )
        .await?;
        self.status.connected.store(true, Ordering::Relaxed);
        reconnect.reset();
        tracing::info!(
            "{}: consuming queue {} ({} queue, bound to {}){}",
            self.settings.service,
            queue,
            amqp.queue_type.argument(),
            self.settings.routing.key(),
            if self.stream() {
                format!(" from stream offset {position}")
            } else {
                String::new()
            }
        );
        let positions = AmqpPositions {
            member: self,
            queue: &queue,
            position: AtomicI64::new(position),
            dead_letters,
        };
        loop {
            let first = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => {
                    let _ = connection.close(200, "shutdown".into()).await;
                    return Ok(());
                }
                next = messages.next() => next,
            };
            let mut batch = match first {
                Some(message) => vec![self.record(&queue, message?)],
                None => return Err("the broker closed the consumer".into()),
            };
            while batch.len() < usize::from(amqp.prefetch) {
                match messages.next().now_or_never() {
                    Some(Some(Ok(message))) => batch.push(self.record(&queue, message)),
                    _ => break,
                }
            }
            if self.stream() {
                // Another instance of this service may have applied these already.
                let reached = positions.position.load(Ordering::Relaxed);
                let already = batch.iter().filter(|r| r.offset < reached).count();
                for record in &batch[..already] {
                    within(limit, "acknowledging", ack(&record.message)).await?;
                }
                batch.drain(..already);
            }
            let done = self.process_batch(&positions, &batch).await;
            if let Some(last) = done.checked_sub(1).map(|i| &batch[i]) {
                // Every message before it on this channel is done too.
                within(
                    limit,
                    "acknowledging",
                    last.message.ack(BasicAckOptions { multiple: true }),
                )
                .await?;
            }
            if done < batch.len() {
                // Shutdown while a message was failing: what was not acknowledged is delivered
                // again, to whichever instance consumes next.
                let _ = connection.close(200, "shutdown".into()).await;
                return Ok(());
            }
        }
    }

    fn record(&self, queue: &str, message: Message) -> AmqpRecord {
        let headers = message.properties.headers().clone().unwrap_or_default();
        let header = |name: &str| match headers.inner().get(name) {
            Some(AMQPValue::LongString(value)) => {
                Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
            }
            Some(AMQPValue::ShortString(value)) => Some(value.as_str().to_owned()),
            _ => None,
        };
        let offset = match headers.inner().get("x-stream-offset") {
            Some(AMQPValue::LongLongInt(offset)) => *offset,
            _ => -1,
        };
        let key = header(KEY_HEADER);
        let Decoded { content, encoding } = if message.data.is_empty()
            && self.settings.routing == Routing::States
        {
            // An order's deletion: no body, the order in the key.
            Decoded {
                content: Content::Gone {
                    id: key.as_deref().and_then(|key| key.parse().ok()),
                },
                encoding: "none (deletion)".to_owned(),
            }
        } else {
            let content_type = message.properties.content_type().as_ref();
            let mut decoded = self
                .decoder
                .decode(content_type.map(|c| c.as_str()), &message.data);
            if let Content::Unresolved { error, .. } = &decoded.content {
                // On Kafka an unknown writer schema may still appear on the schema topic;
                // here there is none, so waiting would block the queue for good: poison.
                decoded.content = Content::Unreadable {
                    payload: Some(binary_payload(&message.data)),
                    error: format!("{error}; RabbitMQ has no schema topic, so it never will be"),
                };
            }
            decoded
        };
        let source = if self.stream() {
            format!("{queue}@{offset}")
        } else {
            format!("{queue}#{}", message.delivery_tag)
        };
        AmqpRecord {
            traceparent: header(orderflow_telemetry::TRACEPARENT),
            key,
            content,
            encoding,
            source,
            offset,
            message,
        }
    }

    /// Applies `records` and returns how many of them, from the first, are done: all of them,
    /// unless shutdown came while one was still failing. Transient failures are retried on the
    /// same records.
    async fn process_batch(&self, positions: &AmqpPositions<'_>, records: &[AmqpRecord]) -> usize {
        let mut done = 0;
        let mut backoff = RETRY;
        while done < records.len() {
            let progress = self.delivery.deliver(positions, &records[done..]).await;
            done += progress.done;
            let error = match progress.stopped {
                None => continue,
                Some(Stopped::Transient(error)) => error_chain(&*error),
                Some(Stopped::PositionMoved) => {
                    // Another instance applied some of these: go on from the stored position.
                    if let Ok(stored) = self.checkpoints.position(positions.queue).await {
                        positions.position.store(stored, Ordering::Relaxed);
                        while done < records.len() && records[done].offset < stored {
                            done += 1;
                        }
                    }
                    continue;
                }
            };
            if progress.done > 0 {
                backoff.reset();
            }
            let delay = backoff.next_delay();
            tracing::warn!(
                source = records[done].source(), messages = records.len() - done, %error, retry_in = ?delay,
                "Messages could not be applied (or parked) yet; retrying."
            );
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        done
    }
}

async fn ack(message: &Message) -> lapin::Result<()> {
    message.ack(BasicAckOptions::default()).await.map(drop)
}

/// A message and what it holds.
struct AmqpRecord {
    message: Message,
    content: Content,
    encoding: String,
    /// `shipping#17` (queue and delivery tag), or `bonus@42` (stream and offset).
    source: String,
    /// The stream offset (streams only; -1 otherwise).
    offset: i64,
    /// The record key (`17created`, or the order id on `order.state`).
    key: Option<String>,
    traceparent: Option<String>,
}

impl Incoming for AmqpRecord {
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

/// How a consumer keeps its place: on a queue, RabbitMQ does (an acknowledged message is
/// gone), so no checkpoint moves; on a stream, the consumer does, in its database.
struct AmqpPositions<'a> {
    member: &'a Member,
    /// The queue (or stream) consumed.
    queue: &'a str,
    /// The stored position on a stream: the next offset to apply.
    position: AtomicI64,
    /// A confirming channel to the dead-letter exchange.
    dead_letters: Channel,
}

#[async_trait]
impl Positions<AmqpRecord> for AmqpPositions<'_> {
    fn checkpoint(&self, records: &[AmqpRecord]) -> Option<Checkpoint> {
        if !self.member.stream() {
            return None;
        }
        Some(Checkpoint {
            stream: self.queue.to_owned(),
            expected: self.position.load(Ordering::Relaxed),
            next: records.last()?.offset + 1,
        })
    }

    fn advanced(&self, last: &AmqpRecord) {
        if self.member.stream() {
            self.position.store(last.offset + 1, Ordering::Relaxed);
            self.member
                .status
                .position
                .store(last.offset + 1, Ordering::Relaxed);
        }
    }

    async fn pass(&self, record: &AmqpRecord, parked: Option<&str>) -> Result<bool, BoxError> {
        let payload = record.content.payload().or_else(|| {
            (!record.message.data.is_empty())
                .then(|| String::from_utf8_lossy(&record.message.data).into_owned())
        });
        let event = parked.map(|error| ParkedEvent {
            stream: self.queue,
            position: (record.offset >= 0).then_some(record.offset),
            source: &record.source,
            payload: payload.as_deref(),
            encoding: &record.encoding,
            error,
        });
        if self.member.stream() {
            // The consumer's database is the record of truth here: the position moves and the
            // message is listed in one transaction, by one instance only (compare-and-set); the
            // copy on the dead-letter exchange follows, by that instance alone.
            let checkpoint = self.checkpoint(std::slice::from_ref(record));
            let moved = self
                .member
                .checkpoints
                .pass(checkpoint.as_ref(), event.as_ref())
                .await?;
            if moved
                && let Some(error) = parked
                && let Err(failed) = self.dead_letter(record, error).await
            {
                tracing::warn!(source = %record.source, error = %failed, "Parked message listed, but not copied to the dead-letter exchange.");
            }
            return Ok(moved);
        }
        // On a queue the dead-letter exchange is the record of truth: the copy first, then the
        // acknowledgement.
        if let Some(error) = parked {
            self.dead_letter(record, error).await?;
        }
        if let Some(event) = &event
            && let Err(error) = self.member.parking.park(event).await
        {
            // The dead-letter queue has it; the service's own list is for its UI and replay.
            tracing::warn!(source = %record.source, %error, "Parked message not listed in the service's database.");
        }
        Ok(true)
    }
}

impl AmqpPositions<'_> {
    /// A copy of the message on the dead-letter exchange (to `<queue>.DLQ`), with its headers
    /// and why it was parked, confirmed by RabbitMQ before the original is acknowledged.
    async fn dead_letter(&self, record: &AmqpRecord, error: &str) -> Result<(), BoxError> {
        let settings = &self.member.settings;
        let mut headers = record
            .message
            .properties
            .headers()
            .clone()
            .unwrap_or_default();
        for (name, value) in [
            ("orderflow.dlt.error", error),
            ("orderflow.dlt.original-queue", self.queue),
            ("orderflow.dlt.source", record.source.as_str()),
            ("orderflow.dlt.encoding", record.encoding.as_str()),
        ] {
            headers.insert(name.into(), text(value));
        }
        let mut properties = BasicProperties::default()
            .with_delivery_mode(2)
            // Where it came from: a reader of the dead-letter queue can tell copies apart.
            .with_message_id(record.source.as_str().into())
            .with_headers(headers);
        if let Some(content_type) = record.message.properties.content_type() {
            properties = properties.with_content_type(content_type.clone());
        }
        let confirmation = within(
            settings.amqp.request_timeout,
            "parking on the dead-letter exchange",
            async {
                self.dead_letters
                    .basic_publish(
                        settings.amqp.dead_letter_exchange.as_str().into(),
                        settings.service.as_str().into(),
                        BasicPublishOptions::default(),
                        &record.message.data,
                        properties,
                    )
                    .await?
                    .await
            },
        )
        .await?;
        if confirmation.is_nack() {
            return Err("the dead-letter exchange refused the message (nack)".into());
        }
        tracing::debug!(source = %record.source, key = ?record.key, "Parked on the dead-letter exchange.");
        Ok(())
    }
}
