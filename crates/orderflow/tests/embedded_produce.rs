//! The embedded broker stores produced batches and reads fetched ones with statements of its own
//! (crates/broker/src/append.rs, read.rs) in Tansu's tables: every record must come back as it
//! was sent (key, value, tombstone, headers, timestamp), at the offset its acknowledgement named,
//! also when plain batches and idempotent ones (stored by Tansu's own produce) share a partition,
//! and also when it is larger than what the consumer fetches at a time.

use std::collections::BTreeMap;
use std::time::Duration;

use orderflow_testkit::{KafkaBroker, free_port, kafka};
use rdkafka::ClientConfig;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};

const ORDERFLOW_BROKER: &str = env!("CARGO_BIN_EXE_orderflow-broker");
const PARTITIONS: i32 = 3;
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// What a record was sent as, and what it must be read back as.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    timestamp: i64,
}

impl Sent {
    fn numbered(n: usize) -> Self {
        Sent {
            // Every seventh record has no key, every fifth is a tombstone.
            key: (!n.is_multiple_of(7)).then(|| format!("key-{n}").into_bytes()),
            value: (!n.is_multiple_of(5))
                .then(|| format!("value {n}: {}", "x".repeat(n % 40)).into_bytes()),
            headers: (0..n % 4)
                .map(|h| {
                    let value = (h != 2).then(|| format!("header {h} of {n}").into_bytes());
                    (format!("h{h}"), value)
                })
                .collect(),
            timestamp: 1_700_000_000_000 + n as i64,
        }
    }

    fn read(message: &OwnedMessage) -> Self {
        Sent {
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers: message
                .headers()
                .map(|headers| {
                    headers
                        .iter()
                        .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                        .collect()
                })
                .unwrap_or_default(),
            timestamp: message.timestamp().to_millis().expect("a timestamp"),
        }
    }
}

fn producer(brokers: &str, idempotent: bool) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("acks", "all")
        // Records queued together leave in one batch.
        .set("linger.ms", "20")
        .set(
            "enable.idempotence",
            if idempotent { "true" } else { "false" },
        )
        .create()
        .expect("producer")
}

/// Sends every record to its partition, waits for all acknowledgements, and returns each
/// record's acknowledged (partition, offset).
async fn send_all(
    producer: &FutureProducer,
    topic: &str,
    records: &[(i32, Sent)],
) -> Vec<((i32, i64), Sent)> {
    let mut deliveries = Vec::new();
    for (partition, sent) in records {
        let mut headers = OwnedHeaders::new();
        for (key, value) in &sent.headers {
            headers = headers.insert(Header {
                key: key.as_str(),
                value: value.as_deref(),
            });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic)
            .partition(*partition)
            .timestamp(sent.timestamp)
            .headers(headers);
        if let Some(key) = &sent.key {
            record = record.key(key.as_slice());
        }
        if let Some(value) = &sent.value {
            record = record.payload(value.as_slice());
        }
        let delivery = producer
            .send_result(record)
            .map_err(|(error, _)| error)
            .expect("queued");
        deliveries.push((delivery, sent.clone()));
    }
    let mut acknowledged = Vec::new();
    for (delivery, sent) in deliveries {
        let delivery = delivery
            .await
            .expect("delivered")
            .map_err(|(error, _)| error)
            .expect("acknowledged");
        acknowledged.push(((delivery.partition, delivery.offset), sent));
    }
    acknowledged
}

