//! What each subcommand does, once its flags are read.

use std::time::Duration;

use anyhow::Context;
use orderflow_front_door::{FrontDoorSettings, Upstream};
use orderflow_kafka::KafkaSettings;
use tokio_util::sync::CancellationToken;

use super::args::*;
use super::settings::*;

pub(super) async fn up(args: UpArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut scale = orderflow_launcher::Scale::default();
    for service in &args.with {
        scale.with(service)?;
    }
    for option in &args.scale {
        scale.apply(option)?;
    }
    let mut ports = orderflow_launcher::Ports {
        front_door: args.port,
        broker: args.broker_port,
        ..orderflow_launcher::Ports::default()
    };
    for option in &args.service_port {
        ports.apply(option)?;
    }
    if let Some(brokers) = &args.kafka_brokers {
        KafkaSettings::new(brokers.as_str()).validate()?;
    }
    let executable = std::env::current_exe()?;
    let feed = args.transport == TransportArg::Feed;
    let encoding = args.encoding.record_encoding();
    anyhow::ensure!(
        args.transport == TransportArg::Kafka
            || encoding == orderflow_events::wire::RecordEncoding::JSON,
        "--format and --schema-version choose how records are written on Kafka; RabbitMQ's messages and the feed carry the contract's JSON"
    );
    let amqp = (args.transport == TransportArg::Amqp).then(|| orderflow_launcher::AmqpUp {
        url: args.amqp_url.clone(),
        port: args.amqp_port,
        queue_type: format!("{:?}", args.amqp_queue_type).to_lowercase(),
    });
    if let Some(url) = &args.amqp_url {
        orderflow_amqp::AmqpSettings::new(url.as_str()).validate()?;
    }
    let order_flags = if encoding == orderflow_events::wire::RecordEncoding::JSON {
        Vec::new()
    } else {
        vec![
            "--format".to_owned(),
            format!("{:?}", args.encoding.format).to_lowercase(),
            "--schema-version".to_owned(),
            args.encoding.schema_version.to_string(),
        ]
    };
    let broker_executable = match (&args.kafka_brokers, args.transport) {
        (None, TransportArg::Kafka) => Some(orderflow_launcher::locate_broker(&executable)?),
        _ => None,
    };
    let settings = orderflow_launcher::UpSettings {
        executable,
        broker_executable,
        data_dir: args.data_dir,
        ports,
        scale,
        kafka_brokers: args.kafka_brokers,
        database_url: args.database_url,
        restart_delay: (!args.no_restart).then_some(Duration::from_secs(3)),
        feed,
        bind: args.bind,
        order_flags,
        amqp,
    };
    orderflow_launcher::up(settings, shutdown).await
}

