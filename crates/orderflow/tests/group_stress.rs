//! A consumer group under stress: three shipping members, twenty membership changes in a row
//! (members stopped, killed with -9, and started again) while a flood of orders runs. After each
//! change the group must converge (every partition owned by exactly one running member); at the
//! end every acknowledged order has exactly one shipment and one invoice. Prints the
//! convergence times (p50 and max) and how many records were delivered again and absorbed.

// The rig's helpers are `pub` for the suites; a test binary exports nothing.
#![allow(unreachable_pub)]

mod rig;

use std::io::Write;
use std::time::Duration;

use orderflow_testkit::{KafkaBroker, TestEnv, free_port};
use rig::{ORDERFLOW_BROKER, Rig, Totals, p50_max, under_load};
use tokio::time::Instant;

const MEMBERS: usize = 3;
const REBALANCES: usize = 20;

#[tokio::test(flavor = "multi_thread")]
async fn a_group_converges_after_every_one_of_twenty_rebalances_under_a_flood() {
    let env = TestEnv::from_env(ORDERFLOW_BROKER);
    let broker = KafkaBroker::start(&env, ORDERFLOW_BROKER, free_port()).await;
    let mut rig = Rig::start(&env, &broker.brokers(), MEMBERS).await;
    let mut totals = Totals::default();
    let flood = rig.flood();
    under_load(1000).await;

    let database = rig.database("shipping");
    for change in 0..REBALANCES {
        // Every other change takes a member away (by SIGTERM or by kill -9, in turn); the next
        // brings it back. The member changes each round.
        let member = (change / 2) % MEMBERS;
        let fault = Instant::now();
        let what = if change % 2 == 1 {
            rig.shipping[member].start(&database).await;
            format!("shipping-{} started again", member + 1)
        } else if change % 4 == 0 {
            rig.shipping[member].stop().await;
            format!("shipping-{} stopped", member + 1)
        } else {
            rig.shipping[member].kill9().await;
            format!("shipping-{} killed with -9", member + 1)
        };
        let took = rig.converged("shipping", &rig.members(), fault).await;
        totals.converged(&format!("rebalance {}: {what}", change + 1), took);
    }
    under_load(500).await;
    let acknowledged = flood.stop().await;
    rig.verify("20 rebalances", &acknowledged, &mut totals)
        .await;

    let times: Vec<Duration> = totals.convergence.iter().map(|(_, t)| *t).collect();
    let (p50, max) = p50_max(&times);
    let redelivered: usize = rig.shipping.iter().map(|s| s.redeliveries()).sum();
    let _ = writeln!(
        std::io::stderr(),
        "group stress ({}): {MEMBERS} members, {REBALANCES} rebalances, {} orders, each applied once ({redelivered} records delivered again and ignored); convergence p50 {p50:.1} s, max {max:.1} s",
        env.broker_name(),
        acknowledged.len(),
    );
    assert_eq!((totals.lost, totals.duplicates), (0, 0));
    rig.stop().await;
}
