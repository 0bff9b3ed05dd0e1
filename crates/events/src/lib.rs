#![doc = include_str!("../README.md")]

mod order;
mod price;
mod updated;

pub use order::{Address, Customer, Item, OrderLine, OrderPlaced, ParseError};
pub use price::Price;
pub use updated::EpochMillis;

/// The Kafka topic that carries one record per new order.
pub const ORDER_TOPIC: &str = "order";

/// Partitions of [`ORDER_TOPIC`]: the most consumer instances of one group that get work.
pub const ORDER_TOPIC_PARTITIONS: i32 = 5;

/// Where records that could not be applied are parked, with the error in their headers.
pub const ORDER_DEAD_LETTER_TOPIC: &str = "order.DLT";

/// The record key of the event that announces order `id`: `"<id>created"`, as the originals write it.
pub fn order_created_key(id: i64) -> String {
    format!("{id}created")
}
