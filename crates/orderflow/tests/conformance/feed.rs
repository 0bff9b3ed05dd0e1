//! The feed under the conformance suite: a feed server of the test's own (the order service's
//! rendering and paging, over events kept in memory, so that an entry may hold anything) and the
//! poller as shipping runs it, keeping its position in the suite's store.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use orderflow_conformance::{Characteristics, Event, Instance, MemoryStore, TransportUnderTest};
use orderflow_feed::{
    FeedDocument, FeedEntry, FeedWindow, PageSize, Poller, PollerSettings, PollerStatus, render,
};
use tokio_util::sync::CancellationToken;

/// Small pages, so that readers walk archives.
const PAGE_SIZE: u32 = 7;

/// Published events, in position order (position = index + 1).
type Events = Arc<Mutex<Vec<Vec<u8>>>>;

struct Feed {
    base: String,
    events: Events,
    _server: tokio::task::JoinHandle<()>,
}

async fn feed() -> Feed {
    orderflow_testkit::capture_logs();
    let events = Events::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}/", listener.local_addr().expect("address"));
    let app = Router::new()
        .route("/feed", get(current))
        .route("/feed/archive/{page}", get(archive))
        .route("/order/{position}", get(event))
        .with_state((events.clone(), base.clone()));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("the feed server");
    });
    Feed {
        base,
        events,
        _server: server,
    }
}

type Shared = State<(Events, String)>;

fn page_size() -> PageSize {
    PageSize::new(PAGE_SIZE).expect("a page size")
}

async fn current(State((events, base)): Shared) -> Response {
    let newest = events.lock().expect("events").len() as i64;
    document(FeedWindow::current(newest, page_size()), &base)
}

async fn archive(State((events, base)): Shared, Path(page): Path<i64>) -> Response {
    let newest = events.lock().expect("events").len() as i64;
    match FeedWindow::archive(page, newest, page_size()) {
        Some(window) => document(window, &base),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn document(window: FeedWindow, base: &str) -> Response {
    let entries: Vec<FeedEntry> = (window.first..=window.last)
        .map(|position| FeedEntry {
            position,
            order_id: position,
            updated_ms: 1_492_703_532_351 + position,
            traceparent: None,
            // Not inline: this feed's readers fetch each order, as from the originals' feed.
            order: None,
        })
        .collect();
    let xml = render(&FeedDocument {
        window,
        entries: &entries,
        base,
    });
    ([(header::CONTENT_TYPE, "application/atom+xml")], xml).into_response()
}

/// What was published at `position`: an order, or whatever a poison event holds.
async fn event(State((events, _)): Shared, Path(position): Path<usize>) -> Response {
    let events = events.lock().expect("events");
    match position.checked_sub(1).and_then(|index| events.get(index)) {
        Some(payload) => (
            [(header::CONTENT_TYPE, "application/json")],
            payload.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[async_trait]
impl TransportUnderTest for Feed {
    fn characteristics(&self) -> Characteristics {
        Characteristics {
            total_order: true,
            keeps_history: true,
        }
    }

    async fn publish(&self, events: &[Event]) {
        // The feed orders by position; keys do not matter to it.
        let mut published = self.events.lock().expect("events");
        published.extend(events.iter().map(|event| event.payload.clone()));
    }

    async fn start(&self, store: Arc<MemoryStore>) -> Instance {
        let mut settings = PollerSettings::new(format!("{}feed", self.base));
        settings.interval = Duration::from_millis(100);
        let status = Arc::new(PollerStatus::default());
        let stats = Arc::clone(status.delivery());
        let checkpoints = store.clone();
        let poller =
            Poller::new(settings, store, checkpoints, status).expect("the poller's HTTP client");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                // Held for as long as the poller runs: nobody asks it to poll now.
                let (_poll_now, requests) = tokio::sync::mpsc::channel(1);
                poller.run(requests, shutdown).await;
            }
        });
        Instance {
            stats,
            shutdown,
            task,
        }
    }
}

orderflow_conformance::conformance_tests!(feed());
