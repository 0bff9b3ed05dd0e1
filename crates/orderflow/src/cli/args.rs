//! The command line: every subcommand's flags (clap, with environment variables).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use orderflow_kafka::KafkaSettings;

/// Asynchronous microservices: an order service and its consumers, integrated through Kafka or
/// an Atom feed. Without a subcommand, runs the whole system (`up`). Each consumer service
/// (shipping, invoicing, bonus) is a subcommand too, added from the CLI's table of consumers.
#[derive(Debug, Parser)]
#[command(name = "orderflow", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Runs the whole system: embedded broker, every service as its own process, front door.
    Up(UpArgs),
    /// Runs the order service: web UI, JSON API, outbox relay to Kafka (default port 8081).
    Order(OrderArgs),
    /// Runs the front door alone: home page and reverse proxy to services elsewhere.
    FrontDoor(FrontDoorArgs),
    /// Places orders against a running system and measures: throughput, latency to each
    /// consumer's copy, peak memory.
    Load(LoadArgs),
    /// Checks a running system: every consumer holds what it should of every order, nothing of
    /// an order that never was, nothing that differs. Exit status 0 only when consistent.
    Check(CheckArgs),
    /// Applies the events a consumer service parked (once their cause is fixed), idempotently,
    /// and removes those that now apply.
    Replay(ReplayArgs),
    /// Runs the embedded Kafka-compatible broker (Tansu, the `orderflow-broker` executable) alone.
    Broker(BrokerArgs),
}

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Port of the front door.
    #[arg(long, default_value_t = 8080)]
    pub(crate) port: u16,
    /// Address of the front door (the services always listen on 127.0.0.1). Another than a
    /// loopback address turns the live page's resilience lab off.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) bind: std::net::IpAddr,
    /// Another port for a service's (first) instance, e.g. `--service-port shipping=9082`
    /// (defaults: order 8081, shipping 8082, invoicing 8083, bonus 8084). Repeatable.
    #[arg(long, value_name = "SERVICE=PORT")]
    pub(crate) service_port: Vec<String>,
    /// Also start a consumer that does not run by default, e.g. `--with bonus`. Repeatable.
    #[arg(long, value_name = "SERVICE")]
    pub(crate) with: Vec<String>,
    /// Port of the embedded Kafka broker.
    #[arg(long, default_value_t = 9092)]
    pub(crate) broker_port: u16,
    /// More instances of a consumer service in its group, e.g. `--scale shipping=2`. Repeatable.
    #[arg(long, value_name = "SERVICE=COUNT")]
    pub(crate) scale: Vec<String>,
    /// Where SQLite files and the broker's storage live.
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "data")]
    pub(crate) data_dir: PathBuf,
    /// Use this Kafka instead of the embedded broker.
    #[arg(long, env = "KAFKA_BROKERS")]
    pub(crate) kafka_brokers: Option<String>,
    /// Use this PostgreSQL (a schema per service) instead of SQLite files.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
    /// Leave a service that exits dead instead of restarting it.
    #[arg(long)]
    pub(crate) no_restart: bool,
    /// How orders travel: `kafka` (the embedded broker unless --kafka-brokers), `amqp`
    /// (RabbitMQ: a node of its own in --data-dir, started by `up`, unless --amqp-url), or `feed`
    /// (the Atom feed, polled by the consumers; no broker at all).
    #[arg(long, env = "ORDERFLOW_TRANSPORT", value_enum, default_value_t = TransportArg::Kafka)]
    pub(crate) transport: TransportArg,
    /// How order writes its records (passed to order).
    #[command(flatten)]
    pub(crate) encoding: EncodingArgs,
    /// With --transport amqp: a RabbitMQ elsewhere, instead of a node of `up`'s own.
    #[arg(long, env = "AMQP_URL", hide_env_values = true)]
    pub(crate) amqp_url: Option<String>,
    /// With --transport amqp: the port of `up`'s own RabbitMQ node.
    #[arg(long, default_value_t = 5672)]
    pub(crate) amqp_port: u16,
    /// With --transport amqp: the services' queues (see `orderflow shipping --help`).
    #[arg(long, env = "ORDERFLOW_AMQP_QUEUE_TYPE", value_enum, default_value_t = QueueTypeArg::Classic)]
    pub(crate) amqp_queue_type: QueueTypeArg,
}

/// `--transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TransportArg {
    Kafka,
    /// RabbitMQ (AMQP 0-9-1).
    Amqp,
    Feed,
}

