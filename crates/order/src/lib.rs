#![doc = include_str!("../README.md")]

pub mod catalog;
pub mod config;
pub mod db;
pub mod domain;
pub mod feed_db;
pub mod group_commit;
mod metrics;
pub mod relay;
pub mod routes;
pub mod startup;
pub mod state;

pub use config::{OrderTransport, Settings};
pub use startup::Application;
