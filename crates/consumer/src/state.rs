use std::sync::Arc;

use orderflow_kafka::{BrokerProbe, ConsumerStatus};
use orderflow_storage::Database;

/// Everything a consumer service's request handler may touch. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ConsumerState {
    /// `shipping` or `invoicing`.
    pub service: &'static str,
    /// The service's own schema.
    pub db: Database,
    /// What this group member is doing: its partitions, how many records it applied.
    pub status: Arc<ConsumerStatus>,
    /// Asks the broker whether it is reachable, for `/health`.
    pub broker: BrokerProbe,
    /// The consumer group this instance belongs to.
    pub group: String,
}
