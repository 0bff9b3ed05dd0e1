//! The HTTP side of polling: a feed document (conditionally), an entry's order.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use orderflow_transport::Content;
use reqwest::{StatusCode, Url, header};

use super::{PollError, Poller};
use crate::{FeedFormat, ReadEntry, ReadFeed, long_poll};

/// One feed document and the URL it came from (to resolve relative links).
pub(super) struct Document {
    pub(super) url: Url,
    pub(super) feed: ReadFeed,
}

impl Document {
    /// The `href` of the document's link with relation `rel`, resolved against its URL.
    pub(super) fn link(&self, rel: &str) -> Option<Url> {
        self.url.join(self.feed.link(rel)?).ok()
    }
}

/// How long after the end of a `Last-Modified` second an order may still become visible with a
/// time in that second: a feed without positions (the originals') dates entries by the order's
/// time, taken before its transaction commits.
const LATE_COMMIT_GRACE: Duration = Duration::from_secs(5);

/// A document's `ETag` and `Last-Modified`, sent back as `If-None-Match` and `If-Modified-Since`.
#[derive(Debug, Clone, Default)]
pub(super) struct Validators {
    etag: Option<String>,
    last_modified: Option<String>,
    /// Whether `Last-Modified` may be sent back. A date has whole seconds: a document fetched
    /// while orders could still appear with a time in its `Last-Modified` second would be
    /// answered 304 for ever by a server that compares whole seconds (the originals'), hiding
    /// them. Such a date is not sent; the next poll reads the document again (applied
    /// idempotently) until one is fetched late enough after its date. A strong `ETag` (a hash
    /// of the bytes, orderflow's) hides nothing and is always sent.
    last_modified_settled: bool,
}

impl Validators {
    /// From a response's headers: its validators, and its `Date` (the server's clock, so no
    /// skew; ours when it has none) to tell whether its `Last-Modified` is settled.
    fn received(headers: &header::HeaderMap) -> Self {
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let last_modified = text(header::LAST_MODIFIED);
        let answered_at = text(header::DATE)
            .and_then(|date| httpdate::parse_http_date(&date).ok())
            .unwrap_or_else(SystemTime::now);
        let last_modified_settled = last_modified
            .as_deref()
            .and_then(|date| httpdate::parse_http_date(date).ok())
            .is_some_and(|date| answered_at >= date + Duration::from_secs(1) + LATE_COMMIT_GRACE);
        Validators {
            etag: text(header::ETAG),
            last_modified,
            last_modified_settled,
        }
    }
}

/// What a GET of a feed document gave.
pub(super) enum Fetched {
    Document(Box<Document>, Validators),
    /// 304: unchanged since the validators sent.
    NotModified,
}

/// An entry's order as read: the position it is at (none in the originals' feeds), where it came
/// from, and what it holds.
pub(super) struct FeedRecord {
    pub(super) position: Option<i64>,
    pub(super) source: String,
    pub(super) content: Content,
    /// The entry's `orderflow:traceparent`, if it has one.
    pub(super) traceparent: Option<String>,
}

impl orderflow_transport::Incoming for FeedRecord {
    fn content(&self) -> &Content {
        &self.content
    }

    fn source(&self) -> &str {
        &self.source
    }

    fn traceparent(&self) -> Option<&str> {
        self.traceparent.as_deref()
    }
}

