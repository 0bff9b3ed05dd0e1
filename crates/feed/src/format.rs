//! The three shapes of one feed: Atom (the contract's, and the default), JSON Feed 1.1 and
//! RSS 2.0, chosen by the reader's `Accept` header. Each has the same entries, positions, RFC
//! 5005 links and validators.

/// A feed format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedFormat {
    /// Atom 1.0 (`application/atom+xml`): what the originals serve and read.
    Atom,
    /// JSON Feed 1.1 (`application/feed+json`).
    JsonFeed,
    /// RSS 2.0 (`application/rss+xml`).
    Rss,
}

impl FeedFormat {
    pub const ALL: [FeedFormat; 3] = [FeedFormat::Atom, FeedFormat::JsonFeed, FeedFormat::Rss];

    /// The media type a document of this format is served as.
    pub fn media_type(self) -> &'static str {
        match self {
            FeedFormat::Atom => "application/atom+xml",
            FeedFormat::JsonFeed => "application/feed+json",
            FeedFormat::Rss => "application/rss+xml",
        }
    }

    /// The `Content-Type` header of a document.
    pub fn content_type(self) -> &'static str {
        match self {
            FeedFormat::Atom => "application/atom+xml; charset=utf-8",
            FeedFormat::JsonFeed => "application/feed+json; charset=utf-8",
            FeedFormat::Rss => "application/rss+xml; charset=utf-8",
        }
    }

    /// The format a `Content-Type` names, if any (a served document says what it is).
    pub fn of_content_type(content_type: &str) -> Option<FeedFormat> {
        let media = content_type.split(';').next()?.trim().to_ascii_lowercase();
        match media.as_str() {
            "application/atom+xml" => Some(FeedFormat::Atom),
            "application/feed+json" | "application/json" => Some(FeedFormat::JsonFeed),
            "application/rss+xml" => Some(FeedFormat::Rss),
            _ => None,
        }
    }

    /// What a reader asks for: the format of the most preferred media type of `Accept` that
    /// is one of ours (`q` weights honoured; the first wins a tie), Atom when it names none
    /// (no `Accept`, `*/*`, or anything else: the originals' pollers send what they like).
    pub fn negotiate(accept: Option<&str>) -> FeedFormat {
        let Some(accept) = accept else {
            return FeedFormat::Atom;
        };
        let mut best: Option<(f32, FeedFormat)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let Some(format) = FeedFormat::of_content_type(media) else {
                continue;
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, format));
            }
        }
        best.map_or(FeedFormat::Atom, |(_, format)| format)
    }
}

impl std::fmt::Display for FeedFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FeedFormat::Atom => "Atom",
            FeedFormat::JsonFeed => "JSON Feed",
            FeedFormat::Rss => "RSS",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atom_unless_the_reader_prefers_another_of_ours() {
        assert_eq!(FeedFormat::negotiate(None), FeedFormat::Atom);
        assert_eq!(FeedFormat::negotiate(Some("*/*")), FeedFormat::Atom);
        assert_eq!(
            FeedFormat::negotiate(Some("application/xml, text/xml")),
            FeedFormat::Atom
        );
        assert_eq!(
            FeedFormat::negotiate(Some("application/feed+json")),
            FeedFormat::JsonFeed
        );
        assert_eq!(
            FeedFormat::negotiate(Some("application/rss+xml; charset=utf-8")),
            FeedFormat::Rss
        );
        assert_eq!(
            FeedFormat::negotiate(Some(
                "application/atom+xml;q=0.5, application/rss+xml;q=0.9, */*;q=0.1"
            )),
            FeedFormat::Rss
        );
        assert_eq!(
            FeedFormat::negotiate(Some("application/feed+json;q=0")),
            FeedFormat::Atom
        );
    }
}
