//! Produced batches, appended to Tansu's tables by statements prepared once.
//!
//! Tansu 0.6.0 prepares every SQL statement anew each time it runs one, and stores a produced
//! record with one insert for the record and one more per header, each joining cluster, topic
//! and topition (the header's also record) to find ids it could look up once per batch. An
//! order's event is two records of six headers each: fourteen statements parsed and planned per
//! order. Under the relay's load SQLite's parser and planner took 44% of the broker's CPU (`perf
//! record` of `orderflow-broker` during `orderflow load -n 6000 -c 16`), and a batch of 500
//! events took 280 ms to be acknowledged.
//!
//! [`Appender`] writes the same rows into the same tables, in one transaction per batch as
//! Tansu's produce does, with its own connection and statements prepared when the broker starts.
//! Everything else (fetch, offsets, compaction) still reads and writes them through Tansu.
//! Only the batches orderflow's producers send come here: neither idempotent nor transactional
//! (`docs/embedded-broker.md`); those that are go to Tansu's produce, which checks their
//! sequences and transactions ([`crate::storage`]).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use libsql::{Connection, Statement};
use tansu_sans_io::record::{deflated, inflated};
use tansu_storage::{Result, Topition};

use crate::statements::{PARTITION, partition, prepare, step};

/// Producer id and epoch stay empty: only Tansu's produce stores transactional batches.
const RECORD: &str = "INSERT INTO record \
     (topition, offset_id, attributes, producer_id, producer_epoch, timestamp, k, v) \
     VALUES (?1, ?2, ?3, NULL, NULL, ?4, ?5, ?6)";
const HEADER: &str = "INSERT INTO header (topition, offset_id, k, v) VALUES (?1, ?2, ?3, ?4)";
const WATERMARK: &str = "UPDATE watermark SET low = ?2, high = ?3, last_updated = current_timestamp \
     WHERE topition = ?1";

/// Writes produced batches; one at a time (the broker holds it behind a lock).
pub(crate) struct Appender {
    cluster: String,
    connection: Connection,
    begin: Statement,
    commit: Statement,
    rollback: Statement,
    partition: Statement,
    record: Statement,
    header: Statement,
    watermark: Statement,
}

impl std::fmt::Debug for Appender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Appender")
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

impl Appender {
    /// Opens `storage_file`, whose tables Tansu has created already.
    pub(crate) async fn open(storage_file: &Path, cluster: &str) -> anyhow::Result<Self> {
        let db = libsql::Builder::new_local(storage_file)
            .build()
            .await
            .with_context(|| format!("cannot open {}", storage_file.display()))?;
        let connection = db.connect()?;
        // Tansu's connection commits as this: durable in the WAL, synced at checkpoints.
        connection
            .execute("PRAGMA synchronous = normal", ())
            .await?;
        // Writes through Tansu never overlap ours (crate::storage), but a checkpoint or another
        // process reading the file may hold a lock for a moment.
        connection.busy_timeout(Duration::from_secs(5))?;
        let prepare = |sql: &'static str| prepare(&connection, sql);
        Ok(Appender {
            cluster: cluster.to_owned(),
            begin: prepare("BEGIN IMMEDIATE").await?,
            commit: prepare("COMMIT").await?,
            rollback: prepare("ROLLBACK").await?,
            partition: prepare(PARTITION).await?,
            record: prepare(RECORD).await?,
            header: prepare(HEADER).await?,
            watermark: prepare(WATERMARK).await?,
            connection,
        })
    }

    /// Appends `batch` to `topition` in one transaction; returns the offset of its first record.
    pub(crate) async fn append(&self, topition: &Topition, batch: deflated::Batch) -> Result<i64> {
        let batch = inflated::Batch::try_from(batch)?;
        step(&self.begin, ()).await?;
        match self.append_in_transaction(topition, &batch).await {
            Ok(base_offset) => {
                step(&self.commit, ()).await?;
                Ok(base_offset)
            }
            Err(error) => {
                if !self.connection.is_autocommit() {
                    step(&self.rollback, ()).await?;
                }
                Err(error)
            }
        }
    }

    async fn append_in_transaction(
        &self,
        topition: &Topition,
        batch: &inflated::Batch,
    ) -> Result<i64> {
        let partition = partition(&self.partition, &self.cluster, topition).await?;
        let (id, low, high) = (partition.id, partition.low, partition.high);
        // As Tansu numbers them: from the high watermark, one after another.
        let base_offset = high.unwrap_or_default();
        for (offset, record) in (base_offset..).zip(&batch.records) {
            step(
                &self.record,
                (
                    id,
                    offset,
                    i64::from(batch.attributes),
                    batch.base_timestamp + record.timestamp_delta,
                    record.key.as_deref(),
                    record.value.as_deref(),
                ),
            )
            .await?;
            for header in &record.headers {
                step(
                    &self.header,
                    (id, offset, header.key.as_deref(), header.value.as_deref()),
                )
                .await?;
            }
        }
        let high = base_offset + i64::from(batch.last_offset_delta) + 1;
        step(&self.watermark, (id, low.unwrap_or_default(), high)).await?;
        Ok(base_offset)
    }
}
