//! Shipping's pages. `/health` and `/style.css` come from orderflow-consumer.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use orderflow_consumer::ConsumerState;
use orderflow_web::{AppError, HtmlPage};

use crate::db::{self, Shipment, ShipmentSummary};

pub fn router() -> Router<ConsumerState> {
    Router::new()
        .route("/", get(shipments_index))
        .route("/{id}", get(shipment_show))
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
