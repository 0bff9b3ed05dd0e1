//! The feed as RSS 2.0, written with the `rss` crate (of the same family as atom_syndication).
//! RFC 5005 says how its links go into RSS (its Appendix B): `atom:link` elements on the
//! channel, and `fh:archive` on an archive page. Each item carries its position and trace
//! context as `orderflow:` elements, as the Atom entries do.

use std::collections::BTreeMap;

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::{Extension, ExtensionMap};
use rss::{ChannelBuilder, GuidBuilder, ItemBuilder};

use crate::render::{
    FEED_ID, HISTORY_NAMESPACE, ORDER, ORDERFLOW_NAMESPACE, ORDERFLOW_PREFIX, POSITION,
    TRACEPARENT, archive_url, current_url,
};
use crate::{FeedDocument, FeedEntry, FeedFormat};

/// The document as RSS 2.0, newest item first (the format's custom).
pub fn render_rss(document: &FeedDocument<'_>) -> String {
    let base = document.base;
    let window = document.window;
    let mut links = vec![Link {
        rel: "self".to_owned(),
        href: document.self_url(),
        mime_type: Some(FeedFormat::Rss.media_type().to_owned()),
        ..Link::default()
    }];
    let mut link = |rel: &str, href: String| {
        links.push(Link {
            rel: rel.to_owned(),
            href,
            ..Link::default()
        })
    };
    if window.page.is_some() {
        link("current", current_url(base));
    }
    if let Some(page) = window.prev_archive {
        link("prev-archive", archive_url(base, page));
    }
    if let Some(page) = window.next_archive {
        link("next-archive", archive_url(base, page));
    }
    let mut namespaces = BTreeMap::new();
    namespaces.insert(ORDERFLOW_PREFIX.to_owned(), ORDERFLOW_NAMESPACE.to_owned());
    let mut extensions = ExtensionMap::default();
    if window.page.is_some() {
        namespaces.insert("fh".to_owned(), HISTORY_NAMESPACE.to_owned());
        extensions.insert("fh".to_owned(), element("fh:archive", "archive", None));
    }
    let newest = document.entries.iter().map(|e| e.updated_ms).max();
    ChannelBuilder::default()
        .title("Order")
        .link(base)
        .description("List of all orders")
        .last_build_date(newest.map(rfc2822))
        .namespaces(namespaces)
        .extensions(extensions)
        .atom_ext(Some(AtomExtension { links }))
        .items(
            document
                .entries
                .iter()
                .rev()
                .map(|entry| item(entry, base))
                .collect::<Vec<_>>(),
        )
        .build()
        .to_string()
}

fn item(entry: &FeedEntry, base: &str) -> rss::Item {
    let id = entry.order_id;
    let mut elements = element(
        &format!("{ORDERFLOW_PREFIX}:{POSITION}"),
        POSITION,
        Some(entry.position.to_string()),
    );
    if let Some(traceparent) = &entry.traceparent {
        elements.extend(element(
            &format!("{ORDERFLOW_PREFIX}:{TRACEPARENT}"),
            TRACEPARENT,
            Some(traceparent.clone()),
        ));
    }
    if let Some(order) = &entry.order {
        elements.extend(element(
            &format!("{ORDERFLOW_PREFIX}:{ORDER}"),
            ORDER,
            Some(order.clone()),
        ));
    }
    ItemBuilder::default()
        .title(Some(format!("Order {id}")))
        // The order's JSON document, as the Atom entry's content/@src.
        .link(Some(format!("{base}order/{id}")))
        .guid(Some(
            GuidBuilder::default()
                .value(format!("{FEED_ID}/{id}"))
                .permalink(false)
                .build(),
        ))
        .description(Some(format!("This is the order {id}")))
        .pub_date(Some(rfc2822(entry.updated_ms)))
        .extensions(ExtensionMap::from([(
            ORDERFLOW_PREFIX.to_owned(),
            elements,
        )]))
        .build()
}

/// A map with one extension element, keyed by its local name.
fn element(
    qualified: &str,
    local: &str,
    value: Option<String>,
) -> BTreeMap<String, Vec<Extension>> {
    let extension = Extension {
        name: qualified.to_owned(),
        value,
        ..Extension::default()
    };
    BTreeMap::from([(local.to_owned(), vec![extension])])
}

/// RSS's date: RFC 2822.
fn rfc2822(millis: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc2822()
}
