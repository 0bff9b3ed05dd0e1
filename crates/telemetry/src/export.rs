//! Where spans go: nowhere unless the standard OpenTelemetry environment asks for an exporter.

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// The OTLP/HTTP endpoint when the environment names none (the OpenTelemetry default).
const DEFAULT_OTLP_TRACES_ENDPOINT: &str = "http://localhost:4318/v1/traces";

/// The exporter the environment chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exporter {
    /// Spans are made (their ids are carried and logged) and dropped when they end.
    None,
    /// OTLP over HTTP (protobuf) to `endpoint`: an OpenTelemetry Collector, Jaeger, Zipkin
    /// with its OTLP module, Grafana Tempo.
    Otlp { endpoint: String },
}

impl Exporter {
    /// Reads the standard variables: `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`
    /// turn export off; `OTEL_TRACES_EXPORTER=otlp`, or an OTLP endpoint
    /// (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT`) on its own, turn
    /// OTLP/HTTP on. Unlike the specification's default (`otlp`), nothing is exported when
    /// nothing is set: a first run must not log connection errors to a collector nobody started.
    pub fn from_env() -> Self {
        Exporter::from_vars(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Exporter::None;
        }
        let endpoint = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
            var("OTEL_EXPORTER_OTLP_ENDPOINT")
                .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
        });
        let chosen = var("OTEL_TRACES_EXPORTER").map(|v| v.trim().to_ascii_lowercase());
        match (chosen.as_deref(), endpoint) {
            (Some("none"), _) | (None, None) => Exporter::None,
            (Some("otlp") | None, endpoint) => Exporter::Otlp {
                endpoint: endpoint.unwrap_or_else(|| DEFAULT_OTLP_TRACES_ENDPOINT.to_owned()),
            },
            (Some(other), _) => {
                // Logging is not set up yet: this is the only way to say it.
                eprintln!(
                    "OTEL_TRACES_EXPORTER={other} is not supported (only otlp and none); traces are not exported"
                );
                Exporter::None
            }
        }
    }

    /// What the log says at start, `None` when nothing is exported.
    pub fn description(&self) -> Option<String> {
        match self {
            Exporter::None => None,
            Exporter::Otlp { endpoint } => Some(format!("over OTLP/HTTP to {endpoint}")),
        }
    }

    /// A tracer provider for `service` (its `service.name`, whatever `OTEL_SERVICE_NAME` says:
    /// `orderflow up` starts every service with the same environment). Spans leave in batches
    /// from a thread of their own, so a slow collector never delays a request.
    pub fn provider(&self, service: &'static str) -> SdkTracerProvider {
        let resource = Resource::builder().with_service_name(service).build();
        let builder = SdkTracerProvider::builder().with_resource(resource);
        match self {
            Exporter::None => builder.build(),
            Exporter::Otlp { .. } => match opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .build()
            {
                Ok(exporter) => builder.with_batch_exporter(exporter).build(),
                Err(error) => {
                    eprintln!("cannot export traces over OTLP: {error}");
                    builder.build()
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> Exporter {
        Exporter::from_vars(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn nothing_is_exported_unless_the_environment_asks() {
        assert_eq!(with(&[]), Exporter::None);
        assert_eq!(with(&[("OTEL_TRACES_EXPORTER", "none")]), Exporter::None);
        assert_eq!(
            with(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("OTEL_SDK_DISABLED", "true")
            ]),
            Exporter::None
        );
        assert_eq!(with(&[("OTEL_TRACES_EXPORTER", "zipkin")]), Exporter::None);
    }

    #[test]
    fn an_endpoint_or_the_exporter_name_turns_otlp_on() {
        let otlp = |endpoint: &str| Exporter::Otlp {
            endpoint: endpoint.to_owned(),
        };
        assert_eq!(
            with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]),
            otlp("http://collector:4318/v1/traces")
        );
        assert_eq!(
            with(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://traces:9411/v1/traces"
                )
            ]),
            otlp("http://traces:9411/v1/traces")
        );
        assert_eq!(
            with(&[("OTEL_TRACES_EXPORTER", "OTLP")]),
            otlp(DEFAULT_OTLP_TRACES_ENDPOINT)
        );
    }
}
