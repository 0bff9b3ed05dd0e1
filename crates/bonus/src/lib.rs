#![doc = include_str!("../README.md")]

pub mod db;
pub mod pages;
pub mod projection;

use orderflow_consumer::{ConsumerState, Service};
use orderflow_storage::Migrations;

/// The bonus programme: points per customer from every live order.
#[derive(Debug)]
pub struct Bonus;

impl Service for Bonus {
    const SERVICE: &'static orderflow_directory::Service = &orderflow_directory::BONUS;
    /// Each order's current state, compacted: a late joiner reads every live order once, and
    /// sees deletions as tombstones.
    const TOPIC: &'static str = orderflow_events::ORDER_STATE_TOPIC;
    const MIGRATIONS: Migrations = Migrations {
        postgres: || sqlx::migrate!("./migrations/postgres"),
        sqlite: || sqlx::migrate!("./migrations/sqlite"),
    };
    type Copies = projection::BonusOrders;
    type Projection = projection::BonusOrders;

    fn pages() -> axum::Router<ConsumerState> {
        pages::router()
    }
}

/// A built bonus service; `Application::default_settings`, `build`, `run_until`.
pub type Application = orderflow_consumer::Application<Bonus>;
