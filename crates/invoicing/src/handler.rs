use async_trait::async_trait;
use orderflow_events::OrderPlaced;
use orderflow_storage::Database;
use orderflow_transport::{Applied, Checkpoint, HandleError, OrderEventHandler};

use crate::db;

/// Keeps invoicing's copy of every order: an invoice per order id, stored once.
#[derive(Debug, Clone)]
pub struct InvoiceProjector {
    pub db: Database,
}

#[async_trait]
impl OrderEventHandler for InvoiceProjector {
    async fn handle(
        &self,
        order: &OrderPlaced,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Applied, HandleError> {
        db::store_invoice(&self.db, order, checkpoint)
            .await
            .map_err(orderflow_consumer::classify)
    }
}
