//! Reads the feed: conditional GETs (`fetch`), a walk back through archive pages to the stored
//! position (`walk`), each new entry's order handed to the shared delivery policy with the
//! position to store (`apply`).

mod apply;
mod fetch;
mod walk;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orderflow_transport::{
    Backoff, BoxError, CheckpointStore, Delivery, DeliveryStats, OrderEventHandler, error_chain,
};
use reqwest::{StatusCode, Url};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use self::fetch::{Fetched, Validators};

/// How long a poller asks the server to hold a poll until the feed changes.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(20);

/// How a poller reads one feed.
#[derive(Debug, Clone)]
pub struct PollerSettings {
    /// The current document, e.g. `http://localhost:8081/feed`.
    pub feed_url: String,
    /// Time between polls.
    pub interval: Duration,
    /// How long one HTTP request may take.
    pub request_timeout: Duration,
    /// Who reads, named in the span of each entry it applies: the consumer service.
    pub reader: String,
    /// The format to ask for (`Accept`); a document is read as the format it says it is.
    pub format: crate::FeedFormat,
    /// How long the server may hold a poll until the feed changes (long polling, see
    /// `crate::long_poll`); `None` polls every `interval`. A server that does not say it waited
    /// is polled every `interval` all the same.
    pub wait: Option<Duration>,
}

impl PollerSettings {
    pub fn new(feed_url: impl Into<String>) -> Self {
        PollerSettings {
            feed_url: feed_url.into(),
            interval: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            reader: "feed reader".to_owned(),
            format: crate::FeedFormat::Atom,
            wait: Some(DEFAULT_WAIT),
        }
    }
}

/// What the poller did last, for health pages and tests. Shared with the poller task.
#[derive(Debug, Default)]
pub struct PollerStatus {
    position: AtomicI64,
    delivery: Arc<DeliveryStats>,
    polls: AtomicU64,
    failed_polls: AtomicU64,
    healthy: AtomicBool,
    last_error: Mutex<Option<String>>,
}

