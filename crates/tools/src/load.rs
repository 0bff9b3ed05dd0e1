//! `orderflow load`: places orders, waits until every consumer holds each of them, and reports.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::client::{self, Endpoints, Placed, Stored, is_unreachable};

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    pub endpoints: Endpoints,
    /// Orders to place.
    pub orders: u64,
    /// Clients placing orders at once.
    pub concurrency: usize,
    /// Orders per second instead of as fast as the clients go.
    pub rate: Option<f64>,
    /// How long to wait for every consumer's copies after the last order.
    pub settle_timeout: Duration,
    /// Draw progress bars (on a terminal).
    pub progress: bool,
    /// Wait for the consumers' copies (else: place the orders and stop, to build a history).
    pub wait_for_consumers: bool,
}

/// The outcome, as printed and as JSON (`--json`).
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub orders: u64,
    pub concurrency: usize,
    pub placing_secs: f64,
    /// Orders per second from the first order's time to the last copy stored.
    pub end_to_end_per_sec: f64,
    pub post_latency_ms: Percentiles,
    /// Per consumer that was read: order placed -> its copy stored, and what never arrived.
    pub consumers: Vec<ConsumerLatency>,
    /// Services that were down (or restarting) while we waited for their copies: how long in
    /// all, and how many times.
    pub unreachable: Vec<Outage>,
    pub peak_rss_kb: Vec<(String, u64)>,
}

/// How long one consumer took to hold the orders.
#[derive(Debug, Clone)]
pub struct ConsumerLatency {
    pub service: &'static str,
    pub to_stored_ms: Percentiles,
    pub missing: u64,
    /// Copies stored before their order was placed: of an earlier history with the same ids
    /// (order's database was reset, the topic or the consumer's database was not). They are
    /// not this run's copies, and the orders they stand for never arrive.
    pub stale: u64,
}

/// How long a service could not be reached while `load` waited for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outage {
    pub service: String,
    pub total: Duration,
    pub times: u32,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Percentiles {
    fn of(histogram: &Histogram<u64>) -> Self {
        Percentiles {
            p50: histogram.value_at_quantile(0.50),
            p90: histogram.value_at_quantile(0.90),
            p99: histogram.value_at_quantile(0.99),
            max: histogram.max(),
        }
    }

    fn json(&self) -> serde_json::Value {
        json!({"p50": self.p50, "p90": self.p90, "p99": self.p99, "max": self.max})
    }
}

pub async fn run(settings: LoadSettings) -> anyhow::Result<LoadReport> {
    anyhow::ensure!(settings.orders > 0, "--orders must be at least 1");
    anyhow::ensure!(settings.concurrency > 0, "--concurrency must be at least 1");
    let client = client::http_client(settings.concurrency)?;
    let placed = place_all(&client, &settings).await?;
    let placing_secs = placed.elapsed.as_secs_f64();
    let orders: HashMap<i64, i64> = placed.orders.iter().map(|p| (p.id, p.updated)).collect();

    let mut unreachable = Vec::new();
    let mut consumers = Vec::new();
    let mut last = orders.values().min().copied().unwrap_or(0);
    let first = last;
    let consumers_to_wait_for = match settings.wait_for_consumers {
        true => settings.endpoints.consumers.as_slice(),
        false => &[],
    };
    for endpoint in consumers_to_wait_for {
        if !endpoint.required() && !is_running(&client, &endpoint.check_url()).await {
            continue;
        }
        let name = endpoint.service.name;
        let (copies, outage) =
            wait_for_copies(&client, &endpoint.check_url(), &orders, &settings, name).await?;
        unreachable.extend(outage.named(name));
        let mut to_stored = histogram();
        for (id, placed) in &orders {
            if let Some(Found::Stored { received_ms }) = copies.get(id) {
                to_stored.saturating_record((received_ms - placed).max(0) as u64);
                last = last.max(*received_ms);
            }
        }
        let stale = copies
            .values()
            .filter(|copy| **copy == Found::Stale)
            .count() as u64;
        consumers.push(ConsumerLatency {
            service: name,
            to_stored_ms: Percentiles::of(&to_stored),
            missing: settings.orders - copies.len() as u64,
            stale,
        });
    }
    let span_secs = ((last - first).max(1) as f64) / 1000.0;
    Ok(LoadReport {
        orders: settings.orders,
        concurrency: settings.concurrency,
        placing_secs,
        end_to_end_per_sec: settings.orders as f64 / span_secs,
        post_latency_ms: Percentiles::of(&placed.post_latency),
        consumers,
        unreachable,
        peak_rss_kb: client::peak_rss(&client, &settings.endpoints.health).await,
    })
}

/// Whether a consumer that joins later answers at all.
async fn is_running(client: &reqwest::Client, check_url: &str) -> bool {
    client::list_stored(client, check_url, i64::MAX - 1)
        .await
        .is_ok()
}

struct PlacedAll {
    orders: Vec<Placed>,
    post_latency: Histogram<u64>,
    elapsed: Duration,
}

