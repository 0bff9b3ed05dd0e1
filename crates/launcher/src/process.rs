//! What every orderflow process does the same way: logs and traces, and stopping on a signal or when
//! the `orderflow up` that started it is gone.

use std::io::IsTerminal;

use std::io::Read;
use tokio_util::sync::CancellationToken;

use crate::{EXIT_WITH_PARENT_ENV, LOG_COLOR_ENV};

/// Logs to stderr (`RUST_LOG` overrides the default filter) and traces as
/// [`orderflow_telemetry::init`] says, as `service`. Colours when stderr is a terminal, or when
/// `orderflow up` says its own terminal takes them. Hold the result until the process ends.
pub fn init_telemetry(service: &'static str) -> orderflow_telemetry::Telemetry {
    let color = match std::env::var(LOG_COLOR_ENV).as_deref() {
        Ok("always") => true,
        Ok("never") => false,
        _ => std::io::stderr().is_terminal(),
    };
    orderflow_telemetry::init(service, color)
}

/// A token cancelled on Ctrl-C or SIGTERM, and, for children of `orderflow up`, when `up` is gone.
pub fn shutdown_token() -> CancellationToken {
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    if std::env::var_os(EXIT_WITH_PARENT_ENV).is_some() {
        let shutdown = shutdown.clone();
        // A plain thread, not tokio's blocking pool: the runtime waits for blocking tasks when
        // it shuts down, and this read only ends when `up` does.
        std::thread::spawn(move || cancel_when_parent_exits(&shutdown));
    }
    shutdown
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "Cannot listen for SIGTERM.");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("Shutting down.");
    shutdown.cancel();
}

/// Children of `up` have a pipe from `up` as stdin; when it closes, `up` is gone.
fn cancel_when_parent_exits(shutdown: &CancellationToken) {
    let mut stdin = std::io::stdin().lock();
    let mut buffer = [0u8; 64];
    while let Ok(read) = stdin.read(&mut buffer) {
        if read == 0 {
            break;
        }
    }
    tracing::info!("orderflow up is gone; shutting down.");
    shutdown.cancel();
}
