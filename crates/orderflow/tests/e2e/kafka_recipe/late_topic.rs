use orderflow_testkit::wait_until;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_started_before_the_topic_exists_catches_up_once_it_exists() {
    // Arrange: shipping subscribes to a topic nobody created.
    let system = TestSystem::new();
    let shipping = system.start_shipping().await;
    wait_until(
        "shipping to notice the topic is missing",
        DEADLINE,
        || async {
            shipping
                .state
                .kafka_status()
                .expect("consumes from Kafka")
                .waiting_for_topic()
                .then_some(())
        },
    )
    .await;
    assert!(
        shipping.is_running(),
        "a missing topic does not stop the consumer"
    );

    // Act: order starts (and creates the topic), an order is placed.
    let order = system.start_order().await;
    let response = system.post_form(&order, WORKED_EXAMPLE_FORM).await;
    assert_eq!(response.status(), 200);

    // Assert
    wait_for_rows(&shipping.state.db, "shipment", 1).await;
    assert!(
        !shipping
            .state
            .kafka_status()
            .expect("consumes from Kafka")
            .waiting_for_topic()
    );
    shipping.stop().await;
}
