//! Two order instances on one PostgreSQL database, two outbox relays: each event is published
//! once, and an order's events keep their order (its state before its tombstone on
//! `order-state`), while both relays publish under load; and each gets its feed position once.

use orderflow_testkit::{kafka, wait_until};

use crate::bonus::{check_bonus, wait_until_bonus_agrees};
use crate::helpers::*;

const ORDERS: u64 = 400;
const CLIENTS: u64 = 8;

#[tokio::test(flavor = "multi_thread")]
async fn two_order_instances_publish_every_event_once_and_each_orders_events_in_order() {
    let system = TestSystem::new();
    if !system.env.is_postgres() {
        eprintln!(
            "skipped: two order instances share one database on PostgreSQL only (SQLite: one order per file)"
        );
        return;
    }
    // Arrange: two instances of order on one database, as behind a load balancer.
    let orders = [system.start_order().await, system.start_order().await];
    let shipping = system.start_shipping().await;
    let bonus = system.start_bonus().await;

    // Act: clients place orders on one instance and delete every third one at once on the
    // other, so that an order's state and its tombstone wait in the outbox together and the
    // two relays race for them.
    let deleted: Vec<Vec<i64>> = futures::future::join_all((0..CLIENTS).map(|client| {
        let (system, orders) = (&system, &orders);
        async move {
            let mut deleted = Vec::new();
            for n in (client..ORDERS).step_by(CLIENTS as usize) {
                let placing = &orders[(n % 2) as usize];
                let placed = orderflow_tools::client::place_order(&system.http, &placing.url, n)
                    .await
                    .expect("order takes the order");
                if n % 3 == 0 {
                    let deleting = &orders[((n + 1) % 2) as usize];
                    crate::bonus::delete(system, deleting, &[placed.id]).await;
                    deleted.push(placed.id);
                }
            }
            deleted
        }
    }))
    .await;
    let deleted = deleted.concat().len() as i64;

    // Assert: shipping has every order once, bonus exactly the live ones: a tombstone that
    // overtook its order's state would leave that order's points counted.
    wait_for_rows(&shipping.state.db, "shipment", ORDERS as i64).await;
    let live = ORDERS as i64 - deleted;
    wait_until_bonus_agrees(&system, &orders[0], &bonus, live).await;
    let report = check_bonus(&orders[0], &bonus).await;
    assert!(report.consistent(), "{report:?}");
    assert_eq!(
        shipping.state.delivery().duplicates(),
        0,
        "an order record came twice"
    );
    assert_eq!(
        bonus.state.delivery().duplicates(),
        0,
        "a state record came twice"
    );
    let records = kafka::record_count(&system.env.kafka_brokers, &system.iso.topic()).await;
    assert_eq!(records, ORDERS as i64, "records on the order topic");
    wait_until("both outboxes published", DEADLINE, || async {
        let pending = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM order_event WHERE published_ms IS NULL",
        )
        .fetch_one(orders[0].db.pool())
        .await
        .unwrap();
        (pending == 0).then_some(())
    })
    .await;
    // Both relays gave the events they published feed positions: each one, without a gap.
    let (events, positions, first, last) = sqlx::query_as::<_, (i64, i64, i64, i64)>(
        "SELECT COUNT(*), COUNT(DISTINCT position), MIN(position), MAX(position) FROM order_event",
    )
    .fetch_one(orders[0].db.pool())
    .await
    .unwrap();
    assert_eq!(
        (positions, first, last),
        (events, 1, events),
        "feed positions of {events} events"
    );
}
