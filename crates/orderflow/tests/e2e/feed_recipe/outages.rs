use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_poller_restarted_half_way_resumes_from_its_position_without_duplicates() {
    // Arrange: shipping read 7 orders, then stops.
    let system = TestSystem::new();
    let order = system.start_order_feed(0, Some(5)).await;
    for count in 1..=7 {
        system.place_json_order(&order, count).await;
    }
    let shipping = system.start_shipping_via(feed(&order.feed_url())).await;
    wait_for_rows(&shipping.state.db, "shipment", 7).await;
    shipping.stop().await;

    // Act: 8 more orders while it is stopped, then it starts again.
    for count in 8..=15 {
        system.place_json_order(&order, count).await;
    }
    let restarted = system.start_shipping_via(feed(&order.feed_url())).await;

    // Assert: only the 8 new ones were applied by the new instance, none twice.
    wait_for_rows(&restarted.state.db, "shipment", 15).await;
    assert_eq!(restarted.state.delivery().applied(), 8);
    assert_eq!(restarted.state.delivery().duplicates(), 0);
    assert_eq!(count(&restarted.state.db, "shipment_line").await, 30);
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_placed_before_order_goes_down_arrive_once_it_is_back() {
    // Arrange: order on a fixed port takes 3 orders, then goes down.
    let system = TestSystem::new();
    let port = orderflow_testkit::free_port();
    let order = system.start_order_feed(port, None).await;
    for count in 1..=3 {
        system.place_json_order(&order, count).await;
    }
    let feed_url = order.feed_url();
    order.stop().await;

    // Act: shipping polls while order is down: the polls fail, nothing crashes.
    let shipping = system.start_shipping_via(feed(&feed_url)).await;
    orderflow_testkit::wait_until("failed polls", DEADLINE, || async {
        let status = shipping.state.feed_status().expect("reads the feed");
        (status.polls() >= 3 && !status.healthy()).then_some(())
    })
    .await;
    let health = system
        .http
        .get(format!("{}health", shipping.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 503, "health says the feed is down");
    assert!(shipping.is_running());
    assert_eq!(count(&shipping.state.db, "shipment").await, 0);

    // Act: order is back.
    let _order = system.start_order_feed(port, None).await;

    // Assert
    wait_for_rows(&shipping.state.db, "shipment", 3).await;
    assert!(
        shipping
            .state
            .feed_status()
            .expect("reads the feed")
            .healthy()
    );
}
