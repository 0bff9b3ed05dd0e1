//! Fetched records and partition offsets, read from Tansu's tables by statements prepared once.
//!
//! Tansu 0.6.0's fetch service asks its storage, for every partition of every fetch request, for
//! records until an answer comes back empty, then for the partition's offsets: at least five
//! statements per partition, each prepared anew, each finding the partition by joining cluster,
//! topic and topition (its offsets also through five transaction tables), plus one more statement
//! per fetched record for its headers. A consumer that is kept up to date sends a fetch after
//! every produce (`crate::long_poll`), so with two consumer groups on five partitions the broker
//! spent most of a core preparing statements at 500 orders/s (`perf`: SQLite's query planner on
//! top), more than at full load.
//!
//! [`Reader`] answers the same questions from the same tables with its own connection: the
//! partition's row and watermarks, then its records from the fetch offset and all their headers,
//! in one read transaction, so that compaction never removes a record between the two.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use libsql::Statement;
use tansu_sans_io::record::{Header, Record, deflated, inflated};
use tansu_storage::{Error, OffsetStage, Result, Topition};

use crate::statements::{PARTITION, Partition, partition, prepare, step};

const RECORDS: &str = "SELECT offset_id, attributes, timestamp, k, v, producer_id, producer_epoch \
     FROM record WHERE topition = ?1 AND offset_id >= ?2 AND offset_id < ?3 ORDER BY offset_id";
/// By `orderflow_header_by_record` (`crate::indexes`), in the order they were stored.
const HEADERS: &str = "SELECT offset_id, k, v FROM header \
     WHERE topition = ?1 AND offset_id >= ?2 AND offset_id <= ?3 ORDER BY offset_id, rowid";

/// Reads records and offsets; one request at a time (the broker holds it behind a lock).
pub(crate) struct Reader {
    cluster: String,
    begin: Statement,
    end: Statement,
    partition: Statement,
    records: Statement,
    headers: Statement,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

/// A stored record, before it is put in a batch.
struct StoredRecord {
    offset: i64,
    attributes: i16,
    timestamp: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
    producer_id: i64,
    producer_epoch: i16,
    headers: Vec<(Option<Bytes>, Option<Bytes>)>,
}

impl StoredRecord {
    /// What Tansu's fetch counts against the consumer's byte limit.
    fn bytes(&self) -> u64 {
        let len = |bytes: &Option<Bytes>| bytes.as_ref().map_or(0, |b| b.len() as u64);
        len(&self.key) + len(&self.value)
    }
}

impl Reader {
    /// Opens `storage_file`, whose tables Tansu has created already.
    pub(crate) async fn open(storage_file: &Path, cluster: &str) -> anyhow::Result<Self> {
        let db = libsql::Builder::new_local(storage_file)
            .build()
            .await
            .with_context(|| format!("cannot open {}", storage_file.display()))?;
        let connection = db.connect()?;
        connection.busy_timeout(Duration::from_secs(5))?;
        let prepare = |sql: &'static str| prepare(&connection, sql);
        Ok(Reader {
            cluster: cluster.to_owned(),
            begin: prepare("BEGIN").await?,
            end: prepare("COMMIT").await?,
            partition: prepare(PARTITION).await?,
            records: prepare(RECORDS).await?,
            headers: prepare(HEADERS).await?,
        })
    }

    /// The partition's first offset and high watermark. Tansu 0.6.0 reports its high watermark as
    /// its last stable offset too (it reads the wrong column), and so does this: the stable
    /// offset only differs while a Kafka transaction is open, and orderflow uses none.
    pub(crate) async fn offset_stage(&self, topition: &Topition) -> Result<OffsetStage> {
        let partition = partition(&self.partition, &self.cluster, topition).await?;
        offset_stage(
            partition.low.unwrap_or_default(),
            partition.high.unwrap_or_default(),
        )
    }

    /// The partition's records from `offset`, below its high watermark, as one batch per run of
    /// records with the same attributes and producer (as Tansu's fetch answers): at least one
    /// record if there is any, then as many as fit in `max_bytes` (keys and values counted).
    pub(crate) async fn fetch(
        &self,
        topition: &Topition,
        offset: i64,
        max_bytes: u32,
    ) -> Result<Vec<deflated::Batch>> {
        step(&self.begin, ()).await?;
        let read = self.read(topition, offset, max_bytes).await;
        step(&self.end, ()).await?;
        batches(read?)
    }

    async fn read(
        &self,
        topition: &Topition,
        offset: i64,
        max_bytes: u32,
    ) -> Result<Vec<StoredRecord>> {
        let partition = partition(&self.partition, &self.cluster, topition).await?;
        let read = self
            .read_records(&partition, offset, u64::from(max_bytes))
            .await;
        self.records.reset();
        let mut records = read?;
        if let (Some(first), Some(last)) = (records.first(), records.last()) {
            let range = (partition.id, first.offset, last.offset);
            let headers = self.read_headers(range, &mut records).await;
            self.headers.reset();
            headers?;
        }
        Ok(records)
    }

