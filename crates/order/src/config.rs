use std::net::{IpAddr, Ipv4Addr};

use orderflow_kafka::KafkaSettings;
use orderflow_storage::DatabaseSettings;

use orderflow_feed::PageSize;

use crate::relay::RelaySettings;

/// The port order listens on unless told otherwise (contract section 1).
pub const DEFAULT_PORT: u16 = 8081;
/// The PostgreSQL schema of the order service. (`order` is a reserved word in SQL.)
pub const DEFAULT_SCHEMA: &str = "orders";

/// Everything the order service needs to start. Built by the CLI from flags and environment,
/// and by tests and the launcher directly.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub database: DatabaseSettings,
    pub transport: OrderTransport,
    pub relay: RelaySettings,
    /// Entries per feed document (the current one and each archive page).
    pub feed_page_size: PageSize,
    /// The URL readers reach this service at, with a trailing slash, for the feed's links. `None`:
    /// taken from each request (`Host`, or the front door's `X-Forwarded-*` headers).
    pub public_url: Option<String>,
}

/// Where new orders are announced. The feed is served in both cases; with `Feed`, nothing else.
#[derive(Debug, Clone)]
pub enum OrderTransport {
    Kafka(KafkaSettings),
    /// RabbitMQ: the `order` exchange, through the same outbox.
    Amqp(orderflow_amqp::AmqpSettings),
    Feed,
}

impl OrderTransport {
    /// `kafka`, `amqp`, `feed`: for `/health` and the journeys API.
    pub fn name(&self) -> &'static str {
        match self {
            OrderTransport::Kafka(_) => "kafka",
            OrderTransport::Amqp(_) => "amqp",
            OrderTransport::Feed => "feed",
        }
    }
}

impl Settings {
    pub fn new(database_url: impl Into<String>, transport: OrderTransport) -> Self {
        Settings {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            database: DatabaseSettings::new(database_url, DEFAULT_SCHEMA),
            transport,
            relay: RelaySettings::default(),
            feed_page_size: PageSize::default(),
            public_url: None,
        }
    }
}
