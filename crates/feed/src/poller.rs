//! Reads the feed: conditional GETs, a walk back through archive pages to the stored position,
//! each new entry's order fetched and handed to the service with the position to store.

use orderflow_transport::error_chain;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use atom_syndication::{Entry, Feed};
use futures::StreamExt;
use orderflow_events::OrderPlaced;
use orderflow_transport::{Applied, BoxError, Checkpoint, HandleError, OrderEventHandler};
use reqwest::{StatusCode, Url, header};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::render::entry_position;

/// How a poller reads one feed.
#[derive(Debug, Clone)]
pub struct PollerSettings {
    /// The current document, e.g. `http://localhost:8081/feed`.
    pub feed_url: String,
    /// Time between polls.
    pub interval: Duration,
    /// How long one HTTP request may take.
    pub request_timeout: Duration,
}

impl PollerSettings {
    pub fn new(feed_url: impl Into<String>) -> Self {
        PollerSettings {
            feed_url: feed_url.into(),
            interval: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Where a consumer keeps its feed position, in its own database.
#[async_trait]
pub trait FeedCheckpoints: Send + Sync + 'static {
    /// The last position applied from `stream` (0 before the first).
    async fn position(&self, stream: &str) -> Result<i64, BoxError>;

    /// Moves the checkpoint past an entry that is not applied: parked (stored with `error` and
    /// what was read, for a later replay) when `parked` is `Some`, or skipped (its order was
    /// deleted). Returns `false` if another instance moved the checkpoint first.
    async fn pass(
        &self,
        checkpoint: &Checkpoint,
        parked: Option<Parked<'_>>,
    ) -> Result<bool, BoxError>;
}

/// An entry that could not be applied.
#[derive(Debug, Clone, Copy)]
pub struct Parked<'a> {
    /// The order's URL.
    pub source: &'a str,
    /// What it answered, if anything.
    pub payload: Option<&'a str>,
    pub error: &'a str,
}

/// What the poller did last, for health pages and tests. Shared with the poller task.
#[derive(Debug, Default)]
pub struct PollerStatus {
    position: AtomicI64,
    applied: AtomicU64,
    duplicates: AtomicU64,
    parked: AtomicU64,
    polls: AtomicU64,
    healthy: AtomicBool,
    last_error: Mutex<Option<String>>,
}

impl PollerStatus {
    pub fn position(&self) -> i64 {
        self.position.load(Ordering::Relaxed)
    }
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }
    pub fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::Relaxed)
    }
    pub fn parked(&self) -> u64 {
        self.parked.load(Ordering::Relaxed)
    }
    /// Polls completed, successful or not.
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }
    /// Whether the last poll succeeded.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().expect("status lock").clone()
    }
}

