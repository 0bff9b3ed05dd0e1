use std::sync::Arc;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::KafkaSettings;

/// How the order-state topic is compacted (Apache Kafka's topic configs; the embedded broker
/// reads `cleanup.policy` and compacts in its maintenance task instead):
/// - `segment.ms` 10 s: Kafka never compacts the segment being written, so segments roll often
///   enough for compaction to show in a demo (the default is a week);
/// - `min.cleanable.dirty.ratio` 0.01: the cleaner runs as soon as anything is superseded;
/// - `delete.retention.ms` one day (Kafka's default): how long a tombstone stays. A reader that
///   is away for longer than that may miss a deletion, so it must not be small.
pub const COMPACTED: [(&str, &str); 4] = [
    ("cleanup.policy", "compact"),
    ("segment.ms", "10000"),
    ("min.cleanable.dirty.ratio", "0.01"),
    ("delete.retention.ms", "86400000"),
];

/// Creates `topic` with `partitions` partitions when it does not exist. An existing topic is
/// left alone; if it has fewer partitions than asked for, that is logged as a warning, because
/// consumer instances beyond its partition count will get no work.
pub async fn ensure_topic(
    settings: &KafkaSettings,
    topic: &str,
    partitions: i32,
) -> Result<(), KafkaError> {
    ensure_topic_with(settings, topic, partitions, &[]).await
}

/// [`ensure_topic`], creating it with `config` (e.g. [`COMPACTED`]).
pub async fn ensure_topic_with(
    settings: &KafkaSettings,
    topic: &str,
    partitions: i32,
    config: &[(&str, &str)],
) -> Result<(), KafkaError> {
    let admin: Arc<AdminClient<DefaultClientContext>> =
        Arc::new(settings.client_config("orderflow-admin").create()?);
    let options = AdminOptions::new()
        .operation_timeout(Some(settings.request_timeout))
        .request_timeout(Some(settings.request_timeout));
    let mut new_topic = NewTopic::new(
        topic,
        partitions,
        TopicReplication::Fixed(settings.replication_factor),
    );
    for (key, value) in config {
        new_topic = new_topic.set(key, value);
    }
    let min_insync = settings.min_insync_replicas.map(|n| n.to_string());
    if let Some(min_insync) = &min_insync {
        new_topic = new_topic.set("min.insync.replicas", min_insync);
    }
    let results = admin.create_topics([&new_topic], &options).await?;
    for result in results {
        match result {
            Ok(name) => tracing::info!(topic = %name, partitions, "Topic created."),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {
                let existing = partition_count(Arc::clone(&admin), topic, settings).await?;
                if existing < partitions {
                    tracing::warn!(
                        topic,
                        existing,
                        expected = partitions,
                        "Topic has fewer partitions than expected; extra consumer instances will idle."
                    );
                }
            }
            Err((name, code)) => {
                tracing::warn!(topic = %name, error = %code, "Topic could not be created.");
                return Err(KafkaError::AdminOp(code));
            }
        }
    }
    Ok(())
}

async fn partition_count(
    admin: Arc<AdminClient<DefaultClientContext>>,
    topic: &str,
    settings: &KafkaSettings,
) -> Result<i32, KafkaError> {
    let (name, timeout) = (topic.to_owned(), settings.request_timeout);
    // librdkafka's metadata call blocks its thread.
    let metadata =
        tokio::task::spawn_blocking(move || admin.inner().fetch_metadata(Some(&name), timeout))
            .await
            .map_err(|_| KafkaError::Canceled)??;
    Ok(metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map_or(0, |t| t.partitions().len() as i32))
}

/// The id of the cluster `settings` point at (`None` from a broker that has none).
pub(crate) async fn cluster_id(settings: &KafkaSettings) -> Result<Option<String>, KafkaError> {
    let admin: AdminClient<DefaultClientContext> =
        settings.client_config("orderflow-admin").create()?;
    let timeout = settings.request_timeout;
    // librdkafka's metadata call blocks its thread; without an answer it says `None`.
    let id = tokio::task::spawn_blocking(move || admin.inner().fetch_cluster_id(timeout))
        .await
        .map_err(|_| KafkaError::Canceled)?;
    id.map(Some).ok_or(KafkaError::MetadataFetch(
        RDKafkaErrorCode::BrokerTransportFailure,
    ))
}
