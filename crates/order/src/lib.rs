#![doc = include_str!("../README.md")]

pub mod config;
pub mod db;
pub mod domain;
pub mod relay;
pub mod routes;
pub mod startup;
pub mod state;

pub use config::Settings;
pub use startup::Application;
