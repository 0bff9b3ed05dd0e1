//! HTTP caching for feed documents: strong ETags, `Last-Modified`, and when to answer 304.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The validators of one representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// A strong entity tag, quoted: a hash of the exact bytes, so equal tags mean equal bytes.
    pub etag: String,
    /// Whole seconds since the epoch, as HTTP dates have them.
    pub last_modified_secs: u64,
}

impl Validators {
    pub fn new(body: &[u8], last_modified_ms: i64) -> Self {
        Validators {
            etag: format!("\"{:016x}\"", fnv1a(body)),
            last_modified_secs: u64::try_from(last_modified_ms.max(0) / 1000).unwrap_or(0),
        }
    }

    /// `Last-Modified` as an HTTP date.
    pub fn last_modified(&self) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(self.last_modified_secs))
    }

    /// Whether a request with these conditional headers may get 304 Not Modified
    /// (RFC 9110 section 13.2.2: `If-None-Match` decides when present; `If-Modified-Since`
    /// only without it).
    pub fn not_modified(
        &self,
        if_none_match: Option<&str>,
        if_modified_since: Option<&str>,
    ) -> bool {
        if let Some(tags) = if_none_match {
            return tags
                .split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.trim_start_matches("W/") == self.etag);
        }
        match if_modified_since.and_then(|date| httpdate::parse_http_date(date.trim()).ok()) {
            Some(since) => {
                let since = since
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                self.last_modified_secs <= since
            }
            None => false,
        }
    }
}

/// Where a reader's last document ended, from its `If-Modified-Since`: every entry sequenced
/// from the returned time (epoch milliseconds: the second after that date) on is newer than
/// what it saw, because a document shows everything sequenced before its cut-off second, and its
/// `Last-Modified` is the second of its newest entry. `None` without a readable date.
pub fn newer_than(if_modified_since: Option<&str>) -> Option<i64> {
    let since = httpdate::parse_http_date(if_modified_since?.trim()).ok()?;
    let secs = since.duration_since(UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()?.checked_add(1)?.checked_mul(1000)
}

/// The start of the current second, epoch milliseconds. A feed document shows only what was
/// sequenced before it, so it changes only on whole seconds and a `Last-Modified` date (whole
/// seconds) always moves when the content does.
pub fn visibility_cutoff_ms(now: SystemTime) -> i64 {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    i64::try_from(secs).unwrap_or(i64::MAX / 1000) * 1000
}

/// FNV-1a, 64 bits: small, stable across builds and platforms, enough to tell documents apart.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_s_last_document_ended_at_the_second_after_its_date() {
        assert_eq!(
            newer_than(Some("Thu, 01 Jan 1970 00:00:10 GMT")),
            Some(11_000)
        );
        assert_eq!(newer_than(Some("yesterday")), None);
        assert_eq!(newer_than(None), None);
    }

    #[test]
    fn equal_bytes_give_equal_strong_tags_and_different_bytes_different_ones() {
        let a = Validators::new(b"<feed/>", 1_000);
        assert_eq!(a, Validators::new(b"<feed/>", 1_999));
        assert_ne!(a.etag, Validators::new(b"<feed />", 1_000).etag);
        assert!(a.etag.starts_with('"') && !a.etag.starts_with("W/"));
    }

    #[test]
    fn if_none_match_decides_when_present() {
        let v = Validators::new(b"x", 5_000);
        assert!(v.not_modified(Some(&v.etag), None));
        assert!(v.not_modified(Some(&format!("\"other\", {}", v.etag)), None));
        assert!(v.not_modified(Some("*"), None));
        // A matching date does not help when the tag differs.
        assert!(!v.not_modified(Some("\"other\""), Some(&v.last_modified())));
    }

    #[test]
    fn if_modified_since_compares_whole_seconds() {
        let v = Validators::new(b"x", 5_500);
        assert_eq!(v.last_modified(), "Thu, 01 Jan 1970 00:00:05 GMT");
        assert!(v.not_modified(None, Some("Thu, 01 Jan 1970 00:00:05 GMT")));
        assert!(v.not_modified(None, Some("Thu, 01 Jan 1970 00:00:06 GMT")));
        assert!(!v.not_modified(None, Some("Thu, 01 Jan 1970 00:00:04 GMT")));
        assert!(!v.not_modified(None, Some("yesterday")));
        assert!(!v.not_modified(None, None));
    }
}
