//! Every request to RabbitMQ has a time limit.

use std::time::Duration;

use orderflow_transport::BoxError;

/// Waits at most `limit` for a request to RabbitMQ. lapin (4.12) can leave a request unanswered
/// for good when the connection breaks just as it is sent: after a node restart under load, a
/// consumer's acknowledgement never returned, so it neither consumed nor connected again (and
/// did not stop at shutdown). Past the limit the caller drops the connection and makes a new
/// one; RabbitMQ delivers again whatever was not acknowledged (the idempotent consumer absorbs
/// it), and the outbox publishes again whatever was not confirmed.
pub(crate) async fn within<T, E: Into<BoxError>>(
    limit: Duration,
    what: &str,
    request: impl Future<Output = Result<T, E>>,
) -> Result<T, BoxError> {
    match tokio::time::timeout(limit, request).await {
        Ok(answer) => answer.map_err(Into::into),
        Err(_) => Err(format!("{what} got no answer from RabbitMQ within {limit:?}").into()),
    }
}
