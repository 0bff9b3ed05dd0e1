use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::ConsumerState;

pub(crate) fn router() -> Router<ConsumerState> {
    Router::new()
        .route("/health", get(health))
        .route("/api/recent", get(recent))
}

/// `GET /api/recent`: the newest copies this instance stored (at most
/// [`orderflow_transport::RECENT_STORED`], newest first), each with the record it came from, so
/// the live page can say which instance stored an order, from which partition and offset.
/// Kept in memory: an instance that restarted knows only what it stored since.
async fn recent(State(state): State<ConsumerState>) -> Json<serde_json::Value> {
    Json(json!({
        "service": state.service,
        "process": orderflow_web::process_info(),
        "stored": state.delivery().recent(),
    }))
}

/// 200 when the database and the transport (broker or feed) answer, 503 otherwise; the body
/// says which part is down, and how far this instance got.
async fn health(State(state): State<ConsumerState>) -> Response {
    let database = state.db.ping().await;
    let (transport_up, mut details) = state.intake.health().await;
    let delivery = state.delivery();
    if let Some(details) = details.as_object_mut() {
        details.insert("applied".into(), json!(delivery.applied()));
        details.insert("duplicatesIgnored".into(), json!(delivery.duplicates()));
        details.insert("parked".into(), json!(delivery.parked()));
        // How the records it read were written: {"json": 120, "avro v1": 30, "avro v2": 50}.
        details.insert("encodings".into(), json!(delivery.encodings()));
    }
    if database.is_ok()
        && let Ok(waiting) = crate::parking::parked_count(&state.db).await
        && let Some(details) = details.as_object_mut()
    {
        details.insert("parkedWaiting".into(), json!(waiting));
    }
    let up = database.is_ok() && transport_up;
    let mut body = json!({
        "service": state.service,
        "status": if up { "up" } else { "down" },
        "database": match &database { Ok(()) => json!("up"), Err(error) => json!({"down": error.to_string()}) },
        "process": orderflow_web::process_info(),
    });
    if let (Some(body), Some(details)) = (body.as_object_mut(), details.as_object()) {
        body.extend(details.clone());
    }
    let code = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}
