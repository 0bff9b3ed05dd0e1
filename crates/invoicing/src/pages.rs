//! Invoicing's pages: the list of invoices and one invoice. The routes, `/health`, `/parked`
//! and `/style.css` come from orderflow-consumer.

use askama::Template;
use async_trait::async_trait;
use orderflow_consumer::{Copies, CopyList};
use orderflow_events::OrderPlaced;
use orderflow_storage::Database;

use crate::db::{self, Invoice, InvoiceSummary};
use crate::projection::Invoices;

#[derive(Debug, Template)]
#[template(path = "invoices.html")]
pub struct InvoicesPage {
    /// Show the "Poll" button: this instance reads the feed.
    polls_feed: bool,
    /// What the transport cannot give this service (a RabbitMQ queue keeps no history).
    history_note: Option<&'static str>,
    invoices: Vec<InvoiceSummary>,
    total: i64,
}

#[derive(Debug, Template)]
#[template(path = "invoice.html")]
pub struct InvoicePage {
    invoice: Invoice,
}

#[async_trait]
impl Copies for Invoices {
    const NAME: &'static str = "invoice";
    const TABLE: &'static str = "invoice";
    type Copy = Invoice;
    type Summary = InvoiceSummary;
    type ListPage = InvoicesPage;
    type CopyPage = InvoicePage;

    async fn newest(db: &Database, limit: i64) -> anyhow::Result<Vec<InvoiceSummary>> {
        db::newest_invoices(db, limit).await
    }

    async fn after(db: &Database, after: i64, limit: i64) -> anyhow::Result<Vec<Invoice>> {
        db::invoices_after(db, after, limit).await
    }

    fn id(invoice: &Invoice) -> i64 {
        invoice.id
    }

    fn received_ms(invoice: &Invoice) -> i64 {
        invoice.received_ms
    }

    fn expected(order: &OrderPlaced) -> Invoice {
        Invoice::of(order, 0)
    }

    fn list_page(list: CopyList<InvoiceSummary>) -> InvoicesPage {
        InvoicesPage {
            polls_feed: list.polls_feed,
            history_note: list.history_note,
            invoices: list.copies,
            total: list.total,
        }
    }

    fn copy_page(invoice: Invoice) -> InvoicePage {
        InvoicePage { invoice }
    }
}
