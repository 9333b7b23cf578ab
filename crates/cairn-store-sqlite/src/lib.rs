//! The embedded SQLite backend of [`cairn_store::Store`].
//!
//! [`SqliteStore`] keeps everything in one SQLite file (WAL journal, `synchronous=NORMAL`, foreign
//! keys on, a busy timeout so that several processes — the server and the CLI — can write the same
//! file at once). The schema lives in `migrations/` and is embedded with `sqlx::migrate!`. Each
//! store has two writer connections, sqlx for administration and rusqlite for object versions
//! (`writer`), behind one write lock: write transactions are `BEGIN IMMEDIATE`, queued on a mutex
//! within the process and on SQLite's lock across processes. A small pool of read-only
//! connections serves the rest. New files use 16 KiB pages (`PAGE_SIZE`). Every connection reads
//! the database file through a memory map (`mmap_size`), and a background task of each store
//! checkpoints the WAL (see `checkpointer`), so a commit never waits for a checkpoint; SQLite's
//! own autocheckpoint stays as a bound behind it.
//!
//! Object versions are rows of the `versions` table, unique by (collection, id, version_key) (kept
//! by `add_objects`; the id index holds only the last 12 characters of ids) and by (collection,
//! date_added). Each row carries three flags kept up to date by every insert and
//! delete in the same transaction: `latest_spec` (its spec_version is the highest the object
//! has), `dflt_first` and `dflt_last` (first/last version among those). The default TAXII
//! selection ("latest spec version, last version") is thus a range scan of a partial index, and
//! a page cursor is a seek on date_added; unusual filter combinations fall back to correlated
//! subqueries. Object pages are read through rusqlite connections that copy each value once
//! (`readers`), and object versions are added through a rusqlite writer that binds values in
//! place (`writer`); everything else goes through sqlx.
//!
//! Durability: a write is acknowledged once its transaction has committed to the WAL file, which
//! with `synchronous=NORMAL` is a `write()` into the operating system's page cache, not an `fsync`
//! (the WAL is synced only when a checkpoint copies it into the database file). An acknowledged
//! write therefore survives the process being killed (kill -9, a panic, an OOM kill) at any point:
//! the WAL frames are in the kernel and are replayed on the next open. What it does not survive is
//! losing the machine itself (power loss, a kernel crash) before the kernel has flushed the WAL:
//! then the last commits before the crash may be missing, while the database stays consistent (a
//! torn WAL tail is discarded by its checksums). `synchronous=FULL` would close that window at the
//! cost of one `fsync` per committed write.
//!
//! `date_added` comes from a per-collection clock (`collections.last_date_added`) advanced inside
//! each write transaction: it is `max(now, last + 1)` microseconds, so it strictly increases
//! within a collection even across processes sharing the file.

mod federation;
mod objects;
mod readers;
mod sharing;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use cairn_store::{
    AddRequest, ApiRoot, ApiToken, AuditEntry, AuditQuery, Collection, DeleteSpec, Grant, Grantee,
    MarkingMeaning, NewAuditEntry, ObjectQuery, Organization, Page, Peer, Provenance, Result, Role,
    SharingGroup, Status, Store, StoreError, Subscription, SyncOutcome, SyncProgress, SyncState,
    Tlp, User,
};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use uuid::Uuid;

/// The file name [`SqliteStore::open_in`] uses inside its directory.
pub const DB_FILE_NAME: &str = "cairn.db";

/// How long a write waits for another connection or process holding the write lock.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Rows a sqlx connection's worker thread may queue before the reader takes them (long lists
/// such as the audit log), so the worker does not stop and wake per row.
const ROW_BUFFER: usize = 2048;

/// Bytes of the database file each connection reads through a shared memory map instead of
/// `read()` calls into its own page cache (SQLite's `mmap_size`; writes still go through the WAL).
pub(crate) const MMAP_BYTES: &str = "1073741824";

