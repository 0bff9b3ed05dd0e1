use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use orderflow_front_door::{FrontDoorSettings, Service, Upstream};
use orderflow_kafka::KafkaSettings;
use tokio_util::sync::CancellationToken;

/// Asynchronous microservices: an order service and two consumers, integrated through Kafka.
/// Without a subcommand, runs the whole system (`up`).
#[derive(Debug, Parser)]
#[command(name = "orderflow", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the whole system: embedded broker, every service as its own process, front door.
    Up(UpArgs),
    /// Runs the order service: web UI, JSON API, outbox relay to Kafka (default port 8081).
    Order(OrderArgs),
    /// Runs one shipping instance in consumer group `shipping` (default port 8082).
    Shipping(ConsumerArgs),
    /// Runs one invoicing instance in consumer group `invoicing` (default port 8083).
    Invoicing(ConsumerArgs),
    /// Runs the front door alone: home page and reverse proxy to services elsewhere.
    FrontDoor(FrontDoorArgs),
    /// Places orders against a running system and measures: throughput, latency to shipment and
    /// invoice, peak memory.
    Load(LoadArgs),
    /// Checks a running system: every order has its shipment and invoice, no copy lacks its order,
    /// no copy differs. Exit status 0 only when consistent.
    Check(CheckArgs),
    /// Applies the events a consumer service parked (once their cause is fixed), idempotently,
    /// and removes those that now apply.
    Replay(ReplayArgs),
    /// Runs the embedded Kafka-compatible broker (Tansu, the `orderflow-broker` executable) alone.
    Broker(BrokerArgs),
}

#[derive(Debug, Args)]
struct UpArgs {
    /// Port of the front door.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    #[arg(long, default_value_t = 8081)]
    order_port: u16,
    /// Port of the first shipping instance; more instances get free ports.
    #[arg(long, default_value_t = 8082)]
    shipping_port: u16,
    /// Port of the first invoicing instance; more instances get free ports.
    #[arg(long, default_value_t = 8083)]
    invoicing_port: u16,
    /// Port of the embedded Kafka broker.
    #[arg(long, default_value_t = 9092)]
    broker_port: u16,
    /// More instances of a consumer service in its group, e.g. `--scale shipping=2`. Repeatable.
    #[arg(long, value_name = "SERVICE=COUNT")]
    scale: Vec<String>,
    /// Where SQLite files and the broker's storage live.
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Use this Kafka instead of the embedded broker.
    #[arg(long, env = "KAFKA_BROKERS")]
    kafka_brokers: Option<String>,
    /// Use this PostgreSQL (a schema per service) instead of SQLite files.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Leave a service that exits dead instead of restarting it.
    #[arg(long)]
    no_restart: bool,
    /// How orders travel: `kafka` (the embedded broker unless --kafka-brokers), or `feed` (the
    /// Atom feed, polled by shipping and invoicing; no broker at all).
    #[arg(long, env = "ORDERFLOW_TRANSPORT", value_enum, default_value_t = TransportArg::Kafka)]
    transport: TransportArg,
}

/// `--transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TransportArg {
    Kafka,
    Feed,
}

impl Default for UpArgs {
    fn default() -> Self {
        UpArgs::parse_from_defaults()
    }
}

impl UpArgs {
    /// `up` with every default (and environment variable) applied, for a bare `orderflow`.
    fn parse_from_defaults() -> Self {
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            up: UpArgs,
        }
        Defaults::parse_from(["orderflow"]).up
    }
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
    /// Kafka bootstrap brokers: host:port, several separated by commas.
    #[arg(long, env = "KAFKA_BROKERS", default_value = "localhost:9092")]
    kafka_brokers: String,
    /// The topic that carries orders.
    #[arg(long, env = "ORDERFLOW_KAFKA_TOPIC", default_value = orderflow_events::ORDER_TOPIC)]
    kafka_topic: String,
    /// PostgreSQL schema of this service (default: its name; `orders` for order).
    #[arg(long)]
    schema: Option<String>,
    /// How orders travel: `kafka`, or `feed` (the Atom feed; no broker).
    #[arg(long, env = "ORDERFLOW_TRANSPORT", value_enum, default_value_t = TransportArg::Kafka)]
    transport: TransportArg,
}

