use orderflow_kafka::KafkaSettings;
use orderflow_testkit::{KafkaBroker, free_port, wait_until};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn orders_placed_while_the_broker_is_unreachable_are_delivered_once_it_is_back() {
    // Arrange: order points at a broker that is not there (yet).
    let system = TestSystem::new();
    let port = free_port();
    let kafka = KafkaSettings::new(format!("127.0.0.1:{port}")).with_topic(system.iso.topic());
    let order = system.start_order_with(kafka.clone()).await;

    // Act: orders are taken while Kafka is away.
    for _ in 0..3 {
        let response = system.post_form(&order, WORKED_EXAMPLE_FORM).await;
        assert_eq!(
            response.status(),
            200,
            "an order is accepted while Kafka is down"
        );
    }

    // Assert: stored, with their events waiting in the outbox.
    assert_eq!(count(&order.db, "orders").await, 3);
    let health: serde_json::Value = system
        .http
        .get(format!("{}health", order.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["pendingEvents"], 3, "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
    // The feed does not wait for the broker: its readers see the orders now.
    wait_until("the feed to show the orders", DEADLINE, || async {
        let (status, atom) = system.get_text(order.feed_url()).await;
        (status == 200 && atom.matches("<entry>").count() == 3).then_some(())
    })
    .await;

    // Act: the broker comes (back), and consumers with it.
    let broker = KafkaBroker::start(&system.env, ORDERFLOW_BROKER, port).await;
    let shipping = system.start_shipping_with(kafka.clone()).await;
    let invoicing = system.start_invoicing_with(kafka).await;

    // Assert: every event arrives, once.
    wait_for_rows(&shipping.state.db, "shipment", 3).await;
    wait_for_rows(&invoicing.state.db, "invoice", 3).await;
    wait_until("the outbox to be empty", DEADLINE, || async {
        let health: serde_json::Value = system
            .http
            .get(format!("{}health", order.url))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (health["pendingEvents"] == 0).then_some(())
    })
    .await;
    // The consumers leave their group while its broker is still there to let them.
    drop((shipping, invoicing));
    drop(broker);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_stops_when_asked_even_after_its_broker_died() {
    // Arrange: shipping in its group, with partitions, on a broker that then dies.
    let system = TestSystem::new();
    let port = free_port();
    let mut broker = KafkaBroker::start(&system.env, ORDERFLOW_BROKER, port).await;
    let kafka = KafkaSettings::new(format!("127.0.0.1:{port}")).with_topic(system.iso.topic());
    let order = system.start_order_with(kafka.clone()).await;
    let shipping = system.start_shipping_with(kafka).await;
    let placed = system.post_form(&order, WORKED_EXAMPLE_FORM).await;
    assert_eq!(placed.status(), 200);
    wait_for_rows(&shipping.state.db, "shipment", 1).await;
    broker.kill();

    // Act: librdkafka's close waits for a group coordinator that is gone (once for more than ten
    // minutes); shipping stops all the same, without it.
    let stopped = tokio::time::timeout(DEADLINE, shipping.stop()).await;

    // Assert
    assert!(
        stopped.is_ok(),
        "shipping did not stop within {DEADLINE:?} after its broker died"
    );
}