    async fn read_records(
        &self,
        partition: &Partition,
        offset: i64,
        max_bytes: u64,
    ) -> Result<Vec<StoredRecord>> {
        let mut rows = self
            .records
            .query((partition.id, offset, partition.high.unwrap_or_default()))
            .await?;
        let mut records: Vec<StoredRecord> = Vec::new();
        let mut bytes = 0;
        while let Some(row) = rows.next().await? {
            let record = StoredRecord {
                offset: row.get(0)?,
                attributes: row.get::<Option<i32>>(1)?.unwrap_or(0) as i16,
                timestamp: row.get::<Option<i64>>(2)?.unwrap_or(0),
                key: row.get::<Option<Vec<u8>>>(3)?.map(Bytes::from),
                value: row.get::<Option<Vec<u8>>>(4)?.map(Bytes::from),
                producer_id: row.get::<Option<i64>>(5)?.unwrap_or(-1),
                producer_epoch: row.get::<Option<i32>>(6)?.unwrap_or(-1) as i16,
                headers: Vec::new(),
            };
            bytes += record.bytes();
            // Kafka answers with at least one record, however large (Tansu's fetch would answer
            // with none, and its consumer would ask again forever).
            if !records.is_empty() && bytes >= max_bytes {
                break;
            }
            records.push(record);
        }
        Ok(records)
    }

    async fn read_headers(
        &self,
        (partition, first, last): (i64, i64, i64),
        records: &mut [StoredRecord],
    ) -> Result<()> {
        let mut rows = self.headers.query((partition, first, last)).await?;
        let mut records = records.iter_mut().peekable();
        while let Some(row) = rows.next().await? {
            let offset: i64 = row.get(0)?;
            while records.next_if(|record| record.offset < offset).is_some() {}
            if let Some(record) = records.peek_mut().filter(|r| r.offset == offset) {
                let key = row.get::<Option<Vec<u8>>>(1)?.map(Bytes::from);
                let value = row.get::<Option<Vec<u8>>>(2)?.map(Bytes::from);
                record.headers.push((key, value));
            }
        }
        Ok(())
    }
}

/// Tansu's `OffsetStage` has private fields and no constructor; deserializing one is the only
/// way to make one outside Tansu.
fn offset_stage(log_start: i64, high_watermark: i64) -> Result<OffsetStage> {
    serde_json::from_value(serde_json::json!({
        "last_stable": high_watermark,
        "high_watermark": high_watermark,
        "log_start": log_start,
    }))
    .map_err(|error| Error::Message(format!("cannot describe a partition's offsets: {error}")))
}

/// The records in batches, a new one wherever attributes or producer change; an empty batch
/// when there are none, as Tansu's fetch answers.
fn batches(records: Vec<StoredRecord>) -> Result<Vec<deflated::Batch>> {
    let mut batches = Vec::new();
    let mut building: Option<inflated::Builder> = None;
    for record in records {
        let continues = building.as_ref().is_some_and(|batch| {
            batch.attributes == record.attributes
                && batch.producer_id == record.producer_id
                && batch.producer_epoch == record.producer_epoch
        });
        if !continues && let Some(batch) = building.take() {
            batches.push(batch.build()?.try_into()?);
        }
        let batch = building.take().unwrap_or_else(|| {
            inflated::Batch::builder()
                .base_offset(record.offset)
                .base_timestamp(record.timestamp)
                .max_timestamp(record.timestamp)
                .attributes(record.attributes)
                .producer_id(record.producer_id)
                .producer_epoch(record.producer_epoch)
        });
        let offset_delta = i32::try_from(record.offset - batch.base_offset)?;
        let max_timestamp = batch.max_timestamp.max(record.timestamp);
        let mut stored = Record::builder()
            .offset_delta(offset_delta)
            .timestamp_delta(record.timestamp - batch.base_timestamp)
            .key(record.key)
            .value(record.value);
        for (key, value) in record.headers {
            let mut header = Header::builder();
            if let Some(key) = key {
                header = header.key(key);
            }
            if let Some(value) = value {
                header = header.value(value);
            }
            stored = stored.header(header);
        }
        building = Some(
            batch
                .record(stored)
                .last_offset_delta(offset_delta)
                .max_timestamp(max_timestamp),
        );
    }
    match building {
        Some(batch) => batches.push(batch.build()?.try_into()?),
        None => batches.push(inflated::Batch::builder().build()?.try_into()?),
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(offset: i64, attributes: i16, producer_id: i64) -> StoredRecord {
        StoredRecord {
            offset,
            attributes,
            timestamp: 1_000 + offset * 10,
            key: Some(Bytes::from(format!("k{offset}"))),
            value: None,
            producer_id,
            producer_epoch: -1,
            headers: vec![(Some(Bytes::from_static(b"h")), None)],
        }
    }

    fn inflate(batch: deflated::Batch) -> inflated::Batch {
        inflated::Batch::try_from(batch).expect("a valid batch")
    }

    #[test]
    fn records_of_one_producer_and_attributes_make_one_batch_and_a_change_starts_another() {
        let records = vec![
            stored(7, 0, -1),
            stored(8, 0, -1),
            stored(9, 0, 42),
            stored(10, 0, 42),
        ];

        let batches: Vec<inflated::Batch> = batches(records)
            .expect("batches")
            .into_iter()
            .map(inflate)
            .collect();

        assert_eq!(batches.len(), 2);
        let (first, second) = (&batches[0], &batches[1]);
        assert_eq!((first.base_offset, first.last_offset_delta), (7, 1));
        assert_eq!((second.base_offset, second.producer_id), (9, 42));
        assert_eq!(first.base_timestamp, 1_070);
        assert_eq!(first.records[1].timestamp_delta, 10);
        assert_eq!(first.records[1].offset_delta, 1);
        assert_eq!(first.records[1].key.as_deref(), Some(&b"k8"[..]));
        assert_eq!(first.records[1].value, None);
        assert_eq!(first.records[1].headers.len(), 1);
    }

    #[test]
    fn no_records_make_one_empty_batch() {
        let batches = batches(Vec::new()).expect("batches");

        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].record_count, 0);
    }
}
