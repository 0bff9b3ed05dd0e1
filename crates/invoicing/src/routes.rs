//! Invoicing's pages. `/health` and `/style.css` come from orderflow-consumer.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use orderflow_consumer::ConsumerState;
use orderflow_web::{AppError, HtmlPage};

use crate::db::{self, Invoice, InvoiceSummary};

pub fn router() -> Router<ConsumerState> {
    Router::new()
        .route("/", get(invoices_index))
        .route("/{id}", get(invoice_show))
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
