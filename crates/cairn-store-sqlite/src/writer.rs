//! The connection that writes object versions ([`crate::objects::add_objects`]).
//!
//! An add request is the hot path of every TAXII POST and every federation page: up to
//! thousands of versions of ~1 KB each, inserted with their labels, status, audit entry and
//! provenance in one transaction. Through sqlx every bound value is copied into an argument
//! buffer of its own, and every statement is a hand-over to the connection's worker thread and
//! back. This connection is used with rusqlite instead: statements are prepared once and cached,
//! values are bound straight from the request, and the transaction runs on the calling thread
//! (`block_in_place` on a multi-threaded runtime).
//!
//! Same file and pragmas as the sqlx writer (`synchronous=NORMAL`, foreign keys, the memory map,
//! the page cache, the autocheckpoint bound). Both drivers link the one bundled SQLite
//! library, and both writers take the store's write lock before `BEGIN IMMEDIATE`, so writes
//! stay serialized exactly as with one connection.

use std::path::Path;
use std::sync::{Arc, Mutex};

use cairn_store::{Result, StoreError};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::{AUTOCHECKPOINT_PAGES, BUSY_TIMEOUT, MMAP_BYTES};

/// Prepared statements kept per connection (the multi-row inserts come in a few lengths).
const STATEMENT_CACHE: usize = 64;

/// A rusqlite error as a store error: a uniqueness violation is a conflict, as with sqlx
/// ([`crate::db_err`]).
pub(crate) fn wq_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e
        && matches!(
            f.extended_code,
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    {
        return StoreError::Conflict(msg.clone().unwrap_or_else(|| e.to_string()));
    }
    StoreError::Backend(e.to_string())
}

/// The rusqlite writer connection of a store.
pub(crate) struct Writer {
    /// `None` once the store is closed.
    conn: Arc<Mutex<Option<Connection>>>,
}

impl Writer {
    /// Open the writer on a migrated database file.
    pub(crate) fn open(path: &Path) -> Result<Writer> {
        let open = || -> rusqlite::Result<Connection> {
            let c = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            c.busy_timeout(BUSY_TIMEOUT)?;
            c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            c.execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA mmap_size = {MMAP_BYTES}; \
                 PRAGMA cache_size = -65536; PRAGMA temp_store = memory; \
                 PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES};"
            ))?;
            Ok(c)
        };
        let conn = open().map_err(|e| {
            StoreError::Backend(format!("cannot open {} for writing: {e}", path.display()))
        })?;
        Ok(Writer {
            conn: Arc::new(Mutex::new(Some(conn))),
        })
    }

    /// Run `f` in one `BEGIN IMMEDIATE` transaction, committed when `f` returns `Ok` and rolled
    /// back otherwise. The caller holds the store's write lock.
    pub(crate) async fn transaction<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        let work = move || {
            let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
            let c = c
                .as_mut()
                .ok_or_else(|| StoreError::Backend("the store is closed".into()))?;
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(wq_err)?;
            let out = f(&tx)?;
            tx.commit().map_err(wq_err)?;
            Ok(out)
        };
        crate::readers::run_in_place(work, "a write").await
    }

    /// Close the connection (after the running write, if any); later writes fail.
    pub(crate) fn close(&self) {
        self.conn.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}
