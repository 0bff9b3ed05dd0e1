#![doc = include_str!("../README.md")]

pub mod db;
pub mod handler;
pub mod routes;
pub mod startup;

pub use startup::{Application, default_settings};
