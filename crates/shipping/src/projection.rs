//! How an order becomes shipping's rows: a shipment (who, where to) and its lines.

use async_trait::async_trait;
use orderflow_consumer::Projection;
use orderflow_events::{OrderLine, OrderPlaced};
use orderflow_storage::params::insert_rows;
use sqlx::{AnyConnection, Row};

/// Shipping's copy of every order.
#[derive(Debug)]
pub struct Shipments;

#[async_trait]
impl Projection for Shipments {
    const COPY: &'static str = "Shipment";

    async fn insert_copies(
        connection: &mut AnyConnection,
        orders: &[OrderPlaced],
        received_ms: i64,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let rows = insert_rows(
            connection,
            "INSERT INTO shipment (id, customer_id, customer_name, customer_firstname, updated_ms, \
             street, zip, city, received_ms)",
            9,
            "ON CONFLICT (id) DO NOTHING RETURNING id",
            orders,
            |query, order| {
                let address = &order.shipping_address;
                query
                    .bind(order.id)
                    .bind(order.customer.customer_id)
                    .bind(&order.customer.name)
                    .bind(&order.customer.firstname)
                    .bind(order.updated.0)
                    .bind(&address.street)
                    .bind(&address.zip)
                    .bind(&address.city)
                    .bind(received_ms)
            },
        )
        .await?;
        rows.iter().map(|row| row.try_get("id")).collect()
    }

    async fn insert_details(
        connection: &mut AnyConnection,
        created: &[&OrderPlaced],
    ) -> Result<(), sqlx::Error> {
        let lines: Vec<(i64, i64, &OrderLine)> = created
            .iter()
            .flat_map(|order| {
                (0..)
                    .zip(&order.order_line)
                    .map(|(n, line)| (order.id, n, line))
            })
            .collect();
        insert_rows(
            connection,
            "INSERT INTO shipment_line (shipment_id, line_no, count, item_id, item_name)",
            5,
            "",
            &lines,
            |query, (id, line_no, line)| {
                query
                    .bind(*id)
                    .bind(*line_no)
                    .bind(line.count)
                    .bind(line.item.item_id)
                    .bind(&line.item.name)
            },
        )
        .await?;
        Ok(())
    }
}
