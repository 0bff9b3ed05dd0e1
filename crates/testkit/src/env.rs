use std::net::TcpListener;

/// Where the tests' PostgreSQL and Kafka are.
#[derive(Debug, Clone)]
pub struct TestEnv {
    /// `DATABASE_URL`: a PostgreSQL URL. Tests create schemas of their own in it.
    pub database_url: String,
    /// `KAFKA_BROKERS`: the broker list. Tests create topics of their own on it.
    pub kafka_brokers: String,
}

impl TestEnv {
    /// Reads `DATABASE_URL` and `KAFKA_BROKERS`, or stops the test with an explanation.
    pub fn from_env() -> Self {
        let read = |name: &str| {
            std::env::var(name).ok().filter(|value| !value.trim().is_empty()).unwrap_or_else(|| {
                panic!(
                    "{name} is not set. These tests run against a real PostgreSQL and Apache Kafka: \
                     `.ci/run` starts both and runs the tests, or set DATABASE_URL and KAFKA_BROKERS \
                     to ones you run yourself (see README.md)."
                )
            })
        };
        TestEnv {
            database_url: read("DATABASE_URL"),
            kafka_brokers: read("KAFKA_BROKERS"),
        }
    }
}

/// Names that belong to one test only: its PostgreSQL schemas, its topic, its consumer groups.
#[derive(Debug, Clone)]
pub struct Isolation {
    /// A short random tag, e.g. `t3f9a0c1d`.
    pub tag: String,
}

impl Isolation {
    pub fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Isolation {
            tag: format!("t{}", &id[..10]),
        }
    }

    /// The schema for `service` (`t3f9a0c1d_shipping`).
    pub fn schema(&self, service: &str) -> String {
        format!("{}_{service}", self.tag)
    }

    /// The test's order topic (`order-t3f9a0c1d`).
    pub fn topic(&self) -> String {
        format!("order-{}", self.tag)
    }

    /// The consumer group for `service` (`shipping-t3f9a0c1d`).
    pub fn group(&self, service: &str) -> String {
        format!("{service}-{}", self.tag)
    }
}

impl Default for Isolation {
    fn default() -> Self {
        Self::new()
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("no free port")
}
