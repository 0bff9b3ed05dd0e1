//! The consumers' own defence against a broker that strands a member: run against Tansu's own
//! group coordinator (`orderflow-broker --tansu-group-coordinator`), which answers a member that
//! restarts after `kill -9` with an empty assignment for good (docs/embedded-broker.md), a
//! restarted shipping instance finds records waiting on partitions nobody consumes, joins the
//! group again, and every order arrives. Whatever the test environment, the broker is the
//! embedded one here; the database is the environment's.

// The rig's helpers are `pub` for the suites; a test binary exports nothing.
#![allow(unreachable_pub)]

mod rig;

use std::io::Write;

use orderflow_testkit::{KafkaBroker, TestEnv, free_port};
use rig::{ORDERFLOW_BROKER, Rig, Totals, under_load};

async fn place(rig: &Rig, orders: std::ops::Range<u64>) -> Vec<i64> {
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for n in orders {
        let placed = orderflow_tools::client::place_order(&client, &rig.order.url(), n)
            .await
            .unwrap();
        ids.push(placed.id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_stranded_without_partitions_joins_again_and_its_orders_arrive() {
    let env = TestEnv::from_env(ORDERFLOW_BROKER);
    let broker = KafkaBroker::embedded_with(
        ORDERFLOW_BROKER,
        free_port(),
        &["--tansu-group-coordinator"],
    )
    .await;
    let mut rig = Rig::start(&env, &broker.brokers(), 1).await;
    let mut totals = Totals::default();
    let mut acknowledged = place(&rig, 0..20).await;
    rig.verify("before the fault", &acknowledged, &mut totals)
        .await;

    // The README's first experiment: kill -9, restarted after 3 s as `up` restarts it.
    rig.shipping[0].kill9().await;
    under_load(3000).await;
    let database = rig.database("shipping");
    rig.shipping[0].start(&database).await;
    acknowledged.extend(place(&rig, 20..40).await);

    rig.verify("after the restart", &acknowledged, &mut totals)
        .await;
    let log = rig.shipping[0].log_text();
    let stranded = log.contains("partitions assigned: []");
    let rejoined = log.contains("joining the group again");
    let _ = writeln!(
        std::io::stderr(),
        "stranded member: assigned nothing after its restart: {stranded}; joined again on its own: {rejoined}; {} orders delivered",
        acknowledged.len()
    );
    assert!(
        stranded && rejoined,
        "Tansu's coordinator stranded the member and the member recovered:\n{log}"
    );
    rig.stop().await;
}
