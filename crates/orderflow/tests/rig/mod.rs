//! The system as processes, for the suites that inject faults: order, shipping (one or more
//! instances) and invoicing, each started with the same `orderflow <service>` command a user
//! runs, with the default consumer settings (`orderflow up`'s), against a broker the suite owns.
//! A flood of orders runs while faults are injected; afterwards `orderflow check` must be
//! satisfied, every acknowledged order delivered, and each consumer group converged.

#![allow(dead_code)] // each suite uses part of it

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use orderflow_testkit::{Isolation, TestEnv, free_port, wait_until};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub const ORDERFLOW: &str = env!("CARGO_BIN_EXE_orderflow");
pub const ORDERFLOW_BROKER: &str = env!("CARGO_BIN_EXE_orderflow-broker");
pub const DEADLINE: Duration = Duration::from_secs(90);

/// Clients placing orders as fast as order answers, the same on every broker.
const FLOOD_CLIENTS: usize = 4;

/// One service process that a scenario can kill and start again.
pub struct Service {
    pub name: String,
    args: Vec<String>,
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Service {
    fn new(name: &str, args: Vec<String>, port: u16, log_dir: &Path) -> Self {
        Service {
            name: name.to_owned(),
            args,
            port,
            child: None,
            log: log_dir.join(format!("{name}.log")),
        }
    }

    pub async fn start(&mut self, database_url: &str) {
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
    pub async fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().unwrap();
            child.wait().await.unwrap();
        }
    }

    /// SIGTERM, as an operator stops an instance.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(Pid::from_raw(child.id().unwrap() as i32), Signal::SIGTERM).unwrap();
            tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .expect("stops")
                .unwrap();
        }
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub async fn health(&self) -> Option<serde_json::Value> {
        reqwest::get(format!("{}health", self.url()))
            .await
            .ok()?
            .json()
            .await
            .ok()
    }

    /// The partitions this consumer instance owns, as its `/health` says.
    async fn assigned(&self) -> Option<BTreeSet<i64>> {
        let health = self.health().await?;
        Some(
            health["assignedPartitions"]
                .as_array()?
                .iter()
                .filter_map(|p| p.as_i64())
                .collect(),
        )
    }

    /// Everything the service logged, over all its runs.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many times this service's log says it found a record already applied.
    pub fn redeliveries(&self) -> usize {
        self.log_text().matches("already exists - ignored").count()
    }
}

/// order, shipping and invoicing of one scenario, with its own schemas (or files), topic, groups.
pub struct Rig {
    pub brokers: String,
    pub topic: String,
    pub order: Service,
    pub shipping: Vec<Service>,
    pub invoicing: Service,
    iso: Isolation,
    env: TestEnv,
    logs: PathBuf,
}

impl Rig {
    /// The system with `shipping_instances` shipping instances in one group.
    pub async fn start(env: &TestEnv, brokers: &str, shipping_instances: usize) -> Rig {
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
        rig.order.start(&rig.database("orders")).await;
        for _ in 0..shipping_instances {
            rig.add_shipping().await;
        }
        rig.invoicing.start(&rig.database("invoicing")).await;
        rig
    }

