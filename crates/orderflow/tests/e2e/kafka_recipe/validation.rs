use orderflow_testkit::kafka;

use crate::helpers::*;

fn form_with(changes: &[(&str, Option<&str>)]) -> Vec<(&'static str, String)> {
    let mut form: Vec<(&'static str, String)> = WORKED_EXAMPLE_FORM
        .iter()
        .map(|(name, value)| (*name, (*value).to_owned()))
        .collect();
    for (name, value) in changes {
        form.retain(|(field, _)| field != name);
        if let Some(value) = value {
            let field = WORKED_EXAMPLE_FORM
                .iter()
                .find(|(field, _)| field == name)
                .unwrap()
                .0;
            form.push((field, (*value).to_owned()));
        }
    }
    form
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_orders_get_422_with_a_clear_message_and_nothing_is_stored_or_sent() {
    // Arrange
    let system = TestSystem::new();
    let order = system.start_order().await;
    let cases = [
        (
            "no lines",
            form_with(&[("orderLine[0].count", None), ("orderLine[0].item", None)]),
            "at least one line",
        ),
        (
            "count 0",
            form_with(&[("orderLine[0].count", Some("0"))]),
            "count must be between 1 and",
        ),
        (
            "count not a number",
            form_with(&[("orderLine[0].count", Some("lots"))]),
            "count must be a whole number",
        ),
        (
            "unknown item",
            form_with(&[("orderLine[0].item", Some("999"))]),
            "there is no item 999",
        ),
        (
            "unknown customer",
            form_with(&[("customer", Some("77"))]),
            "There is no customer 77",
        ),
        (
            "missing street",
            form_with(&[("shippingAddress.street", None)]),
            "Shipping address: Street is missing",
        ),
        (
            "blank city",
            form_with(&[("billingAddress.city", Some("  "))]),
            "Billing address: City is missing",
        ),
    ];

    for (case, form, message) in cases {
        // Act
        let response = system
            .http
            .post(&order.url)
            .form(&form)
            .send()
            .await
            .unwrap();

        // Assert: the form again, with the message and what was typed.
        assert_eq!(response.status(), 422, "{case}");
        let page = response.text().await.unwrap();
        assert!(page.contains("Order : Add"), "{case}: {page}");
        assert!(
            page.contains(message),
            "{case}: expected `{message}` in {page}"
        );
    }

    // The JSON API says the same in JSON.
    let response = system
        .http
        .post(format!("{}api/orders", order.url))
        .json(&serde_json::json!({
            "customerId": 1,
            "shippingAddress": {"street": "", "zip": "1", "city": "X"},
            "billingAddress": {"street": "S", "zip": "1", "city": "X"},
            "orderLine": []
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("Street is missing"),
        "{body}"
    );
    let response = system
        .http
        .post(format!("{}api/orders", order.url))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // Assert: nothing stored, nothing announced, nothing sent.
    assert_eq!(count(&order.db, "orders").await, 0);
    assert_eq!(count(&order.db, "order_event").await, 0);
    let valid = system.post_form(&order, WORKED_EXAMPLE_FORM).await;
    assert_eq!(valid.status(), 200, "the service still takes valid orders");
    wait_for_rows(&order.db, "order_event", 1).await;
    orderflow_testkit::wait_until("the valid order's record", DEADLINE, || async {
        (kafka::record_count(&system.env.kafka_brokers, &system.iso.topic()).await == 1)
            .then_some(())
    })
    .await;
}
