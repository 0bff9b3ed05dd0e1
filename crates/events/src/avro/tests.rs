use apache_avro::schema_compatibility::SchemaCompatibility;

use super::*;
use crate::{Address, Customer, EpochMillis, Item, OrderLine};

fn worked_example(category: Option<&str>) -> OrderPlaced {
    OrderPlaced::new(
        1,
        Customer {
            customer_id: 1,
            name: "Wolff".into(),
            firstname: "Eberhard".into(),
            email: "eberhard.wolff@gmail.com".into(),
        },
        EpochMillis(1685092812351),
        Address {
            street: "Ohlauer Str. 43".into(),
            zip: "10999".into(),
            city: "Berlin".into(),
        },
        Address {
            street: "Krischerstr. 100".into(),
            zip: "40789".into(),
            city: "Monheim am Rhein".into(),
        },
        vec![
            OrderLine {
                count: 42,
                item: Item {
                    item_id: 1,
                    name: "iPod".into(),
                    price: "42.0".parse().unwrap(),
                    category: category.map(Into::into),
                },
            },
            OrderLine {
                count: 3,
                item: Item {
                    item_id: 9,
                    name: "Cable".into(),
                    price: "19.99".parse().unwrap(),
                    category: None,
                },
            },
        ],
    )
}

fn read(record: &[u8], reader: SchemaVersion) -> OrderPlaced {
    let (fingerprint, datum) = split_single_object(record).expect("a single-object record");
    let writer = SchemaVersion::ALL
        .into_iter()
        .map(SchemaVersion::schema)
        .find(|schema| schema.fingerprint() == fingerprint)
        .expect("written with one of our versions");
    decode(writer, datum, reader).unwrap()
}

#[test]
fn each_version_reads_back_what_it_writes() {
    let v1 = worked_example(None);
    assert_eq!(
        read(&encode(&v1, SchemaVersion::V1).unwrap(), SchemaVersion::V1),
        v1
    );
    let v2 = worked_example(Some("Music players"));
    assert_eq!(
        read(&encode(&v2, SchemaVersion::V2).unwrap(), SchemaVersion::V2),
        v2
    );
    assert_eq!(v2.total_price().unwrap().to_string(), "1823.97");
}

#[test]
fn a_record_starts_with_the_marker_and_the_writer_schemas_fingerprint() {
    let record = encode(&worked_example(None), SchemaVersion::V2).unwrap();
    assert_eq!(record[..2], SINGLE_OBJECT_MARKER);
    assert_eq!(record[2..10], SchemaVersion::V2.schema().fingerprint().0);
    assert_ne!(
        SchemaVersion::V1.schema().fingerprint(),
        SchemaVersion::V2.schema().fingerprint()
    );
}

#[test]
fn a_version_1_reader_ignores_the_category_and_recomputes_the_dropped_line_count() {
    let order = worked_example(Some("Music players"));
    let as_v1 = read(
        &encode(&order, SchemaVersion::V2).unwrap(),
        SchemaVersion::V1,
    );
    assert_eq!(as_v1.order_line[0].item.category, None);
    assert_eq!(as_v1.number_of_lines, 2);
    assert_eq!(as_v1, worked_example(None));
}

#[test]
fn a_version_2_reader_sees_the_default_category_on_version_1_records() {
    let order = worked_example(None);
    let as_v2 = read(
        &encode(&order, SchemaVersion::V1).unwrap(),
        SchemaVersion::V2,
    );
    assert_eq!(as_v2, order);
    assert!(as_v2.order_line.iter().all(|l| l.item.category.is_none()));
}

#[test]
fn each_version_is_backward_and_forward_compatible_with_the_one_before() {
    for pair in SchemaVersion::ALL.windows(2) {
        let (old, new) = (pair[0].schema().schema(), pair[1].schema().schema());
        SchemaCompatibility::can_read(old, new)
            .unwrap_or_else(|e| panic!("{} cannot read {} records: {e}", pair[1], pair[0]));
        SchemaCompatibility::can_read(new, old)
            .unwrap_or_else(|e| panic!("{} cannot read {} records: {e}", pair[0], pair[1]));
    }
}

#[test]
fn the_compatibility_check_catches_a_new_field_without_a_default() {
    let without_default = SchemaVersion::V2
        .schema()
        .json()
        .replace(r#""orderflow.version": 2,"#, r#""orderflow.version": 3,"#)
        .replace(
            r#"{"name": "id", "type": "long","#,
            r#"{"name": "currency", "type": "string"}, {"name": "id", "type": "long","#,
        );
    let v3 = WriterSchema::parse(&without_default).unwrap();
    assert_eq!(v3.version(), Some(3));
    assert!(
        SchemaCompatibility::can_read(SchemaVersion::V2.schema().schema(), v3.schema()).is_err(),
        "a reader with a new field and no default cannot read old records"
    );
    // The same field with a default is fine.
    let with_default = without_default.replace(
        r#""type": "string"}, {"name": "id""#,
        r#""type": "string", "default": "EUR"}, {"name": "id""#,
    );
    let v3 = WriterSchema::parse(&with_default).unwrap();
    SchemaCompatibility::can_read(SchemaVersion::V2.schema().schema(), v3.schema()).unwrap();
}

#[test]
fn a_schema_names_its_version_and_a_published_one_must_match_its_key() {
    let v2 = SchemaVersion::V2.schema();
    assert_eq!((v2.version(), v2.label().as_str()), (Some(2), "avro v2"));
    let published = WriterSchema::parse_published(v2.fingerprint(), v2.json()).unwrap();
    assert_eq!(published.fingerprint(), v2.fingerprint());
    let wrong = WriterSchema::parse_published(SchemaVersion::V1.schema().fingerprint(), v2.json());
    assert!(matches!(wrong, Err(SchemaError::WrongFingerprint { .. })));
    assert!(WriterSchema::parse("{not a schema").is_err());
}

#[test]
fn a_garbled_or_padded_datum_is_an_error_not_an_order() {
    let record = encode(&worked_example(None), SchemaVersion::V2).unwrap();
    let (_, datum) = split_single_object(&record).unwrap();
    let writer = SchemaVersion::V2.schema();
    assert!(decode(writer, &datum[..datum.len() / 2], SchemaVersion::V2).is_err());
    let mut padded = datum.to_vec();
    padded.push(0);
    assert!(matches!(
        decode(writer, &padded, SchemaVersion::V2),
        Err(AvroError::TrailingBytes(1))
    ));
    assert!(decode(writer, &[0xff; 12], SchemaVersion::V2).is_err());
}

#[test]
fn json_is_not_a_single_object() {
    assert!(split_single_object(br#"{"id":1,"customer":{}}"#).is_none());
    assert!(split_single_object(&[0xC3, 0x01, 0, 0]).is_none());
}
