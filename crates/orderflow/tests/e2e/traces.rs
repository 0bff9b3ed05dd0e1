//! One order, one trace: the HTTP request that placed it, the relay's publish, and each
//! consumer's apply, across the asynchronous hop (a Kafka header, a feed element). Spans are
//! kept by an in-memory exporter of each test's own; the test finds its trace by the trace id
//! it sent.

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use orderflow_testkit::{kafka, wait_until};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::helpers::*;

/// Spans the services of one test end, kept in memory. The subscriber is this thread's
/// default, not the process's: the test runs on a current-thread runtime, so every task its
/// services spawn runs here and reports here, and other tests (and whatever they made of a
/// global subscriber's callsite cache) cannot touch it.
struct Traced {
    exporter: InMemorySpanExporter,
    _provider: SdkTracerProvider,
    _default: tracing::subscriber::DefaultGuard,
}

fn traced() -> Traced {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let default = tracing_subscriber::registry()
        .with(orderflow_telemetry::trace_layer(&provider))
        .set_default();
    Traced {
        exporter,
        _provider: provider,
        _default: default,
    }
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

#[tokio::test]
async fn one_order_is_one_trace_from_the_request_through_kafka_to_both_consumers() {
    // Arrange
    let traced = traced();
    let system = TestSystem::new();
    let order = system.start_order().await;
    let _shipping = system.start_shipping().await;
    let _invoicing = system.start_invoicing().await;
    let client = ClientSpan::new();

    // Act
    let response = system
        .http
        .post(&order.url)
        .header("traceparent", client.traceparent())
        .form(WORKED_EXAMPLE_FORM)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Assert: request -> publish -> apply, each the parent of the next, in the client's trace.
    let request = span_in(&traced, client.trace_id, "request", None).await;
    assert_eq!(request.parent_span_id, client.span_id);
    let publish = span_in(&traced, client.trace_id, "publish", None).await;
    assert_eq!(publish.parent_span_id, request.span_context.span_id());
    assert_eq!(
        attribute(&publish, "event").as_deref(),
        Some("order.created")
    );
    for consumer in ["shipping", "invoicing"] {
        let apply = span_in(&traced, client.trace_id, "apply", Some(consumer)).await;
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

#[tokio::test]
async fn through_the_feed_the_readers_span_continues_the_request_that_placed_the_order() {
    // Arrange
    let traced = traced();
    let system = TestSystem::new();
    let order = system.start_order_feed(0, None).await;
    let _shipping = system.start_shipping_via(feed(&order.feed_url())).await;
    let client = ClientSpan::new();

    // Act
    let response = system
        .http
        .post(&order.url)
        .header("traceparent", client.traceparent())
        .form(WORKED_EXAMPLE_FORM)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Assert: the entry carries the request's context; shipping's span is its child.
    let request = span_in(&traced, client.trace_id, "request", None).await;
    let apply = span_in(&traced, client.trace_id, "apply", Some("shipping")).await;
    assert_eq!(apply.parent_span_id, request.span_context.span_id());
    let (_, feed) = system.get_text(order.feed_url()).await;
    let expected = format!(
        "<orderflow:traceparent>00-{}-{}-01</orderflow:traceparent>",
        client.trace_id,
        request.span_context.span_id()
    );
    assert!(feed.contains(&expected), "{feed}");
}
