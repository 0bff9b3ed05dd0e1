//! An order as a client asks for it, before it has an id: parsed from the HTML form or the
//! JSON API and checked, so that nothing invalid reaches the database or the event stream.

use orderflow_events::{Address, Customer, OrderLine, Price};
use serde::Deserialize;

/// The most lines one order may have.
pub const MAX_LINES: usize = 100;
/// The largest count of one line.
pub const MAX_COUNT: i64 = 1_000_000;
/// The longest street, zip or city, in characters.
pub const MAX_TEXT: usize = 200;

/// A valid order request. Whether its customer and items exist is checked when it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub customer_id: i64,
    pub shipping_address: Address,
    pub billing_address: Address,
    pub lines: Vec<NewLine>,
}

/// A new order whose customer and items were found in the catalog, with its total: what the
/// database writes.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedOrder {
    pub customer: Customer,
    pub shipping_address: Address,
    pub billing_address: Address,
    /// Each line with the item's name and price as they are now.
    pub lines: Vec<OrderLine>,
    pub total: Price,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewLine {
    pub count: i64,
    pub item_id: i64,
}

/// What is wrong with a request, one message per problem, in the words the form shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invalid(pub Vec<String>);

impl Invalid {
    fn push(&mut self, message: impl Into<String>) {
        self.0.push(message.into());
    }
}

/// The order form exactly as posted: every value kept as text, so that the form can be shown
/// again with what the user typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderForm {
    pub customer: String,
    pub shipping_address: AddressForm,
    pub billing_address: AddressForm,
    pub lines: Vec<LineForm>,
    /// `_method=delete` or similar, for the routes that accept it.
    pub method: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressForm {
    pub street: String,
    pub zip: String,
    pub city: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineForm {
    pub count: String,
    pub item: String,
}

impl OrderForm {
    /// Reads `application/x-www-form-urlencoded` with the original form's field names:
    /// `customer`, `shippingAddress.street`, ..., `orderLine[0].count`, `orderLine[0].item`.
    /// Unknown fields (the submit buttons) are ignored.
    pub fn parse(body: &[u8]) -> Result<Self, Invalid> {
        let pairs = decode_form(body)?;
        let mut form = OrderForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "customer" => form.customer = value,
                "shippingAddress.street" => form.shipping_address.street = value,
                "shippingAddress.zip" => form.shipping_address.zip = value,
                "shippingAddress.city" => form.shipping_address.city = value,
                "billingAddress.street" => form.billing_address.street = value,
                "billingAddress.zip" => form.billing_address.zip = value,
                "billingAddress.city" => form.billing_address.city = value,
                "_method" => form.method = Some(value),
                _ => {
                    if let Some((index, field)) = line_field(&name) {
                        if index >= MAX_LINES {
                            return Err(Invalid(vec![format!(
                                "An order has at most {MAX_LINES} lines."
                            )]));
                        }
                        if form.lines.len() <= index {
                            form.lines.resize_with(index + 1, LineForm::default);
                        }
                        match field {
                            LineField::Count => form.lines[index].count = value,
                            LineField::Item => form.lines[index].item = value,
                        }
                    }
                }
            }
        }
        Ok(form)
    }

    /// The form with one more line: count 0 and the first item, as the originals add it.
    pub fn with_new_line(mut self, first_item_id: Option<i64>) -> Result<Self, Invalid> {
        if self.lines.len() >= MAX_LINES {
            return Err(Invalid(vec![format!(
                "An order has at most {MAX_LINES} lines."
            )]));
        }
        self.lines.push(LineForm {
            count: "0".into(),
            item: first_item_id.map(|id| id.to_string()).unwrap_or_default(),
        });
        Ok(self)
    }

    /// Checks every field and says everything that is wrong at once.
    pub fn to_new_order(&self) -> Result<NewOrder, Invalid> {
        let mut invalid = Invalid::default();
        let customer_id = match self.customer.trim().parse::<i64>() {
            Ok(id) if id > 0 => id,
            _ => {
                invalid.push("Choose a customer.");
                0
            }
        };
        let shipping_address = self
            .shipping_address
            .check("Shipping address", &mut invalid);
        let billing_address = self.billing_address.check("Billing address", &mut invalid);
        let lines: Vec<NewLine> = self
            .lines
            .iter()
            .enumerate()
            .filter_map(|(index, line)| line.check(index, &mut invalid))
            .collect();
        if self.lines.is_empty() {
            invalid.push("An order needs at least one line: use \"Add Line\".");
        }
        if invalid.0.is_empty() {
            Ok(NewOrder {
                customer_id,
                shipping_address,
                billing_address,
                lines,
            })
        } else {
            Err(invalid)
        }
    }
}

