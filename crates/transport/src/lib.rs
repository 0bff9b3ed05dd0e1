#![doc = include_str!("../README.md")]

mod handler;
mod publisher;

pub use handler::{Applied, Checkpoint, HandleError, OrderEventHandler};
pub use publisher::{OutgoingEvent, PublishError, Publisher};

/// A boxed error that can cross tasks.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
