//! The connections that serve object pages ([`crate::objects::query`]).
//!
//! A page is the hot path of every TAXII read: up to a thousand versions of ~1 KB each. Through
//! sqlx every value is copied out of SQLite into a value of its own on the connection's worker
//! thread and sent to the caller, and the alternative of packing a page into one text value in
//! SQL copies each body three times more (the aggregate, sqlx's copy of the result, its `String`).
//! These connections are used with rusqlite instead, which reads a row's values in place: each
//! body is copied once, from the database file's memory map into the record's `String`.
//!
//! Same file, same pragmas as the sqlx readers (`query_only`, the memory map, the page cache);
//! one blocking-pool thread runs a query at a time per connection. Both drivers link the one
//! bundled SQLite library (`libsqlite3-sys`), so WAL and locking are shared as between any two
//! connections.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cairn_store::{Result, StoreError};
use rusqlite::{Connection, OpenFlags};

use crate::{BUSY_TIMEOUT, MMAP_BYTES};

/// Run blocking SQLite work `f`: in place on a multi-threaded runtime (`block_in_place`: the
/// worker's other tasks move to another thread meanwhile), so it costs no hand-over to another
/// thread and back; elsewhere on a blocking-pool thread. `what` names the work in an error.
pub(crate) async fn run_in_place<T, F>(f: F, what: &str) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(f)
    } else {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| StoreError::Backend(format!("{what} failed: {e}")))?
    }
}

/// Connections open at most (and page queries running at once).
const READERS: usize = 4;

pub(crate) fn rq_err(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A small pool of read-only rusqlite connections.
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: tokio::sync::Semaphore,
}

impl Readers {
    pub(crate) fn new(path: &Path) -> Readers {
        Readers {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(READERS),
        }
    }

    fn open(path: &Path) -> rusqlite::Result<Connection> {
        let c = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(BUSY_TIMEOUT)?;
        c.execute_batch(&format!(
            "PRAGMA query_only = true; PRAGMA mmap_size = {MMAP_BYTES}; \
             PRAGMA cache_size = -65536; PRAGMA temp_store = memory;"
        ))?;
        Ok(c)
    }

    /// Run `f` on an idle connection (opened on first use), in place ([`run_in_place`]).
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Backend("the store is closed".into()))?;
        let conn = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let path = self.path.clone();
        let work = move || {
            let conn = match conn {
                Some(c) => c,
                None => Readers::open(&path).map_err(rq_err)?,
            };
            let out = f(&conn);
            Ok::<_, StoreError>((conn, out))
        };
        let (conn, out) = run_in_place(work, "a read query").await?;
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        out
    }

    /// Close the idle connections and refuse new queries.
    pub(crate) fn close(&self) {
        self.permits.close();
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
