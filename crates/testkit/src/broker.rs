use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use crate::env::{spawn_embedded_broker, temp_dir};

/// A Kafka broker of one test's own, for tests in which the broker must be missing at first or
/// restart: Apache Kafka (from `.ci/kafka/broker`, with the jars in `$ORDERFLOW_KAFKA_LIBS`) when
/// the tests run against Apache Kafka, the embedded broker otherwise. Killed on drop.
#[derive(Debug)]
pub struct KafkaBroker {
    child: Option<Child>,
    _lifeline: Option<ChildStdin>,
    pub port: u16,
    controller_port: u16,
    embedded: bool,
    broker_binary: String,
    /// Extra arguments for the embedded broker.
    embedded_args: Vec<String>,
    data: PathBuf,
}

impl KafkaBroker {
    /// Starts a broker like the test environment's on `port`, and waits until it listens.
    pub async fn start(env: &crate::TestEnv, broker_binary: &str, port: u16) -> Self {
        let mut broker = KafkaBroker {
            child: None,
            _lifeline: None,
            port,
            controller_port: crate::free_port(),
            embedded: env.embedded_broker,
            broker_binary: broker_binary.to_owned(),
            embedded_args: Vec::new(),
            data: temp_dir("own-broker"),
        };
        broker.launch().await;
        broker
    }

    /// The embedded broker with extra arguments (whatever the test environment's broker), e.g.
    /// `--tansu-group-coordinator`.
    pub async fn embedded_with(broker_binary: &str, port: u16, args: &[&str]) -> Self {
        let mut broker = KafkaBroker {
            child: None,
            _lifeline: None,
            port,
            controller_port: crate::free_port(),
            embedded: true,
            broker_binary: broker_binary.to_owned(),
            embedded_args: args.iter().map(|a| (*a).to_owned()).collect(),
            data: temp_dir("own-broker"),
        };
        broker.launch().await;
        broker
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `kill -9`: the broker stops at once; its data stays for `restart`.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self._lifeline = None;
    }

    /// Starts the broker again on the same port and data.
    pub async fn restart(&mut self) {
        self.kill();
        self.launch().await;
    }

    async fn launch(&mut self) {
        if self.embedded {
            let (child, lifeline) = spawn_embedded_broker(
                &self.broker_binary,
                self.port,
                &self.data,
                &self.embedded_args,
            );
            self.child = Some(child);
            self._lifeline = Some(lifeline);
            return;
        }
        self.child = Some(spawn_apache_kafka(
            self.port,
            self.controller_port,
            &self.data,
        ));
        let port = self.port;
        crate::wait_until(
            "the test's Kafka broker to listen",
            Duration::from_secs(90),
            || async {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .ok()
                    .map(drop)
            },
        )
        .await;
    }
}

fn spawn_apache_kafka(port: u16, controller_port: u16, data: &Path) -> Child {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.ci/kafka/broker");
    assert!(
        std::env::var_os("ORDERFLOW_KAFKA_LIBS").is_some(),
        "ORDERFLOW_KAFKA_LIBS is not set: this test starts an Apache Kafka broker of its own from \
         the jars `.ci/kafka/install` fetches; run it through `.ci/run`, or unset KAFKA_BROKERS to \
         use the embedded broker"
    );
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data.join("broker.log"))
        .expect("broker log");
    Command::new("bash")
        .arg(&script)
        .arg(data)
        .arg(port.to_string())
        .arg(controller_port.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("broker script starts")
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        // `.ci/kafka/broker` execs java and the embedded broker is our binary: this is the broker.
        self.kill();
        // A failing test leaves the broker's data and log to look at.
        if std::thread::panicking() {
            eprintln!(
                "the test's broker kept its data and log in {}",
                self.data.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.data);
        }
    }
}
