//! Bonus's pages: the customers with their points (`/`), a customer's orders with the points
//! each earned (`/customer?id=<id>`: a flat path, so the pages' relative links work behind
//! the front door's prefix too), one order's points (`/{id}`), and `GET /api/points`. The
//! check view, `/health`, `/parked` and `/style.css` come from orderflow-consumer.

use askama::Template;
use async_trait::async_trait;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use orderflow_consumer::{ConsumerState, Copies, CopyList, LIST_LIMIT};
use orderflow_events::{OrderPlaced, Price};
use orderflow_storage::Database;
use orderflow_web::{ApiError, AppError, HtmlPage};

use crate::db::{self, BonusCustomer, BonusOrder, CustomerPoints};
use crate::projection::{BonusOrders, points};

#[derive(Debug, Template)]
#[template(path = "customers.html")]
pub struct CustomersPage {
    /// Show the "Poll" button: this instance reads the feed.
    polls_feed: bool,
    /// What the transport cannot give this service (a RabbitMQ queue keeps no history).
    history_note: Option<&'static str>,
    customers: Vec<CustomerPoints>,
    /// More customers have points than the page shows (`/api/points` lists them all).
    more_customers: bool,
    /// Live orders counted.
    orders: i64,
}

#[derive(Debug, Template)]
#[template(path = "customer.html")]
pub struct CustomerPage {
    customer: BonusCustomer,
    points: i64,
    /// The customer's newest orders, at most [`LIST_LIMIT`].
    orders: Vec<BonusOrder>,
    /// All their live orders.
    order_count: i64,
}

#[derive(Debug, Template)]
#[template(path = "order.html")]
pub struct OrderPage {
    order: BonusOrder,
}

#[async_trait]
impl Copies for BonusOrders {
    const NAME: &'static str = "order";
    const TABLE: &'static str = "bonus_order";
    type Copy = BonusOrder;
    /// The list page lists customers, not orders: that is what a bonus programme shows.
    type Summary = CustomerPoints;
    type ListPage = CustomersPage;
    type CopyPage = OrderPage;

    /// One customer more than the page shows, so that the page can say there are more.
    async fn newest(db: &Database, limit: i64) -> anyhow::Result<Vec<CustomerPoints>> {
        db::customers(db, Some(limit + 1)).await
    }

    async fn after(db: &Database, after: i64, limit: i64) -> anyhow::Result<Vec<BonusOrder>> {
        db::orders_after(db, after, limit).await
    }

    fn id(order: &BonusOrder) -> i64 {
        order.id
    }

    fn received_ms(order: &BonusOrder) -> i64 {
        order.received_ms
    }

    fn expected(order: &OrderPlaced) -> BonusOrder {
        BonusOrder {
            id: order.id,
            customer: BonusCustomer {
                customer_id: order.customer.customer_id,
                name: order.customer.name.clone(),
                firstname: order.customer.firstname.clone(),
            },
            updated: order.updated,
            total: order.total_price().unwrap_or(Price::ZERO),
            points: points(order).unwrap_or(0),
            received_ms: 0,
        }
    }

    fn list_page(list: CopyList<CustomerPoints>) -> CustomersPage {
        let mut customers = list.copies;
        let more_customers = customers.len() > LIST_LIMIT as usize;
        customers.truncate(LIST_LIMIT as usize);
        CustomersPage {
            polls_feed: list.polls_feed,
            history_note: list.history_note,
            customers,
            more_customers,
            orders: list.total,
        }
    }

    fn copy_page(order: BonusOrder) -> OrderPage {
        OrderPage { order }
    }
}

/// Bonus's own routes besides those every consumer has.
pub(crate) fn router() -> Router<ConsumerState> {
    Router::new()
        .route("/customer", get(customer))
        .route("/api/points", get(api_points))
}

/// `?id=<customer id>`.
#[derive(Debug, serde::Deserialize)]
struct CustomerQuery {
    id: Option<String>,
}

async fn customer(
    State(state): State<ConsumerState>,
    Query(query): Query<CustomerQuery>,
) -> Result<HtmlPage<CustomerPage>, AppError> {
    let id = query.id.unwrap_or_default();
    let not_found = || AppError::NotFound(format!("Customer {id} has no bonus points."));
    let customer_id: i64 = id.trim().parse().map_err(|_| not_found())?;
    let orders = db::orders_of(&state.db, customer_id, LIST_LIMIT).await?;
    let newest = orders.first().ok_or_else(not_found)?;
    let standing = db::standing(&state.db, customer_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(HtmlPage::ok(CustomerPage {
        customer: newest.customer.clone(),
        points: standing.points,
        orders,
        order_count: standing.orders,
    }))
}

/// `GET /api/points`: every customer with points, most first.
async fn api_points(
    State(state): State<ConsumerState>,
) -> Result<Json<Vec<CustomerPoints>>, ApiError> {
    Ok(Json(db::customers(&state.db, None).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standings(count: i64) -> Vec<CustomerPoints> {
        (1..=count)
            .map(|id| CustomerPoints {
                customer: BonusCustomer {
                    customer_id: id,
                    name: "Wolff".into(),
                    firstname: "Eberhard".into(),
                },
                points: 1000 - id,
                orders: 1,
            })
            .collect()
    }

    fn page_of(count: i64) -> String {
        BonusOrders::list_page(CopyList {
            polls_feed: false,
            history_note: None,
            copies: standings(count),
            total: count,
        })
        .render()
        .unwrap()
    }

    #[test]
    fn the_customers_page_says_when_more_customers_have_points_than_it_shows() {
        // Arrange: `newest` reads one customer more than the page shows.
        let more = LIST_LIMIT + 1;

        // Act
        let (full, overfull) = (page_of(LIST_LIMIT), page_of(more));

        // Assert
        assert!(!full.contains("more have points too"), "{full}");
        assert!(overfull.contains("Showing the 500 customers with the most points"));
        assert!(!overfull.contains(&format!(r#"href="customer?id={more}""#)));
    }
}
