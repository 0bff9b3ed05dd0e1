use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::{ConsumerState, Intake};

pub(crate) fn router() -> Router<ConsumerState> {
    Router::new().route("/health", get(health))
}

/// 200 when the database and the transport (broker or feed) answer, 503 otherwise; the body
/// says which part is down, and how far this instance got.
async fn health(State(state): State<ConsumerState>) -> Response {
    let database = state.db.ping().await;
    let (transport_up, details) = match &state.intake {
        Intake::Kafka {
            group,
            status,
            broker,
        } => {
            let broker = broker.check().await;
            let lag = status.lag();
            let details = json!({
                "transport": "kafka",
                "broker": match &broker { Ok(_) => json!("up"), Err(error) => json!({"down": error}) },
                "group": group,
                "assignedPartitions": status.assigned_partitions(),
                "totalLag": lag.values().sum::<i64>(),
                "lag": lag,
                "waitingForTopic": status.waiting_for_topic(),
                "applied": status.applied(),
                "duplicatesIgnored": status.duplicates(),
                "parked": status.parked(),
            });
            (broker.is_ok(), details)
        }
        Intake::Feed {
            feed_url, status, ..
        } => {
            // Before the first poll there is nothing to say against the feed.
            let up = status.healthy() || status.polls() == 0;
            let details = json!({
                "transport": "feed",
                "feed": feed_url,
                "lastPoll": if status.polls() == 0 { json!("pending") } else if status.healthy() { json!("ok") } else { json!({"failed": status.last_error()}) },
                "position": status.position(),
                "applied": status.applied(),
                "duplicatesIgnored": status.duplicates(),
                "parked": status.parked(),
            });
            (up, details)
        }
    };
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
