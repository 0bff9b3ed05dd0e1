//! The feed recipe: order publishes an Atom feed; shipping and invoicing poll it. No broker.

mod caching;
mod concurrency;
mod interop;
mod original_feed;
mod outages;
mod paging;
mod worked_example;
