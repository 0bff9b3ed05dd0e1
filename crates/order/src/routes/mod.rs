//! The order service's HTTP surface: the HTML UI, the JSON resources and API, health.

mod api;
mod feed;
mod health;
mod html;

use axum::Router;

use crate::state::AppState;

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .merge(html::router())
        .merge(api::router())
        .merge(feed::router())
        .merge(health::router())
        .merge(orderflow_web::stylesheet_router())
        .with_state(state)
}

/// Order ids in paths: a positive integer, or the route answers 404 (like any unknown page).
pub(crate) fn parse_id(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().filter(|id| *id > 0)
}
