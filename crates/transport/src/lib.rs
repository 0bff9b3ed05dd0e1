#![doc = include_str!("../README.md")]

mod handler;
mod parking;
mod publisher;

pub use handler::{Applied, Checkpoint, HandleError, OrderEventHandler};
pub use parking::{ParkedEvent, ParkingLot};
pub use publisher::{OutgoingEvent, PublishError, Publisher};

/// A boxed error that can cross tasks.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
