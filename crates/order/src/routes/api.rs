use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use orderflow_web::{ApiError, AppError};

use super::parse_id;
use crate::db;
use crate::domain::{Invalid, OrderRequest};
use crate::state::AppState;
use crate::state::PlaceOrderError;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/order/{id}", get(order_resource))
        .route("/api/orders", post(orders_api_create).get(orders_api_index))
        .route("/api/customers", get(customers_index))
        .route("/api/items", get(items_index))
        .route("/api/journeys", get(journeys_index))
}

/// `?limit=<n>`: how many of the newest orders.
#[derive(Debug, serde::Deserialize)]
struct Newest {
    limit: Option<i64>,
}

/// `GET /api/journeys?limit=20`: the newest orders (at most 100) with how far each event got,
/// and what waits in the outbox; the front door's live page shows them.
async fn journeys_index(
    State(state): State<AppState>,
    newest: Result<Query<Newest>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(newest) = newest.map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
    let limit = newest.limit.unwrap_or(20).clamp(1, 100);
    let orders = db::journeys(&state.db, limit).await?;
    let outbox = db::outbox(&state.db).await?;
    Ok(Json(serde_json::json!({
        "transport": state.transport,
        "orders": orders,
        "outbox": outbox,
    }))
    .into_response())
}

/// `GET /order/{id}`: the order as JSON, the same document as its event's value. A deleted
/// order is 410 Gone (readers of the feed skip it), an order that never was is 404.
async fn order_resource(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let Some(id) = parse_id(&id) else {
        return Err(AppError::NotFound(format!("There is no order {id}.")).into());
    };
    match db::load_order(&state.db, id).await? {
        Some(order) => Ok(Json(order).into_response()),
        None if db::was_announced(&state.db, id).await? => {
            Err(AppError::Gone(format!("Order {id} was deleted.")).into())
        }
        None => Err(AppError::NotFound(format!("There is no order {id}.")).into()),
    }
}

/// `?after=<id>&limit=<n>`: a page of a list, by ascending id.
#[derive(Debug, serde::Deserialize)]
struct Page {
    after: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/orders?after=0&limit=1000`: the orders with ids above `after`, ascending, each the
/// document its event carried, for `orderflow check`.
async fn orders_api_index(
    State(state): State<AppState>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(page) = page.map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
    let limit = page.limit.unwrap_or(1000).clamp(1, 1000);
    Ok(Json(db::orders_after(&state.db, page.after.unwrap_or(0), limit).await?).into_response())
}

/// `POST /api/orders`: places an order from JSON; 201 with `Location` (relative to this URL, so
/// it is right behind the front door too) and the order's document.
async fn orders_api_create(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: OrderRequest = serde_json::from_slice(&body).map_err(|error| {
        AppError::BadRequest(format!("The body is not an order request: {error}"))
    })?;
    let new_order = request.to_new_order().map_err(unprocessable)?;
    let order = state
        .place_order(&new_order)
        .await
        .map_err(|error| match error {
            PlaceOrderError::Invalid(invalid) => unprocessable(invalid),
            PlaceOrderError::Database(error) => AppError::Unexpected(error),
        })?;
    let location = format!("../order/{}", order.id);
    // The order's document, the same as `GET /order/{id}`: the contract's record.
    Ok((
        StatusCode::CREATED,
        [
            (header::LOCATION, location),
            (header::CONTENT_TYPE, "application/json".to_owned()),
        ],
        order.to_contract_json(),
    )
        .into_response())
}

async fn customers_index(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.catalog.customers().collect::<Vec<_>>()).into_response())
}

async fn items_index(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.catalog.items().collect::<Vec<_>>()).into_response())
}

fn unprocessable(Invalid(problems): Invalid) -> AppError {
    AppError::Unprocessable(problems.join(" "))
}
