use std::collections::BTreeMap;

use futures::future::join_all;
use sqlx::Row;

use crate::helpers::*;

async fn received_at(db: &orderflow_storage::Database) -> BTreeMap<i64, i64> {
    sqlx::query("SELECT id, received_ms FROM shipment")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get("id"), row.get("received_ms")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_killed_after_processing_recreates_nothing_and_misses_nothing_on_restart() {
    // Arrange: shipping runs as a process; its schema is read through a pool of the test's own.
    let system = TestSystem::new();
    let order = system.start_order().await;
    let log = std::env::temp_dir().join(format!("orderflow-{}-shipping.log", system.iso.tag));
    let mut shipping = spawn_consumer(&system, "shipping", &system.iso.topic(), &log);
    let (database_url, schema) = system.env.database(&system.iso, "shipping");
    let mut settings = orderflow_shipping::Application::default_settings(
        database_url,
        orderflow_consumer::Transport::Kafka(system.kafka()),
    );
    settings.database.schema = schema;
    let shipping_db = orderflow_shipping::Application::connect_database(&settings.database)
        .await
        .unwrap();
    join_all((1..=30).map(|i| system.place_json_order(&order, i))).await;
    wait_for_rows(&shipping_db, "shipment", 30).await;
    let before = received_at(&shipping_db).await;

    // Act: kill -9 right after it processed (its last offsets are likely not committed yet),
    // place more orders while it is down, start it again.
    shipping.start_kill().unwrap();
    shipping.wait().await.unwrap();
    join_all((31..=60).map(|i| system.place_json_order(&order, i))).await;
    let mut restarted = spawn_consumer(&system, "shipping", &system.iso.topic(), &log);

    // Assert: all 60, each once, and the first 30 untouched.
    wait_for_rows(&shipping_db, "shipment", 60).await;
    assert_eq!(count(&shipping_db, "shipment_line").await, 120);
    let after = received_at(&shipping_db).await;
    assert_eq!(
        after.keys().copied().collect::<Vec<_>>(),
        (1..=60).collect::<Vec<_>>()
    );
    for (id, received) in &before {
        assert_eq!(
            after[id],
            *received,
            "shipment {id} was stored again (log: {})",
            log.display()
        );
    }
    restarted.start_kill().unwrap();
    restarted.wait().await.unwrap();
}
