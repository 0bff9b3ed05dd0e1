//! From flags to a service's settings, checked: a bad value fails here, with the flag's name.

use std::time::Duration;

use orderflow_events::avro::SchemaVersion;
use orderflow_events::wire::{Format, RecordEncoding};

use super::args::*;

impl EncodingArgs {
    pub(super) fn record_encoding(&self) -> RecordEncoding {
        RecordEncoding {
            format: match self.format {
                FormatArg::Json => Format::Json,
                FormatArg::Avro => Format::Avro,
            },
            // clap allows only the versions there are.
            version: SchemaVersion::from_number(self.schema_version).unwrap_or(SchemaVersion::V1),
        }
    }
}

pub(super) fn order_settings(args: OrderArgs) -> anyhow::Result<orderflow_order::Settings> {
    let service = args.service;
    let transport = match service.transport {
        TransportArg::Kafka => orderflow_order::OrderTransport::Kafka(
            service
                .kafka(orderflow_events::ORDER_TOPIC)
                .with_encoding(args.encoding.record_encoding()),
        ),
        TransportArg::Amqp | TransportArg::Feed => {
            anyhow::ensure!(
                args.encoding.record_encoding() == RecordEncoding::JSON,
                "--format and --schema-version choose how records are written on Kafka; RabbitMQ's messages and the feed carry the contract's JSON"
            );
            if service.transport == TransportArg::Amqp {
                orderflow_order::OrderTransport::Amqp(service.amqp())
            } else {
                orderflow_order::OrderTransport::Feed
            }
        }
    };
    let mut settings = orderflow_order::Settings::new(service.database_url("order"), transport);
    settings.bind = service.bind;
    settings.port = service
        .port
        .unwrap_or(orderflow_order::config::DEFAULT_PORT);
    if let Some(schema) = service.schema {
        settings.database.schema = schema;
    }
    settings.feed_page_size = orderflow_feed::PageSize::new(args.feed_page_size)
        .ok_or_else(|| anyhow::anyhow!("--feed-page-size must be at least 1"))?;
    settings.public_url = args
        .public_url
        .map(|url| format!("{}/", url.trim_end_matches('/')));
    Ok(settings)
}

pub(super) fn consumer_settings<S: orderflow_consumer::Service>(
    args: ConsumerArgs,
) -> anyhow::Result<orderflow_consumer::ConsumerServiceSettings> {
    let service = args.service;
    let reader_version = SchemaVersion::from_number(args.reader_schema_version)
        .ok_or_else(|| anyhow::anyhow!("--reader-schema-version must be 1 or 2"))?;
    let transport = match service.transport {
        TransportArg::Kafka => orderflow_consumer::Transport::Kafka(
            service.kafka(S::TOPIC).with_reader_version(reader_version),
        ),
        TransportArg::Amqp => orderflow_consumer::Transport::Amqp(service.amqp()),
        TransportArg::Feed => {
            anyhow::ensure!(
                args.poll_interval_ms >= 10,
                "--poll-interval-ms must be at least 10"
            );
            let feed_url = args.feed_url.trim();
            anyhow::ensure!(
                feed_url.starts_with("http://") || feed_url.starts_with("https://"),
                "--feed-url must be an http:// or https:// URL, e.g. http://127.0.0.1:8081/feed; got `{feed_url}`"
            );
            let mut poller = orderflow_feed::PollerSettings::new(feed_url);
            poller.interval = Duration::from_millis(args.poll_interval_ms);
            poller.wait =
                (args.feed_wait_secs > 0).then(|| Duration::from_secs(args.feed_wait_secs));
            poller.format = match args.feed_format {
                FeedFormatArg::Atom => orderflow_feed::FeedFormat::Atom,
                FeedFormatArg::Json => orderflow_feed::FeedFormat::JsonFeed,
                FeedFormatArg::Rss => orderflow_feed::FeedFormat::Rss,
            };
            orderflow_consumer::Transport::Feed(poller)
        }
    };
    let mut settings =
        orderflow_consumer::Application::<S>::default_settings(String::new(), transport);
    let name = settings.database.schema.clone();
    settings.database.url = service.database_url(&name);
    settings.bind = service.bind;
    if let Some(port) = service.port {
        settings.port = port;
    }
    if let Some(schema) = service.schema {
        settings.database.schema = schema;
    }
    if let Some(group) = args.group {
        settings.group = group;
    }
    anyhow::ensure!(
        args.session_timeout_secs >= 1,
        "--session-timeout-secs must be at least 1"
    );
    settings.session_timeout = Duration::from_secs(args.session_timeout_secs);
    Ok(settings)
}
