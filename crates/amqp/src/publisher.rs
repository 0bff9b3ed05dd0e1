//! The outbox relay's sink on RabbitMQ: persistent messages, publisher confirms, and an event
//! acknowledged only once every message of it was confirmed.

use async_trait::async_trait;
use futures::future::join_all;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, PublisherConfirm};
use orderflow_events::OrderPlaced;
use orderflow_events::wire::{JSON_CONTENT_TYPE, RecordEncoding};
use orderflow_transport::{BoxError, OutgoingEvent, PublishError, Publisher};
use tokio::sync::Mutex;

use crate::request::within;
use crate::topology::{declare_exchanges, declare_streams, text};
use crate::{AmqpSettings, EVENTS_ROUTING_KEY, KEY_HEADER, QueueType, STATES_ROUTING_KEY};

/// Publishes stored events to the `order` exchange.
pub struct AmqpPublisher {
    settings: AmqpSettings,
    /// The connection and its confirming channel; `None` until the first `prepare`, and again
    /// after a failure, so that the next `prepare` connects afresh.
    link: Mutex<Option<Link>>,
}

struct Link {
    /// Kept open for as long as the channel is used.
    _connection: Connection,
    channel: Channel,
}

impl std::fmt::Debug for AmqpPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpPublisher")
            .field("url", &self.settings.redacted_url())
            .field("exchange", &self.settings.exchange)
            .finish_non_exhaustive()
    }
}

impl AmqpPublisher {
    /// Does not connect: RabbitMQ may be down when order starts.
    pub fn new(settings: AmqpSettings) -> Self {
        AmqpPublisher {
            settings,
            link: Mutex::new(None),
        }
    }

    async fn connect(&self) -> lapin::Result<Link> {
        let connection = Connection::connect(
            self.settings.url.trim(),
            ConnectionProperties::default().with_connection_name("orderflow-order".into()),
        )
        .await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        declare_exchanges(&channel, &self.settings).await?;
        if self.settings.queue_type == QueueType::Stream {
            // The streams exist before the first order: they hold the whole history.
            declare_streams(&channel, &self.settings).await?;
        }
        tracing::info!(
            url = %self.settings.redacted_url(),
            exchange = %self.settings.exchange,
            "Connected to RabbitMQ; publishing with confirms."
        );
        Ok(Link {
            _connection: connection,
            channel,
        })
    }

    /// One message: persistent, the contract's JSON, CloudEvents headers, the record's key.
    async fn send(
        &self,
        channel: &Channel,
        event: &OutgoingEvent,
        routing_key: &str,
        key: &str,
        body: &[u8],
    ) -> Result<PublisherConfirm, BoxError> {
        let mut headers = FieldTable::default();
        for (name, value) in [
            ("ce_specversion", "1.0"),
            ("ce_id", &event.id.to_string()),
            ("ce_source", "/order"),
            ("ce_type", &event.event_type),
            (KEY_HEADER, key),
        ] {
            headers.insert(name.into(), text(value));
        }
        if let Some(traceparent) = &event.traceparent {
            headers.insert(
                orderflow_telemetry::TRACEPARENT.into(),
                AMQPValue::LongString(LongString::from(traceparent.as_str())),
            );
        }
        let properties = BasicProperties::default()
            .with_delivery_mode(2) // persistent: written to disk before it is confirmed
            .with_content_type(JSON_CONTENT_TYPE.into())
            .with_message_id(event.id.to_string().into())
            .with_timestamp(u64::try_from(event.created_ms / 1000).unwrap_or_default())
            .with_headers(headers);
        within(
            self.settings.request_timeout,
            "publishing",
            channel.basic_publish(
                self.settings.exchange.as_str().into(),
                routing_key.into(),
                BasicPublishOptions::default(),
                body,
                properties,
            ),
        )
        .await
    }
}

/// The stored order as the contract's JSON record; a payload that is not an order goes as it
/// was stored.
fn contract_json(stored: &str) -> Vec<u8> {
    match OrderPlaced::from_json(stored.as_bytes()) {
        Ok(order) => RecordEncoding::JSON
            .encode(&order)
            .unwrap_or_else(|_| stored.as_bytes().to_vec()),
        Err(_) => stored.as_bytes().to_vec(),
    }
}

#[async_trait]
impl Publisher for AmqpPublisher {
    async fn prepare(&self) -> Result<(), PublishError> {
        let mut link = self.link.lock().await;
        let usable = link
            .as_ref()
            .is_some_and(|link| link.channel.status().connected());
        if !usable {
            *link = None;
            let connected = within(self.settings.request_timeout, "connecting", self.connect())
                .await
                .map_err(PublishError::Transient)?;
            *link = Some(connected);
        }
        Ok(())
    }

    async fn publish(&self, events: &[OutgoingEvent]) -> Vec<Result<(), PublishError>> {
        // One channel, held for the whole batch: messages leave in the order of the events.
        let mut link = self.link.lock().await;
        let Some(channel) = link.as_ref().map(|link| link.channel.clone()) else {
            return events
                .iter()
                .map(|_| Err(transient("not connected to RabbitMQ")))
                .collect();
        };
        let mut confirms = Vec::with_capacity(events.len());
        for event in events {
            let mut sent = Vec::with_capacity(2);
            if let Some(payload) = &event.payload {
                let body = contract_json(payload);
                sent.push(
                    self.send(&channel, event, EVENTS_ROUTING_KEY, &event.key, &body)
                        .await,
                );
            }
            if let Some(state) = &event.state {
                // An order's deletion is a message without a body, like a Kafka tombstone.
                let body = state
                    .value
                    .as_deref()
                    .map(contract_json)
                    .unwrap_or_default();
                sent.push(
                    self.send(&channel, event, STATES_ROUTING_KEY, &state.key, &body)
                        .await,
                );
            }
            confirms.push(sent);
        }
        let limit = self.settings.request_timeout;
        let outcomes = join_all(confirms.into_iter().map(|sent| async move {
            for confirm in sent {
                let confirmation = match confirm {
                    Ok(confirm) => within(limit, "a publisher confirm", confirm).await,
                    Err(error) => Err(error),
                };
                match confirmation {
                    Ok(confirmation) if confirmation.is_nack() => return Outcome::Refused,
                    Ok(_) => {}
                    Err(error) => return Outcome::Broken(error),
                }
            }
            Outcome::Confirmed
        }))
        .await;
        if outcomes.iter().any(|o| matches!(o, Outcome::Broken(_))) {
            // The channel is not to be trusted any more: the next prepare connects again.
            *link = None;
        }
        outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Outcome::Confirmed => Ok(()),
                Outcome::Refused => Err(transient("RabbitMQ refused the message (nack)")),
                Outcome::Broken(error) => Err(PublishError::Transient(error)),
            })
            .collect()
    }
}

/// What became of one event's messages.
enum Outcome {
    Confirmed,
    /// RabbitMQ answered with a nack (it could not take it: a full disk, a queue limit).
    Refused,
    /// The channel failed or a confirm did not come in time.
    Broken(orderflow_transport::BoxError),
}

fn transient(why: &'static str) -> PublishError {
    PublishError::Transient(why.into())
}
