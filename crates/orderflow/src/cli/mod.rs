//! The `orderflow` command line: `args` (the flags), `settings` (flags to a service's settings,
//! validated), `commands` (what each subcommand does).

mod args;
mod commands;
mod settings;

pub(crate) use args::Cli;
use args::{Command, UpArgs};
use commands::*;
use settings::*;

impl Cli {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        let shutdown = orderflow_launcher::process::shutdown_token();
        match self
            .command
            .unwrap_or_else(|| Command::Up(UpArgs::default()))
        {
            Command::Up(args) => up(args, shutdown).await,
            Command::Order(args) => {
                let settings = order_settings(args)?;
                orderflow_order::Application::build(settings)
                    .await?
                    .run_until(shutdown)
                    .await
            }
            Command::Shipping(args) => {
                run_consumer::<orderflow_shipping::Shipping>(args, shutdown).await
            }
            Command::Invoicing(args) => {
                run_consumer::<orderflow_invoicing::Invoicing>(args, shutdown).await
            }
            Command::FrontDoor(args) => front_door(args, shutdown).await,
            Command::Broker(args) => broker(args, shutdown).await,
            Command::Replay(args) => replay(args).await,
            Command::Check(args) => tokio::select! {
                result = check(args) => result,
                _ = shutdown.cancelled() => anyhow::bail!("interrupted"),
            },
            Command::Load(args) => tokio::select! {
                result = load(args) => result,
                _ = shutdown.cancelled() => anyhow::bail!("interrupted"),
            },
        }
    }
}
