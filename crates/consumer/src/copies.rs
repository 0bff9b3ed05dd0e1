//! What a consumer service shows of its copies, the same for every service: the list page
//! (newest first, with how many there are), one copy's page (404 for an unknown id), and
//! `GET /api/<copies>?after=<id>&limit=<n>`, and the check view `GET /api/check` (every copy's
//! order id, when it was stored and what it holds of the order) for `orderflow check` and
//! `orderflow load`. The service gives the queries, the templates, and what an order should
//! become ([`Copies`]).

use askama::Template;
use async_trait::async_trait;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use orderflow_events::OrderPlaced;
use orderflow_storage::Database;
use orderflow_web::{ApiError, AppError, HtmlPage};
use serde::{Deserialize, Serialize};

use crate::ConsumerState;

/// How many copies the list page shows at most, newest first.
pub const LIST_LIMIT: i64 = 500;

/// A consumer service's copies as its pages and API show them.
#[async_trait]
pub trait Copies: Send + Sync + 'static {
    /// `shipment`: in the API's path (`/api/shipments`) and in messages.
    const NAME: &'static str;
    /// The table with one row per copy, keyed by the order's `id`; the service's migrations
    /// keep its count in `row_count` (`Database::row_count`), which the list page shows.
    const TABLE: &'static str;
    /// One copy, whole: what the API lists and the copy's page shows.
    type Copy: Serialize + Send + 'static;
    /// A row of the list page.
    type Summary: Send + 'static;
    type ListPage: Template + Send + 'static;
    type CopyPage: Template + Send + 'static;

    /// The newest copies first, at most `limit`.
    async fn newest(db: &Database, limit: i64) -> anyhow::Result<Vec<Self::Summary>>;

    /// Up to `limit` copies with ids above `after`, ascending, whole.
    async fn after(db: &Database, after: i64, limit: i64) -> anyhow::Result<Vec<Self::Copy>>;

    fn id(copy: &Self::Copy) -> i64;

    /// When the copy was stored, epoch milliseconds.
    fn received_ms(copy: &Self::Copy) -> i64;

    /// The copy `order` should become, stamped as received at 0: what `orderflow check`
    /// compares the stored copy with (both without `receivedMs`).
    fn expected(order: &OrderPlaced) -> Self::Copy;

    fn list_page(list: CopyList<Self::Summary>) -> Self::ListPage;

    fn copy_page(copy: Self::Copy) -> Self::CopyPage;
}

/// What the list page shows.
#[derive(Debug)]
pub struct CopyList<S> {
    /// Show the "Poll" button: this instance reads the feed.
    pub polls_feed: bool,
    /// What the transport cannot give this service, said on the page: a RabbitMQ queue holds
    /// only what was published since it exists.
    pub history_note: Option<&'static str>,
    pub copies: Vec<S>,
    /// How many copies there are in all.
    pub total: i64,
}

/// `/`, `/{id}` and `/api/<copies>` for `C`.
pub(crate) fn router<C: Copies>() -> Router<ConsumerState> {
    Router::new()
        .route("/", get(list::<C>))
        .route("/{id}", get(show::<C>))
        .route(&format!("/api/{}s", C::NAME), get(api::<C>))
        .route("/api/check", get(check::<C>))
}

/// What a copy holds of its order, as the check view shows it: the copy as JSON without the
/// time it was stored.
pub fn check_view<C: Copies>(copy: &C::Copy) -> serde_json::Value {
    let mut view = serde_json::to_value(copy).unwrap_or_default();
    if let Some(fields) = view.as_object_mut() {
        fields.remove("receivedMs");
    }
    view
}

/// What the check view should show for `order`.
pub fn expected_view<C: Copies>(order: &OrderPlaced) -> serde_json::Value {
    check_view::<C>(&C::expected(order))
}

/// One entry of the check view.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Held {
    id: i64,
    received_ms: i64,
    view: serde_json::Value,
}

/// `?after=<id>&limit=<n>`: a page of a list, by ascending id.
#[derive(Debug, Deserialize)]
struct Page {
    after: Option<i64>,
    limit: Option<i64>,
}

/// The copies with ids above `after`, ascending, at most 1000 at a time.
async fn api<C: Copies>(
    State(state): State<ConsumerState>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Response, ApiError> {
    let copies = page_of::<C>(&state, page).await?;
    Ok(Json(copies).into_response())
}

/// The copies a `?after=&limit=` page asks for (at most 1000); a malformed query is a 400.
async fn page_of<C: Copies>(
    state: &ConsumerState,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Vec<C::Copy>, ApiError> {
    let Query(page) = page.map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
    let limit = page.limit.unwrap_or(1000).clamp(1, 1000);
    Ok(C::after(&state.db, page.after.unwrap_or(0), limit).await?)
}

/// The check view: for each copy with an id above `after`, ascending, what it holds.
async fn check<C: Copies>(
    State(state): State<ConsumerState>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Response, ApiError> {
    let held: Vec<Held> = page_of::<C>(&state, page)
        .await?
        .iter()
        .map(|copy| Held {
            id: C::id(copy),
            received_ms: C::received_ms(copy),
            view: check_view::<C>(copy),
        })
        .collect();
    Ok(Json(held).into_response())
}

async fn list<C: Copies>(
    State(state): State<ConsumerState>,
) -> Result<HtmlPage<C::ListPage>, AppError> {
    let copies = C::newest(&state.db, LIST_LIMIT).await?;
    let total = state.db.row_count(C::TABLE).await?;
    Ok(HtmlPage::ok(C::list_page(CopyList {
        polls_feed: state.polls_feed(),
        history_note: state.history_note(),
        copies,
        total,
    })))
}

async fn show<C: Copies>(
    State(state): State<ConsumerState>,
    Path(id): Path<String>,
) -> Result<HtmlPage<C::CopyPage>, AppError> {
    let copy = match id.parse::<i64>() {
        Ok(id) if id > 0 => C::after(&state.db, id - 1, 1)
            .await?
            .into_iter()
            .find(|copy| C::id(copy) == id),
        _ => None,
    };
    let copy = copy.ok_or_else(|| AppError::NotFound(format!("There is no {} {id}.", C::NAME)))?;
    Ok(HtmlPage::ok(C::copy_page(copy)))
}
