//! `orderflow-broker`: the embedded Kafka-compatible broker (Tansu, SQLite storage) as an
//! executable of its own. `orderflow up` starts it; `orderflow broker` runs it.
//!
//! It is not a subcommand of `orderflow` because Tansu's SQLite (libsql) and the services'
//! SQLite (sqlx) both bundle SQLite's C code and cannot be linked into one executable.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// Runs the embedded Kafka-compatible broker (Tansu) with its storage in --data-dir.
#[derive(Debug, Parser)]
#[command(name = "orderflow-broker", version)]
struct Args {
    #[arg(long, default_value_t = 9092)]
    port: u16,
    /// Host to listen on and to advertise to clients.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Where the broker keeps its SQLite storage (broker.db).
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Run Tansu's own consumer-group coordinator instead of orderflow's; it can leave a member
    /// without partitions for good (docs/embedded-broker.md). For experiments and tests only.
    #[arg(long, hide = true)]
    tansu_group_coordinator: bool,
    /// Seconds between storage maintenance runs, which compact the order-state topic.
    #[arg(long, default_value_t = 30)]
    maintenance_interval_secs: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let _telemetry = orderflow_launcher::process::init_telemetry("broker");
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "The embedded broker stopped with an error."
            );
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let shutdown = orderflow_launcher::process::shutdown_token();
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create the data folder {}", args.data_dir.display()))?;
    // Tansu resolves its SQLite file against the current directory.
    std::env::set_current_dir(&args.data_dir)
        .with_context(|| format!("cannot enter the data folder {}", args.data_dir.display()))?;
    let mut settings = orderflow_broker::BrokerSettings::new(args.host, args.port);
    if args.tansu_group_coordinator {
        settings.groups = orderflow_broker::Groups::Tansu;
    }
    anyhow::ensure!(
        args.maintenance_interval_secs >= 1,
        "--maintenance-interval-secs must be at least 1"
    );
    settings.maintenance_interval = std::time::Duration::from_secs(args.maintenance_interval_secs);
    orderflow_broker::run(settings, shutdown).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn producers_know_the_embedded_broker_by_its_cluster_id() {
        assert_eq!(
            orderflow_broker::CLUSTER_ID,
            orderflow_kafka::EMBEDDED_BROKER_CLUSTER_ID
        );
    }
}
