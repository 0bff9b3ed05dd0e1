use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn bonus_joins_late_on_kafka_replays_the_history_and_takes_deleted_orders_back() {
    // Arrange: 200 orders placed, 10 of them deleted, while bonus does not exist yet.
    let system = TestSystem::new();
    let order = system.start_order().await;
    let shipping = system.start_shipping().await;
    let ids = place(&system, &order, 0..200).await;
    delete(&system, &order, &ids[..10]).await;
    wait_for_rows(&shipping.state.db, "shipment", 200).await;

    // Act: bonus starts, reads order-state from the beginning.
    let bonus = system.start_bonus().await;

    // Assert: exactly the 190 live orders, each counted once, points per customer right.
    wait_until_bonus_agrees(&system, &order, &bonus, 190).await;
    let report = check_bonus(&order, &bonus).await;
    assert!(report.consistent(), "{report:?}");
    assert_eq!(report.service("bonus").unwrap().held, 190);

    // Deleted while bonus runs: the points go.
    delete(&system, &order, &ids[10..15]).await;
    wait_until_bonus_agrees(&system, &order, &bonus, 185).await;
    // Shipping keeps its copies (the contract); nothing in order changed for bonus to exist.
    assert_eq!(count(&shipping.state.db, "shipment").await, 200);
    assert_eq!(shipping.state.db.row_count("shipment").await.unwrap(), 200);

    // A bonus from an empty database agrees.
    let fresh = system
        .start_bonus_via(
            orderflow_consumer::Transport::Kafka(
                system.kafka().with_topic(system.kafka().state_topic()),
            ),
            "bonus_fresh",
        )
        .await;
    wait_until_bonus_agrees(&system, &order, &fresh, 185).await;
    assert!(check_bonus(&order, &fresh).await.consistent());
}

#[tokio::test(flavor = "multi_thread")]
async fn bonus_joins_late_on_the_feed_walks_back_through_the_archive() {
    // Arrange: the feed recipe with small pages, so that 200 orders make many archive pages.
    let system = TestSystem::new();
    let order = system.start_order_feed(0, Some(20)).await;
    let ids = place(&system, &order, 0..200).await;
    // Deleted orders leave the feed (contract section 5): a late reader never counts them.
    delete(&system, &order, &ids[..10]).await;

    // Act: bonus starts at position 0.
    let bonus = system
        .start_bonus_via(feed(&order.feed_url()), "bonus")
        .await;

    // Assert
    wait_until_bonus_agrees(&system, &order, &bonus, 190).await;
    let report = check_bonus(&order, &bonus).await;
    assert!(report.consistent(), "{report:?}");
}
