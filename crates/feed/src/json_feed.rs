//! The feed as JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>). No crate writes 1.1 with
//! extensions (the one there is knows 1.0 only, and is unmaintained), so the document is a few
//! serde structs. RFC 5005's links and each entry's position travel in `_orderflow` objects,
//! JSON Feed's way of extending (keys that start with an underscore); `next_url`, JSON Feed's
//! own paging, points at the older archive page, so plain JSON Feed readers can page too.

use serde::{Deserialize, Serialize};

use crate::render::{FEED_ID, ORDERFLOW_NAMESPACE, archive_url, current_url, iso_timestamp};
use crate::{FeedDocument, FeedEntry};

/// The version URL of JSON Feed 1.1.
pub const JSON_FEED_VERSION: &str = "https://jsonfeed.org/version/1.1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonFeed {
    pub version: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_page_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The older page (JSON Feed's paging), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<JsonFeedAuthor>,
    #[serde(
        rename = "_orderflow",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub orderflow: Option<FeedExtension>,
    pub items: Vec<JsonFeedItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonFeedAuthor {
    pub name: String,
}

/// `_orderflow` on the feed: RFC 5005's links and whether this is an archive document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedExtension {
    /// What the extension is (JSON Feed recommends a URL here).
    pub about: String,
    /// An archive page (RFC 5005's `fh:archive`): complete, it never changes.
    #[serde(default)]
    pub archive: bool,
    /// `self`, `current`, `prev-archive`, `next-archive`.
    pub links: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonFeedItem {
    pub id: String,
    /// The order's JSON document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_published: Option<String>,
    #[serde(
        rename = "_orderflow",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub orderflow: Option<ItemExtension>,
}

/// `_orderflow` on an item: its position, the trace context of the order's request, and the
/// order itself (its JSON document, as `url` serves it), when the feed carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemExtension {
    pub position: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<serde_json::Value>,
}

/// The document as JSON Feed 1.1, newest item first (the format's order).
pub fn render_json_feed(document: &FeedDocument<'_>) -> String {
    let base = document.base;
    let window = document.window;
    let mut links = std::collections::BTreeMap::new();
    links.insert("self".to_owned(), document.self_url());
    if window.page.is_some() {
        links.insert("current".to_owned(), current_url(base));
    }
    if let Some(page) = window.prev_archive {
        links.insert("prev-archive".to_owned(), archive_url(base, page));
    }
    if let Some(page) = window.next_archive {
        links.insert("next-archive".to_owned(), archive_url(base, page));
    }
    let feed = JsonFeed {
        version: JSON_FEED_VERSION.to_owned(),
        title: "Order".to_owned(),
        home_page_url: Some(base.to_owned()),
        feed_url: Some(document.self_url()),
        description: Some("List of all orders".to_owned()),
        next_url: window.prev_archive.map(|page| archive_url(base, page)),
        authors: vec![JsonFeedAuthor {
            name: "Big Money Online Commerce Inc.".to_owned(),
        }],
        orderflow: Some(FeedExtension {
            about: ORDERFLOW_NAMESPACE.to_owned(),
            archive: window.page.is_some(),
            links,
        }),
        items: document
            .entries
            .iter()
            .rev()
            .map(|entry| item(entry, base))
            .collect(),
    };
    serde_json::to_string_pretty(&feed).expect("a feed always serializes")
}

fn item(entry: &FeedEntry, base: &str) -> JsonFeedItem {
    let id = entry.order_id;
    JsonFeedItem {
        id: format!("{FEED_ID}/{id}"),
        url: Some(format!("{base}order/{id}")),
        title: Some(format!("Order {id}")),
        content_text: Some(format!("This is the order {id}")),
        date_published: Some(iso_timestamp(entry.updated_ms)),
        orderflow: Some(ItemExtension {
            position: entry.position,
            traceparent: entry.traceparent.clone(),
            // An order that is not JSON is left out: the reader fetches `url` and finds out.
            order: entry
                .order
                .as_deref()
                .and_then(|order| serde_json::from_str(order).ok()),
        }),
    }
}
