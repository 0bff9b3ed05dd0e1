use std::time::Duration;

use orderflow_testkit::kafka;
use rdkafka::Message;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_worked_example_reaches_shipping_and_invoicing_with_the_contract_values() {
    // Arrange
    let system = TestSystem::new();
    let order = system.start_order().await;
    let shipping = system.start_shipping().await;
    let invoicing = system.start_invoicing().await;

    // Act
    let response = system.post_form(&order, WORKED_EXAMPLE_FORM).await;

    // Assert: the order service says so and lists the order with its total.
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Success") && page.contains("Action was successful!"),
        "{page}"
    );
    let (_, list) = system.get_text(order.url.clone()).await;
    assert!(
        list.contains("Eberhard Wolff") && list.contains("1764.0"),
        "{list}"
    );

    // Assert: shipping's copy, without billing address or prices.
    wait_for_rows(&shipping.state.db, "shipment", 1).await;
    let (status, shipment) = system.get_text(format!("{}1", shipping.url)).await;
    assert_eq!(status, 200);
    for expected in [
        "Shipping",
        "Eberhard Wolff",
        "Ohlauer Str. 43",
        "10999",
        "Berlin",
        "Shipment Lines",
    ] {
        assert!(
            shipment.contains(expected),
            "shipment page lacks {expected}: {shipment}"
        );
    }
    assert!(
        shipment.contains(r#"<td class="number">42</td><td class="number">1</td><td>iPod</td>"#),
        "line 42 | 1 | iPod: {shipment}"
    );
    for absent in ["Krischerstr. 100", "Monheim am Rhein", "42.0", "1764.0"] {
        assert!(!shipment.contains(absent), "shipment page shows {absent}");
    }
    let (_, shipments) = system.get_text(shipping.url.clone()).await;
    assert!(shipments.contains("Shipments : View all") && shipments.contains("Eberhard Wolff"));

    // Assert: invoicing's copy, with email, billing address, prices and total.
    wait_for_rows(&invoicing.state.db, "invoice", 1).await;
    let (status, invoice) = system.get_text(format!("{}1", invoicing.url)).await;
    assert_eq!(status, 200);
    for expected in [
        "Invoicing",
        "Eberhard Wolff",
        "eberhard.wolff@gmail.com",
        "Krischerstr. 100",
        "40789",
        "Monheim am Rhein",
        "1764.0",
    ] {
        assert!(
            invoice.contains(expected),
            "invoice page lacks {expected}: {invoice}"
        );
    }
    assert!(
        invoice.contains(
            r#"<td class="number">42</td><td class="number">1</td><td>iPod</td><td class="number">42.0</td><td class="number">1764.0</td>"#
        ),
        "line 42 | 1 | iPod | 42.0 | 1764.0: {invoice}"
    );
    let (_, invoices) = system.get_text(invoicing.url.clone()).await;
    assert!(invoices.contains("Invoicing : View all") && invoices.contains("1764.0"));

    // Assert: the record on the topic, as the original consumers expect it.
    let records = kafka::read_all(
        &system.env.kafka_brokers,
        &system.iso.topic(),
        1,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.key(), Some(&b"1created"[..]));
    let value: serde_json::Value = serde_json::from_slice(record.payload().unwrap()).unwrap();
    assert_eq!(value["id"], 1);
    assert_eq!(value["customer"]["name"], "Wolff");
    assert_eq!(value["customer"]["firstname"], "Eberhard");
    assert_eq!(value["customer"]["email"], "eberhard.wolff@gmail.com");
    assert!(value["updated"].is_i64(), "updated is epoch milliseconds");
    assert_eq!(value["shippingAddress"]["street"], "Ohlauer Str. 43");
    assert_eq!(value["billingAddress"]["city"], "Monheim am Rhein");
    assert_eq!(value["orderLine"][0]["count"], 42);
    assert_eq!(value["orderLine"][0]["item"]["itemId"], 1);
    assert_eq!(value["orderLine"][0]["item"]["name"], "iPod");
    assert_eq!(value["orderLine"][0]["item"]["price"], 42.0);
    assert_eq!(value["numberOfLines"], 1);
    let headers = kafka::headers(record);
    assert!(
        headers.iter().all(|(name, _)| name != "__TypeId__"),
        "{headers:?}"
    );

    // Assert: the consumer reports its lag (per owned partition that has had a record), caught up.
    let health_url = format!("{}health", shipping.url);
    let health = orderflow_testkit::wait_until("shipping to report its lag", DEADLINE, || async {
        let health: serde_json::Value = system
            .http
            .get(&health_url)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (!health["lag"].as_object()?.is_empty()).then_some(health)
    })
    .await;
    assert_eq!(health["totalLag"], 0, "{health}");

    // Assert: the JSON resource is the same document.
    let resource: serde_json::Value = system
        .http
        .get(format!("{}order/1", order.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resource, value);
}
