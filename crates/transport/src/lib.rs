#![doc = include_str!("../README.md")]

mod backoff;
mod checkpoints;
mod decoding;
mod delivery;
mod handler;
mod parking;
mod publisher;

pub use backoff::Backoff;
pub use checkpoints::CheckpointStore;
pub use decoding::{Decoded, Decoder, WriterSchemas, binary_payload};
pub use delivery::{
    Content, Delivery, DeliveryStats, Incoming, Positions, Progress, RECENT_STORED, Stopped, Stored,
};
pub use handler::{Applied, Checkpoint, HandleError, OrderEventHandler};
pub use parking::{ParkedEvent, ParkingLot};
pub use publisher::{OutgoingEvent, PublishError, Publisher, StateRecord};

/// A boxed error that can cross tasks.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error and its causes on one line: `outer: cause: root cause`, for logs and parked events.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
