//! A RabbitMQ node of orderflow's own: Debian's `rabbitmq-server` run directly (not as the
//! system service), with its own ports, data folder and Erlang cookie, so that `orderflow up
//! --transport amqp` and the tests need no service set up on the machine, and several nodes can
//! run side by side.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lapin::{Connection, ConnectionProperties};

/// Debian's server script. The one in `/usr/sbin` switches to the `rabbitmq` user and the
/// system's data folder; this one runs as whoever starts it.
pub const RABBITMQ_SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

/// Whether RabbitMQ's server is installed here.
pub fn installed() -> bool {
    Path::new(RABBITMQ_SERVER).exists()
}

/// What to tell a user whose machine has no RabbitMQ.
pub const NOT_INSTALLED: &str = "RabbitMQ is not installed here: install Debian's package (`apt-get install rabbitmq-server`), or give --amqp-url for a RabbitMQ elsewhere";

/// The command that runs a node in the foreground, AMQP on `127.0.0.1:port`, its Erlang
/// distribution on `dist_port` (loopback only), everything it keeps in `dir`. It stops on
/// SIGTERM.
pub fn node_command(port: u16, dist_port: u16, dir: &Path) -> Command {
    let mut command = Command::new(RABBITMQ_SERVER);
    command
        // The Erlang cookie is read from (and made in) $HOME: one per node folder.
        .env("HOME", dir)
        .env("RABBITMQ_NODENAME", format!("orderflow{port}@localhost"))
        .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
        .env("RABBITMQ_NODE_PORT", port.to_string())
        .env("RABBITMQ_DIST_PORT", dist_port.to_string())
        .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
        .env("RABBITMQ_LOG_BASE", dir.join("log"))
        .env("RABBITMQ_PID_FILE", dir.join("pid"))
        // No system configuration: files that need not exist, in the node's folder.
        .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq"))
        .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
        .env("RABBITMQ_CONF_ENV_FILE", dir.join("rabbitmq-env.conf"))
        .env(
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
            "-kernel inet_dist_use_interface {127,0,0,1}",
        );
    command
}

/// The URL of a node on `port` (the default user, which RabbitMQ allows from loopback only).
pub fn node_url(port: u16) -> String {
    format!("amqp://guest:guest@127.0.0.1:{port}/%2f")
}

/// Waits until RabbitMQ at `url` accepts a connection; why not, after `timeout`.
pub async fn wait_until_ready(url: &str, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let attempt = tokio::time::timeout(
            Duration::from_secs(2),
            Connection::connect(url, ConnectionProperties::default()),
        )
        .await;
        let error = match attempt {
            Ok(Ok(connection)) => {
                let _ = connection.close(200, "ready".into()).await;
                return Ok(());
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => "no answer within 2 s".to_owned(),
        };
        if Instant::now() > deadline {
            return Err(error);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
