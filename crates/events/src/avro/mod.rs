//! The order record in Avro: the schema versions (`schemas/*.avsc`), the Avro specification's
//! single-object encoding (the marker `C3 01`, the writer schema's 8-byte CRC-64-AVRO
//! fingerprint, then the binary datum), and decoding with any writer schema into a reader
//! version by Avro schema resolution, so that old records stay readable after the schema
//! changed and old readers can read new records.
//!
//! Pure: which writer schema a fingerprint names is the caller's to find (a Kafka consumer looks
//! it up on the compacted `order.schemas` topic, where producers publish what they write with).

mod fingerprint;
mod value;

use std::sync::LazyLock;

use apache_avro::Schema;
use apache_avro::headers::{HeaderBuilder, RabinFingerprintHeader};
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;

use crate::OrderPlaced;

pub use fingerprint::Fingerprint;

/// The single-object encoding's marker: the first two bytes of every Avro record we write.
pub const SINGLE_OBJECT_MARKER: [u8; 2] = [0xC3, 0x01];

/// Marker and fingerprint: what precedes the datum.
const HEADER_LENGTH: usize = 10;

/// The custom schema attribute that says which version of the order schema a schema is; the
/// fingerprint ignores it (it is not part of the Parsing Canonical Form).
const VERSION_ATTRIBUTE: &str = "orderflow.version";

/// The versions of the order schema, each readable by the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SchemaVersion {
    // The discriminants index tables of per-version data: 0, 1, ... in `ALL`'s order.
    /// Exactly the fields of the contract's JSON record.
    V1,
    /// Items carry their catalog `category` (a new field with a default, so version 2 reads
    /// version 1 records); the derived `numberOfLines` is dropped (version 1 declares a default
    /// for it, so version 1 reads version 2 records).
    V2,
}

impl SchemaVersion {
    /// Every version, oldest first.
    pub const ALL: [SchemaVersion; 2] = [SchemaVersion::V1, SchemaVersion::V2];
    /// The newest version: what a reader uses unless told otherwise.
    pub const LATEST: SchemaVersion = SchemaVersion::V2;

    /// `1`, `2`.
    pub fn number(self) -> u32 {
        match self {
            SchemaVersion::V1 => 1,
            SchemaVersion::V2 => 2,
        }
    }

    pub fn from_number(number: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.number() == number)
    }

    /// This version's schema, parsed once.
    pub fn schema(self) -> &'static WriterSchema {
        static V1: LazyLock<WriterSchema> = LazyLock::new(|| {
            WriterSchema::parse(include_str!("../../schemas/order-placed-v1.avsc"))
                .expect("schemas/order-placed-v1.avsc is a valid Avro schema")
        });
        static V2: LazyLock<WriterSchema> = LazyLock::new(|| {
            WriterSchema::parse(include_str!("../../schemas/order-placed-v2.avsc"))
                .expect("schemas/order-placed-v2.avsc is a valid Avro schema")
        });
        match self {
            SchemaVersion::V1 => &V1,
            SchemaVersion::V2 => &V2,
        }
    }
}

impl std::fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}", self.number())
    }
}

/// A schema records were written with: ours, or one read from the schema topic.
#[derive(Debug, Clone)]
pub struct WriterSchema {
    schema: Schema,
    /// The schema's JSON as published (with its docs and attributes).
    json: String,
    fingerprint: Fingerprint,
    /// The order schema version it declares (`orderflow.version`), if any.
    version: Option<u32>,
}

/// A schema that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("not an Avro schema: {0}")]
    Invalid(#[source] Box<apache_avro::Error>),
    #[error("the schema's fingerprint is {actual}, not {expected} as its key says")]
    WrongFingerprint {
        expected: Fingerprint,
        actual: Fingerprint,
    },
}

impl WriterSchema {
    pub fn parse(json: &str) -> Result<Self, SchemaError> {
        let schema = Schema::parse_str(json).map_err(|e| SchemaError::Invalid(Box::new(e)))?;
        let fingerprint = Fingerprint::of(&schema);
        let version = match &schema {
            Schema::Record(record) => record
                .attributes
                .get(VERSION_ATTRIBUTE)
                .and_then(serde_json::Value::as_u64)
                .and_then(|v| u32::try_from(v).ok()),
            _ => None,
        };
        Ok(WriterSchema {
            schema,
            json: json.to_owned(),
            fingerprint,
            version,
        })
    }