/// `--feed-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FeedFormatArg {
    Atom,
    Json,
    Rss,
}

/// `--amqp-queue-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum QueueTypeArg {
    Classic,
    Quorum,
    Stream,
}

/// Where RabbitMQ is, with `--transport amqp`.
#[derive(Debug, Clone, Args)]
pub(crate) struct AmqpArgs {
    /// With --transport amqp: RabbitMQ's URL.
    #[arg(
        long,
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f",
        hide_env_values = true
    )]
    pub(crate) amqp_url: String,
    /// With --transport amqp: the exchange order publishes to (its dead-letter exchange is
    /// `<exchange>.DLX`).
    #[arg(long, env = "ORDERFLOW_AMQP_EXCHANGE", default_value = "order")]
    pub(crate) amqp_exchange: String,
    /// With --transport amqp: the kind of queue a consumer service declares. `classic` or
    /// `quorum`: messages are gone once acknowledged, and a service started later sees only
    /// what is published after its queue exists; `stream`: the history stays, a service started
    /// later reads it from the first message (its instances then each read everything).
    #[arg(long, env = "ORDERFLOW_AMQP_QUEUE_TYPE", value_enum, default_value_t = QueueTypeArg::Classic)]
    pub(crate) amqp_queue_type: QueueTypeArg,
}

impl Default for UpArgs {
    fn default() -> Self {
        UpArgs::parse_from_defaults()
    }
}

impl UpArgs {
    /// `up` with every default (and environment variable) applied, for a bare `orderflow`.
    pub(crate) fn parse_from_defaults() -> Self {
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
pub(crate) struct ServiceArgs {
    /// Port of the web UI; 0 picks a free one.
    #[arg(long)]
    pub(crate) port: Option<u16>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) bind: IpAddr,
    /// postgres://user:password@host/db (a schema per service), or sqlite://file.db. Default: a
    /// SQLite file per service in --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
    /// Where the SQLite files live when no --database-url is given.
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "data")]
    pub(crate) data_dir: PathBuf,
    /// Kafka bootstrap brokers: host:port, several separated by commas.
    #[arg(long, env = "KAFKA_BROKERS", default_value = "localhost:9092")]
    pub(crate) kafka_brokers: String,
    /// The topic to read or write (default: `order`; bonus reads `order-state`).
    #[arg(long, env = "ORDERFLOW_KAFKA_TOPIC")]
    pub(crate) kafka_topic: Option<String>,
    /// PostgreSQL schema of this service (default: its name; `orders` for order).
    #[arg(long)]
    pub(crate) schema: Option<String>,
    /// How orders travel: `kafka`, `amqp` (RabbitMQ), or `feed` (the Atom feed; no broker).
    #[arg(long, env = "ORDERFLOW_TRANSPORT", value_enum, default_value_t = TransportArg::Kafka)]
    pub(crate) transport: TransportArg,
    #[command(flatten)]
    pub(crate) kafka_client: KafkaClientArgs,
    #[command(flatten)]
    pub(crate) amqp: AmqpArgs,
}

/// What matters about Kafka on a cluster. Producers always use `acks=all` and idempotence (but
/// on the embedded broker, which cannot take it); consumers store offsets only after the effect.
#[derive(Debug, Clone, Args)]
pub(crate) struct KafkaClientArgs {
    /// Replication factor of the topics orderflow creates (`order`, `order-state`,
    /// `order.DLT`, `order.schemas`): 3 on a three-broker cluster.
    #[arg(long, env = "ORDERFLOW_KAFKA_REPLICATION_FACTOR", default_value_t = 1)]
    pub(crate) kafka_replication_factor: i32,
    /// `min.insync.replicas` of the topics orderflow creates (default: the broker's); 2 with a
    /// replication factor of 3 keeps every acknowledged record on two brokers.
    #[arg(long, env = "ORDERFLOW_KAFKA_MIN_INSYNC_REPLICAS")]
    pub(crate) kafka_min_insync_replicas: Option<i32>,
    /// librdkafka's `client.rack`, so that consumers fetch from a replica in their rack (when
    /// the brokers set `replica.selector.class`).
    #[arg(long, env = "ORDERFLOW_KAFKA_CLIENT_RACK")]
    pub(crate) kafka_client_rack: Option<String>,
    /// Milliseconds an admin or metadata request may take.
    #[arg(
        long,
        env = "ORDERFLOW_KAFKA_REQUEST_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub(crate) kafka_request_timeout_ms: u64,
    /// Milliseconds a record may wait for its acknowledgement before the relay sends it again
    /// (it stays in the outbox meanwhile).
    #[arg(
        long,
        env = "ORDERFLOW_KAFKA_MESSAGE_TIMEOUT_MS",
        default_value_t = 20_000
    )]
    pub(crate) kafka_message_timeout_ms: u64,
    /// Milliseconds a connection to one broker may take to set up before the client tries
    /// another one.
    #[arg(
        long,
        env = "ORDERFLOW_KAFKA_SOCKET_CONNECTION_SETUP_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub(crate) kafka_socket_connection_setup_timeout_ms: u64,
}

