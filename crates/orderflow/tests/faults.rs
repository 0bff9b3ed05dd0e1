//! The fault-injection suite: the system runs as processes (order, shipping, invoicing, and a
//! broker of the suite's own) under a steady stream of orders while faults are injected; after
//! each scenario `orderflow check` must find everything consistent, and every order the order
//! service acknowledged must have arrived. At the end it prints what it did.

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use orderflow_testkit::{Isolation, KafkaBroker, TestEnv, free_port, kafka, wait_until};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

const ORDERFLOW: &str = env!("CARGO_BIN_EXE_orderflow");
const ORDERFLOW_BROKER: &str = env!("CARGO_BIN_EXE_orderflow-broker");
const DEADLINE: Duration = Duration::from_secs(90);

/// One service process that a scenario can kill and start again.
struct Service {
    name: String,
    args: Vec<String>,
    port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Service {
    fn new(name: &str, args: Vec<String>, port: u16, log_dir: &std::path::Path) -> Self {
        Service {
            name: name.to_owned(),
            args,
            port,
            child: None,
            log: log_dir.join(format!("{name}.log")),
        }
    }

    async fn start(&mut self, database_url: &str) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(ORDERFLOW)
            .args(&self.args)
            .args(["--port", &self.port.to_string()])
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("orderflow starts");
        self.child = Some(child);
        let (client, url) = (
            reqwest::Client::new(),
            format!("http://127.0.0.1:{}/health", self.port),
        );
        wait_until(
            &format!("{} to answer (log: {})", self.name, self.log.display()),
            DEADLINE,
            || async { client.get(&url).send().await.ok().map(drop) },
        )
        .await;
    }

    /// `kill -9`.
    async fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().unwrap();
            child.wait().await.unwrap();
        }
    }

    /// SIGTERM, as an operator stops an instance.
    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(Pid::from_raw(child.id().unwrap() as i32), Signal::SIGTERM).unwrap();
            tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .expect("stops")
                .unwrap();
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

/// order, shipping and invoicing of one scenario, with its own schemas (or files), topic, groups.
struct Rig {
    brokers: String,
    topic: String,
    order: Service,
    shipping: Vec<Service>,
    invoicing: Service,
    iso: Isolation,
    env: TestEnv,
    logs: PathBuf,
}

impl Rig {
    async fn start(env: &TestEnv, brokers: &str) -> Rig {
        let iso = Isolation::new();
        let logs = std::env::temp_dir().join(format!("orderflow-faults-{}", iso.tag));
        std::fs::create_dir_all(&logs).unwrap();
        let mut rig = Rig {
            brokers: brokers.to_owned(),
            topic: iso.topic(),
            order: Service::new("order", Vec::new(), free_port(), &logs),
            shipping: Vec::new(),
            invoicing: Service::new("invoicing", Vec::new(), free_port(), &logs),
            iso,
            env: env.clone(),
            logs,
        };
        rig.order.args = rig.service_args("order", "orders");
        rig.invoicing.args = rig.service_args("invoicing", "invoicing");
        rig.order
            .start(&rig.env.database(&rig.iso, "orders").0)
            .await;
        rig.add_shipping().await;
        rig.invoicing
            .start(&rig.env.database(&rig.iso, "invoicing").0)
            .await;
        rig
    }

    fn service_args(&self, service: &str, schema_of: &str) -> Vec<String> {
        let (_, schema) = self.env.database(&self.iso, schema_of);
        let mut args = vec![
            service.to_owned(),
            "--schema".to_owned(),
            schema,
            "--kafka-brokers".to_owned(),
            self.brokers.clone(),
            "--kafka-topic".to_owned(),
            self.topic.clone(),
        ];
        if service != "order" {
            args.extend([
                "--group".to_owned(),
                self.iso.group(service),
                "--session-timeout-secs".to_owned(),
                "6".to_owned(),
            ]);
        }
        args
    }

    async fn add_shipping(&mut self) {
        let name = format!("shipping-{}", self.shipping.len() + 1);
        let mut shipping = Service::new(
            &name,
            self.service_args("shipping", "shipping"),
            free_port(),
            &self.logs,
        );
        shipping
            .start(&self.env.database(&self.iso, "shipping").0)
            .await;
        self.shipping.push(shipping);
    }

    fn database(&self, schema_of: &str) -> String {
        self.env.database(&self.iso, schema_of).0
    }