impl PollerStatus {
    pub fn position(&self) -> i64 {
        self.position.load(Ordering::Relaxed)
    }
    /// What this poller applied, found applied, and parked.
    pub fn delivery(&self) -> &Arc<DeliveryStats> {
        &self.delivery
    }
    /// Polls completed, successful or not.
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }
    /// Polls that failed (feed down, unreadable, an order unreachable).
    pub fn failed_polls(&self) -> u64 {
        self.failed_polls.load(Ordering::Relaxed)
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
    #[error("{url} is not a feed of the format it says")]
    NotAFeed {
        url: String,
        source: crate::ReadError,
    },
    #[error("{url} is not an archive page of this feed (no positions, or it does not go back)")]
    BadArchive { url: String },
    #[error("applying an order failed; will retry")]
    Apply(#[source] BoxError),
}

/// Retries after a failed poll: soon at first (order may just be starting), doubling up to the
/// poll interval.
const RETRY: Backoff = Backoff::new(Duration::from_millis(100), Duration::MAX);

/// A poll the server answered "not modified" sooner than this was not held, whatever it said.
const MIN_HOLD: Duration = Duration::from_millis(500);

/// A request to poll now, answered when that poll is over.
pub type PollNow = oneshot::Sender<()>;

/// Polls one feed for one consumer service.
pub struct Poller {
    settings: PollerSettings,
    delivery: Delivery,
    checkpoints: Arc<dyn CheckpointStore>,
    status: Arc<PollerStatus>,
    client: reqwest::Client,
    /// `ETag` and `Last-Modified` of the current document, kept once every entry of it was
    /// applied: a document that failed half-way must be read again, not answered with 304.
    validators: Mutex<Option<Validators>>,
    /// Whether this poll asked the server to hold it (it can only with a document to compare).
    asked_to_wait: AtomicBool,
    /// Whether the server said it held this poll's request (long polling): then the next poll
    /// may go at once.
    server_waited: AtomicBool,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Poller {
    pub fn new(
        settings: PollerSettings,
        handler: Arc<dyn OrderEventHandler>,
        checkpoints: Arc<dyn CheckpointStore>,
        status: Arc<PollerStatus>,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .build()?;
        let delivery = Delivery::new(&settings.reader, handler, Arc::clone(&status.delivery));
        Ok(Poller {
            settings,
            delivery,
            checkpoints,
            status,
            client,
            validators: Mutex::new(None),
            asked_to_wait: AtomicBool::new(false),
            server_waited: AtomicBool::new(false),
        })
    }

    /// Polls every `interval`, and at once when asked through `poll_now`, until `shutdown`.
    /// With `wait`, a poll is a long poll: the server answers when the feed changed, and the next
    /// poll goes at once. A failed poll is logged and retried; it never ends the loop.
    pub async fn run(self, mut poll_now: mpsc::Receiver<PollNow>, shutdown: CancellationToken) {
        tracing::info!(feed = %self.settings.feed_url, interval = ?self.settings.interval,
            wait = ?self.settings.wait, "Feed poller started.");
        let mut failing = false;
        // The first poll goes at once.
        let mut wait = Duration::ZERO;
        let mut retry = RETRY.with_max(self.settings.interval);
        // A request to poll now that came during a long poll: served by a poll that does not wait.
        let mut asked: Option<PollNow> = None;
        let mut can_be_asked = true;
        loop {
            let reply = match asked.take() {
                Some(reply) => Some(reply),
                None => tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => break,
                    request = poll_now.recv(), if can_be_asked => {
                        can_be_asked = request.is_some();
                        request
                    }
                    _ = tokio::time::sleep(wait) => None,
                },
            };
            // Asked to poll now: an answer now, not when the feed changes.
            let long_poll = self.settings.wait.filter(|_| reply.is_none());
            let started = tokio::time::Instant::now();
            // A long poll is given up for a request to poll now or for shutdown (safe at any
            // point: the position moves only with what was applied, in the same transaction).
            let outcome = tokio::select! {
                biased;
                _ = shutdown.cancelled(), if long_poll.is_some() => break,
                request = poll_now.recv(), if long_poll.is_some() && can_be_asked => {
                    can_be_asked = request.is_some();
                    asked = request;
                    wait = Duration::ZERO;
                    continue;
                }
                outcome = self.poll(long_poll) => outcome,
            };
            self.status.polls.fetch_add(1, Ordering::Relaxed);
            wait = match outcome {
                Ok(applied) => {
                    if failing {
                        tracing::info!(feed = %self.settings.feed_url, "Feed readable again.");
                    }
                    failing = false;
                    retry.reset();
                    self.status.healthy.store(true, Ordering::Relaxed);
                    *self.status.last_error.lock().expect("status lock") = None;
                    if applied > 0 {
                        tracing::debug!(applied, "Feed entries applied.");
                        // More may be waiting (or arrive while we applied): look again at once;
                        // an unchanged document costs a 304.
                        Duration::ZERO
                    } else if long_poll.is_some() && !self.asked_to_wait.load(Ordering::Relaxed) {
                        // No document to compare yet (the first poll): the next poll can be
                        // the first long one.
                        Duration::ZERO
                    } else if self.held_as_asked(long_poll, started.elapsed()) {
                        // The server held the poll until now: the next one can go at once.
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
                    self.status.failed_polls.fetch_add(1, Ordering::Relaxed);
                    self.status.healthy.store(false, Ordering::Relaxed);
                    *self.status.last_error.lock().expect("status lock") = Some(text);
                    retry.next_delay()
                }
            };
            if let Some(reply) = reply {
                let _ = reply.send(());
            }
        }
        tracing::info!("Feed poller stopped.");
    }

    /// Whether a poll that found nothing new was held by the server as asked: it said so, and
    /// it did hold it for a while (a server that says so and answers at once would otherwise be
    /// polled in a tight loop).
    fn held_as_asked(&self, long_poll: Option<Duration>, took: Duration) -> bool {
        long_poll.is_some_and(|asked| {
            self.server_waited.load(Ordering::Relaxed) && took >= (asked / 2).min(MIN_HOLD)
        })
    }

    /// One poll that does not wait; returns how many entries it applied. Tests call it directly.
    pub async fn poll_once(&self) -> Result<usize, PollError> {
        self.poll(None).await
    }

    /// One poll, a long poll with `wait`.
    async fn poll(&self, wait: Option<Duration>) -> Result<usize, PollError> {
        self.asked_to_wait.store(false, Ordering::Relaxed);
        self.server_waited.store(false, Ordering::Relaxed);
        let stream = self.settings.feed_url.as_str();
        let position = self
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
        let (current, received) = match self.fetch(current_url, validators.as_ref(), wait).await? {
            Fetched::NotModified => return Ok(0),
            Fetched::Document(document, validators) => (*document, validators),
        };
        let walked = self.walk_back(current, position).await?;
        match self.apply(walked, position).await? {
            apply::Applied::All(applied) => {
                // Only a document applied whole may be answered with 304 next time.
                *self.validators.lock().expect("validators lock") = Some(received);
                Ok(applied)
            }
            apply::Applied::Overtaken(applied) => Ok(applied),
        }
    }
}
