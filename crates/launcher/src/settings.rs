use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Where everything listens.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub front_door: u16,
    pub order: u16,
    pub shipping: u16,
    pub invoicing: u16,
    /// The embedded broker's port (unused with an external Kafka).
    pub broker: u16,
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            front_door: 8080,
            order: 8081,
            shipping: 8082,
            invoicing: 8083,
            broker: 9092,
        }
    }
}

/// How many instances of each consumer service run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    pub shipping: usize,
    pub invoicing: usize,
}

impl Default for Scale {
    fn default() -> Self {
        Scale {
            shipping: 1,
            invoicing: 1,
        }
    }
}

impl Scale {
    /// Applies one `service=count` option, as `--scale shipping=2` gives it.
    pub fn apply(&mut self, option: &str) -> anyhow::Result<()> {
        let (service, count) = option.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("--scale takes service=count, e.g. shipping=2; got `{option}`")
        })?;
        let count = usize::from_str(count.trim())
            .ok()
            .filter(|count| (1..=16).contains(count))
            .ok_or_else(|| {
                anyhow::anyhow!("--scale {option}: the count must be between 1 and 16")
            })?;
        match service.trim() {
            "shipping" => self.shipping = count,
            "invoicing" => self.invoicing = count,
            "order" => anyhow::bail!(
                "--scale order: order is not a consumer; more order instances would need a shared database (use --database-url with PostgreSQL and start them by hand)"
            ),
            other => anyhow::bail!("--scale {other}: only shipping and invoicing can be scaled"),
        }
        Ok(())
    }
}

/// Everything `orderflow up` needs.
#[derive(Debug, Clone)]
pub struct UpSettings {
    /// The `orderflow` binary the services run as (normally the running one).
    pub executable: PathBuf,
    /// The `orderflow-broker` binary, when the embedded broker is to run.
    pub broker_executable: Option<PathBuf>,
    /// SQLite files and the broker's storage.
    pub data_dir: PathBuf,
    pub ports: Ports,
    pub scale: Scale,
    /// A real Kafka instead of the embedded broker.
    pub kafka_brokers: Option<String>,
    /// PostgreSQL instead of SQLite files.
    pub database_url: Option<String>,
    /// Restart a child that exits, after this long; `None` leaves it dead.
    pub restart_delay: Option<Duration>,
    /// The feed recipe: shipping and invoicing poll order's Atom feed; no broker is started.
    pub feed: bool,
}
