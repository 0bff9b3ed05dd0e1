//! orderflow's feeds carry each order inline (`orderflow:order`), beside the link the originals'
//! readers follow: a reader of ours applies an entry without fetching its order.

use reqwest::header;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn entries_carry_their_order_so_that_readers_need_not_fetch_it() {
    // Arrange
    let system = TestSystem::new();
    let order = system.start_order_feed(0, None).await;
    let shipping = system.start_shipping_via(feed(&order.feed_url())).await;

    // Act
    for n in 1..=3 {
        system.place_json_order(&order, n).await;
    }
    wait_for_rows(&shipping.state.db, "shipment", 3).await;

    // Assert: shipping fetched no order (order counts its requests by route).
    let (_, metrics) = system.get_text(format!("{}metrics", order.url)).await;
    let fetched: Vec<&str> = metrics
        .lines()
        .filter(|line| line.starts_with("http_requests_total") && line.contains("/order/{id}"))
        .collect();
    assert!(fetched.is_empty(), "orders fetched: {fetched:?}");

    // Assert: each entry's order is the document its link answers, and the link is still
    // there for readers that do not know our element.
    let xml = orderflow_testkit::wait_until("3 entries to a plain GET", DEADLINE, || async {
        let response = system.http.get(order.feed_url()).send().await.ok()?;
        let xml = response.text().await.ok()?;
        (xml.matches("<entry>").count() == 3).then_some(xml)
    })
    .await;
    let document = roxmltree::Document::parse(&xml).unwrap();
    let entries: Vec<_> = document
        .descendants()
        .filter(|n| n.tag_name().name() == "entry")
        .collect();
    assert_eq!(entries.len(), 3);
    for entry in entries {
        let src = entry
            .descendants()
            .find(|n| n.tag_name().name() == "content")
            .and_then(|content| content.attribute("src"))
            .expect("content/@src");
        let inline = entry
            .descendants()
            .find(|n| {
                n.tag_name().name() == "order"
                    && n.tag_name().namespace() == Some(orderflow_feed::render::ORDERFLOW_NAMESPACE)
            })
            .and_then(|n| n.text())
            .expect("orderflow:order");
        let fetched = system
            .http
            .get(src)
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(inline).unwrap(),
            serde_json::from_str::<serde_json::Value>(&fetched).unwrap(),
            "{src}"
        );
    }
}