impl AddressForm {
    fn check(&self, which: &str, invalid: &mut Invalid) -> Address {
        let mut field = |label: &str, value: &str| {
            let value = value.trim();
            if value.is_empty() {
                invalid.push(format!("{which}: {label} is missing."));
            } else if value.chars().count() > MAX_TEXT {
                invalid.push(format!(
                    "{which}: {label} is longer than {MAX_TEXT} characters."
                ));
            } else if value.chars().any(char::is_control) {
                invalid.push(format!("{which}: {label} contains control characters."));
            }
            value.to_owned()
        };
        Address {
            street: field("Street", &self.street),
            zip: field("Zip", &self.zip),
            city: field("City", &self.city),
        }
    }
}

impl LineForm {
    fn check(&self, index: usize, invalid: &mut Invalid) -> Option<NewLine> {
        let number = index + 1;
        let count = match self.count.trim().parse::<i64>() {
            Ok(count) if (1..=MAX_COUNT).contains(&count) => Some(count),
            Ok(_) => {
                invalid.push(format!(
                    "Line {number}: the count must be between 1 and {MAX_COUNT}."
                ));
                None
            }
            Err(_) => {
                invalid.push(format!("Line {number}: the count must be a whole number."));
                None
            }
        };
        let item_id = match self.item.trim().parse::<i64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                invalid.push(format!("Line {number}: choose an item."));
                None
            }
        };
        Some(NewLine {
            count: count?,
            item_id: item_id?,
        })
    }
}

/// `a=1&b=x+y` -> `[("a", "1"), ("b", "x y")]`. Unlike the usual lossy decoders, invalid UTF-8
/// is an error rather than silently replaced, so that nothing is stored other than as typed.
fn decode_form(body: &[u8]) -> Result<Vec<(String, String)>, Invalid> {
    let unreadable = || {
        Invalid(vec![
            "The form could not be read: it is not URL-encoded UTF-8.".into(),
        ])
    };
    let decode = |raw: &[u8]| -> Result<String, Invalid> {
        let spaced: Vec<u8> = raw
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        percent_encoding::percent_decode(&spaced)
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| unreadable())
    };
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |&b| b == b'=');
            let name = decode(parts.next().unwrap_or_default())?;
            let value = decode(parts.next().unwrap_or_default())?;
            Ok((name, value))
        })
        .collect()
}

enum LineField {
    Count,
    Item,
}

/// `orderLine[3].count` -> `(3, Count)`.
fn line_field(name: &str) -> Option<(usize, LineField)> {
    let rest = name.strip_prefix("orderLine[")?;
    let (index, field) = rest.split_once("].")?;
    if index.is_empty() || index.len() > 4 || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = match field {
        "count" => LineField::Count,
        "item" | "item.itemId" => LineField::Item,
        _ => return None,
    };
    Some((index.parse().ok()?, field))
}

