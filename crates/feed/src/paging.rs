//! Which positions each feed document holds (RFC 5005 archived feeds).

/// Entries per document, at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    pub fn new(size: u32) -> Option<Self> {
        (size > 0).then_some(PageSize(size))
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

impl Default for PageSize {
    fn default() -> Self {
        PageSize(100)
    }
}

/// The most entries the current document holds for a reader that says where it was (its
/// `If-Modified-Since`): a reader that never follows archive links, as the originals' pollers,
/// still reads everything newer than its last document, unless it is further behind than this.
pub const CATCH_UP_LIMIT: i64 = 10_000;

/// The positions of one document, `first..=last` (empty when `last < first`), and its links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedWindow {
    pub first: i64,
    pub last: i64,
    /// The archive page this document is; `None` for the current document.
    pub page: Option<i64>,
    /// The archive page with older entries.
    pub prev_archive: Option<i64>,
    /// The archive page with newer entries. Always page + 1 on an archive page (so that the page
    /// never changes once complete; while page + 1 is incomplete its URL leads to the current
    /// document); `None` on the current document.
    pub next_archive: Option<i64>,
}

impl FeedWindow {
    /// The current document when positions `1..=newest` are visible: the newest `size` entries,
    /// linked to the archive page that holds the position just before its first entry (complete,
    /// since it ends before `newest`; it may overlap this document, which readers absorb).
    pub fn current(newest: i64, size: PageSize) -> Self {
        let size = size.get();
        let first = (newest - size + 1).max(1);
        let before = first - 1;
        FeedWindow {
            first,
            last: newest,
            page: None,
            prev_archive: (before > 0).then_some((before + size - 1) / size),
            next_archive: None,
        }
    }

    /// The current document for a reader whose last document ended just before position `since`
    /// (the first position sequenced after its `If-Modified-Since`): the newest `size` entries,
    /// or every entry from `since` on when that is more, up to [`CATCH_UP_LIMIT`]; linked like
    /// [`FeedWindow::current`] to the archive page before its first entry.
    pub fn current_since(newest: i64, size: PageSize, since: Option<i64>) -> Self {
        let newest_page = Self::current(newest, size);
        let Some(since) = since else {
            return newest_page;
        };
        let first = since
            .max(newest - CATCH_UP_LIMIT + 1)
            .max(1)
            .min(newest_page.first);
        let before = first - 1;
        let size = size.get();
        FeedWindow {
            first,
            prev_archive: (before > 0).then_some((before + size - 1) / size),
            ..newest_page
        }
    }

    /// Archive page `page` (1-based), or `None` while it is not complete (it would still change).
    pub fn archive(page: i64, newest: i64, size: PageSize) -> Option<Self> {
        let size = size.get();
        let last = page.checked_mul(size)?;
        if page < 1 || last > newest {
            return None;
        }
        Some(FeedWindow {
            first: last - size + 1,
            last,
            page: Some(page),
            prev_archive: (page > 1).then_some(page - 1),
            next_archive: Some(page + 1),
        })
    }

    /// Whether `page` is the one being filled: not an archive yet, its URL leads to the current
    /// document.
    pub fn is_filling(page: i64, newest: i64, size: PageSize) -> bool {
        page >= 1 && page == newest / size.get() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(n: u32) -> PageSize {
        PageSize::new(n).unwrap()
    }

    #[test]
    fn the_current_document_holds_the_newest_entries_and_links_the_newest_older_archive() {
        assert_eq!(
            FeedWindow::current(0, size(10)),
            FeedWindow {
                first: 1,
                last: 0,
                page: None,
                prev_archive: None,
                next_archive: None
            }
        );
        assert_eq!(FeedWindow::current(7, size(10)).prev_archive, None);
        let current = FeedWindow::current(25, size(10));
        assert_eq!(
            (current.first, current.last, current.prev_archive),
            (16, 25, Some(2))
        );
        let current = FeedWindow::current(30, size(10));
        assert_eq!(
            (current.first, current.last, current.prev_archive),
            (21, 30, Some(2))
        );
    }

    #[test]
    fn a_reader_that_says_where_it_was_gets_everything_since_up_to_the_limit() {
        // Not further behind than a page: the newest page, as for everyone.
        assert_eq!(
            FeedWindow::current_since(25, size(10), Some(20)),
            FeedWindow::current(25, size(10))
        );
        assert_eq!(
            FeedWindow::current_since(25, size(10), None),
            FeedWindow::current(25, size(10))
        );
        // Further behind: from where it was, linked to the archive before that.
        let window = FeedWindow::current_since(25, size(10), Some(4));
        assert_eq!(
            (window.first, window.last, window.prev_archive),
            (4, 25, Some(1))
        );
        let window = FeedWindow::current_since(25, size(10), Some(1));
        assert_eq!((window.first, window.prev_archive), (1, None));
        // Never more than the limit.
        let newest = CATCH_UP_LIMIT + 500;
        let window = FeedWindow::current_since(newest, size(100), Some(1));
        assert_eq!(window.last - window.first + 1, CATCH_UP_LIMIT);
        assert_eq!(window.prev_archive, Some(5));
        assert!(FeedWindow::archive(5, newest, size(100)).is_some());
    }

    #[test]
    fn archive_pages_exist_once_complete_and_link_both_ways() {
        assert_eq!(
            FeedWindow::archive(3, 25, size(10)),
            None,
            "page 3 is not complete"
        );
        assert_eq!(FeedWindow::archive(0, 25, size(10)), None);
        let page = FeedWindow::archive(2, 25, size(10)).unwrap();
        assert_eq!(
            (page.first, page.last, page.prev_archive, page.next_archive),
            (11, 20, Some(1), Some(3))
        );
        assert!(FeedWindow::is_filling(3, 25, size(10)));
        assert!(
            !FeedWindow::is_filling(4, 25, size(10)) && !FeedWindow::is_filling(2, 25, size(10))
        );
        let page = FeedWindow::archive(1, 25, size(10)).unwrap();
        assert_eq!((page.prev_archive, page.next_archive), (None, Some(2)));
    }

    #[test]
    fn walking_prev_archive_from_the_current_document_reaches_every_position() {
        for newest in 0..60 {
            let mut seen = std::collections::BTreeSet::new();
            let mut window = FeedWindow::current(newest, size(7));
            loop {
                seen.extend(window.first..=window.last);
                match window.prev_archive {
                    Some(page) => window = FeedWindow::archive(page, newest, size(7)).unwrap(),
                    None => break,
                }
            }
            assert_eq!(seen, (1..=newest).collect(), "newest {newest}");
        }
    }
}
