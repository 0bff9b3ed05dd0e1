//! What the appender and the reader share: statements prepared once and run again and again,
//! and the lookup of a partition's row by the names Tansu keys it with.

use anyhow::Context;
use libsql::{Connection, Statement};
use tansu_sans_io::ErrorCode;
use tansu_storage::{Error, Result, Topition};

/// The partition's row id and watermarks.
pub(crate) const PARTITION: &str = "SELECT tp.id, w.low, w.high FROM cluster c \
     JOIN topic t ON t.cluster = c.id \
     JOIN topition tp ON tp.topic = t.id \
     JOIN watermark w ON w.topition = tp.id \
     WHERE c.name = ?1 AND t.name = ?2 AND tp.partition = ?3";

/// A partition as stored: its row id and watermarks (`None` as Tansu left them).
pub(crate) struct Partition {
    pub(crate) id: i64,
    pub(crate) low: Option<i64>,
    pub(crate) high: Option<i64>,
}

pub(crate) async fn prepare(
    connection: &Connection,
    sql: &'static str,
) -> anyhow::Result<Statement> {
    connection
        .prepare(sql)
        .await
        .with_context(|| format!("cannot prepare {sql}"))
}

/// Runs a prepared statement that returns no rows and readies it for its next use.
pub(crate) async fn step(
    statement: &Statement,
    params: impl libsql::params::IntoParams,
) -> Result<()> {
    let outcome = statement.execute(params).await;
    statement.reset();
    outcome.map(|_| ()).map_err(Error::from)
}

/// Finds `topition` with the prepared [`PARTITION`] statement.
pub(crate) async fn partition(
    statement: &Statement,
    cluster: &str,
    topition: &Topition,
) -> Result<Partition> {
    let found = read_partition(statement, cluster, topition).await;
    statement.reset();
    found?.ok_or(Error::Api(ErrorCode::UnknownTopicOrPartition))
}

async fn read_partition(
    statement: &Statement,
    cluster: &str,
    topition: &Topition,
) -> libsql::Result<Option<Partition>> {
    let mut rows = statement
        .query((cluster, topition.topic(), topition.partition()))
        .await?;
    match rows.next().await? {
        Some(row) => Ok(Some(Partition {
            id: row.get(0)?,
            low: row.get(1)?,
            high: row.get(2)?,
        })),
        None => Ok(None),
    }
}
