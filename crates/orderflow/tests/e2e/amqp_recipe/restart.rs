//! RabbitMQ restarted while orders are placed: the outbox holds what cannot be published, the
//! consumers connect again, and every order arrives once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use orderflow_amqp::QueueType;
use orderflow_testkit::rabbit::RabbitNode;
use orderflow_testkit::wait_until;

use super::wait_until_consuming;
use crate::helpers::*;

const ORDERS: u64 = 300;

#[tokio::test(flavor = "multi_thread")]
async fn rabbitmq_restarted_under_load_loses_no_order_and_applies_none_twice() {
    if super::rabbitmq().await.is_none() {
        return;
    }
    // Arrange: a node of this test's own, so that it can be stopped.
    let mut node = RabbitNode::start().await;
    let system = TestSystem::new();
    let settings = system.amqp(&node.url(), QueueType::Quorum);
    let order = system.start_order_amqp(settings.clone()).await;
    let transport = orderflow_consumer::Transport::Amqp(settings);
    let shipping = system.start_shipping_via(transport.clone()).await;
    let invoicing = system.start_invoicing_via(transport).await;
    wait_until_consuming(&system, &shipping).await;
    wait_until_consuming(&system, &invoicing).await;

    // Act: four clients place orders while the broker is stopped and started again.
    let placed = Arc::new(AtomicU64::new(0));
    let load = tokio::spawn({
        let (http, url, placed) = (system.http.clone(), order.url.clone(), Arc::clone(&placed));
        async move {
            futures::future::join_all((0..4).map(|client| {
                let (http, url, placed) = (http.clone(), url.clone(), Arc::clone(&placed));
                async move {
                    for n in (client..ORDERS).step_by(4) {
                        orderflow_tools::client::place_order(&http, &url, n)
                            .await
                            .expect("order takes orders while RabbitMQ is away");
                        placed.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                }
            }))
            .await;
        }
    });
    wait_until("a third of the orders placed", DEADLINE, || async {
        (placed.load(Ordering::Relaxed) >= ORDERS / 3).then_some(())
    })
    .await;
    node.restart().await;
    load.await.expect("the load ran");

    // Assert: every order once at both.
    wait_for_rows(&shipping.state.db, "shipment", ORDERS as i64).await;
    wait_for_rows(&invoicing.state.db, "invoice", ORDERS as i64).await;
    let report = check_shipping_and_invoicing(&order, &shipping, &invoicing).await;
    assert!(report.consistent(), "{report:?}");
    eprintln!(
        "RabbitMQ restarted under load: {ORDERS} orders, 0 lost; redeliveries absorbed: shipping {}, invoicing {}",
        shipping.state.delivery().duplicates(),
        invoicing.state.delivery().duplicates()
    );
}
