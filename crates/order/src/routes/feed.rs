//! `GET /feed` and `GET /feed/archive/{page}`: the orders as an Atom feed (contract section 4),
//! or, for a reader whose `Accept` prefers them, as JSON Feed 1.1 or RSS 2.0, each with the same
//! entries, links and caching.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use orderflow_feed::conditional::{Validators, newer_than, visibility_cutoff_ms};
use orderflow_feed::{FeedDocument, FeedFormat, FeedWindow, long_poll, render_as};
use orderflow_web::AppError;
use tokio::time::Instant;

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
///
/// A reader that long-polls (`Prefer: wait=N` with the `If-None-Match` of its document, see
/// `orderflow_feed::long_poll`) is answered as soon as its document changed, or with 304 after
/// the wait; it sees every sequenced entry at once rather than only those of past seconds.
async fn feed_current(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let prefer = headers.get(long_poll::PREFER).and_then(|v| v.to_str().ok());
    let Some(wait) = long_poll::preferred_wait(prefer) else {
        return current_document(&state, &headers, Visibility::PastSeconds).await;
    };
    let deadline = Instant::now() + wait;
    let mut sequenced = state.sequenced.clone();
    let _counted = LongPoll::counted(&state.long_polls);
    let mut response = loop {
        sequenced.borrow_and_update();
        let response = current_document(&state, &headers, Visibility::Everything).await?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if response.status() != StatusCode::NOT_MODIFIED || remaining.is_zero() {
            break response;
        }
        tokio::select! {
            // The relay gave events positions; closed when it stopped (the service is stopping):
            // answer now rather than hold the shutdown.
            changed = sequenced.changed() => if changed.is_err() { break response },
            // Another order instance may have sequenced them: look again now and then.
            () = tokio::time::sleep(LOOK_AGAIN.min(remaining)) => {}
        }
    };
    response.headers_mut().insert(
        HeaderName::from_static(long_poll::PREFERENCE_APPLIED),
        HeaderValue::from_str(&long_poll::wait_applied(wait)).expect("a plain header value"),
    );
    Ok(response)
}

/// Counts a long poll in `/health` while it is held, however it ends.
struct LongPoll(Arc<AtomicUsize>);

impl LongPoll {
    fn counted(waiting: &Arc<AtomicUsize>) -> Self {
        waiting.fetch_add(1, Ordering::Relaxed);
        LongPoll(Arc::clone(waiting))
    }
}

impl Drop for LongPoll {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How often a long poll looks at the database without being woken (for events sequenced by
/// another order instance).
const LOOK_AGAIN: Duration = Duration::from_secs(1);

/// Which sequenced entries the current document shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visibility {
    /// Those sequenced before the current second: the document changes only on whole seconds,
    /// so a `Last-Modified` date (whole seconds) always moves when the content does. What
    /// readers that compare dates (the originals') need.
    PastSeconds,
    /// All of them, for readers that compare tags (long pollers). A document showing entries of
    /// the current second carries no `Last-Modified`: more may still come in that second, so a
    /// reader who sent that date back could be told 304 while they were missing.
    Everything,
}

async fn current_document(
    state: &AppState,
    headers: &HeaderMap,
    visibility: Visibility,
) -> Result<Response, AppError> {
    let now = SystemTime::now();
    let cutoff_ms = match visibility {
        Visibility::PastSeconds => visibility_cutoff_ms(now),
        Visibility::Everything => i64::MAX,
    };
    let newest = feed_db::newest_visible(&state.db, cutoff_ms).await?;
    let if_modified_since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok());
    let since = match newer_than(if_modified_since) {
        Some(from_ms) => feed_db::first_sequenced_from(&state.db, from_ms).await?,
        None => None,
    };
    let window = FeedWindow::current_since(newest, state.feed_page_size, since);
    feed_document(
        state,
        headers,
        window,
        DateIf::SettledBefore(visibility_cutoff_ms(now)),
        "no-cache",
        "Accept, Host, X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-Prefix, If-Modified-Since, Prefer",
    )
    .await
}

/// When a document may carry `Last-Modified`.
#[derive(Debug, Clone, Copy)]
enum DateIf {
    /// Whenever it has entries (archive pages, which never change).
    HasEntries,
    /// When its newest entry was sequenced before this time (epoch milliseconds): a second
    /// that is over.
    SettledBefore(i64),
}

/// A complete archive page: it never changes, so any cache may keep it.
///
/// A page is complete once its last position is sequenced, whichever second that was:
/// positions are given in order and never change, so the page cannot change after that. (Only
/// the current document waits for seconds to end, for readers that compare dates.) A long poller
/// is shown entries of the current second, and the archive pages its document links must be
/// there when it follows them.
async fn feed_archive(
    State(state): State<AppState>,
    Path(page): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let newest = feed_db::newest_visible(&state.db, i64::MAX).await?;
    let window = page
        .parse::<i64>()
        .ok()
        .and_then(|page| FeedWindow::archive(page, newest, state.feed_page_size))
        .ok_or_else(|| AppError::NotFound(format!("There is no complete archive page {page}.")))?;
    feed_document(
        &state,
        &headers,
        window,
        DateIf::HasEntries,
        "public, max-age=31536000, immutable",
        "Accept, Host, X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-Prefix",
    )
    .await
}

async fn feed_document(
    state: &AppState,
    headers: &HeaderMap,
    window: FeedWindow,
    date_if: DateIf,
    cache_control: &'static str,
    vary: &'static str,
) -> Result<Response, AppError> {
    let (mut entries, last_sequenced_ms) =
        feed_db::entries(&state.db, window.first, window.last).await?;
    // A catch-up document (an original poller far behind: up to 10,000 entries) carries links
    // only: the orders inline would make it megabytes that reader ignores anyway.
    if entries.len() as i64 > state.feed_page_size.get() {
        for entry in &mut entries {
            entry.order = None;
        }
    }
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
    let dated = !entries.is_empty()
        && match date_if {
            DateIf::HasEntries => true,
            DateIf::SettledBefore(cutoff_ms) => last_sequenced_ms < cutoff_ms,
        };
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
