//! The feed recipe: order publishes an Atom feed (or JSON Feed, or RSS); shipping and invoicing
//! poll it. No broker.

mod caching;
mod concurrency;
mod formats;
mod inline;
mod interop;
mod long_poll;
mod original_feed;
mod outages;
mod paging;
mod worked_example;