/// Places every order with `concurrency` clients, each taking the next number, optionally paced.
async fn place_all(client: &reqwest::Client, settings: &LoadSettings) -> anyhow::Result<PlacedAll> {
    let bar = bar(settings, settings.orders, "placing  ");
    let next = Arc::new(AtomicU64::new(0));
    let results = Arc::new(Mutex::new((
        Vec::with_capacity(settings.orders as usize),
        histogram(),
    )));
    let started = Instant::now();
    let interval = settings
        .rate
        .filter(|r| *r > 0.0)
        .map(|rate| Duration::from_secs_f64(1.0 / rate));
    let workers = (0..settings.concurrency).map(|_| {
        let (client, next, results, bar) = (
            client.clone(),
            Arc::clone(&next),
            Arc::clone(&results),
            bar.clone(),
        );
        let order_url = settings.endpoints.order.clone();
        let total = settings.orders;
        async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return Ok::<(), anyhow::Error>(());
                }
                if let Some(interval) = interval {
                    // Order n is due at n * interval after the start, whichever client sends it.
                    tokio::time::sleep_until(started + interval.mul_f64(n as f64)).await;
                }
                let sent = Instant::now();
                let placed = client::place_order(&client, &order_url, n).await?;
                let latency = sent.elapsed().as_millis() as u64;
                let mut results = results.lock().await;
                results.0.push(placed);
                results.1.saturating_record(latency.max(1));
                bar.inc(1);
            }
        }
    });
    futures::future::try_join_all(workers).await?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let (orders, post_latency) = Arc::try_unwrap(results)
        .map_err(|_| anyhow::anyhow!("workers still running"))?
        .into_inner();
    Ok(PlacedAll {
        orders,
        post_latency,
        elapsed,
    })
}

/// When a service could not be reached while we waited: the outage going on, and the past ones.
#[derive(Debug, Default)]
struct Downtime {
    since: Option<Instant>,
    total: Duration,
    times: u32,
}

impl Downtime {
    fn down(&mut self, now: Instant) {
        if self.since.is_none() {
            self.since = Some(now);
            self.times += 1;
        }
    }

    fn up(&mut self, now: Instant) {
        if let Some(since) = self.since.take() {
            self.total += now - since;
        }
    }

    fn named(mut self, service: &str) -> Option<Outage> {
        self.up(Instant::now());
        (self.times > 0).then(|| Outage {
            service: service.to_owned(),
            total: self.total,
            times: self.times,
        })
    }
}

/// Lists copies until every order has one or `settle_timeout` passed; returns id -> stored time,
/// and how long the service was unreachable meanwhile (a consumer being restarted is waited
/// for, as a user waits for it).
async fn wait_for_copies(
    client: &reqwest::Client,
    list_url: &str,
    orders: &HashMap<i64, i64>,
    settings: &LoadSettings,
    what: &str,
) -> anyhow::Result<(HashMap<i64, Found>, Downtime)> {
    let bar = bar(settings, orders.len() as u64, &format!("{what:<9}"));
    let mut found: HashMap<i64, Found> = HashMap::with_capacity(orders.len());
    let mut waiting: Vec<i64> = orders.keys().copied().collect();
    waiting.sort_unstable();
    let mut downtime = Downtime::default();
    let deadline = Instant::now() + settings.settle_timeout;
    'polls: while !waiting.is_empty() && Instant::now() < deadline {
        // Copies arrive out of id order (partitions run in parallel): scan from the lowest
        // order still waiting.
        let mut after = waiting[0] - 1;
        let last = *waiting.last().expect("not empty");
        loop {
            let page: Vec<Stored> = match client::list_stored(client, list_url, after).await {
                Ok(page) => {
                    downtime.up(Instant::now());
                    page
                }
                Err(error) if is_unreachable(&error) => {
                    downtime.down(Instant::now());
                    bar.set_message(format!("({what} unreachable, waiting)"));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue 'polls;
                }
                Err(error) => return Err(error),
            };
            bar.set_message("");
            let Some(tail) = page.last() else { break };
            after = tail.id;
            for stored in page {
                if let Some(placed_ms) = orders.get(&stored.id)
                    && found
                        .insert(stored.id, Found::of(*placed_ms, stored.received_ms))
                        .is_none()
                {
                    bar.inc(1);
                }
            }
            if after >= last {
                break;
            }
        }
        waiting.retain(|id| !found.contains_key(id));
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    bar.finish_and_clear();
    if found.is_empty() && !orders.is_empty() && downtime.times == 0 {
        bail!("no {what} arrived within {:?}", settings.settle_timeout);
    }
    Ok((found, downtime))
}

/// What a consumer holds under a placed order's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// The order's copy, stored at this time.
    Stored { received_ms: i64 },
    /// Stored before the order was placed: a copy of another order that had the same id.
    Stale,
}

impl Found {
    /// Clocks of services on separate hosts may differ a little; a copy older than its order by
    /// more than this is not its copy.
    const CLOCK_SKEW_MS: i64 = 1000;

    fn of(placed_ms: i64, received_ms: i64) -> Self {
        if received_ms + Self::CLOCK_SKEW_MS < placed_ms {
            Found::Stale
        } else {
            Found::Stored { received_ms }
        }
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000, 3).expect("valid bounds")
}

