//! An index Tansu's SQLite schema lacks, added to the broker's own storage file.
//!
//! Tansu 0.6.0 reads each fetched record's headers with a query on `header` by
//! `(topition, offset_id)`, and `header` has no index on those columns: every record a consumer
//! fetches scans every header ever stored, so consumers slow down as the history grows (after
//! 20,000 orders: 92 orders/s end to end without the index, 1,010 with it, measured with
//! `orderflow load -n 20000 -c 8` against two shipping members and one invoicing). The broker
//! spends that time holding Tansu's one storage worker, so produce and offset-commit requests
//! wait behind it too. The index changes no data; Tansu's own statements use it unchanged.

use std::path::Path;

use anyhow::Context;

const HEADER_INDEX: &str = "orderflow_header_by_record";

/// Creates the index if it is missing (Tansu's tables must exist already).
pub(crate) async fn ensure(storage_file: &Path) -> anyhow::Result<()> {
    let db = libsql::Builder::new_local(storage_file)
        .build()
        .await
        .with_context(|| format!("cannot open {}", storage_file.display()))?;
    let connection = db.connect()?;
    let mut existing = connection
        .query(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1",
            [HEADER_INDEX],
        )
        .await?;
    if existing.next().await?.is_some() {
        return Ok(());
    }
    tracing::info!(
        "Indexing record headers in the broker's storage (once; Tansu lacks the index)."
    );
    connection
        .execute(
            &format!("CREATE INDEX IF NOT EXISTS {HEADER_INDEX} ON header (topition, offset_id)"),
            (),
        )
        .await
        .context("cannot index record headers")?;
    Ok(())
}
