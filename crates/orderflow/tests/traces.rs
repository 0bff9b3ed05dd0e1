//! One order, one trace: the HTTP request that placed it, the relay's publish, and each
//! consumer's apply, across the asynchronous hop (a Kafka header, a feed element). Spans are
//! kept by an in-memory exporter; each test finds its trace by the trace id it sent.

use std::sync::OnceLock;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use orderflow_testkit::{kafka, wait_until};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt as _;

#[path = "e2e/helpers.rs"]
#[allow(dead_code, unreachable_pub)] // the e2e binary uses the rest
mod helpers;

use helpers::*;

/// The spans every test of this binary ends. The subscriber is global and installed before
/// any span is made: this binary holds only these tests, so no callsite was used before it (a
/// global subscriber installed late, in the e2e binary, missed spans under CI's load).
struct Traced {
    exporter: InMemorySpanExporter,
}

fn traced() -> &'static Traced {
    static TRACED: OnceLock<Traced> = OnceLock::new();
    TRACED.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        tracing_subscriber::registry()
            .with(orderflow_telemetry::trace_layer(&provider))
            .init();
        // Kept for the life of the binary, like the global subscriber that uses it.
        std::mem::forget(provider);
        Traced { exporter }
    })
}

/// A client's own span, as a browser's instrumentation would send it.
struct ClientSpan {
    trace_id: TraceId,
    span_id: SpanId,
}

impl ClientSpan {
    fn new() -> Self {
        let bytes = uuid::Uuid::new_v4().as_u128();
        ClientSpan {
            trace_id: TraceId::from(bytes),
            span_id: SpanId::from((bytes >> 64) as u64 | 1),
        }
    }

    fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.span_id)
    }

    /// Posts the order form with this span's `traceparent`, as an instrumented browser would.
    async fn place_worked_example(&self, system: &TestSystem, order: &RunningOrder) {
        let response = system
            .http
            .post(&order.url)
            .header("traceparent", self.traceparent())
            .form(WORKED_EXAMPLE_FORM)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// Waits until the trace holds a span named `name` (and with `consumer`, if given).
async fn span_in(traced: &Traced, trace: TraceId, name: &str, consumer: Option<&str>) -> SpanData {
    wait_until(
        &format!("a span {name} {consumer:?} in trace {trace}"),
        DEADLINE,
        || async {
            traced
                .exporter
                .get_finished_spans()
                .ok()?
                .into_iter()
                .find(|span| {
                    span.span_context.trace_id() == trace
                        && span.name == name
                        && consumer.is_none_or(|c| {
                            attribute(span, "consumer").is_some_and(|value| value.contains(c))
                        })
                })
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn one_order_is_one_trace_from_the_request_through_kafka_to_both_consumers() {
    // Arrange
    let traced = traced();
    let system = TestSystem::new();
    let order = system.start_order().await;
    let _shipping = system.start_shipping().await;
    let _invoicing = system.start_invoicing().await;
    let client = ClientSpan::new();

    // Act
    client.place_worked_example(&system, &order).await;

    // Assert: request -> publish -> apply, each the parent of the next, in the client's trace.
    let request = span_in(traced, client.trace_id, "request", None).await;
    assert_eq!(request.parent_span_id, client.span_id);
    let publish = span_in(traced, client.trace_id, "publish", None).await;
    assert_eq!(publish.parent_span_id, request.span_context.span_id());
    assert_eq!(
        attribute(&publish, "event").as_deref(),
        Some("order.created")
    );
    for consumer in ["shipping", "invoicing"] {
        let apply = span_in(traced, client.trace_id, "apply", Some(consumer)).await;
        assert_eq!(
            apply.parent_span_id,
            publish.span_context.span_id(),
            "{consumer}'s span continues the publish span"
        );
    }

    // Assert: the record carries the publish span's context as its traceparent header.
    let records = kafka::read_all(
        &system.env.kafka_brokers,
        &system.iso.topic(),
        1,
        std::time::Duration::from_secs(20),
    )
    .await;
    let headers = kafka::headers(&records[0]);
    let traceparent = headers
        .iter()
        .find(|(name, _)| name == "traceparent")
        .map(|(_, value)| value.clone());
    assert_eq!(
        traceparent,
        Some(format!(
            "00-{}-{}-01",
            client.trace_id,
            publish.span_context.span_id()
        )),
        "{headers:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn through_the_feed_the_readers_span_continues_the_request_that_placed_the_order() {
    // Arrange
    let traced = traced();
    let system = TestSystem::new();
    let order = system.start_order_feed(0, None).await;
    let _shipping = system.start_shipping_via(feed(&order.feed_url())).await;
    let client = ClientSpan::new();

    // Act
    client.place_worked_example(&system, &order).await;

    // Assert: the entry carries the request's context; shipping's span is its child.
    let request = span_in(traced, client.trace_id, "request", None).await;
    let apply = span_in(traced, client.trace_id, "apply", Some("shipping")).await;
    assert_eq!(apply.parent_span_id, request.span_context.span_id());
    let expected = format!(
        "<orderflow:traceparent>00-{}-{}-01</orderflow:traceparent>",
        client.trace_id,
        request.span_context.span_id()
    );
    // shipping long-polls and may have had the entry before a plain GET shows it (from the
    // next whole second on).
    orderflow_testkit::wait_until("the entry to a plain GET", DEADLINE, || async {
        let (_, feed) = system.get_text(order.feed_url()).await;
        feed.contains("<entry>").then_some(())
    })
    .await;
    let (_, feed) = system.get_text(order.feed_url()).await;
    assert!(feed.contains(&expected), "{feed}");
}