fn bar(settings: &LoadSettings, length: u64, prefix: &str) -> ProgressBar {
    if !settings.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} {per_sec} eta {eta} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_owned());
    bar
}

impl LoadReport {
    /// Whether every consumer read holds every order.
    pub fn complete(&self) -> bool {
        self.consumers
            .iter()
            .all(|c| c.missing == 0 && c.stale == 0)
    }

    /// `12 for shipping, 3 for bonus`.
    fn missing(&self) -> String {
        self.consumers
            .iter()
            .flat_map(|c| {
                let missing = (c.missing > 0).then(|| format!("{} for {}", c.missing, c.service));
                let stale = (c.stale > 0).then(|| format!("{} stale at {}", c.stale, c.service));
                missing.into_iter().chain(stale)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "orders": self.orders,
            "concurrency": self.concurrency,
            "placingSecs": self.placing_secs,
            "placedPerSec": self.orders as f64 / self.placing_secs.max(1e-9),
            "endToEndPerSec": self.end_to_end_per_sec,
            "postLatencyMs": self.post_latency_ms.json(),
            "toStoredMs": self.consumers.iter().map(|c| (c.service.to_owned(), c.to_stored_ms.json())).collect::<serde_json::Map<_, _>>(),
            "missing": self.consumers.iter().map(|c| (c.service.to_owned(), json!(c.missing))).collect::<serde_json::Map<_, _>>(),
            "stale": self.consumers.iter().map(|c| (c.service.to_owned(), json!(c.stale))).collect::<serde_json::Map<_, _>>(),
            "unreachable": self.unreachable.iter().map(|o| json!({"service": o.service, "secs": o.total.as_secs_f64(), "times": o.times})).collect::<Vec<_>>(),
            "peakRssKb": self.peak_rss_kb.iter().map(|(label, kb)| json!({"process": label, "kb": kb})).collect::<Vec<_>>(),
        })
    }

    pub fn print(&self) {
        let p = |p: &Percentiles| {
            format!(
                "p50 {} ms  p90 {} ms  p99 {} ms  max {} ms",
                p.p50, p.p90, p.p99, p.max
            )
        };
        println!(
            "orders      {} with {} concurrent clients",
            self.orders, self.concurrency
        );
        println!(
            "placed      in {:.2} s ({:.0} orders/s); POST latency {}",
            self.placing_secs,
            self.orders as f64 / self.placing_secs.max(1e-9),
            p(&self.post_latency_ms)
        );
        if self.consumers.is_empty() {
            println!("consumers   not waited for (--no-wait)");
        } else {
            println!(
                "throughput  {:.0} orders/s end to end (first order to last copy stored)",
                self.end_to_end_per_sec
            );
        }
        let width = self
            .consumers
            .iter()
            .map(|c| c.service.len())
            .max()
            .unwrap_or(0);
        for (n, consumer) in self.consumers.iter().enumerate() {
            println!(
                "{}order -> {:<width$} stored: {}",
                if n == 0 {
                    "latency     "
                } else {
                    "            "
                },
                consumer.service,
                p(&consumer.to_stored_ms)
            );
        }
        for outage in &self.unreachable {
            println!(
                "unreachable {} for {:.1} s while waiting for its copies ({} time{}; waited for it)",
                outage.service,
                outage.total.as_secs_f64(),
                outage.times,
                if outage.times == 1 { "" } else { "s" }
            );
        }
        if self.consumers.iter().any(|c| c.missing > 0) {
            println!("MISSING     {}", self.missing());
        }
        for consumer in self.consumers.iter().filter(|c| c.stale > 0) {
            println!(
                "STALE       {} holds {} of these ids as copies stored before the order was placed: \
                 copies of an earlier history (was order's database reset, but not the topic or \
                 {}'s database?); not counted, and those orders never arrived",
                consumer.service, consumer.stale, consumer.service
            );
        }
        if !self.peak_rss_kb.is_empty() {
            let figures: Vec<String> = self
                .peak_rss_kb
                .iter()
                .map(|(label, kb)| format!("{label} {:.1} MB", *kb as f64 / 1024.0))
                .collect();
            println!("peak RSS    {}", figures.join(", "));
        }
    }
}

/// For the CLI: run, print, and fail when orders are missing.
pub async fn run_and_print(settings: LoadSettings, as_json: bool) -> anyhow::Result<()> {
    let report = run(settings).await.context("load run failed")?;
    if as_json {
        println!("{}", report.json());
    } else {
        report.print();
    }
    anyhow::ensure!(
        report.complete(),
        "orders did not arrive: {}",
        report.missing()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_stored_before_its_order_was_placed_is_another_orders() {
        let placed = 1_000_000;
        assert_eq!(
            Found::of(placed, placed + 25),
            Found::Stored {
                received_ms: placed + 25
            }
        );
        // A little behind: another host's clock.
        assert_eq!(
            Found::of(placed, placed - 300),
            Found::Stored {
                received_ms: placed - 300
            }
        );
        assert_eq!(Found::of(placed, placed - 700_000), Found::Stale);
    }
}
