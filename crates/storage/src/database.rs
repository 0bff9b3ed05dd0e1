use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

use crate::redact_url;

/// Where a service keeps its data.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host/db` or `sqlite://path/to/file.db`.
    pub url: String,
    /// The PostgreSQL schema of this service (`orders`, `shipping`, `invoicing`). Ignored for
    /// SQLite, where every service has a file of its own.
    pub schema: String,
    /// Connections kept in the pool.
    pub max_connections: u32,
    /// How long start-up keeps trying to reach the database before it gives up.
    pub connect_timeout: Duration,
}

impl DatabaseSettings {
    pub fn new(url: impl Into<String>, schema: impl Into<String>) -> Self {
        DatabaseSettings {
            url: url.into(),
            schema: schema.into(),
            max_connections: 10,
            connect_timeout: Duration::from_secs(30),
        }
    }
}

/// The SQL dialect behind the pool, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            bail!(
                "unsupported database URL `{}`: use postgres://... or sqlite://...",
                redact_url(url)
            )
        }
    }

    /// `FOR UPDATE` where the database has it: SQLite's `BEGIN IMMEDIATE` already holds the
    /// write lock.
    pub fn for_update(self) -> &'static str {
        match self {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// `FOR UPDATE SKIP LOCKED` where the database has it. SQLite has one writer at a time and
    /// needs no row locks.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
    }
}

/// One crate's migrations for each backend, embedded with `sqlx::migrate!`:
/// `Migrations { postgres: || sqlx::migrate!("./migrations/postgres"), sqlite: || ... }`.
///
/// A service's schema holds the tables of several crates (a consumer service's own, and
/// orderflow-consumer's positions and parked events), so `Database::connect` applies several
/// sets, each owned by the crate whose tables they are. They share sqlx's one table of applied
/// versions, so their version numbers must not overlap (services count from 1, orderflow-consumer
/// from 1001, orderflow-storage's own from 2001), and each set ignores the versions the others
/// applied.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    pub postgres: fn() -> Migrator,
    pub sqlite: fn() -> Migrator,
}

impl Migrations {
    fn for_backend(&self, backend: Backend) -> Migrator {
        let mut migrator = match backend {
            Backend::Postgres => (self.postgres)(),
            Backend::Sqlite => (self.sqlite)(),
        };
        migrator.set_ignore_missing(true);
        migrator
    }
}

/// orderflow-storage's own tables, applied before every service's (which attach their triggers
/// to them): the `row_count` table `Database::row_count` reads, and on PostgreSQL the trigger
/// functions that keep it.
const ROW_COUNT_MIGRATIONS: Migrations = Migrations {
    postgres: || sqlx::migrate!("./migrations/postgres"),
    sqlite: || sqlx::migrate!("./migrations/sqlite"),
};

/// The sets, with their versions checked not to overlap.
fn migrators(sets: &[Migrations], backend: Backend) -> anyhow::Result<Vec<Migrator>> {
    let migrators: Vec<Migrator> = sets.iter().map(|set| set.for_backend(backend)).collect();
    let mut seen = std::collections::BTreeSet::new();
    for migration in migrators.iter().flat_map(|m| m.iter()) {
        if !seen.insert(migration.version) {
            bail!(
                "two sets of migrations use version {} ({}): give each crate its own range",
                migration.version,
                migration.description
            );
        }
    }
    Ok(migrators)
}

/// A migrated connection pool for one service.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
}

impl Database {
    /// Connects (retrying until `connect_timeout`, so that services can start before their
    /// database), creates the service's schema when missing, and applies orderflow-storage's own
    /// migrations and then each set of `migrations`, in order.
    pub async fn connect(
        settings: &DatabaseSettings,
        migrations: &[Migrations],
    ) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(&settings.url)?;
        let shown_url = redact_url(&settings.url);
        let options = AnyConnectOptions::from_str(&settings.url)
            .with_context(|| format!("invalid database URL `{shown_url}`"))?
            .log_statements(tracing::log::LevelFilter::Trace);