    /// Orders placed by 2 clients (about 100 a second each) until `stop`; returns the ids the order service acknowledged.
    fn load(&self, stop: CancellationToken) -> tokio::task::JoinHandle<Vec<i64>> {
        let order_url = self.order.url();
        tokio::spawn(async move {
            let acknowledged = Arc::new(Mutex::new(Vec::new()));
            let counter = Arc::new(AtomicU64::new(0));
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let workers = (0..2).map(|_| {
                let (stop, acknowledged, counter, client, order_url) = (
                    stop.clone(),
                    Arc::clone(&acknowledged),
                    Arc::clone(&counter),
                    client.clone(),
                    order_url.clone(),
                );
                tokio::spawn(async move {
                    while !stop.is_cancelled() {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        match orderflow_tools::client::place_order(&client, &order_url, n).await {
                            Ok(placed) => {
                                acknowledged.lock().await.push(placed.id);
                                // A steady stream rather than a flood: the embedded broker
                                // answers group heartbeats late under saturation (see notes).
                                tokio::time::sleep(Duration::from_millis(10)).await;
                            }
                            // Down or restarting: not acknowledged, so it may be absent.
                            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                        }
                    }
                })
            });
            for worker in workers.collect::<Vec<_>>() {
                worker.await.unwrap();
            }
            Arc::try_unwrap(acknowledged).unwrap().into_inner()
        })
    }

    /// `orderflow check` must be satisfied, and every acknowledged order delivered.
    async fn verify(&self, scenario: &str, acknowledged: &[i64], totals: &mut Totals) {
        let endpoints = orderflow_tools::client::Endpoints {
            order: self.order.url(),
            shipping: self
                .shipping
                .iter()
                .find(|s| s.child.is_some())
                .expect("a shipping instance")
                .url(),
            invoicing: self.invoicing.url(),
            health: Vec::new(),
        };
        let settings = orderflow_tools::check::CheckSettings {
            endpoints,
            settle_timeout: DEADLINE,
        };
        let report = orderflow_tools::check::run(&settings).await.unwrap();
        let listed: std::collections::BTreeSet<i64> =
            list_ids(&format!("{}api/shipments", settings.endpoints.shipping)).await;
        let lost = acknowledged
            .iter()
            .filter(|id| !listed.contains(id))
            .count();
        let duplicates = report.differing.len();
        totals.orders += acknowledged.len();
        totals.lost += lost;
        totals.duplicates += duplicates;
        let _ = writeln!(
            std::io::stderr(),
            "fault scenario {scenario}: {} orders acknowledged, {lost} lost, {duplicates} duplicated; check: {}",
            acknowledged.len(),
            if report.consistent() {
                "consistent"
            } else {
                "NOT consistent"
            }
        );
        assert!(
            report.consistent(),
            "{scenario}: not consistent: {report:?} (logs: {})",
            self.logs.display()
        );
        self.assert_no_password_in_logs();
        assert_eq!(
            lost,
            0,
            "{scenario}: acknowledged orders lost (logs: {})",
            self.logs.display()
        );
        assert!(
            !acknowledged.is_empty(),
            "{scenario}: no order was placed at all"
        );
    }

    /// No database password reaches a log, whatever happened.
    fn assert_no_password_in_logs(&self) {
        let url = self.database("orders");
        let Some(password) = url::Url::parse(&url)
            .ok()
            .and_then(|u| u.password().map(str::to_owned))
        else {
            return;
        };
        for entry in std::fs::read_dir(&self.logs).unwrap() {
            let path = entry.unwrap().path();
            let log = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                !log.contains(&password),
                "the database password is in {}",
                path.display()
            );
        }
    }

    async fn stop(mut self) {
        self.order.stop().await;
        for shipping in &mut self.shipping {
            shipping.stop().await;
        }
        self.invoicing.stop().await;
        let _ = std::fs::remove_dir_all(&self.logs);
    }
}

async fn list_ids(url: &str) -> std::collections::BTreeSet<i64> {
    let client = reqwest::Client::new();
    let mut ids = std::collections::BTreeSet::new();
    let mut after = 0;
    loop {
        let page = orderflow_tools::client::list_stored(&client, url, after)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        ids.extend(page.iter().map(|s| s.id));
    }
    ids
}

#[derive(Default)]
struct Totals {
    scenarios: usize,
    faults: usize,
    orders: usize,
    lost: usize,
    duplicates: usize,
}

