//! How an order record is written on a topic: JSON (the contract's, which the originals read)
//! or Avro (the single-object encoding of a schema version), and how a reader tells them apart:
//! by the record's content type and the single-object marker, never by trying a parser and
//! guessing from its error.

use crate::OrderPlaced;
use crate::avro::{self, AvroError, Fingerprint, SchemaVersion, WriterSchema};

/// The content type of a JSON record.
pub const JSON_CONTENT_TYPE: &str = "application/json";
/// The content type of an Avro record in the single-object encoding.
pub const AVRO_CONTENT_TYPE: &str = "application/avro";

/// The two encodings of the order record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    Avro,
}

/// How a producer writes order records: a format and a schema version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordEncoding {
    pub format: Format,
    pub version: SchemaVersion,
}

impl Default for RecordEncoding {
    /// The contract's JSON record, which the original consumers read.
    fn default() -> Self {
        RecordEncoding::JSON
    }
}

impl RecordEncoding {
    /// The contract's JSON record (version 1).
    pub const JSON: RecordEncoding = RecordEncoding {
        format: Format::Json,
        version: SchemaVersion::V1,
    };

    pub fn avro(version: SchemaVersion) -> Self {
        RecordEncoding {
            format: Format::Avro,
            version,
        }
    }

    /// The record's `content-type` header.
    pub fn content_type(&self) -> &'static str {
        match self.format {
            Format::Json => JSON_CONTENT_TYPE,
            Format::Avro => AVRO_CONTENT_TYPE,
        }
    }

    /// The schema records are written with, which readers must be able to find (Avro only).
    pub fn writer_schema(&self) -> Option<&'static WriterSchema> {
        match self.format {
            Format::Json => None,
            Format::Avro => Some(self.version.schema()),
        }
    }

    /// `order` as a record value. JSON of version 1 is the contract's record exactly; of
    /// version 2 it also carries the items' categories (tolerant readers ignore them).
    pub fn encode(&self, order: &OrderPlaced) -> Result<Vec<u8>, AvroError> {
        match (self.format, self.version) {
            (Format::Json, SchemaVersion::V1) => Ok(order.to_contract_json().into_bytes()),
            (Format::Json, _) => Ok(order.to_json().into_bytes()),
            (Format::Avro, version) => avro::encode(order, version),
        }
    }

    /// `json`, `json v2`, `avro v1`: for logs and pages.
    pub fn label(&self) -> String {
        match (self.format, self.version) {
            (Format::Json, SchemaVersion::V1) => "json".to_owned(),
            (Format::Json, version) => format!("json {version}"),
            (Format::Avro, version) => format!("avro {version}"),
        }
    }
}

/// What a record's framing says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing<'a> {
    /// JSON: the whole value.
    Json(&'a [u8]),
    /// The single-object encoding: the writer schema's fingerprint and the datum.
    Avro {
        fingerprint: Fingerprint,
        datum: &'a [u8],
    },
    /// Neither: why.
    Unsupported(&'static str),
}

/// Tells a record's encoding from its `content-type` header and its first bytes.
///
/// A content type decides when there is one (`application/json` or any `+json`, and
/// `application/avro` or `avro/binary`, which must then start with the single-object marker);
/// without one (the original Java producer sends none), a value that starts with the marker is
/// Avro (no JSON text can start with the byte 0xC3) and anything else is JSON.
pub fn frame<'a>(content_type: Option<&str>, value: &'a [u8]) -> Framing<'a> {
    let media_type = content_type.map(|c| {
        c.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let avro = || match avro::split_single_object(value) {
        Some((fingerprint, datum)) => Framing::Avro { fingerprint, datum },
        None => Framing::Unsupported(
            "the content type says Avro but the value does not start with the single-object marker C3 01",
        ),
    };
    match media_type.as_deref() {
        None | Some("") => match avro::split_single_object(value) {
            Some((fingerprint, datum)) => Framing::Avro { fingerprint, datum },
            None => Framing::Json(value),
        },
        Some("application/json" | "text/json") => Framing::Json(value),
        Some(json) if json.ends_with("+json") => Framing::Json(value),
        Some("application/avro" | "avro/binary") => avro(),
        Some(_) => Framing::Unsupported(
            "unsupported content type (orderflow reads application/json and application/avro)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_type_decides_and_the_marker_must_match_it() {
        let avro = [0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 42];
        let json = br#"{"id":1}"#;
        assert_eq!(frame(Some("application/json"), json), Framing::Json(json));
        assert_eq!(
            frame(Some("application/json; charset=utf-8"), json),
            Framing::Json(json)
        );
        assert_eq!(
            frame(Some("application/cloudevents+json"), json),
            Framing::Json(json)
        );
        assert!(matches!(
            frame(Some("application/avro"), &avro),
            Framing::Avro { fingerprint, datum: [42] } if fingerprint.0 == [1, 2, 3, 4, 5, 6, 7, 8]
        ));
        assert!(matches!(
            frame(Some("application/avro"), json),
            Framing::Unsupported(why) if why.contains("C3 01")
        ));
        // A JSON content type is JSON whatever the bytes: a broken JSON record is parked as
        // such, not read as Avro.
        assert_eq!(frame(Some("application/json"), &avro), Framing::Json(&avro));
        assert!(matches!(
            frame(Some("text/plain"), json),
            Framing::Unsupported(_)
        ));
    }

    #[test]
    fn without_a_content_type_the_marker_decides() {
        let avro = [0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8];
        assert!(matches!(
            frame(None, &avro),
            Framing::Avro { datum: [], .. }
        ));
        assert_eq!(frame(None, b"not json"), Framing::Json(b"not json"));
        // Too short to hold a fingerprint: not the single-object encoding.
        assert_eq!(frame(None, &avro[..5]), Framing::Json(&avro[..5]));
    }

    #[test]
    fn json_version_1_is_the_contract_record_and_version_2_adds_categories() {
        let mut order = OrderPlaced::from_json(include_bytes!(
            "../fixtures/order-record-original-producer.json"
        ))
        .unwrap();
        order.order_line[0].item.category = Some("Music players".into());
        let v1 = String::from_utf8(RecordEncoding::JSON.encode(&order).unwrap()).unwrap();
        assert!(!v1.contains("category"));
        let v2 = RecordEncoding {
            format: Format::Json,
            version: SchemaVersion::V2,
        };
        let v2 = String::from_utf8(v2.encode(&order).unwrap()).unwrap();
        assert!(v2.contains(r#""category":"Music players""#));
    }
}