/// Page size of a new database file (an existing file keeps its own).
const PAGE_SIZE: u32 = 16384;

/// How often the background checkpointer looks at this store's writes.
const CHECKPOINT_TICK: Duration = Duration::from_millis(250);

/// While writes keep coming, the background checkpointer runs this often; otherwise once a tick
/// has passed without a write (so a burst of writes is not slowed by checkpoints, and a pause
/// after it is used to copy it).
const CHECKPOINT_BUSY_EVERY: Duration = Duration::from_secs(2);

/// WAL pages past which a committing writer checkpoints by itself (SQLite's
/// `wal_autocheckpoint`; 128 MiB of [`PAGE_SIZE`] pages, 32 MiB for older files of 4 KiB pages):
/// only a safety net for when the background checkpointer falls behind (it normally starts the
/// WAL over well before this).
pub(crate) const AUTOCHECKPOINT_PAGES: &str = "8192";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    /// Readers (several connections; WAL lets them run beside the writer).
    pool: SqlitePool,
    /// The readers of object pages (rusqlite, see [`readers`]).
    readers: readers::Readers,
    /// The sqlx writer connection of this process: its page cache stays warm across writes.
    writer: SqlitePool,
    /// The writer of object versions (rusqlite, see [`writer`]); the same write lock as `writer`.
    versions_writer: writer::Writer,
    path: PathBuf,
    /// Serializes write transactions of this process (other processes wait on SQLite's lock).
    write_lock: Arc<tokio::sync::Mutex<()>>,
    /// Collection id → (seq, api_root). Collections are never deleted, so entries stay true.
    colls: RwLock<HashMap<Uuid, (i64, String)>>,
    /// Write transactions begun by this store; the checkpointer runs when it has changed.
    writes: Arc<AtomicU64>,
    /// The checkpointer's own connection.
    checkpoint_conn: SqlitePool,
    /// The background checkpointer (see [`checkpointer`]); aborted on close and on drop.
    checkpointer: tokio::task::JoinHandle<()>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.checkpointer.abort();
    }
}

