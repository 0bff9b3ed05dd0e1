use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::db;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// 200 while the database answers (orders can be taken; events wait in the outbox while the
/// broker is away), 503 when it does not. The body says what is up and what is not.
async fn health(State(state): State<AppState>) -> Response {
    let database = state.db.ping().await;
    let pending = match &database {
        Ok(()) => db::pending_events(&state.db).await.ok(),
        Err(_) => None,
    };
    let broker = state.broker.check().await;
    let status = if database.is_err() {
        "down"
    } else if broker.as_ref().is_ok_and(|partitions| *partitions > 0) {
        "up"
    } else {
        "degraded"
    };
    let body = json!({
        "service": "order",
        "status": status,
        "database": match &database { Ok(()) => json!("up"), Err(error) => json!({"down": error.to_string()}) },
        "broker": match &broker { Ok(_) => json!("up"), Err(error) => json!({"down": error}) },
        "topicPartitions": broker.ok(),
        "pendingEvents": pending,
    });
    let code = if database.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}
