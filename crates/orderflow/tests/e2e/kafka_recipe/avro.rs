//! Avro beside JSON on one topic: a history written as the schema evolved (the contract's JSON,
//! then Avro version 1, then version 2), read by consumers of either reader version that start
//! after every producer stopped, so every writer schema comes from the schema topic; and what a
//! garbled datum and an unknown writer schema do.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use orderflow_events::OrderPlaced;
use orderflow_events::avro::SchemaVersion;
use orderflow_events::wire::{AVRO_CONTENT_TYPE, JSON_CONTENT_TYPE, RecordEncoding};
use orderflow_kafka::{ConsumerSettings, ConsumerStatus, KafkaSettings, run_consumer};
use orderflow_testkit::{kafka, wait_until};
use orderflow_transport::{
    Applied, BoxError, Checkpoint, HandleError, OrderEventHandler, ParkedEvent, ParkingLot,
};
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

/// The writers of the history, in the order they wrote it, and how many orders each placed.
const WRITERS: [RecordEncoding; 3] = [
    RecordEncoding::JSON,
    RecordEncoding {
        format: orderflow_events::wire::Format::Avro,
        version: SchemaVersion::V1,
    },
    RecordEncoding {
        format: orderflow_events::wire::Format::Avro,
        version: SchemaVersion::V2,
    },
];
const ORDERS_PER_WRITER: i64 = 4;