#[derive(Debug, Args)]
pub(crate) struct OrderArgs {
    #[command(flatten)]
    pub(crate) service: ServiceArgs,
    /// Entries per feed document (the current one and each archive page).
    #[arg(long, default_value_t = 100)]
    pub(crate) feed_page_size: u32,
    /// The URL readers reach order at, for the feed's links (default: taken from each request,
    /// honouring the front door's X-Forwarded-* headers).
    #[arg(long, env = "ORDERFLOW_PUBLIC_URL")]
    pub(crate) public_url: Option<String>,
    #[command(flatten)]
    pub(crate) encoding: EncodingArgs,
}

/// How order writes its records on Kafka.
#[derive(Debug, Clone, Args)]
pub(crate) struct EncodingArgs {
    /// How records are written on Kafka: `json` (the contract's record, which the original
    /// consumers read) or `avro` (Avro's single-object encoding; the writer schema is published
    /// on `<topic>.schemas` before the first record).
    #[arg(long, env = "ORDERFLOW_FORMAT", value_enum, default_value_t = FormatArg::Json)]
    pub(crate) format: FormatArg,
    /// The version of the record's schema to write: 1 (the contract's fields) or 2 (items carry
    /// their category; the derived numberOfLines is dropped in Avro).
    #[arg(long, env = "ORDERFLOW_SCHEMA_VERSION", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=2))]
    pub(crate) schema_version: u32,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FormatArg {
    Json,
    Avro,
}

#[derive(Debug, Args)]
pub(crate) struct ConsumerArgs {
    #[command(flatten)]
    pub(crate) service: ServiceArgs,
    /// With --transport feed: the order feed to poll.
    #[arg(
        long,
        env = "ORDERFLOW_FEED_URL",
        default_value = "http://127.0.0.1:8081/feed"
    )]
    pub(crate) feed_url: String,
    /// With --transport feed: the feed format to ask for (`Accept`): `atom` (the contract's),
    /// `json` (JSON Feed 1.1) or `rss` (RSS 2.0). A feed that serves another format is read as
    /// what it says it is.
    #[arg(long, env = "ORDERFLOW_FEED_FORMAT", value_enum, default_value_t = FeedFormatArg::Atom)]
    pub(crate) feed_format: FeedFormatArg,
    /// With --transport feed: milliseconds between polls.
    #[arg(long, default_value_t = 2000)]
    pub(crate) poll_interval_ms: u64,
    /// With --transport feed: seconds the order service may hold a poll until the feed changes
    /// (long polling: `Prefer: wait`); 0 polls every --poll-interval-ms only. A feed that does
    /// not hold polls (the originals') is polled every --poll-interval-ms anyway.
    #[arg(long, env = "ORDERFLOW_FEED_WAIT_SECS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(0..=30))]
    pub(crate) feed_wait_secs: u64,
    /// Consumer group (default: the service's name). Instances of one group share the partitions.
    #[arg(long, env = "ORDERFLOW_KAFKA_GROUP")]
    pub(crate) group: Option<String>,
    /// Seconds the group waits for an instance that stopped answering before moving its partitions.
    #[arg(long, env = "ORDERFLOW_SESSION_TIMEOUT_SECS", default_value_t = 10)]
    pub(crate) session_timeout_secs: u64,
    /// The schema version records are read into, whatever version wrote them (Avro schema
    /// resolution): 2 (the newest), or 1 (as a consumer built before version 2 would).
    #[arg(long, env = "ORDERFLOW_READER_SCHEMA_VERSION", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=2))]
    pub(crate) reader_schema_version: u32,
}

