//! `GET /metrics`, read as Prometheus reads it (a text-format parser), while the outbox fills
//! with the broker away and drains once it is back.

use orderflow_kafka::KafkaSettings;
use orderflow_testkit::{KafkaBroker, free_port, wait_until};
use prometheus_parse::{Scrape, Value};

use crate::helpers::*;

/// A service's `/metrics`, parsed.
async fn scrape(system: &TestSystem, base: &str) -> Scrape {
    let response = system
        .http
        .get(format!("{base}metrics"))
        .send()
        .await
        .expect("the service answers");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("Prometheus text format")
}

/// The value of the one sample named `name` whose labels include `labels`.
fn sample(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .and_then(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(*v),
            Value::Histogram(buckets) => buckets.last().map(|b| b.count),
            _ => None,
        })
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_show_the_outbox_filling_while_the_broker_is_away_and_the_consumer_catching_up() {
    // Arrange: order points at a broker that is not there yet; three orders are taken.
    let system = TestSystem::new();
    let port = free_port();
    let kafka = KafkaSettings::new(format!("127.0.0.1:{port}")).with_topic(system.iso.topic());
    let order = system.start_order_with(kafka.clone()).await;
    for _ in 0..3 {
        assert_eq!(
            system.post_form(&order, WORKED_EXAMPLE_FORM).await.status(),
            200
        );
    }

    // Assert: the outbox holds them, and its oldest has waited.
    let metrics = scrape(&system, &order.url).await;
    assert_eq!(
        sample(
            &metrics,
            "orderflow_outbox_pending",
            &[("service", "order")]
        ),
        Some(3.0)
    );
    assert!(sample(&metrics, "orderflow_outbox_oldest_pending_age_seconds", &[]).unwrap() >= 0.0);
    assert_eq!(
        sample(
            &metrics,
            "http_requests_total",
            &[("route", "/"), ("method", "POST"), ("status", "200")]
        ),
        Some(3.0),
        "{:?}",
        metrics
            .samples
            .iter()
            .map(|s| &s.metric)
            .collect::<Vec<_>>()
    );

    // Act: the broker comes, and shipping with it.
    let _broker = KafkaBroker::start(&system.env, ORDERFLOW_BROKER, port).await;
    let shipping = system.start_shipping_with(kafka).await;
    wait_for_rows(&shipping.state.db, "shipment", 3).await;

    // Assert: the outbox drained; shipping applied 3, owns all 5 partitions, each with a lag
    // series (0 until librdkafka's statistics say otherwise), and timed each event's age.
    wait_until("the outbox drained in /metrics", DEADLINE, || async {
        let metrics = scrape(&system, &order.url).await;
        (sample(&metrics, "orderflow_outbox_pending", &[]) == Some(0.0)).then_some(())
    })
    .await;
    let metrics = scrape(&system, &shipping.url).await;
    assert_eq!(
        sample(
            &metrics,
            "orderflow_events_applied_total",
            &[("service", "shipping")]
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(&metrics, "orderflow_events_parked_total", &[]),
        Some(0.0)
    );
    assert_eq!(
        sample(&metrics, "orderflow_consumer_partitions", &[]),
        Some(5.0)
    );
    for partition in ["0", "1", "2", "3", "4"] {
        let lag = sample(
            &metrics,
            "orderflow_consumer_lag",
            &[("partition", partition)],
        );
        assert!(
            lag.is_some_and(|lag| lag >= 0.0),
            "partition {partition}: {lag:?}"
        );
    }
    assert!(
        metrics
            .samples
            .iter()
            .any(|s| s.metric.starts_with("orderflow_event_age_seconds")),
        "{:?}",
        metrics
            .samples
            .iter()
            .map(|s| &s.metric)
            .collect::<Vec<_>>()
    );
}
