#![doc = include_str!("../README.md")]

mod error;
mod page;
mod serve;

pub use error::{ApiError, AppError};
pub use page::HtmlPage;
pub use serve::{MAX_BODY_BYTES, bind, serve, stylesheet_router};
