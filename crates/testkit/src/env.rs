use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Where the tests' database and Kafka are.
///
/// With `DATABASE_URL` and `KAFKA_BROKERS` set (as `.ci/run` sets them), a real PostgreSQL and
/// Kafka; without, the embedded default: a SQLite file per service and test, and one embedded
/// broker (`orderflow broker`) per test binary.
#[derive(Debug, Clone)]
pub struct TestEnv {
    database: Database,
    /// The broker list. Tests create topics of their own on it.
    pub kafka_brokers: String,
    /// Whether `kafka_brokers` is the embedded broker.
    pub embedded_broker: bool,
}

#[derive(Debug, Clone)]
enum Database {
    /// A PostgreSQL URL; tests create schemas of their own in it.
    Postgres(String),
    /// A folder for SQLite files.
    Sqlite(PathBuf),
}

impl TestEnv {
    /// Reads `DATABASE_URL` and `KAFKA_BROKERS`, falling back to SQLite and an embedded broker
    /// run by `broker_binary` (`env!("CARGO_BIN_EXE_orderflow-broker")`).
    pub fn from_env(broker_binary: &str) -> Self {
        let read = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        };
        let database = match read("DATABASE_URL") {
            Some(url) => Database::Postgres(url),
            None => Database::Sqlite(temp_dir("sqlite")),
        };
        let (kafka_brokers, embedded_broker) = match read("KAFKA_BROKERS") {
            Some(brokers) => (brokers, false),
            None => (shared_embedded_broker(broker_binary).to_owned(), true),
        };
        TestEnv {
            database,
            kafka_brokers,
            embedded_broker,
        }
    }

    /// The database URL and schema `service` uses in the test isolated by `isolation`.
    pub fn database(&self, isolation: &Isolation, service: &str) -> (String, String) {
        let schema = isolation.schema(service);
        match &self.database {
            Database::Postgres(url) => (url.clone(), schema),
            Database::Sqlite(folder) => (
                format!(
                    "sqlite://{}?mode=rwc",
                    folder.join(format!("{schema}.db")).display()
                ),
                schema,
            ),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.database, Database::Postgres(_))
    }

    /// `SQLite and the embedded broker`, or `PostgreSQL and Apache Kafka`, for reports.
    pub fn broker_name(&self) -> &'static str {
        match (self.is_postgres(), self.embedded_broker) {
            (false, true) => "SQLite and the embedded broker",
            (true, true) => "PostgreSQL and the embedded broker",
            (false, false) => "SQLite and Apache Kafka",
            (true, false) => "PostgreSQL and Apache Kafka",
        }
    }
}

/// The embedded broker all tests of one test binary share: started on first use, stopped when
/// the test binary exits (its stdin, a pipe held here, closes then).
fn shared_embedded_broker(broker_binary: &str) -> &'static str {
    static BROKER: OnceLock<(String, Child, ChildStdin)> = OnceLock::new();
    let (brokers, _, _) = BROKER.get_or_init(|| {
        let port = free_port();
        let (child, lifeline) =
            spawn_embedded_broker(broker_binary, port, &temp_dir("broker"), &[]);
        (format!("127.0.0.1:{port}"), child, lifeline)
    });
    brokers
}

/// Runs `orderflow-broker` on `port`; it stops when the returned stdin is dropped.
pub(crate) fn spawn_embedded_broker(
    broker_binary: &str,
    port: u16,
    data_dir: &std::path::Path,
    extra_args: &[String],
) -> (Child, ChildStdin) {
    // Appended, so that a restarted broker's log follows the one before.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(data_dir.join("broker.log"))
        .expect("broker log");
    let mut child = Command::new(broker_binary)
        .args(["--port", &port.to_string(), "--data-dir"])
        .arg(data_dir)
        .args(extra_args)
        .env("ORDERFLOW_EXIT_WITH_PARENT", "1")
        .stdin(Stdio::piped())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("orderflow broker starts");
    let lifeline = child.stdin.take().expect("stdin pipe");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let mut text = String::new();
            let _ = std::fs::File::open(data_dir.join("broker.log"))
                .and_then(|mut f| f.read_to_string(&mut text));
            panic!("the embedded broker did not start on port {port}:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, lifeline)
}

/// A fresh folder under the system's temporary folder.
pub(crate) fn temp_dir(what: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "orderflow-test-{what}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&path).expect("temp dir");
    path
}

/// Names that belong to one test only: its PostgreSQL schemas (or SQLite files), its topic, its
/// consumer groups.
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

/// A port nobody listens on right now, and that no other `free_port` call hands out again.
///
/// Asking the kernel for port 0 and closing the socket is racy when tests run in parallel:
/// the kernel hands the same ephemeral port to the next `bind(0)` or outgoing connection of
/// any process, so two tests' services ended up on one port (a CI run once asked its order
/// service for the form and was answered by another test's invoicing). So the ports come from
/// below the kernel's ephemeral range, which nothing takes without asking for it by number,
/// from a cursor shared by the whole test binary and started at a place chosen by the process
/// id so that two binaries rarely walk the same ports; each is still checked to be bindable.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    // Below Linux's default ephemeral range (32768-60999) and above the well-known services.
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: OnceLock<AtomicU32> = OnceLock::new();
    let next = NEXT.get_or_init(|| AtomicU32::new(std::process::id().wrapping_mul(7_919) % COUNT));
    for _ in 0..COUNT {
        let port = (FIRST + next.fetch_add(1, Ordering::Relaxed) % COUNT) as u16;
        // The wildcard address: a port bound on 127.0.0.1 or on any address refuses it.
        if TcpListener::bind(("0.0.0.0", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {FIRST} and {}", FIRST + COUNT)
}
