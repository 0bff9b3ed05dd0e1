//! The RabbitMQ recipe: order publishes through the outbox to the exchange `order`; shipping,
//! invoicing and bonus each consume their own queue (or, with streams, the shared stream).
//! RabbitMQ comes from `AMQP_URL` or is a node of the test binary's own; without RabbitMQ
//! installed these tests say so and pass, unless `ORDERFLOW_REQUIRE_RABBITMQ` is set (CI).

mod late_joiner;
mod restart;

use futures::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use orderflow_amqp::{AmqpSettings, QueueType};
use orderflow_testkit::wait_until;

use crate::bonus::place_concurrently;
use crate::helpers::*;

/// RabbitMQ's URL, or `None` when it is not installed (the test then passes, saying why).
pub async fn rabbitmq() -> Option<String> {
    orderflow_testkit::rabbit::amqp_url().await
}

/// A channel of the test's own, to look at the exchange as an outsider would.
async fn channel(settings: &AmqpSettings) -> (Connection, Channel) {
    let connection = Connection::connect(&settings.url, ConnectionProperties::default())
        .await
        .expect("RabbitMQ answers");
    let channel = connection.create_channel().await.expect("a channel");
    (connection, channel)
}

/// Waits until `consumer` consumes its queue (so that it exists and is bound).
pub async fn wait_until_consuming(system: &TestSystem, consumer: &RunningConsumer) {
    wait_until("the consumer to consume its queue", DEADLINE, || async {
        let (_, health) = system.get_text(format!("{}health", consumer.url)).await;
        health.contains(r#""consuming":true"#).then_some(())
    })
    .await;
}

/// A header's text.
fn header(properties: &BasicProperties, name: &str) -> Option<String> {
    match properties.headers().as_ref()?.inner().get(name)? {
        AMQPValue::LongString(value) => {
            Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
        }
        AMQPValue::ShortString(value) => Some(value.as_str().to_owned()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worked_example_travels_over_rabbitmq_as_the_contracts_json_with_its_headers() {
    let Some(url) = rabbitmq().await else { return };
    // Arrange: an outsider's queue on the exchange, beside shipping's and invoicing's.
    let system = TestSystem::new();
    let settings = system.amqp(&url, QueueType::Classic);
    let order = system.start_order_amqp(settings.clone()).await;
    let shipping = system
        .start_shipping_via(orderflow_consumer::Transport::Amqp(settings.clone()))
        .await;
    let invoicing = system
        .start_invoicing_via(orderflow_consumer::Transport::Amqp(settings.clone()))
        .await;
    // Queues exist once their consumers run: a message published before is routed nowhere.
    wait_until_consuming(&system, &shipping).await;
    wait_until_consuming(&system, &invoicing).await;
    let (_connection, channel) = channel(&settings).await;
    let outsider = format!("{}-outsider", settings.exchange);
    channel
        .queue_declare(
            outsider.as_str().into(),
            QueueDeclareOptions {
                exclusive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    channel
        .queue_bind(
            outsider.as_str().into(),
            settings.exchange.as_str().into(),
            "order.created".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut messages = channel
        .basic_consume(
            outsider.as_str().into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();

    // Act
    let response = system.post_form(&order, WORKED_EXAMPLE_FORM).await;
    assert_eq!(response.status(), 200);

    // Assert: the message is the order's document, persistent, with the Kafka record's headers.
    let message = tokio::time::timeout(DEADLINE, messages.next())
        .await
        .expect("a message within the deadline")
        .expect("the consumer runs")
        .expect("a delivery");
    let (_, document) = system.get_text(format!("{}order/1", order.url)).await;
    assert_eq!(String::from_utf8(message.data.clone()).unwrap(), document);
    let properties = &message.properties;
    assert_eq!(properties.delivery_mode(), &Some(2), "persistent");
    assert_eq!(
        properties.content_type().as_ref().map(|c| c.as_str()),
        Some("application/json")
    );
    assert_eq!(
        header(properties, "orderflow-key").as_deref(),
        Some("1created")
    );
    assert_eq!(
        header(properties, "ce_type").as_deref(),
        Some("order.created")
    );
    assert_eq!(header(properties, "ce_source").as_deref(), Some("/order"));
    assert!(header(properties, "__TypeId__").is_none());

    // Assert: shipping and invoicing hold exactly what the order should give them.
    wait_for_rows(&shipping.state.db, "shipment", 1).await;
    wait_for_rows(&invoicing.state.db, "invoice", 1).await;
    let report = check_shipping_and_invoicing(&order, &shipping, &invoicing).await;
    assert!(report.consistent(), "{report:?}");
    let (_, health) = system.get_text(format!("{}health", shipping.url)).await;
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["transport"], "amqp", "{health}");
    assert_eq!(health["queue"], system.iso.group("shipping"), "{health}");
    assert_eq!(health["keepsHistory"], false, "{health}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_shipping_instances_on_one_queue_ship_every_order_exactly_once() {
    let Some(url) = rabbitmq().await else { return };
    let system = TestSystem::new();
    let settings = system.amqp(&url, QueueType::Quorum);
    let order = system.start_order_amqp(settings.clone()).await;
    let transport = orderflow_consumer::Transport::Amqp(settings);
    let first = system.start_shipping_via(transport.clone()).await;
    let second = system.start_shipping_via(transport).await;
    for instance in [&first, &second] {
        wait_until_consuming(&system, instance).await;
    }

    place_concurrently(&system, &order, 0..200, 8).await;

    wait_for_rows(&first.state.db, "shipment", 200).await;
    let (a, b) = (
        first.state.delivery().applied(),
        second.state.delivery().applied(),
    );
    assert_eq!(a + b, 200, "each order shipped once ({a} + {b})");
    assert!(a > 0 && b > 0, "both instances got work ({a}, {b})");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_message_is_dead_lettered_with_its_reason_and_the_queue_goes_on() {
    let Some(url) = rabbitmq().await else { return };
    let system = TestSystem::new();
    let settings = system.amqp(&url, QueueType::Classic);
    let shipping = system
        .start_shipping_via(orderflow_consumer::Transport::Amqp(settings.clone()))
        .await;
    wait_until_consuming(&system, &shipping).await;
    let (_connection, channel) = channel(&settings).await;
    let publish = |body: Vec<u8>| {
        let (channel, exchange) = (channel.clone(), settings.exchange.clone());
        async move {
            channel
                .basic_publish(
                    exchange.as_str().into(),
                    "order.created".into(),
                    BasicPublishOptions::default(),
                    &body,
                    BasicProperties::default().with_delivery_mode(2),
                )
                .await
                .unwrap();
        }
    };
    let good = |id: i64| {
        include_str!("../../../../events/fixtures/order-record-original-producer.json")
            .replace("\"id\":1,", &format!("\"id\":{id},"))
            .into_bytes()
    };

    publish(good(1)).await;
    publish(b"this is not an order".to_vec()).await;
    publish(good(2)).await;

    wait_for_rows(&shipping.state.db, "shipment", 2).await;
    assert_eq!(shipping.state.delivery().parked(), 1);
    let (_, page) = system.get_text(format!("{}parked", shipping.url)).await;
    assert!(page.contains("this is not an order"), "{page}");
    // The dead-letter queue has the message, with why and from where.
    let dead_letters = orderflow_amqp::dead_letter_queue(&system.iso.group("shipping"));
    let mut parked = channel
        .basic_consume(
            dead_letters.as_str().into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let message = tokio::time::timeout(DEADLINE, parked.next())
        .await
        .expect("a dead letter")
        .unwrap()
        .unwrap();
    assert_eq!(message.data, b"this is not an order");
    let error = header(&message.properties, "orderflow.dlt.error").unwrap_or_default();
    assert!(error.contains("not an order record"), "{error}");
    assert_eq!(
        header(&message.properties, "orderflow.dlt.original-queue").as_deref(),
        Some(system.iso.group("shipping").as_str())
    );
}
