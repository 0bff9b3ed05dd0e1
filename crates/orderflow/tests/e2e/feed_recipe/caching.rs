use reqwest::header;

use crate::helpers::*;

/// The feed once it shows `count` entries (entries become visible at the next whole second).
async fn feed_with_entries(
    system: &TestSystem,
    order: &RunningOrder,
    count: usize,
) -> reqwest::Response {
    let url = order.feed_url();
    orderflow_testkit::wait_until(
        &format!("{count} entries in the feed"),
        DEADLINE,
        || async {
            let response = system.http.get(&url).send().await.ok()?;
            let headers = response.headers().clone();
            let body = response.text().await.ok()?;
            (body.matches("<entry>").count() == count).then_some(headers)
        },
    )
    .await;
    system.http.get(&url).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_feed_answers_304_to_if_none_match_and_if_modified_since_until_it_changes() {
    // Arrange
    let system = TestSystem::new();
    let order = system.start_order_feed(0, None).await;
    system.place_json_order(&order, 1).await;
    let first = feed_with_entries(&system, &order, 1).await;
    assert_eq!(first.status(), 200);
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
    let last_modified = first.headers()[header::LAST_MODIFIED]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(etag.starts_with('"'), "a strong ETag: {etag}");

    // Act + Assert: both validators give 304 with an empty body.
    for (name, value) in [
        (header::IF_NONE_MATCH, &etag),
        (header::IF_MODIFIED_SINCE, &last_modified),
    ] {
        let response = system
            .http
            .get(order.feed_url())
            .header(name.clone(), value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304, "{name}");
        assert_eq!(response.headers()[header::ETAG], etag.as_str());
        assert!(response.bytes().await.unwrap().is_empty());
    }

    // Act: a new order.
    system.place_json_order(&order, 2).await;
    feed_with_entries(&system, &order, 2).await;

    // Assert: the old validators no longer match.
    let response = system
        .http
        .get(order.feed_url())
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_ne!(response.headers()[header::ETAG], etag.as_str());
    let response = system
        .http
        .get(order.feed_url())
        .header(header::IF_MODIFIED_SINCE, &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "Last-Modified moved with the content"
    );

    // An empty feed is a 200 with no entries, and no date: neither `updated` nor
    // `Last-Modified` (contract section 4: `updated` is the newest entry's, absent when empty).
    let empty = TestSystem::new();
    let empty_order = empty.start_order_feed(0, None).await;
    let response = empty.http.get(empty_order.feed_url()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key(header::ETAG));
    assert!(!response.headers().contains_key(header::LAST_MODIFIED));
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("<entry>") && !body.contains("<updated>"),
        "{body}"
    );
}
