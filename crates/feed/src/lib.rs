#![doc = include_str!("../README.md")]

pub mod conditional;
mod format;
pub mod json_feed;
pub mod long_poll;
pub mod paging;
pub mod poller;
mod read;
pub mod render;
pub mod rss;

pub use format::FeedFormat;
pub use paging::{CATCH_UP_LIMIT, FeedWindow, PageSize};
pub use poller::{Poller, PollerSettings, PollerStatus};
pub use read::{ReadEntry, ReadError, ReadFeed};
pub use render::{FeedDocument, FeedEntry, render, render_as};
