#![doc = include_str!("../README.md")]

mod checkpoint;
mod copies;
mod health;
mod intake;
mod metrics;
mod parking;
mod poll;
mod projection;
mod service;
mod state;

pub use checkpoint::{DatabaseCheckpoints, advance_checkpoint};
pub use copies::{Copies, CopyList, LIST_LIMIT, check_view, expected_view};
pub use intake::{AmqpIntake, FeedIntake, Intake, KafkaIntake, Transport};
pub use parking::{DatabaseParkingLot, ParkedRow, ReplayReport, parked_events, replay_parked};
pub use projection::{Projection, Projector, classify};
pub use service::{Application, CONSUMER_MIGRATIONS, ConsumerServiceSettings, Service};
pub use state::ConsumerState;