/// Copies committed WAL frames into the database file in the background, so that a request's
/// commit is only its append to the WAL and never runs a checkpoint itself.
///
/// When this store has written since the last run, and either a [`CHECKPOINT_TICK`] passed
/// without a write or writes have kept coming for [`CHECKPOINT_BUSY_EVERY`], on its own
/// connection: first `PRAGMA wal_checkpoint(PASSIVE)` without any lock (the bulk of the copying
/// and syncing, beside the writer and the readers), then the same again holding this store's
/// write lock, which copies only the frames committed meanwhile and leaves the WAL wholly copied,
/// so that the next write transaction starts the WAL file over instead of growing it.
/// Durability is that of SQLite's own checkpoints: a commit is in the WAL before it is
/// acknowledged, and a checkpoint only copies it into the database file and syncs that.
async fn checkpointer(
    conn: SqlitePool,
    writes: Arc<AtomicU64>,
    write_lock: Arc<tokio::sync::Mutex<()>>,
) {
    let checkpoint = || async {
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_all(&conn)
            .await
            .is_ok()
    };
    let mut done = writes.load(Ordering::Relaxed);
    let mut previous = done;
    let mut last_run = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(CHECKPOINT_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = writes.load(Ordering::Relaxed);
        let idle = now == previous;
        previous = now;
        if now == done || (!idle && last_run.elapsed() < CHECKPOINT_BUSY_EVERY) {
            continue;
        }
        last_run = tokio::time::Instant::now();
        // A failure (an I/O error, another process's checkpoint running) is retried later;
        // SQLite's own autocheckpoint still bounds the WAL meanwhile.
        if !checkpoint().await {
            continue;
        }
        let _writers_wait = write_lock.lock().await;
        // Every write counted so far has committed (or rolled back): the count rises under the lock.
        let seen = writes.load(Ordering::Relaxed);
        if checkpoint().await {
            done = seen;
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    if let Some(d) = e.as_database_error()
        && d.is_unique_violation()
    {
        return StoreError::Conflict(d.message().to_string());
    }
    StoreError::Backend(e.to_string())
}

pub(crate) fn now_micros() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

pub(crate) fn parse_uuid(s: &str, what: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Backend(format!("stored {what} id {s:?}: {e}")))
}

impl SqliteStore {
    /// Open (creating the file and its parent directories when missing) and migrate.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Backend(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .page_size(PAGE_SIZE)
            .journal_mode(SqliteJournalMode::Wal)
            // Survives kill -9 of the process; see the crate docs for power loss.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .row_buffer_size(ROW_BUFFER)
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            .pragma("mmap_size", MMAP_BYTES)
            .pragma("wal_autocheckpoint", AUTOCHECKPOINT_PAGES);
        let open_err =
            |e: sqlx::Error| StoreError::Backend(format!("cannot open {}: {e}", path.display()));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts.clone())
            .await
            .map_err(open_err)?;
        MIGRATOR.run(&writer).await.map_err(|e| {
            StoreError::Backend(format!("migrating {} failed: {e}", path.display()))
        })?;
        let versions_writer = writer::Writer::open(path)?;
        let checkpoint_conn = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            // It reads no table: a small page cache is enough.
            .connect_with(opts.clone().pragma("cache_size", "-1024"))
            .await
            .map_err(open_err)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            // A ping before each use would be one more round trip to the connection's worker
            // thread for every query, and tells nothing about a local file.
            .test_before_acquire(false)
            .connect_with(opts.pragma("query_only", "true"))
            .await
            .map_err(open_err)?;
        let writes = Arc::new(AtomicU64::new(0));
        let write_lock = Arc::new(tokio::sync::Mutex::new(()));
        let checkpointer = tokio::spawn(checkpointer(
            checkpoint_conn.clone(),
            writes.clone(),
            write_lock.clone(),
        ));
        Ok(SqliteStore {
            pool,
            readers: readers::Readers::new(path),
            writer,
            versions_writer,
            path: path.to_path_buf(),
            write_lock,
            colls: RwLock::new(HashMap::new()),
            writes,
            checkpoint_conn,
            checkpointer,
        })
    }

    /// Open the database file [`DB_FILE_NAME`] inside `dir` (created when missing).
    pub async fn open_in(dir: &Path) -> Result<SqliteStore> {
        SqliteStore::open(&dir.join(DB_FILE_NAME)).await
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Close every connection (waits for running queries).
    pub async fn close(&self) {
        self.checkpointer.abort();
        self.checkpoint_conn.close().await;
        self.readers.close();
        self.pool.close().await;
        {
            let _writers_wait = self.write_lock.lock().await;
            self.versions_writer.close();
        }
        self.writer.close().await;
    }

    /// SQLite's plan for `q` (the `detail` lines of `EXPLAIN QUERY PLAN`), to check which index
    /// serves a query.
    pub async fn query_plan(&self, q: &ObjectQuery) -> Result<Vec<String>> {
        objects::query_plan(self, q).await
    }

    /// Begin a write transaction: in-process writers queue on a mutex, other processes on
    /// SQLite's lock (`BEGIN IMMEDIATE` + busy timeout).
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<(
        tokio::sync::MutexGuard<'_, ()>,
        sqlx::Transaction<'static, sqlx::Sqlite>,
    )> {
        let guard = self.write_lock.lock().await;
        self.writes.fetch_add(1, Ordering::Relaxed);
        let tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        Ok((guard, tx))
    }

    /// Run `f` in one write transaction on the rusqlite writer ([`writer`]), queued behind this
    /// process's other writers like [`SqliteStore::begin_write`].
    pub(crate) async fn write_rq<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let _guard = self.write_lock.lock().await;
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.versions_writer.transaction(f).await
    }

    /// The compact key and API root of a collection.
    pub(crate) async fn coll(&self, id: Uuid) -> Result<(i64, String)> {
        if let Some(c) = self.colls.read().expect("lock").get(&id) {
            return Ok(c.clone());
        }
        let row = sqlx::query("SELECT seq, api_root FROM collections WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!("collection {id}")));
        };
        let c: (i64, String) = (row.get(0), row.get(1));
        self.colls.write().expect("lock").insert(id, c.clone());
        Ok(c)
    }
}

