//! The consumer services this executable runs: one line each. Everything else (the
//! subcommand, `up`, the front door, `replay`, `check`, `load`) finds them here and in
//! orderflow-directory.

use futures::future::BoxFuture;
use orderflow_consumer::{ReplayReport, Service};
use orderflow_directory as directory;
use orderflow_storage::DatabaseSettings;
use orderflow_tools::check::CheckView;
use tokio_util::sync::CancellationToken;

use super::args::ConsumerArgs;
use super::commands::{replay_service, run_consumer};

/// The consumer services, in the directory's order.
pub(crate) fn consumers() -> [Consumer; 3] {
    [
        Consumer::of::<orderflow_shipping::Shipping>("shipments"),
        Consumer::of::<orderflow_invoicing::Invoicing>("invoices"),
        Consumer::of::<orderflow_bonus::Bonus>("orders earning points"),
    ]
}

/// One consumer service as the command line uses it.
pub(crate) struct Consumer {
    pub(crate) service: &'static directory::Service,
    pub(crate) run: fn(ConsumerArgs, CancellationToken) -> BoxFuture<'static, anyhow::Result<()>>,
    pub(crate) replay: fn(DatabaseSettings) -> BoxFuture<'static, anyhow::Result<ReplayReport>>,
    pub(crate) check: CheckView,
}

impl Consumer {
    /// `S`, its copies called `copies` in `check`'s report.
    fn of<S: Service>(copies: &'static str) -> Self {
        Consumer {
            service: S::SERVICE,
            run: |args, shutdown| Box::pin(run_consumer::<S>(args, shutdown)),
            replay: |settings| Box::pin(async move { replay_service::<S>(&settings).await }),
            check: orderflow_consumer::Application::<S>::check_view(copies),
        }
    }
}

/// The consumer called `name`.
pub(crate) fn consumer(name: &str) -> Option<Consumer> {
    consumers().into_iter().find(|c| c.service.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_consumer_in_the_directory_has_an_entry_and_no_other() {
        let table: Vec<&str> = consumers().iter().map(|c| c.service.name).collect();
        let directory: Vec<&str> = directory::consumers().map(|s| s.name).collect();
        assert_eq!(table, directory);
    }
}
