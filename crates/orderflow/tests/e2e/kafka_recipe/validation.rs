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

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_on_every_endpoint_is_a_clear_4xx_and_stores_nothing() {
    // Arrange
    let system = TestSystem::new();
    let order = system.start_order().await;
    let shipping = system.start_shipping().await;
    let http = &system.http;
    let form = "application/x-www-form-urlencoded";
    let huge = "x".repeat(100 * 1024);
    let long_street = "a".repeat(201);
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        (
            "form: invalid UTF-8",
            http.post(&order.url)
                .header("content-type", form)
                .body(&b"customer=%FF%FE"[..]),
            400,
        ),
        (
            "form: huge count",
            http.post(&order.url).form(&[
                ("customer", "1"),
                ("orderLine[0].count", "99999999999999999999"),
                ("orderLine[0].item", "1"),
            ]),
            422,
        ),
        (
            "form: negative count",
            http.post(&order.url).form(&[
                ("customer", "1"),
                ("orderLine[0].count", "-5"),
                ("orderLine[0].item", "1"),
            ]),
            422,
        ),
        (
            "form: over-long street",
            http.post(&order.url).form(&[
                ("customer", "1"),
                ("shippingAddress.street", long_street.as_str()),
            ]),
            422,
        ),
        (
            "form: oversized body",
            http.post(&order.url)
                .header("content-type", form)
                .body(format!("customer={huge}")),
            413,
        ),
        (
            "add line: invalid UTF-8",
            http.post(format!("{}line", order.url))
                .header("content-type", form)
                .body(&b"customer=%C3%28"[..]),
            400,
        ),
        (
            "json: not JSON",
            http.post(format!("{}api/orders", order.url))
                .header("content-type", "application/json")
                .body("{"),
            400,
        ),
        (
            "json: wrong types",
            http.post(format!("{}api/orders", order.url))
                .json(&serde_json::json!({"customerId": "one"})),
            400,
        ),
        (
            "json: unknown field",
            http.post(format!("{}api/orders", order.url))
                .json(&serde_json::json!({"customerId": 1, "evil": true})),
            400,
        ),
        (
            "json: huge number",
            http.post(format!("{}api/orders", order.url))
                .header("content-type", "application/json")
                .body(r#"{"customerId": 1e400}"#),
            400,
        ),
        (
            "json: negative count",
            http.post(format!("{}api/orders", order.url))
                .json(&serde_json::json!({
                    "customerId": 1,
                    "shippingAddress": {"street": "s", "zip": "z", "city": "c"},
                    "billingAddress": {"street": "s", "zip": "z", "city": "c"},
                    "orderLine": [{"count": -1, "itemId": 1}]
                })),
            422,
        ),
        (
            "json: oversized body",
            http.post(format!("{}api/orders", order.url))
                .header("content-type", "application/json")
                .body(huge.clone()),
            413,
        ),
        (
            "order page: non-numeric id",
            http.get(format!("{}abc", order.url)),
            404,
        ),
        (
            "order page: huge id",
            http.get(format!("{}99999999999999999999999", order.url)),
            404,
        ),
        (
            "order JSON: non-numeric id",
            http.get(format!("{}order/abc", order.url)),
            404,
        ),
        (
            "delete: non-numeric id",
            http.delete(format!("{}abc", order.url)),
            404,
        ),
        (
            "delete via form without _method",
            http.post(format!("{}1", order.url)).form(&[("x", "y")]),
            400,
        ),
        (
            "feed archive: not a number",
            http.get(format!("{}feed/archive/abc", order.url)),
            404,
        ),
        (
            "order list: bad paging",
            http.get(format!("{}api/orders?after=abc", order.url)),
            400,
        ),
        (
            "shipment page: non-numeric id",
            http.get(format!("{}abc", shipping.url)),
            404,
        ),
        (
            "shipment list: bad paging",
            http.get(format!("{}api/shipments?limit=x", shipping.url)),
            400,
        ),
        (
            "poll in Kafka mode",
            http.post(format!("{}poll", shipping.url)),
            404,
        ),
    ];

    for (case, request, expected) in cases {
        // Act
        let response = request.send().await.unwrap();

        // Assert: the expected 4xx, with a body that says something.
        assert_eq!(response.status().as_u16(), expected, "{case}");
        let body = response.text().await.unwrap();
        assert!(
            expected == 413 || !body.trim().is_empty(),
            "{case}: an empty body"
        );
    }

    // Nothing was stored or announced.
    assert_eq!(count(&order.db, "orders").await, 0);
    assert_eq!(count(&order.db, "order_event").await, 0);
}