#[derive(Debug, Args)]
struct OrderArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// Entries per feed document (the current one and each archive page).
    #[arg(long, default_value_t = 100)]
    feed_page_size: u32,
    /// The URL readers reach order at, for the feed's links (default: taken from each request,
    /// honouring the front door's X-Forwarded-* headers).
    #[arg(long, env = "ORDERFLOW_PUBLIC_URL")]
    public_url: Option<String>,
}

#[derive(Debug, Args)]
struct ConsumerArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// With --transport feed: the order feed to poll.
    #[arg(
        long,
        env = "ORDERFLOW_FEED_URL",
        default_value = "http://127.0.0.1:8081/feed"
    )]
    feed_url: String,
    /// With --transport feed: milliseconds between polls.
    #[arg(long, default_value_t = 2000)]
    poll_interval_ms: u64,
    /// Consumer group (default: the service's name). Instances of one group share the partitions.
    #[arg(long, env = "ORDERFLOW_KAFKA_GROUP")]
    group: Option<String>,
    /// Seconds the group waits for an instance that stopped answering before moving its partitions.
    #[arg(long, default_value_t = 10)]
    session_timeout_secs: u64,
}

#[derive(Debug, Args)]
struct FrontDoorArgs {
    #[arg(long, default_value_t = 8080)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Base URL of an order instance. Repeatable.
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    order_url: Vec<String>,
    /// Base URL of a shipping instance. Repeatable.
    #[arg(long, default_value = "http://127.0.0.1:8082")]
    shipping_url: Vec<String>,
    /// Base URL of an invoicing instance. Repeatable.
    #[arg(long, default_value = "http://127.0.0.1:8083")]
    invoicing_url: Vec<String>,
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// The front door; the services are reached under its prefixes.
    #[arg(long, default_value = "http://localhost:8080/")]
    url: String,
    /// order's URL, instead of the front door's /order/ (skips the proxy).
    #[arg(long)]
    order_url: Option<String>,
    /// shipping's URL, instead of the front door's /shipping/.
    #[arg(long)]
    shipping_url: Option<String>,
    /// invoicing's URL, instead of the front door's /invoicing/.
    #[arg(long)]
    invoicing_url: Option<String>,
    /// Orders to place.
    #[arg(long, short = 'n', default_value_t = 1000)]
    orders: u64,
    /// Clients placing orders at once.
    #[arg(long, short = 'c', default_value_t = 16)]
    concurrency: usize,
    /// Orders per second (default: as fast as the clients go).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds to wait for every shipment and invoice.
    #[arg(long, default_value_t = 120)]
    settle_secs: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The front door; the services are reached under its prefixes.
    #[arg(long, default_value = "http://localhost:8080/")]
    url: String,
    #[arg(long)]
    order_url: Option<String>,
    #[arg(long)]
    shipping_url: Option<String>,
    #[arg(long)]
    invoicing_url: Option<String>,
    /// Seconds to wait for copies still on their way before reporting them missing.
    #[arg(long, default_value_t = 30)]
    settle_secs: u64,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// `shipping` or `invoicing`.
    #[arg(value_parser = ["shipping", "invoicing"])]
    service: String,
    /// The service's database (default: its SQLite file in --data-dir).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// PostgreSQL schema of the service (default: its name).
    #[arg(long)]
    schema: Option<String>,
}

