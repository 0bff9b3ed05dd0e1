//! `orderflow up` as a user runs it: a process with its own ports and data folder, used through
//! the front door, stopped and started again.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use orderflow_testkit::{free_port, wait_until};
use tokio::process::{Child, Command};

const ORDERFLOW: &str = env!("CARGO_BIN_EXE_orderflow");
const DEADLINE: Duration = Duration::from_secs(90);

const WORKED_EXAMPLE_FORM: &[(&str, &str)] = &[
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

/// One `orderflow up` and what a user would know of it.
struct Up {
    child: Child,
    front_door: String,
    data_dir: PathBuf,
    log: PathBuf,
}

#[derive(Clone, Copy)]
struct Ports {
    front_door: u16,
    order: u16,
    shipping: u16,
    invoicing: u16,
    bonus: u16,
    broker: u16,
}

impl Ports {
    fn free() -> Self {
        Ports {
            front_door: free_port(),
            order: free_port(),
            shipping: free_port(),
            invoicing: free_port(),
            bonus: free_port(),
            broker: free_port(),
        }
    }
}

impl Up {
    async fn start(data_dir: &Path, ports: Ports, extra: &[&str]) -> Up {
        let log = data_dir.with_extension("log");
        let output = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(ORDERFLOW)
            .arg("up")
            .args(["--port", &ports.front_door.to_string()])
            .args(["--service-port", &format!("order={}", ports.order)])
            .args(["--service-port", &format!("shipping={}", ports.shipping)])
            .args(["--service-port", &format!("invoicing={}", ports.invoicing)])
            .args(["--service-port", &format!("bonus={}", ports.bonus)])
            .args(["--broker-port", &ports.broker.to_string()])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            // The embedded default, whatever the test run is pointed at.
            .env_remove("KAFKA_BROKERS")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .kill_on_drop(true)
            .spawn()
            .expect("orderflow up starts");
        let up = Up {
            child,
            front_door: format!("http://127.0.0.1:{}/", ports.front_door),
            data_dir: data_dir.to_owned(),
            log,
        };
        let client = reqwest::Client::new();
        let health = format!("{}health", up.front_door);
        wait_until(
            &format!("orderflow up to be healthy (log: {})", up.log.display()),
            DEADLINE,
            || async {
                client
                    .get(&health)
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
                    .map(drop)
            },
        )
        .await;
        up
    }

    /// Ctrl-C, as a user stops it; waits until it exited.
    async fn stop(mut self) {
        let pid = self.child.id().expect("running");
        kill(Pid::from_raw(pid as i32), Signal::SIGINT).unwrap();
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("up did not stop within 30 s (log: {})", self.log.display()))
            .unwrap();
        assert!(
            status.success(),
            "up exited with {status} (log: {})",
            self.log.display()
        );
    }

    async fn rows(&self, service: &str, table: &str) -> i64 {
        let url = format!(
            "sqlite://{}?mode=ro",
            self.data_dir.join(format!("{service}.db")).display()
        );
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let count: (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        count.0
    }

    async fn wait_for_rows(&self, service: &str, table: &str, expected: i64) {
        wait_until(
            &format!(
                "{expected} rows in {service}'s {table} (log: {})",
                self.log.display()
            ),
            DEADLINE,
            || async { (self.rows(service, table).await >= expected).then_some(()) },
        )
        .await;
        assert_eq!(
            self.rows(service, table).await,
            expected,
            "rows in {service}'s {table}"
        );
    }
}

fn temp_data_dir() -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("orderflow-up-{}", std::process::id()))
        .join(format!("{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn text(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn up_runs_the_worked_example_through_the_front_door_and_keeps_everything_across_a_restart() {
    // Arrange
    let data_dir = temp_data_dir();
    let ports = Ports::free();
    let up = Up::start(&data_dir, ports, &[]).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let home = text(&client, up.front_door.clone()).await;
    assert!(
        home.contains("Order Processing") && home.contains(r#"href="order/""#),
        "{home}"
    );
    // bonus joins later: routed and listed, but not running yet, and said so at once.
    assert!(
        home.contains("not running (<code>orderflow bonus</code>"),
        "{home}"
    );
    let absent = client
        .get(format!("{}bonus/", up.front_door))
        .send()
        .await
        .unwrap();
    assert_eq!(absent.status(), 502);

    // Act: the order form through the front door, as a browser posts it.
    let form = text(&client, format!("{}order/form.html", up.front_door)).await;
    assert!(form.contains(r#"action=".""#), "{form}");
    let placed = client
        .post(format!("{}order/", up.front_door))
        .form(WORKED_EXAMPLE_FORM)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(placed.status(), 200);
    assert!(
        placed
            .text()
            .await
            .unwrap()
            .contains("Action was successful!")
    );
    up.wait_for_rows("shipping", "shipment", 1).await;
    up.wait_for_rows("invoicing", "invoice", 1).await;
    let shipment = text(&client, format!("{}shipping/1", up.front_door)).await;
    assert!(
        shipment.contains("Eberhard Wolff") && shipment.contains("Ohlauer Str. 43"),
        "{shipment}"
    );
    let invoice = text(&client, format!("{}invoicing/1", up.front_door)).await;
    assert!(
        invoice.contains("eberhard.wolff@gmail.com") && invoice.contains("1764.0"),
        "{invoice}"
    );
    let redirect = client
        .get(format!("{}order", up.front_door))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.headers()["location"], "/order/");

    // Act: stop, start again on the same data, now with the bonus programme, which joins late.
    up.stop().await;
    let up = Up::start(&data_dir, ports, &["--with", "bonus"]).await;

    // Assert: nothing lost, nothing delivered twice, and a new order still flows.
    assert_eq!(up.rows("order", "orders").await, 1);
    assert_eq!(up.rows("shipping", "shipment").await, 1);
    assert_eq!(up.rows("invoicing", "invoice").await, 1);
    let placed = client
        .post(format!("{}order/", up.front_door))
        .form(WORKED_EXAMPLE_FORM)
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 200);
    up.wait_for_rows("shipping", "shipment", 2).await;
    up.wait_for_rows("invoicing", "invoice", 2).await;
    // bonus read the history from its beginning: both orders, 1764 points each.
    up.wait_for_rows("bonus", "bonus_order", 2).await;
    let points: serde_json::Value = client
        .get(format!("{}bonus/api/points", up.front_door))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(points[0]["customerId"], 1, "{points}");
    assert_eq!(points[0]["points"], 3528, "{points}");
    assert_eq!(points[0]["orders"], 2, "{points}");
    for service in [ports.shipping, ports.invoicing] {
        let health: serde_json::Value = client
            .get(format!("http://127.0.0.1:{service}/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            health["duplicatesIgnored"], 0,
            "nothing was delivered twice: {health}"
        );
        assert_eq!(
            health["applied"], 1,
            "only the new order was applied after the restart: {health}"
        );
    }
    up.stop().await;
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn up_with_two_shipping_instances_splits_the_partitions_and_ships_each_order_once() {
    // Arrange
    let data_dir = temp_data_dir();
    let ports = Ports::free();
    let up = Up::start(&data_dir, ports, &["--scale", "shipping=2"]).await;
    let client = reqwest::Client::new();
    let home = text(&client, up.front_door.clone()).await;
    assert!(
        home.contains("shipping #2"),
        "the home page shows the second instance: {home}"
    );
    let instances: Vec<String> = home
        .split("<tr><td>shipping #")
        .skip(1)
        .map(|row| {
            row.split("href=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(instances.len(), 2, "{home}");
    let partitions = wait_until("both instances to own partitions", DEADLINE, || async {
        let mut owned = Vec::new();
        for instance in &instances {
            let health: serde_json::Value = client
                .get(format!("{instance}health"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let mine: Vec<i64> = health["assignedPartitions"]
                .as_array()?
                .iter()
                .filter_map(|p| p.as_i64())
                .collect();
            owned.push(mine);
        }
        let total: usize = owned.iter().map(Vec::len).sum();
        (owned.iter().all(|mine| !mine.is_empty()) && total == 5).then_some(owned)
    })
    .await;
    assert_eq!(partitions.concat().len(), 5);

    // Act: ten orders through the front door's JSON API.
    for count in 1..=10 {
        let response = client
            .post(format!("{}order/api/orders", up.front_door))
            .json(&serde_json::json!({
                "customerId": 2,
                "shippingAddress": {"street": "Main St. 1", "zip": "12345", "city": "Springfield"},
                "billingAddress": {"street": "Bill St. 2", "zip": "54321", "city": "Shelbyville"},
                "orderLine": [{"count": count, "itemId": 3}]
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }

    // Assert: exactly one shipment per order, each made by one of the instances.
    up.wait_for_rows("shipping", "shipment", 10).await;
    up.wait_for_rows("invoicing", "invoice", 10).await;
    let mut applied = 0;
    for instance in &instances {
        let health: serde_json::Value = client
            .get(format!("{instance}health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        applied += health["applied"].as_i64().unwrap();
    }
    assert_eq!(applied, 10);
    // `orderflow check` agrees, through the front door.
    let checked = Command::new(ORDERFLOW)
        .args(["check", "--url", &up.front_door, "--settle-secs", "30"])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success()
            && said.contains("orders 10, shipments 10, invoices 10")
            && said.contains("consistent"),
        "{said}"
    );
    let log = std::fs::read_to_string(&up.log).unwrap();
    assert!(
        log.contains("shipping-1")
            && log.contains("shipping-2")
            && log.contains("partitions assigned"),
        "{log}"
    );
    up.stop().await;
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn up_with_the_feed_transport_needs_no_broker_and_links_right_behind_the_front_door() {
    // Arrange
    let data_dir = temp_data_dir();
    let ports = Ports::free();
    let up = Up::start(&data_dir, ports, &["--transport", "feed"]).await;
    let client = reqwest::Client::new();

    // Act
    let placed = client
        .post(format!("{}order/", up.front_door))
        .form(WORKED_EXAMPLE_FORM)
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 200);

    // Assert: no broker ran, and the order arrived through the feed.
    up.wait_for_rows("shipping", "shipment", 1).await;
    up.wait_for_rows("invoicing", "invoice", 1).await;
    assert!(
        !data_dir.join("broker.db").exists(),
        "no broker in feed mode"
    );
    // The feed's links lead back through the front door when read through it, and straight to
    // order when read there. (The pollers long-poll and may have had the entry before a plain
    // GET shows it, from the next whole second on.)
    wait_until("the entry to a plain GET", DEADLINE, || async {
        text(&client, format!("{}order/feed", up.front_door))
            .await
            .contains("<entry>")
            .then_some(())
    })
    .await;
    let behind = text(&client, format!("{}order/feed", up.front_door)).await;
    assert!(
        behind.contains(&format!(r#"src="{}order/order/1""#, up.front_door)),
        "{behind}"
    );
    let direct = text(&client, format!("http://127.0.0.1:{}/feed", ports.order)).await;
    assert!(
        direct.contains(&format!(
            r#"src="http://127.0.0.1:{}/order/1""#,
            ports.order
        )),
        "{direct}"
    );
    let linked = client
        .get(format!("{}order/order/1", up.front_door))
        .send()
        .await
        .unwrap();
    assert_eq!(linked.status(), 200, "the link behind the front door works");
    up.stop().await;
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// The pid of the process `up` runs as `victim` now: a service's from its `/health`, the
/// broker's from the process table (it has no HTTP side).
async fn pid_of(client: &reqwest::Client, ports: Ports, victim: &str) -> Option<i32> {
    let port = match victim {
        "shipping" => ports.shipping,
        "invoicing" => ports.invoicing,
        "kafka" => {
            let wanted = format!("--port\0{}\0", ports.broker);
            return std::fs::read_dir("/proc").ok()?.find_map(|entry| {
                let entry = entry.ok()?;
                let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
                let cmdline = String::from_utf8_lossy(&cmdline);
                (cmdline.contains("orderflow-broker") && cmdline.contains(&wanted))
                    .then(|| entry.file_name().to_str()?.parse().ok())?
            });
        }
        other => panic!("no such victim: {other}"),
    };
    let health: serde_json::Value = client
        .get(format!("http://127.0.0.1:{port}/health"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    health["process"]["pid"].as_i64().map(|pid| pid as i32)
}

/// `kill -9` of what runs as `victim` now, as the README tells users to do.
async fn kill_9(client: &reqwest::Client, ports: Ports, victim: &str) {
    let pid = wait_until(&format!("{victim}'s pid"), DEADLINE, || {
        pid_of(client, ports, victim)
    })
    .await;
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
}

/// `orderflow <args>` against the front door; its output, and whether it succeeded.
async fn orderflow(args: &[&str], front_door: &str) -> (bool, String) {
    let output = Command::new(ORDERFLOW)
        .args(args)
        .args(["--url", front_door])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_resilience_experiments_end_with_every_order_delivered_and_check_consistent() {
    // Arrange: `cargo run --release`, as a new user meets it.
    let data_dir = temp_data_dir();
    let ports = Ports::free();
    let up = Up::start(&data_dir, ports, &[]).await;
    let client = reqwest::Client::new();
    let mut placed = 0;

    for victim in ["shipping", "invoicing", "kafka"] {
        // Act: kill -9 at rest, place orders while it is down (or restarting).
        kill_9(&client, ports, victim).await;
        let (ok, said) = orderflow(&["load", "-n", "20", "-c", "2"], &up.front_door).await;
        assert!(ok, "load after kill -9 of {victim} at rest: {said}");
        placed += 20;
        // Assert: everything arrives once it is back.
        let (ok, said) = orderflow(&["check", "--settle-secs", "60"], &up.front_door).await;
        assert!(
            ok && said.contains(&format!(
                "orders {placed}, shipments {placed}, invoices {placed}"
            )),
            "check after kill -9 of {victim} at rest: {said} (log: {})",
            up.log.display()
        );

        // Act: kill -9 while `orderflow load` runs.
        let load = tokio::spawn({
            let front_door = up.front_door.clone();
            async move { orderflow(&["load", "-n", "1500", "-c", "16"], &front_door).await }
        });
        wait_until("load to place its first orders", DEADLINE, || async {
            let response = orderflow_tools::client::get(
                &client,
                &format!(
                    "http://127.0.0.1:{}/api/orders?after={placed}&limit=1",
                    ports.order
                ),
            )
            .await
            .ok()?;
            let first: Vec<serde_json::Value> = response.json().await.ok()?;
            (!first.is_empty()).then_some(())
        })
        .await;
        kill_9(&client, ports, victim).await;
        let (ok, said) = load.await.unwrap();
        placed += 1500;

        // Assert: load waited through the restart; nothing lost or doubled.
        assert!(
            ok,
            "load during kill -9 of {victim}: {said} (log: {})",
            up.log.display()
        );
        let (ok, said) = orderflow(&["check", "--settle-secs", "60"], &up.front_door).await;
        assert!(
            ok && said.contains(&format!(
                "orders {placed}, shipments {placed}, invoices {placed}"
            )),
            "check after kill -9 of {victim} under load: {said} (log: {})",
            up.log.display()
        );
    }
    let log = std::fs::read_to_string(&up.log).unwrap();
    for victim in ["shipping", "invoicing", "kafka"] {
        assert!(
            log.contains(&format!("{victim} exited: killed by SIGKILL"))
                && log.contains(&format!("{victim} started again (pid")),
            "up reported and restarted {victim}: {log}"
        );
    }
    up.stop().await;
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Where Debian's packages put ChromeDriver (`.ci/run` installs it).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// ChromeDriver and a headless Chromium session, for as long as the test holds it; `None` (and
/// a note) on a machine without them, unless `ORDERFLOW_REQUIRE_BROWSER` says they must be
/// there (CI sets it, so the browser test can never be skipped there).
async fn browser() -> Option<(Child, fantoccini::Client)> {
    if !Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var_os("ORDERFLOW_REQUIRE_BROWSER").is_none(),
            "ORDERFLOW_REQUIRE_BROWSER is set but {CHROMEDRIVER} is missing: apt-get install chromium chromium-driver"
        );
        eprintln!(
            "SKIPPED: no {CHROMEDRIVER} (apt-get install chromium chromium-driver runs this test)"
        );
        return None;
    }
    // Only loopback HTTP is spoken, but fantoccini's connector wants a provider all the same.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        }),
    );
    capabilities.insert(
        "goog:loggingPrefs".to_owned(),
        serde_json::json!({ "browser": "ALL" }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let client = wait_until("chromedriver to open a session", DEADLINE, || async {
        fantoccini::ClientBuilder::rustls()
            .ok()?
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
            .ok()
    })
    .await;
    Some((driver, client))
}

/// ChromeDriver's log of the browser console (`POST /session/{id}/se/log`), which the W3C
/// protocol lacks and fantoccini therefore has no method for.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(r#"{"type":"browser"}"#.to_owned()),
        )
    }
}

/// What the console said at level SEVERE (errors, failed requests) since the last call.
async fn console_errors(client: &fantoccini::Client) -> Vec<String> {
    let log = client.issue_cmd(BrowserLog).await.expect("the browser log");
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["level"] == "SEVERE")
        .map(|entry| entry["message"].to_string())
        .collect()
}

/// Places the worked example through the order form, as a user would.
async fn place_through_the_form(client: &fantoccini::Client, front_door: &str) {
    use fantoccini::Locator;
    client
        .goto(&format!("{front_door}order/form.html"))
        .await
        .unwrap();
    // The empty form has no line: "Add Line" first, as a user does.
    if client
        .find(Locator::Css("[name='orderLine[0].count']"))
        .await
        .is_err()
    {
        client
            .find(Locator::Css("button[name=addLine]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // The click posts the form and loads a new page: wait for it, not the old one.
        client
            .wait()
            .at_most(DEADLINE)
            .for_element(Locator::Css("[name='orderLine[0].count']"))
            .await
            .unwrap();
    }
    let form = client.form(Locator::Css("form")).await.unwrap();
    for (name, value) in WORKED_EXAMPLE_FORM.iter().filter(|(n, _)| *n != "submit") {
        form.set_by_name(name, value).await.unwrap();
    }
    client
        .find(Locator::Css("button[name=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = client.source().await.unwrap();
    assert!(page.contains("Success"), "{page}");
}

/// Waits, on the live page, for an element the CSS selector names.
async fn see(client: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(DEADLINE)
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("the live page never showed {css}: {error}"))
}

/// Waits until the live page shows order `order`'s copy in `service` as `state`.
async fn see_copy(client: &fantoccini::Client, order: i64, service: &str, state: &str) {
    let css =
        format!(r#"tr[data-order="{order}"] td[data-copy="{service}"][data-state="{state}"]"#);
    see(client, &css).await;
}

/// Waits for the element, then clicks it in the page's own script: the live page redraws
/// every second, so an element found a moment before may be gone by the time of a WebDriver
/// click.
async fn click(client: &fantoccini::Client, css: &str) {
    see(client, css).await;
    client
        .execute(
            "document.querySelector(arguments[0]).click()",
            vec![serde_json::json!(css)],
        )
        .await
        .unwrap_or_else(|error| panic!("cannot click {css}: {error}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn in_a_browser_the_live_page_follows_orders_and_the_lab_stops_and_starts_shipping() {
    // Arrange
    let Some((_driver, client)) = browser().await else {
        return;
    };
    let data_dir = temp_data_dir();
    let ports = Ports::free();
    let up = Up::start(&data_dir, ports, &[]).await;
    let front_door = up.front_door.clone();

    // Act and assert: the home page leads to the live page; an order placed through the form
    // completes its journey there.
    client.goto(&front_door).await.unwrap();
    client
        .find(fantoccini::Locator::LinkText("live page"))
        .await
        .expect("the home page links the live page");
    place_through_the_form(&client, &front_door).await;
    client.goto(&format!("{front_door}live")).await.unwrap();
    see_copy(&client, 1, "shipping", "stored").await;
    see_copy(&client, 1, "invoicing", "stored").await;
    see(
        &client,
        r#"[data-group="shipping"] td[data-partitions="0, 1, 2, 3, 4"]"#,
    )
    .await;

    // Act: stop shipping from the lab, place an order.
    click(
        &client,
        r#"button[data-process="shipping"][data-action="stop"]:enabled"#,
    )
    .await;
    see(
        &client,
        r#"tr[data-process="shipping"] td[data-state="stopped"]"#,
    )
    .await;
    place_through_the_form(&client, &front_door).await;
    client.goto(&format!("{front_door}live")).await.unwrap();

    // Assert: it waits for shipping, and invoicing has it.
    see_copy(&client, 2, "shipping", "waiting").await;
    see_copy(&client, 2, "invoicing", "stored").await;

    // Act: start shipping again.
    click(
        &client,
        r#"button[data-process="shipping"][data-action="start"]:enabled"#,
    )
    .await;

    // Assert: delivered late, nothing lost.
    see_copy(&client, 2, "shipping", "stored").await;
    let message = see(&client, "#lab-message").await.text().await.unwrap();
    assert!(message.contains("shipping started"), "{message}");
    up.wait_for_rows("shipping", "shipment", 2).await;

    // Assert: no page logged an error on the console (a failed request, a script error).
    for page in ["", "order/", "shipping/", "invoicing/", "live"] {
        client.goto(&format!("{front_door}{page}")).await.unwrap();
    }
    see(&client, r#"tr[data-order="2"]"#).await;
    let errors = console_errors(&client).await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");

    client.close().await.unwrap();
    up.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lab_refuses_to_run_when_the_front_door_is_not_on_a_loopback_address() {
    // Arrange: a front door on every address (the services stay on 127.0.0.1).
    let data_dir = temp_data_dir();
    let ports = Ports::free();
    let up = Up::start(&data_dir, ports, &["--bind", "0.0.0.0"]).await;
    let client = reqwest::Client::new();

    // Act
    let response = client
        .post(format!("{}lab/processes/shipping/stop", up.front_door))
        .header("x-orderflow-lab", "1")
        .send()
        .await
        .unwrap();

    // Assert: refused, saying why; shipping still runs; the live page says the lab is off.
    assert_eq!(response.status(), 403);
    let body: serde_json::Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("0.0.0.0") && error.contains("loopback"),
        "{body}"
    );
    let state: serde_json::Value = client
        .get(format!("{}live/state.json", up.front_door))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["lab"]["available"], false, "{state}");
    assert!(state["lab"].get("processes").is_none(), "{state}");
    let health = client
        .get(format!("http://127.0.0.1:{}/health", ports.shipping))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success());

    up.stop().await;
}
