use std::collections::BTreeSet;

use futures::future::join_all;
use orderflow_testkit::wait_until;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn two_shipping_instances_split_the_partitions_and_every_order_is_shipped_exactly_once() {
    // Arrange: two shipping instances in one group.
    let system = TestSystem::new();
    let order = system.start_order().await;
    let first = system.start_shipping().await;
    let second = system.start_shipping().await;
    let invoicing = system.start_invoicing().await;
    let all: BTreeSet<i32> = (0..5).collect();
    let (mine, theirs) = wait_until(
        "the group to assign all 5 partitions to both",
        DEADLINE,
        || async {
            let (a, b) = (
                first
                    .state
                    .kafka_status()
                    .expect("consumes from Kafka")
                    .assigned_partitions(),
                second
                    .state
                    .kafka_status()
                    .expect("consumes from Kafka")
                    .assigned_partitions(),
            );
            let union: BTreeSet<i32> = a.iter().chain(&b).copied().collect();
            (!a.is_empty() && !b.is_empty() && union == all && a.len() + b.len() == 5)
                .then_some((a, b))
        },
    )
    .await;
    assert!(
        mine.iter().all(|p| !theirs.contains(p)),
        "{mine:?} and {theirs:?} overlap"
    );

    // Act: 200 orders, 10 at a time.
    for batch in 0..20 {
        join_all((0..10).map(|i| system.place_json_order(&order, batch * 10 + i + 1))).await;
    }

    // Assert
    wait_for_rows(&first.state.db, "shipment", 200).await;
    wait_for_rows(&invoicing.state.db, "invoice", 200).await;
    assert_eq!(count(&first.state.db, "shipment_line").await, 400);
    let (applied_first, applied_second) = (
        first.state.delivery().applied(),
        second.state.delivery().applied(),
    );
    assert_eq!(
        applied_first + applied_second,
        200,
        "each record handled by exactly one instance"
    );
    assert!(
        applied_first > 0 && applied_second > 0,
        "both instances did work: {applied_first} / {applied_second}"
    );
}
