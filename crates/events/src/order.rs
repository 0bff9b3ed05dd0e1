//! The order record: the whole order, as the original producer
//! (ewolff/microservice-kafka's `order` service) serializes it with Jackson.

use serde::{Deserialize, Serialize};

use crate::{EpochMillis, Price};

/// An order was placed. The value of every record on the `order` topic and the document behind
/// every feed entry (`GET /order/{id}`). Consumers keep their own copy of the parts they need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPlaced {
    /// Assigned by the order service; shipments and invoices reuse it as their id.
    pub id: i64,
    pub customer: Customer,
    /// When the order was placed.
    pub updated: EpochMillis,
    pub shipping_address: Address,
    pub billing_address: Address,
    pub order_line: Vec<OrderLine>,
    /// Derived, written for the original consumers; ignored when read.
    #[serde(default, skip_deserializing)]
    pub number_of_lines: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub customer_id: i64,
    /// The last name.
    pub name: String,
    pub firstname: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub street: String,
    pub zip: String,
    pub city: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub count: i64,
    pub item: Item,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub item_id: i64,
    pub name: String,
    pub price: Price,
    /// The item's catalog category, new in version 2 of the record: not written in the
    /// contract's JSON record (version 1), `None` where the record did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// A record value that is not an order this contract can read. Retrying will not help.
#[derive(Debug, thiserror::Error)]
#[error("not an order record: {0}")]
pub struct ParseError(#[from] serde_json::Error);

impl OrderPlaced {
    /// Builds the event; `number_of_lines` is derived from the lines.
    pub fn new(
        id: i64,
        customer: Customer,
        updated: EpochMillis,
        shipping_address: Address,
        billing_address: Address,
        order_line: Vec<OrderLine>,
    ) -> Self {
        let number_of_lines = order_line.len();
        OrderPlaced {
            id,
            customer,
            updated,
            shipping_address,
            billing_address,
            order_line,
            number_of_lines,
        }
    }

    /// Reads a record value the tolerant way: unknown fields are ignored, `updated` may be
    /// epoch milliseconds or ISO-8601, `numberOfLines` is recomputed.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut order: OrderPlaced = serde_json::from_slice(bytes)?;
        order.number_of_lines = order.order_line.len();
        Ok(order)
    }

    /// Compact JSON with the original producer's field names and order, plus the fields of
    /// later versions the order has (items' categories): the outbox keeps this, so that the
    /// relay can write any version.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an order always serializes")
    }

    /// The contract's record exactly (version 1): what the original producer writes.
    pub fn to_contract_json(&self) -> String {
        let later_fields = self.order_line.iter().any(|l| l.item.category.is_some());
        if !later_fields {
            return self.to_json();
        }
        let mut contract = self.clone();
        for line in &mut contract.order_line {
            line.item.category = None;
        }
        contract.to_json()
    }

    /// The sum of count times price over all lines; `None` if it does not fit a decimal.
    pub fn total_price(&self) -> Option<Price> {
        Price::checked_sum(self.order_line.iter().map(OrderLine::total_price))
    }
}

impl OrderLine {
    /// Count times price; `None` if it does not fit a decimal.
    pub fn total_price(&self) -> Option<Price> {
        self.item.price.checked_mul(self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL_PRODUCER: &str = include_str!("../fixtures/order-record-original-producer.json");
    const ORIGINAL_TEST: &str = include_str!("../fixtures/order-record-original-test.json");

    fn worked_example(updated: EpochMillis) -> OrderPlaced {
        OrderPlaced::new(
            1,
            Customer {
                customer_id: 1,
                name: "Wolff".into(),
                firstname: "Eberhard".into(),
                email: "eberhard.wolff@gmail.com".into(),
            },
            updated,
            Address {
                street: "Ohlauer Str. 43".into(),
                zip: "10999".into(),
                city: "Berlin".into(),
            },
            Address {
                street: "Krischerstr. 100".into(),
                zip: "40789".into(),
                city: "Monheim am Rhein".into(),
            },
            vec![OrderLine {
                count: 42,
                item: Item {
                    item_id: 1,
                    name: "iPod".into(),
                    price: "42.0".parse().unwrap(),
                    category: None,
                },
            }],
        )
    }

    #[test]
    fn writes_exactly_what_the_original_producer_writes() {
        let order = worked_example(EpochMillis(1685092812351));
        assert_eq!(order.to_json(), ORIGINAL_PRODUCER.trim());
    }

    #[test]
    fn the_contract_record_leaves_out_what_later_versions_added() {
        let mut order = worked_example(EpochMillis(1685092812351));
        order.order_line[0].item.category = Some("Music players".into());
        assert!(order.to_json().contains(r#""category":"Music players""#));
        assert_eq!(order.to_contract_json(), ORIGINAL_PRODUCER.trim());
        assert_eq!(
            OrderPlaced::from_json(order.to_json().as_bytes()).unwrap(),
            order
        );
    }

    #[test]
    fn reads_the_original_producers_record() {
        let order = OrderPlaced::from_json(ORIGINAL_PRODUCER.as_bytes()).unwrap();
        assert_eq!(order, worked_example(EpochMillis(1685092812351)));
        assert_eq!(order.total_price().unwrap().to_string(), "1764.0");
    }

    #[test]
    fn reads_the_original_tests_record_with_iso_date_links_and_extra_fields() {
        let order = OrderPlaced::from_json(ORIGINAL_TEST.as_bytes()).unwrap();
        assert_eq!(order, worked_example(EpochMillis(1_492_702_932_351)));
    }

    #[test]
    fn says_which_field_is_missing() {
        let error = OrderPlaced::from_json(br#"{"id":1,"customer":{"customerId":1}}"#).unwrap_err();
        assert!(
            error.to_string().contains("missing field `name`"),
            "{error}"
        );
        assert!(OrderPlaced::from_json(b"not json").is_err());
    }
}