impl Poller {
    /// GET, conditional when `validators` are given; a long poll when `wait` is given too (the
    /// server may hold the request that long: see `crate::long_poll`). Records whether the
    /// server said it waited.
    pub(super) async fn fetch(
        &self,
        url: Url,
        validators: Option<&Validators>,
        wait: Option<Duration>,
    ) -> Result<Fetched, PollError> {
        let mut request = self
            .client
            .get(url.clone())
            .header(header::ACCEPT, self.settings.format.media_type());
        // Waiting only makes sense with a document to compare: without one the server answers
        // at once anyway.
        let wait = wait.filter(|_| validators.is_some_and(|v| v.etag.is_some()));
        if let Some(wait) = wait {
            self.asked_to_wait.store(true, Ordering::Relaxed);
            request = request
                .header(long_poll::PREFER, long_poll::prefer_wait(wait))
                .timeout(self.settings.request_timeout + wait);
        }
        if let Some(validators) = validators {
            if let Some(etag) = &validators.etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            // The date only where there is no tag (the originals' feeds): with orderflow's, it
            // would only ask for a catch-up document of up to 10,000 entries, made for the
            // originals' readers, which carries links instead of orders; this poller walks the
            // archive pages (whole orders, cacheable) instead.
            if let Some(last_modified) = &validators.last_modified
                && validators.etag.is_none()
                && validators.last_modified_settled
            {
                request = request.header(header::IF_MODIFIED_SINCE, last_modified);
            }
        }
        let response = request
            .send()
            .await
            .map_err(|source| PollError::Unreachable {
                url: url.to_string(),
                source,
            })?;
        let waited = wait.is_some()
            && long_poll::waited(
                response
                    .headers()
                    .get(long_poll::PREFERENCE_APPLIED)
                    .and_then(|v| v.to_str().ok()),
            );
        if waited {
            self.server_waited.store(true, Ordering::Relaxed);
        }
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !response.status().is_success() {
            return Err(PollError::Status {
                url: url.to_string(),
                status: response.status(),
            });
        }
        let received = Validators::received(response.headers());
        // The document says what it is; a feed that serves one format whatever is asked (the
        // originals' Atom) is read as what it is.
        let format = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .and_then(FeedFormat::of_content_type)
            .unwrap_or(self.settings.format);
        let url = response.url().clone();
        let body = response
            .bytes()
            .await
            .map_err(|source| PollError::Unreachable {
                url: url.to_string(),
                source,
            })?;
        let feed = ReadFeed::read(format, &body[..]).map_err(|source| PollError::NotAFeed {
            url: url.to_string(),
            source,
        })?;
        Ok(Fetched::Document(
            Box::new(Document { url, feed }),
            received,
        ))
    }

    /// The entry's order: carried inline (`orderflow:order`, orderflow's feeds), or read from its
    /// URL (Atom's `content/@src`; the originals' feeds).
    pub(super) async fn read_entry(
        &self,
        position: Option<i64>,
        entry: ReadEntry,
        base: Url,
    ) -> Result<FeedRecord, PollError> {
        let traceparent = entry.traceparent.clone();
        let Some(source) = entry
            .order_url
            .as_deref()
            .and_then(|src| base.join(src).ok())
        else {
            return Ok(FeedRecord {
                position,
                source: entry.id.clone(),
                content: Content::Unreadable {
                    payload: None,
                    error: "the entry names no order (no content/@src, link or url)".to_owned(),
                },
                traceparent,
            });
        };
        let content = match &entry.order {
            Some(order) => Content::from_json(order.as_bytes()),
            None => self.read_order(&source).await?,
        };
        Ok(FeedRecord {
            position,
            source: source.to_string(),
            content,
            traceparent,
        })
    }

    async fn read_order(&self, url: &Url) -> Result<Content, PollError> {
        let response = self
            .client
            .get(url.clone())
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|source| PollError::Unreachable {
                url: url.to_string(),
                source,
            })?;
        match response.status() {
            // Deleted (order answers 410 for orders it announced and deleted since). A 404 is no
            // such thing: a wrong URL or proxy must not make the reader skip everything.
            StatusCode::GONE => {
                let id = url
                    .path_segments()
                    .and_then(|mut s| s.next_back()?.parse().ok());
                return Ok(Content::Gone { id });
            }
            status if status.is_success() => {}
            status => {
                return Err(PollError::Status {
                    url: url.to_string(),
                    status,
                });
            }
        }
        let body = response
            .bytes()
            .await
            .map_err(|source| PollError::Unreachable {
                url: url.to_string(),
                source,
            })?;
        Ok(Content::from_json(&body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> header::HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), header::HeaderValue::from_str(value).unwrap()))
            .collect()
    }

    #[test]
    fn a_last_modified_date_is_sent_back_only_once_nothing_more_can_appear_in_its_second() {
        let fresh = Validators::received(&headers(&[
            (header::LAST_MODIFIED, "Wed, 02 Dec 2026 06:00:00 GMT"),
            (header::DATE, "Wed, 02 Dec 2026 06:00:02 GMT"),
        ]));
        assert!(!fresh.last_modified_settled);
        let settled = Validators::received(&headers(&[
            (header::LAST_MODIFIED, "Wed, 02 Dec 2026 06:00:00 GMT"),
            (header::DATE, "Wed, 02 Dec 2026 06:00:06 GMT"),
        ]));
        assert!(settled.last_modified_settled);
        let unreadable = Validators::received(&headers(&[(header::LAST_MODIFIED, "soon")]));
        assert!(!unreadable.last_modified_settled);
    }
}
