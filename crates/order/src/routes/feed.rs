//! `GET /feed` and `GET /feed/archive/{page}`: the orders as an Atom feed (contract section 4),
//! or, for a reader whose `Accept` prefers them, as JSON Feed 1.1 or RSS 2.0, each with the same
//! entries, links and caching.

use std::time::SystemTime;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use orderflow_feed::conditional::{Validators, newer_than, visibility_cutoff_ms};
use orderflow_feed::{FeedDocument, FeedFormat, FeedWindow, render_as};
use orderflow_web::AppError;

use crate::feed_db;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/feed", get(feed_current))
        .route("/feed/archive/{page}", get(feed_archive))
}

/// The newest entries, linked to the archives. Revalidated by every poll. A reader that says
/// where it was (`If-Modified-Since`) gets every entry since, up to `CATCH_UP_LIMIT`: the
/// originals' pollers never follow `prev-archive`, and would otherwise miss what was placed
/// beyond one page between two of their polls.
async fn feed_current(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let newest =
        feed_db::newest_visible(&state.db, visibility_cutoff_ms(SystemTime::now())).await?;
    let if_modified_since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok());
    let since = match newer_than(if_modified_since) {
        Some(from_ms) => feed_db::first_sequenced_from(&state.db, from_ms).await?,
        None => None,
    };
    let window = FeedWindow::current_since(newest, state.feed_page_size, since);
    feed_document(
        &state,
        &headers,
        window,
        "no-cache",
        "Accept, Host, X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-Prefix, If-Modified-Since",
    )
    .await
}

/// A complete archive page: it never changes, so any cache may keep it.
async fn feed_archive(
    State(state): State<AppState>,
    Path(page): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let newest =
        feed_db::newest_visible(&state.db, visibility_cutoff_ms(SystemTime::now())).await?;
    let window = page
        .parse::<i64>()
        .ok()
        .and_then(|page| FeedWindow::archive(page, newest, state.feed_page_size))
        .ok_or_else(|| AppError::NotFound(format!("There is no complete archive page {page}.")))?;
    feed_document(
        &state,
        &headers,
        window,
        "public, max-age=31536000, immutable",
        "Accept, Host, X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-Prefix",
    )
    .await
}

async fn feed_document(
    state: &AppState,
    headers: &HeaderMap,
    window: FeedWindow,
    cache_control: &'static str,
    vary: &'static str,
) -> Result<Response, AppError> {
    let (entries, last_sequenced_ms) =
        feed_db::entries(&state.db, window.first, window.last).await?;
    let base = base_url(state, headers);
    let format = FeedFormat::negotiate(
        headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok()),
    );
    let body = render_as(
        format,
        &FeedDocument {
            window,
            entries: &entries,
            base: &base,
        },
    );
    // A hash of the bytes: each format has tags of its own.
    let validators = Validators::new(body.as_bytes(), last_sequenced_ms);
    // A document without entries has no date (the contract): no `Last-Modified`, and an
    // `If-Modified-Since` cannot match it (its orders may have been deleted since).
    let dated = !entries.is_empty();
    let header_text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let mut response = if validators.not_modified(
        header_text(header::IF_NONE_MATCH),
        header_text(header::IF_MODIFIED_SINCE).filter(|_| dated),
    ) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
    };
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::ETAG,
        HeaderValue::from_str(&validators.etag).expect("a hex tag"),
    );
    if dated {
        response_headers.insert(
            header::LAST_MODIFIED,
            HeaderValue::from_str(&validators.last_modified()).expect("an HTTP date"),
        );
    }
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    // The links depend on how the reader reached us; the current document's first entry on
    // where the reader was.
    response_headers.insert(header::VARY, HeaderValue::from_static(vary));
    Ok(response)
}

/// The order service's URL as the reader sees it, with a trailing slash: the configured public
/// URL, or what the request says (behind the front door: its `X-Forwarded-*` headers).
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(public) = &state.public_url {
        return public.clone();
    }
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let plain = |value: &&str| {
        value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:[]".contains(c))
    };
    let host = text("x-forwarded-host")
        .or_else(|| text("host"))
        .filter(plain)
        .unwrap_or("localhost");
    let proto = text("x-forwarded-proto")
        .filter(|p| *p == "https")
        .unwrap_or("http");
    let prefix = text("x-forwarded-prefix")
        .filter(|p| {
            p.starts_with('/')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._/".contains(c))
        })
        .map(|p| p.trim_end_matches('/'))
        .unwrap_or("");
    format!("{proto}://{host}{prefix}/")
}
