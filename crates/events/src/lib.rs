#![doc = include_str!("../README.md")]

pub mod avro;
mod order;
mod price;
mod updated;
pub mod wire;

pub use order::{Address, Customer, Item, OrderLine, OrderPlaced, ParseError};
pub use price::Price;
pub use updated::EpochMillis;

/// The Kafka topic that carries one record per new order.
pub const ORDER_TOPIC: &str = "order";

/// Partitions of [`ORDER_TOPIC`]: the most consumer instances of one group that get work.
pub const ORDER_TOPIC_PARTITIONS: i32 = 5;

/// The compacted Kafka topic that carries each order's current state: key the order id
/// ([`order_state_key`]), value the order's JSON (the same document as its `order` record), or
/// no value at all (a tombstone) once the order is deleted. Compaction keeps the last record per
/// key, so reading it from the beginning gives every live order once.
pub const ORDER_STATE_TOPIC: &str = "order-state";

/// The record key of order `id` on [`ORDER_STATE_TOPIC`]: `"<id>"`.
pub fn order_state_key(id: i64) -> String {
    id.to_string()
}

/// The compacted topic where producers publish every Avro schema they write the order topic
/// with, before their first record: key the schema's fingerprint (16 hex digits), value the
/// schema's JSON. A reader that meets an unknown fingerprint looks it up there.
pub const ORDER_SCHEMAS_TOPIC: &str = "order.schemas";

/// Where records that could not be applied are parked, with the error in their headers.
pub const ORDER_DEAD_LETTER_TOPIC: &str = "order.DLT";

/// The record key of the event that announces order `id`: `"<id>created"`, as the originals write it.
pub fn order_created_key(id: i64) -> String {
    format!("{id}created")
}
