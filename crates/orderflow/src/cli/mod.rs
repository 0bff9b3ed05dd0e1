//! The `orderflow` command line: `args` (the flags), `settings` (flags to a service's settings,
//! validated), `commands` (what each subcommand does), `consumers` (the table of consumer
//! services, each a subcommand).

mod args;
mod commands;
mod consumers;
mod settings;

use args::{Cli, Command, ConsumerArgs, UpArgs};
use clap::{Args, CommandFactory, FromArgMatches};
use commands::*;
use settings::*;

/// What was asked for on the command line.
pub(crate) enum Invocation {
    /// A consumer service's subcommand (`orderflow bonus`).
    Consumer(consumers::Consumer, ConsumerArgs),
    Other(Cli),
}

/// Parses the command line: the derived subcommands, plus one per consumer in the table.
pub(crate) fn parse() -> Invocation {
    let mut command = Cli::command();
    for consumer in consumers::consumers() {
        let service = consumer.service;
        command = command.subcommand(ConsumerArgs::augment_args(
            clap::Command::new(service.name).about(format!(
                "Runs one {name} instance in consumer group `{name}` (default port {port}).",
                name = service.name,
                port = service.port
            )),
        ));
    }
    let matches = command.get_matches();
    if let Some((name, sub)) = matches.subcommand()
        && let Some(consumer) = consumers::consumer(name)
    {
        let args = ConsumerArgs::from_arg_matches(sub).unwrap_or_else(|error| error.exit());
        return Invocation::Consumer(consumer, args);
    }
    Invocation::Other(Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit()))
}

impl Invocation {
    /// The process's name in logs and traces (`service.name`): the subcommand.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Invocation::Consumer(consumer, _) => consumer.service.name,
            Invocation::Other(cli) => match &cli.command {
                None | Some(Command::Up(_)) => "up",
                Some(Command::Order(_)) => orderflow_directory::ORDER.name,
                Some(Command::FrontDoor(_)) => "front-door",
                Some(Command::Load(_)) => "load",
                Some(Command::Check(_)) => "check",
                Some(Command::Replay(_)) => "replay",
                Some(Command::Broker(_)) => "broker",
            },
        }
    }

    /// The runtime the command runs on: Tokio's default (a worker thread per core), except for
    /// `check`, which runs on one thread. The check holds a page per list however long the
    /// history, but glibc gives every thread that allocates its own heap (arena): with the
    /// pages parsed on both workers, its peak RSS grew from 26 to 31.5 MB between 1,200 and
    /// 101,200 orders; on one thread it stays at 26.5 MB (`MALLOC_ARENA_MAX=1` showed the
    /// same). Its work is waiting for the services' pages, which one thread does as well.
    pub(crate) fn runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        let one_thread = matches!(
            self,
            Invocation::Other(Cli {
                command: Some(Command::Check(_)),
                ..
            })
        );
        let mut builder = if one_thread {
            tokio::runtime::Builder::new_current_thread()
        } else {
            tokio::runtime::Builder::new_multi_thread()
        };
        builder.enable_all().build()
    }

    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self {
            Invocation::Consumer(consumer, args) => {
                (consumer.run)(args, orderflow_launcher::process::shutdown_token()).await
            }
            Invocation::Other(cli) => cli.run().await,
        }
    }
}

impl Cli {
    async fn run(self) -> anyhow::Result<()> {
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
