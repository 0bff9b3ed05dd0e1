use async_trait::async_trait;
use orderflow_events::{OrderPlaced, Price};
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
    async fn handle_batch(
        &self,
        orders: &[OrderPlaced],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Vec<Applied>, HandleError> {
        let totals = orders
            .iter()
            .map(|order| Ok((order, total(order)?)))
            .collect::<Result<Vec<_>, HandleError>>()?;
        db::store_invoices(&self.db, &totals, checkpoint)
            .await
            .map_err(orderflow_consumer::classify)
    }

    async fn handle(
        &self,
        order: &OrderPlaced,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Applied, HandleError> {
        let applied = db::store_invoices(&self.db, &[(order, total(order)?)], checkpoint)
            .await
            .map_err(orderflow_consumer::classify)?;
        Ok(applied[0])
    }
}

/// The order's total. A record from elsewhere may carry numbers whose total does not fit: that
/// is the record's fault, so it is parked rather than retried.
fn total(order: &OrderPlaced) -> Result<Price, HandleError> {
    order.total_price().ok_or_else(|| {
        HandleError::Permanent(
            format!("the total of order {} does not fit a decimal", order.id).into(),
        )
    })
}
