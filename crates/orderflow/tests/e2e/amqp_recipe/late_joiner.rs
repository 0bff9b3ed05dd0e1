//! The trade-off the design warns about: on a queue, a service added later sees only what is
//! published after its queue exists; on a stream, it reads the history.

use orderflow_amqp::QueueType;

use super::{rabbitmq, wait_until_consuming};
use crate::bonus::{place, wait_until_bonus_agrees};
use crate::helpers::*;

/// bonus, on RabbitMQ with `queue_type` queues.
async fn start_bonus(system: &TestSystem, url: &str, queue_type: QueueType) -> RunningConsumer {
    let bonus = system
        .start_bonus_via(
            orderflow_consumer::Transport::Amqp(system.amqp(url, queue_type)),
            "bonus",
        )
        .await;
    wait_until_consuming(system, &bonus).await;
    bonus
}

#[tokio::test(flavor = "multi_thread")]
async fn bonus_started_late_on_a_classic_queue_never_sees_the_orders_placed_before_its_queue() {
    let Some(url) = rabbitmq().await else { return };
    let system = TestSystem::new();
    let order = system
        .start_order_amqp(system.amqp(&url, QueueType::Classic))
        .await;
    // Five orders before bonus exists: published to the exchange, routed to no queue of
    // bonus's (it has none yet), so RabbitMQ drops them for bonus.
    let before = place(&system, &order, 0..5).await;
    wait_until_published(&order).await;

    let bonus = start_bonus(&system, &url, QueueType::Classic).await;
    let after = place(&system, &order, 5..8).await;

    // bonus counts exactly the three placed after its queue existed.
    wait_for_rows(&bonus.state.db, "bonus_order", 3).await;
    let counted: Vec<i64> = sqlx::query_scalar("SELECT id FROM bonus_order ORDER BY id")
        .fetch_all(bonus.state.db.pool())
        .await
        .unwrap();
    assert_eq!(counted, after);
    assert!(before.iter().all(|id| !counted.contains(id)));
    let (_, page) = system.get_text(bonus.url.clone()).await;
    assert!(
        page.contains("only the orders placed since its queue exists"),
        "bonus's page says what it cannot know: {page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bonus_started_late_on_a_stream_reads_every_order_from_the_first() {
    let Some(url) = rabbitmq().await else { return };
    let system = TestSystem::new();
    let order = system
        .start_order_amqp(system.amqp(&url, QueueType::Stream))
        .await;
    place(&system, &order, 0..5).await;

    let bonus = start_bonus(&system, &url, QueueType::Stream).await;
    place(&system, &order, 5..8).await;

    wait_until_bonus_agrees(&system, &order, &bonus, 8).await;
    let (_, page) = system.get_text(bonus.url.clone()).await;
    assert!(
        !page.contains("only the orders placed since its queue exists"),
        "{page}"
    );
}
