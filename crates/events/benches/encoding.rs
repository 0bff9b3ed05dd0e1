//! JSON against Avro for one order record: its size, and the time to write it and to read it
//! back (`cargo bench -p orderflow-events`). The figures are in bench/RESULTS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use orderflow_events::avro::{self, SchemaVersion, split_single_object};
use orderflow_events::wire::{Format, RecordEncoding};
use orderflow_events::{Address, Customer, EpochMillis, Item, OrderLine, OrderPlaced};

/// A typical order: the worked example's customer and addresses, three lines.
fn order() -> OrderPlaced {
    let address = |street: &str, zip: &str, city: &str| Address {
        street: street.into(),
        zip: zip.into(),
        city: city.into(),
    };
    let line = |count, item_id, name: &str, price: &str, category: &str| OrderLine {
        count,
        item: Item {
            item_id,
            name: name.into(),
            price: price.parse().unwrap(),
            category: Some(category.into()),
        },
    };
    OrderPlaced::new(
        4711,
        Customer {
            customer_id: 1,
            name: "Wolff".into(),
            firstname: "Eberhard".into(),
            email: "eberhard.wolff@gmail.com".into(),
        },
        EpochMillis(1685092812351),
        address("Ohlauer Str. 43", "10999", "Berlin"),
        address("Krischerstr. 100", "40789", "Monheim am Rhein"),
        vec![
            line(42, 1, "iPod", "42.0", "Music players"),
            line(2, 2, "iPod touch", "21.0", "Music players"),
            line(1, 4, "Apple TV", "100.0", "Video"),
        ],
    )
}

const ENCODINGS: [(&str, RecordEncoding); 3] = [
    ("json", RecordEncoding::JSON),
    (
        "avro v1",
        RecordEncoding {
            format: Format::Avro,
            version: SchemaVersion::V1,
        },
    ),
    (
        "avro v2",
        RecordEncoding {
            format: Format::Avro,
            version: SchemaVersion::V2,
        },
    ),
];

fn read(record: &[u8], reader: SchemaVersion) -> OrderPlaced {
    match split_single_object(record) {
        None => OrderPlaced::from_json(record).unwrap(),
        Some((fingerprint, datum)) => {
            let writer = SchemaVersion::ALL
                .into_iter()
                .map(SchemaVersion::schema)
                .find(|s| s.fingerprint() == fingerprint)
                .unwrap();
            avro::decode(writer, datum, reader).unwrap()
        }
    }
}

fn encoding(c: &mut Criterion) {
    let order = order();
    println!("record size of a three-line order:");
    for (name, encoding) in ENCODINGS {
        println!(
            "  {name:8} {:4} bytes",
            encoding.encode(&order).unwrap().len()
        );
    }
    let mut write = c.benchmark_group("write");
    for (name, encoding) in ENCODINGS {
        write.bench_function(name, |b| b.iter(|| encoding.encode(black_box(&order))));
    }
    write.finish();
    let mut read_v2 = c.benchmark_group("read as v2");
    for (name, encoding) in ENCODINGS {
        let record = encoding.encode(&order).unwrap();
        read_v2.bench_function(name, |b| {
            b.iter(|| read(black_box(&record), SchemaVersion::V2))
        });
    }
    read_v2.finish();
}

criterion_group!(benches, encoding);
criterion_main!(benches);
