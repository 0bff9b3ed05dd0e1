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
        // A record from elsewhere may carry numbers whose total does not fit: that is the
        // record's fault, so it is parked rather than retried.
        let total = order.total_price().ok_or_else(|| {
            HandleError::Permanent(
                format!("the total of order {} does not fit a decimal", order.id).into(),
            )
        })?;
        db::store_invoice(&self.db, order, total, checkpoint)
            .await
            .map_err(orderflow_consumer::classify)
    }
}
