//! Shipping's pages: the list of shipments and one shipment. The routes, `/health`, `/parked`
//! and `/style.css` come from orderflow-consumer.

use askama::Template;
use async_trait::async_trait;
use orderflow_consumer::{Copies, CopyList};
use orderflow_events::OrderPlaced;
use orderflow_storage::Database;

use crate::db::{self, Shipment, ShipmentSummary};
use crate::projection::Shipments;

#[derive(Debug, Template)]
#[template(path = "shipments.html")]
pub struct ShipmentsPage {
    /// Show the "Poll" button: this instance reads the feed.
    polls_feed: bool,
    /// What the transport cannot give this service (a RabbitMQ queue keeps no history).
    history_note: Option<&'static str>,
    shipments: Vec<ShipmentSummary>,
    total: i64,
}

#[derive(Debug, Template)]
#[template(path = "shipment.html")]
pub struct ShipmentPage {
    shipment: Shipment,
}

#[async_trait]
impl Copies for Shipments {
    const NAME: &'static str = "shipment";
    const TABLE: &'static str = "shipment";
    type Copy = Shipment;
    type Summary = ShipmentSummary;
    type ListPage = ShipmentsPage;
    type CopyPage = ShipmentPage;

    async fn newest(db: &Database, limit: i64) -> anyhow::Result<Vec<ShipmentSummary>> {
        db::newest_shipments(db, limit).await
    }

    async fn after(db: &Database, after: i64, limit: i64) -> anyhow::Result<Vec<Shipment>> {
        db::shipments_after(db, after, limit).await
    }

    fn id(shipment: &Shipment) -> i64 {
        shipment.id
    }

    fn received_ms(shipment: &Shipment) -> i64 {
        shipment.received_ms
    }

    fn expected(order: &OrderPlaced) -> Shipment {
        Shipment::of(order, 0)
    }

    fn list_page(list: CopyList<ShipmentSummary>) -> ShipmentsPage {
        ShipmentsPage {
            polls_feed: list.polls_feed,
            history_note: list.history_note,
            shipments: list.copies,
            total: list.total,
        }
    }

    fn copy_page(shipment: Shipment) -> ShipmentPage {
        ShipmentPage { shipment }
    }
}
