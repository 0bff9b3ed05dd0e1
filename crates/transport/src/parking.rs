use async_trait::async_trait;

use crate::BoxError;

/// Where a consumer service keeps the events it could not apply, so that its UI lists them and
/// `orderflow replay` can apply them once the cause is fixed.
#[async_trait]
pub trait ParkingLot: Send + Sync + 'static {
    /// Records one event. The transport has already moved past it (Kafka: after putting it on the
    /// dead-letter topic, which stays the record of truth).
    async fn park(&self, event: &ParkedEvent<'_>) -> Result<(), BoxError>;
}

/// An event that could not be applied.
#[derive(Debug, Clone, Copy)]
pub struct ParkedEvent<'a> {
    /// The topic or feed it came from.
    pub stream: &'a str,
    /// Its position there (offset or feed position), if it has one.
    pub position: Option<i64>,
    /// Where exactly: `order/3@17` (topic/partition@offset) or the order's URL.
    pub source: &'a str,
    /// What was read, if anything (binary values as `base64:...`).
    pub payload: Option<&'a str>,
    /// How it was written: `json`, `avro v2` ([`crate::Decoded::encoding`]).
    pub encoding: &'a str,
    /// Why it could not be applied.
    pub error: &'a str,
}
