//! The customers and items orders may name: seed data that no page changes, read once at
//! start-up so that placing an order queries nothing but what it writes.

use std::collections::BTreeMap;

use anyhow::Context;
use orderflow_events::{Customer, Item, OrderLine, Price};
use orderflow_storage::Database;
use sqlx::Row;

use crate::domain::{Invalid, NewOrder, ResolvedOrder};

/// Customers and items by id, as stored at start-up.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    customers: BTreeMap<i64, Customer>,
    items: BTreeMap<i64, Item>,
}

impl Catalog {
    pub async fn load(db: &Database) -> anyhow::Result<Self> {
        let customers = sqlx::query("SELECT id, name, firstname, email FROM customer ORDER BY id")
            .fetch_all(db.pool())
            .await
            .context("failed to load customers")?
            .iter()
            .map(|row| {
                let customer = Customer {
                    customer_id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    firstname: row.try_get("firstname")?,
                    email: row.try_get("email")?,
                };
                Ok((customer.customer_id, customer))
            })
            .collect::<anyhow::Result<_>>()?;
        let items = sqlx::query("SELECT id, name, price, category FROM item ORDER BY id")
            .fetch_all(db.pool())
            .await
            .context("failed to load items")?
            .iter()
            .map(|row| {
                let price: String = row.try_get("price")?;
                let item = Item {
                    item_id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    price: price
                        .parse()
                        .with_context(|| format!("stored price `{price}` is not a decimal"))?,
                    category: row.try_get("category")?,
                };
                Ok((item.item_id, item))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Catalog { customers, items })
    }

    /// The order with its customer and items found, and its total; or everything that is wrong
    /// with it (an unknown customer, unknown items, a total too large).
    pub fn resolve(&self, order: &NewOrder) -> Result<ResolvedOrder, Invalid> {
        let customer = self.customer(order.customer_id);
        let mut invalid = Invalid::default();
        if customer.is_none() {
            invalid
                .0
                .push(format!("There is no customer {}.", order.customer_id));
        }
        let mut lines = Vec::with_capacity(order.lines.len());
        for (index, line) in order.lines.iter().enumerate() {
            match self.item(line.item_id) {
                Some(item) => lines.push(OrderLine {
                    count: line.count,
                    item: item.clone(),
                }),
                None => invalid.0.push(format!(
                    "Line {}: there is no item {}.",
                    index + 1,
                    line.item_id
                )),
            }
        }
        let Some(customer) = customer.filter(|_| invalid.0.is_empty()).cloned() else {
            return Err(invalid);
        };
        let Some(total) = Price::checked_sum(lines.iter().map(OrderLine::total_price)) else {
            return Err(Invalid(vec!["The order's total is too large.".into()]));
        };
        Ok(ResolvedOrder {
            customer,
            shipping_address: order.shipping_address.clone(),
            billing_address: order.billing_address.clone(),
            lines,
            total,
        })
    }

    pub fn customer(&self, id: i64) -> Option<&Customer> {
        self.customers.get(&id)
    }

    pub fn item(&self, id: i64) -> Option<&Item> {
        self.items.get(&id)
    }

    /// In id order.
    pub fn customers(&self) -> impl Iterator<Item = &Customer> {
        self.customers.values()
    }

    /// In id order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.items.values()
    }
}

#[cfg(test)]
mod tests {
    use orderflow_events::Address;

    use super::*;
    use crate::domain::NewLine;

    fn catalog() -> Catalog {
        let wolff = Customer {
            customer_id: 1,
            name: "Wolff".into(),
            firstname: "Eberhard".into(),
            email: "eberhard.wolff@gmail.com".into(),
        };
        let ipod = Item {
            item_id: 1,
            name: "iPod".into(),
            price: "42.0".parse().expect("a price"),
            category: Some("Music players".into()),
        };
        Catalog {
            customers: BTreeMap::from([(1, wolff)]),
            items: BTreeMap::from([(1, ipod)]),
        }
    }

    fn order(customer_id: i64, lines: &[(i64, i64)]) -> NewOrder {
        let address = Address {
            street: "Ohlauer Str. 43".into(),
            zip: "10999".into(),
            city: "Berlin".into(),
        };
        NewOrder {
            customer_id,
            shipping_address: address.clone(),
            billing_address: address,
            lines: lines
                .iter()
                .map(|&(count, item_id)| NewLine { count, item_id })
                .collect(),
        }
    }

    #[test]
    fn the_worked_example_resolves_with_its_total() {
        let resolved = catalog().resolve(&order(1, &[(42, 1)])).expect("valid");
        assert_eq!(resolved.customer.name, "Wolff");
        assert_eq!(resolved.lines[0].item.name, "iPod");
        assert_eq!(resolved.total.to_string(), "1764.0");
    }

    #[test]
    fn every_unknown_name_is_reported_at_once() {
        let Invalid(problems) = catalog()
            .resolve(&order(7, &[(1, 1), (1, 9)]))
            .expect_err("unknown customer and item");
        assert_eq!(
            problems,
            ["There is no customer 7.", "Line 2: there is no item 9."]
        );
    }

    #[test]
    fn a_total_too_large_is_refused() {
        let mut catalog = catalog();
        let dearest = Item {
            item_id: 2,
            name: "the largest price a decimal holds".into(),
            price: "79228162514264337593543950335".parse().expect("a price"),
            category: None,
        };
        catalog.items.insert(2, dearest);
        let Invalid(problems) = catalog.resolve(&order(1, &[(2, 2)])).expect_err("overflow");
        assert_eq!(problems, ["The order's total is too large."]);
    }
}
