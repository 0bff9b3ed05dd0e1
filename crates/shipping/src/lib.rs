#![doc = include_str!("../README.md")]

pub mod db;
pub mod pages;
pub mod projection;

use orderflow_consumer::Service;
use orderflow_storage::Migrations;

/// The shipping service: its copy of every order, to ship it.
#[derive(Debug)]
pub struct Shipping;

impl Service for Shipping {
    /// Contract section 1: port 8082.
    const SERVICE: &'static orderflow_directory::Service = &orderflow_directory::SHIPPING;
    const MIGRATIONS: Migrations = Migrations {
        postgres: || sqlx::migrate!("./migrations/postgres"),
        sqlite: || sqlx::migrate!("./migrations/sqlite"),
    };
    type Copies = projection::Shipments;
    type Projection = projection::Shipments;
}

/// A built shipping service; `Application::default_settings`, `build`, `run_until`.
pub type Application = orderflow_consumer::Application<Shipping>;
