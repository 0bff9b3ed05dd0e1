//! The properties every transport has, one `async fn` each; `conformance_tests!` makes them
//! tests of a transport.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::{Event, Instance, MemoryStore, TransportUnderTest};

/// How long a property may take to show before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// Expands to one `#[tokio::test]` per property, each with a fresh transport from `$make` (an
/// expression giving a future of a [`TransportUnderTest`]).
///
/// `conformance_tests!(if_available: $make)`: `$make` gives an `Option`; `None` (the broker is
/// not installed on this machine; the constructor says so) skips every property.
#[macro_export]
macro_rules! conformance_tests {
    (if_available: $make:expr) => {
        $crate::conformance_tests!(@properties each_available, $make);
    };
    ($make:expr) => {
        $crate::conformance_tests!(@properties each, $make);
    };
    (@properties $how:ident, $make:expr) => {
        $crate::conformance_tests!(@$how $make;
            every_event_is_delivered,
            per_key_order_is_kept,
            a_repeated_event_is_applied_once,
            a_poison_event_is_parked_and_the_stream_goes_on,
            a_transient_failure_is_retried_without_skipping,
            a_restarted_consumer_resumes_from_its_stored_position,
            two_instances_never_apply_one_event_twice,
            a_late_consumer_gets_the_history_if_the_transport_keeps_it,
        );
    };
    (@each $make:expr; $($property:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $property() {
                let transport = $make.await;
                $crate::$property(&transport).await;
            }
        )+
    };
    (@each_available $make:expr; $($property:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $property() {
                let Some(transport) = $make.await else { return };
                $crate::$property(&transport).await;
            }
        )+
    };
}

/// An order as the contract writes it, with id `id`.
pub fn order(id: i64) -> Vec<u8> {
    format!(
        r#"{{"id":{id},"customer":{{"customerId":1,"name":"Wolff","firstname":"Eberhard","email":"eberhard.wolff@gmail.com"}},"updated":1492703532351,"shippingAddress":{{"street":"Ohlauer Str. 43","zip":"10999","city":"Berlin"}},"billingAddress":{{"street":"Krischerstr. 100","zip":"40789","city":"Monheim am Rhein"}},"orderLine":[{{"count":42,"item":{{"itemId":1,"name":"iPod","price":42.0}}}}]}}"#
    )
    .into_bytes()
}

/// Order `id`'s event, keyed as the contract keys it.
pub fn order_event(id: i64) -> Event {
    Event {
        key: format!("{id}created"),
        payload: order(id),
    }
}

fn events(ids: impl IntoIterator<Item = i64>) -> Vec<Event> {
    ids.into_iter().map(order_event).collect()
}

/// Waits until `done` holds, polling every 50 ms; fails after [`DEADLINE`] saying `what`.
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `store` applied exactly the ids `expected` (in any order).
async fn all_applied(store: &MemoryStore, expected: impl IntoIterator<Item = i64>) {
    let mut expected: Vec<i64> = expected.into_iter().collect();
    expected.sort_unstable();
    let what = format!("{} orders applied", expected.len());
    eventually(&what, || {
        let mut applied = store.applied();
        applied.sort_unstable();
        assert!(
            applied.iter().all(|id| expected.binary_search(id).is_ok()),
            "applied an order nobody published: {applied:?}"
        );
        applied == expected
    })
    .await;
}

/// Waits until a counter of the instances' stats reaches `expected`, then checks it did not pass
/// it. A consumer counts what it did just after the store's "transaction" returns, so a test
/// that saw the store change may read the counter a moment before it moves.
async fn counted(what: &str, expected: u64, count: impl Fn() -> u64) {
    eventually(&format!("{expected} {what} counted"), || {
        count() >= expected
    })
    .await;
    assert_eq!(count(), expected, "{what} counted");
}

async fn start(transport: &dyn TransportUnderTest, store: &Arc<MemoryStore>) -> Instance {
    transport.start(Arc::clone(store)).await
}

pub async fn every_event_is_delivered(transport: &dyn TransportUnderTest) {
    let store = Arc::new(MemoryStore::new());
    let instance = start(transport, &store).await;
    transport.publish(&events(1..=200)).await;
    all_applied(&store, 1..=200).await;
    counted("applied", 200, || instance.stats.applied()).await;
    assert_eq!(instance.stats.parked(), 0);
    instance.stop().await;
}

pub async fn per_key_order_is_kept(transport: &dyn TransportUnderTest) {
    // Six keys, ten events each, interleaved; ids rise within every key.
    let published: Vec<Event> = (1..=60)
        .map(|id| Event {
            key: format!("customer-{}", id % 6),
            payload: order(id),
        })
        .collect();
    let store = Arc::new(MemoryStore::new());
    let instance = start(transport, &store).await;
    transport.publish(&published).await;
    all_applied(&store, 1..=60).await;
    let applied = store.applied();
    let mut per_key: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for id in &applied {
        per_key.entry(id % 6).or_default().push(*id);
    }
    for (key, ids) in per_key {
        assert!(
            ids.is_sorted(),
            "key customer-{key} applied out of order: {ids:?}"
        );
    }
    if transport.characteristics().total_order {
        assert!(applied.is_sorted(), "total order broken: {applied:?}");
    }
    instance.stop().await;
}

