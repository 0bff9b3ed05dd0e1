use std::time::Duration;

use orderflow_consumer::ConsumerState;
use orderflow_kafka::KafkaSettings;
use orderflow_storage::Database;
use orderflow_testkit::{Isolation, TestEnv, wait_until};
use sqlx::Row;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The binary under test.
pub const ORDERFLOW: &str = env!("CARGO_BIN_EXE_orderflow");
/// The embedded broker, for runs without `KAFKA_BROKERS`.
pub const ORDERFLOW_BROKER: &str = env!("CARGO_BIN_EXE_orderflow-broker");

/// How long a test waits for an asynchronous outcome before it fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The worked example of contract section 6, as the order form posts it.
pub const WORKED_EXAMPLE_FORM: &[(&str, &str)] = &[
    ("customer", "1"),
    ("shippingAddress.street", "Ohlauer Str. 43"),
    ("shippingAddress.zip", "10999"),
    ("shippingAddress.city", "Berlin"),
    ("billingAddress.street", "Krischerstr. 100"),
    ("billingAddress.zip", "40789"),
    ("billingAddress.city", "Monheim am Rhein"),
    ("orderLine[0].count", "42"),
    ("orderLine[0].item", "1"),
    ("submit", ""),
];

/// The services of one test, each in this process with its own shutdown, sharing the test's
/// schemas, topic and groups.
pub struct TestSystem {
    pub env: TestEnv,
    pub iso: Isolation,
    pub http: reqwest::Client,
    /// Cancelled on drop: stops every service the test started.
    shutdown: CancellationToken,
}

