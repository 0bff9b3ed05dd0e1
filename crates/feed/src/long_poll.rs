//! Long polling, the http-feeds way over standard headers: a reader that says how long it is
//! ready to wait (RFC 7240's `Prefer: wait=<seconds>`) and which document it has
//! (`If-None-Match`) gets the next document as soon as it differs, or 304 once the wait is over.
//! The server says it waited with `Preference-Applied: wait=<seconds>`; a server that does not
//! (the originals') answers at once, and the reader falls back to its poll interval.
//!
//! Readers that send neither header (the originals' pollers, every 30 s) see no change at all.

use std::time::Duration;

/// The request header (RFC 7240).
pub const PREFER: &str = "prefer";
/// The response header saying the preference was honoured (RFC 7240 section 3).
pub const PREFERENCE_APPLIED: &str = "preference-applied";

/// The longest wait a server grants, whatever the reader asks: a request held longer would
/// outlive proxies' idle timeouts and delay a shutdown.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// The `wait` preference of a `Prefer` header, capped at [`MAX_WAIT`]; `None` when there is
/// none or it is not a whole number of seconds (a preference the server does not understand is
/// ignored, RFC 7240 section 2).
pub fn preferred_wait(prefer: Option<&str>) -> Option<Duration> {
    prefer?
        .split(',')
        .filter_map(|preference| {
            let (name, value) = preference.split(';').next()?.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("wait")
                .then(|| value.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        })
        .next()
        .map(|secs| Duration::from_secs(secs).min(MAX_WAIT))
}

/// The `Prefer` header a reader sends to wait up to `wait`.
pub fn prefer_wait(wait: Duration) -> String {
    format!("wait={}", wait.as_secs().max(1))
}

/// The `Preference-Applied` header of a server that waited up to `wait`.
pub fn wait_applied(wait: Duration) -> String {
    format!("wait={}", wait.as_secs())
}

/// Whether a response says the server honoured a `wait` preference.
pub fn waited(preference_applied: Option<&str>) -> bool {
    preferred_wait(preference_applied).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_preference_is_read_among_others_and_capped() {
        assert_eq!(
            preferred_wait(Some("wait=10")),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            preferred_wait(Some("respond-async, Wait = \"5\"")),
            Some(Duration::from_secs(5))
        );
        assert_eq!(preferred_wait(Some("wait=3600")), Some(MAX_WAIT));
        assert_eq!(preferred_wait(Some("return=minimal")), None);
        assert_eq!(preferred_wait(Some("wait=soon")), None);
        assert_eq!(preferred_wait(Some("wait=-1")), None);
        assert_eq!(preferred_wait(None), None);
        assert!(waited(Some(&wait_applied(Duration::from_secs(20)))));
        assert!(!waited(None));
        assert_eq!(prefer_wait(Duration::from_millis(500)), "wait=1");
    }
}