#[tokio::test(flavor = "multi_thread")]
async fn a_history_of_json_avro_v1_and_avro_v2_records_is_read_whole_by_readers_of_either_version()
{
    // Arrange: order writes the history in three eras, one encoding each, and is stopped once
    // each era is published, so that every writer is gone before any reader starts.
    let system = TestSystem::new();
    let mut written: Vec<(i64, RecordEncoding)> = Vec::new();
    for encoding in WRITERS {
        let order = system
            .start_order_with(system.kafka().with_encoding(encoding))
            .await;
        for count in 1..=ORDERS_PER_WRITER {
            written.push((system.place_json_order(&order, count).await, encoding));
        }
        wait_until_published(&order).await;
        order.stop().await;
    }

    // Act: readers of version 2 (shipping, invoicing, a recorder) and of version 1 (a recorder,
    // as a consumer built before version 2 existed) start now.
    let shipping = system.start_shipping().await;
    let invoicing = system.start_invoicing().await;
    let v2 = Recorder::start(&system, SchemaVersion::V2).await;
    let v1 = Recorder::start(&system, SchemaVersion::V1).await;

    // Assert: every order, once, with the values its record carried as each reader sees them.
    let order = system.start_order().await; // the API `check` and the expectations read
    for recorder in [&v1, &v2] {
        recorder.wait_for(written.len()).await;
    }
    for (id, encoding) in &written {
        let (status, document) = system.get_text(format!("{}order/{id}", order.url)).await;
        assert_eq!(status, 200, "{document}");
        let contract = OrderPlaced::from_json(document.as_bytes()).unwrap();
        // Version 1 readers never see a category; version 2 readers see the one a version 2
        // writer wrote, and the schema's default (none) on older records.
        assert_eq!(
            v1.order(*id),
            contract,
            "order {id} ({}) as v1 reads it",
            encoding.label()
        );
        let mut as_v2 = contract.clone();
        if *encoding == WRITERS[2] {
            as_v2.order_line[0].item.category = Some("Music players".into());
            as_v2.order_line[1].item.category = Some("Video".into());
        }
        assert_eq!(
            v2.order(*id),
            as_v2,
            "order {id} ({}) as v2 reads it",
            encoding.label()
        );
    }
    let eras = BTreeMap::from([
        ("avro v1".to_owned(), ORDERS_PER_WRITER as u64),
        ("avro v2".to_owned(), ORDERS_PER_WRITER as u64),
        ("json".to_owned(), ORDERS_PER_WRITER as u64),
    ]);
    for recorder in [&v1, &v2] {
        assert_eq!(recorder.status.delivery().encodings(), eras);
        assert_eq!(recorder.status.delivery().duplicates(), 0);
        assert!(recorder.parked.lock().unwrap().is_empty());
    }

    wait_for_rows(&shipping.state.db, "shipment", written.len() as i64).await;
    wait_for_rows(&invoicing.state.db, "invoice", written.len() as i64).await;
    let report = check_shipping_and_invoicing(&order, &shipping, &invoicing).await;
    assert!(report.consistent(), "{report:?}");
    let (_, health) = system.get_text(format!("{}health", shipping.url)).await;
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["encodings"], serde_json::json!(eras), "{health}");
    assert_eq!(health["readerSchema"], "avro v2", "{health}");

    // The schema topic holds each writer schema once, under its fingerprint.
    let schemas = kafka::read_all(
        &system.env.kafka_brokers,
        &system.kafka().schemas_topic(),
        2,
        DEADLINE,
    )
    .await;
    let mut published: Vec<(String, String)> = schemas
        .iter()
        .map(|record| {
            use rdkafka::Message;
            let key = String::from_utf8(record.key().unwrap().to_vec()).unwrap();
            (
                key,
                String::from_utf8(record.payload().unwrap().to_vec()).unwrap(),
            )
        })
        .collect();
    published.sort();
    let mut ours: Vec<(String, String)> = SchemaVersion::ALL
        .iter()
        .map(|v| {
            (
                v.schema().fingerprint().to_string(),
                v.schema().json().to_owned(),
            )
        })
        .collect();
    ours.sort();
    assert_eq!(published, ours);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_garbled_datum_is_parked_and_an_unknown_writer_schema_holds_its_partition_until_published()
 {
    // Arrange
    let system = TestSystem::new();
    let settings = system.kafka();
    let brokers = system.env.kafka_brokers.clone();
    kafka::create_topic(&brokers, &settings.topic, 5).await;
    let shipping = system.start_shipping().await;
    let v1 = RecordEncoding {
        format: orderflow_events::wire::Format::Avro,
        version: SchemaVersion::V1,
    };
    let v2 = RecordEncoding {
        format: orderflow_events::wire::Format::Avro,
        version: SchemaVersion::V2,
    };

    // Act: partition 0 starts with a record of a writer schema nobody published (version 1's,
    // which this version 2 reader was not built with), then a good version 2 record; partition
    // 1 holds a version 2 record whose datum is garbled between two good records, one Avro
    // without a content type (the marker says it), one JSON.
    let produce = |partition: i32, value: Vec<u8>, content_type: Option<&'static str>| {
        let (brokers, topic) = (brokers.clone(), settings.topic.clone());
        async move {
            let headers: Vec<(&str, &str)> = content_type
                .map(|c| ("content-type", c))
                .into_iter()
                .collect();
            kafka::produce_with_headers(
                &brokers,
                &topic,
                Some(partition),
                Some("k"),
                &value,
                &headers,
            )
            .await;
        }
    };
    let mut garbled = v2.encode(&order(3)).unwrap();
    garbled.truncate(garbled.len() / 2);
    produce(0, v1.encode(&order(1)).unwrap(), Some(AVRO_CONTENT_TYPE)).await;
    produce(0, v2.encode(&order(2)).unwrap(), Some(AVRO_CONTENT_TYPE)).await;
    produce(1, v2.encode(&order(4)).unwrap(), None).await;
    produce(1, garbled, Some(AVRO_CONTENT_TYPE)).await;
    produce(
        1,
        RecordEncoding::JSON.encode(&order(5)).unwrap(),
        Some(JSON_CONTENT_TYPE),
    )
    .await;

    // Assert: partition 1 went on past the garbled record, which is parked with why and how
    // it was written; partition 0 waits at the record it cannot read yet.
    wait_for_rows(&shipping.state.db, "shipment", 2).await;
    wait_until("the garbled record parked", DEADLINE, || async {
        (shipping.state.delivery().parked() == 1).then_some(())
    })
    .await;
    let parked = sqlx::query("SELECT encoding, error, payload FROM parked_event")
        .fetch_one(shipping.state.db.pool())
        .await
        .unwrap();
    let (encoding, error, payload): (String, String, String) = (
        parked.get("encoding"),
        parked.get("error"),
        parked.get("payload"),
    );
    assert_eq!(encoding, "avro v2");
    assert!(error.contains("avro v2 datum does not decode"), "{error}");
    assert!(payload.starts_with("base64:"), "{payload}");
    let (_, page) = system.get_text(format!("{}parked", shipping.url)).await;
    assert!(
        page.contains("avro v2") && page.contains("does not decode"),
        "{page}"
    );
    assert_eq!(shipment_ids(&shipping).await, [4, 5]);
    // Partitions are fetched independently: partition 0's records may come in a later batch
    // than partition 1's.
    let health = wait_until("partition 0 held at its first record", DEADLINE, || async {
        let (_, health) = system.get_text(format!("{}health", shipping.url)).await;
        let health: serde_json::Value = serde_json::from_str(&health).unwrap();
        (health["waitingForSchema"]
            .as_array()
            .is_some_and(|held| !held.is_empty()))
        .then_some(health)
    })
    .await;
    assert_eq!(
        (health["parked"].as_i64(), health["applied"].as_i64()),
        (Some(1), Some(2)),
        "{health}"
    );
    assert_eq!(health["waitingForSchema"][0]["partition"], 0, "{health}");
    assert_eq!(health["waitingForSchema"][0]["offset"], 0, "{health}");

    // Act: version 1's schema appears on the schema topic (as a version 1 producer publishes it).
    let schema = SchemaVersion::V1.schema();
    kafka::create_topic(&brokers, &settings.schemas_topic(), 1).await;
    kafka::produce(
        &brokers,
        &settings.schemas_topic(),
        Some(0),
        Some(&schema.fingerprint().to_string()),
        schema.json().as_bytes(),
    )
    .await;

    // Assert: the waiting partition goes on, in order, and nothing more is parked.
    wait_for_rows(&shipping.state.db, "shipment", 4).await;
    assert_eq!(shipment_ids(&shipping).await, [1, 2, 4, 5]);
    assert_eq!(shipping.state.delivery().parked(), 1);
}

