//! The database: one codebase over SQLite and PostgreSQL.
//!
//! [`DbConnection`] is diesel's `MultiConnection` over both backends, so models are written
//! once against `src/schema.rs`. The pool has its own [`ConnectionManager`] that picks the
//! backend from the URL scheme (`postgres://` or `postgresql://`, else a SQLite path), so a
//! bad URL gives the real error at once. Where SQL must differ between backends, match on
//! [`Backend`] in the model concerned, never all over the code.
//!
//! Handlers never touch a connection on an async worker: they call [`Pool::run`], which
//! runs the closure on actix's blocking thread pool.

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;
use crate::storage::Storage;

/// Migrations, one folder per backend with the same migration names.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend; every model function takes `&mut DbConnection`.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Runs `work` in a transaction that writes. On SQLite it begins with `BEGIN IMMEDIATE`,
    /// taking the write lock at once (waiting for it up to the busy timeout): a deferred
    /// transaction that has read cannot write once another connection (a request, the news
    /// watcher, the webhook dispatcher) committed meanwhile, and fails at once with
    /// `SQLITE_BUSY` instead of waiting. Inside a transaction it is a savepoint, as
    /// `Connection::transaction`; on PostgreSQL it is `Connection::transaction`.
    pub fn write_transaction<T, E, F>(&mut self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        let DbConnection::Sqlite(inner) = self else {
            return self.transaction(work);
        };
        let outermost = matches!(
            AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth(),
            Ok(None)
        );
        if !outermost {
            return self.transaction(work);
        }
        AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
        // From here on as diesel's own `transaction`: commit on success, roll back on error.
        type Manager = <DbConnection as Connection>::TransactionManager;
        match work(self) {
            Ok(value) => {
                Manager::commit_transaction(self)?;
                Ok(value)
            }
            Err(error) => match Manager::rollback_transaction(self) {
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
                Err(rollback) => Err(rollback.into()),
            },
        }
    }

    /// Takes a PostgreSQL advisory lock until the current transaction ends (`key` names
    /// what it serialises across instances); nothing on SQLite, whose writers are
    /// serialised anyway.
    pub fn advisory_xact_lock(&mut self, key: i64) -> diesel::QueryResult<()> {
        if self.backend() == Backend::Postgres {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({key})")).execute(self)?;
        }
        Ok(())
    }

    /// Applies the pending migrations of this connection's backend.
    pub fn run_migrations(&mut self) -> anyhow::Result<Vec<String>> {
        let applied = match self {
            DbConnection::Postgresql(conn) => conn.run_pending_migrations(POSTGRES_MIGRATIONS),
            DbConnection::Sqlite(conn) => conn.run_pending_migrations(SQLITE_MIGRATIONS),
        }
        .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    }
}

/// Which database a URL designates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A parsed `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    /// A file path (`sqlite://` or `sqlite:` prefixes are accepted and removed).
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return DatabaseUrl::Postgres(url.to_owned());
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        DatabaseUrl::Sqlite(PathBuf::from(path))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Postgres(_) => Backend::Postgres,
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Opens one connection, with the SQLite pragmas applied.
    pub fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match self {
            DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(url)
                .map(DbConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                // One batch: a multi-statement `sql_query` would run only its first.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = FULL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA busy_timeout = 5000;
                     PRAGMA cache_size = -4000;
                     PRAGMA temp_store = MEMORY;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// r2d2 manager that connects to the backend named by the URL.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        self.url.connect()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// The shared connection pool, cheap to clone.
#[derive(Clone)]
pub struct Pool {
    inner: r2d2::Pool<ConnectionManager>,
    backend: Backend,
    storage: std::sync::Arc<Storage>,
    /// Callers waiting for a connection now.
    waiting: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

/// The pool's connections, as `/metrics` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub connections: u32,
    pub idle: u32,
    pub waiting: i64,
}

impl Pool {
    /// Builds the pool and checks that one connection can be opened.
    pub fn connect(url: &DatabaseUrl, size: u32, timeout: Duration) -> anyhow::Result<Self> {
        let inner = r2d2::Pool::builder()
            .max_size(size.max(1))
            .min_idle(Some(1))
            // A SQLite connection is a file handle: it cannot go stale, so it is not
            // tested on each checkout (a `SELECT 1` per request). PostgreSQL connections
            // can be cut by a restart, and are.
            .test_on_check_out(url.backend() == Backend::Postgres)
            .connection_timeout(timeout)
            .build(ConnectionManager { url: url.clone() })
            .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
        let storage = match url {
            // The pool has opened (and so created) the file: this is the one it writes.
            DatabaseUrl::Sqlite(path) => Storage::sqlite(path),
            DatabaseUrl::Postgres(_) => Storage::server(),
        };
        Ok(Self {
            inner,
            backend: url.backend(),
            storage: std::sync::Arc::new(storage),
            waiting: std::sync::Arc::default(),
        })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Connections open, idle, and callers waiting for one.
    pub fn state(&self) -> PoolState {
        let state = self.inner.state();
        PoolState {
            connections: state.connections,
            idle: state.idle_connections,
            waiting: self.waiting.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// What the pool knows of its storage (a replaced SQLite file, a full disk).
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// A connection for start-up and command-line work (blocking). None while the SQLite
    /// file is not the one opened (`crate::storage`).
    pub fn get(&self) -> Result<r2d2::PooledConnection<ConnectionManager>, AppError> {
        self.storage.check_file()?;
        use std::sync::atomic::Ordering;
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let got = self.inner.get();
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        got.map_err(|e| {
            tracing::error!(error = %e, "no database connection available");
            AppError::DatabaseUnavailable
        })
    }

    /// Runs `work` with a connection on the blocking thread pool.
    pub async fn run<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get()?;
            let result = work(&mut conn);
            if matches!(result, Err(AppError::StorageFull)) {
                pool.storage.mark_full();
            }
            result
        })
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("blocking task failed: {e}")))?
    }
}

/// Inserts `rows` into `table` with the backend's own multi-row `INSERT`, `chunk` rows per
/// statement: the derived connection has no batch insert. Evaluates to a
/// `QueryResult<()>`.
macro_rules! bulk_insert {
    ($conn:expr, $table:expr, $rows:expr, $chunk:expr) => {{
        let result: diesel::QueryResult<()> = (|| {
            match $conn {
                $crate::db::DbConnection::Sqlite(c) => {
                    for chunk in $rows.chunks($chunk) {
                        diesel::RunQueryDsl::execute(diesel::insert_into($table).values(chunk), c)?;
                    }
                }
                $crate::db::DbConnection::Postgresql(c) => {
                    for chunk in $rows.chunks($chunk) {
                        diesel::RunQueryDsl::execute(diesel::insert_into($table).values(chunk), c)?;
                    }
                }
            }
            Ok(())
        })();
        result
    }};
}
pub(crate) use bulk_insert;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("postgres://localhost/db").backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://localhost/db").backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("podium.db"),
            DatabaseUrl::Sqlite("podium.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db"),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:x.db"),
            DatabaseUrl::Sqlite("x.db".into())
        );
    }
}
