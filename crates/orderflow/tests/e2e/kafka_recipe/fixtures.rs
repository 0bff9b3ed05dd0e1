use orderflow_testkit::kafka;

use crate::helpers::*;

const ORIGINAL_PRODUCER: &str =
    include_str!("../../../../events/fixtures/order-record-original-producer.json");
const ORIGINAL_TEST: &str =
    include_str!("../../../../events/fixtures/order-record-original-test.json");

/// Produces `value` raw onto a fresh topic, as an original Java producer would, and checks that
/// both consumers create shipment and invoice 1 from it.
async fn consumers_apply_a_raw_record(key: Option<&str>, value: &str) {
    // Arrange
    let system = TestSystem::new();
    kafka::create_topic(&system.env.kafka_brokers, &system.iso.topic(), 5).await;
    let shipping = system.start_shipping().await;
    let invoicing = system.start_invoicing().await;

    // Act
    kafka::produce(
        &system.env.kafka_brokers,
        &system.iso.topic(),
        None,
        key,
        value.as_bytes(),
    )
    .await;

    // Assert
    wait_for_rows(&shipping.state.db, "shipment", 1).await;
    wait_for_rows(&invoicing.state.db, "invoice", 1).await;
    let (_, shipment) = system.get_text(format!("{}1", shipping.url)).await;
    assert!(
        shipment.contains("Eberhard Wolff") && shipment.contains("Ohlauer Str. 43"),
        "{shipment}"
    );
    let (_, invoice) = system.get_text(format!("{}1", invoicing.url)).await;
    assert!(
        invoice.contains("eberhard.wolff@gmail.com") && invoice.contains("1764.0"),
        "{invoice}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_original_producers_record_creates_shipment_and_invoice_1() {
    consumers_apply_a_raw_record(Some("1created"), ORIGINAL_PRODUCER).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_original_tests_record_with_iso_date_and_no_key_creates_shipment_and_invoice_1() {
    consumers_apply_a_raw_record(None, ORIGINAL_TEST).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_record_with_the_same_id_and_other_data_changes_nothing() {
    // Arrange: shipment and invoice 1 exist.
    let system = TestSystem::new();
    let (brokers, topic) = (system.env.kafka_brokers.clone(), system.iso.topic());
    kafka::create_topic(&brokers, &topic, 5).await;
    let shipping = system.start_shipping().await;
    let invoicing = system.start_invoicing().await;
    kafka::produce(
        &brokers,
        &topic,
        Some(0),
        Some("1created"),
        ORIGINAL_PRODUCER.as_bytes(),
    )
    .await;
    wait_for_rows(&shipping.state.db, "shipment", 1).await;
    wait_for_rows(&invoicing.state.db, "invoice", 1).await;

    // Act: the same id with another customer, address and line; then order 2 behind it on the
    // same partition, so that once 2 is there, the changed 1 has been handled.
    let changed = ORIGINAL_PRODUCER
        .replace("Eberhard", "Rod")
        .replace("Ohlauer Str. 43", "Elsewhere 1")
        .replace("\"count\":42", "\"count\":7");
    kafka::produce(
        &brokers,
        &topic,
        Some(0),
        Some("1created"),
        changed.as_bytes(),
    )
    .await;
    let second = ORIGINAL_PRODUCER.replace("\"id\":1,", "\"id\":2,");
    kafka::produce(
        &brokers,
        &topic,
        Some(0),
        Some("2created"),
        second.as_bytes(),
    )
    .await;

    // Assert
    wait_for_rows(&shipping.state.db, "shipment", 2).await;
    wait_for_rows(&invoicing.state.db, "invoice", 2).await;
    let (_, shipment) = system.get_text(format!("{}1", shipping.url)).await;
    assert!(
        shipment.contains("Eberhard Wolff") && shipment.contains("Ohlauer Str. 43"),
        "{shipment}"
    );
    assert!(
        !shipment.contains("Rod") && !shipment.contains("Elsewhere"),
        "{shipment}"
    );
    let (_, invoice) = system.get_text(format!("{}1", invoicing.url)).await;
    assert!(
        invoice.contains("Eberhard Wolff") && invoice.contains("1764.0"),
        "{invoice}"
    );
    assert_eq!(count(&shipping.state.db, "shipment_line").await, 2);
    assert_eq!(count(&invoicing.state.db, "invoice_line").await, 2);
    assert_eq!(shipping.state.delivery().duplicates(), 1);
    assert_eq!(invoicing.state.delivery().duplicates(), 1);
}
