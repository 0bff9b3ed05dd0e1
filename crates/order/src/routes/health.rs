use std::sync::atomic::Ordering;

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
        Ok(()) => db::outbox(&state.db)
            .await
            .ok()
            .map(|outbox| outbox.pending),
        Err(_) => None,
    };
    let broker = match &state.broker {
        Some(probe) => Some(probe.check().await),
        None => None,
    };
    let status = match (&database, &broker) {
        (Err(_), _) => "down",
        (Ok(()), Some(Ok(Some(partitions)))) if *partitions > 0 => "up",
        (Ok(()), Some(Ok(None)) | None) => "up",
        (Ok(()), Some(_)) => "degraded",
    };
    let mut body = json!({
        "service": "order",
        "status": status,
        "transport": state.transport,
        "database": match &database { Ok(()) => json!("up"), Err(error) => json!({"down": error.to_string()}) },
        "pendingEvents": pending,
        // Feed readers held until the feed changes (long polling).
        "feedLongPolls": state.long_polls.load(Ordering::Relaxed),
        "process": orderflow_web::process_info(),
    });
    if let Some(broker) = broker {
        body["broker"] = match &broker {
            Ok(_) => json!("up"),
            Err(error) => json!({"down": error}),
        };
        if let Ok(Some(partitions)) = broker {
            body["topicPartitions"] = json!(partitions);
        }
    }
    let code = if database.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}
