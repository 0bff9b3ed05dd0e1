//! W3C trace context (`traceparent`) in and out of `tracing` spans: what a service stores or
//! sends with what it produces, and how the receiver continues the trace.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TraceId};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header (HTTP, Kafka) and the field name of W3C trace context.
pub const TRACEPARENT: &str = "traceparent";

/// The W3C `traceparent` of `span` (`00-<trace id>-<span id>-01`): what to keep with what the
/// span produces, so that whoever handles it later continues this trace. `None` when tracing
/// is not installed (a library used on its own) or the span is disabled.
pub fn traceparent(span: &Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Makes `span` (new, not yet entered) a child of the span that `traceparent` names, when it
/// names one (a malformed value starts a new trace instead: it comes from outside), and records
/// the trace id in the span's `trace_id` field, so that every log line inside shows it.
pub fn continue_trace(span: &Span, traceparent: Option<&str>) {
    if let Some(value) = traceparent {
        let carrier = HashMap::from([(TRACEPARENT.to_owned(), value.to_owned())]);
        let parent = TraceContextPropagator::new().extract(&carrier);
        if parent.span().span_context().is_valid() {
            // Fails only when the span has started already or is disabled: then it keeps its
            // own trace, which the logs show.
            let _ = span.set_parent(parent);
        }
    }
    let trace_id = span.context().span().span_context().trace_id();
    if trace_id != TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    fn traced<T>(test: impl FnOnce() -> T) -> T {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry().with(crate::trace_layer(&provider));
        tracing::subscriber::with_default(subscriber, test)
    }

    #[test]
    fn a_continued_span_is_in_the_senders_trace_with_its_own_span_id() {
        traced(|| {
            let sender = tracing::info_span!("sender", trace_id = tracing::field::Empty);
            continue_trace(&sender, None);
            let sent = traceparent(&sender).expect("a traced span has a traceparent");

            let receiver = tracing::info_span!("receiver", trace_id = tracing::field::Empty);
            continue_trace(&receiver, Some(&sent));
            let received = traceparent(&receiver).unwrap();

            let parts = |value: &str| value.split('-').map(str::to_owned).collect::<Vec<_>>();
            let (sent, received) = (parts(&sent), parts(&received));
            assert_eq!(sent.len(), 4, "{sent:?}");
            assert_eq!(sent[0], "00");
            assert_eq!(sent[1], received[1], "the same trace id");
            assert_ne!(sent[2], received[2], "a span of its own");
        });
    }

    #[test]
    fn a_malformed_traceparent_starts_a_new_trace() {
        traced(|| {
            let span = tracing::info_span!("receiver", trace_id = tracing::field::Empty);
            continue_trace(&span, Some("00-not-a-trace-01"));
            let own = traceparent(&span).expect("a trace of its own");
            assert!(!own.contains("not-a-trace"));
        });
    }

    #[test]
    fn without_tracing_there_is_nothing_to_carry() {
        let span = tracing::info_span!("untraced");
        continue_trace(
            &span,
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        );
        assert_eq!(traceparent(&span), None);
    }
}
