#![doc = include_str!("../README.md")]

pub mod conditional;
pub mod paging;
pub mod poller;
pub mod render;

pub use paging::{CATCH_UP_LIMIT, FeedWindow, PageSize};
pub use poller::{Poller, PollerSettings, PollerStatus};
pub use render::{FeedDocument, FeedEntry, render};