        match backend {
            Backend::Postgres => {
                check_schema_name(&settings.schema)?;
                let deadline = tokio::time::Instant::now() + settings.connect_timeout;
                let mut attempt = 0u32;
                loop {
                    match create_schema(&options, &settings.schema).await {
                        Ok(()) => break,
                        Err(error) if tokio::time::Instant::now() < deadline => {
                            attempt += 1;
                            tracing::warn!(url = %shown_url, %error, attempt, "Database not reachable yet; retrying.");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                        Err(error) => {
                            return Err(error).with_context(|| {
                                format!("cannot reach the database at {shown_url}")
                            });
                        }
                    }
                }
            }
            Backend::Sqlite => create_sqlite_folder(&settings.url)?,
        }

        let schema = settings.schema.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |connection, _meta| {
                let set_up = match backend {
                    // The application name says whose session it is in pg_stat_activity
                    // (bench/profile.py groups the sessions by it).
                    Backend::Postgres => format!(
                        "SET search_path TO \"{schema}\"; SET application_name TO 'orderflow {schema}'"
                    ),
                    // WAL lets the UI read while the consumer writes; the busy timeout makes a
                    // second writer wait instead of failing.
                    Backend::Sqlite => "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                        PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;"
                        .to_owned(),
                };
                Box::pin(async move {
                    connection.execute(set_up.as_str()).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("cannot connect to the database at {shown_url}"))?;

        let sets: Vec<Migrations> = std::iter::once(ROW_COUNT_MIGRATIONS)
            .chain(migrations.iter().copied())
            .collect();
        for migrator in migrators(&sets, backend)? {
            apply(&pool, &migrator, backend, &shown_url).await?;
        }
        tracing::info!(url = %shown_url, schema = %settings.schema, "Database ready.");
        Ok(Database { pool, backend })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a transaction that reads first and writes later would otherwise fail
    /// with "database is locked" whenever another writer committed in between, instead of
    /// waiting its turn.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Postgres => self.pool.begin().await,
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
        }
    }

    /// How many rows `table` holds, as its triggers keep count in the service's `row_count`
    /// table (a migration of each service's): a list page's total without a `COUNT(*)`, whose
    /// cost grows with the table.
    pub async fn row_count(&self, table: &str) -> anyhow::Result<i64> {
        let n: Option<i64> = sqlx::query_scalar("SELECT n FROM row_count WHERE table_name = $1")
            .bind(table)
            .fetch_optional(&self.pool)
            .await
            .with_context(|| format!("failed to read how many rows {table} holds"))?;
        Ok(n.unwrap_or(0))
    }

    /// Whether the database answers a trivial query now.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(drop)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Schema names are put into SQL text, so they are restricted to plain identifiers.
fn check_schema_name(schema: &str) -> anyhow::Result<()> {
    let plain = !schema.is_empty()
        && schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        Ok(())
    } else {
        bail!("schema name `{schema}` must be lower-case letters, digits and underscores")
    }
}

async fn create_schema(options: &AnyConnectOptions, schema: &str) -> anyhow::Result<()> {
    let mut connection = options.connect().await?;
    // Several services (or instances) may start at once; the lock makes the check-and-create
    // atomic, where `IF NOT EXISTS` alone can still fail with a unique violation.
    connection
        .execute(
            format!(
                "SELECT pg_advisory_lock(7305122); \
                 CREATE SCHEMA IF NOT EXISTS \"{schema}\"; \
                 SELECT pg_advisory_unlock(7305122);"
            )
            .as_str(),
        )
        .await?;
    connection.close().await?;
    Ok(())
}

fn create_sqlite_folder(url: &str) -> anyhow::Result<()> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(folder) = std::path::Path::new(path).parent()
        && !folder.as_os_str().is_empty()
    {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create the data folder {}", folder.display()))?;
    }
    Ok(())
}

/// Applies one set of migrations.
async fn apply(
    pool: &AnyPool,
    migrator: &Migrator,
    backend: Backend,
    shown_url: &str,
) -> anyhow::Result<()> {
    // PostgreSQL serializes migrators with an advisory lock. SQLite has none, so two processes
    // opening one file at once (two shipping instances) can both try a migration; the loser's
    // transaction rolls back, and on a retry it finds the migration applied.
    let mut attempt = 0;
    loop {
        match migrator.run(pool).await {
            Ok(()) => break,
            Err(error) if backend == Backend::Sqlite && attempt < 10 => {
                attempt += 1;
                tracing::debug!(%error, attempt, "Migration raced another process; retrying.");
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("cannot apply migrations to {shown_url}"));
            }
        }
    }
    Ok(())
}
