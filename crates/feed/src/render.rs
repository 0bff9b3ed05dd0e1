//! One feed document, built with atom_syndication in the contract's shape.

use std::collections::BTreeMap;

use atom_syndication::extension::{Extension, ExtensionMap};
use atom_syndication::{Content, Entry, Feed, FixedDateTime, Link, Person, Text, WriteConfig};
use chrono::{DateTime, Utc};

use crate::FeedWindow;

/// `id` of the feed, as the originals write it.
pub const FEED_ID: &str = "tag:ewolff.com/microservice-atom/order";
/// RFC 5005's namespace, for `fh:archive` on archive documents.
pub const HISTORY_NAMESPACE: &str = "http://purl.org/syndication/history/1.0";
/// Our namespace, for `orderflow:position` on every entry.
pub const ORDERFLOW_NAMESPACE: &str = "urn:orderflow:feed:1";
/// The prefix `orderflow:position` is written (and read) with.
pub const ORDERFLOW_PREFIX: &str = "orderflow";
/// The extension element that carries an entry's position.
pub const POSITION: &str = "position";
/// The extension element that carries the order itself (its JSON document, as `content/@src`
/// serves it), so that a reader need not fetch each entry's order; readers that do not know it
/// (the originals') ignore it and fetch `content/@src`.
pub const ORDER: &str = "order";
/// The extension element that carries the W3C trace context of the request that placed the
/// order, so that a reader's span continues its trace (readers that do not know it ignore it).
pub const TRACEPARENT: &str = "traceparent";

/// One entry: an order at its position in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub position: i64,
    pub order_id: i64,
    /// The order's time, epoch milliseconds.
    pub updated_ms: i64,
    /// The placing request's trace context, when it was traced.
    pub traceparent: Option<String>,
    /// The order's JSON document, when the feed carries it inline.
    pub order: Option<String>,
}

/// What one document shows.
#[derive(Debug, Clone, Copy)]
pub struct FeedDocument<'a> {
    pub window: FeedWindow,
    /// The window's entries (deleted orders left out), ascending by position.
    pub entries: &'a [FeedEntry],
    /// The order service's base URL as the reader sees it, with a trailing slash:
    /// `http://localhost:8081/` directly, `http://localhost:8080/order/` behind the front door.
    pub base: &'a str,
}

impl FeedDocument<'_> {
    /// The URL of this document.
    pub fn self_url(&self) -> String {
        match self.window.page {
            Some(page) => archive_url(self.base, page),
            None => current_url(self.base),
        }
    }

    /// When the newest entry was placed; the epoch for an empty document.
    pub fn updated_ms(&self) -> i64 {
        self.entries.iter().map(|e| e.updated_ms).max().unwrap_or(0)
    }
}

pub fn current_url(base: &str) -> String {
    format!("{base}feed")
}

pub fn archive_url(base: &str, page: i64) -> String {
    format!("{base}feed/archive/{page}")
}

/// The document as Atom 1.0 XML.
pub fn render(document: &FeedDocument<'_>) -> String {
    let base = document.base;
    let mut links = vec![link("self", document.self_url())];
    if document.window.page.is_some() {
        links.push(link("current", current_url(base)));
    }
    if let Some(page) = document.window.prev_archive {
        links.push(link("prev-archive", archive_url(base, page)));
    }
    if let Some(page) = document.window.next_archive {
        links.push(link("next-archive", archive_url(base, page)));
    }
    let mut namespaces = BTreeMap::new();
    namespaces.insert(ORDERFLOW_PREFIX.to_owned(), ORDERFLOW_NAMESPACE.to_owned());
    let mut extensions = ExtensionMap::new();
    if document.window.page.is_some() {
        // RFC 5005: an archive document says so; readers and caches may keep it.
        namespaces.insert("fh".to_owned(), HISTORY_NAMESPACE.to_owned());
        extensions.insert("fh".to_owned(), single("fh:archive", "archive", None));
    }
    let feed = Feed {
        title: Text::plain("Order"),
        id: FEED_ID.to_owned(),
        updated: timestamp(document.updated_ms()),
        authors: vec![Person {
            name: "Big Money Online Commerce Inc.".to_owned(),
            ..Person::default()
        }],
        links,
        subtitle: Some(Text::plain("List of all orders")),
        entries: document
            .entries
            .iter()
            .map(|entry| render_entry(entry, base))
            .collect(),
        extensions,
        namespaces,
        ..Feed::default()
    };
    let bytes = feed
        .write_with_config(
            Vec::new(),
            WriteConfig {
                write_document_declaration: true,
                indent_size: Some(2),
            },
        )
        .expect("writing to memory does not fail");
    let xml =
        empty_content_elements(String::from_utf8(bytes).expect("atom_syndication writes UTF-8"));
    if document.entries.is_empty() {
        without_feed_updated(xml)
    } else {
        xml
    }
}

