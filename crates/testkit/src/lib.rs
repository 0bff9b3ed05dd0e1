#![doc = include_str!("../README.md")]

mod broker;
mod env;
pub mod kafka;
mod logs;
pub mod rabbit;
mod wait;

pub use broker::KafkaBroker;
pub use env::{Isolation, TestEnv, free_port};
pub use logs::capture_logs;
pub use wait::wait_until;
