#![doc = include_str!("../README.md")]

pub mod db;
pub mod pages;
pub mod projection;

use orderflow_consumer::Service;
use orderflow_storage::Migrations;

/// The invoicing service: its copy of every order, to bill it.
#[derive(Debug)]
pub struct Invoicing;

impl Service for Invoicing {
    /// Contract section 1: port 8083.
    const SERVICE: &'static orderflow_directory::Service = &orderflow_directory::INVOICING;
    const MIGRATIONS: Migrations = Migrations {
        postgres: || sqlx::migrate!("./migrations/postgres"),
        sqlite: || sqlx::migrate!("./migrations/sqlite"),
    };
    type Copies = projection::Invoices;
    type Projection = projection::Invoices;
}

/// A built invoicing service; `Application::default_settings`, `build`, `run_until`.
pub type Application = orderflow_consumer::Application<Invoicing>;
