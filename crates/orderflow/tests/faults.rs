//! The fault-injection suite: the system runs as processes (order, shipping, invoicing, and a
//! broker of the suite's own) under a flood of orders, the same on the embedded broker as on
//! Apache Kafka, while faults are injected. After each scenario `orderflow check` must find
//! everything consistent and every order the order service acknowledged must have arrived;
//! after each fault that moves partitions, the consumer group must converge (every partition
//! owned by exactly one member). At the end it prints what it did and how long each group took
//! to converge. Each scenario is a test of its own; they take turns (each floods the machine,
//! and one kills its broker), each with a broker of its own.

// The rig's helpers are `pub` for the suites; a test binary exports nothing.
#![allow(unreachable_pub)]

mod rig;

use std::io::Write;
use std::time::Duration;

use orderflow_testkit::{KafkaBroker, TestEnv, free_port, kafka, wait_until};
use rig::{DEADLINE, ORDERFLOW_BROKER, Rig, Totals, p50_max, under_load};
use tokio::sync::{Mutex, MutexGuard};
use tokio::time::Instant;

/// What `orderflow up` waits before it restarts a service that died.
const RESTART_DELAY_MS: u64 = 3000;

/// One scenario at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// A scenario's surroundings: its turn, the test environment, a broker of its own, its totals.
struct Scenario {
    env: TestEnv,
    broker: KafkaBroker,
    brokers: String,
    totals: Totals,
    _turn: MutexGuard<'static, ()>,
}

impl Scenario {
    async fn start() -> Self {
        let turn = ONE_AT_A_TIME.lock().await;
        let env = TestEnv::from_env(ORDERFLOW_BROKER);
        let broker = KafkaBroker::start(&env, ORDERFLOW_BROKER, free_port()).await;
        let brokers = broker.brokers();
        Scenario {
            env,
            broker,
            brokers,
            totals: Totals::default(),
            _turn: turn,
        }
    }

    /// Says what the scenario did and asserts that nothing was lost or applied twice.
    fn finish(self, name: &str) {
        let totals = self.totals;
        let times: Vec<Duration> = totals.convergence.iter().map(|(_, t)| *t).collect();
        let convergence = if times.is_empty() {
            String::new()
        } else {
            let (p50, max) = p50_max(&times);
            format!(
                "; groups converged after {} faults, p50 {p50:.1} s, max {max:.1} s",
                times.len()
            )
        };
        let _ = writeln!(
            std::io::stderr(),
            "fault scenario {name} ({}): {} orders placed, {} faults injected, {} orders lost, {} duplicates{convergence}",
            self.env.broker_name(),
            totals.orders,
            totals.faults,
            totals.lost,
            totals.duplicates,
        );
        assert_eq!((totals.lost, totals.duplicates), (0, 0));
    }
}

/// `kill -9` of order while orders are being placed.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_order_service_loses_no_acknowledged_order() {
    let mut scenario = Scenario::start().await;
    let mut rig = Rig::start(&scenario.env, &scenario.brokers, 1).await;
    let flood = rig.flood();
    under_load(1000).await;
    rig.order.kill9().await;
    under_load(300).await;
    let database = rig.database("orders");
    rig.order.start(&database).await;
    under_load(1000).await;
    let acknowledged = flood.stop().await;
    rig.verify("kill -9 order", &acknowledged, &mut scenario.totals)
        .await;
    rig.stop().await;
    scenario.totals.faults += 1;
    scenario.finish("kill -9 order");
}

/// `kill -9` of consumer members in the middle of their work: one of two shipping instances
/// (the other takes its partitions), then invoicing alone (restarted as `up` restarts it).
#[tokio::test(flavor = "multi_thread")]
async fn killed_consumer_members_lose_nothing_and_apply_nothing_twice() {
    let mut scenario = Scenario::start().await;
    let mut rig = Rig::start(&scenario.env, &scenario.brokers, 2).await;
    let flood = rig.flood();
    under_load(1000).await;
    let fault = Instant::now();
    rig.shipping[0].kill9().await;
    let took = rig.converged("shipping", &rig.members(), fault).await;
    scenario
        .totals
        .converged("kill -9 of one of two shipping members", took);
    let fault = Instant::now();
    rig.invoicing.kill9().await;
    under_load(RESTART_DELAY_MS).await;
    let database = rig.database("invoicing");
    rig.invoicing.start(&database).await;
    let took = rig.converged("invoicing", &[&rig.invoicing], fault).await;
    scenario
        .totals
        .converged("kill -9 of invoicing, restarted after 3 s", took);
    let fault = Instant::now();
    let database = rig.database("shipping");
    rig.shipping[0].start(&database).await;
    let took = rig.converged("shipping", &rig.members(), fault).await;
    scenario
        .totals
        .converged("a killed shipping member back", took);
    under_load(500).await;
    let acknowledged = flood.stop().await;
    rig.verify("kill -9 consumer", &acknowledged, &mut scenario.totals)
        .await;
    rig.stop().await;
    scenario.totals.faults += 3;
    scenario.finish("kill -9 consumer");
}