pub async fn a_repeated_event_is_applied_once(transport: &dyn TransportUnderTest) {
    let store = Arc::new(MemoryStore::new());
    let instance = start(transport, &store).await;
    let mut published = events(1..=10);
    published.push(order_event(5));
    published.push(order_event(11));
    transport.publish(&published).await;
    all_applied(&store, 1..=11).await;
    // The repetition is answered "already there" once it arrives.
    eventually("the repeated event answered as a duplicate", || {
        instance.stats.duplicates() >= 1
    })
    .await;
    counted("applied", 11, || instance.stats.applied()).await;
    assert_eq!(store.applied().iter().filter(|id| **id == 5).count(), 1);
    instance.stop().await;
}

pub async fn a_poison_event_is_parked_and_the_stream_goes_on(transport: &dyn TransportUnderTest) {
    let store = Arc::new(MemoryStore::new());
    // Event 7 is an order the store refuses for good; the fourth event is no order at all.
    store.refuse(7);
    let instance = start(transport, &store).await;
    let mut published = events(1..=10);
    published[3].payload = b"{\"this is\": \"not an order\"".to_vec();
    transport.publish(&published).await;
    let readable = [1, 2, 3, 5, 6, 8, 9, 10];
    all_applied(&store, readable).await;
    eventually("both poison events parked", || store.parked().len() == 2).await;
    let parked = store.parked();
    assert!(
        parked.iter().any(|(_, error)| error.contains("refused")),
        "the refused order is parked with the store's reason: {parked:?}"
    );
    // The stream goes on after them.
    transport.publish(&events(11..=12)).await;
    all_applied(&store, readable.into_iter().chain([11, 12])).await;
    counted("parked", 2, || instance.stats.parked()).await;
    instance.stop().await;
}

pub async fn a_transient_failure_is_retried_without_skipping(transport: &dyn TransportUnderTest) {
    let store = Arc::new(MemoryStore::new());
    // Event 4 fails transiently three times while event 2, in the same batch, is poison: the
    // transport must isolate 2 (park it) and still retry 4, never park it or move past it.
    store.refuse(2);
    store.fail_transiently(4, 3);
    // One key: what comes after the failing event must wait for it.
    let published: Vec<Event> = (1..=6)
        .map(|id| Event {
            key: "one-customer".to_owned(),
            payload: order(id),
        })
        .collect();
    let instance = start(transport, &store).await;
    transport.publish(&published).await;
    all_applied(&store, [1, 3, 4, 5, 6]).await;
    assert_eq!(store.failures_left(), 0, "every failure was met by a retry");
    assert_eq!(store.applied(), [1, 3, 4, 5, 6], "nothing overtook event 4");
    // Only the poison is parked, not the transient failure.
    counted("parked", 1, || instance.stats.parked()).await;
    instance.stop().await;
}

pub async fn a_restarted_consumer_resumes_from_its_stored_position(
    transport: &dyn TransportUnderTest,
) {
    let store = Arc::new(MemoryStore::new());
    let first = start(transport, &store).await;
    transport.publish(&events(1..=20)).await;
    all_applied(&store, 1..=20).await;
    first.stop().await;

    transport.publish(&events(21..=40)).await;
    let second = start(transport, &store).await;
    all_applied(&store, 1..=40).await;
    counted("applied", 20, || second.stats.applied()).await;
    assert_eq!(
        second.stats.duplicates(),
        0,
        "after a clean stop nothing before the stored position comes again"
    );
    second.stop().await;
}

pub async fn two_instances_never_apply_one_event_twice(transport: &dyn TransportUnderTest) {
    let store = Arc::new(MemoryStore::new());
    let a = start(transport, &store).await;
    let b = start(transport, &store).await;
    transport.publish(&events(1..=300)).await;
    all_applied(&store, 1..=300).await;
    // Each event applied by exactly one instance.
    counted("applied", 300, || a.stats.applied() + b.stats.applied()).await;
    a.stop().await;
    b.stop().await;
}

pub async fn a_late_consumer_gets_the_history_if_the_transport_keeps_it(
    transport: &dyn TransportUnderTest,
) {
    transport.publish(&events(1..=30)).await;
    let store = Arc::new(MemoryStore::new());
    let instance = start(transport, &store).await;
    transport.publish(&events(31..=35)).await;
    if transport.characteristics().keeps_history {
        all_applied(&store, 1..=35).await;
    } else {
        // A queue: what was published before anyone listened is gone; the rest arrives.
        eventually("the events published after the start", || {
            store.applied().iter().filter(|id| **id > 30).count() == 5
        })
        .await;
        assert!(store.applied().iter().all(|id| *id > 30));
    }
    instance.stop().await;
}