fn api_root_from(row: &SqliteRow) -> ApiRoot {
    ApiRoot {
        name: row.get("name"),
        title: row.get("title"),
        description: row.get("description"),
        max_content_length: u64::try_from(row.get::<i64, _>("max_content_length")).unwrap_or(0),
        is_default: row.get("is_default"),
    }
}

fn collection_from(row: &SqliteRow) -> Result<Collection> {
    Ok(Collection {
        id: parse_uuid(row.get("id"), "collection")?,
        api_root: row.get("api_root"),
        title: row.get("title"),
        description: row.get("description"),
        alias: row.get("alias"),
        created: row.get("created"),
        default_tlp: tlp_from(row.get("default_tlp"))?,
        anonymous_read: row.get("anonymous_read"),
    })
}

pub(crate) fn tlp_from(v: i64) -> Result<Tlp> {
    u8::try_from(v)
        .ok()
        .and_then(Tlp::from_u8)
        .ok_or_else(|| StoreError::Backend(format!("stored TLP level {v} is unknown")))
}

fn org_from(row: &SqliteRow) -> Result<Organization> {
    Ok(Organization {
        id: parse_uuid(row.get("id"), "organization")?,
        name: row.get("name"),
        identity_id: row.get("identity_id"),
        nation: row.get("nation"),
        kind: row.get("kind"),
    })
}

fn user_from(row: &SqliteRow) -> Result<User> {
    let role: String = row.get("role");
    Ok(User {
        id: parse_uuid(row.get("id"), "user")?,
        name: row.get("name"),
        org_id: parse_uuid(row.get("org_id"), "organization")?,
        role: Role::parse(&role)
            .map_err(|_| StoreError::Backend(format!("stored role {role:?} is unknown")))?,
        password_hash: row.get("password_hash"),
        disabled: row.get("disabled"),
        credential_epoch: row.get("credential_epoch"),
    })
}

fn token_from(row: &SqliteRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: parse_uuid(row.get("id"), "token")?,
        user_id: parse_uuid(row.get("user_id"), "user")?,
        secret_hash: row.get("secret_hash"),
        created: row.get("created"),
        expires: row.get("expires"),
        revoked: row.get("revoked"),
        read_only: row.get("read_only"),
        collection: row
            .get::<Option<String>, _>("collection")
            .map(|c| parse_uuid(&c, "collection"))
            .transpose()?,
    })
}

fn grant_from(row: &SqliteRow) -> Result<Grant> {
    let key: String = row.get("grantee");
    Ok(Grant {
        collection: parse_uuid(row.get("collection"), "collection")?,
        grantee: Grantee::from_key(&key)
            .ok_or_else(|| StoreError::Backend(format!("stored grantee {key:?} is unknown")))?,
        can_read: row.get("can_read"),
        can_write: row.get("can_write"),
    })
}

const USER_COLS: &str = "id, name, org_id, role, password_hash, disabled, credential_epoch";
const TOKEN_COLS: &str =
    "id, user_id, secret_hash, created, expires, revoked, read_only, collection";

/// Does a row exist for `sql` (one bound text parameter)?
pub(crate) async fn exists<'c, E>(ex: E, sql: &'static str, key: &str) -> Result<bool>
where
    E: sqlx::Executor<'c, Database = sqlx::Sqlite>,
{
    Ok(sqlx::query(sql)
        .bind(key.to_string())
        .fetch_optional(ex)
        .await
        .map_err(db_err)?
        .is_some())
}

