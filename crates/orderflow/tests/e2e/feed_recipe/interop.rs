//! The originals' side of the feed (contract section 4, both directions): their poller reads
//! only the current document and sends `If-Modified-Since`; their feed has no positions and no
//! `ETag`, and compares dates in whole seconds. Neither may lose an order.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::helpers::*;

const ORIGINAL_ORDER: &str =
    include_str!("../../../../events/fixtures/order-record-original-test.json");

/// One poll as the original poller makes it: the current document only, conditional on the
/// `Last-Modified` it saw last. The order ids of its entries, and its new `Last-Modified`.
async fn original_poll(
    system: &TestSystem,
    feed_url: &str,
    last_modified: Option<&str>,
) -> (u16, BTreeSet<i64>, Option<String>) {
    let mut request = system.http.get(feed_url);
    if let Some(date) = last_modified {
        request = request.header(header::IF_MODIFIED_SINCE, date);
    }
    let response = request.send().await.expect("order answers");
    let status = response.status().as_u16();
    let date = response
        .headers()
        .get(header::LAST_MODIFIED)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    let ids = body
        .split("<title>Order ")
        .skip(1)
        .filter_map(|rest| rest.split('<').next()?.parse().ok())
        .collect();
    (status, ids, date)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_original_poller_that_never_follows_archive_links_still_reads_every_order() {
    // Arrange: pages of 10; the original poller has seen the first 3 orders.
    let system = TestSystem::new();
    let order = system.start_order_feed(0, Some(10)).await;
    for n in 1..=3 {
        system.place_json_order(&order, n).await;
    }
    let feed_url = order.feed_url();
    let (seen, last_modified) =
        orderflow_testkit::wait_until("the first 3 orders in the feed", DEADLINE, || async {
            let (_, ids, date) = original_poll(&system, &feed_url, None).await;
            (ids.len() == 3).then_some((ids, date))
        })
        .await;

    // Act: 25 more orders (two and a half pages) before its next poll; then it polls on.
    for n in 4..=28 {
        system.place_json_order(&order, n).await;
    }
    // It polls on, as the original does (every 30 s there; here until it has them all).
    let poller = std::sync::Mutex::new((seen, last_modified));
    orderflow_testkit::wait_until(
        "every order read by the original poller",
        DEADLINE,
        || async {
            let since = poller.lock().unwrap().1.clone();
            let (status, ids, date) = original_poll(&system, &feed_url, since.as_deref()).await;
            let mut state = poller.lock().unwrap();
            if status == 200 {
                state.0.extend(ids);
                state.1 = date;
            }
            state.0.contains(&28).then_some(())
        },
    )
    .await;
    let (seen, _) = poller.into_inner().unwrap();

    // Assert: all 28, not only the newest page.
    assert_eq!(seen, (1..=28).collect::<BTreeSet<i64>>());
    // A reader that says nothing gets the newest page only, as before.
    let (_, newest_page, _) = original_poll(&system, &feed_url, None).await;
    assert_eq!(newest_page, (19..=28).collect::<BTreeSet<i64>>());
}

/// A stub of the original feed: the orders it holds (id, time), its `Last-Modified` the newest
/// order's time in whole seconds, 304 whenever `If-Modified-Since` is that second or later, no
/// `ETag`, no positions, no paging.
#[derive(Clone, Default)]
struct OriginalFeed {
    orders: Arc<Mutex<Vec<(i64, i64)>>>,
}

impl OriginalFeed {
    fn add(&self, id: i64, updated_ms: i64) {
        self.orders.lock().unwrap().push((id, updated_ms));
    }
}

fn http_date(secs: i64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs as u64))
}

async fn original_feed(State(feed): State<OriginalFeed>, headers: HeaderMap) -> impl IntoResponse {
    let orders = feed.orders.lock().unwrap().clone();
    let newest_secs = orders.iter().map(|(_, ms)| ms / 1000).max().unwrap_or(0);
    let since_secs = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_secs);
    if since_secs.is_some_and(|since| newest_secs <= since) {
        return (StatusCode::NOT_MODIFIED, HeaderMap::new(), String::new());
    }
    let entries: String = orders
        .iter()
        .map(|(id, _)| {
            format!(
                "<entry><title>Order {id}</title><id>tag:ewolff.com/microservice-atom/order/{id}</id>\
                 <updated>2018-11-03T10:15:30Z</updated>\
                 <content type=\"application/json\" src=\"order/{id}\" /></entry>"
            )
        })
        .collect();
    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::CONTENT_TYPE,
        "application/atom+xml".parse().unwrap(),
    );
    response_headers.insert(
        header::LAST_MODIFIED,
        http_date(newest_secs).parse().unwrap(),
    );
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <title>Order</title><id>tag:ewolff.com/microservice-atom/order</id>\
         <updated>2018-11-03T10:15:30Z</updated>{entries}</feed>"
    );
    (StatusCode::OK, response_headers, xml)
}

/// The seconds of an HTTP date, as the original compares them.
fn parse_secs(date: &str) -> Option<i64> {
    let time = httpdate::parse_http_date(date).ok()?;
    Some(time.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_placed_in_the_same_second_as_the_last_document_is_not_hidden_by_a_304() {
    // Arrange: the original feed with order 1, read by shipping.
    let original = OriginalFeed::default();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    original.add(1, now_ms);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stub = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let app = Router::new()
        .route("/feed", get(original_feed))
        .route(
            "/order/{id}",
            get(|Path(id): Path<i64>| async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    ORIGINAL_ORDER.replace("\"id\" : 1,", &format!("\"id\" : {id},")),
                )
            }),
        )
        .with_state(original.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let system = TestSystem::new();
    let shipping = system
        .start_shipping_via(feed(&format!("{stub}feed")))
        .await;
    wait_for_rows(&shipping.state.db, "shipment", 1).await;

    // Act: order 2, dated in the same second as order 1, after shipping read the document.
    original.add(2, now_ms);

    // Assert: it arrives (the stub answers 304 to that second's date for ever, so only a poller
    // that does not trust so fresh a date reads it).
    wait_for_rows(&shipping.state.db, "shipment", 2).await;
}
