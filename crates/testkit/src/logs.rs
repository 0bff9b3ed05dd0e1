//! The services' logs in the tests' output: a test that fails shows what its consumers, relays
//! and brokers said (libtest shows a test's output only when it fails).

use std::sync::Once;

use tracing_subscriber::EnvFilter;

/// What is logged unless `RUST_LOG` says otherwise: orderflow at info, the libraries' chatter
/// only when it is a warning.
const DEFAULT_FILTER: &str = "info,lapin=warn,rdkafka=warn,sqlx=warn,tansu=warn,hyper=warn";

/// Sends `tracing` events to libtest's captured output, once per test binary. The subscriber
/// is global, and each test's runtime threads are spawned by its test thread, so they inherit
/// its capture: a failing test shows its own services' logs.
pub fn capture_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter =
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
        // Another subscriber set first (a test of traces) wins; that is fine.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}
