//! The time of an order. The original producer writes epoch milliseconds; the original
//! consumers' test fixtures write ISO-8601 with a `+0000` offset. We write the former and read both.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct EpochMillis(pub i64);

impl EpochMillis {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_datetime(at: OffsetDateTime) -> Self {
        EpochMillis((at.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Reads the ISO-8601 forms Java writes: RFC 3339 (`Z` or `+00:00`), Jackson's default
    /// `+0000`, with or without fractional seconds, and a local time without offset (taken as UTC).
    pub fn parse_iso8601(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
            return Some(Self::from_datetime(at));
        }
        let with_offset = format_description!(
            version = 2,
            "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory][optional [:]][offset_minute]"
        );
        if let Ok(at) = OffsetDateTime::parse(text, &with_offset) {
            return Some(Self::from_datetime(at));
        }
        let local = format_description!(
            version = 2,
            "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        PrimitiveDateTime::parse(text, &local)
            .ok()
            .map(|at| Self::from_datetime(at.assume_utc()))
    }
}

impl<'de> Deserialize<'de> for EpochMillis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EpochMillisVisitor;

        impl Visitor<'_> for EpochMillisVisitor {
            type Value = EpochMillis;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("epoch milliseconds or an ISO-8601 date-time")
            }

            fn visit_i64<E: de::Error>(self, millis: i64) -> Result<EpochMillis, E> {
                Ok(EpochMillis(millis))
            }

            fn visit_u64<E: de::Error>(self, millis: u64) -> Result<EpochMillis, E> {
                i64::try_from(millis)
                    .map(EpochMillis)
                    .map_err(|_| E::custom("epoch milliseconds out of range"))
            }

            fn visit_f64<E: de::Error>(self, millis: f64) -> Result<EpochMillis, E> {
                if millis.is_finite() && millis.abs() < 9.0e15 {
                    Ok(EpochMillis(millis as i64))
                } else {
                    Err(E::custom("epoch milliseconds out of range"))
                }
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<EpochMillis, E> {
                EpochMillis::parse_iso8601(text)
                    .ok_or_else(|| E::custom(format!("`{text}` is not an ISO-8601 date-time")))
            }
        }

        deserializer.deserialize_any(EpochMillisVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APRIL_20_2017_15_42_12_351: i64 = 1_492_702_932_351;

    #[test]
    fn reads_the_forms_java_writes() {
        for text in [
            "2017-04-20T15:42:12.351+0000",
            "2017-04-20T15:42:12.351+00:00",
            "2017-04-20T15:42:12.351Z",
            "2017-04-20T17:42:12.351+0200",
            "2017-04-20T15:42:12.351",
        ] {
            assert_eq!(
                EpochMillis::parse_iso8601(text),
                Some(EpochMillis(APRIL_20_2017_15_42_12_351)),
                "{text}"
            );
        }
        assert_eq!(
            EpochMillis::parse_iso8601("2017-04-20T15:42:12+0000"),
            Some(EpochMillis(APRIL_20_2017_15_42_12_351 - 351))
        );
    }

    #[test]
    fn rejects_what_is_no_date() {
        assert_eq!(EpochMillis::parse_iso8601("yesterday"), None);
        assert!(serde_json::from_str::<EpochMillis>("true").is_err());
    }

    #[test]
    fn writes_epoch_milliseconds() {
        assert_eq!(
            serde_json::to_string(&EpochMillis(1685092812351)).unwrap(),
            "1685092812351"
        );
        assert_eq!(
            serde_json::from_str::<EpochMillis>("1685092812351")
                .unwrap()
                .0,
            1685092812351
        );
    }
}