#[derive(Debug, Args)]
struct BrokerArgs {
    #[arg(long, default_value_t = 9092)]
    port: u16,
    /// Host to listen on and to advertise to clients.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Where the broker keeps its SQLite storage (broker.db).
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
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

async fn up(args: UpArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut scale = orderflow_launcher::Scale::default();
    for option in &args.scale {
        scale.apply(option)?;
    }
    if let Some(brokers) = &args.kafka_brokers {
        KafkaSettings::new(brokers.as_str()).validate()?;
    }
    let executable = std::env::current_exe()?;
    let feed = args.transport == TransportArg::Feed;
    let broker_executable = match (&args.kafka_brokers, feed) {
        (None, false) => Some(orderflow_launcher::locate_broker(&executable)?),
        _ => None,
    };
    let settings = orderflow_launcher::UpSettings {
        executable,
        broker_executable,
        data_dir: args.data_dir,
        ports: orderflow_launcher::Ports {
            front_door: args.port,
            order: args.order_port,
            shipping: args.shipping_port,
            invoicing: args.invoicing_port,
            broker: args.broker_port,
        },
        scale,
        kafka_brokers: args.kafka_brokers,
        database_url: args.database_url,
        restart_delay: (!args.no_restart).then_some(Duration::from_secs(3)),
        feed,
    };
    orderflow_launcher::up(settings, shutdown).await
}

async fn front_door(args: FrontDoorArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut upstreams = Vec::new();
    for (service, urls) in [
        (Service::Order, &args.order_url),
        (Service::Shipping, &args.shipping_url),
        (Service::Invoicing, &args.invoicing_url),
    ] {
        for (n, url) in urls.iter().enumerate() {
            let label = if urls.len() == 1 {
                service.name().to_owned()
            } else {
                format!("{} #{}", service.name(), n + 1)
            };
            upstreams.push(Upstream {
                service,
                url: url.trim_end_matches('/').to_owned(),
                label,
            });
        }
    }
    let settings = FrontDoorSettings {
        bind: args.bind,
        port: args.port,
        upstreams,
    };
    let front_door = orderflow_front_door::FrontDoor::build(settings).await?;
    tracing::info!("Front door on http://localhost:{}/", front_door.port());
    front_door.run_until(shutdown).await
}

async fn load(args: LoadArgs) -> anyhow::Result<()> {
    let mut endpoints = orderflow_tools::client::Endpoints::behind(&args.url);
    let slash = |url: String| format!("{}/", url.trim_end_matches('/'));
    let mut direct = Vec::new();
    if let Some(url) = args.order_url {
        endpoints.order = slash(url);
        direct.push(format!("{}health", endpoints.order));
    }
    if let Some(url) = args.shipping_url {
        endpoints.shipping = slash(url);
        direct.push(format!("{}health", endpoints.shipping));
    }
    if let Some(url) = args.invoicing_url {
        endpoints.invoicing = slash(url);
        direct.push(format!("{}health", endpoints.invoicing));
    }
    if direct.len() == 3 {
        endpoints.health = direct;
    }
    let settings = orderflow_tools::load::LoadSettings {
        endpoints,
        orders: args.orders,
        concurrency: args.concurrency,
        rate: args.rate,
        settle_timeout: Duration::from_secs(args.settle_secs),
        progress: !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    orderflow_tools::load::run_and_print(settings, args.json).await
}

/// Applies service `S`'s parked events again.
async fn replay_service<S: orderflow_consumer::Service>(
    settings: &orderflow_storage::DatabaseSettings,
) -> anyhow::Result<orderflow_consumer::ReplayReport> {
    let db = orderflow_consumer::Application::<S>::connect_database(settings).await?;
    let handler = orderflow_consumer::Application::<S>::handler(db.clone());
    orderflow_consumer::replay_parked(&db, &handler).await
}

async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let url = args.database_url.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            args.data_dir.join(format!("{}.db", args.service)).display()
        )
    });
    let schema = args.schema.clone().unwrap_or_else(|| args.service.clone());
    let settings = orderflow_storage::DatabaseSettings::new(url, schema);
    let report = match args.service.as_str() {
        "shipping" => replay_service::<orderflow_shipping::Shipping>(&settings).await?,
        _ => replay_service::<orderflow_invoicing::Invoicing>(&settings).await?,
    };
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

