#![doc = include_str!("../README.md")]

mod home;
mod proxy;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::response::Redirect;
use axum::routing::{any, get};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use settings::{FrontDoorSettings, Upstream};

use crate::proxy::Upstreams;

/// A built front door: port bound. `run_until` serves it.
#[derive(Debug)]
pub struct FrontDoor {
    listener: TcpListener,
    port: u16,
    state: Arc<FrontDoorState>,
}

#[derive(Debug)]
pub(crate) struct FrontDoorState {
    pub(crate) settings: FrontDoorSettings,
    pub(crate) upstreams: Upstreams,
    /// One HTTP client for every upstream: connections are pooled and reused.
    pub(crate) client: reqwest::Client,
}

impl FrontDoor {
    pub async fn build(settings: FrontDoorSettings) -> anyhow::Result<Self> {
        let listener = orderflow_web::bind(settings.bind, settings.port).await?;
        let port = listener.local_addr()?.port();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(30))
            .build()
            .context("cannot create the proxy's HTTP client")?;
        let upstreams = Upstreams::new(&settings.upstreams);
        Ok(FrontDoor {
            listener,
            port,
            state: Arc::new(FrontDoorState {
                settings,
                upstreams,
                client,
            }),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where it answers: `http://127.0.0.1:8080/`.
    pub fn url(&self) -> String {
        orderflow_web::listening_url(&self.listener)
    }

    pub async fn run_until(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut router = Router::new()
            .route("/", get(home::home_page))
            .route("/health", get(home::health));
        for service in orderflow_directory::ALL {
            let prefix = service.prefix();
            let with_slash = format!("{prefix}/");
            router = router
                .route(
                    &prefix,
                    get(move || async move { Redirect::permanent(&format!("/{}/", service.name)) }),
                )
                .route(
                    &with_slash,
                    any(move |state, request| proxy::forward(state, service, request)),
                )
                .route(
                    &format!("{prefix}/{{*rest}}"),
                    any(move |state, request| proxy::forward(state, service, request)),
                );
        }
        let router = router
            .merge(orderflow_web::stylesheet_router())
            .with_state(self.state);
        let metrics = orderflow_web::MetricsBuilder::new("front-door").build();
        orderflow_web::serve(self.listener, router, metrics, shutdown.cancelled_owned()).await
    }
}