/// Why a poll stopped early. Nothing is lost: the next poll starts from the stored position.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("cannot read the feed position")]
    Checkpoint(#[source] BoxError),
    #[error("{url} could not be fetched")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("{url} answered {status}")]
    Status { url: String, status: StatusCode },
    #[error("{url} is not an Atom feed")]
    NotAFeed {
        url: String,
        source: atom_syndication::Error,
    },
    #[error("{url} is not an archive page of this feed (no positions, or it does not go back)")]
    BadArchive { url: String },
    #[error("applying an order failed; will retry")]
    Apply(#[source] BoxError),
}

/// The first retry after a failed poll; it doubles up to the poll interval.
const RETRY_START: Duration = Duration::from_millis(100);

/// A request to poll now, answered when that poll is over.
pub type PollNow = oneshot::Sender<()>;

/// Polls one feed for one consumer service.
pub struct Poller {
    settings: PollerSettings,
    handler: Arc<dyn OrderEventHandler>,
    checkpoints: Arc<dyn FeedCheckpoints>,
    status: Arc<PollerStatus>,
    client: reqwest::Client,
    /// `ETag` and `Last-Modified` of the current document, kept once every entry of it was
    /// applied: a document that failed half-way must be read again, not answered with 304.
    validators: Mutex<Option<(Option<String>, Option<String>)>>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// One feed document and the URL it came from (to resolve relative links).
struct Document {
    url: Url,
    feed: Feed,
}

enum Fetched {
    Document(Box<Document>),
    NotModified,
}

/// An entry's order as read, and where from.
struct EntryRead {
    source: String,
    read: OrderRead,
}

/// Orders applied in one transaction at most.
const APPLY_BATCH: usize = 100;

/// Orders read ahead of the one being applied.
const READ_AHEAD: usize = 16;

/// What reading an entry's order gave.
enum OrderRead {
    Order(Box<OrderPlaced>),
    /// 410: the order was deleted after the feed listed it.
    Gone,
    /// Not an order: the body, and why.
    Unreadable(String, String),
}

impl Poller {
    pub fn new(
        settings: PollerSettings,
        handler: Arc<dyn OrderEventHandler>,
        checkpoints: Arc<dyn FeedCheckpoints>,
        status: Arc<PollerStatus>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .build()?;
        Ok(Poller {
            settings,
            handler,
            checkpoints,
            status,
            client,
            validators: Mutex::new(None),
        })
    }

    /// Polls every `interval`, and at once when asked through `poll_now`, until `shutdown`.
    /// A failed poll is logged and retried at the next one; it never ends the loop.
    pub async fn run(self, mut poll_now: mpsc::Receiver<PollNow>, shutdown: CancellationToken) {
        tracing::info!(feed = %self.settings.feed_url, interval = ?self.settings.interval, "Feed poller started.");
        let mut failing = false;
        // The first poll goes at once.
        let mut wait = Duration::ZERO;
        let mut retry = RETRY_START;
        loop {
            let reply = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                request = poll_now.recv() => request,
                _ = tokio::time::sleep(wait) => None,
            };
            let outcome = self.poll_once().await;
            self.status.polls.fetch_add(1, Ordering::Relaxed);
            wait = match outcome {
                Ok(applied) => {
                    if failing {
                        tracing::info!(feed = %self.settings.feed_url, "Feed readable again.");
                    }
                    failing = false;
                    retry = RETRY_START;
                    self.status.healthy.store(true, Ordering::Relaxed);
                    *self.status.last_error.lock().expect("status lock") = None;
                    if applied > 0 {
                        tracing::debug!(applied, "Feed entries applied.");
                        // More may be waiting (or arrive while we applied): look again at once;
                        // an unchanged document costs a 304.
                        Duration::ZERO
                    } else {
                        self.settings.interval
                    }
                }
                Err(error) => {
                    let text = error_chain(&error);
                    // Once per outage at warn level; repeats are debug.
                    if !failing {
                        tracing::warn!(feed = %self.settings.feed_url, error = %text, "Poll failed; will retry from the stored position.");
                    } else {
                        tracing::debug!(error = %text, "Poll failed again.");
                    }
                    failing = true;
                    self.status.healthy.store(false, Ordering::Relaxed);
                    *self.status.last_error.lock().expect("status lock") = Some(text);
                    // Soon at first (order may just be starting), then no faster than the interval.
                    let next = retry.min(self.settings.interval);
                    retry = retry.saturating_mul(2);
                    next
                }
            };
            if let Some(reply) = reply {
                let _ = reply.send(());
            }
        }
        tracing::info!("Feed poller stopped.");
    }

    /// One poll; returns how many entries it applied. Tests call it directly.
    pub async fn poll_once(&self) -> Result<usize, PollError> {
        let stream = self.settings.feed_url.as_str();
        let mut position = self
            .checkpoints
            .position(stream)
            .await
            .map_err(PollError::Checkpoint)?;
        self.status.position.store(position, Ordering::Relaxed);
        let current_url = Url::parse(stream).map_err(|_| PollError::Status {
            url: stream.to_owned(),
            status: StatusCode::BAD_REQUEST,
        })?;
        let validators = self.validators.lock().expect("validators lock").clone();
        let (current, response_validators) = match self.fetch(current_url, validators).await? {
            (Fetched::NotModified, _) => return Ok(0),
            (Fetched::Document(document), validators) => (*document, validators),
        };

        let mut entries: Vec<(Option<i64>, Entry, Url)> = current
            .feed
            .entries
            .iter()
            .map(|e| (entry_position(e), e.clone(), current.url.clone()))
            .collect();
        // A feed with positions (ours) says how far back to go; an empty current document with
        // a `prev-archive` link is one too (every newest order deleted).
        let positioned = if entries.is_empty() {
            link(&current, "prev-archive").is_some()
        } else {
            entries.iter().all(|(p, _, _)| p.is_some())
        };
        // Walk back through the archives until the stored position is covered.
        let mut document = current;
        let mut oldest = entries
            .iter()
            .filter_map(|(p, _, _)| *p)
            .min()
            .unwrap_or(i64::MAX);
        while positioned && oldest > position + 1 {
            let Some(previous) = link(&document, "prev-archive") else {
                break;
            };
            document = match self.fetch(previous.clone(), None).await? {
                (Fetched::Document(document), _) => *document,
                (Fetched::NotModified, _) => break,
            };
            let older: Vec<_> = document
                .feed
                .entries
                .iter()
                .map(|e| (entry_position(e), e.clone(), document.url.clone()))
                .collect();
            let older_oldest = older
                .iter()
                .filter_map(|(p, _, _)| *p)
                .min()
                .unwrap_or(i64::MAX);
            if older.iter().any(|(p, _, _)| p.is_none())
                || (older_oldest >= oldest && !older.is_empty())
            {
                // Entries without positions, or an archive that does not go back: not our feed's
                // shape; stop rather than loop or guess.
                return Err(PollError::BadArchive {
                    url: previous.to_string(),
                });
            }
            oldest = oldest.min(older_oldest);
            entries.extend(older);
        }

        let mut applied = 0;
        if positioned {
            entries.sort_by_key(|(p, _, _)| *p);
            entries.dedup_by_key(|(p, _, _)| *p);
            // Orders are read ahead, several at once (HTTP round trips overlap), and applied
            // strictly in position order, each with its checkpoint.
            let pending: Vec<(i64, Entry, Url)> = entries
                .into_iter()
                .filter_map(|(p, entry, base)| {
                    p.filter(|p| *p > position).map(|p| (p, entry, base))
                })
                .collect();
            let mut reads = futures::stream::iter(
                pending
                    .into_iter()
                    .map(|(next, entry, base)| self.fetch_at(next, entry, base)),
            )
            .buffered(READ_AHEAD);
            // Consecutive orders are applied together, in one transaction that also moves the
            // checkpoint to the last of them; anything else (gone, unreadable) goes on its own.
            let mut batch: Vec<(i64, EntryRead)> = Vec::new();
            while let Some((next, fetched)) = reads.next().await {
                let fetched = fetched?;
                if matches!(fetched.read, OrderRead::Order(_)) {
                    batch.push((next, fetched));
                    if batch.len() >= APPLY_BATCH {
                        match self
                            .apply_batch(stream, &mut position, std::mem::take(&mut batch))
                            .await?
                        {
                            Some(count) => applied += count,
                            None => return Ok(applied),
                        }
                    }
                    continue;
                }
                match self
                    .apply_batch(stream, &mut position, std::mem::take(&mut batch))
                    .await?
                {
                    Some(count) => applied += count,
                    None => return Ok(applied),
                }
                let checkpoint = Checkpoint {
                    stream: stream.to_owned(),
                    expected: position,
                    next,
                };
                match self.apply_fetched(fetched, Some(&checkpoint)).await? {
                    Some(true) => applied += 1,
                    Some(false) => {}
                    // Another instance is ahead of us: start over at the next poll.
                    None => return Ok(applied),
                }
                position = next;
                self.status.position.store(position, Ordering::Relaxed);
            }
            match self.apply_batch(stream, &mut position, batch).await? {
                Some(count) => applied += count,
                None => return Ok(applied),
            }
        } else {
            // A feed without positions (the originals'): every entry, oldest first, applied
            // idempotently; the validators keep unchanged documents from being read again.
            let mut entries = entries;
            entries.sort_by_key(|(_, entry, _)| entry.updated);
            for (_, entry, base) in entries {
                if self.apply_entry(&entry, &base, None).await? == Some(true) {
                    applied += 1;
                }
            }
        }
        *self.validators.lock().expect("validators lock") = Some(response_validators);
        Ok(applied)
    }

    /// Applies one entry: `Some(true)` applied now, `Some(false)` already there, parked or
    /// skipped, `None` the checkpoint had moved.
    /// Applies consecutive orders (`(position, read)`) with one checkpoint move; `Some(applied)`,
    /// or `None` when another instance had moved the checkpoint. A batch the handler refuses as a
    /// whole is applied entry by entry, so that only the culprit is parked.
    async fn apply_batch(
        &self,
        stream: &str,
        position: &mut i64,
        batch: Vec<(i64, EntryRead)>,
    ) -> Result<Option<usize>, PollError> {
        let Some(last) = batch.last().map(|(next, _)| *next) else {
            return Ok(Some(0));
        };
        let orders: Vec<OrderPlaced> = batch
            .iter()
            .filter_map(|(_, read)| match &read.read {
                OrderRead::Order(order) => Some((**order).clone()),
                _ => None,
            })
            .collect();
        let checkpoint = Checkpoint {
            stream: stream.to_owned(),
            expected: *position,
            next: last,
        };
        match self.handler.handle_batch(&orders, Some(&checkpoint)).await {
            Ok(answers) => {
                if answers.contains(&Applied::CheckpointMoved) {
                    return Ok(None);
                }
                let created = answers.iter().filter(|a| **a == Applied::Created).count();
                self.status
                    .applied
                    .fetch_add(created as u64, Ordering::Relaxed);
                self.status
                    .duplicates
                    .fetch_add((answers.len() - created) as u64, Ordering::Relaxed);
                *position = last;
                self.status.position.store(last, Ordering::Relaxed);
                Ok(Some(created))
            }
            Err(HandleError::Transient(error)) => Err(PollError::Apply(error)),
            Err(_) => {
                let mut created = 0;
                for (next, read) in batch {
                    let checkpoint = Checkpoint {
                        stream: stream.to_owned(),
                        expected: *position,
                        next,
                    };
                    match self.apply_fetched(read, Some(&checkpoint)).await? {
                        Some(true) => created += 1,
                        Some(false) => {}
                        None => return Ok(None),
                    }
                    *position = next;
                    self.status.position.store(next, Ordering::Relaxed);
                }
                Ok(Some(created))
            }
        }
    }

    /// Reads an entry's order from its `content/@src`.
    async fn fetch_entry(&self, entry: &Entry, base: &Url) -> Result<EntryRead, PollError> {
        let Some(source) = entry
            .content
            .as_ref()
            .and_then(|c| c.src.as_deref())
            .and_then(|src| base.join(src).ok())
        else {
            return Ok(EntryRead {
                source: entry.id.clone(),
                read: OrderRead::Unreadable(
                    String::new(),
                    "the entry has no content/@src".to_owned(),
                ),
            });
        };
        let read = self.read_order(&source).await?;
        Ok(EntryRead {
            source: source.to_string(),
            read,
        })
    }

    /// `fetch_entry` with owned arguments, for reading ahead.
    async fn fetch_at(
        &self,
        position: i64,
        entry: Entry,
        base: Url,
    ) -> (i64, Result<EntryRead, PollError>) {
        (position, self.fetch_entry(&entry, &base).await)
    }

    async fn apply_entry(
        &self,
        entry: &Entry,
        base: &Url,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Option<bool>, PollError> {
        let fetched = self.fetch_entry(entry, base).await?;
        self.apply_fetched(fetched, checkpoint).await
    }

    /// Applies an entry whose order was read: `Some(true)` applied now, `Some(false)` already
    /// there, parked or skipped, `None` the checkpoint had moved.
    async fn apply_fetched(
        &self,
        fetched: EntryRead,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Option<bool>, PollError> {
        let source = fetched.source.as_str();
        let order = match fetched.read {
            OrderRead::Order(order) => order,
            OrderRead::Gone => {
                tracing::info!(order = %source, "Order no longer exists (deleted); skipped.");
                return self.pass(checkpoint, source, None, None).await;
            }
            OrderRead::Unreadable(body, error) => {
                let body = (!body.is_empty()).then_some(body.as_str());
                return self.pass(checkpoint, source, body, Some(&error)).await;
            }
        };
        match self.handler.handle(&order, checkpoint).await {
            Ok(Applied::Created) => {
                self.status.applied.fetch_add(1, Ordering::Relaxed);
                Ok(Some(true))
            }
            Ok(Applied::AlreadyPresent) => {
                self.status.duplicates.fetch_add(1, Ordering::Relaxed);
                Ok(Some(false))
            }
            Ok(Applied::CheckpointMoved) => Ok(None),
            Err(HandleError::Transient(error)) => Err(PollError::Apply(error)),
            Err(error) => {
                let reason = error_chain(&error);
                let body = order.to_json();
                self.pass(checkpoint, source, Some(&body), Some(&reason))
                    .await
            }
        }
    }

    /// Moves past an entry without applying it, parking it when `error` says why.
    async fn pass(
        &self,
        checkpoint: Option<&Checkpoint>,
        source: &str,
        payload: Option<&str>,
        error: Option<&str>,
    ) -> Result<Option<bool>, PollError> {
        if let Some(error) = error {
            tracing::error!(%source, %error, "Feed entry cannot be applied; parking it.");
            self.status.parked.fetch_add(1, Ordering::Relaxed);
        }
        let Some(checkpoint) = checkpoint else {
            // Without positions there is no checkpoint to move; parking still records it.
            let scratch = Checkpoint {
                stream: self.settings.feed_url.clone(),
                expected: -1,
                next: -1,
            };
            if let Some(error) = error {
                let _ = self
                    .checkpoints
                    .pass(
                        &scratch,
                        Some(Parked {
                            source,
                            payload,
                            error,
                        }),
                    )
                    .await;
            }
            return Ok(Some(false));
        };
        let parked = error.map(|error| Parked {
            source,
            payload,
            error,
        });
        match self.checkpoints.pass(checkpoint, parked).await {
            Ok(true) => Ok(Some(false)),
            Ok(false) => Ok(None),
            Err(error) => Err(PollError::Apply(error)),
        }
    }

    async fn read_order(&self, url: &Url) -> Result<OrderRead, PollError> {
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
            StatusCode::GONE => return Ok(OrderRead::Gone),
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
        Ok(match OrderPlaced::from_json(&body) {
            Ok(order) => OrderRead::Order(Box::new(order)),
            Err(error) => OrderRead::Unreadable(
                String::from_utf8_lossy(&body).into_owned(),
                error.to_string(),
            ),
        })
    }

    /// GET, conditional when `validators` are given; returns the document and its validators.
    async fn fetch(
        &self,
        url: Url,
        validators: Option<(Option<String>, Option<String>)>,
    ) -> Result<(Fetched, (Option<String>, Option<String>)), PollError> {
        let mut request = self
            .client
            .get(url.clone())
            .header(header::ACCEPT, "application/atom+xml");
        if let Some((etag, last_modified)) = &validators {
            if let Some(etag) = etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(last_modified) = last_modified {
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
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok((Fetched::NotModified, validators.unwrap_or_default()));
        }
        if !response.status().is_success() {
            return Err(PollError::Status {
                url: url.to_string(),
                status: response.status(),
            });
        }
        let header_text = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let received = (
            header_text(header::ETAG),
            header_text(header::LAST_MODIFIED),
        );
        let url = response.url().clone();
        let body = response
            .bytes()
            .await
            .map_err(|source| PollError::Unreachable {
                url: url.to_string(),
                source,
            })?;
        let feed = Feed::read_from(&body[..]).map_err(|source| PollError::NotAFeed {
            url: url.to_string(),
            source,
        })?;
        Ok((
            Fetched::Document(Box::new(Document { url, feed })),
            received,
        ))
    }
}

/// The `href` of the document's link with relation `rel`, resolved against its URL.
fn link(document: &Document, rel: &str) -> Option<Url> {
    let href = document
        .feed
        .links
        .iter()
        .find(|link| link.rel == rel)?
        .href
        .as_str();
    document.url.join(href).ok()
}
