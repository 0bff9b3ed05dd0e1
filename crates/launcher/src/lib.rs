#![doc = include_str!("../README.md")]

mod broker_binary;
mod child;
mod lab;
mod logs;
pub mod process;
mod rabbitmq;
mod settings;
mod up;

pub use broker_binary::{BROKER_BINARY, locate_or_build as locate_broker};
pub use settings::{AmqpUp, Ports, Scale, UpSettings};
pub use up::up;

/// Set in a child's environment: the child stops when its stdin (a pipe from `up`) closes.
pub const EXIT_WITH_PARENT_ENV: &str = "ORDERFLOW_EXIT_WITH_PARENT";
/// Set in a child's environment: `always` or `never`, whether its log lines carry colours.
pub const LOG_COLOR_ENV: &str = "ORDERFLOW_LOG_COLOR";