    /// Parses a schema published under `fingerprint`, refusing one whose fingerprint differs.
    pub fn parse_published(fingerprint: Fingerprint, json: &str) -> Result<Self, SchemaError> {
        let schema = Self::parse(json)?;
        if schema.fingerprint != fingerprint {
            return Err(SchemaError::WrongFingerprint {
                expected: fingerprint,
                actual: schema.fingerprint,
            });
        }
        Ok(schema)
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn json(&self) -> &str {
        &self.json
    }

    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The order schema version it declares, if any.
    pub fn version(&self) -> Option<u32> {
        self.version
    }

    /// `avro v2`, or `avro 9b3c…` (its fingerprint) for a schema that declares no version.
    pub fn label(&self) -> String {
        match self.version {
            Some(version) => format!("avro v{version}"),
            None => format!("avro {}", self.fingerprint),
        }
    }
}

/// Why an order could not be written or read as Avro.
#[derive(Debug, thiserror::Error)]
pub enum AvroError {
    #[error("Avro: {0}")]
    Avro(#[from] Box<apache_avro::Error>),
    #[error("not an order: {0}")]
    NotAnOrder(String),
    #[error("the datum ends {0} bytes before the record does")]
    TrailingBytes(usize),
}

impl From<apache_avro::Error> for AvroError {
    fn from(error: apache_avro::Error) -> Self {
        AvroError::Avro(Box::new(error))
    }
}

/// `order` in the single-object encoding of `version`.
pub fn encode(order: &OrderPlaced, version: SchemaVersion) -> Result<Vec<u8>, AvroError> {
    // Resolving a schema for writing costs more than writing a record: once per version.
    static WRITERS: LazyLock<Vec<(Vec<u8>, GenericDatumWriter<'static>)>> = LazyLock::new(|| {
        SchemaVersion::ALL
            .iter()
            .map(|version| {
                let schema = &version.schema().schema;
                let header = RabinFingerprintHeader::from_schema(schema).build_header();
                debug_assert_eq!(header.len(), HEADER_LENGTH);
                let writer = GenericDatumWriter::builder(schema)
                    .build()
                    .expect("our schemas resolve");
                (header, writer)
            })
            .collect()
    });
    let (header, writer) = &WRITERS[version as usize];
    let mut record = Vec::with_capacity(256);
    record.extend_from_slice(header);
    writer.write_value(&mut record, value::to_avro(order, version))?;
    Ok(record)
}

/// A record in the single-object encoding, split into the writer schema's fingerprint and the
/// datum; `None` when it does not start with the marker (it is not one).
pub fn split_single_object(record: &[u8]) -> Option<(Fingerprint, &[u8])> {
    if record.len() < HEADER_LENGTH || record[..2] != SINGLE_OBJECT_MARKER {
        return None;
    }
    let fingerprint = Fingerprint(record[2..HEADER_LENGTH].try_into().ok()?);
    Some((fingerprint, &record[HEADER_LENGTH..]))
}

/// Reads `datum`, written with `writer`, as `reader` sees it (Avro schema resolution: fields
/// the reader lacks are skipped, fields the writer lacks take the reader's defaults).
///
/// The crate's own single-object reader decodes with the one schema it was made for; a reader
/// of a topic meets several writer schemas, so the header is split here and the datum read with
/// the writer schema its fingerprint names.
pub fn decode(
    writer: &WriterSchema,
    datum: &[u8],
    reader: SchemaVersion,
) -> Result<OrderPlaced, AvroError> {
    let mut rest = datum;
    let value = GenericDatumReader::builder(&writer.schema)
        .reader_schema(&reader.schema().schema)
        .build()?
        .read_value(&mut rest)?;
    if !rest.is_empty() {
        return Err(AvroError::TrailingBytes(rest.len()));
    }
    value::from_avro(value)
}

#[cfg(test)]
mod tests;
