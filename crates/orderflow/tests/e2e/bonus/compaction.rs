use std::collections::BTreeSet;
use std::time::Duration;

use orderflow_kafka::KafkaSettings;
use orderflow_testkit::KafkaBroker;
use rdkafka::Message;

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn order_state_is_compacted_to_one_record_per_order_and_deletions_are_tombstones() {
    // Arrange: on Apache Kafka, the test environment's broker (its cleaner looks every second;
    // the topic rolls its segment every 10 s); on the embedded one, a broker of the test's own
    // that runs its maintenance every second instead of every 30.
    let system = TestSystem::new();
    let own_broker = match system.env.embedded_broker {
        true => Some(
            KafkaBroker::embedded_with(
                ORDERFLOW_BROKER,
                orderflow_testkit::free_port(),
                &["--maintenance-interval-secs", "1"],
            )
            .await,
        ),
        false => None,
    };
    let brokers = own_broker
        .as_ref()
        .map_or_else(|| system.env.kafka_brokers.clone(), KafkaBroker::brokers);
    let kafka = KafkaSettings::new(&brokers).with_topic(system.iso.topic());
    let state_topic = kafka.state_topic();
    let order = system.start_order_with(kafka).await;

    // Act: 50 orders, 20 of them deleted: 70 records written to order-state.
    let ids = place(&system, &order, 0..50).await;
    delete(&system, &order, &ids[..20]).await;
    let mut written = 70;
    let deleted: BTreeSet<i64> = ids[..20].iter().copied().collect();

    // Assert: reading order-state from the beginning, in the end, gives one record per order
    // (the live ones' states and the deleted ones' tombstones), fewer than were written. More
    // orders keep coming meanwhile, as in a shop: Kafka compacts only segments it has rolled.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let records = loop {
        let records = orderflow_testkit::kafka::read_all(
            &brokers,
            &state_topic,
            written,
            Duration::from_secs(3),
        )
        .await;
        let keys: BTreeSet<Vec<u8>> = records
            .iter()
            .map(|r| r.key().expect("every state record has a key").to_vec())
            .collect();
        // Every order placed so far has its key, and no key more than one record.
        let orders = written - deleted.len();
        if keys.len() == orders && records.len() == orders {
            break records;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "order-state not compacted: {} records of {written} written, {} keys",
            records.len(),
            keys.len()
        );
        place(&system, &order, written as u64..written as u64 + 1).await;
        written += 1;
    };
    assert!(records.len() < written);
    for record in &records {
        let id: i64 = std::str::from_utf8(record.key().unwrap())
            .unwrap()
            .parse()
            .expect("the key is the order id");
        match record.payload() {
            None => assert!(deleted.contains(&id), "a tombstone for live order {id}"),
            Some(value) => {
                assert!(
                    !deleted.contains(&id),
                    "deleted order {id} still has its state"
                );
                let state = OrderPlaced::from_json(value).expect("the order's JSON");
                assert_eq!(state.id, id);
            }
        }
    }
    assert_eq!(
        records.iter().filter(|r| r.payload().is_none()).count(),
        20,
        "one tombstone per deleted order"
    );
}
