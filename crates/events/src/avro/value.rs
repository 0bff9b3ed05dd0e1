//! An order as an Avro value of a schema version, and back. Written out field by field rather
//! than through serde: each version's shape is visible here, and a value that is not an order
//! says which field is wrong.

use apache_avro::types::Value;

use super::SchemaVersion;
use crate::{Address, Customer, EpochMillis, Item, OrderLine, OrderPlaced, Price};

pub(super) fn to_avro(order: &OrderPlaced, version: SchemaVersion) -> Value {
    let mut fields = vec![
        ("id".to_owned(), Value::Long(order.id)),
        ("customer".to_owned(), customer(&order.customer)),
        (
            "updated".to_owned(),
            Value::TimestampMillis(order.updated.0),
        ),
        (
            "shippingAddress".to_owned(),
            address(&order.shipping_address),
        ),
        ("billingAddress".to_owned(), address(&order.billing_address)),
        (
            "orderLine".to_owned(),
            Value::Array(
                order
                    .order_line
                    .iter()
                    .map(|line| order_line(line, version))
                    .collect(),
            ),
        ),
    ];
    if version == SchemaVersion::V1 {
        let lines = i32::try_from(order.order_line.len()).unwrap_or(i32::MAX);
        fields.push(("numberOfLines".to_owned(), Value::Int(lines)));
    }
    Value::Record(fields)
}

fn customer(customer: &Customer) -> Value {
    Value::Record(vec![
        ("customerId".to_owned(), Value::Long(customer.customer_id)),
        ("name".to_owned(), Value::String(customer.name.clone())),
        (
            "firstname".to_owned(),
            Value::String(customer.firstname.clone()),
        ),
        ("email".to_owned(), Value::String(customer.email.clone())),
    ])
}

fn address(address: &Address) -> Value {
    Value::Record(vec![
        ("street".to_owned(), Value::String(address.street.clone())),
        ("zip".to_owned(), Value::String(address.zip.clone())),
        ("city".to_owned(), Value::String(address.city.clone())),
    ])
}

fn order_line(line: &OrderLine, version: SchemaVersion) -> Value {
    let mut item = vec![
        ("itemId".to_owned(), Value::Long(line.item.item_id)),
        ("name".to_owned(), Value::String(line.item.name.clone())),
        ("price".to_owned(), Value::Double(line.item.price.to_f64())),
    ];
    if version >= SchemaVersion::V2 {
        let category = match &line.item.category {
            None => Value::Union(0, Box::new(Value::Null)),
            Some(category) => Value::Union(1, Box::new(Value::String(category.clone()))),
        };
        item.push(("category".to_owned(), category));
    }
    Value::Record(vec![
        ("count".to_owned(), Value::Long(line.count)),
        ("item".to_owned(), Value::Record(item)),
    ])
}

/// The order a resolved value (of a reader version) holds.
pub(super) fn from_avro(value: Value) -> Result<OrderPlaced, super::AvroError> {
    let mut order = Fields::of(value, "order")?;
    let order_line = match order.take("orderLine")? {
        Value::Array(lines) => lines
            .into_iter()
            .map(|line| {
                let mut line = Fields::of(line, "orderLine")?;
                let mut item = Fields::of(line.take("item")?, "item")?;
                let price = item.double("price")?;
                Ok(OrderLine {
                    count: line.long("count")?,
                    item: Item {
                        item_id: item.long("itemId")?,
                        name: item.string("name")?,
                        price: Price::from_f64(price).ok_or_else(|| {
                            not_an_order(format!("price {price} is not a decimal"))
                        })?,
                        category: item.optional_string("category")?,
                    },
                })
            })
            .collect::<Result<Vec<_>, super::AvroError>>()?,
        other => return Err(not_an_order(format!("orderLine is {other:?}"))),
    };
    let mut customer = Fields::of(order.take("customer")?, "customer")?;
    let customer = Customer {
        customer_id: customer.long("customerId")?,
        name: customer.string("name")?,
        firstname: customer.string("firstname")?,
        email: customer.string("email")?,
    };
    let updated = match order.take("updated")? {
        Value::TimestampMillis(ms) | Value::Long(ms) => EpochMillis(ms),
        other => return Err(not_an_order(format!("updated is {other:?}"))),
    };
    let shipping = read_address(order.take("shippingAddress")?)?;
    let billing = read_address(order.take("billingAddress")?)?;
    Ok(OrderPlaced::new(
        order.long("id")?,
        customer,
        updated,
        shipping,
        billing,
        order_line,
    ))
}

fn read_address(value: Value) -> Result<Address, super::AvroError> {
    let mut address = Fields::of(value, "address")?;
    Ok(Address {
        street: address.string("street")?,
        zip: address.string("zip")?,
        city: address.string("city")?,
    })
}

fn not_an_order(what: String) -> super::AvroError {
    super::AvroError::NotAnOrder(what)
}

/// A record's fields, taken by name.
struct Fields {
    record: &'static str,
    fields: Vec<(String, Value)>,
}

impl Fields {
    fn of(value: Value, record: &'static str) -> Result<Self, super::AvroError> {
        match value {
            Value::Record(fields) => Ok(Fields { record, fields }),
            other => Err(not_an_order(format!("{record} is {other:?}, not a record"))),
        }
    }

    fn take(&mut self, name: &str) -> Result<Value, super::AvroError> {
        let at = self
            .fields
            .iter()
            .position(|(field, _)| field == name)
            .ok_or_else(|| not_an_order(format!("{} has no field {name}", self.record)))?;
        Ok(self.fields.swap_remove(at).1)
    }

    fn long(&mut self, name: &str) -> Result<i64, super::AvroError> {
        match self.take(name)? {
            Value::Long(n) => Ok(n),
            Value::Int(n) => Ok(n.into()),
            other => Err(self.wrong(name, &other)),
        }
    }

    fn double(&mut self, name: &str) -> Result<f64, super::AvroError> {
        match self.take(name)? {
            Value::Double(x) => Ok(x),
            Value::Float(x) => Ok(x.into()),
            other => Err(self.wrong(name, &other)),
        }
    }

    fn string(&mut self, name: &str) -> Result<String, super::AvroError> {
        match self.take(name)? {
            Value::String(s) => Ok(s),
            other => Err(self.wrong(name, &other)),
        }
    }

    /// A nullable string; a field the reader's version does not have is `None` too.
    fn optional_string(&mut self, name: &str) -> Result<Option<String>, super::AvroError> {
        if !self.fields.iter().any(|(field, _)| field == name) {
            return Ok(None);
        }
        match self.take(name)? {
            Value::Union(_, value) => match *value {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s)),
                other => Err(self.wrong(name, &other)),
            },
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            other => Err(self.wrong(name, &other)),
        }
    }

    fn wrong(&self, name: &str, value: &Value) -> super::AvroError {
        not_an_order(format!("{}.{name} is {value:?}", self.record))
    }
}
