#![doc = include_str!("../README.md")]

mod error;
pub mod metrics;
mod page;
mod process;
mod serve;

pub use error::{ApiError, AppError};
pub use metrics::{Metrics, MetricsBuilder};
pub use page::HtmlPage;
pub use process::process_info;
pub use serve::{MAX_BODY_BYTES, bind, listening_url, serve, stylesheet_router};
