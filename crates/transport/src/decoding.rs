//! Reading a record's value as an order, whatever encoding its producer chose: the contract's
//! JSON, or Avro in the single-object encoding of any schema version whose writer schema can be
//! found. One decoder for every transport, so that no consumer forks on the encoding.

use std::sync::Arc;

use base64::Engine as _;
use orderflow_events::avro::{self, Fingerprint, SchemaVersion, WriterSchema};
use orderflow_events::wire::{Framing, frame};

use crate::Content;

/// Writer schemas a reader can find by fingerprint: those it was built with, and (a Kafka
/// consumer) those producers published on the schema topic.
pub trait WriterSchemas: Send + Sync {
    fn writer_schema(&self, fingerprint: Fingerprint) -> Option<Arc<WriterSchema>>;
}

/// A reader that knows only the schema it reads into.
impl WriterSchemas for SchemaVersion {
    fn writer_schema(&self, fingerprint: Fingerprint) -> Option<Arc<WriterSchema>> {
        let own = self.schema();
        (own.fingerprint() == fingerprint).then(|| Arc::new(own.clone()))
    }
}

/// A record read as an order, and how it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub content: Content,
    /// `json`, `avro v2`, `avro 9b3c…` (a schema that names no version), `unknown`.
    pub encoding: String,
}

/// Reads record values into orders of one schema version.
#[derive(Clone)]
pub struct Decoder {
    schemas: Arc<dyn WriterSchemas>,
    reader: SchemaVersion,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// Reads into `reader`'s version, finding writer schemas in `schemas`.
    pub fn new(schemas: Arc<dyn WriterSchemas>, reader: SchemaVersion) -> Self {
        Decoder { schemas, reader }
    }

    /// A decoder for JSON and for Avro written with `reader`'s own schema only.
    pub fn own_schema_only(reader: SchemaVersion) -> Self {
        Decoder::new(Arc::new(reader), reader)
    }

    pub fn reader(&self) -> SchemaVersion {
        self.reader
    }

    /// The order in `value` (a record with this `content-type`), `Unreadable` with why when
    /// it is none (parked), or `Unresolved` when its writer schema is not known yet (retried).
    pub fn decode(&self, content_type: Option<&str>, value: &[u8]) -> Decoded {
        match frame(content_type, value) {
            Framing::Json(json) => Decoded {
                content: Content::from_json(json),
                encoding: "json".to_owned(),
            },
            Framing::Avro { fingerprint, datum } => {
                let Some(writer) = self.schemas.writer_schema(fingerprint) else {
                    return Decoded {
                        content: Content::Unresolved {
                            fingerprint,
                            error: format!(
                                "the Avro writer schema {fingerprint} is not known (yet): it was not found on the schema topic"
                            ),
                        },
                        encoding: format!("avro {fingerprint}"),
                    };
                };
                let content = match avro::decode(&writer, datum, self.reader) {
                    Ok(order) => Content::Order(Box::new(order)),
                    Err(error) => Content::Unreadable {
                        payload: Some(binary_payload(value)),
                        error: format!(
                            "not an order record: {} datum does not decode: {error}",
                            writer.label()
                        ),
                    },
                };
                Decoded {
                    content,
                    encoding: writer.label(),
                }
            }
            Framing::Unsupported(why) => Decoded {
                content: Content::Unreadable {
                    payload: Some(match std::str::from_utf8(value) {
                        Ok(text) => text.to_owned(),
                        Err(_) => binary_payload(value),
                    }),
                    error: format!(
                        "not an order record: {why} (content-type {})",
                        content_type.unwrap_or("none")
                    ),
                },
                encoding: "unknown".to_owned(),
            },
        }
    }
}

/// A binary value, kept as text for a parked event's list: `base64:` and its bytes.
pub fn binary_payload(value: &[u8]) -> String {
    format!(
        "base64:{}",
        base64::engine::general_purpose::STANDARD.encode(value)
    )
}

#[cfg(test)]
mod tests {
    use orderflow_events::wire::{AVRO_CONTENT_TYPE, JSON_CONTENT_TYPE, RecordEncoding};

    use super::*;

    const ORIGINAL: &[u8] =
        include_bytes!("../../events/fixtures/order-record-original-producer.json");

    fn order() -> orderflow_events::OrderPlaced {
        orderflow_events::OrderPlaced::from_json(ORIGINAL).unwrap()
    }

    #[test]
    fn reads_json_with_or_without_a_content_type() {
        let decoder = Decoder::own_schema_only(SchemaVersion::V2);
        for content_type in [None, Some(JSON_CONTENT_TYPE)] {
            let decoded = decoder.decode(content_type, ORIGINAL);
            assert_eq!(decoded.content, Content::Order(Box::new(order())));
            assert_eq!(decoded.encoding, "json");
        }
    }

    #[test]
    fn reads_avro_of_a_known_writer_schema_and_waits_for_an_unknown_one() {
        let v2 = RecordEncoding::avro(SchemaVersion::V2)
            .encode(&order())
            .unwrap();
        let v1 = RecordEncoding::avro(SchemaVersion::V1)
            .encode(&order())
            .unwrap();
        let decoder = Decoder::own_schema_only(SchemaVersion::V2);
        let decoded = decoder.decode(Some(AVRO_CONTENT_TYPE), &v2);
        assert_eq!(decoded.content, Content::Order(Box::new(order())));
        assert_eq!(decoded.encoding, "avro v2");

        let unknown = decoder.decode(Some(AVRO_CONTENT_TYPE), &v1);
        let v1_fingerprint = SchemaVersion::V1.schema().fingerprint();
        assert!(matches!(
            unknown.content,
            Content::Unresolved { fingerprint, .. } if fingerprint == v1_fingerprint
        ));
        assert_eq!(unknown.encoding, format!("avro {v1_fingerprint}"));
    }

    #[test]
    fn a_garbled_datum_and_an_unknown_content_type_are_unreadable_with_why() {
        let mut garbled = RecordEncoding::avro(SchemaVersion::V2)
            .encode(&order())
            .unwrap();
        garbled.truncate(20);
        let decoded = Decoder::own_schema_only(SchemaVersion::V2).decode(None, &garbled);
        let Content::Unreadable { payload, error } = decoded.content else {
            panic!("{decoded:?}");
        };
        assert!(error.contains("avro v2 datum does not decode"), "{error}");
        assert!(payload.unwrap().starts_with("base64:w"));

        let decoded =
            Decoder::own_schema_only(SchemaVersion::V2).decode(Some("text/plain"), b"hello");
        assert!(
            matches!(&decoded.content, Content::Unreadable { payload: Some(p), error } if p == "hello" && error.contains("text/plain")),
            "{decoded:?}"
        );
        assert_eq!(decoded.encoding, "unknown");
    }
}
