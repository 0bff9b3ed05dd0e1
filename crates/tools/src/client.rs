//! The HTTP calls the tools make.

use std::time::Duration;

use anyhow::{Context, bail};
use orderflow_directory::Service;
use serde::Deserialize;
use serde_json::json;

/// Where the services are: base URLs with a trailing slash.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub order: String,
    /// Every consumer service to read (from the directory), each at one instance.
    pub consumers: Vec<ConsumerEndpoint>,
    /// Every `/health` to read process figures from (the front door's gathers all instances).
    pub health: Vec<String>,
}

/// One consumer service, where it is read.
#[derive(Debug, Clone)]
pub struct ConsumerEndpoint {
    pub service: &'static Service,
    pub url: String,
}

impl ConsumerEndpoint {
    /// Its check view: every copy it holds, with when it was stored (`/api/check`).
    pub fn check_url(&self) -> String {
        format!("{}api/check", self.url)
    }

    /// Whether a run must wait for it: a consumer `up` starts by default must be there; one
    /// that joins later (bonus) is read only when it runs.
    pub fn required(&self) -> bool {
        self.service.started_by_default()
    }
}

impl Endpoints {
    /// The services behind a front door at `front_door` (e.g. `http://localhost:8080/`).
    pub fn behind(front_door: &str) -> Self {
        let base = slash(front_door);
        Endpoints {
            order: format!("{base}order/"),
            consumers: orderflow_directory::consumers()
                .map(|service| ConsumerEndpoint {
                    service,
                    url: format!("{base}{}/", service.name),
                })
                .collect(),
            health: vec![format!("{base}health")],
        }
    }

    /// Reads a service at `url` instead (`--service-url shipping=http://127.0.0.1:8082`).
    pub fn set(&mut self, option: &str) -> anyhow::Result<()> {
        let (name, url) = option.split_once('=').ok_or_else(|| {
            anyhow::anyhow!(
                "--service-url takes service=url, e.g. shipping=http://127.0.0.1:8082; got `{option}`"
            )
        })?;
        let url = slash(url.trim());
        match name.trim() {
            "order" => self.order = url,
            name => {
                let endpoint = self
                    .consumers
                    .iter_mut()
                    .find(|c| c.service.name == name)
                    .ok_or_else(|| {
                        anyhow::anyhow!("--service-url {option}: there is no service `{name}`")
                    })?;
                endpoint.url = url;
            }
        }
        Ok(())
    }

    /// Where consumer `name` is read.
    pub fn consumer(&self, name: &str) -> Option<&ConsumerEndpoint> {
        self.consumers.iter().find(|c| c.service.name == name)
    }
}

/// `url` with exactly one trailing slash.
pub fn slash(url: &str) -> String {
    format!("{}/", url.trim_end_matches('/'))
}

/// An order as the API answered when it was placed.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Placed {
    pub id: i64,
    /// The order's time, epoch milliseconds.
    pub updated: i64,
}

/// A copy as a check view lists it: its order's id and when it was stored.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    pub id: i64,
    pub received_ms: i64,
}

pub fn http_client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(8))
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot create an HTTP client")
}

/// Places order number `n` (customers, items and counts vary with `n`).
pub async fn place_order(
    client: &reqwest::Client,
    order_url: &str,
    n: u64,
) -> anyhow::Result<Placed> {
    let lines: Vec<_> = (0..=(n % 3))
        .map(|i| json!({"count": 1 + (n + i) % 5, "itemId": 1 + (n + i) % 4}))
        .collect();
    let body = json!({
        "customerId": 1 + n % 2,
        "shippingAddress": {"street": format!("Load Street {n}"), "zip": "10999", "city": "Berlin"},
        "billingAddress": {"street": format!("Bill Street {n}"), "zip": "40789", "city": "Monheim am Rhein"},
        "orderLine": lines,
    });
    let response = client
        .post(format!("{order_url}api/orders"))
        .json(&body)
        .send()
        .await
        .context("order is not reachable")?;
    if response.status() != reqwest::StatusCode::CREATED {
        let status = response.status();
        bail!(
            "order answered {status}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    response
        .json()
        .await
        .context("order's answer is not an order")
}

/// A service that is down or restarting: its connection is refused or times out, or the front
/// door answers 502, 503 or 504 for it. Whoever waits for an outcome tries again.
#[derive(Debug)]
pub struct Unreachable {
    pub url: String,
    pub cause: String,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is unreachable ({})", self.url, self.cause)
    }
}

impl std::error::Error for Unreachable {}

/// Whether `error` says that a service is down or restarting, rather than that it answered wrongly.
pub fn is_unreachable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<Unreachable>())
}

/// GET `url`: a successful response, [`Unreachable`], or what went wrong.
pub async fn get(client: &reqwest::Client, url: &str) -> anyhow::Result<reqwest::Response> {
    let unreachable = |cause: String| Unreachable {
        url: url.to_owned(),
        cause,
    };
    let response = match client.get(url).send().await {
        Ok(response) => response,
        Err(error) if error.is_connect() || error.is_timeout() => {
            return Err(unreachable(error.to_string()).into());
        }
        Err(error) => return Err(anyhow::Error::new(error).context(format!("GET {url} failed"))),
    };
    let status = response.status();
    if matches!(status.as_u16(), 502..=504) {
        return Err(unreachable(status.to_string()).into());
    }
    if !status.is_success() {
        bail!("{url} answered {status}");
    }
    Ok(response)
}

/// The copies with ids above `after`, one page.
pub async fn list_stored(
    client: &reqwest::Client,
    url: &str,
    after: i64,
) -> anyhow::Result<Vec<Stored>> {
    get(client, &format!("{url}?after={after}&limit=1000"))
        .await?
        .json()
        .await
        .with_context(|| format!("{url} did not answer a list"))
}

/// `(label, peak RSS in kB)` of every process behind the health endpoints.
pub async fn peak_rss(client: &reqwest::Client, health_urls: &[String]) -> Vec<(String, u64)> {
    let mut figures = Vec::new();
    for url in health_urls {
        let Ok(response) = client.get(url).send().await else {
            continue;
        };
        let Ok(body) = response.json::<serde_json::Value>().await else {
            continue;
        };
        // The front door gathers instances under "instances"; a service answers for itself.
        let instances: Vec<(String, serde_json::Value)> =
            match body.get("instances").and_then(|i| i.as_object()) {
                Some(instances) => instances
                    .iter()
                    .map(|(label, health)| (label.clone(), health.clone()))
                    .collect(),
                None => vec![(
                    body["service"].as_str().unwrap_or(url).to_owned(),
                    body.clone(),
                )],
            };
        for (label, health) in instances {
            if let Some(peak) = health["process"]["peakRssKb"].as_u64() {
                figures.push((label, peak));
            }
        }
    }
    figures
}
