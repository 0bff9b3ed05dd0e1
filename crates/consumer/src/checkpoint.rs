//! The feed position of a consumer service, kept in its own database (tables from this crate's
//! migrations, in every consumer service's schema), moved in the same transaction as each entry's effect.

use async_trait::async_trait;
use orderflow_storage::Database;
use orderflow_transport::{BoxError, Checkpoint, CheckpointStore, ParkedEvent};
use sqlx::{AnyConnection, Row};

/// Moves `checkpoint` from `expected` to `next` inside the caller's transaction. `false` when the
/// stored position is no longer `expected` (another instance moved it): then the caller must
/// roll back and write nothing.
pub async fn advance_checkpoint(
    connection: &mut AnyConnection,
    checkpoint: &Checkpoint,
) -> Result<bool, sqlx::Error> {
    if checkpoint.expected == 0 {
        let inserted = sqlx::query("INSERT INTO feed_checkpoint (stream, position) VALUES ($1, $2) ON CONFLICT (stream) DO NOTHING")
            .bind(&checkpoint.stream)
            .bind(checkpoint.next)
            .execute(&mut *connection)
            .await?
            .rows_affected();
        if inserted == 1 {
            return Ok(true);
        }
    }
    let moved =
        sqlx::query("UPDATE feed_checkpoint SET position = $1 WHERE stream = $2 AND position = $3")
            .bind(checkpoint.next)
            .bind(&checkpoint.stream)
            .bind(checkpoint.expected)
            .execute(&mut *connection)
            .await?
            .rows_affected();
    Ok(moved == 1)
}

/// `CheckpointStore` on a consumer service's database (the feed's position, an AMQP stream's).
#[derive(Debug, Clone)]
pub struct DatabaseCheckpoints {
    pub db: Database,
}

#[async_trait]
impl CheckpointStore for DatabaseCheckpoints {
    async fn position(&self, stream: &str) -> Result<i64, BoxError> {
        let row = sqlx::query("SELECT position FROM feed_checkpoint WHERE stream = $1")
            .bind(stream)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(match row {
            Some(row) => row.try_get("position")?,
            None => 0,
        })
    }

    async fn pass(
        &self,
        checkpoint: Option<&Checkpoint>,
        parked: Option<&ParkedEvent<'_>>,
    ) -> Result<bool, BoxError> {
        let mut tx = self.db.begin().await?;
        if let Some(checkpoint) = checkpoint
            && !advance_checkpoint(&mut tx, checkpoint).await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(parked) = parked {
            crate::parking::insert_parked(&mut tx, parked).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
