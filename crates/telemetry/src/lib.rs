#![doc = include_str!("../README.md")]

mod context;
mod export;

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

pub use context::{TRACEPARENT, continue_trace, traceparent};
pub use export::Exporter;

/// The log filter when `RUST_LOG` says nothing: our lines at INFO, the libraries' warnings.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,rdkafka=warn,tansu=warn,libsql=warn";

/// Keeps the tracer provider alive; on drop, exports what is still buffered.
#[must_use = "dropping it ends tracing: hold it until the process ends"]
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        // Bounded: a collector that went away must not hold up the exit.
        if let Err(error) = self.provider.shutdown_with_timeout(Duration::from_secs(3)) {
            eprintln!("traces not exported at shutdown: {error}");
        }
    }
}

/// Logs to stderr (`RUST_LOG` overrides [`DEFAULT_LOG_FILTER`]) and traces orderflow's spans,
/// exported as the standard `OTEL_` environment asks ([`Exporter::from_env`]); nothing is
/// exported by default, but trace ids are made, carried and logged all the same.
pub fn init(service: &'static str, color: bool) -> Telemetry {
    let exporter = Exporter::from_env();
    let provider = exporter.provider(service);
    let directives =
        std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or_else(|_| DEFAULT_LOG_FILTER.to_owned());
    let filter =
        || EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    // What reaches any layer: what the logs ask for, and orderflow's spans at INFO whatever
    // they ask (quieter logs must not cut a trace in two). A global filter, not a per-layer
    // one on the trace layer: with a per-layer filter there, spans made concurrently on
    // several threads were now and then not traced at all (two of three runs of
    // `cargo test --test traces` lost a span; none of five since).
    let reach = filter().add_directive(TRACED.parse().expect("a valid directive"));
    tracing_subscriber::registry()
        .with(reach)
        .with(trace_layer(&provider))
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_ansi(color)
                .with_writer(std::io::stderr)
                .with_filter(filter()),
        )
        .init();
    if let Some(description) = exporter.description() {
        tracing::info!(service, "Exporting traces {description}.");
    }
    Telemetry { provider }
}

/// What is always traced: orderflow's own spans at INFO.
const TRACED: &str = "orderflow=info";

/// The layer that makes spans OpenTelemetry spans of `provider`: every span that reaches it
/// (`init` lets through orderflow's, at INFO, and what `RUST_LOG` asks for).
pub fn trace_layer<S>(provider: &SdkTracerProvider) -> impl Layer<S> + use<S>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("orderflow"))
        .with_location(false)
        .with_threads(false)
        .with_level(false)
}
