use async_trait::async_trait;
use orderflow_events::OrderPlaced;
use orderflow_storage::Database;
use orderflow_transport::{Applied, Checkpoint, HandleError, OrderEventHandler};

use crate::db;

/// Keeps shipping's copy of every order: a shipment per order id, stored once.
#[derive(Debug, Clone)]
pub struct ShipmentProjector {
    pub db: Database,
}

#[async_trait]
impl OrderEventHandler for ShipmentProjector {
    async fn handle_batch(
        &self,
        orders: &[OrderPlaced],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Vec<Applied>, HandleError> {
        db::store_shipments(&self.db, orders, checkpoint)
            .await
            .map_err(orderflow_consumer::classify)
    }

    async fn handle(
        &self,
        order: &OrderPlaced,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Applied, HandleError> {
        let applied = db::store_shipments(&self.db, std::slice::from_ref(order), checkpoint)
            .await
            .map_err(orderflow_consumer::classify)?;
        Ok(applied[0])
    }
}
