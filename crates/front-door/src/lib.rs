#![doc = include_str!("../README.md")]

mod home;
mod lab;
mod live;
mod proxy;
mod settings;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::response::Redirect;
use axum::routing::{any, get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use lab::{LAB_HEADER, Lab, LabAction, LabError, LabProcess, ProcessState};
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
    /// Every instance the pages show: the configured upstreams, and those the lab added (the
    /// proxy keeps to the configured ones; every instance has its own address too).
    instances: RwLock<Vec<Upstream>>,
}

impl FrontDoorState {
    pub(crate) fn instances(&self) -> Vec<Upstream> {
        self.instances
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Shows one more instance; one already shown at that address (bonus, routed before it
    /// ran) is replaced by it.
    pub(crate) fn add_instance(&self, upstream: Upstream) {
        let mut instances = self.instances.write().unwrap_or_else(|e| e.into_inner());
        match instances.iter_mut().find(|i| i.url == upstream.url) {
            Some(shown) => *shown = upstream,
            None => instances.push(upstream),
        }
    }
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
        let instances = RwLock::new(settings.upstreams.clone());
        Ok(FrontDoor {
            listener,
            port,
            state: Arc::new(FrontDoorState {
                settings,
                upstreams,
                client,
                instances,
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
            .route("/health", get(home::health))
            .route("/live", get(live::live_page))
            .route("/live/state.json", get(live::live_state))
            .route("/lab/processes/{name}/{action}", post(lab::act))
            .route("/lab/instances/{service}", post(lab::add_instance))
            .route("/lab/burst", post(lab::burst));
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
