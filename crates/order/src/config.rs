use std::net::{IpAddr, Ipv4Addr};

use orderflow_kafka::KafkaSettings;
use orderflow_storage::DatabaseSettings;

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
    pub kafka: KafkaSettings,
    pub relay: RelaySettings,
}

impl Settings {
    pub fn new(database_url: impl Into<String>, kafka: KafkaSettings) -> Self {
        Settings {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            database: DatabaseSettings::new(database_url, DEFAULT_SCHEMA),
            kafka,
            relay: RelaySettings::default(),
        }
    }
}
