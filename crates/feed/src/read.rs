//! Reading a feed document, in any of the three formats, into the one shape the poller walks:
//! the document's links by relation, and each entry's order URL, position, trace context and
//! date. Each format is read with a library made for it (atom_syndication, rss, serde_json).

use atom_syndication::Feed;
use chrono::DateTime;

use crate::FeedFormat;
use crate::json_feed::JsonFeed;
use crate::render::{
    ORDER, ORDERFLOW_PREFIX, POSITION, TRACEPARENT, entry_order, entry_position, entry_traceparent,
};

/// A feed document as the poller needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadFeed {
    /// `(rel, href)` of each link (RFC 5005's, in whichever way the format carries them).
    pub links: Vec<(String, String)>,
    pub entries: Vec<ReadEntry>,
}

/// One entry: an order.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadEntry {
    pub id: String,
    /// Its date, epoch milliseconds (0 when it has none): the originals' feeds are in this
    /// order, having no positions.
    pub updated_ms: i64,
    /// Its position (orderflow's feeds; the originals' have none).
    pub position: Option<i64>,
    pub traceparent: Option<String>,
    /// The order's JSON document (Atom's `content/@src`, RSS's `link`, JSON Feed's `url`),
    /// maybe relative to the document.
    pub order_url: Option<String>,
    /// The order's JSON document itself, when the feed carries it (`orderflow:order`).
    pub order: Option<String>,
}

