//! The broker's listener: Tansu's connection handling and request routes, with two routes of
//! ours ([`crate::long_poll`]).
//!
//! Tansu's `Broker::listen` builds every connection's routes itself, from a list nobody can
//! change, so this is its accept loop again (a page of code) around a route list of our own:
//! Tansu's public route functions for everything except fetch and produce, then ours for those.

use rama::layer::{MapErrLayer, MapStateLayer};
use rama::{Context, Layer as _, Service};
use tansu_broker::Error;
use tansu_broker::coordinator::group::Coordinator;
use tansu_broker::service::{auth, coordinator, storage as tansu};
use tansu_sans_io::{ApiKey as _, FetchRequest, ProduceRequest};
use tansu_service::{
    BytesFrameLayer, FrameRequestLayer, FrameRouteBuilder, FrameRouteService, TcpBytesLayer,
    TcpContext, TcpContextLayer,
};
use tansu_storage::Storage;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::long_poll::{Appended, LongPollFetch, TellingProduce};

type Routes = FrameRouteBuilder<(), Error>;
type Route<S> = fn(Routes, S) -> Result<Routes, Error>;

/// Serves every connection `listener` accepts until the future is dropped.
pub(crate) async fn serve_connections<G, S>(
    listener: TcpListener,
    cluster_id: &str,
    groups: G,
    storage: S,
) -> anyhow::Result<()>
where
    G: Coordinator,
    S: Storage + Clone + 'static,
{
    let appended = Appended::new();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        // Out of file descriptors, say; the next accept may work again.
                        tracing::warn!(%error, "The embedded broker could not accept a connection.");
                        continue;
                    }
                };
                stream.set_nodelay(true)?;
                let connection = connection(cluster_id, groups.clone(), storage.clone(), appended.clone())
                    .map_err(|error| anyhow::anyhow!("{error}"))?;
                connections.spawn(async move { serve(connection, stream).await });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve(
    connection: impl Service<(), TcpStream, Response = (), Error = Error>,
    stream: TcpStream,
) {
    match connection.serve(Context::default(), stream).await {
        Ok(()) => {}
        // A client that went away: librdkafka closes idle connections, the services get killed.
        Err(Error::Io(error))
            if matches!(
                error.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionReset
            ) => {}
        Err(error) => tracing::warn!(%error, "The embedded broker dropped a connection."),
    }
}

/// One connection's service: Kafka frames off the socket, routed by API key.
fn connection<G, S>(
    cluster_id: &str,
    groups: G,
    storage: S,
    appended: Appended,
) -> Result<impl Service<(), TcpStream, Response = (), Error = Error>, Error>
where
    G: Coordinator,
    S: Storage + Clone + 'static,
{
    let routes = storage_routes(FrameRouteService::<(), Error>::builder(), storage, appended)?;
    let routes = coordinator::services(routes, groups)?;
    let routes = auth::services(routes)?.build()?;
    Ok((
        TcpContextLayer::new(TcpContext::default().cluster_id(Some(cluster_id.into()))),
        TcpBytesLayer::default(),
        BytesFrameLayer::default().with_sasl_config(None),
    )
        .into_layer(routes))
}

/// Tansu's storage routes (`tansu_broker::service::storage::services`) with fetch and produce
/// replaced.
fn storage_routes<S>(routes: Routes, storage: S, appended: Appended) -> Result<Routes, Error>
where
    S: Storage + Clone + 'static,
{
    let tansus: [Route<S>; 24] = [
        tansu::add_offsets_to_txn,
        tansu::add_partitions_to_txn,
        tansu::alter_user_scram_credentials,
        tansu::consumer_group_describe,
        tansu::create_acls,
        tansu::create_topics,
        tansu::delete_groups,
        tansu::delete_records,
        tansu::delete_topics,
        tansu::describe_acls,
        tansu::describe_cluster,
        tansu::describe_configs,
        tansu::describe_groups,
        tansu::describe_topic_partitions,
        tansu::describe_user_scram_credentials,
        tansu::find_coordinator,
        tansu::get_telemetry_subscriptions,
        tansu::incremental_alter_configs,
        tansu::init_producer_id,
        tansu::list_groups,
        tansu::list_offsets,
        tansu::list_partition_reassignments,
        tansu::metadata,
        tansu::txn_offset_commit_request,
    ];
    let routes = tansus
        .iter()
        .try_fold(routes, |routes, route| route(routes, storage.clone()))?;
    let fetch_storage = storage.clone();
    let routes = routes.with_route(
        FetchRequest::KEY,
        (
            MapErrLayer::new(Error::from),
            MapStateLayer::new(move |_| fetch_storage),
            FrameRequestLayer::<FetchRequest>::new(),
        )
            .into_layer(LongPollFetch {
                appended: appended.clone(),
            })
            .boxed(),
    )?;
    Ok(routes.with_route(
        ProduceRequest::KEY,
        (
            MapErrLayer::new(Error::from),
            MapStateLayer::new(move |_| storage),
            FrameRequestLayer::<ProduceRequest>::new(),
        )
            .into_layer(TellingProduce { appended })
            .boxed(),
    )?)
}