async fn read_back(brokers: &str, topic: &str, expected: usize) -> BTreeMap<(i32, i64), Sent> {
    kafka::read_all(brokers, topic, expected, READ_TIMEOUT)
        .await
        .iter()
        .map(|message| ((message.partition(), message.offset()), Sent::read(message)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_record_comes_back_as_it_was_produced_at_its_acknowledged_offset() {
    // Arrange
    let broker = KafkaBroker::embedded_with(ORDERFLOW_BROKER, free_port(), &[]).await;
    let brokers = broker.brokers();
    let topic = "appended";
    kafka::create_topic(&brokers, topic, PARTITIONS).await;
    let records: Vec<(i32, Sent)> = (0..300)
        .map(|n| ((n % PARTITIONS as usize) as i32, Sent::numbered(n)))
        .collect();

    // Act
    let acknowledged = send_all(&producer(&brokers, false), topic, &records).await;

    // Assert: offsets 0, 1, 2, ... in each partition, in the order sent, and every field back.
    for partition in 0..PARTITIONS {
        let offsets: Vec<i64> = acknowledged
            .iter()
            .filter(|((p, _), _)| *p == partition)
            .map(|((_, offset), _)| *offset)
            .collect();
        assert_eq!(offsets, (0..offsets.len() as i64).collect::<Vec<_>>());
    }
    let read = read_back(&brokers, topic, records.len()).await;
    assert_eq!(read.len(), records.len());
    for (at, sent) in acknowledged {
        assert_eq!(read.get(&at), Some(&sent), "the record at {at:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_and_idempotent_batches_share_a_partition_without_gaps_or_overlaps() {
    // Arrange: plain batches are stored by orderflow's appender, idempotent ones by Tansu.
    let broker = KafkaBroker::embedded_with(ORDERFLOW_BROKER, free_port(), &[]).await;
    let brokers = broker.brokers();
    let topic = "shared-partition";
    kafka::create_topic(&brokers, topic, 1).await;
    let plain = producer(&brokers, false);
    let idempotent = producer(&brokers, true);
    let round = |first: usize| -> Vec<(i32, Sent)> {
        (first..first + 20)
            .map(|n| (0, Sent::numbered(n)))
            .collect()
    };

    // Act
    let mut acknowledged = send_all(&plain, topic, &round(0)).await;
    acknowledged.extend(send_all(&idempotent, topic, &round(20)).await);
    acknowledged.extend(send_all(&plain, topic, &round(40)).await);

    // Assert
    let offsets: Vec<i64> = acknowledged
        .iter()
        .map(|((_, offset), _)| *offset)
        .collect();
    assert_eq!(offsets, (0..60).collect::<Vec<i64>>());
    let read = read_back(&brokers, topic, 60).await;
    for (at, sent) in acknowledged {
        assert_eq!(read.get(&at), Some(&sent), "the record at {at:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_larger_than_the_consumers_fetch_size_is_still_delivered() {
    // Arrange: records of 4 KiB, a consumer that asks for at most 1000 bytes per fetch and 512
    // per partition (librdkafka's least `fetch.max.bytes` is its `message.max.bytes`). Kafka
    // answers with the first record whatever its size; Tansu's fetch answered with none.
    let broker = KafkaBroker::embedded_with(ORDERFLOW_BROKER, free_port(), &[]).await;
    let brokers = broker.brokers();
    let topic = "large-records";
    kafka::create_topic(&brokers, topic, 1).await;
    let records: Vec<(i32, Sent)> = (0..5)
        .map(|n| {
            let mut sent = Sent::numbered(n + 1);
            sent.value = Some(vec![b'v'; 4096]);
            (0, sent)
        })
        .collect();
    let acknowledged = send_all(&producer(&brokers, false), topic, &records).await;

    // Act
    let read = kafka::read_all_with(
        &brokers,
        topic,
        records.len(),
        READ_TIMEOUT,
        &[
            ("message.max.bytes", "1000"),
            ("fetch.max.bytes", "1000"),
            ("max.partition.fetch.bytes", "512"),
        ],
    )
    .await;

    // Assert
    let read: BTreeMap<(i32, i64), Sent> = read
        .iter()
        .map(|message| ((message.partition(), message.offset()), Sent::read(message)))
        .collect();
    for (at, sent) in acknowledged {
        assert_eq!(read.get(&at), Some(&sent), "the record at {at:?}");
    }
}
