#![doc = include_str!("../README.md")]

mod database;
mod errors;
pub mod params;
mod redact;

pub use database::{Backend, Database, DatabaseSettings, Migrations};
pub use errors::is_transient;
pub use redact::redact_url;