async fn check(args: CheckArgs) -> anyhow::Result<()> {
    let mut endpoints = orderflow_tools::client::Endpoints::behind(&args.url);
    let slash = |url: String| format!("{}/", url.trim_end_matches('/'));
    if let Some(url) = args.order_url {
        endpoints.order = slash(url);
    }
    if let Some(url) = args.shipping_url {
        endpoints.shipping = slash(url);
    }
    if let Some(url) = args.invoicing_url {
        endpoints.invoicing = slash(url);
    }
    let settings = orderflow_tools::check::CheckSettings {
        endpoints,
        settle_timeout: Duration::from_secs(args.settle_secs),
    };
    let report = orderflow_tools::check::run(&settings).await?;
    report.print();
    anyhow::ensure!(
        report.consistent(),
        "orders, shipments and invoices are not consistent"
    );
    Ok(())
}

/// Runs the `orderflow-broker` executable next to this one, with the same options.
async fn broker(args: BrokerArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
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

fn order_settings(args: OrderArgs) -> anyhow::Result<orderflow_order::Settings> {
    let service = args.service;
    let transport = match service.transport {
        TransportArg::Kafka => orderflow_order::OrderTransport::Kafka(service.kafka()),
        TransportArg::Feed => orderflow_order::OrderTransport::Feed,
    };
    let mut settings = orderflow_order::Settings::new(service.database_url("order"), transport);
    settings.bind = service.bind;
    settings.port = service
        .port
        .unwrap_or(orderflow_order::config::DEFAULT_PORT);
    if let Some(schema) = service.schema {
        settings.database.schema = schema;
    }
    settings.feed_page_size = orderflow_feed::PageSize::new(args.feed_page_size)
        .ok_or_else(|| anyhow::anyhow!("--feed-page-size must be at least 1"))?;
    settings.public_url = args
        .public_url
        .map(|url| format!("{}/", url.trim_end_matches('/')));
    Ok(settings)
}

/// Runs consumer service `S` (shipping, invoicing) until `shutdown`.
async fn run_consumer<S: orderflow_consumer::Service>(
    args: ConsumerArgs,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let settings = consumer_settings::<S>(args)?;
    orderflow_consumer::Application::<S>::build(settings)
        .await?
        .run_until(shutdown)
        .await
}

fn consumer_settings<S: orderflow_consumer::Service>(
    args: ConsumerArgs,
) -> anyhow::Result<orderflow_consumer::ConsumerServiceSettings> {
    let service = args.service;
    let transport = match service.transport {
        TransportArg::Kafka => orderflow_consumer::Transport::Kafka(service.kafka()),
        TransportArg::Feed => {
            anyhow::ensure!(
                args.poll_interval_ms >= 10,
                "--poll-interval-ms must be at least 10"
            );
            let feed_url = args.feed_url.trim();
            anyhow::ensure!(
                feed_url.starts_with("http://") || feed_url.starts_with("https://"),
                "--feed-url must be an http:// or https:// URL, e.g. http://127.0.0.1:8081/feed; got `{feed_url}`"
            );
            let mut poller = orderflow_feed::PollerSettings::new(feed_url);
            poller.interval = Duration::from_millis(args.poll_interval_ms);
            orderflow_consumer::Transport::Feed(poller)
        }
    };
    let mut settings =
        orderflow_consumer::Application::<S>::default_settings(String::new(), transport);
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
        settings.group = group;
    }
    anyhow::ensure!(
        args.session_timeout_secs >= 1,
        "--session-timeout-secs must be at least 1"
    );
    settings.session_timeout = Duration::from_secs(args.session_timeout_secs);
    Ok(settings)
}
