//! The bonus programme joins a running system late: it replays the history (Kafka's
//! compacted order-state topic, the feed's archive) and ends with exactly the live orders'
//! points; deleted orders' points are taken back.

mod compaction;
mod crash;
mod front_door;
mod late_joiner;

use std::collections::BTreeMap;

use orderflow_events::OrderPlaced;
use orderflow_testkit::wait_until;

use crate::helpers::*;

/// Places orders `0..n` (customers, items and counts vary with the number) and returns their ids.
pub async fn place(
    system: &TestSystem,
    order: &RunningOrder,
    numbers: std::ops::Range<u64>,
) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in numbers {
        let placed = orderflow_tools::client::place_order(&system.http, &order.url, n)
            .await
            .expect("order takes the order");
        ids.push(placed.id);
    }
    ids
}

/// Places orders `numbers` with `clients` clients at once (order of ids not guaranteed).
pub async fn place_concurrently(
    system: &TestSystem,
    order: &RunningOrder,
    numbers: std::ops::Range<u64>,
    clients: u64,
) {
    let (start, end) = (numbers.start, numbers.end);
    futures::future::join_all((0..clients).map(|client| {
        let numbers = (start + client..end).step_by(clients as usize);
        async move {
            for n in numbers {
                orderflow_tools::client::place_order(&system.http, &order.url, n)
                    .await
                    .expect("order takes the order");
            }
        }
    }))
    .await;
}

/// Deletes the orders, as the list page's delete button does.
pub async fn delete(system: &TestSystem, order: &RunningOrder, ids: &[i64]) {
    for id in ids {
        let response = system
            .http
            .delete(format!("{}{id}", order.url))
            .send()
            .await
            .expect("order answers");
        assert!(
            response.status().is_success(),
            "deleting order {id}: {}",
            response.status()
        );
    }
}

/// Points per customer as they should be: the floor of every live order's total, summed.
pub async fn expected_points(system: &TestSystem, order: &RunningOrder) -> BTreeMap<i64, i64> {
    let mut points = BTreeMap::new();
    let mut after = 0;
    loop {
        let page: Vec<OrderPlaced> = system
            .http
            .get(format!("{}api/orders?after={after}&limit=1000", order.url))
            .send()
            .await
            .expect("order answers")
            .json()
            .await
            .expect("a list of orders");
        let Some(last) = page.last() else { break };
        after = last.id;
        for placed in &page {
            let whole = placed
                .total_price()
                .and_then(|t| t.whole_units())
                .expect("a total");
            *points.entry(placed.customer.customer_id).or_default() += whole;
        }
    }
    points
}

/// Points per customer as bonus's `GET /api/points` says.
pub async fn bonus_points(system: &TestSystem, bonus: &RunningConsumer) -> BTreeMap<i64, i64> {
    let customers: Vec<serde_json::Value> = system
        .http
        .get(format!("{}api/points", bonus.url))
        .send()
        .await
        .expect("bonus answers")
        .json()
        .await
        .expect("a list of customers");
    customers
        .iter()
        .map(|c| {
            (
                c["customerId"].as_i64().unwrap(),
                c["points"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Waits until bonus holds exactly the live orders and its points agree with them.
pub async fn wait_until_bonus_agrees(
    system: &TestSystem,
    order: &RunningOrder,
    bonus: &RunningConsumer,
    live: i64,
) {
    let expected = expected_points(system, order).await;
    wait_until(
        &format!("bonus counts {live} orders, {expected:?}"),
        DEADLINE,
        || async {
            let counted = count(&bonus.state.db, "bonus_order").await;
            // The count the customers page shows is kept by triggers: it agrees too.
            let shown = bonus.state.db.row_count("bonus_order").await.unwrap();
            (counted == live && shown == live && bonus_points(system, bonus).await == expected)
                .then_some(())
        },
    )
    .await;
}

/// `orderflow check`'s verdict on order and bonus.
pub async fn check_bonus(
    order: &RunningOrder,
    bonus: &RunningConsumer,
) -> orderflow_tools::check::CheckReport {
    let settings = orderflow_tools::check::CheckSettings {
        endpoints: orderflow_tools::client::Endpoints {
            order: order.url.clone(),
            consumers: vec![orderflow_tools::client::ConsumerEndpoint {
                service: &orderflow_directory::BONUS,
                url: bonus.url.clone(),
            }],
            health: Vec::new(),
        },
        views: vec![orderflow_bonus::Application::check_view(
            "orders earning points",
        )],
        settle_timeout: DEADLINE,
    };
    orderflow_tools::check::run(&settings)
        .await
        .expect("check runs")
}