/// Lets the load run for a while (pacing the faults, not waiting for an outcome).
async fn under_load(duration_ms: u64) {
    tokio::time::sleep(Duration::from_millis(duration_ms)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn under_faults_no_acknowledged_order_is_lost_and_none_is_applied_twice() {
    let env = TestEnv::from_env(ORDERFLOW_BROKER);
    let mut broker = KafkaBroker::start(&env, ORDERFLOW_BROKER, free_port()).await;
    let brokers = broker.brokers();
    let mut totals = Totals::default();

    // 1. kill -9 of order while orders are being placed.
    let mut rig = Rig::start(&env, &brokers).await;
    let stop = CancellationToken::new();
    let load = rig.load(stop.clone());
    under_load(1000).await;
    rig.order.kill9().await;
    under_load(300).await;
    let database = rig.database("orders");
    rig.order.start(&database).await;
    under_load(1000).await;
    stop.cancel();
    let acknowledged = load.await.unwrap();
    rig.verify("kill -9 order", &acknowledged, &mut totals)
        .await;
    rig.stop().await;
    totals.scenarios += 1;
    totals.faults += 1;

    // 2. kill -9 of a consumer in the middle of its work, then restart.
    let mut rig = Rig::start(&env, &brokers).await;
    let stop = CancellationToken::new();
    let load = rig.load(stop.clone());
    under_load(1000).await;
    rig.shipping[0].kill9().await;
    under_load(500).await;
    let database = rig.database("shipping");
    rig.shipping[0].start(&database).await;
    under_load(1000).await;
    stop.cancel();
    let acknowledged = load.await.unwrap();
    rig.verify("kill -9 consumer", &acknowledged, &mut totals)
        .await;
    rig.stop().await;
    totals.scenarios += 1;
    totals.faults += 1;

    // 3. broker restart during load (kill -9, then start on the same data).
    let rig = Rig::start(&env, &brokers).await;
    let stop = CancellationToken::new();
    let load = rig.load(stop.clone());
    under_load(1000).await;
    broker.kill();
    under_load(1000).await;
    broker.restart().await;
    under_load(1500).await;
    stop.cancel();
    let acknowledged = load.await.unwrap();
    rig.verify("broker restart", &acknowledged, &mut totals)
        .await;
    rig.stop().await;
    totals.scenarios += 1;
    totals.faults += 1;

    // 4. PostgreSQL restart during load (SQLite has no server to restart).
    if env.is_postgres() {
        let rig = Rig::start(&env, &brokers).await;
        let stop = CancellationToken::new();
        let load = rig.load(stop.clone());
        under_load(1000).await;
        let restarted = std::process::Command::new("bash")
            .args(["-c", "pg_ctlcluster $(pg_lsclusters --no-header | awk 'NR==1 {print $1\" \"$2}') restart"])
            .status()
            .expect("pg_ctlcluster runs");
        assert!(restarted.success(), "PostgreSQL could not be restarted");
        under_load(1500).await;
        stop.cancel();
        let acknowledged = load.await.unwrap();
        rig.verify("PostgreSQL restart", &acknowledged, &mut totals)
            .await;
        rig.stop().await;
        totals.scenarios += 1;
        totals.faults += 1;
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "fault scenario PostgreSQL restart: skipped (SQLite files, no server)"
        );
    }

    // 5. consumer instances added and removed during load (rebalances).
    let mut rig = Rig::start(&env, &brokers).await;
    let stop = CancellationToken::new();
    let load = rig.load(stop.clone());
    under_load(700).await;
    rig.add_shipping().await;
    under_load(700).await;
    rig.shipping[0].stop().await;
    under_load(700).await;
    rig.add_shipping().await;
    under_load(700).await;
    stop.cancel();
    let acknowledged = load.await.unwrap();
    rig.verify("rebalances", &acknowledged, &mut totals).await;
    rig.stop().await;
    totals.scenarios += 1;
    totals.faults += 3;

    // 6. poison records among good ones; 7. the same records produced again.
    let rig = Rig::start(&env, &brokers).await;
    let stop = CancellationToken::new();
    let load = rig.load(stop.clone());
    under_load(500).await;
    for n in 0..5 {
        kafka::produce(
            &brokers,
            &rig.topic,
            None,
            Some("poison"),
            format!("not an order {n}").as_bytes(),
        )
        .await;
    }
    under_load(500).await;
    stop.cancel();
    let acknowledged = load.await.unwrap();
    rig.verify("poison records", &acknowledged, &mut totals)
        .await;
    // The same records again: the first 300 on the topic, on their partitions, with their keys.
    let records = kafka::read_all(&brokers, &rig.topic, 300, Duration::from_secs(20)).await;
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
    kafka::produce_all(&brokers, &rig.topic, &again).await;
    let health = |url: String| async move {
        reqwest::get(format!("{url}health"))
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    let shipping_url = rig.shipping[0].url();
    wait_until("the repeated records to be read", DEADLINE, || async {
        let health = health(shipping_url.clone()).await;
        (health["duplicatesIgnored"].as_u64()? >= orders_again).then_some(())
    })
    .await;
    assert!(
        health(shipping_url.clone()).await["parked"]
            .as_u64()
            .unwrap()
            >= 5,
        "the poison records were parked"
    );
    // Every acknowledged order still has exactly its copies.
    rig.verify("duplicates", &acknowledged, &mut Totals::default())
        .await;
    rig.stop().await;
    totals.scenarios += 2;
    totals.faults += 5 + records.len();

    let _ = writeln!(
        std::io::stderr(),
        "fault-injection suite: {} scenarios, {} orders placed, {} faults injected, {} orders lost, {} duplicates",
        totals.scenarios,
        totals.orders,
        totals.faults,
        totals.lost,
        totals.duplicates
    );
    assert_eq!((totals.lost, totals.duplicates), (0, 0));
}
