//! How an order becomes bonus's row: its customer and the points its total earns; and how a
//! deleted order takes them back.

use async_trait::async_trait;
use orderflow_consumer::Projection;
use orderflow_events::OrderPlaced;
use orderflow_storage::params::insert_rows;
use sqlx::{AnyConnection, Row};

/// Bonus's record of every live order.
#[derive(Debug)]
pub struct BonusOrders;

/// One point per whole euro of the order's total; `Err` says why an order earns nothing
/// sensible (its total does not fit, or is negative) and is parked.
pub fn points(order: &OrderPlaced) -> Result<i64, String> {
    let total = order
        .total_price()
        .ok_or_else(|| format!("the total of order {} does not fit a decimal", order.id))?;
    if total.is_negative() {
        return Err(format!(
            "order {} has a negative total ({total}): no points",
            order.id
        ));
    }
    total
        .whole_units()
        .ok_or_else(|| format!("the points of order {} do not fit", order.id))
}

#[async_trait]
impl Projection for BonusOrders {
    const COPY: &'static str = "Bonus entry";
    const TAKES_BACK_DELETED: bool = true;

    fn accepts(order: &OrderPlaced) -> Result<(), String> {
        points(order).map(|_| ())
    }

    async fn insert_copies(
        connection: &mut AnyConnection,
        orders: &[OrderPlaced],
        received_ms: i64,
    ) -> Result<Vec<i64>, sqlx::Error> {
        // `accepts` saw every order earn points.
        let rows: Vec<(&OrderPlaced, String, i64)> = orders
            .iter()
            .map(|order| {
                let total = order.total_price().unwrap_or_default().to_string();
                (order, total, points(order).unwrap_or(0))
            })
            .collect();
        let inserted = insert_rows(
            connection,
            "INSERT INTO bonus_order (id, customer_id, customer_name, customer_firstname, total, \
             points, updated_ms, received_ms)",
            8,
            "ON CONFLICT (id) DO NOTHING RETURNING id",
            &rows,
            |query, (order, total, points)| {
                query
                    .bind(order.id)
                    .bind(order.customer.customer_id)
                    .bind(&order.customer.name)
                    .bind(&order.customer.firstname)
                    .bind(total)
                    .bind(*points)
                    .bind(order.updated.0)
                    .bind(received_ms)
            },
        )
        .await?;
        inserted.iter().map(|row| row.try_get("id")).collect()
    }

    async fn insert_details(
        _connection: &mut AnyConnection,
        _created: &[&OrderPlaced],
    ) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn delete_rows(connection: &mut AnyConnection, id: i64) -> Result<bool, sqlx::Error> {
        let removed = sqlx::query("DELETE FROM bonus_order WHERE id = $1")
            .bind(id)
            .execute(connection)
            .await?
            .rows_affected();
        Ok(removed > 0)
    }
}

#[cfg(test)]
mod tests {
    use orderflow_events::{Address, Customer, EpochMillis, Item, OrderLine, Price};

    use super::*;

    fn order(count: i64, price: &str) -> OrderPlaced {
        let address = Address {
            street: "Ohlauer Str. 43".to_owned(),
            zip: "10999".to_owned(),
            city: "Berlin".to_owned(),
        };
        OrderPlaced::new(
            1,
            Customer {
                customer_id: 1,
                name: "Wolff".to_owned(),
                firstname: "Eberhard".to_owned(),
                email: "eberhard.wolff@gmail.com".to_owned(),
            },
            EpochMillis(0),
            address.clone(),
            address,
            vec![OrderLine {
                count,
                item: Item {
                    item_id: 1,
                    name: "iPod".to_owned(),
                    price: price.parse::<Price>().unwrap(),
                    category: None,
                },
            }],
        )
    }

    #[test]
    fn one_point_per_whole_euro_of_the_total() {
        // The contract's example: 42 iPods at 42.0.
        assert_eq!(points(&order(42, "42.0")), Ok(1764));
        assert_eq!(points(&order(3, "0.99")), Ok(2));
        assert_eq!(points(&order(1, "0.5")), Ok(0));
    }

    #[test]
    fn a_negative_total_earns_nothing_and_is_refused() {
        assert!(points(&order(1, "-5.0")).unwrap_err().contains("negative"));
    }
}
