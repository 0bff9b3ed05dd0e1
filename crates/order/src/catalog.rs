//! The customers and items orders may name: seed data that no page changes, read once at
//! start-up so that placing an order queries nothing but what it writes.

use std::collections::BTreeMap;

use orderflow_events::{Customer, Item};
use orderflow_storage::Database;

use crate::db;

/// Customers and items by id, as stored at start-up.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    customers: BTreeMap<i64, Customer>,
    items: BTreeMap<i64, Item>,
}

impl Catalog {
    pub async fn load(db: &Database) -> anyhow::Result<Self> {
        let customers = db::customers(db)
            .await?
            .into_iter()
            .map(|c| (c.customer_id, c))
            .collect();
        let items = db::items(db)
            .await?
            .into_iter()
            .map(|i| (i.item_id, i))
            .collect();
        Ok(Catalog { customers, items })
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
