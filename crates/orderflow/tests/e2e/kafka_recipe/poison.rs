use std::time::Duration;

use orderflow_testkit::kafka;
use rdkafka::Message;
use sqlx::Row;

use crate::helpers::*;

const ORIGINAL_PRODUCER: &str =
    include_str!("../../../../events/fixtures/order-record-original-producer.json");

fn order_with_id(id: i64) -> String {
    ORIGINAL_PRODUCER.replace("\"id\":1,", &format!("\"id\":{id},"))
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_records_are_parked_and_the_partition_goes_on_and_replay_applies_what_now_applies() {
    // Arrange
    let system = TestSystem::new();
    let (brokers, topic) = (system.env.kafka_brokers.clone(), system.iso.topic());
    kafka::create_topic(&brokers, &topic, 5).await;
    let shipping = system.start_shipping().await;

    // Act: on one partition, good records around a record that is not JSON, one without
    // required fields, and one whose data the database rejects (count 0).
    let records = [
        order_with_id(1),
        "this is not an order".to_owned(),
        r#"{"id": 2}"#.to_owned(),
        order_with_id(3).replace("\"count\":42", "\"count\":0"),
        order_with_id(4),
    ];
    for record in &records {
        kafka::produce(&brokers, &topic, Some(0), Some("key"), record.as_bytes()).await;
    }

    // Assert: the good ones are there, the partition went past the bad ones.
    wait_for_rows(&shipping.state.db, "shipment", 2).await;
    orderflow_testkit::wait_until("3 parked records", DEADLINE, || async {
        (shipping.state.delivery().parked() == 3).then_some(())
    })
    .await;
    let parked = kafka::read_all(
        &brokers,
        &format!("{topic}.DLT"),
        3,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(parked.len(), 3);
    let headers = kafka::headers(&parked[0]);
    for name in [
        "orderflow.dlt.error",
        "orderflow.dlt.original-topic",
        "orderflow.dlt.original-partition",
        "orderflow.dlt.original-offset",
    ] {
        assert!(
            headers.iter().any(|(key, _)| key == name),
            "{name} in {headers:?}"
        );
    }
    assert_eq!(parked[0].payload(), Some(&b"this is not an order"[..]));
    let (status, page) = system.get_text(format!("{}parked", shipping.url)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("this is not an order") && page.contains("missing field"),
        "{page}"
    );

    // Act: a parked event whose cause is gone (listed as if the database had refused it for a
    // while), then `orderflow replay`, twice.
    sqlx::query("INSERT INTO parked_event (stream, position, source, payload, error, parked_ms) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&topic)
        .bind(99_i64)
        .bind("test")
        .bind(order_with_id(5))
        .bind("database was read-only")
        .bind(0_i64)
        .execute(shipping.state.db.pool())
        .await
        .unwrap();
    let (database_url, schema) = system.env.database(&system.iso, "shipping");
    let replay = || {
        tokio::process::Command::new(ORDERFLOW)
            .args([
                "replay",
                "shipping",
                "--database-url",
                &database_url,
                "--schema",
                &schema,
            ])
            .output()
    };
    let first = replay().await.unwrap();

    // Assert: order 5 applied and removed; the three that still cannot apply stay, and say so.
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(
        !first.status.success(),
        "the still-failing ones make replay fail: {said}"
    );
    assert!(
        said.contains("1 parked events applied and removed, 3 still failing"),
        "{said}"
    );
    wait_for_rows(&shipping.state.db, "shipment", 3).await;
    let second = replay().await.unwrap();
    let said = String::from_utf8_lossy(&second.stdout);
    assert!(
        said.contains("0 parked events applied and removed, 3 still failing"),
        "{said}"
    );
    let left: i64 = sqlx::query("SELECT COUNT(*) AS n FROM parked_event")
        .fetch_one(shipping.state.db.pool())
        .await
        .unwrap()
        .get("n");
    assert_eq!(left, 3);
}
