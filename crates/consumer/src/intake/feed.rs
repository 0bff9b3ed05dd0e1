use std::sync::{Arc, Mutex};

use anyhow::Context;
use orderflow_feed::poller::PollNow;
use orderflow_feed::{Poller, PollerSettings, PollerStatus};
use orderflow_storage::Database;
use orderflow_transport::OrderEventHandler;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::DatabaseCheckpoints;

/// A poller of the order feed.
#[derive(Debug)]
pub struct FeedIntake {
    settings: PollerSettings,
    /// What the poller did last.
    status: Arc<PollerStatus>,
    /// Asks the poller to poll now (`POST /poll`); it answers when that poll is over.
    poll_now: mpsc::Sender<PollNow>,
    /// The other end, taken by the poller when it starts.
    requests: Mutex<Option<mpsc::Receiver<PollNow>>>,
}

impl FeedIntake {
    pub(super) fn build(service: &'static str, settings: &PollerSettings) -> Self {
        tracing::info!(feed = %settings.feed_url, "Reading the order feed.");
        let (poll_now, requests) = mpsc::channel(8);
        FeedIntake {
            settings: PollerSettings {
                reader: service.to_owned(),
                ..settings.clone()
            },
            status: Arc::default(),
            poll_now,
            requests: Mutex::new(Some(requests)),
        }
    }

    pub fn status(&self) -> &Arc<PollerStatus> {
        &self.status
    }

    /// Asks the poller for a poll now; the receiver answers once that poll is over. An error if
    /// no poller runs.
    pub async fn poll_now(&self) -> anyhow::Result<tokio::sync::oneshot::Receiver<()>> {
        let (done, polled) = tokio::sync::oneshot::channel();
        self.poll_now
            .send(done)
            .await
            .map_err(|_| anyhow::anyhow!("the feed poller is not running"))?;
        Ok(polled)
    }

    pub(super) async fn run(
        &self,
        handler: Arc<dyn OrderEventHandler>,
        db: Database,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let requests = self
            .requests
            .lock()
            .expect("requests lock")
            .take()
            .context("this feed intake runs already: one poller per service instance")?;
        let checkpoints = Arc::new(DatabaseCheckpoints { db });
        let poller = Poller::new(
            self.settings.clone(),
            handler,
            checkpoints,
            Arc::clone(&self.status),
        )
        .context("cannot create the feed poller's HTTP client")?;
        poller.run(requests, shutdown).await;
        Ok(())
    }

    pub(super) fn health(&self) -> (bool, serde_json::Value) {
        let status = &self.status;
        // Before the first poll there is nothing to say against the feed.
        let up = status.healthy() || status.polls() == 0;
        let details = json!({
            "transport": "feed",
            "feed": self.settings.feed_url,
            "lastPoll": if status.polls() == 0 { json!("pending") } else if status.healthy() { json!("ok") } else { json!({"failed": status.last_error()}) },
            "position": status.position(),
        });
        (up, details)
    }
}
