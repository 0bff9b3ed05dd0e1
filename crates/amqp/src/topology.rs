//! What orderflow declares on RabbitMQ. Declarations are idempotent: order and every consumer
//! declare what they use at start-up, whoever comes first, so no one depends on a setup script.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, ExchangeKind};

use crate::{AmqpSettings, QueueType, Routing};

/// The durable topic exchange order publishes to, and the dead-letter exchange.
pub(crate) async fn declare_exchanges(
    channel: &Channel,
    settings: &AmqpSettings,
) -> lapin::Result<()> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    for exchange in [&settings.exchange, &settings.dead_letter_exchange] {
        channel
            .exchange_declare(
                exchange.as_str().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

/// The streams every service reads with `--amqp-queue-type stream`, one per routing key,
/// bound to the exchange. Declared by order before it publishes anything, so that they hold the
/// whole history: a service that starts later reads them from the first message.
pub(crate) async fn declare_streams(
    channel: &Channel,
    settings: &AmqpSettings,
) -> lapin::Result<()> {
    for routing in [Routing::Events, Routing::States] {
        declare_bound(channel, settings, &stream_name(settings, routing), routing).await?;
    }
    Ok(())
}

/// The stream that keeps the messages of `routing`: `order.created`'s is `order.created`,
/// `order.state`'s is `order.state` (for the exchange `order`).
pub fn stream_name(settings: &AmqpSettings, routing: Routing) -> String {
    let suffix = routing.key().rsplit('.').next().unwrap_or_default();
    format!("{}.{suffix}", settings.exchange)
}

/// What a consumer service reads and where it parks: its own durable queue (classic or
/// quorum), or the shared stream, and its dead-letter queue (`<service>.DLQ`, bound to the
/// dead-letter exchange with the service's name as routing key). Returns the queue to consume.
pub(crate) async fn declare_queue(
    channel: &Channel,
    settings: &AmqpSettings,
    service: &str,
    routing: Routing,
) -> lapin::Result<String> {
    declare_exchanges(channel, settings).await?;
    let queue = match settings.queue_type {
        QueueType::Stream => stream_name(settings, routing),
        QueueType::Classic | QueueType::Quorum => service.to_owned(),
    };
    declare_bound(channel, settings, &queue, routing).await?;
    declare_dead_letters(channel, settings, service).await?;
    Ok(queue)
}

/// `queue` of the settings' type, durable, bound to the exchange with `routing`'s key.
async fn declare_bound(
    channel: &Channel,
    settings: &AmqpSettings,
    queue: &str,
    routing: Routing,
) -> lapin::Result<()> {
    let mut arguments = FieldTable::default();
    arguments.insert("x-queue-type".into(), text(settings.queue_type.argument()));
    if settings.queue_type != QueueType::Stream {
        // What RabbitMQ itself gives up on (a message rejected, or one over a length limit an
        // operator sets) lands beside what the service parks. Streams dead-letter nothing.
        arguments.insert(
            "x-dead-letter-exchange".into(),
            text(&settings.dead_letter_exchange),
        );
        arguments.insert("x-dead-letter-routing-key".into(), text(queue));
    }
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue.into(), durable, arguments)
        .await?;
    channel
        .queue_bind(
            queue.into(),
            settings.exchange.as_str().into(),
            routing.key().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// `<service>.DLQ`, bound to the dead-letter exchange with the service's name as routing key.
async fn declare_dead_letters(
    channel: &Channel,
    settings: &AmqpSettings,
    service: &str,
) -> lapin::Result<()> {
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    let dead_letters = dead_letter_queue(service);
    let mut arguments = FieldTable::default();
    let kind = match settings.queue_type {
        QueueType::Stream => QueueType::Classic,
        other => other,
    };
    arguments.insert("x-queue-type".into(), text(kind.argument()));
    channel
        .queue_declare(dead_letters.as_str().into(), durable, arguments)
        .await?;
    channel
        .queue_bind(
            dead_letters.as_str().into(),
            settings.dead_letter_exchange.as_str().into(),
            service.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// Where `service` parks what it cannot apply.
pub fn dead_letter_queue(service: &str) -> String {
    format!("{service}.DLQ")
}

pub(crate) fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value))
}
