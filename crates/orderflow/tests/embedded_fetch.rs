//! The embedded broker holds a consumer's fetch until a record is produced, and answers then,
//! as Apache Kafka does (crates/broker/src/long_poll.rs). Tansu's own fetch slept half of the
//! consumer's `fetch.wait.max.ms` on every fetch, records or not: with the 30 s asked for here, a
//! record would take at least 15 s to arrive, far beyond the deadline below.

use std::time::Duration;

use orderflow_testkit::{KafkaBroker, free_port, kafka};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

const ORDERFLOW_BROKER: &str = env!("CARGO_BIN_EXE_orderflow-broker");
const TOPIC: &str = "long-poll";
const PARTITIONS: i32 = 5;
/// How long the consumer lets the broker hold a fetch.
const FETCH_WAIT_MS: &str = "30000";
/// Far under the 15 s Tansu's own fetch would take, far over any scheduling hiccup.
const DEADLINE: Duration = Duration::from_secs(10);

fn consumer_of_every_partition(brokers: &str) -> StreamConsumer {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "long-poll-reader")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", FETCH_WAIT_MS)
        .create()
        .expect("consumer");
    let mut partitions = TopicPartitionList::new();
    for partition in 0..PARTITIONS {
        partitions
            .add_partition_offset(TOPIC, partition, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&partitions).unwrap();
    consumer
}

async fn next_value(consumer: &StreamConsumer) -> String {
    let message = tokio::time::timeout(DEADLINE, consumer.recv())
        .await
        .expect("the record did not arrive while the consumer's fetch was held")
        .expect("a record");
    String::from_utf8(message.payload().unwrap().to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_fetch_answers_as_soon_as_a_record_is_produced() {
    // Arrange: a consumer whose fetches the broker may hold for 30 s, reading every partition.
    // A record on each partition first, so that every partition is in its fetches (librdkafka's
    // first fetch covers only the partitions whose start offset it knows by then, and Apache
    // Kafka too holds such a fetch until one of *those* partitions has records).
    let broker = KafkaBroker::embedded_with(ORDERFLOW_BROKER, free_port(), &[]).await;
    let brokers = broker.brokers();
    kafka::create_topic(&brokers, TOPIC, PARTITIONS).await;
    for partition in 0..PARTITIONS {
        kafka::produce(&brokers, TOPIC, Some(partition), None, b"first").await;
    }
    let consumer = consumer_of_every_partition(&brokers);
    for _ in 0..PARTITIONS {
        assert_eq!(next_value(&consumer).await, "first");
    }

    for round in 0..3 {
        // Act: the consumer's next fetch is being held now; a record lands on one partition.
        let value = format!("second {round}");
        kafka::produce(&brokers, TOPIC, Some(3), None, value.as_bytes()).await;

        // Assert
        assert_eq!(next_value(&consumer).await, value);
    }
}
