use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn bonus_killed_in_the_middle_of_its_catch_up_counts_nothing_twice() {
    // Arrange: a history of 3000 orders before bonus exists (enough for the kill to land in
    // the middle of the catch-up).
    let system = TestSystem::new();
    let order = system.start_order().await;
    place_concurrently(&system, &order, 0..3000, 8).await;
    let log = std::env::temp_dir().join(format!("orderflow-{}-bonus.log", system.iso.tag));
    let (database_url, schema) = system.env.database(&system.iso, "bonus");
    let mut settings = orderflow_bonus::Application::default_settings(
        database_url,
        orderflow_consumer::Transport::Kafka(system.kafka()),
    );
    settings.database.schema = schema;
    let db = orderflow_bonus::Application::connect_database(&settings.database)
        .await
        .unwrap();

    // Act: kill -9 as soon as it has counted some, then start it again.
    let mut bonus = spawn_consumer(&system, "bonus", &system.kafka().state_topic(), &log);
    let counted_before_kill = wait_until("bonus counting", DEADLINE, || async {
        let counted = count(&db, "bonus_order").await;
        (counted > 0).then_some(counted)
    })
    .await;
    bonus.start_kill().unwrap();
    bonus.wait().await.unwrap();
    let _restarted = spawn_consumer(&system, "bonus", &system.kafka().state_topic(), &log);

    // Assert: every order once, the points per customer exactly the orders'.
    wait_for_rows(&db, "bonus_order", 3000).await;
    let expected = expected_points(&system, &order).await;
    let counted: BTreeMap<i64, i64> = sqlx::query(
        "SELECT customer_id, CAST(SUM(points) AS BIGINT) AS points FROM bonus_order GROUP BY customer_id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .iter()
    .map(|row| {
        use sqlx::Row;
        (row.get("customer_id"), row.get("points"))
    })
    .collect();
    eprintln!("bonus was killed -9 after counting {counted_before_kill} of 3000 orders");
    assert_eq!(
        counted,
        expected,
        "killed after {counted_before_kill} orders (log: {})",
        log.display()
    );
}
