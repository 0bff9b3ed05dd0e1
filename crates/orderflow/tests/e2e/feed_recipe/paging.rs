use reqwest::header;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_walks_the_archives_and_gets_every_order_when_there_are_more_than_a_page() {
    // Arrange: pages of 5, and 23 orders before anyone reads.
    let system = TestSystem::new();
    let order = system.start_order_feed(0, Some(5)).await;
    let mut ids = Vec::new();
    for count in 1..=23 {
        ids.push(system.place_json_order(&order, count).await);
    }
    orderflow_testkit::wait_until("all 23 orders in the feed", DEADLINE, || async {
        let body = system
            .http
            .get(order.feed_url())
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        body.contains(&format!("Order {}<", ids[22])).then_some(())
    })
    .await;

    // Assert: the current document holds the newest 5 and links the archives.
    let current = system
        .http
        .get(order.feed_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(current.matches("<entry>").count(), 5, "{current}");
    assert!(
        current.contains(r#"rel="prev-archive""#) && current.contains("feed/archive/4"),
        "{current}"
    );
    let archive = system
        .http
        .get(format!("{}feed/archive/1", order.url))
        .send()
        .await
        .unwrap();
    assert_eq!(archive.status(), 200);
    assert_eq!(
        archive.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let archive = archive.text().await.unwrap();
    assert_eq!(archive.matches("<entry>").count(), 5);
    assert!(
        archive.contains(r#"rel="next-archive""#)
            && archive.contains(r#"rel="current""#)
            && archive.contains("fh:archive")
    );
    let incomplete = system
        .http
        .get(format!("{}feed/archive/5", order.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        incomplete.status(),
        404,
        "an incomplete page is not an archive yet"
    );

    // Act: a reader starts from nothing.
    let shipping = system.start_shipping_via(feed(&order.feed_url())).await;

    // Assert: it walked back through every archive page.
    wait_for_rows(&shipping.state.db, "shipment", 23).await;
    assert_eq!(
        shipping
            .state
            .feed_status()
            .expect("reads the feed")
            .position(),
        23
    );
    assert_eq!(shipping.state.delivery().duplicates(), 0);
}
