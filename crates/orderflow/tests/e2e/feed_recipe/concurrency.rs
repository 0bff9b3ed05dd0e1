use std::collections::BTreeSet;

use futures::future::join_all;
use sqlx::Row;

use crate::helpers::*;

/// Many writers commit concurrently (so ids are taken in one order and committed in another)
/// while a poller reads every 50 ms: every order must arrive exactly once, none skipped.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_and_a_reader_every_order_arrives_exactly_once() {
    // Arrange
    let system = TestSystem::new();
    let order = system.start_order_feed(0, Some(20)).await;
    let shipping = system.start_shipping_via(feed(&order.feed_url())).await;

    // Act: 8 writers, 30 orders each.
    let writers = (0..8).map(|writer| {
        let (system, order) = (&system, &order);
        async move {
            let mut ids = Vec::new();
            for n in 0..30 {
                ids.push(system.place_json_order(order, writer * 100 + n + 1).await);
            }
            ids
        }
    });
    let placed: BTreeSet<i64> = join_all(writers).await.into_iter().flatten().collect();
    assert_eq!(placed.len(), 240);

    // Assert
    wait_for_rows(&shipping.state.db, "shipment", 240).await;
    let shipped: BTreeSet<i64> = sqlx::query("SELECT id FROM shipment")
        .fetch_all(shipping.state.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| row.get("id"))
        .collect();
    assert_eq!(shipped, placed);
    assert_eq!(shipping.state.delivery().duplicates(), 0);
    assert_eq!(shipping.state.delivery().parked(), 0);
}

/// Two instances of one feed consumer poll the same feed: the stored position is moved with
/// compare-and-set, so each entry is applied by exactly one of them.
#[tokio::test(flavor = "multi_thread")]
async fn two_feed_pollers_of_one_service_apply_each_order_once() {
    // Arrange
    let system = TestSystem::new();
    let order = system.start_order_feed(0, Some(10)).await;
    let first = system.start_shipping_via(feed(&order.feed_url())).await;
    let second = system.start_shipping_via(feed(&order.feed_url())).await;

    // Act
    let writers = (0..4).map(|writer| {
        let (system, order) = (&system, &order);
        async move {
            for n in 0..15 {
                system.place_json_order(order, writer * 100 + n + 1).await;
            }
        }
    });
    join_all(writers).await;

    // Assert
    wait_for_rows(&first.state.db, "shipment", 60).await;
    let (a, b) = (first.state.delivery(), second.state.delivery());
    assert_eq!(
        a.applied() + b.applied(),
        60,
        "each entry applied once: {} + {}",
        a.applied(),
        b.applied()
    );
    assert_eq!(a.duplicates() + b.duplicates(), 0);
    assert_eq!(count(&first.state.db, "shipment_line").await, 120);
}