#[async_trait]
impl Store for SqliteStore {
    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = ?")
            .bind(key.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key.to_string())
        .bind(value.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn create_api_root(&self, root: &ApiRoot) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        if exists(
            &mut *tx,
            "SELECT 1 FROM api_roots WHERE name = ?",
            &root.name,
        )
        .await?
        {
            return Err(StoreError::Conflict(format!("API root {:?}", root.name)));
        }
        if root.is_default {
            sqlx::query("UPDATE api_roots SET is_default = 0")
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        sqlx::query(
            "INSERT INTO api_roots (name, title, description, max_content_length, is_default) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(root.name.clone())
        .bind(root.title.clone())
        .bind(root.description.clone())
        .bind(i64::try_from(root.max_content_length).unwrap_or(i64::MAX))
        .bind(root.is_default)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn list_api_roots(&self) -> Result<Vec<ApiRoot>> {
        let rows = sqlx::query("SELECT * FROM api_roots ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(rows.iter().map(api_root_from).collect())
    }

    async fn get_api_root(&self, name: &str) -> Result<Option<ApiRoot>> {
        let row = sqlx::query("SELECT * FROM api_roots WHERE name = ?")
            .bind(name.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row.as_ref().map(api_root_from))
    }

    async fn create_collection(&self, c: &Collection) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        if !exists(
            &mut *tx,
            "SELECT 1 FROM api_roots WHERE name = ?",
            &c.api_root,
        )
        .await?
        {
            return Err(StoreError::NotFound(format!("API root {:?}", c.api_root)));
        }
        if exists(
            &mut *tx,
            "SELECT 1 FROM collections WHERE id = ?",
            &c.id.to_string(),
        )
        .await?
        {
            return Err(StoreError::Conflict(format!("collection {}", c.id)));
        }
        if let Some(alias) = &c.alias {
            let taken = sqlx::query("SELECT 1 FROM collections WHERE api_root = ? AND alias = ?")
                .bind(c.api_root.clone())
                .bind(alias.clone())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!(
                    "collection alias {alias:?} in API root {:?}",
                    c.api_root
                )));
            }
        }
        sqlx::query(
            "INSERT INTO collections (id, api_root, title, description, alias, created, \
             default_tlp, anonymous_read) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(c.id.to_string())
        .bind(c.api_root.clone())
        .bind(c.title.clone())
        .bind(c.description.clone())
        .bind(c.alias.clone())
        .bind(c.created)
        .bind(c.default_tlp as i64)
        .bind(c.anonymous_read)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn list_collections(&self, api_root: &str) -> Result<Vec<Collection>> {
        let rows = sqlx::query("SELECT * FROM collections WHERE api_root = ? ORDER BY id")
            .bind(api_root.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(collection_from).collect()
    }

    async fn get_collection(
        &self,
        api_root: &str,
        id_or_alias: &str,
    ) -> Result<Option<Collection>> {
        // Ids are stored hyphenated and lower-case; accept any spelling Uuid parses.
        let id = Uuid::from_str(id_or_alias)
            .map(|u| u.to_string())
            .unwrap_or_default();
        let row = sqlx::query(
            "SELECT * FROM collections WHERE api_root = ?1 AND (id = ?2 OR alias = ?3) \
             ORDER BY id = ?2 DESC LIMIT 1",
        )
        .bind(api_root.to_string())
        .bind(id)
        .bind(id_or_alias.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(collection_from).transpose()
    }

    async fn add_objects(&self, req: AddRequest) -> Result<Status> {
        objects::add_objects(self, req).await
    }

    async fn query(&self, q: &ObjectQuery) -> Result<Page> {
        objects::query(self, q).await
    }

    async fn object_exists(&self, collection: Uuid, object_id: &str) -> Result<bool> {
        let (seq, _) = self.coll(collection).await?;
        let row = sqlx::query(
            "SELECT 1 FROM versions WHERE coll = ?1 AND substr(id, -12) = substr(?2, -12) \
             AND id = ?2 LIMIT 1",
        )
        .bind(seq)
        .bind(object_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.is_some())
    }

    async fn delete_versions(&self, d: &DeleteSpec) -> Result<u64> {
        objects::delete_versions(self, d).await
    }

    async fn get_status(&self, api_root: &str, id: Uuid) -> Result<Option<Status>> {
        let row = sqlx::query("SELECT body FROM statuses WHERE api_root = ? AND id = ?")
            .bind(api_root.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        match row {
            None => Ok(None),
            Some(r) => {
                let body: String = r.get(0);
                serde_json::from_str(&body)
                    .map(Some)
                    .map_err(|e| StoreError::Backend(format!("stored status {id}: {e}")))
            }
        }
    }

    async fn count_versions(&self, collection: Uuid) -> Result<u64> {
        let (seq, _) = self.coll(collection).await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM versions WHERE coll = ?")
            .bind(seq)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn create_org(&self, org: &Organization) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        if exists(
            &mut *tx,
            "SELECT 1 FROM orgs WHERE id = ?",
            &org.id.to_string(),
        )
        .await?
        {
            return Err(StoreError::Conflict(format!("organization {}", org.id)));
        }
        if exists(&mut *tx, "SELECT 1 FROM orgs WHERE name = ?", &org.name).await? {
            return Err(StoreError::Conflict(format!(
                "organization named {:?}",
                org.name
            )));
        }
        if exists(
            &mut *tx,
            "SELECT 1 FROM orgs WHERE identity_id = ?",
            &org.identity_id,
        )
        .await?
        {
            return Err(StoreError::Conflict(format!(
                "organization with identity {}",
                org.identity_id
            )));
        }
        sqlx::query(
            "INSERT INTO orgs (id, name, identity_id, nation, kind) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(org.id.to_string())
        .bind(org.name.clone())
        .bind(org.identity_id.clone())
        .bind(org.nation.clone())
        .bind(org.kind.clone())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn get_org(&self, id: Uuid) -> Result<Option<Organization>> {
        let row = sqlx::query("SELECT * FROM orgs WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(org_from).transpose()
    }

    async fn list_orgs(&self) -> Result<Vec<Organization>> {
        let rows = sqlx::query("SELECT * FROM orgs ORDER BY name, id")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(org_from).collect()
    }

    async fn create_user(&self, user: &User) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        if !exists(
            &mut *tx,
            "SELECT 1 FROM orgs WHERE id = ?",
            &user.org_id.to_string(),
        )
        .await?
        {
            return Err(StoreError::NotFound(format!(
                "organization {}",
                user.org_id
            )));
        }
        if exists(
            &mut *tx,
            "SELECT 1 FROM users WHERE id = ?",
            &user.id.to_string(),
        )
        .await?
        {
            return Err(StoreError::Conflict(format!("user {}", user.id)));
        }
        if exists(&mut *tx, "SELECT 1 FROM users WHERE name = ?", &user.name).await? {
            return Err(StoreError::Conflict(format!("user named {:?}", user.name)));
        }
        sqlx::query(
            "INSERT INTO users (id, name, org_id, role, password_hash, disabled, credential_epoch) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(user.id.to_string())
        .bind(user.name.clone())
        .bind(user.org_id.to_string())
        .bind(user.role.as_str())
        .bind(user.password_hash.clone())
        .bind(user.disabled)
        .bind(user.credential_epoch)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn get_user_by_name(&self, name: &str) -> Result<Option<User>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLS} FROM users WHERE name = ?"
        )))
        .bind(name.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn get_user(&self, id: Uuid) -> Result<Option<User>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLS} FROM users WHERE id = ?"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLS} FROM users ORDER BY name, id"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(user_from).collect()
    }

    async fn set_password(&self, user_id: Uuid, password_hash: &str) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = ?, credential_epoch = credential_epoch + 1 \
             WHERE id = ?",
        )
        .bind(password_hash.to_string())
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        tx.commit().await.map_err(db_err)
    }

    async fn create_token(&self, token: &ApiToken) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        if !exists(
            &mut *tx,
            "SELECT 1 FROM users WHERE id = ?",
            &token.user_id.to_string(),
        )
        .await?
        {
            return Err(StoreError::NotFound(format!("user {}", token.user_id)));
        }
        if exists(
            &mut *tx,
            "SELECT 1 FROM tokens WHERE id = ?",
            &token.id.to_string(),
        )
        .await?
        {
            return Err(StoreError::Conflict(format!("token {}", token.id)));
        }
        if exists(
            &mut *tx,
            "SELECT 1 FROM tokens WHERE secret_hash = ?",
            &token.secret_hash,
        )
        .await?
        {
            return Err(StoreError::Conflict("a token with this secret".to_string()));
        }
        if let Some(c) = token.collection
            && !exists(
                &mut *tx,
                "SELECT 1 FROM collections WHERE id = ?",
                &c.to_string(),
            )
            .await?
        {
            return Err(StoreError::NotFound(format!("collection {c}")));
        }
        sqlx::query(
            "INSERT INTO tokens (id, user_id, secret_hash, created, expires, revoked, read_only, \
             collection) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(token.id.to_string())
        .bind(token.user_id.to_string())
        .bind(token.secret_hash.clone())
        .bind(token.created)
        .bind(token.expires)
        .bind(token.revoked)
        .bind(token.read_only)
        .bind(token.collection.map(|c| c.to_string()))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn get_token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLS} FROM tokens WHERE secret_hash = ?"
        )))
        .bind(secret_hash.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(token_from).transpose()
    }

    async fn revoke_token(&self, id: Uuid) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        let row = sqlx::query("SELECT user_id FROM tokens WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!("token {id}")));
        };
        let user_id: String = row.get(0);
        sqlx::query("UPDATE tokens SET revoked = 1 WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("UPDATE users SET credential_epoch = credential_epoch + 1 WHERE id = ?")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn list_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLS} FROM tokens WHERE user_id = ? ORDER BY created, id"
        )))
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(token_from).collect()
    }

    async fn set_grant(&self, grant: &Grant) -> Result<()> {
        sharing::set_grant(self, grant).await
    }

    async fn get_grant(&self, collection: Uuid, grantee: &Grantee) -> Result<Option<Grant>> {
        let row = sqlx::query("SELECT * FROM grants WHERE collection = ? AND grantee = ?")
            .bind(collection.to_string())
            .bind(grantee.key())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(grant_from).transpose()
    }

    async fn list_grants(&self, collection: Uuid) -> Result<Vec<Grant>> {
        let rows = sqlx::query("SELECT * FROM grants WHERE collection = ? ORDER BY grantee")
            .bind(collection.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(grant_from).collect()
    }

    async fn set_collection_policy(
        &self,
        collection: Uuid,
        default_tlp: Tlp,
        anonymous_read: bool,
    ) -> Result<()> {
        sharing::set_collection_policy(self, collection, default_tlp, anonymous_read).await
    }

    async fn update_org(&self, org: &Organization) -> Result<()> {
        sharing::update_org(self, org).await
    }

    async fn update_user(&self, user_id: Uuid, role: Role, disabled: bool) -> Result<()> {
        sharing::update_user(self, user_id, role, disabled).await
    }

    async fn add_nation(&self, code: &str) -> Result<()> {
        sharing::add_nation(self, code).await
    }

    async fn list_nations(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT code FROM nations ORDER BY code")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn create_group(&self, group: &SharingGroup) -> Result<()> {
        sharing::create_group(self, group).await
    }

    async fn get_group(&self, id: Uuid) -> Result<Option<SharingGroup>> {
        Ok(sharing::groups(self, Some(id), None).await?.pop())
    }

    async fn list_groups(&self) -> Result<Vec<SharingGroup>> {
        sharing::groups(self, None, None).await
    }

    async fn set_group_member(&self, group: Uuid, org: Uuid, member: bool) -> Result<()> {
        sharing::set_group_member(self, group, org, member).await
    }

    async fn groups_of_org(&self, org: Uuid) -> Result<Vec<SharingGroup>> {
        sharing::groups(self, None, Some(org)).await
    }

    async fn markings(&self, ids: &[String]) -> Result<Vec<(String, MarkingMeaning)>> {
        sharing::markings(self, ids).await
    }

    async fn append_audit(&self, entries: &[NewAuditEntry]) -> Result<()> {
        sharing::append_audit(self, entries).await
    }

    async fn audit_entries(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        sharing::audit_entries(self, q).await
    }

    async fn create_peer(&self, peer: &Peer) -> Result<()> {
        self.fed_create_peer(peer).await
    }
    async fn get_peer(&self, name_or_id: &str) -> Result<Option<Peer>> {
        self.fed_get_peer(name_or_id).await
    }
    async fn list_peers(&self) -> Result<Vec<Peer>> {
        self.fed_list_peers().await
    }
    async fn update_peer(&self, peer: &Peer) -> Result<()> {
        self.fed_update_peer(peer).await
    }
    async fn delete_peer(&self, id: Uuid) -> Result<()> {
        self.fed_delete_peer(id).await
    }
    async fn create_subscription(&self, sub: &Subscription) -> Result<()> {
        self.fed_create_subscription(sub).await
    }
    async fn get_subscription(&self, id: Uuid) -> Result<Option<Subscription>> {
        self.fed_get_subscription(id).await
    }
    async fn list_subscriptions(&self) -> Result<Vec<Subscription>> {
        self.fed_list_subscriptions().await
    }
    async fn update_subscription(&self, sub: &Subscription) -> Result<()> {
        self.fed_update_subscription(sub).await
    }
    async fn delete_subscription(&self, id: Uuid) -> Result<()> {
        self.fed_delete_subscription(id).await
    }
    async fn sync_state(&self, sub: Uuid) -> Result<SyncState> {
        self.fed_sync_state(sub).await
    }
    async fn record_sync(
        &self,
        progress: &SyncProgress,
        outcome: Option<&SyncOutcome>,
        now: i64,
        audit: &[NewAuditEntry],
    ) -> Result<()> {
        self.fed_record_sync(progress, outcome, now, audit).await
    }
    async fn acquire_lease(
        &self,
        sub: Uuid,
        holder: &str,
        until: i64,
        now: i64,
        steal_from: Option<&str>,
    ) -> Result<bool> {
        self.fed_acquire_lease(sub, holder, until, now, steal_from)
            .await
    }
    async fn release_lease(&self, sub: Uuid, holder: &str) -> Result<()> {
        self.fed_release_lease(sub, holder).await
    }
    async fn provenance(&self, collection: Uuid, object_id: &str) -> Result<Vec<Provenance>> {
        self.fed_provenance(collection, object_id).await
    }
    async fn count(&self, q: &ObjectQuery) -> Result<u64> {
        objects::count(self, q).await
    }

    async fn policy_epoch(&self) -> Result<Option<i64>> {
        // Kept by triggers (migration 0006), so every writer moves it on. Read on every request:
        // through the page readers, which run in place.
        self.readers
            .run(|c| {
                c.prepare_cached("SELECT epoch FROM policy_epoch WHERE id = 0")
                    .and_then(|mut st| st.query_row([], |r| r.get(0)))
                    .map(Some)
                    .map_err(readers::rq_err)
            })
            .await
    }
}