/// The JSON API's request body (`POST /api/orders`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderRequest {
    pub customer_id: i64,
    pub shipping_address: AddressRequest,
    pub billing_address: AddressRequest,
    pub order_line: Vec<LineRequest>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressRequest {
    pub street: String,
    pub zip: String,
    pub city: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineRequest {
    pub count: i64,
    pub item_id: i64,
}

impl OrderRequest {
    /// The same checks as the form's, with the same messages.
    pub fn to_new_order(&self) -> Result<NewOrder, Invalid> {
        if self.order_line.len() > MAX_LINES {
            return Err(Invalid(vec![format!(
                "An order has at most {MAX_LINES} lines."
            )]));
        }
        let address = |a: &AddressRequest| AddressForm {
            street: a.street.clone(),
            zip: a.zip.clone(),
            city: a.city.clone(),
        };
        OrderForm {
            customer: self.customer_id.to_string(),
            shipping_address: address(&self.shipping_address),
            billing_address: address(&self.billing_address),
            lines: self
                .order_line
                .iter()
                .map(|l| LineForm {
                    count: l.count.to_string(),
                    item: l.item_id.to_string(),
                })
                .collect(),
            method: None,
        }
        .to_new_order()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKED_EXAMPLE: &str = "customer=1&shippingAddress.street=Ohlauer+Str.+43&shippingAddress.zip=10999\
        &shippingAddress.city=Berlin&billingAddress.street=Krischerstr.+100&billingAddress.zip=40789\
        &billingAddress.city=Monheim+am+Rhein&orderLine%5B0%5D.count=42&orderLine%5B0%5D.item=1&submit=";

    #[test]
    fn reads_the_worked_example() {
        let order = OrderForm::parse(WORKED_EXAMPLE.as_bytes())
            .unwrap()
            .to_new_order()
            .unwrap();
        assert_eq!(order.customer_id, 1);
        assert_eq!(order.shipping_address.street, "Ohlauer Str. 43");
        assert_eq!(order.billing_address.city, "Monheim am Rhein");
        assert_eq!(
            order.lines,
            vec![NewLine {
                count: 42,
                item_id: 1
            }]
        );
    }

    fn messages(body: &str) -> Vec<String> {
        OrderForm::parse(body.as_bytes())
            .unwrap()
            .to_new_order()
            .unwrap_err()
            .0
    }

    #[test]
    fn an_order_without_lines_is_rejected() {
        let body = WORKED_EXAMPLE.replace("&orderLine%5B0%5D.count=42&orderLine%5B0%5D.item=1", "");
        assert_eq!(
            messages(&body),
            vec!["An order needs at least one line: use \"Add Line\"."]
        );
    }

    #[test]
    fn counts_below_one_or_not_numbers_are_rejected() {
        for (count, message) in [
            ("0", "Line 1: the count must be between 1 and 1000000."),
            ("-3", "Line 1: the count must be between 1 and 1000000."),
            (
                "99999999999",
                "Line 1: the count must be between 1 and 1000000.",
            ),
            ("many", "Line 1: the count must be a whole number."),
        ] {
            let body = WORKED_EXAMPLE.replace("count=42", &format!("count={count}"));
            assert_eq!(messages(&body), vec![message], "{count}");
        }
    }

    #[test]
    fn every_missing_address_field_is_named() {
        let body = WORKED_EXAMPLE
            .replace("Ohlauer+Str.+43", "")
            .replace("40789", "+");
        assert_eq!(
            messages(&body),
            vec![
                "Shipping address: Street is missing.",
                "Billing address: Zip is missing."
            ]
        );
    }

    #[test]
    fn invalid_utf8_and_huge_line_indexes_are_rejected() {
        assert!(OrderForm::parse(b"customer=%FF%FE").is_err());
        assert!(OrderForm::parse(b"orderLine%5B100%5D.count=1").is_err());
        // Not a line field at all: ignored rather than allocating a billion lines.
        assert_eq!(
            OrderForm::parse(b"orderLine%5B99999999999%5D.count=1")
                .unwrap()
                .lines
                .len(),
            0
        );
    }

    #[test]
    fn add_line_appends_count_zero_and_the_first_item() {
        let form = OrderForm::default().with_new_line(Some(1)).unwrap();
        assert_eq!(
            form.lines,
            vec![LineForm {
                count: "0".into(),
                item: "1".into()
            }]
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Whatever was posted, a parsed order is one the rest of the system can store.
    fn assert_storable(order: &NewOrder) {
        assert!(order.customer_id > 0);
        assert!(!order.lines.is_empty() && order.lines.len() <= MAX_LINES);
        for line in &order.lines {
            assert!((1..=MAX_COUNT).contains(&line.count) && line.item_id > 0);
        }
        for address in [&order.shipping_address, &order.billing_address] {
            for text in [&address.street, &address.zip, &address.city] {
                assert!(!text.is_empty() && text.chars().count() <= MAX_TEXT);
                assert!(!text.chars().any(char::is_control) && text.trim() == text);
            }
        }
    }

    /// Form-like bodies: known field names (and some not) with arbitrary, often hostile values.
    fn form_body() -> impl Strategy<Value = Vec<u8>> {
        let name = prop_oneof![
            Just("customer".to_owned()),
            Just("shippingAddress.street".to_owned()),
            Just("billingAddress.city".to_owned()),
            (0usize..120).prop_map(|i| format!("orderLine%5B{i}%5D.count")),
            (0usize..120).prop_map(|i| format!("orderLine[{i}].item")),
            "[a-zA-Z%\\[\\]\\.0-9]{0,20}",
        ];
        let value = prop_oneof![
            "-?[0-9]{1,25}",
            "[ -~]{0,40}",
            ".{0,300}",
            proptest::collection::vec(any::<u8>(), 0..40)
                .prop_map(|bytes| bytes.iter().map(|b| format!("%{b:02X}")).collect()),
        ];
        proptest::collection::vec((name, value), 0..30).prop_map(|pairs| {
            pairs
                .into_iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes()
        })
    }

    proptest! {
        #[test]
        fn any_form_body_is_parsed_or_refused_never_a_panic(body in form_body()) {
            if let Ok(form) = OrderForm::parse(&body)
                && let Ok(order) = form.to_new_order()
            {
                assert_storable(&order);
            }
        }

        #[test]
        fn any_bytes_as_a_form_are_parsed_or_refused(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(form) = OrderForm::parse(&body)
                && let Ok(order) = form.to_new_order()
            {
                assert_storable(&order);
            }
        }

        #[test]
        fn any_json_order_request_is_accepted_only_when_storable(
            customer in any::<i64>(),
            count in any::<i64>(),
            item in any::<i64>(),
            lines in 0usize..120,
            street in ".{0,250}",
        ) {
            let body = serde_json::json!({
                "customerId": customer,
                "shippingAddress": {"street": street, "zip": "1", "city": "X"},
                "billingAddress": {"street": "S", "zip": "1", "city": "X"},
                "orderLine": vec![serde_json::json!({"count": count, "itemId": item}); lines],
            });
            let request: OrderRequest = serde_json::from_value(body).unwrap();
            if let Ok(order) = request.to_new_order() {
                assert_storable(&order);
            }
        }

        #[test]
        fn any_bytes_as_json_are_refused_or_read(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = serde_json::from_slice::<OrderRequest>(&body).map(|request| request.to_new_order());
        }
    }
}
