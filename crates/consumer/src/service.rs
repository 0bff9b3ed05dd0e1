use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use orderflow_feed::{Poller, PollerSettings, PollerStatus};
use orderflow_kafka::{BrokerProbe, ConsumerSettings, ConsumerStatus, run_consumer};
use orderflow_storage::{Database, DatabaseSettings, Migrations};
use orderflow_transport::OrderEventHandler;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    ConsumerState, DatabaseCheckpoints, DatabaseParkingLot, Intake, health, parking, poll,
};

/// Everything a consumer service needs to start.
#[derive(Debug, Clone)]
pub struct ConsumerServiceSettings {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub database: DatabaseSettings,
    pub transport: ConsumerTransport,
}

/// How order events reach a consumer service: configuration, not code.
#[derive(Debug, Clone)]
pub enum ConsumerTransport {
    Kafka(ConsumerSettings),
    Feed(PollerSettings),
}

impl ConsumerServiceSettings {
    /// A consumer service's settings with the contract's defaults: on localhost at `port`, its
    /// schema and (with Kafka) its consumer group both named `service`.
    pub fn with_defaults(
        service: &str,
        port: u16,
        database_url: impl Into<String>,
        transport: crate::Transport,
    ) -> Self {
        ConsumerServiceSettings {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            database: DatabaseSettings::new(database_url, service),
            transport: match transport {
                crate::Transport::Kafka(kafka) => {
                    ConsumerTransport::Kafka(ConsumerSettings::new(kafka, service))
                }
                crate::Transport::Feed(feed) => ConsumerTransport::Feed(feed),
            },
        }
    }
}

/// A built consumer service: database migrated, port bound. `run_until` runs it.
#[derive(Debug)]
pub struct ConsumerService {
    listener: TcpListener,
    port: u16,
    state: ConsumerState,
    transport: ConsumerTransport,
    /// The other end of `Intake::Feed::poll_now`, handed to the poller when it starts.
    poll_requests: Option<mpsc::Receiver<orderflow_feed::poller::PollNow>>,
}

impl ConsumerService {
    pub async fn build(
        service: &'static str,
        settings: ConsumerServiceSettings,
        migrations: Migrations,
    ) -> anyhow::Result<Self> {
        if let ConsumerTransport::Kafka(kafka) = &settings.transport {
            kafka.kafka.validate()?;
        }
        let db = Database::connect(&settings.database, migrations).await?;
        let listener = orderflow_web::bind(settings.bind, settings.port).await?;
        let port = listener.local_addr()?.port();
        let mut poll_requests = None;
        let intake = match &settings.transport {
            ConsumerTransport::Kafka(kafka) => {
                tracing::info!(
                    port,
                    group = %kafka.group_id,
                    brokers = %kafka.kafka.brokers,
                    topic = %kafka.kafka.topic,
                    "{service} service listening on http://localhost:{port}/"
                );
                Intake::Kafka {
                    group: kafka.group_id.clone(),
                    status: Arc::new(ConsumerStatus::default()),
                    broker: BrokerProbe::new(&kafka.kafka)
                        .context("cannot create the Kafka health probe")?,
                }
            }
            ConsumerTransport::Feed(feed) => {
                tracing::info!(port, feed = %feed.feed_url, "{service} service listening on http://localhost:{port}/");
                let (poll_now, requests) = mpsc::channel(8);
                poll_requests = Some(requests);
                Intake::Feed {
                    feed_url: feed.feed_url.clone(),
                    status: Arc::new(PollerStatus::default()),
                    poll_now,
                }
            }
        };
        let state = ConsumerState {
            service,
            db,
            intake,
        };
        Ok(ConsumerService {
            listener,
            port,
            state,
            transport: settings.transport,
            poll_requests,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &ConsumerState {
        &self.state
    }

    /// Serves `pages` (plus `/health`, `/poll` and `/style.css`) and consumes with `handler`
    /// until `shutdown` is cancelled. If either stops on its own, the other is stopped too.
    pub async fn run_until(
        mut self,
        pages: Router<ConsumerState>,
        handler: Arc<dyn OrderEventHandler>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let intake = match (&self.transport, &self.state.intake) {
            (ConsumerTransport::Kafka(settings), Intake::Kafka { status, .. }) => {
                let (settings, status, shutdown) =
                    (settings.clone(), Arc::clone(status), shutdown.clone());
                let parking = Arc::new(DatabaseParkingLot {
                    db: self.state.db.clone(),
                });
                tokio::spawn(async move {
                    let result =
                        run_consumer(settings, handler, parking, status, shutdown.clone()).await;
                    shutdown.cancel();
                    result.context("the Kafka consumer failed")
                })
            }
            (ConsumerTransport::Feed(settings), Intake::Feed { status, .. }) => {
                let checkpoints = Arc::new(DatabaseCheckpoints {
                    db: self.state.db.clone(),
                });
                let poller =
                    Poller::new(settings.clone(), handler, checkpoints, Arc::clone(status))
                        .context("cannot create the feed poller's HTTP client")?;
                let requests = self
                    .poll_requests
                    .take()
                    .expect("built with the feed transport");
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    poller.run(requests, shutdown).await;
                    Ok(())
                })
            }
            _ => unreachable!("state and transport are built together"),
        };
        // Whatever ends the intake, an error or a panic, ends the service too: a consumer service
        // that no longer consumes must not look healthy. (`up` restarts it.)
        let intake = {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let outcome = intake.await;
                shutdown.cancel();
                outcome
            })
        };
        let db = self.state.db.clone();
        let router = pages
            .merge(health::router())
            .merge(poll::router())
            .merge(parking::router())
            .merge(orderflow_web::stylesheet_router())
            .with_state(self.state);
        let served =
            orderflow_web::serve(self.listener, router, shutdown.clone().cancelled_owned()).await;
        shutdown.cancel();
        let consumed = intake
            .await
            .context("the intake's supervisor panicked")?
            .context("the consumer panicked")?;
        db.close().await;
        served?;
        consumed
    }
}
