use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::ConsumerState;

pub(crate) fn router() -> Router<ConsumerState> {
    Router::new().route("/health", get(health))
}

/// 200 when database and broker answer, 503 otherwise; the body says which part is down and
/// which partitions this instance owns.
async fn health(State(state): State<ConsumerState>) -> Response {
    let database = state.db.ping().await;
    let broker = state.broker.check().await;
    let up = database.is_ok() && broker.is_ok();
    let body = json!({
        "service": state.service,
        "status": if up { "up" } else { "down" },
        "database": match &database { Ok(()) => json!("up"), Err(error) => json!({"down": error.to_string()}) },
        "broker": match &broker { Ok(_) => json!("up"), Err(error) => json!({"down": error}) },
        "group": state.group,
        "assignedPartitions": state.status.assigned_partitions(),
        "waitingForTopic": state.status.waiting_for_topic(),
        "applied": state.status.applied(),
        "duplicatesIgnored": state.status.duplicates(),
        "parked": state.status.parked(),
    });
    let code = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}