pub(super) async fn front_door(
    args: FrontDoorArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut named: Vec<(&'static orderflow_directory::Service, String)> = Vec::new();
    for option in &args.upstream {
        let (name, url) = option.split_once('=').ok_or_else(|| {
            anyhow::anyhow!(
                "--upstream takes service=url, e.g. shipping=http://127.0.0.1:8092; got `{option}`"
            )
        })?;
        let service = orderflow_directory::named(name.trim())
            .ok_or_else(|| anyhow::anyhow!("--upstream {option}: there is no service `{name}`"))?;
        named.push((service, url.trim().trim_end_matches('/').to_owned()));
    }
    let mut upstreams = Vec::new();
    for service in orderflow_directory::ALL {
        let urls: Vec<&String> = named
            .iter()
            .filter(|(s, _)| s == &service)
            .map(|(_, url)| url)
            .collect();
        if urls.is_empty() {
            upstreams.push(Upstream {
                required: service.started_by_default(),
                ..Upstream::local(service, service.port)
            });
        }
        for (n, url) in urls.iter().enumerate() {
            let label = if urls.len() == 1 {
                service.name.to_owned()
            } else {
                format!("{} #{}", service.name, n + 1)
            };
            upstreams.push(Upstream {
                service,
                url: (*url).clone(),
                label,
                required: true,
            });
        }
    }
    let settings = FrontDoorSettings {
        bind: args.bind,
        port: args.port,
        upstreams,
        lab: None,
    };
    let front_door = orderflow_front_door::FrontDoor::build(settings).await?;
    tracing::info!("Front door listening on {}", front_door.url());
    front_door.run_until(shutdown).await
}

pub(super) async fn load(args: LoadArgs) -> anyhow::Result<()> {
    let mut endpoints = orderflow_tools::client::Endpoints::behind(&args.url);
    for option in &args.service_url {
        endpoints.set(option)?;
    }
    // Every service given directly: read each one's own figures, not the front door's.
    if args.service_url.len() == 1 + endpoints.consumers.len() {
        endpoints.health = std::iter::once(&endpoints.order)
            .chain(endpoints.consumers.iter().map(|c| &c.url))
            .map(|url| format!("{url}health"))
            .collect();
    }
    let settings = orderflow_tools::load::LoadSettings {
        endpoints,
        orders: args.orders,
        concurrency: args.concurrency,
        rate: args.rate,
        settle_timeout: Duration::from_secs(args.settle_secs),
        progress: !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        wait_for_consumers: !args.no_wait,
    };
    orderflow_tools::load::run_and_print(settings, args.json).await
}

/// Applies service `S`'s parked events again.
pub(super) async fn replay_service<S: orderflow_consumer::Service>(
    settings: &orderflow_storage::DatabaseSettings,
) -> anyhow::Result<orderflow_consumer::ReplayReport> {
    let db = orderflow_consumer::Application::<S>::connect_database(settings).await?;
    let handler = orderflow_consumer::Application::<S>::handler(db.clone());
    orderflow_consumer::replay_parked(&db, &handler).await
}

pub(super) async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let consumer = super::consumers::consumer(&args.service).ok_or_else(|| {
        anyhow::anyhow!(
            "there is no consumer service `{}`; they are {}",
            args.service,
            orderflow_directory::consumer_names()
        )
    })?;
    let url = args.database_url.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            args.data_dir.join(format!("{}.db", args.service)).display()
        )
    });
    let schema = args.schema.clone().unwrap_or_else(|| args.service.clone());
    let settings = orderflow_storage::DatabaseSettings::new(url, schema);
    let report = (consumer.replay)(settings).await?;
    println!(
        "{}: {} parked events applied and removed, {} still failing",
        args.service,
        report.replayed,
        report.failing.len()
    );
    for (id, error) in &report.failing {
        println!("  parked event {id}: {error}");
    }
    anyhow::ensure!(
        report.failing.is_empty(),
        "{} parked events still fail",
        report.failing.len()
    );
    Ok(())
}

pub(super) async fn check(args: CheckArgs) -> anyhow::Result<()> {
    let mut endpoints = orderflow_tools::client::Endpoints::behind(&args.url);
    for option in &args.service_url {
        endpoints.set(option)?;
    }
    let settings = orderflow_tools::check::CheckSettings {
        endpoints,
        views: super::consumers::consumers()
            .iter()
            .map(|c| c.check)
            .collect(),
        settle_timeout: Duration::from_secs(args.settle_secs),
    };
    let report = orderflow_tools::check::run(&settings).await?;
    report.print();
    anyhow::ensure!(
        report.consistent(),
        "the consumers do not agree with the orders"
    );
    Ok(())
}

/// Runs the `orderflow-broker` executable next to this one, with the same options.
pub(super) async fn broker(args: BrokerArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let broker = orderflow_launcher::locate_broker(&std::env::current_exe()?)?;
    let mut child = tokio::process::Command::new(&broker)
        .args([
            "--port",
            &args.port.to_string(),
            "--host",
            &args.host,
            "--data-dir",
        ])
        .arg(&args.data_dir)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot run {}", broker.display()))?;
    let status = tokio::select! {
        status = child.wait() => status?,
        _ = shutdown.cancelled() => {
            if let Some(id) = child.id() {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(id as i32), nix::sys::signal::Signal::SIGTERM);
            }
            child.wait().await?
        }
    };
    anyhow::ensure!(status.success(), "the embedded broker exited with {status}");
    Ok(())
}

/// Runs consumer service `S` until `shutdown`.
pub(super) async fn run_consumer<S: orderflow_consumer::Service>(
    args: ConsumerArgs,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let settings = consumer_settings::<S>(args)?;
    orderflow_consumer::Application::<S>::build(settings)
        .await?
        .run_until(shutdown)
        .await
}
