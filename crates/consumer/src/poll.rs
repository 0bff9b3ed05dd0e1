use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use orderflow_web::AppError;

use crate::ConsumerState;

pub(crate) fn router() -> Router<ConsumerState> {
    Router::new().route("/poll", post(poll_now))
}

/// `POST /poll`: polls the feed at once, waits for that poll (at most 10 s), then 302 to the list.
async fn poll_now(State(state): State<ConsumerState>) -> Result<Response, AppError> {
    let Some(feed) = state.intake.feed() else {
        return Err(AppError::NotFound(
            "This instance consumes from Kafka; there is no feed to poll.".into(),
        ));
    };
    let polled = feed.poll_now().await.map_err(AppError::Unexpected)?;
    let _ = tokio::time::timeout(Duration::from_secs(10), polled).await;
    Ok((StatusCode::FOUND, [(header::LOCATION, "./")]).into_response())
}