/// A document that is not a feed of the format it says.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not an Atom feed")]
    Atom(#[source] atom_syndication::Error),
    #[error("not an RSS feed")]
    Rss(#[source] rss::Error),
    #[error("not a JSON Feed")]
    JsonFeed(#[source] serde_json::Error),
}

impl ReadFeed {
    pub fn read(format: FeedFormat, bytes: &[u8]) -> Result<Self, ReadError> {
        match format {
            FeedFormat::Atom => Feed::read_from(bytes)
                .map(Self::from_atom)
                .map_err(ReadError::Atom),
            FeedFormat::Rss => rss::Channel::read_from(bytes)
                .map(Self::from_rss)
                .map_err(ReadError::Rss),
            FeedFormat::JsonFeed => serde_json::from_slice::<JsonFeed>(bytes)
                .map(Self::from_json_feed)
                .map_err(ReadError::JsonFeed),
        }
    }

    /// The `href` of the first link with relation `rel`.
    pub fn link(&self, rel: &str) -> Option<&str> {
        self.links
            .iter()
            .find(|(r, _)| r == rel)
            .map(|(_, href)| href.as_str())
    }

    fn from_atom(feed: Feed) -> Self {
        ReadFeed {
            links: feed
                .links
                .iter()
                .map(|l| (l.rel.clone(), l.href.clone()))
                .collect(),
            entries: feed
                .entries
                .iter()
                .map(|entry| ReadEntry {
                    id: entry.id.clone(),
                    updated_ms: entry.updated.timestamp_millis(),
                    position: entry_position(entry),
                    traceparent: entry_traceparent(entry),
                    order_url: entry.content.as_ref().and_then(|c| c.src.clone()),
                    order: entry_order(entry),
                })
                .collect(),
        }
    }

    fn from_rss(channel: rss::Channel) -> Self {
        let links = channel
            .atom_ext()
            .map(|atom| {
                atom.links()
                    .iter()
                    .map(|l| (l.rel.clone(), l.href.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let element = |item: &rss::Item, name: &str| {
            item.extensions()
                .get(ORDERFLOW_PREFIX)?
                .get(name)?
                .first()?
                .value()
                .map(|v| v.trim().to_owned())
        };
        ReadFeed {
            links,
            entries: channel
                .items()
                .iter()
                .map(|item| ReadEntry {
                    id: item
                        .guid()
                        .map(|g| g.value().to_owned())
                        .or_else(|| item.link().map(str::to_owned))
                        .unwrap_or_default(),
                    updated_ms: item
                        .pub_date()
                        .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
                        .map_or(0, |d| d.timestamp_millis()),
                    position: element(item, POSITION).and_then(|p| p.parse().ok()),
                    traceparent: element(item, TRACEPARENT),
                    order_url: item.link().map(str::to_owned),
                    order: element(item, ORDER),
                })
                .collect(),
        }
    }

    fn from_json_feed(feed: JsonFeed) -> Self {
        let mut links: Vec<(String, String)> = feed
            .orderflow
            .map(|ext| ext.links.into_iter().collect())
            .unwrap_or_default();
        // A plain JSON Feed pages with `next_url` (older items): RFC 5005's prev-archive.
        if !links.iter().any(|(rel, _)| rel == "prev-archive")
            && let Some(next) = feed.next_url
        {
            links.push(("prev-archive".to_owned(), next));
        }
        ReadFeed {
            links,
            entries: feed
                .items
                .into_iter()
                .map(|item| ReadEntry {
                    updated_ms: item
                        .date_published
                        .as_deref()
                        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
                        .map_or(0, |d| d.timestamp_millis()),
                    position: item.orderflow.as_ref().map(|ext| ext.position),
                    order: item
                        .orderflow
                        .as_ref()
                        .and_then(|ext| ext.order.as_ref())
                        .map(|order| order.to_string()),
                    traceparent: item.orderflow.and_then(|ext| ext.traceparent),
                    order_url: item.url,
                    id: item.id,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FeedDocument, FeedEntry, FeedWindow, PageSize, render_as};

    const BASE: &str = "http://localhost:8080/order/";
    /// An order carried inline, with what XML must escape.
    const ORDER_7: &str = r#"{"id":7,"note":"<b> & \"c\""}"#;

    fn entries() -> Vec<FeedEntry> {
        vec![
            FeedEntry {
                position: 11,
                order_id: 7,
                updated_ms: 1_541_240_130_000,
                traceparent: Some(
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
                ),
                // Keys in order: JSON Feed carries it as an object, written back sorted.
                order: Some(ORDER_7.to_owned()),
            },
            FeedEntry {
                position: 12,
                order_id: 9,
                updated_ms: 1_541_240_131_000,
                traceparent: None,
                order: None,
            },
        ]
    }

    fn document(window: FeedWindow, entries: &[FeedEntry], format: FeedFormat) -> String {
        render_as(
            format,
            &FeedDocument {
                window,
                entries,
                base: BASE,
            },
        )
    }

    #[test]
    fn every_format_reads_back_the_same_entries_and_links() {
        let entries = entries();
        let windows = [
            FeedWindow::current(12, PageSize::new(10).unwrap()),
            FeedWindow::archive(2, 30, PageSize::new(10).unwrap()).unwrap(),
        ];
        for window in windows {
            let atom = ReadFeed::read(
                FeedFormat::Atom,
                document(window, &entries, FeedFormat::Atom).as_bytes(),
            )
            .unwrap();
            assert_eq!(atom.entries.len(), 2);
            assert_eq!(
                atom.entries[0].order_url.as_deref(),
                Some("http://localhost:8080/order/order/7")
            );
            assert_eq!(atom.entries[0].order.as_deref(), Some(ORDER_7));
            assert_eq!(atom.entries[1].order, None);
            for format in [FeedFormat::JsonFeed, FeedFormat::Rss] {
                let text = document(window, &entries, format);
                let mut read = ReadFeed::read(format, text.as_bytes()).unwrap();
                // Newest first in these two formats; the poller orders by position.
                read.entries.sort_by_key(|e| e.position);
                assert_eq!(read.entries, atom.entries, "{format}: {text}");
                let mut links = read.links.clone();
                let mut expected = atom.links.clone();
                links.sort();
                expected.sort();
                assert_eq!(links, expected, "{format}: {text}");
            }
        }
    }

    #[test]
    fn the_json_feed_is_valid_json_feed_1_1_to_an_independent_validator_and_reader() {
        let entries = entries();
        let window = FeedWindow::current(12, PageSize::new(1).unwrap());
        let text = document(window, &entries, FeedFormat::JsonFeed);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let feed = json_feed_model::from_str(&text).unwrap();
        assert!(
            feed.is_valid(&json_feed_model::Version::Version1_1),
            "{text}"
        );
        assert_eq!(
            value["next_url"],
            value["_orderflow"]["links"]["prev-archive"]
        );
        let parsed = feed_rs::parser::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.feed_type, feed_rs::model::FeedType::JSON);
        assert_eq!(parsed.entries.len(), 2);
        assert_eq!(parsed.title.unwrap().content, "Order");
    }

    #[test]
    fn the_rss_is_rss_2_0_with_rfc_5005_links_to_an_independent_reader() {
        let entries = entries();
        let window = FeedWindow::archive(2, 30, PageSize::new(10).unwrap()).unwrap();
        let text = document(window, &entries, FeedFormat::Rss);
        let parsed = feed_rs::parser::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.feed_type, feed_rs::model::FeedType::RSS2);
        assert_eq!(parsed.entries.len(), 2);
        assert!(
            parsed
                .links
                .iter()
                .any(|l| l.rel.as_deref() == Some("prev-archive")),
            "{text}"
        );
        let xml = roxmltree::Document::parse(&text).unwrap();
        let archive = xml
            .descendants()
            .find(|n| n.tag_name().name() == "archive")
            .expect("fh:archive on an archive page");
        assert_eq!(
            archive.tag_name().namespace(),
            Some(crate::render::HISTORY_NAMESPACE)
        );
        let positions: Vec<&str> = xml
            .descendants()
            .filter(|n| n.tag_name().name() == "position")
            .filter(|n| n.tag_name().namespace() == Some(crate::render::ORDERFLOW_NAMESPACE))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(positions, ["12", "11"]);
    }

    #[test]
    fn a_document_that_is_not_its_format_says_so() {
        for format in FeedFormat::ALL {
            assert!(ReadFeed::read(format, b"{not a feed").is_err(), "{format}");
        }
        // A JSON Feed without orderflow's extension still pages by `next_url`.
        let plain = br#"{"version":"https://jsonfeed.org/version/1.1","title":"t","next_url":"http://x/2","items":[{"id":"1","url":"http://x/order/1"}]}"#;
        let read = ReadFeed::read(FeedFormat::JsonFeed, plain).unwrap();
        assert_eq!(read.link("prev-archive"), Some("http://x/2"));
        assert_eq!(read.entries[0].position, None);
    }
}