pub struct RunningOrder {
    pub url: String,
    pub db: Database,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

pub struct RunningConsumer {
    pub url: String,
    pub state: ConsumerState,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl TestSystem {
    pub fn new() -> Self {
        orderflow_testkit::capture_logs();
        TestSystem {
            env: TestEnv::from_env(ORDERFLOW_BROKER),
            iso: Isolation::new(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            shutdown: CancellationToken::new(),
        }
    }

    /// RabbitMQ settings with the test's own exchange (its name is the test's topic's), on
    /// `url`, with `queue_type` queues.
    pub fn amqp(
        &self,
        url: &str,
        queue_type: orderflow_amqp::QueueType,
    ) -> orderflow_amqp::AmqpSettings {
        orderflow_amqp::AmqpSettings::new(url)
            .with_exchange(self.iso.topic())
            .with_queue_type(queue_type)
    }

    /// The test's topic on the shared broker.
    pub fn kafka(&self) -> KafkaSettings {
        KafkaSettings::new(&self.env.kafka_brokers).with_topic(self.iso.topic())
    }

    pub async fn start_order(&self) -> RunningOrder {
        self.start_order_with(self.kafka()).await
    }

    pub async fn start_order_with(&self, kafka: KafkaSettings) -> RunningOrder {
        self.start_order_on(orderflow_order::OrderTransport::Kafka(kafka), 0, None)
            .await
    }

    /// order with the feed recipe (no Kafka), on `port` (0: any), with feed pages of `page_size`.
    pub async fn start_order_feed(&self, port: u16, page_size: Option<u32>) -> RunningOrder {
        self.start_order_on(orderflow_order::OrderTransport::Feed, port, page_size)
            .await
    }

    /// order publishing to RabbitMQ with `amqp`.
    pub async fn start_order_amqp(&self, amqp: orderflow_amqp::AmqpSettings) -> RunningOrder {
        self.start_order_on(orderflow_order::OrderTransport::Amqp(amqp), 0, None)
            .await
    }

    async fn start_order_on(
        &self,
        transport: orderflow_order::OrderTransport,
        port: u16,
        page_size: Option<u32>,
    ) -> RunningOrder {
        let (url, schema) = self.env.database(&self.iso, "orders");
        let mut settings = orderflow_order::Settings::new(url, transport);
        settings.port = port;
        settings.database.schema = schema;
        if let Some(size) = page_size {
            settings.feed_page_size = orderflow_feed::PageSize::new(size).unwrap();
        }
        let app = orderflow_order::Application::build(settings)
            .await
            .expect("order starts");
        let (url, db) = (
            format!("http://127.0.0.1:{}/", app.port()),
            app.database().clone(),
        );
        let stop = self.shutdown.child_token();
        let task = tokio::spawn(app.run_until(stop.clone()));
        RunningOrder {
            url,
            db,
            stop,
            task,
        }
    }

    pub async fn start_shipping(&self) -> RunningConsumer {
        self.start_shipping_with(self.kafka()).await
    }

    pub async fn start_shipping_with(&self, kafka: KafkaSettings) -> RunningConsumer {
        self.start_shipping_via(orderflow_consumer::Transport::Kafka(kafka))
            .await
    }

    pub async fn start_shipping_via(
        &self,
        transport: orderflow_consumer::Transport,
    ) -> RunningConsumer {
        self.start_consumer::<orderflow_shipping::Shipping>(transport, "shipping")
            .await
    }

    pub async fn start_invoicing(&self) -> RunningConsumer {
        self.start_invoicing_with(self.kafka()).await
    }

    pub async fn start_invoicing_with(&self, kafka: KafkaSettings) -> RunningConsumer {
        self.start_invoicing_via(orderflow_consumer::Transport::Kafka(kafka))
            .await
    }

    pub async fn start_invoicing_via(
        &self,
        transport: orderflow_consumer::Transport,
    ) -> RunningConsumer {
        self.start_consumer::<orderflow_invoicing::Invoicing>(transport, "invoicing")
            .await
    }

    /// Bonus on the test's order-state topic.
    pub async fn start_bonus(&self) -> RunningConsumer {
        let kafka = self.kafka();
        let state = kafka.clone().with_topic(kafka.state_topic());
        self.start_bonus_via(orderflow_consumer::Transport::Kafka(state), "bonus")
            .await
    }

    /// Bonus reading `transport`, its database and group named `instance` (another name: an
    /// instance that starts from an empty database).
    pub async fn start_bonus_via(
        &self,
        transport: orderflow_consumer::Transport,
        instance: &str,
    ) -> RunningConsumer {
        self.start_consumer::<orderflow_bonus::Bonus>(transport, instance)
            .await
    }

    /// Consumer service `S` in this process, its database, schema and group named `instance`.
    pub async fn start_consumer<S: orderflow_consumer::Service>(
        &self,
        transport: orderflow_consumer::Transport,
        instance: &str,
    ) -> RunningConsumer {
        let settings = self.consumer_settings(
            instance,
            orderflow_consumer::Application::<S>::default_settings(String::new(), transport),
        );
        let app = orderflow_consumer::Application::<S>::build(settings)
            .await
            .unwrap_or_else(|error| panic!("{instance} starts: {error:#}"));
        let (url, state) = (
            format!("http://127.0.0.1:{}/", app.port()),
            app.state().clone(),
        );
        let stop = self.shutdown.child_token();
        let task = tokio::spawn(app.run_until(stop.clone()));
        RunningConsumer {
            url,
            state,
            stop,
            task,
        }
    }

    fn consumer_settings(
        &self,
        service: &str,
        mut settings: orderflow_consumer::ConsumerServiceSettings,
    ) -> orderflow_consumer::ConsumerServiceSettings {
        let (url, schema) = self.env.database(&self.iso, service);
        settings.port = 0;
        settings.database.url = url;
        settings.database.schema = schema;
        settings.group = self.iso.group(service);
        settings.session_timeout = Duration::from_secs(6);
        settings
    }

    /// Posts the order form.
    pub async fn post_form(
        &self,
        order: &RunningOrder,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(&order.url)
            .form(form)
            .send()
            .await
            .expect("order answers")
    }

    /// Places an order through the JSON API and returns its id.
    pub async fn place_json_order(&self, order: &RunningOrder, count: i64) -> i64 {
        let response = self
            .http
            .post(format!("{}api/orders", order.url))
            .json(&serde_json::json!({
                "customerId": 2,
                "shippingAddress": {"street": "Main St. 1", "zip": "12345", "city": "Springfield"},
                "billingAddress": {"street": "Bill St. 2", "zip": "54321", "city": "Shelbyville"},
                "orderLine": [{"count": count, "itemId": 2}, {"count": 1, "itemId": 4}]
            }))
            .send()
            .await
            .expect("order answers");
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        let body: serde_json::Value = response.json().await.unwrap();
        body["id"].as_i64().unwrap()
    }

    pub async fn get_text(&self, url: String) -> (u16, String) {
        let response = self.http.get(url).send().await.expect("service answers");
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

/// `orderflow <service>` as its own process (so that it can be killed with SIGKILL), on the
/// test's database, broker and group, reading `topic`, its output appended to `log`.
pub fn spawn_consumer(
    system: &TestSystem,
    service: &str,
    topic: &str,
    log: &std::path::Path,
) -> tokio::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let (database_url, schema) = system.env.database(&system.iso, service);
    tokio::process::Command::new(ORDERFLOW)
        .args([service, "--port", "0"])
        .args(["--database-url", &database_url])
        .args(["--schema", &schema])
        .args(["--kafka-brokers", &system.env.kafka_brokers])
        .args(["--kafka-topic", topic])
        .args(["--group", &system.iso.group(service)])
        .args(["--session-timeout-secs", "6"])
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| panic!("orderflow {service} starts: {error}"))
}

/// A poller of `feed_url` that polls every 50 ms, so tests need not wait for the default.
pub fn feed(feed_url: &str) -> orderflow_consumer::Transport {
    let mut settings = orderflow_feed::PollerSettings::new(feed_url);
    settings.interval = Duration::from_millis(50);
    orderflow_consumer::Transport::Feed(settings)
}

impl Drop for TestSystem {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl RunningOrder {
    pub fn feed_url(&self) -> String {
        format!("{}feed", self.url)
    }

    /// Stops order (gracefully) and waits until its port is free again.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.expect("no panic").expect("stopped cleanly");
    }
}

impl RunningConsumer {
    /// Stops this instance (gracefully: commits what it processed) and waits until it stopped.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.expect("no panic").expect("stopped cleanly");
    }

    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }
}

/// `SELECT COUNT(*) FROM <table>`.
pub async fn count(db: &Database, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(db.pool())
        .await
        .expect("count")
        .get("n")
}

/// Waits until `table` has exactly `expected` rows.
pub async fn wait_for_rows(db: &Database, table: &str, expected: i64) {
    wait_until(&format!("{expected} rows in {table}"), DEADLINE, || async {
        (count(db, table).await >= expected).then_some(())
    })
    .await;
    assert_eq!(count(db, table).await, expected, "rows in {table}");
}

/// `orderflow check`'s verdict on order, shipping and invoicing.
pub async fn check_shipping_and_invoicing(
    order: &RunningOrder,
    shipping: &RunningConsumer,
    invoicing: &RunningConsumer,
) -> orderflow_tools::check::CheckReport {
    use orderflow_tools::client::ConsumerEndpoint;
    let settings = orderflow_tools::check::CheckSettings {
        endpoints: orderflow_tools::client::Endpoints {
            order: order.url.clone(),
            consumers: vec![
                ConsumerEndpoint {
                    service: &orderflow_directory::SHIPPING,
                    url: shipping.url.clone(),
                },
                ConsumerEndpoint {
                    service: &orderflow_directory::INVOICING,
                    url: invoicing.url.clone(),
                },
            ],
            health: Vec::new(),
        },
        views: vec![
            orderflow_shipping::Application::check_view("shipments"),
            orderflow_invoicing::Application::check_view("invoices"),
        ],
        settle_timeout: DEADLINE,
    };
    orderflow_tools::check::run(&settings)
        .await
        .expect("check runs")
}

/// Waits until order's outbox is empty: every event acknowledged by the broker.
pub async fn wait_until_published(order: &RunningOrder) {
    wait_until("order's outbox published", DEADLINE, || async {
        let pending: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM order_event WHERE published_ms IS NULL")
                .fetch_one(order.db.pool())
                .await
                .unwrap()
                .get("n");
        (pending == 0).then_some(())
    })
    .await;
}
