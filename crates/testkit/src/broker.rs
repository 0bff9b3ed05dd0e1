use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An Apache Kafka broker of one test's own, for tests in which the broker must be missing at
/// first. Started from `.ci/kafka/broker` with the jars in `$ORDERFLOW_KAFKA_LIBS`; killed on drop.
#[derive(Debug)]
pub struct KafkaBroker {
    child: Child,
    pub port: u16,
    _data: TempDir,
}

impl KafkaBroker {
    /// Starts a broker on `port` and waits until it accepts connections.
    pub async fn start(port: u16) -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.ci/kafka/broker");
        assert!(
            std::env::var_os("ORDERFLOW_KAFKA_LIBS").is_some(),
            "ORDERFLOW_KAFKA_LIBS is not set: this test starts a Kafka broker of its own from the \
             jars `.ci/kafka/install` fetches; run it through `.ci/run`"
        );
        let data = TempDir::new();
        let controller_port = crate::free_port();
        let log = std::fs::File::create(data.0.join("broker.log")).expect("broker log");
        let child = Command::new("bash")
            .arg(&script)
            .arg(&data.0)
            .arg(port.to_string())
            .arg(controller_port.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("broker script starts");
        let broker = KafkaBroker {
            child,
            port,
            _data: data,
        };
        crate::wait_until(
            "the test's Kafka broker to listen",
            Duration::from_secs(90),
            || async {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .ok()
                    .map(drop)
            },
        )
        .await;
        broker
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        // The script `exec`s java, so this is the broker process itself.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A folder removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path =
            std::env::temp_dir().join(format!("orderflow-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
