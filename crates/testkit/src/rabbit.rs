//! RabbitMQ for the tests: `AMQP_URL` when set, otherwise a node of the test binary's own
//! (Debian's `rabbitmq-server`, started on first use, stopped when the test binary exits).

use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use orderflow_amqp::node;
use tokio::sync::OnceCell;

use crate::env::temp_dir;

/// Where the tests' RabbitMQ is: `AMQP_URL`, or the test binary's own node. `None` (and a note
/// on stderr) when RabbitMQ is not installed, unless `ORDERFLOW_REQUIRE_RABBITMQ` is set (as
/// `.ci/run` sets it): then a missing RabbitMQ fails the test.
pub async fn amqp_url() -> Option<String> {
    if let Ok(url) = std::env::var("AMQP_URL")
        && !url.trim().is_empty()
    {
        return Some(url);
    }
    if !node::installed() {
        assert!(
            std::env::var_os("ORDERFLOW_REQUIRE_RABBITMQ").is_none(),
            "{}",
            node::NOT_INSTALLED
        );
        eprintln!("skipped: {}", node::NOT_INSTALLED);
        return None;
    }
    static NODE: OnceCell<RabbitNode> = OnceCell::const_new();
    Some(NODE.get_or_init(RabbitNode::start).await.url())
}

/// A RabbitMQ node of a test's own, on ports of its own: it can be stopped and started again
/// (its data stays). Stopped when dropped, or when the test binary exits.
#[derive(Debug)]
pub struct RabbitNode {
    pub port: u16,
    dist_port: u16,
    dir: PathBuf,
    process: Option<(Child, ChildStdin)>,
}

impl RabbitNode {
    /// Starts a node and waits until it accepts connections.
    pub async fn start() -> Self {
        let mut node = RabbitNode {
            port: crate::free_port(),
            dist_port: crate::free_port(),
            dir: temp_dir("rabbitmq"),
            process: None,
        };
        node.launch().await;
        node
    }

    pub fn url(&self) -> String {
        node::node_url(self.port)
    }

    async fn launch(&mut self) {
        let server = node::node_command(self.port, self.dist_port, &self.dir);
        // A shell between the test and the node, which stops the node (gracefully: SIGTERM)
        // when its stdin closes, i.e. when the test binary exits, however it exits.
        let mut wrapper = Command::new("sh");
        wrapper
            .arg("-c")
            .arg(r#""$0" & node=$!; cat >/dev/null; kill -TERM "$node"; wait "$node""#)
            .arg(server.get_program());
        for (name, value) in server.get_envs() {
            if let Some(value) = value {
                wrapper.env(name, value);
            }
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("node.log"))
            .expect("node log");
        let mut child = wrapper
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("rabbitmq-server starts");
        let lifeline = child.stdin.take().expect("stdin pipe");
        self.process = Some((child, lifeline));
        if let Err(error) = node::wait_until_ready(&self.url(), Duration::from_secs(90)).await {
            let log = std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default();
            panic!(
                "RabbitMQ did not start on port {}: {error}\n{log}",
                self.port
            );
        }
    }

    /// Stops the node gracefully and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some((mut child, lifeline)) = self.process.take() {
            drop(lifeline);
            let _ = child.wait();
        }
    }

    /// Starts it again on the same ports, with its data.
    pub async fn restart(&mut self) {
        self.stop();
        self.launch().await;
    }
}

impl Drop for RabbitNode {
    fn drop(&mut self) {
        self.stop();
    }
}
