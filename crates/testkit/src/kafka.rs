//! Raw Kafka access for tests: what an original Java producer or consumer would do.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

fn config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    config
}

/// Creates `topic` with `partitions` partitions.
pub async fn create_topic(brokers: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = config(brokers).create().expect("admin client");
    let results = admin
        .create_topics(
            [&NewTopic::new(
                topic,
                partitions,
                TopicReplication::Fixed(1),
            )],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("create topic");
    for result in results {
        result.expect("topic created");
    }
}

/// Produces one record and waits for the broker's acknowledgement.
pub async fn produce(
    brokers: &str,
    topic: &str,
    partition: Option<i32>,
    key: Option<&str>,
    value: &[u8],
) {
    produce_with_headers(brokers, topic, partition, key, value, &[]).await;
}

/// Produces one record with `headers` (name, value) and waits for the acknowledgement.
pub async fn produce_with_headers(
    brokers: &str,
    topic: &str,
    partition: Option<i32>,
    key: Option<&str>,
    value: &[u8],
    headers: &[(&str, &str)],
) {
    let producer: FutureProducer = config(brokers)
        .set("acks", "all")
        .create()
        .expect("producer");
    let mut record: FutureRecord<'_, str, [u8]> = FutureRecord::to(topic).payload(value);
    if !headers.is_empty() {
        let mut owned = rdkafka::message::OwnedHeaders::new();
        for (name, value) in headers {
            owned = owned.insert(rdkafka::message::Header {
                key: name,
                value: Some(*value),
            });
        }
        record = record.headers(owned);
    }
    if let Some(key) = key {
        record = record.key(key);
    }
    if let Some(partition) = partition {
        record = record.partition(partition);
    }
    producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(error, _)| error)
        .expect("record produced");
}

/// A record to produce: partition, key, value.
pub type RawRecord = (i32, Option<Vec<u8>>, Vec<u8>);

/// Produces `records` with one producer, in order, and waits for every acknowledgement.
pub async fn produce_all(brokers: &str, topic: &str, records: &[RawRecord]) {
    let producer: FutureProducer = config(brokers)
        .set("acks", "all")
        .create()
        .expect("producer");
    let mut deliveries = Vec::with_capacity(records.len());
    for (partition, key, value) in records {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic)
            .payload(value.as_slice())
            .partition(*partition);
        if let Some(key) = key {
            record = record.key(key.as_slice());
        }
        deliveries.push(
            producer
                .send_result(record)
                .map_err(|(error, _)| error)
                .expect("queued"),
        );
    }
    for delivery in deliveries {
        delivery
            .await
            .expect("delivered")
            .map_err(|(error, _)| error)
            .expect("acknowledged");
    }
}

/// How many records `topic` holds in all partitions (0 when the topic does not exist).
pub async fn record_count(brokers: &str, topic: &str) -> i64 {
    let brokers = brokers.to_owned();
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = config(&brokers).create().expect("consumer");
        let metadata = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .expect("metadata");
        let Some(topic_metadata) = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none())
        else {
            return 0;
        };
        topic_metadata
            .partitions()
            .iter()
            .map(|p| {
                // A topic created a moment ago may not have its leaders elected yet
                // (NotLeaderForPartition, LeaderNotAvailable): ask again for a while.
                let deadline = std::time::Instant::now() + Duration::from_secs(20);
                loop {
                    match consumer.fetch_watermarks(&topic, p.id(), Duration::from_secs(10)) {
                        Ok((low, high)) => break high - low,
                        Err(error) if std::time::Instant::now() < deadline => {
                            eprintln!("watermarks of {topic}/{}: {error}; asking again", p.id());
                            std::thread::sleep(Duration::from_millis(200));
                        }
                        Err(error) => panic!("watermarks of {topic}/{}: {error}", p.id()),
                    }
                }
            })
            .sum()
    })
    .await
    .expect("watermark task")
}

/// Reads every record of `topic` from the beginning, until `expected` were read or `timeout`
/// passed. Reads without a consumer group, like a debugging tool would.
pub async fn read_all(
    brokers: &str,
    topic: &str,
    expected: usize,
    timeout: Duration,
) -> Vec<OwnedMessage> {
    read_all_with(brokers, topic, expected, timeout, &[]).await
}

/// [`read_all`] by a consumer with `settings` (librdkafka's names) besides.
pub async fn read_all_with(
    brokers: &str,
    topic: &str,
    expected: usize,
    timeout: Duration,
    settings: &[(&str, &str)],
) -> Vec<OwnedMessage> {
    let brokers = brokers.to_owned();
    let topic = topic.to_owned();
    let mut config = config(&brokers);
    config
        .set("group.id", "orderflow-test-reader")
        .set("enable.auto.commit", "false");
    for (name, value) in settings {
        config.set(*name, *value);
    }
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = config.create().expect("consumer");
        let metadata = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .expect("metadata");
        let mut assignment = TopicPartitionList::new();
        for topic_metadata in metadata.topics().iter().filter(|t| t.name() == topic) {
            for partition in topic_metadata.partitions() {
                assignment
                    .add_partition_offset(&topic, partition.id(), Offset::Beginning)
                    .expect("partition");
            }
        }
        consumer.assign(&assignment).expect("assign");
        let deadline = std::time::Instant::now() + timeout;
        let mut records = Vec::new();
        while records.len() < expected && std::time::Instant::now() < deadline {
            if let Some(result) = consumer.poll(Duration::from_millis(100)) {
                records.push(result.expect("record").detach());
            }
        }
        records
    })
    .await
    .expect("reader task")
}

/// The record's headers as (name, value) pairs.
pub fn headers(record: &OwnedMessage) -> Vec<(String, String)> {
    use rdkafka::message::Headers;
    record
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|h| {
                    (
                        h.key.to_owned(),
                        String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