/// The document with every `<content ...>` that holds only whitespace written empty
/// (`<content .../>`): RFC 4287 4.1.3.2 says content with `src` must be empty, and
/// atom_syndication, indenting, puts a line break and spaces between its tags.
fn empty_content_elements(xml: String) -> String {
    const OPEN: &str = "<content ";
    const CLOSE: &str = "</content>";
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml.as_str();
    while let Some(start) = rest.find(OPEN) {
        let Some(tag_end) = rest[start..].find('>').map(|i| start + i) else {
            break;
        };
        let inside = &rest[tag_end + 1..];
        match inside.find(CLOSE) {
            Some(close) if inside[..close].trim().is_empty() && !rest[..tag_end].ends_with('/') => {
                out.push_str(&rest[..tag_end]);
                out.push_str("/>");
                rest = &inside[close + CLOSE.len()..];
            }
            _ => {
                out.push_str(&rest[..=tag_end]);
                rest = inside;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The document without its `<updated>`: the contract (as the originals do) leaves it out of a
/// feed with no entries, where there is no newest entry to date it by. atom_syndication always
/// writes one (its `updated` is not optional), so it is taken out of what it wrote; with no
/// entries, the feed's is the only one.
fn without_feed_updated(xml: String) -> String {
    let (Some(start), Some(end)) = (xml.find("<updated>"), xml.find("</updated>")) else {
        return xml;
    };
    let end = end + "</updated>".len();
    let start = xml[..start].trim_end_matches([' ', '\n']).len();
    format!("{}{}", &xml[..start], &xml[end..])
}

fn render_entry(entry: &FeedEntry, base: &str) -> Entry {
    let id = entry.order_id;
    Entry {
        title: Text::plain(format!("Order {id}")),
        id: format!("{FEED_ID}/{id}"),
        updated: timestamp(entry.updated_ms),
        content: Some(Content {
            content_type: Some("application/json".to_owned()),
            src: Some(format!("{base}order/{id}")),
            ..Content::default()
        }),
        summary: Some(Text::plain(format!("This is the order {id}"))),
        extensions: BTreeMap::from([(ORDERFLOW_PREFIX.to_owned(), orderflow_elements(entry))]),
        ..Entry::default()
    }
}

/// An entry's `orderflow:` elements: its position, its trace context if it has one, and the
/// order if it is carried inline.
fn orderflow_elements(entry: &FeedEntry) -> BTreeMap<String, Vec<Extension>> {
    let mut elements = single(
        &format!("{ORDERFLOW_PREFIX}:{POSITION}"),
        POSITION,
        Some(entry.position.to_string()),
    );
    if let Some(traceparent) = &entry.traceparent {
        elements.extend(single(
            &format!("{ORDERFLOW_PREFIX}:{TRACEPARENT}"),
            TRACEPARENT,
            Some(traceparent.clone()),
        ));
    }
    if let Some(order) = &entry.order {
        elements.extend(single(
            &format!("{ORDERFLOW_PREFIX}:{ORDER}"),
            ORDER,
            Some(order.clone()),
        ));
    }
    elements
}

/// A map with one extension element, keyed by its local name.
fn single(qualified: &str, local: &str, value: Option<String>) -> BTreeMap<String, Vec<Extension>> {
    let extension = Extension {
        name: qualified.to_owned(),
        value,
        ..Extension::default()
    };
    BTreeMap::from([(local.to_owned(), vec![extension])])
}

fn link(rel: &str, href: String) -> Link {
    Link {
        rel: rel.to_owned(),
        href,
        ..Link::default()
    }
}

/// An RFC 3339 date, as JSON Feed writes them.
pub(crate) fn iso_timestamp(millis: i64) -> String {
    timestamp(millis).to_rfc3339()
}

/// The document in `format`.
pub fn render_as(format: crate::FeedFormat, document: &FeedDocument<'_>) -> String {
    match format {
        crate::FeedFormat::Atom => render(document),
        crate::FeedFormat::JsonFeed => crate::json_feed::render_json_feed(document),
        crate::FeedFormat::Rss => crate::rss::render_rss(document),
    }
}

fn timestamp(millis: i64) -> FixedDateTime {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .fixed_offset()
}

/// An entry's position, if the feed writes one (ours do; the originals' do not).
pub fn entry_position(entry: &Entry) -> Option<i64> {
    orderflow_element(entry, POSITION)?.parse().ok()
}

/// The order an entry carries inline, if any (its JSON document).
pub fn entry_order(entry: &Entry) -> Option<String> {
    orderflow_element(entry, ORDER).map(str::to_owned)
}

/// The trace context an entry carries, if any.
pub fn entry_traceparent(entry: &Entry) -> Option<String> {
    orderflow_element(entry, TRACEPARENT).map(str::to_owned)
}

fn orderflow_element<'a>(entry: &'a Entry, name: &str) -> Option<&'a str> {
    let text = entry
        .extensions
        .get(ORDERFLOW_PREFIX)?
        .get(name)?
        .first()?
        .value
        .as_deref()?;
    Some(text.trim())
}

#[cfg(test)]
mod content_tests {
    use super::*;

    #[test]
    fn content_with_only_whitespace_is_written_empty_and_other_content_is_kept() {
        let xml = "<entry><content type=\"a\" src=\"x\">\n    </content><content type=\"text\">hi</content><content src=\"y\"/></entry>".to_owned();
        assert_eq!(
            empty_content_elements(xml),
            "<entry><content type=\"a\" src=\"x\"/><content type=\"text\">hi</content><content src=\"y\"/></entry>"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FeedWindow, PageSize};

    fn document(entries: &[FeedEntry], window: FeedWindow) -> String {
        render(&FeedDocument {
            window,
            entries,
            base: "http://localhost:8080/order/",
        })
    }

    fn child<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Vec<roxmltree::Node<'a, 'a>> {
        node.children()
            .filter(|c| {
                c.is_element()
                    && c.tag_name().name() == name
                    && c.tag_name().namespace() == Some("http://www.w3.org/2005/Atom")
            })
            .collect()
    }

    #[test]
    fn the_current_document_is_valid_atom_with_the_contracts_values() {
        // Arrange
        let entries = [
            FeedEntry {
                position: 11,
                order_id: 7,
                updated_ms: 1_541_240_130_000,
                traceparent: None,
                order: None,
            },
            FeedEntry {
                position: 12,
                order_id: 9,
                updated_ms: 1_541_240_131_000,
                traceparent: None,
                order: None,
            },
        ];
        let window = FeedWindow::current(12, PageSize::new(10).unwrap());

        // Act: render, then read back with an independent XML parser.
        let xml = document(&entries, window);
        let parsed = roxmltree::Document::parse(&xml).unwrap();
        let feed = parsed.root_element();

        // Assert: RFC 4287 4.1.1: exactly one id, title, updated; an author; a self link.
        assert_eq!(feed.tag_name().name(), "feed");
        assert_eq!(
            feed.tag_name().namespace(),
            Some("http://www.w3.org/2005/Atom")
        );
        for (name, text) in [
            ("title", "Order"),
            ("id", FEED_ID),
            ("subtitle", "List of all orders"),
            ("updated", "2018-11-03T10:15:31+00:00"),
        ] {
            let nodes = child(feed, name);
            assert_eq!(nodes.len(), 1, "{name}");
            assert_eq!(nodes[0].text(), Some(text), "{name}");
        }
        let author = child(feed, "author");
        assert_eq!(
            child(author[0], "name")[0].text(),
            Some("Big Money Online Commerce Inc.")
        );
        let links: Vec<(&str, &str)> = child(feed, "link")
            .iter()
            .map(|l| (l.attribute("rel").unwrap(), l.attribute("href").unwrap()))
            .collect();
        assert!(
            links.contains(&("self", "http://localhost:8080/order/feed")),
            "{links:?}"
        );
        assert!(
            links.contains(&("prev-archive", "http://localhost:8080/order/feed/archive/1")),
            "{links:?}"
        );

        // RFC 4287 4.1.2: each entry has id, title, updated; content with src has a type.
        let entries = child(feed, "entry");
        assert_eq!(entries.len(), 2);
        let entry = entries[0];
        assert_eq!(child(entry, "title")[0].text(), Some("Order 7"));
        assert_eq!(
            child(entry, "id")[0].text(),
            Some("tag:ewolff.com/microservice-atom/order/7")
        );
        assert_eq!(
            child(entry, "updated")[0].text(),
            Some("2018-11-03T10:15:30+00:00")
        );
        assert_eq!(
            child(entry, "summary")[0].text(),
            Some("This is the order 7")
        );
        let content = child(entry, "content")[0];
        assert_eq!(content.attribute("type"), Some("application/json"));
        assert_eq!(
            content.attribute("src"),
            Some("http://localhost:8080/order/order/7")
        );
        // RFC 4287 4.1.3.2: with `src`, the content element must be empty; not even whitespace.
        assert!(
            content.children().next().is_none(),
            "content holds {:?}",
            content.text()
        );
        let position = entry
            .children()
            .find(|c| c.tag_name().name() == "position")
            .unwrap();
        assert_eq!(position.tag_name().namespace(), Some(ORDERFLOW_NAMESPACE));
        assert_eq!(position.text(), Some("11"));
    }

    #[test]
    fn archive_documents_say_so_and_link_current_and_neighbours() {
        let window = FeedWindow::archive(2, 35, PageSize::new(10).unwrap()).unwrap();
        let xml = document(&[], window);
        let parsed = roxmltree::Document::parse(&xml).unwrap();
        let feed = parsed.root_element();
        assert!(feed.children().any(|c| c.tag_name().name() == "archive"
            && c.tag_name().namespace() == Some(HISTORY_NAMESPACE)));
        let links: Vec<(&str, &str)> = child(feed, "link")
            .iter()
            .map(|l| (l.attribute("rel").unwrap(), l.attribute("href").unwrap()))
            .collect();
        assert_eq!(
            links,
            vec![
                ("self", "http://localhost:8080/order/feed/archive/2"),
                ("current", "http://localhost:8080/order/feed"),
                ("prev-archive", "http://localhost:8080/order/feed/archive/1"),
                ("next-archive", "http://localhost:8080/order/feed/archive/3"),
            ]
        );
    }

    #[test]
    fn positions_and_trace_context_survive_a_round_trip_through_atom_syndication() {
        let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let entries = [
            FeedEntry {
                position: 3,
                order_id: 1,
                updated_ms: 0,
                traceparent: Some(traceparent.to_owned()),
                order: None,
            },
            FeedEntry {
                position: 4,
                order_id: 2,
                updated_ms: 0,
                traceparent: None,
                order: None,
            },
        ];
        let xml = document(&entries, FeedWindow::current(4, PageSize::default()));
        let feed = Feed::read_from(xml.as_bytes()).unwrap();
        assert_eq!(entry_position(&feed.entries[0]), Some(3));
        assert_eq!(
            entry_traceparent(&feed.entries[0]).as_deref(),
            Some(traceparent)
        );
        assert_eq!(entry_position(&feed.entries[1]), Some(4));
        assert_eq!(entry_traceparent(&feed.entries[1]), None);
    }

    #[test]
    fn the_original_feed_has_no_positions_and_still_reads() {
        let feed = Feed::read_from(
            include_str!("../../events/fixtures/atom-feed-original.xml").as_bytes(),
        )
        .unwrap();
        assert_eq!(feed.entries.len(), 1);
        assert_eq!(entry_position(&feed.entries[0]), None);
        assert_eq!(
            feed.entries[0].content.as_ref().unwrap().src.as_deref(),
            Some("http://order:8080/order/7")
        );
    }
}