/// A broker restart during the flood (kill -9, then start on the same data).
#[tokio::test(flavor = "multi_thread")]
async fn a_broker_restart_loses_nothing() {
    let mut scenario = Scenario::start().await;
    let rig = Rig::start(&scenario.env, &scenario.brokers, 2).await;
    let flood = rig.flood();
    under_load(1000).await;
    let fault = Instant::now();
    scenario.broker.kill();
    under_load(1000).await;
    scenario.broker.restart().await;
    let took = rig.converged("shipping", &rig.members(), fault).await;
    scenario
        .totals
        .converged("broker kill -9 and restart (shipping, 2 members)", took);
    let took = rig.converged("invoicing", &[&rig.invoicing], fault).await;
    scenario
        .totals
        .converged("broker kill -9 and restart (invoicing)", took);
    under_load(1000).await;
    let acknowledged = flood.stop().await;
    rig.verify("broker restart", &acknowledged, &mut scenario.totals)
        .await;
    rig.stop().await;
    scenario.totals.faults += 1;
    scenario.finish("broker restart");
}

/// A PostgreSQL restart during the flood (SQLite has no server to restart).
#[tokio::test(flavor = "multi_thread")]
async fn a_postgresql_restart_loses_nothing() {
    let mut scenario = Scenario::start().await;
    if !scenario.env.is_postgres() {
        let _ = writeln!(
            std::io::stderr(),
            "fault scenario PostgreSQL restart: skipped (SQLite files, no server)"
        );
        return;
    }
    let rig = Rig::start(&scenario.env, &scenario.brokers, 1).await;
    let flood = rig.flood();
    under_load(1000).await;
    let restarted = std::process::Command::new("bash")
        .args([
            "-c",
            "pg_ctlcluster $(pg_lsclusters --no-header | awk 'NR==1 {print $1\" \"$2}') restart",
        ])
        .status()
        .expect("pg_ctlcluster runs");
    assert!(restarted.success(), "PostgreSQL could not be restarted");
    under_load(1500).await;
    let acknowledged = flood.stop().await;
    rig.verify("PostgreSQL restart", &acknowledged, &mut scenario.totals)
        .await;
    rig.stop().await;
    scenario.totals.faults += 1;
    scenario.finish("PostgreSQL restart");
}

/// Consumer members added and removed during the flood (rebalances).
#[tokio::test(flavor = "multi_thread")]
async fn consumers_added_and_removed_lose_nothing() {
    let mut scenario = Scenario::start().await;
    let mut rig = Rig::start(&scenario.env, &scenario.brokers, 1).await;
    let flood = rig.flood();
    under_load(700).await;
    let fault = Instant::now();
    rig.add_shipping().await;
    let took = rig.converged("shipping", &rig.members(), fault).await;
    scenario
        .totals
        .converged("a second shipping member added", took);
    let fault = Instant::now();
    rig.shipping[0].stop().await;
    let took = rig.converged("shipping", &rig.members(), fault).await;
    scenario
        .totals
        .converged("the first shipping member stopped", took);
    let fault = Instant::now();
    rig.add_shipping().await;
    let took = rig.converged("shipping", &rig.members(), fault).await;
    scenario
        .totals
        .converged("a third shipping member added", took);
    under_load(700).await;
    let acknowledged = flood.stop().await;
    rig.verify("rebalances", &acknowledged, &mut scenario.totals)
        .await;
    rig.stop().await;
    scenario.totals.faults += 3;
    scenario.finish("rebalances");
}

/// Poison records among good ones, then the same records produced again.
#[tokio::test(flavor = "multi_thread")]
async fn poison_records_are_parked_and_repeated_records_change_nothing() {
    let mut scenario = Scenario::start().await;
    let rig = Rig::start(&scenario.env, &scenario.brokers, 1).await;
    let flood = rig.flood();
    under_load(500).await;
    for n in 0..5 {
        kafka::produce(
            &scenario.brokers,
            &rig.topic,
            None,
            Some("poison"),
            format!("not an order {n}").as_bytes(),
        )
        .await;
    }
    under_load(500).await;
    let acknowledged = flood.stop().await;
    rig.verify("poison records", &acknowledged, &mut scenario.totals)
        .await;
    // The same records again: the first 300 on the topic, on their partitions, with their keys.
    let records =
        kafka::read_all(&scenario.brokers, &rig.topic, 300, Duration::from_secs(20)).await;
    let again: Vec<kafka::RawRecord> = records
        .iter()
        .map(|record| {
            use rdkafka::Message;
            (
                record.partition(),
                record.key().map(<[u8]>::to_vec),
                record.payload().unwrap_or_default().to_vec(),
            )
        })
        .collect();
    let orders_again = again
        .iter()
        .filter(|(_, _, value)| orderflow_events::OrderPlaced::from_json(value).is_ok())
        .count() as u64;
    kafka::produce_all(&scenario.brokers, &rig.topic, &again).await;
    let shipping = &rig.shipping[0];
    wait_until("the repeated records to be read", DEADLINE, || async {
        let health = shipping.health().await?;
        (health["duplicatesIgnored"].as_u64()? >= orders_again).then_some(())
    })
    .await;
    assert!(
        shipping.health().await.unwrap()["parked"].as_u64().unwrap() >= 5,
        "the poison records were parked"
    );
    // Every acknowledged order still has exactly its copies.
    rig.verify("duplicates", &acknowledged, &mut Totals::default())
        .await;
    rig.stop().await;
    scenario.totals.faults += 5 + records.len();
    scenario.finish("poison and repeated records");
}
