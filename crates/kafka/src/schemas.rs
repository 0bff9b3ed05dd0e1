//! The schema topic (`<topic>.schemas`, compacted, one partition): a producer that writes Avro
//! publishes its writer schema there before its first record (key the fingerprint, value the
//! schema's JSON); a consumer that meets a fingerprint it does not know reads the topic to its
//! end. So no schema-registry server is needed, and a reader started long after every producer
//! stopped still finds every schema the history was written with.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use orderflow_events::avro::{Fingerprint, SchemaVersion, WriterSchema};
use orderflow_transport::WriterSchemas;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::{COMPACTED, KafkaSettings, ensure_topic_with};

/// Publishes `schema` on the schema topic and returns once the broker acknowledged it.
pub(crate) async fn publish_schema(
    producer: &FutureProducer,
    settings: &KafkaSettings,
    schema: &WriterSchema,
) -> Result<(), KafkaError> {
    let topic = settings.schemas_topic();
    ensure_topic_with(settings, &topic, 1, &COMPACTED).await?;
    let key = schema.fingerprint().to_string();
    let record = FutureRecord::to(&topic).key(&key).payload(schema.json());
    producer
        .send(record, settings.request_timeout)
        .await
        .map_err(|(error, _)| error)?;
    tracing::info!(topic, fingerprint = %key, schema = %schema.label(), "Writer schema published.");
    Ok(())
}

/// The writer schemas a consumer knows: the one it reads into, and those read from the schema
/// topic.
#[derive(Debug)]
pub struct TopicSchemas {
    settings: KafkaSettings,
    known: RwLock<HashMap<Fingerprint, Arc<WriterSchema>>>,
}

impl WriterSchemas for TopicSchemas {
    fn writer_schema(&self, fingerprint: Fingerprint) -> Option<Arc<WriterSchema>> {
        self.known
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&fingerprint)
            .cloned()
    }
}

impl TopicSchemas {
    /// Knows `reader`'s schema; everything else comes from the topic.
    pub fn new(settings: &KafkaSettings, reader: SchemaVersion) -> Self {
        let own = reader.schema();
        TopicSchemas {
            settings: settings.clone(),
            known: RwLock::new(HashMap::from([(own.fingerprint(), Arc::new(own.clone()))])),
        }
    }

    /// The topic it reads.
    pub fn topic(&self) -> String {
        self.settings.schemas_topic()
    }

    /// Reads the schema topic from its beginning to its end and learns every schema on it;
    /// returns how many were new. A record that is not a schema under its fingerprint is
    /// logged and skipped: it is not ours to repair, and the fingerprint stays unknown.
    pub async fn refresh(self: &Arc<Self>) -> Result<usize, KafkaError> {
        let this = Arc::clone(self);
        // librdkafka's consumer calls block; the topic is small and read once per unknown
        // fingerprint, so a blocking thread is simpler than a stream.
        let published = tokio::task::spawn_blocking(move || this.read_topic())
            .await
            .map_err(|_| KafkaError::Canceled)??;
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        let mut new = 0;
        for schema in published {
            if let std::collections::hash_map::Entry::Vacant(entry) =
                known.entry(schema.fingerprint())
            {
                tracing::info!(fingerprint = %schema.fingerprint(), schema = %schema.label(), "Writer schema learnt from the schema topic.");
                entry.insert(Arc::new(schema));
                new += 1;
            }
        }
        Ok(new)
    }

    fn read_topic(&self) -> Result<Vec<WriterSchema>, KafkaError> {
        let topic = self.settings.schemas_topic();
        let timeout = self.settings.request_timeout;
        let consumer: BaseConsumer = self
            .settings
            .client_config("orderflow-schema-reader")
            // Assigned, never subscribed: the group id is required, but no offset is committed.
            .set("group.id", "orderflow-schema-reader")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            // Says when a partition's end is reached, even if its last offsets were compacted away.
            .set("enable.partition.eof", "true")
            .create()?;
        let metadata = consumer.fetch_metadata(Some(&topic), timeout)?;
        let mut assignment = TopicPartitionList::new();
        let mut ends = HashMap::new();
        for partition in metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic && t.error().is_none())
            .flat_map(|t| t.partitions())
        {
            let (low, high) = consumer.fetch_watermarks(&topic, partition.id(), timeout)?;
            if high > low {
                assignment.add_partition_offset(&topic, partition.id(), Offset::Beginning)?;
                ends.insert(partition.id(), high);
            }
        }
        if ends.is_empty() {
            return Ok(Vec::new()); // no schema published yet (or no topic yet)
        }
        consumer.assign(&assignment)?;
        let deadline = Instant::now() + timeout;
        let mut schemas = Vec::new();
        while !ends.is_empty() {
            if Instant::now() > deadline {
                return Err(KafkaError::MessageConsumption(
                    RDKafkaErrorCode::RequestTimedOut,
                ));
            }
            let Some(message) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let message = match message {
                Ok(message) => message,
                Err(KafkaError::PartitionEOF(partition)) => {
                    ends.remove(&partition);
                    continue;
                }
                Err(error) => return Err(error),
            };
            if ends
                .get(&message.partition())
                .is_some_and(|end| message.offset() + 1 >= *end)
            {
                ends.remove(&message.partition());
            }
            match read_schema(message.key(), message.payload()) {
                Ok(Some(schema)) => schemas.push(schema),
                Ok(None) => {}
                Err(error) => tracing::warn!(
                    topic,
                    offset = message.offset(),
                    %error,
                    "A record on the schema topic is not a schema; skipped."
                ),
            }
        }
        Ok(schemas)
    }
}

/// A schema record: `None` for a tombstone.
fn read_schema(
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<Option<WriterSchema>, Box<dyn std::error::Error + Send + Sync>> {
    let Some(value) = value else {
        return Ok(None);
    };
    let key = std::str::from_utf8(key.ok_or("the record has no key")?)?;
    let fingerprint: Fingerprint = key.parse()?;
    Ok(Some(WriterSchema::parse_published(
        fingerprint,
        std::str::from_utf8(value)?,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_record_is_checked_against_its_key() {
        let v2 = SchemaVersion::V2.schema();
        let key = v2.fingerprint().to_string();
        let read = read_schema(Some(key.as_bytes()), Some(v2.json().as_bytes()))
            .unwrap()
            .unwrap();
        assert_eq!(read.fingerprint(), v2.fingerprint());
        assert!(read_schema(Some(key.as_bytes()), None).unwrap().is_none());
        let v1 = SchemaVersion::V1.schema().fingerprint().to_string();
        assert!(read_schema(Some(v1.as_bytes()), Some(v2.json().as_bytes())).is_err());
        assert!(read_schema(None, Some(v2.json().as_bytes())).is_err());
        assert!(read_schema(Some(b"xyz"), Some(v2.json().as_bytes())).is_err());
        assert!(read_schema(Some(key.as_bytes()), Some(b"{")).is_err());
    }
}
