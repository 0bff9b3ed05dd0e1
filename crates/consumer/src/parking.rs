//! The events a consumer service could not apply: listed in its own database (`parked_event`,
//! from this crate's migrations), shown at `/parked`, replayed by
//! `orderflow replay`.

use askama::Template;
use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use orderflow_events::{EpochMillis, OrderPlaced};
use orderflow_storage::Database;
use orderflow_transport::error_chain;
use orderflow_transport::{BoxError, OrderEventHandler, ParkedEvent, ParkingLot};
use orderflow_web::{AppError, HtmlPage};
use sqlx::Row;

use crate::ConsumerState;

/// `ParkingLot` on a consumer service's database.
#[derive(Debug, Clone)]
pub struct DatabaseParkingLot {
    pub db: Database,
}

#[async_trait]
impl ParkingLot for DatabaseParkingLot {
    async fn park(&self, event: &ParkedEvent<'_>) -> Result<(), BoxError> {
        let mut connection = self.db.pool().acquire().await?;
        insert_parked(&mut connection, event).await?;
        Ok(())
    }
}

/// Adds `event` to the list, on `connection` (in the caller's transaction, if it has one).
pub(crate) async fn insert_parked(
    connection: &mut sqlx::AnyConnection,
    event: &ParkedEvent<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO parked_event (stream, position, source, payload, encoding, error, \
         parked_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event.stream)
    .bind(event.position)
    .bind(event.source)
    .bind(event.payload)
    .bind(event.encoding)
    .bind(event.error)
    .bind(EpochMillis::now().0)
    .execute(connection)
    .await?;
    Ok(())
}

/// One row of the list.
#[derive(Debug, Clone)]
pub struct ParkedRow {
    pub id: i64,
    pub parked_at: String,
    pub source: String,
    pub error: String,
    pub payload: Option<String>,
    pub payload_excerpt: String,
    /// How the record was written: `json`, `avro v2`.
    pub encoding: String,
}

/// How many events wait parked (for whatever instance of the service parked them).
pub(crate) async fn parked_count(db: &Database) -> anyhow::Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM parked_event")
        .fetch_one(db.pool())
        .await?
        .try_get("n")?)
}

/// The parked events, oldest first (at most 500).
pub async fn parked_events(db: &Database) -> anyhow::Result<Vec<ParkedRow>> {
    let rows = sqlx::query(
        "SELECT id, source, payload, encoding, error, parked_ms FROM parked_event ORDER BY id \
         LIMIT 500",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let payload: Option<String> = row.try_get("payload")?;
            let excerpt: String = payload.as_deref().unwrap_or("").chars().take(200).collect();
            let parked_ms: i64 = row.try_get("parked_ms")?;
            Ok(ParkedRow {
                id: row.try_get("id")?,
                parked_at: EpochMillis(parked_ms).to_datetime().to_string(),
                source: row.try_get("source")?,
                error: row.try_get("error")?,
                payload,
                payload_excerpt: excerpt,
                encoding: row.try_get("encoding")?,
            })
        })
        .collect()
}

/// What `replay` did.
#[derive(Debug, Default)]
pub struct ReplayReport {
    pub replayed: usize,
    /// Still failing, with why; they stay parked.
    pub failing: Vec<(i64, String)>,
}

/// Applies every parked event again with `handler` (idempotently: one applied before is answered
/// "already exists") and removes those that now apply; the others stay, with why.
pub async fn replay_parked(
    db: &Database,
    handler: &dyn OrderEventHandler,
) -> anyhow::Result<ReplayReport> {
    let mut report = ReplayReport::default();
    for event in parked_events(db).await? {
        let payload = event.payload.as_deref().unwrap_or("");
        // A record that decoded is parked as its order's JSON, whatever its encoding; one that
        // did not is kept as bytes, and replaying cannot make it an order.
        let outcome = match OrderPlaced::from_json(payload.as_bytes()) {
            Ok(order) => handler
                .handle(&order, None)
                .await
                .map(drop)
                .map_err(|error| error_chain(&error)),
            Err(_) if payload.starts_with("base64:") => Err(format!(
                "a {} record that does not decode: no replay makes it an order (the record \
                 itself is on the dead-letter topic)",
                event.encoding
            )),
            Err(error) => Err(error.to_string()),
        };
        match outcome {
            Ok(()) => {
                sqlx::query("DELETE FROM parked_event WHERE id = $1")
                    .bind(event.id)
                    .execute(db.pool())
                    .await?;
                report.replayed += 1;
            }
            Err(error) => report.failing.push((event.id, error)),
        }
    }
    Ok(report)
}

#[derive(Template)]
#[template(path = "parked.html")]
struct ParkedPage {
    service: &'static str,
    service_title: String,
    events: Vec<ParkedRow>,
}

pub(crate) fn router() -> Router<ConsumerState> {
    Router::new().route("/parked", get(parked_page))
}

async fn parked_page(State(state): State<ConsumerState>) -> Result<HtmlPage<ParkedPage>, AppError> {
    let events = parked_events(&state.db).await?;
    let mut title = state.service.to_owned();
    if let Some(first) = title.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    Ok(HtmlPage::ok(ParkedPage {
        service: state.service,
        service_title: title,
        events,
    }))
}
