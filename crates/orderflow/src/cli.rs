use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use orderflow_kafka::KafkaSettings;
use tokio_util::sync::CancellationToken;

/// Asynchronous microservices: an order service and two consumers, integrated through Kafka.
#[derive(Debug, Parser)]
#[command(name = "orderflow", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the order service: web UI, JSON API, outbox relay to Kafka (default port 8081).
    Order(ServiceArgs),
    /// Runs one shipping instance in consumer group `shipping` (default port 8082).
    Shipping(ConsumerArgs),
    /// Runs one invoicing instance in consumer group `invoicing` (default port 8083).
    Invoicing(ConsumerArgs),
}

/// Options every service takes.
#[derive(Debug, Args)]
struct ServiceArgs {
    /// Port of the web UI; 0 picks a free one.
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// postgres://user:password@host/db (a schema per service), or sqlite://file.db. Default: a
    /// SQLite file per service in --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Where the SQLite files live when no --database-url is given.
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Kafka bootstrap brokers, host:port[,host:port].
    #[arg(long, env = "KAFKA_BROKERS", default_value = "localhost:9092")]
    kafka_brokers: String,
    /// The topic that carries orders.
    #[arg(long, env = "ORDERFLOW_KAFKA_TOPIC", default_value = orderflow_events::ORDER_TOPIC)]
    kafka_topic: String,
    /// PostgreSQL schema of this service (default: its name; `orders` for order).
    #[arg(long)]
    schema: Option<String>,
}

#[derive(Debug, Args)]
struct ConsumerArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// Consumer group (default: the service's name). Instances of one group share the partitions.
    #[arg(long, env = "ORDERFLOW_KAFKA_GROUP")]
    group: Option<String>,
    /// Seconds the group waits for an instance that stopped answering before moving its partitions.
    #[arg(long, default_value_t = 10)]
    session_timeout_secs: u64,
}

impl ServiceArgs {
    fn database_url(&self, service: &str) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join(format!("{service}.db")).display()
            )
        })
    }

    fn kafka(&self) -> KafkaSettings {
        KafkaSettings::new(self.kafka_brokers.trim()).with_topic(self.kafka_topic.trim())
    }
}

impl Cli {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signal(shutdown.clone()));
        match self.command {
            Command::Order(args) => {
                let mut settings =
                    orderflow_order::Settings::new(args.database_url("order"), args.kafka());
                settings.bind = args.bind;
                settings.port = args.port.unwrap_or(orderflow_order::config::DEFAULT_PORT);
                if let Some(schema) = args.schema {
                    settings.database.schema = schema;
                }
                orderflow_order::Application::build(settings)
                    .await?
                    .run_until(shutdown)
                    .await
            }
            Command::Shipping(args) => {
                let settings = consumer_settings(args, orderflow_shipping::default_settings)?;
                orderflow_shipping::Application::build(settings)
                    .await?
                    .run_until(shutdown)
                    .await
            }
            Command::Invoicing(args) => {
                let settings = consumer_settings(args, orderflow_invoicing::default_settings)?;
                orderflow_invoicing::Application::build(settings)
                    .await?
                    .run_until(shutdown)
                    .await
            }
        }
    }
}

fn consumer_settings(
    args: ConsumerArgs,
    defaults: fn(String, KafkaSettings) -> orderflow_consumer::ConsumerServiceSettings,
) -> anyhow::Result<orderflow_consumer::ConsumerServiceSettings> {
    let service = args.service;
    let mut settings = defaults(String::new(), service.kafka());
    let name = settings.database.schema.clone();
    settings.database.url = service.database_url(&name);
    settings.bind = service.bind;
    if let Some(port) = service.port {
        settings.port = port;
    }
    if let Some(schema) = service.schema {
        settings.database.schema = schema;
    }
    if let Some(group) = args.group {
        settings.consumer.group_id = group;
    }
    anyhow::ensure!(
        args.session_timeout_secs >= 1,
        "--session-timeout-secs must be at least 1"
    );
    settings.consumer.session_timeout = Duration::from_secs(args.session_timeout_secs);
    Ok(settings)
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "Cannot listen for SIGTERM.");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("Shutting down.");
    shutdown.cancel();
}