async fn shipment_ids(shipping: &RunningConsumer) -> Vec<i64> {
    sqlx::query("SELECT id FROM shipment ORDER BY id")
        .fetch_all(shipping.state.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| row.get("id"))
        .collect()
}

/// The contract's worked example as order `id`.
fn order(id: i64) -> OrderPlaced {
    let json = include_str!("../../../../events/fixtures/order-record-original-producer.json")
        .replace("\"id\":1,", &format!("\"id\":{id},"));
    OrderPlaced::from_json(json.as_bytes()).unwrap()
}

/// A consumer that keeps every order exactly as it read it, in a group of its own.
struct Recorder {
    orders: Mutex<BTreeMap<i64, OrderPlaced>>,
    parked: Mutex<Vec<String>>,
    status: Arc<ConsumerStatus>,
    _stop: tokio_util::sync::DropGuard,
}

impl Recorder {
    async fn start(system: &TestSystem, reader: SchemaVersion) -> Arc<Recorder> {
        let stop = CancellationToken::new();
        let recorder = Arc::new(Recorder {
            orders: Mutex::default(),
            parked: Mutex::default(),
            status: Arc::default(),
            _stop: stop.clone().drop_guard(),
        });
        let kafka: KafkaSettings = system.kafka().with_reader_version(reader);
        let settings =
            ConsumerSettings::new(kafka, system.iso.group(&format!("recorder-{reader}")));
        tokio::spawn(run_consumer(
            settings,
            Arc::new(Handler(Arc::clone(&recorder))),
            Arc::new(Handler(Arc::clone(&recorder))),
            Arc::clone(&recorder.status),
            stop,
        ));
        recorder
    }

    async fn wait_for(&self, orders: usize) {
        wait_until(&format!("{orders} orders recorded"), DEADLINE, || async {
            (self.orders.lock().unwrap().len() >= orders).then_some(())
        })
        .await;
    }

    fn order(&self, id: i64) -> OrderPlaced {
        self.orders.lock().unwrap()[&id].clone()
    }
}

struct Handler(Arc<Recorder>);

#[async_trait]
impl OrderEventHandler for Handler {
    async fn handle(
        &self,
        order: &OrderPlaced,
        _: Option<&Checkpoint>,
    ) -> Result<Applied, HandleError> {
        let mut orders = self.0.orders.lock().unwrap();
        Ok(match orders.insert(order.id, order.clone()) {
            None => Applied::Created,
            Some(_) => Applied::AlreadyPresent,
        })
    }
}

#[async_trait]
impl ParkingLot for Handler {
    async fn park(&self, event: &ParkedEvent<'_>) -> Result<(), BoxError> {
        self.0.parked.lock().unwrap().push(event.error.to_owned());
        Ok(())
    }
}
