#![doc = include_str!("../README.md")]

mod health;
mod service;
mod state;

pub use service::{ConsumerService, ConsumerServiceSettings};
pub use state::ConsumerState;

use orderflow_transport::HandleError;

/// A database error as the consumer sees it: retry it (database away) or park the record
/// (the record's data is what the database rejects).
pub fn classify(error: sqlx::Error) -> HandleError {
    if orderflow_storage::is_transient(&error) {
        HandleError::Transient(Box::new(error))
    } else {
        HandleError::Permanent(Box::new(error))
    }
}
