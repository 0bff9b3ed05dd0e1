//! Invoicing's pages. `/health` and `/style.css` come from orderflow-consumer.

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

use crate::db::{self, Invoice, InvoiceSummary};

pub fn router() -> Router<ConsumerState> {
    Router::new()
        .route("/", get(invoices_index))
        .route("/{id}", get(invoice_show))
        .route("/api/invoices", get(invoices_api))
}

/// `?after=<id>&limit=<n>`: a page of a list, by ascending id.
#[derive(Debug, Deserialize)]
struct Page {
    after: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/invoices?after=0&limit=1000`: the invoices with ids above `after`, ascending, with
/// their lines, for `orderflow check` and `orderflow load`.
async fn invoices_api(
    State(state): State<ConsumerState>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(page) = page.map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
    let limit = page.limit.unwrap_or(1000).clamp(1, 1000);
    let invoices = db::invoices_after(&state.db, page.after.unwrap_or(0), limit).await?;
    Ok(Json(invoices).into_response())
}

#[derive(Template)]
#[template(path = "invoices.html")]
struct InvoicesPage {
    /// Show the "Poll" button: this instance reads the feed.
    polls_feed: bool,
    invoices: Vec<InvoiceSummary>,
    total: i64,
}

#[derive(Template)]
#[template(path = "invoice.html")]
struct InvoicePage {
    invoice: Invoice,
}

async fn invoices_index(
    State(state): State<ConsumerState>,
) -> Result<HtmlPage<InvoicesPage>, AppError> {
    let (invoices, total) = db::list_invoices(&state.db).await?;
    Ok(HtmlPage::ok(InvoicesPage {
        polls_feed: state.polls_feed(),
        invoices,
        total,
    }))
}

async fn invoice_show(
    State(state): State<ConsumerState>,
    Path(id): Path<String>,
) -> Result<HtmlPage<InvoicePage>, AppError> {
    let invoice = match id.parse::<i64>() {
        Ok(id) if id > 0 => db::load_invoice(&state.db, id).await?,
        _ => None,
    };
    let invoice =
        invoice.ok_or_else(|| AppError::NotFound(format!("There is no invoice {id}.")))?;
    Ok(HtmlPage::ok(InvoicePage { invoice }))
}
