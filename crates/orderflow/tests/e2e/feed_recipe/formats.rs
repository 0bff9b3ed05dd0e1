//! The feed as JSON Feed 1.1 and RSS 2.0 beside Atom: chosen by `Accept`, with the same
//! entries, paging and validators, and read by pollers asking for each (`--feed-format`).

use orderflow_feed::FeedFormat;
use reqwest::header;

use crate::helpers::*;

/// A poller of `feed_url` asking for `format`, polling every 50 ms.
fn feed_in(feed_url: &str, format: FeedFormat) -> orderflow_consumer::Transport {
    let orderflow_consumer::Transport::Feed(mut settings) = feed(feed_url) else {
        unreachable!("feed() makes a feed transport")
    };
    settings.format = format;
    orderflow_consumer::Transport::Feed(settings)
}

async fn get(system: &TestSystem, url: &str, format: FeedFormat) -> reqwest::Response {
    system
        .http
        .get(url)
        .header(header::ACCEPT, format.media_type())
        .send()
        .await
        .unwrap()
}

/// The document in `format` once it shows `count` entries (readable by an independent reader).
async fn document_with(
    system: &TestSystem,
    url: &str,
    format: FeedFormat,
    count: usize,
) -> (reqwest::header::HeaderMap, String) {
    orderflow_testkit::wait_until(&format!("{count} entries ({format})"), DEADLINE, || async {
        let response = get(system, url, format).await;
        let headers = response.headers().clone();
        let body = response.text().await.ok()?;
        let parsed = feed_rs::parser::parse(body.as_bytes()).ok()?;
        (parsed.entries.len() == count).then_some((headers, body))
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worked_example_reaches_readers_of_json_feed_and_of_rss() {
    // Arrange: shipping reads JSON Feed, invoicing RSS.
    let system = TestSystem::new();
    let order = system.start_order_feed(0, None).await;
    let shipping = system
        .start_shipping_via(feed_in(&order.feed_url(), FeedFormat::JsonFeed))
        .await;
    let invoicing = system
        .start_invoicing_via(feed_in(&order.feed_url(), FeedFormat::Rss))
        .await;

    // Act
    assert_eq!(
        system.post_form(&order, WORKED_EXAMPLE_FORM).await.status(),
        200
    );

    // Assert: both copies, as the contract says.
    wait_for_rows(&shipping.state.db, "shipment", 1).await;
    wait_for_rows(&invoicing.state.db, "invoice", 1).await;
    let report = check_shipping_and_invoicing(&order, &shipping, &invoicing).await;
    assert!(report.consistent(), "{report:?}");

    // Assert: each format is served as itself and reads as such to an independent reader.
    for (format, kind) in [
        (FeedFormat::Atom, feed_rs::model::FeedType::Atom),
        (FeedFormat::JsonFeed, feed_rs::model::FeedType::JSON),
        (FeedFormat::Rss, feed_rs::model::FeedType::RSS2),
    ] {
        let (headers, body) = document_with(&system, &order.feed_url(), format, 1).await;
        assert_eq!(headers[header::CONTENT_TYPE], format.content_type());
        assert!(
            headers[header::VARY].to_str().unwrap().contains("Accept"),
            "caches keep the formats apart"
        );
        let parsed = feed_rs::parser::parse(body.as_bytes()).unwrap();
        assert_eq!(parsed.feed_type, kind);
        assert_eq!(parsed.title.unwrap().content, "Order");
        assert_eq!(parsed.entries[0].title.as_ref().unwrap().content, "Order 1");
    }
    // Without an Accept for one of them, it stays Atom (the originals read it).
    let plain = system.http.get(order.feed_url()).send().await.unwrap();
    assert_eq!(
        plain.headers()[header::CONTENT_TYPE],
        FeedFormat::Atom.content_type()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_format_has_its_own_validators_and_answers_304_to_them() {
    let system = TestSystem::new();
    let order = system.start_order_feed(0, None).await;
    system.place_json_order(&order, 1).await;
    let mut etags = Vec::new();
    for format in FeedFormat::ALL {
        let (headers, _) = document_with(&system, &order.feed_url(), format, 1).await;
        let etag = headers[header::ETAG].to_str().unwrap().to_owned();
        let revalidated = system
            .http
            .get(order.feed_url())
            .header(header::ACCEPT, format.media_type())
            .header(header::IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(revalidated.status(), 304, "{format}");
        etags.push(etag);
    }
    etags.dedup();
    assert_eq!(etags.len(), 3, "a tag per representation: {etags:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn readers_of_json_feed_and_rss_walk_the_archives_to_every_order() {
    // Arrange: pages of 5, 17 orders before anyone reads.
    let system = TestSystem::new();
    let order = system.start_order_feed(0, Some(5)).await;
    for count in 1..=17 {
        system.place_json_order(&order, count).await;
    }
    // An archive page in each format says it is one and may be cached for good.
    for format in [FeedFormat::JsonFeed, FeedFormat::Rss] {
        let url = format!("{}feed/archive/1", order.url);
        let (headers, body) = document_with(&system, &url, format, 5).await;
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        match format {
            FeedFormat::JsonFeed => {
                let value: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(value["_orderflow"]["archive"], true, "{body}");
                assert!(
                    value["_orderflow"]["links"]["next-archive"].is_string(),
                    "{body}"
                );
            }
            _ => assert!(body.contains("<fh:archive"), "{body}"),
        }
    }

    // Act: readers start now, one per format.
    let shipping = system
        .start_shipping_via(feed_in(&order.feed_url(), FeedFormat::JsonFeed))
        .await;
    let invoicing = system
        .start_invoicing_via(feed_in(&order.feed_url(), FeedFormat::Rss))
        .await;

    // Assert: all 17, once each.
    wait_for_rows(&shipping.state.db, "shipment", 17).await;
    wait_for_rows(&invoicing.state.db, "invoice", 17).await;
    assert_eq!(shipping.state.delivery().duplicates(), 0);
    assert_eq!(invoicing.state.delivery().duplicates(), 0);
}