#[derive(Debug, Args)]
pub(crate) struct FrontDoorArgs {
    #[arg(long, default_value_t = 8080)]
    pub(crate) port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) bind: IpAddr,
    /// An instance of a service, e.g. `--upstream shipping=http://127.0.0.1:8092`. Repeatable;
    /// a service named in none is routed to its default port on this machine.
    #[arg(long, value_name = "SERVICE=URL")]
    pub(crate) upstream: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct LoadArgs {
    /// The front door; the services are reached under its prefixes.
    #[arg(long, default_value = "http://localhost:8080/")]
    pub(crate) url: String,
    /// A service's own URL instead of the front door's prefix (skips the proxy), e.g.
    /// `--service-url order=http://127.0.0.1:8081`. Repeatable.
    #[arg(long, value_name = "SERVICE=URL")]
    pub(crate) service_url: Vec<String>,
    /// Orders to place.
    #[arg(long, short = 'n', default_value_t = 1000)]
    pub(crate) orders: u64,
    /// Clients placing orders at once.
    #[arg(long, short = 'c', default_value_t = 16)]
    pub(crate) concurrency: usize,
    /// Orders per second (default: as fast as the clients go).
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Seconds to wait for every consumer's copies.
    #[arg(long, default_value_t = 120)]
    pub(crate) settle_secs: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
    /// Only place the orders, without waiting for any consumer: builds a history for a
    /// consumer that joins later (e.g. bonus's replay).
    #[arg(long)]
    pub(crate) no_wait: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The front door; the services are reached under its prefixes.
    #[arg(long, default_value = "http://localhost:8080/")]
    pub(crate) url: String,
    /// A service's own URL instead of the front door's prefix, e.g.
    /// `--service-url shipping=http://127.0.0.1:8082`. Repeatable.
    #[arg(long, value_name = "SERVICE=URL")]
    pub(crate) service_url: Vec<String>,
    /// Seconds to wait for copies still on their way before reporting them missing.
    #[arg(long, default_value_t = 30)]
    pub(crate) settle_secs: u64,
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// A consumer service: shipping, invoicing, bonus.
    pub(crate) service: String,
    /// The service's database (default: its SQLite file in --data-dir).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "data")]
    pub(crate) data_dir: PathBuf,
    /// PostgreSQL schema of the service (default: its name).
    #[arg(long)]
    pub(crate) schema: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct BrokerArgs {
    #[arg(long, default_value_t = 9092)]
    pub(crate) port: u16,
    /// Host to listen on and to advertise to clients.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// Where the broker keeps its SQLite storage (broker.db).
    #[arg(long, env = "ORDERFLOW_DATA_DIR", default_value = "data")]
    pub(crate) data_dir: PathBuf,
}

impl ServiceArgs {
    pub(crate) fn database_url(&self, service: &str) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join(format!("{service}.db")).display()
            )
        })
    }

    /// The Kafka settings, on `--kafka-topic` or else `default_topic`.
    /// The RabbitMQ settings.
    pub(crate) fn amqp(&self) -> orderflow_amqp::AmqpSettings {
        let amqp = &self.amqp;
        orderflow_amqp::AmqpSettings::new(amqp.amqp_url.trim())
            .with_exchange(amqp.amqp_exchange.trim())
            .with_queue_type(match amqp.amqp_queue_type {
                QueueTypeArg::Classic => orderflow_amqp::QueueType::Classic,
                QueueTypeArg::Quorum => orderflow_amqp::QueueType::Quorum,
                QueueTypeArg::Stream => orderflow_amqp::QueueType::Stream,
            })
    }

    pub(crate) fn kafka(&self, default_topic: &str) -> KafkaSettings {
        let topic = self.kafka_topic.as_deref().unwrap_or(default_topic);
        let client = &self.kafka_client;
        let mut settings = KafkaSettings::new(self.kafka_brokers.trim()).with_topic(topic.trim());
        settings.replication_factor = client.kafka_replication_factor;
        settings.min_insync_replicas = client.kafka_min_insync_replicas;
        settings.client_rack = client
            .kafka_client_rack
            .as_deref()
            .map(str::trim)
            .filter(|rack| !rack.is_empty())
            .map(str::to_owned);
        settings.request_timeout = Duration::from_millis(client.kafka_request_timeout_ms);
        settings.message_timeout = Duration::from_millis(client.kafka_message_timeout_ms);
        settings.connection_setup_timeout =
            Duration::from_millis(client.kafka_socket_connection_setup_timeout_ms);
        settings
    }
}