    /// What a user would pass: no consumer tuning, so the suite sees `up`'s behaviour.
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
            args.extend(["--group".to_owned(), self.iso.group(service)]);
        }
        args
    }

    /// The shipping group's instances, running or not.
    pub fn members(&self) -> Vec<&Service> {
        self.shipping.iter().collect()
    }

    pub async fn add_shipping(&mut self) {
        let name = format!("shipping-{}", self.shipping.len() + 1);
        let mut shipping = Service::new(
            &name,
            self.service_args("shipping", "shipping"),
            free_port(),
            &self.logs,
        );
        shipping.start(&self.database("shipping")).await;
        self.shipping.push(shipping);
    }

    pub fn database(&self, schema_of: &str) -> String {
        self.env.database(&self.iso, schema_of).0
    }

    /// Orders placed by clients as fast as order takes them, until the flood is stopped.
    pub fn flood(&self) -> Flood {
        let stop = CancellationToken::new();
        let order_url = self.order.url();
        let placing = stop.clone();
        let task = tokio::spawn(async move {
            let acknowledged = Arc::new(Mutex::new(Vec::new()));
            let counter = Arc::new(AtomicU64::new(0));
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let workers: Vec<_> = (0..FLOOD_CLIENTS)
                .map(|_| {
                    let (stop, acknowledged, counter, client, order_url) = (
                        placing.clone(),
                        Arc::clone(&acknowledged),
                        Arc::clone(&counter),
                        client.clone(),
                        order_url.clone(),
                    );
                    tokio::spawn(async move {
                        while !stop.is_cancelled() {
                            let n = counter.fetch_add(1, Ordering::Relaxed);
                            match orderflow_tools::client::place_order(&client, &order_url, n).await
                            {
                                Ok(placed) => acknowledged.lock().await.push(placed.id),
                                // Down or restarting: not acknowledged, so it may be absent.
                                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                            }
                        }
                    })
                })
                .collect();
            for worker in workers {
                worker.await.unwrap();
            }
            Arc::try_unwrap(acknowledged).unwrap().into_inner()
        });
        Flood { stop, task }
    }

    /// Waits until the group of `members` (the running ones) has converged: every partition of
    /// the topic owned by exactly one of them, and none of them idle while there are partitions
    /// enough. Returns the time since `fault`.
    pub async fn converged(&self, group: &str, members: &[&Service], fault: Instant) -> Duration {
        let partitions = i64::from(orderflow_events::ORDER_TOPIC_PARTITIONS);
        let running: Vec<&&Service> = members.iter().filter(|m| m.running()).collect();
        wait_until(
            &format!(
                "the {group} group to converge over {} members (logs: {})",
                running.len(),
                self.logs.display()
            ),
            DEADLINE,
            || async {
                let mut owned = Vec::new();
                for member in &running {
                    owned.push(member.assigned().await?);
                }
                let union: BTreeSet<i64> = owned.iter().flatten().copied().collect();
                let count: usize = owned.iter().map(BTreeSet::len).sum();
                let busy = owned.len() as i64 > partitions || owned.iter().all(|o| !o.is_empty());
                (union == (0..partitions).collect() && count == union.len() && busy).then_some(())
            },
        )
        .await;
        fault.elapsed()
    }

    /// `orderflow check` must be satisfied, and every acknowledged order delivered.
    pub async fn verify(&self, scenario: &str, acknowledged: &[i64], totals: &mut Totals) {
        use orderflow_tools::client::ConsumerEndpoint;
        let shipping = self
            .shipping
            .iter()
            .find(|s| s.running())
            .expect("a shipping instance")
            .url();
        let endpoints = orderflow_tools::client::Endpoints {
            order: self.order.url(),
            consumers: vec![
                ConsumerEndpoint {
                    service: &orderflow_directory::SHIPPING,
                    url: shipping.clone(),
                },
                ConsumerEndpoint {
                    service: &orderflow_directory::INVOICING,
                    url: self.invoicing.url(),
                },
            ],
            health: Vec::new(),
        };
        let settings = orderflow_tools::check::CheckSettings {
            endpoints,
            views: vec![
                orderflow_shipping::Application::check_view("shipments"),
                orderflow_invoicing::Application::check_view("invoices"),
            ],
            settle_timeout: DEADLINE,
        };
        let report = orderflow_tools::check::run(&settings).await.unwrap();
        let mut lost = 0;
        for (base, list) in [
            (&shipping, "shipments"),
            (&self.invoicing.url(), "invoices"),
        ] {
            let listed = list_ids(&format!("{base}api/{list}")).await;
            lost += acknowledged
                .iter()
                .filter(|id| !listed.contains(id))
                .count();
        }
        let duplicates = report.differing();
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

    pub async fn stop(mut self) {
        self.order.stop().await;
        for shipping in &mut self.shipping {
            shipping.stop().await;
        }
        self.invoicing.stop().await;
        let _ = std::fs::remove_dir_all(&self.logs);
    }
}

/// Orders being placed; `stop` ends it and gives the ids order acknowledged.
pub struct Flood {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Vec<i64>>,
}

impl Flood {
    pub async fn stop(self) -> Vec<i64> {
        self.stop.cancel();
        self.task.await.unwrap()
    }
}

pub async fn list_ids(url: &str) -> BTreeSet<i64> {
    let client = reqwest::Client::new();
    let mut ids = BTreeSet::new();
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

/// What a suite did, for its closing line.
#[derive(Default)]
pub struct Totals {
    pub faults: usize,
    pub orders: usize,
    pub lost: usize,
    pub duplicates: usize,
    /// Each fault after which a group had to converge, and how long it took.
    pub convergence: Vec<(String, Duration)>,
}

impl Totals {
    pub fn converged(&mut self, fault: &str, took: Duration) {
        let _ = writeln!(
            std::io::stderr(),
            "group convergence after {fault}: {:.1} s",
            took.as_secs_f64()
        );
        self.convergence.push((fault.to_owned(), took));
    }
}

/// Lets the flood run for a while (pacing the faults, not waiting for an outcome).
pub async fn under_load(duration_ms: u64) {
    tokio::time::sleep(Duration::from_millis(duration_ms)).await;
}

/// p50 and max of some durations, in seconds.
pub fn p50_max(durations: &[Duration]) -> (f64, f64) {
    let mut secs: Vec<f64> = durations.iter().map(Duration::as_secs_f64).collect();
    secs.sort_by(f64::total_cmp);
    let p50 = secs.get(secs.len() / 2).copied().unwrap_or_default();
    (p50, secs.last().copied().unwrap_or_default())
}
