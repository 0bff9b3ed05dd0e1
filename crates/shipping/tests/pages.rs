//! Shipping's pages and API on their own: no broker, no order service, a SQLite file.

use orderflow_shipping::Application;
use reqwest::StatusCode;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn the_pages_answer_bad_input_with_clear_errors_and_need_no_broker() {
    let folder =
        std::env::temp_dir().join(format!("orderflow-shipping-pages-{}", std::process::id()));
    let app = Application::build(Application::standalone_settings(&folder))
        .await
        .expect("shipping starts without a broker");
    let url = format!("http://127.0.0.1:{}/", app.port());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run_until(shutdown.clone()));
    let get = |path: &str| reqwest::get(format!("{url}{path}"));

    let list = get("").await.expect("the list page");
    assert_eq!(list.status(), StatusCode::OK);
    assert!(list.text().await.expect("a page").contains("No shipments"));

    let unknown = get("abc").await.expect("an unknown shipment");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(
        unknown
            .text()
            .await
            .expect("a page")
            .contains("There is no shipment abc.")
    );
    assert_eq!(
        get("7").await.expect("a missing shipment").status(),
        StatusCode::NOT_FOUND
    );

    let api = get("api/shipments?after=0&limit=10")
        .await
        .expect("the API");
    assert_eq!(api.status(), StatusCode::OK);
    assert_eq!(api.text().await.expect("JSON"), "[]");
    let bad = get("api/shipments?limit=ten").await.expect("a bad query");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.text().await.expect("JSON").contains("limit"));

    let health: serde_json::Value = get("health")
        .await
        .expect("health")
        .json()
        .await
        .expect("JSON");
    assert_eq!(health["service"], "shipping");
    assert_eq!(health["database"], "up");
    assert_eq!(health["transport"], "feed");

    shutdown.cancel();
    running.await.expect("no panic").expect("a clean stop");
    let _ = std::fs::remove_dir_all(&folder);
}
