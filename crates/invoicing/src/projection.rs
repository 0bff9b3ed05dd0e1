//! How an order becomes invoicing's rows: an invoice (who pays, where, the total) and its lines.

use async_trait::async_trait;
use orderflow_consumer::Projection;
use orderflow_events::{OrderLine, OrderPlaced, Price};
use orderflow_storage::params::insert_rows;
use sqlx::{AnyConnection, Row};

/// Invoicing's copy of every order.
#[derive(Debug)]
pub struct Invoices;

#[async_trait]
impl Projection for Invoices {
    const COPY: &'static str = "Invoice";

    /// A record from elsewhere may carry numbers whose total does not fit: that is the record's
    /// fault, so it is parked rather than retried.
    fn accepts(order: &OrderPlaced) -> Result<(), String> {
        match order.total_price() {
            Some(_) => Ok(()),
            None => Err(format!(
                "the total of order {} does not fit a decimal",
                order.id
            )),
        }
    }

    async fn insert_copies(
        connection: &mut AnyConnection,
        orders: &[OrderPlaced],
        received_ms: i64,
    ) -> Result<Vec<i64>, sqlx::Error> {
        // `accepts` saw every total fit.
        let totals: Vec<(&OrderPlaced, String)> = orders
            .iter()
            .map(|order| {
                let total = order.total_price().unwrap_or(Price::ZERO);
                (order, total.to_string())
            })
            .collect();
        let rows = insert_rows(
            connection,
            "INSERT INTO invoice (id, customer_id, customer_name, customer_firstname, customer_email, \
             updated_ms, street, zip, city, total_amount, received_ms)",
            11,
            "ON CONFLICT (id) DO NOTHING RETURNING id",
            &totals,
            |query, (order, total)| {
                let (customer, address) = (&order.customer, &order.billing_address);
                query
                    .bind(order.id)
                    .bind(customer.customer_id)
                    .bind(&customer.name)
                    .bind(&customer.firstname)
                    .bind(&customer.email)
                    .bind(order.updated.0)
                    .bind(&address.street)
                    .bind(&address.zip)
                    .bind(&address.city)
                    .bind(total)
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
        let lines: Vec<(i64, i64, &OrderLine, String)> = created
            .iter()
            .flat_map(|order| {
                (0..)
                    .zip(&order.order_line)
                    .map(|(n, line)| (order.id, n, line, line.item.price.to_string()))
            })
            .collect();
        insert_rows(
            connection,
            "INSERT INTO invoice_line (invoice_id, line_no, count, item_id, item_name, price)",
            6,
            "",
            &lines,
            |query, (id, line_no, line, price)| {
                query
                    .bind(*id)
                    .bind(*line_no)
                    .bind(line.count)
                    .bind(line.item.item_id)
                    .bind(&line.item.name)
                    .bind(price)
            },
        )
        .await?;
        Ok(())
    }
}
