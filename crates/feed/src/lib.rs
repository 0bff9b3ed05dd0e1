#![doc = include_str!("../README.md")]

pub mod conditional;
pub mod paging;
pub mod poller;
pub mod render;

pub use paging::{FeedWindow, PageSize};
pub use poller::{FeedCheckpoints, Poller, PollerSettings, PollerStatus};
pub use render::{FeedDocument, FeedEntry, render};
