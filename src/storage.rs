//! Whether the storage under the database can still keep what the API acknowledges.
//!
//! Two faults used to be answered dishonestly:
//! - **The SQLite file is deleted or replaced** while the server runs. Its open connections
//!   still read and write the old, unlinked file, so a write was acknowledged (201) and
//!   lost at the next start. The pool now holds the file open from its start, and every
//!   checkout checks that the path still names it (same device and inode, and the held
//!   file still linked; holding it keeps its inode from being reused by a new file): a
//!   different file, or none, is 503 `database_unavailable` for reads and writes alike,
//!   and `/readyz` says so. Restoring the file (or restarting on the new one) is the operator's decision.
//! - **The disk is full.** A write failed with 500 `internal_error` and readiness stayed
//!   green. The database's own "full" errors (SQLite's `SQLITE_FULL`, PostgreSQL's
//!   `No space left on device`) are now 503 `storage_full` with `Retry-After`, nothing of
//!   the write is kept (it was one transaction), and `/readyz` reports not-ready for
//!   [`FULL_FOR`] after the last such error, so a load balancer sends traffic elsewhere
//!   while an operator frees space. Reads keep working.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::AppError;

/// How long the storage counts as full after the last write refused for lack of space.
pub const FULL_FOR: Duration = Duration::from_secs(30);

/// The SQLite file as the pool opened it: a handle kept open on it, so that its inode
/// cannot be reused by a new file while the server runs, and its link count tells whether
/// it was deleted (or renamed over).
#[derive(Debug)]
struct OpenedFile {
    path: PathBuf,
    held: Option<std::fs::File>,
}

impl OpenedFile {
    /// Whether the path still names the file held open.
    fn is_current(&self) -> bool {
        let Some(held) = &self.held else {
            return false;
        };
        let (Ok(held), Ok(named)) = (held.metadata(), std::fs::metadata(&self.path)) else {
            return false;
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            held.nlink() > 0 && held.dev() == named.dev() && held.ino() == named.ino()
        }
        #[cfg(not(unix))]
        {
            let _ = (held, named);
            true
        }
    }
}

/// One pool's view of its storage; shared by its clones.
#[derive(Debug, Default)]
pub struct Storage {
    /// For SQLite: the file the pool opened.
    file: Option<OpenedFile>,
    full_at: Mutex<Option<Instant>>,
}

impl Storage {
    /// The storage of a SQLite file, as it is now (just after the pool opened it).
    pub fn sqlite(path: &Path) -> Self {
        Self {
            file: Some(OpenedFile {
                path: path.to_path_buf(),
                held: std::fs::File::open(path).ok(),
            }),
            full_at: Mutex::new(None),
        }
    }

    /// The storage of a server database (PostgreSQL): only fullness is tracked.
    pub fn server() -> Self {
        Self::default()
    }

    /// Whether the database file is still the one opened; an error (logged) when not.
    pub fn check_file(&self) -> Result<(), AppError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if file.is_current() {
            return Ok(());
        }
        tracing::error!(
            path = %file.path.display(),
            present = file.path.exists(),
            "the SQLite database file is gone or was replaced; refusing reads and writes"
        );
        Err(AppError::DatabaseUnavailable)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.full_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records that a write was refused for lack of space.
    pub fn mark_full(&self) {
        *self.lock() = Some(Instant::now());
    }

    /// Whether a write was refused for lack of space within [`FULL_FOR`].
    pub fn recently_full(&self) -> bool {
        self.lock().is_some_and(|at| at.elapsed() < FULL_FOR)
    }
}

/// Whether a database error message says the storage is full.
pub fn says_full(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("database or disk is full")
        || message.contains("no space left on device")
        || message.contains("disk full")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_or_replaced_file_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.db");
        std::fs::write(&path, b"one").expect("written");
        let storage = Storage::sqlite(&path);
        assert!(storage.check_file().is_ok());
        std::fs::remove_file(&path).expect("removed");
        assert!(matches!(
            storage.check_file(),
            Err(AppError::DatabaseUnavailable)
        ));
        std::fs::write(&path, b"another").expect("written");
        assert!(
            storage.check_file().is_err(),
            "a new file at the same path is not the one opened"
        );
        assert!(Storage::server().check_file().is_ok());
    }

    #[test]
    fn fullness_is_read_from_both_backends_messages() {
        assert!(says_full("database or disk is full"));
        assert!(says_full(
            "could not extend file \"base/16384/2619\": No space left on device"
        ));
        assert!(!says_full("UNIQUE constraint failed: sales.external_id"));
        let storage = Storage::server();
        assert!(!storage.recently_full());
        storage.mark_full();
        assert!(storage.recently_full());
    }
}
