use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_worked_example_reaches_shipping_and_invoicing_through_the_feed() {
    // Arrange: no broker anywhere.
    let system = TestSystem::new();
    let order = system.start_order_feed(0, None).await;
    let shipping = system.start_shipping_via(feed(&order.feed_url())).await;
    let invoicing = system.start_invoicing_via(feed(&order.feed_url())).await;

    // Act
    let response = system.post_form(&order, WORKED_EXAMPLE_FORM).await;

    // Assert
    assert_eq!(response.status(), 200);
    wait_for_rows(&shipping.state.db, "shipment", 1).await;
    wait_for_rows(&invoicing.state.db, "invoice", 1).await;
    let (_, shipment) = system.get_text(format!("{}1", shipping.url)).await;
    for expected in ["Eberhard Wolff", "Ohlauer Str. 43", "10999", "Berlin"] {
        assert!(shipment.contains(expected), "{expected}: {shipment}");
    }
    let (_, invoice) = system.get_text(format!("{}1", invoicing.url)).await;
    for expected in [
        "eberhard.wolff@gmail.com",
        "Krischerstr. 100",
        "Monheim am Rhein",
        "1764.0",
    ] {
        assert!(invoice.contains(expected), "{expected}: {invoice}");
    }
    let (_, list) = system.get_text(shipping.url.clone()).await;
    assert!(
        list.contains(r#"action="poll""#) && list.contains(">Poll<"),
        "feed mode shows the Poll button: {list}"
    );

    // Assert: the live feed is Atom 1.0 with the contract's values, read by an independent parser.
    // (The pollers long-poll and may have had the entry before the second it was sequenced in
    // was over; a plain GET shows it from the next second.)
    let xml =
        orderflow_testkit::wait_until("the entry visible to a plain GET", DEADLINE, || async {
            let response = system.http.get(order.feed_url()).send().await.ok()?;
            assert_eq!(
                response.headers()["content-type"],
                "application/atom+xml; charset=utf-8"
            );
            let xml = response.text().await.ok()?;
            xml.contains("<entry>").then_some(xml)
        })
        .await;
    let document = roxmltree::Document::parse(&xml).unwrap();
    let feed = document.root_element();
    assert_eq!(atom(feed, "title").text(), Some("Order"));
    assert_eq!(
        atom(feed, "id").text(),
        Some("tag:ewolff.com/microservice-atom/order")
    );
    assert_eq!(atom(feed, "subtitle").text(), Some("List of all orders"));
    assert_eq!(
        atom(atom(feed, "author"), "name").text(),
        Some("Big Money Online Commerce Inc.")
    );
    assert!(atom(feed, "updated").text().is_some());
    let entry = atom(feed, "entry");
    assert_eq!(atom(entry, "title").text(), Some("Order 1"));
    assert_eq!(
        atom(entry, "id").text(),
        Some("tag:ewolff.com/microservice-atom/order/1")
    );
    assert_eq!(atom(entry, "summary").text(), Some("This is the order 1"));
    let content = atom(entry, "content");
    assert_eq!(content.attribute("type"), Some("application/json"));
    assert_eq!(
        content.attribute("src"),
        Some(format!("{}order/1", order.url).as_str())
    );

    // Assert: a poll on demand answers 302 to the list.
    let polled = system
        .http
        .post(format!("{}poll", shipping.url))
        .send()
        .await
        .unwrap();
    assert_eq!(polled.status(), 302);
    assert_eq!(polled.headers()["location"], "./");
}

/// The Atom child element `name` of `node`.
fn atom<'a, 'input>(node: roxmltree::Node<'a, 'input>, name: &str) -> roxmltree::Node<'a, 'input> {
    node.children()
        .find(|c| {
            c.tag_name().name() == name
                && c.tag_name().namespace() == Some("http://www.w3.org/2005/Atom")
        })
        .unwrap_or_else(|| panic!("no atom:{name}"))
}
