use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use orderflow_directory::Service;

/// Where everything listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports {
    pub front_door: u16,
    /// The embedded broker's port (unused with an external Kafka).
    pub broker: u16,
    /// The first instance's port of each service named here; the others listen at their
    /// directory default.
    pub services: BTreeMap<&'static str, u16>,
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            front_door: 8080,
            broker: 9092,
            services: BTreeMap::new(),
        }
    }
}

impl Ports {
    /// Applies one `service=port` option, as `--service-port shipping=9082` gives it.
    pub fn apply(&mut self, option: &str) -> anyhow::Result<()> {
        let (service, port) = split_option(option, "--service-port", "shipping=9082")?;
        let port = u16::from_str(port)
            .map_err(|_| anyhow::anyhow!("--service-port {option}: `{port}` is not a port"))?;
        let service = orderflow_directory::named(service).ok_or_else(|| {
            anyhow::anyhow!("--service-port {option}: there is no service `{service}`")
        })?;
        self.services.insert(service.name, port);
        Ok(())
    }

    /// Where the first instance of `service` listens.
    pub fn of(&self, service: &Service) -> u16 {
        self.services
            .get(service.name)
            .copied()
            .unwrap_or(service.port)
    }
}

/// How many instances of each consumer service run: one of each that `up` starts by default,
/// none of the others (bonus joins later) unless `--with` or `--scale` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    counts: BTreeMap<&'static str, usize>,
}

impl Default for Scale {
    fn default() -> Self {
        Scale {
            counts: orderflow_directory::consumers()
                .map(|service| (service.name, usize::from(service.started_by_default())))
                .collect(),
        }
    }
}

impl Scale {
    /// Applies one `service=count` option, as `--scale shipping=2` gives it.
    pub fn apply(&mut self, option: &str) -> anyhow::Result<()> {
        let (service, count) = split_option(option, "--scale", "shipping=2")?;
        let count = usize::from_str(count)
            .ok()
            .filter(|count| (1..=16).contains(count))
            .ok_or_else(|| {
                anyhow::anyhow!("--scale {option}: the count must be between 1 and 16")
            })?;
        let service = self.consumer(service, "--scale")?;
        self.counts.insert(service.name, count);
        Ok(())
    }

    /// Starts one instance of a consumer `up` does not start by default (`--with bonus`).
    pub fn with(&mut self, service: &str) -> anyhow::Result<()> {
        let service = self.consumer(service.trim(), "--with")?;
        let count = self.counts.entry(service.name).or_default();
        *count = (*count).max(1);
        Ok(())
    }

    /// How many instances of `service` run.
    pub fn count(&self, service: &Service) -> usize {
        self.counts.get(service.name).copied().unwrap_or(0)
    }

    fn consumer(&self, name: &str, option: &str) -> anyhow::Result<&'static Service> {
        match orderflow_directory::named(name) {
            Some(service) if service.is_consumer() => Ok(service),
            Some(_) => anyhow::bail!(
                "{option} {name}: {name} is not a consumer; more order instances would need a shared database (use --database-url with PostgreSQL and start them by hand)"
            ),
            None => anyhow::bail!(
                "{option} {name}: the consumer services are {}",
                orderflow_directory::consumer_names()
            ),
        }
    }
}

/// `name=value`, trimmed, or an error that shows `example`.
fn split_option<'a>(
    option: &'a str,
    flag: &str,
    example: &str,
) -> anyhow::Result<(&'a str, &'a str)> {
    let (name, value) = option.split_once('=').ok_or_else(|| {
        anyhow::anyhow!("{flag} takes service=value, e.g. {example}; got `{option}`")
    })?;
    Ok((name.trim(), value.trim()))
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
    /// The feed recipe: the consumers poll order's Atom feed; no broker is started.
    pub feed: bool,
    /// The front door's address. The resilience lab runs only on a loopback address.
    pub bind: std::net::IpAddr,
    /// More flags for order, e.g. `--format avro --schema-version 2`.
    pub order_flags: Vec<String>,
    /// The AMQP recipe: RabbitMQ instead of Kafka.
    pub amqp: Option<AmqpUp>,
}

/// `up --transport amqp`.
#[derive(Debug, Clone)]
pub struct AmqpUp {
    /// A RabbitMQ elsewhere (`--amqp-url`); `None`: `up` runs a node of its own in the data
    /// folder, on `port`.
    pub url: Option<String>,
    pub port: u16,
    /// `classic`, `quorum` or `stream`, for every service.
    pub queue_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_starts_the_default_consumers_once_and_the_late_ones_when_asked() {
        let mut scale = Scale::default();
        assert_eq!(scale.count(&orderflow_directory::SHIPPING), 1);
        assert_eq!(scale.count(&orderflow_directory::BONUS), 0);
        scale.apply("shipping = 3").unwrap();
        scale.with("bonus").unwrap();
        assert_eq!(scale.count(&orderflow_directory::SHIPPING), 3);
        assert_eq!(scale.count(&orderflow_directory::BONUS), 1);
        assert_eq!(scale.count(&orderflow_directory::ORDER), 0);
    }

    #[test]
    fn scale_refuses_what_cannot_be_scaled() {
        let mut scale = Scale::default();
        for (option, says) in [
            ("order=2", "not a consumer"),
            ("billing=2", "shipping, invoicing, bonus"),
            ("shipping=0", "between 1 and 16"),
            ("shipping", "service=value"),
        ] {
            let error = scale.apply(option).unwrap_err().to_string();
            assert!(error.contains(says), "{option}: {error}");
        }
        assert!(scale.with("order").is_err());
    }

    #[test]
    fn ports_default_to_the_directory() {
        let mut ports = Ports::default();
        assert_eq!(ports.of(&orderflow_directory::BONUS), 8084);
        ports.apply("bonus=9084").unwrap();
        assert_eq!(ports.of(&orderflow_directory::BONUS), 9084);
        assert!(ports.apply("bonus=x").is_err());
        assert!(ports.apply("billing=1").is_err());
    }
}
