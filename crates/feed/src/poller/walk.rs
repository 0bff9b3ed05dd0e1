//! From the current document back through `prev-archive` pages to the stored position: which
//! entries a poll has to apply.

use reqwest::Url;

use super::fetch::{Document, Fetched};
use super::{PollError, Poller};
use crate::ReadEntry as Entry;

/// The entries a poll applies, and in what order.
pub(super) enum Walked {
    /// Our feed: entries after the stored position, by ascending position, each with the URL of
    /// the document it was in (to resolve its relative links).
    Positioned(Vec<(i64, Entry, Url)>),
    /// A feed without positions (the originals'): every entry of the current document, oldest
    /// first, applied idempotently.
    Unpositioned(Vec<(Entry, Url)>),
}

impl Poller {
    /// Walks back from `current` until the entries cover everything after `position`.
    pub(super) async fn walk_back(
        &self,
        current: Document,
        position: i64,
    ) -> Result<Walked, PollError> {
        let mut entries = entries_of(&current);
        // A feed with positions (ours) says how far back to go; an empty current document with
        // a `prev-archive` link is one too (every newest order deleted).
        let positioned = if entries.is_empty() {
            current.link("prev-archive").is_some()
        } else {
            entries.iter().all(|(p, _, _)| p.is_some())
        };
        if !positioned {
            let mut entries: Vec<(Entry, Url)> =
                entries.into_iter().map(|(_, e, url)| (e, url)).collect();
            entries.sort_by_key(|(entry, _)| entry.updated_ms);
            return Ok(Walked::Unpositioned(entries));
        }
        let mut document = current;
        let mut oldest = oldest_of(&entries);
        while oldest > position + 1 {
            let Some(previous) = document.link("prev-archive") else {
                break;
            };
            document = match self.fetch(previous.clone(), None, None).await? {
                Fetched::Document(document, _) => *document,
                Fetched::NotModified => break,
            };
            let older = entries_of(&document);
            let older_oldest = oldest_of(&older);
            if older.iter().any(|(p, _, _)| p.is_none())
                || (older_oldest >= oldest && !older.is_empty())
            {
                // Entries without positions, or an archive that does not go back: not our feed's
                // shape; stop rather than loop or guess.
                return Err(PollError::BadArchive {
                    url: previous.to_string(),
                });
            }
            oldest = oldest.min(older_oldest);
            entries.extend(older);
        }
        let mut pending: Vec<(i64, Entry, Url)> = entries
            .into_iter()
            .filter_map(|(p, entry, url)| p.filter(|p| *p > position).map(|p| (p, entry, url)))
            .collect();
        pending.sort_by_key(|(p, _, _)| *p);
        pending.dedup_by_key(|(p, _, _)| *p);
        Ok(Walked::Positioned(pending))
    }
}

fn entries_of(document: &Document) -> Vec<(Option<i64>, Entry, Url)> {
    document
        .feed
        .entries
        .iter()
        .map(|e| (e.position, e.clone(), document.url.clone()))
        .collect()
}

/// The smallest position among `entries`; `i64::MAX` when none has one.
fn oldest_of(entries: &[(Option<i64>, Entry, Url)]) -> i64 {
    entries
        .iter()
        .filter_map(|(p, _, _)| *p)
        .min()
        .unwrap_or(i64::MAX)
}
