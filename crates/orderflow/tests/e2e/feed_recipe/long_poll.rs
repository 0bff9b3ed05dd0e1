//! Long polling: a reader that sends `Prefer: wait` with the tag of its document is held until
//! the feed changes, sees new entries at once, and is never given a date that could hide some.

use std::time::Duration;

use reqwest::header;

use crate::helpers::*;

/// How many feed readers order holds right now, as its `/health` says.
async fn held_long_polls(system: &TestSystem, order: &RunningOrder) -> u64 {
    let (_, health) = system.get_text(format!("{}health", order.url)).await;
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    health["feedLongPolls"]
        .as_u64()
        .expect("feedLongPolls in /health")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_reader_gets_the_new_entry_as_soon_as_it_is_sequenced_and_no_date_that_could_hide_more()
 {
    // Arrange: a document with one entry, and its tag.
    let system = TestSystem::new();
    let order = system.start_order_feed(0, None).await;
    system.place_json_order(&order, 1).await;
    let etag = orderflow_testkit::wait_until("the first entry", DEADLINE, || async {
        let response = system.http.get(order.feed_url()).send().await.ok()?;
        let etag = response
            .headers()
            .get(header::ETAG)?
            .to_str()
            .ok()?
            .to_owned();
        response
            .text()
            .await
            .ok()?
            .contains("<entry>")
            .then_some(etag)
    })
    .await;

    // Act: a long poll for that document, held until order 2 is placed.
    let long_poll = tokio::spawn({
        let (http, url, etag) = (system.http.clone(), order.feed_url(), etag.clone());
        async move {
            http.get(url)
                .header(header::IF_NONE_MATCH, etag)
                .header("prefer", "wait=30")
                .send()
                .await
                .unwrap()
        }
    });
    orderflow_testkit::wait_until("the long poll held", DEADLINE, || async {
        (held_long_polls(&system, &order).await == 1).then_some(())
    })
    .await;
    assert!(!long_poll.is_finished(), "answered while nothing changed");
    system.place_json_order(&order, 2).await;
    let response = long_poll.await.unwrap();

    // Assert: the new document, at once (not at the next second), saying the wait was honoured.
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["preference-applied"], "wait=30");
    assert_ne!(response.headers()[header::ETAG], etag.as_str());
    let date =
        httpdate::parse_http_date(response.headers()[header::DATE].to_str().unwrap()).unwrap();
    // A `Last-Modified` only for a second that was over when the document was made: more
    // entries may still come in the current one.
    if let Some(last_modified) = response.headers().get(header::LAST_MODIFIED) {
        let last_modified = httpdate::parse_http_date(last_modified.to_str().unwrap()).unwrap();
        assert!(
            last_modified < date,
            "{last_modified:?} is not over at {date:?}"
        );
    }
    let body = response.text().await.unwrap();
    assert_eq!(body.matches("<entry>").count(), 2, "{body}");
    assert_eq!(held_long_polls(&system, &order).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_poll_that_sees_no_change_ends_with_304_and_a_plain_get_is_never_held() {
    // Arrange
    let system = TestSystem::new();
    let order = system.start_order_feed(0, None).await;
    system.place_json_order(&order, 1).await;
    let response = system.http.get(order.feed_url()).send().await.unwrap();
    let etag = response.headers()[header::ETAG]
        .to_str()
        .unwrap()
        .to_owned();

    // Act + Assert: nothing changes (no order is placed) while a reader waits one second.
    let held = system
        .http
        .get(order.feed_url())
        .header(header::IF_NONE_MATCH, &etag)
        .header("prefer", "wait=1")
        .send()
        .await
        .unwrap();
    // The entry of order 1 may have become visible to this reader (it sees every sequenced
    // entry): then the answer is that document, else 304 after the wait.
    assert!(
        matches!(held.status().as_u16(), 200 | 304),
        "{}",
        held.status()
    );
    assert_eq!(held.headers()["preference-applied"], "wait=1");
    let etag = held.headers()[header::ETAG].to_str().unwrap().to_owned();
    let unchanged = system
        .http
        .get(order.feed_url())
        .header(header::IF_NONE_MATCH, &etag)
        .header("prefer", "wait=1")
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);
    assert_eq!(unchanged.headers()["preference-applied"], "wait=1");

    // A reader without `Prefer` (the originals' pollers) is answered at once, with no
    // `Preference-Applied`, and sees only entries of seconds that are over.
    let plain = system
        .http
        .get(order.feed_url())
        .header(header::IF_NONE_MATCH, "\"nothing-like-it\"")
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("preference-applied").is_none());
    assert_eq!(plain.status(), 200);
    let date = httpdate::parse_http_date(plain.headers()[header::DATE].to_str().unwrap()).unwrap();
    let last_modified =
        httpdate::parse_http_date(plain.headers()[header::LAST_MODIFIED].to_str().unwrap())
            .unwrap();
    assert!(
        last_modified < date,
        "{last_modified:?} is not over at {date:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poller_that_long_polls_needs_no_interval_to_see_new_orders() {
    // Arrange: shipping polls the feed once an hour, and long-polls (the default).
    let system = TestSystem::new();
    let order = system.start_order_feed(0, None).await;
    let mut poller = orderflow_feed::PollerSettings::new(order.feed_url());
    poller.interval = Duration::from_secs(3600);
    let shipping = system
        .start_shipping_via(orderflow_consumer::Transport::Feed(poller))
        .await;
    orderflow_testkit::wait_until("shipping's long poll held", DEADLINE, || async {
        (held_long_polls(&system, &order).await == 1).then_some(())
    })
    .await;

    // Act
    for n in 1..=3 {
        system.place_json_order(&order, n).await;
    }

    // Assert: every order arrives without a poll on demand and long before the hour is over.
    wait_for_rows(&shipping.state.db, "shipment", 3).await;
}

/// The `href` of the document's `<link rel="prev-archive">`, if it has one.
fn prev_archive(atom: &str) -> Option<String> {
    atom.split("<link")
        .skip(1)
        .map(|link| &link[..link.find('>').unwrap_or(link.len())])
        .find(|link| link.contains(r#"rel="prev-archive""#))
        .and_then(|link| link.split(r#"href=""#).nth(1))
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_archive_page_a_long_poller_is_shown_answers_at_once() {
    // Arrange: pages of 2, and 5 orders placed within moments of each other, so that the
    // newest archive page holds entries of the current second when a long poller sees them.
    let system = TestSystem::new();
    let order = system.start_order_feed(0, Some(2)).await;
    let mut newest = 0;
    for count in 1..=5 {
        newest = system.place_json_order(&order, count).await;
    }

    // Act: the document a long poller gets (every sequenced entry) once it shows all five.
    let current = orderflow_testkit::wait_until("all five for a long poller", DEADLINE, || async {
        let body = system
            .http
            .get(order.feed_url())
            .header(header::IF_NONE_MATCH, "\"another document\"")
            .header("prefer", "wait=1")
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        body.contains(&format!("Order {newest}<")).then_some(body)
    })
    .await;

    // Assert: it links archive pages, and each answers now, not once its second is over (a
    // reader told 404 backs off and falls behind by seconds: it did under load, in bench/run).
    let mut link = prev_archive(&current);
    let mut pages = 0;
    while let Some(url) = link {
        let response = system.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        link = prev_archive(&response.text().await.unwrap());
        pages += 1;
    }
    assert!(pages >= 1, "no archive page linked: {current}");
}
