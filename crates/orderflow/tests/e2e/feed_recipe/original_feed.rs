use axum::Router;
use axum::http::header;
use axum::routing::get;

use crate::helpers::*;

const ORIGINAL_FEED: &str = include_str!("../../../../events/fixtures/atom-feed-original.xml");
const ORIGINAL_ORDER: &str =
    include_str!("../../../../events/fixtures/order-record-original-test.json");

#[tokio::test(flavor = "multi_thread")]
async fn the_original_services_feed_is_read_and_its_order_applied() {
    // Arrange: a stub of the original order service: its feed (pointing at the stub instead of
    // http://order:8080/), and order 7 as the original serves it (ISO date, HAL links).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stub = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let feed_xml = ORIGINAL_FEED.replace("http://order:8080/", &stub);
    let order_json = ORIGINAL_ORDER.replace("\"id\" : 1,", "\"id\" : 7,");
    let app = Router::new()
        .route(
            "/feed",
            get(
                move || async move { ([(header::CONTENT_TYPE, "application/atom+xml")], feed_xml) },
            ),
        )
        .route(
            "/order/7",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], order_json) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let system = TestSystem::new();

    // Act
    let shipping = system
        .start_shipping_via(feed(&format!("{stub}feed")))
        .await;
    let invoicing = system
        .start_invoicing_via(feed(&format!("{stub}feed")))
        .await;

    // Assert
    wait_for_rows(&shipping.state.db, "shipment", 1).await;
    wait_for_rows(&invoicing.state.db, "invoice", 1).await;
    let (_, shipment) = system.get_text(format!("{}7", shipping.url)).await;
    assert!(
        shipment.contains("Eberhard Wolff") && shipment.contains("Ohlauer Str. 43"),
        "{shipment}"
    );
    let (_, invoice) = system.get_text(format!("{}7", invoicing.url)).await;
    assert!(invoice.contains("1764.0"), "{invoice}");
    // Read again and again (no positions in the original feed), applied once.
    orderflow_testkit::wait_until("a few more polls", DEADLINE, || async {
        (shipping
            .state
            .feed_status()
            .expect("reads the feed")
            .polls()
            > 5)
        .then_some(())
    })
    .await;
    assert_eq!(count(&shipping.state.db, "shipment").await, 1);
}
