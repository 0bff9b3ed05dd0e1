//! Shipping's pages. `/health` and `/style.css` come from orderflow-consumer.

use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use orderflow_consumer::ConsumerState;
use orderflow_web::{ApiError, AppError, HtmlPage};
use serde::Deserialize;

use crate::db::{self, Shipment, ShipmentSummary};

pub fn router() -> Router<ConsumerState> {
    Router::new()
        .route("/", get(shipments_index))
        .route("/{id}", get(shipment_show))
        .route("/api/shipments", get(shipments_api))
}

/// `?after=<id>&limit=<n>`: a page of a list, by ascending id.
#[derive(Debug, Deserialize)]
struct Page {
    after: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/shipments?after=0&limit=1000`: the shipments with ids above `after`, ascending, with
/// their lines, for `orderflow check` and `orderflow load`.
async fn shipments_api(
    State(state): State<ConsumerState>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(page) = page.map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
    let limit = page.limit.unwrap_or(1000).clamp(1, 1000);
    let shipments = db::shipments_after(&state.db, page.after.unwrap_or(0), limit).await?;
    Ok(Json(shipments).into_response())
}

#[derive(Template)]
#[template(path = "shipments.html")]
struct ShipmentsPage {
    /// Show the "Poll" button: this instance reads the feed.
    polls_feed: bool,
    shipments: Vec<ShipmentSummary>,
    total: i64,
}

#[derive(Template)]
#[template(path = "shipment.html")]
struct ShipmentPage {
    shipment: Shipment,
}

async fn shipments_index(
    State(state): State<ConsumerState>,
) -> Result<HtmlPage<ShipmentsPage>, AppError> {
    let (shipments, total) = db::list_shipments(&state.db).await?;
    Ok(HtmlPage::ok(ShipmentsPage {
        polls_feed: state.polls_feed(),
        shipments,
        total,
    }))
}

async fn shipment_show(
    State(state): State<ConsumerState>,
    Path(id): Path<String>,
) -> Result<HtmlPage<ShipmentPage>, AppError> {
    let shipment = match id.parse::<i64>() {
        Ok(id) if id > 0 => db::load_shipment(&state.db, id).await?,
        _ => None,
    };
    let shipment =
        shipment.ok_or_else(|| AppError::NotFound(format!("There is no shipment {id}.")))?;
    Ok(HtmlPage::ok(ShipmentPage { shipment }))
}
