//! Peers, subscriptions, sync state, leases and provenance (migration 0007).

use cairn_store::{
    Direction, NewAuditEntry, Origin, Peer, Provenance, Result, StatusDetail, StoreError,
    Subscription, SubscriptionFilter, SyncOutcome, SyncProgress, SyncState,
};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::writer::wq_err;
use crate::{SqliteStore, db_err, parse_uuid};

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn unique_err(e: sqlx::Error, what: String) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(what),
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            StoreError::NotFound(format!("what {what} refers to"))
        }
        _ => db_err(e),
    }
}

fn peer_from(r: &SqliteRow) -> Result<Peer> {
    Ok(Peer {
        id: parse_uuid(r.get("id"), "peer id")?,
        name: r.get("name"),
        url: r.get("url"),
        org_id: parse_uuid(r.get("org_id"), "peer org")?,
        community: r.get::<i64, _>("community") != 0,
        credential: r.get("credential"),
        ca_cert: r.get("ca_cert"),
        created: r.get("created"),
    })
}

fn sub_from(r: &SqliteRow) -> Result<Subscription> {
    let dir: String = r.get("direction");
    let filter: String = r.get("filter");
    Ok(Subscription {
        id: parse_uuid(r.get("id"), "subscription id")?,
        peer_id: parse_uuid(r.get("peer_id"), "subscription peer")?,
        direction: Direction::parse(&dir)
            .ok_or_else(|| StoreError::Backend(format!("stored direction {dir:?}")))?,
        local_collection: parse_uuid(r.get("local_collection"), "subscription collection")?,
        remote_api_root: r.get("remote_api_root"),
        remote_collection: r.get("remote_collection"),
        filter: serde_json::from_str::<SubscriptionFilter>(&filter).map_err(json_err)?,
        interval_secs: r.get::<i64, _>("interval_secs") as u64,
        enabled: r.get::<i64, _>("enabled") != 0,
        created: r.get("created"),
    })
}

fn u(r: &SqliteRow, col: &str) -> u64 {
    r.get::<i64, _>(col).max(0) as u64
}

fn state_from(sub: Uuid, r: &SqliteRow) -> SyncState {
    SyncState {
        subscription: sub,
        cursor: r.get("cursor"),
        last_attempt: r.get("last_attempt"),
        last_success: r.get("last_success"),
        last_error: r.get("last_error"),
        last_error_at: r.get("last_error_at"),
        failures: u(r, "failures"),
        caught_up_at: r.get("caught_up_at"),
        transferred: u(r, "transferred"),
        duplicates: u(r, "duplicates"),
        refused_by_policy: u(r, "refused_by_policy"),
        rejected: u(r, "rejected"),
        skipped: u(r, "skipped"),
        lag_objects: r
            .get::<Option<i64>, _>("lag_objects")
            .map(|v| v.max(0) as u64),
        lease_holder: r.get("lease_holder"),
        lease_until: r.get("lease_until"),
    }
}

impl SqliteStore {
    pub(crate) async fn fed_create_peer(&self, p: &Peer) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO peers (id, name, url, org_id, community, credential, ca_cert, created) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(p.id.to_string())
        .bind(&p.name)
        .bind(&p.url)
        .bind(p.org_id.to_string())
        .bind(p.community as i64)
        .bind(&p.credential)
        .bind(&p.ca_cert)
        .bind(p.created)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_err(e, format!("peer {:?}", p.name)))?;
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn fed_get_peer(&self, key: &str) -> Result<Option<Peer>> {
        sqlx::query("SELECT * FROM peers WHERE name = ? OR id = ?")
            .bind(key)
            .bind(key)
            .fetch_optional(&self.writer)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(peer_from)
            .transpose()
    }

    pub(crate) async fn fed_list_peers(&self) -> Result<Vec<Peer>> {
        sqlx::query("SELECT * FROM peers ORDER BY name")
            .fetch_all(&self.writer)
            .await
            .map_err(db_err)?
            .iter()
            .map(peer_from)
            .collect()
    }

    pub(crate) async fn fed_update_peer(&self, p: &Peer) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE peers SET url = ?, org_id = ?, community = ?, credential = ?, ca_cert = ? \
             WHERE id = ?",
        )
        .bind(&p.url)
        .bind(p.org_id.to_string())
        .bind(p.community as i64)
        .bind(&p.credential)
        .bind(&p.ca_cert)
        .bind(p.id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("peer {}", p.id)));
        }
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn fed_delete_peer(&self, id: Uuid) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM peers WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("peer {id}")));
        }
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn fed_create_subscription(&self, s: &Subscription) -> Result<()> {
        let filter = serde_json::to_string(&s.filter).map_err(json_err)?;
        let (_g, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO subscriptions (id, peer_id, direction, local_collection, \
             remote_api_root, remote_collection, filter, interval_secs, enabled, created) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(s.id.to_string())
        .bind(s.peer_id.to_string())
        .bind(s.direction.as_str())
        .bind(s.local_collection.to_string())
        .bind(&s.remote_api_root)
        .bind(&s.remote_collection)
        .bind(filter)
        .bind(s.interval_secs as i64)
        .bind(s.enabled as i64)
        .bind(s.created)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            unique_err(
                e,
                format!(
                    "a {} subscription between these collections",
                    s.direction.as_str()
                ),
            )
        })?;
        sqlx::query("INSERT INTO sync_state (subscription) VALUES (?)")
            .bind(s.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn fed_get_subscription(&self, id: Uuid) -> Result<Option<Subscription>> {
        sqlx::query("SELECT * FROM subscriptions WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.writer)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(sub_from)
            .transpose()
    }

    pub(crate) async fn fed_list_subscriptions(&self) -> Result<Vec<Subscription>> {
        sqlx::query(
            "SELECT s.* FROM subscriptions s JOIN peers p ON p.id = s.peer_id \
             ORDER BY p.name, s.created, s.id",
        )
        .fetch_all(&self.writer)
        .await
        .map_err(db_err)?
        .iter()
        .map(sub_from)
        .collect()
    }

    pub(crate) async fn fed_update_subscription(&self, s: &Subscription) -> Result<()> {
        let filter = serde_json::to_string(&s.filter).map_err(json_err)?;
        let (_g, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE subscriptions SET filter = ?, interval_secs = ?, enabled = ? WHERE id = ?",
        )
        .bind(filter)
        .bind(s.interval_secs as i64)
        .bind(s.enabled as i64)
        .bind(s.id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("subscription {}", s.id)));
        }
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn fed_delete_subscription(&self, id: Uuid) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM subscriptions WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("subscription {id}")));
        }
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn fed_sync_state(&self, sub: Uuid) -> Result<SyncState> {
        let row = sqlx::query("SELECT * FROM sync_state WHERE subscription = ?")
            .bind(sub.to_string())
            .fetch_optional(&self.writer)
            .await
            .map_err(db_err)?;
        match row {
            Some(r) => Ok(state_from(sub, &r)),
            None => Err(StoreError::NotFound(format!("subscription {sub}"))),
        }
    }

    pub(crate) async fn fed_record_sync(
        &self,
        progress: &SyncProgress,
        outcome: Option<&SyncOutcome>,
        now: i64,
        audit: &[NewAuditEntry],
    ) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        apply_progress(&mut tx, progress).await?;
        let sub = progress.subscription.to_string();
        match outcome {
            None => {}
            Some(SyncOutcome::Success {
                caught_up_at,
                lag_objects,
            }) => {
                sqlx::query(
                    "UPDATE sync_state SET last_attempt = ?1, last_success = ?1, failures = 0, \
                     caught_up_at = ?2, lag_objects = ?3 WHERE subscription = ?4",
                )
                .bind(now)
                .bind(*caught_up_at)
                .bind(lag_objects.map(|v| v as i64))
                .bind(&sub)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            Some(SyncOutcome::Failure { error }) => {
                sqlx::query(
                    "UPDATE sync_state SET last_attempt = ?1, last_error = ?2, \
                     last_error_at = ?1, failures = failures + 1 WHERE subscription = ?3",
                )
                .bind(now)
                .bind(error)
                .bind(&sub)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
        }
        if !audit.is_empty() {
            crate::sharing::append_audit_in(&mut tx, audit).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn fed_acquire_lease(
        &self,
        sub: Uuid,
        holder: &str,
        until: i64,
        now: i64,
        steal_from: Option<&str>,
    ) -> Result<bool> {
        let (_g, mut tx) = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE sync_state SET lease_holder = ?1, lease_until = ?2 WHERE subscription = ?3 \
             AND (lease_holder IS NULL OR lease_until IS NULL OR lease_until <= ?4 \
                  OR lease_holder = ?1 OR lease_holder = ?5)",
        )
        .bind(holder)
        .bind(until)
        .bind(sub.to_string())
        .bind(now)
        .bind(steal_from)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn fed_release_lease(&self, sub: Uuid, holder: &str) -> Result<()> {
        let (_g, mut tx) = self.begin_write().await?;
        sqlx::query(
            "UPDATE sync_state SET lease_holder = NULL, lease_until = NULL \
             WHERE subscription = ? AND lease_holder = ?",
        )
        .bind(sub.to_string())
        .bind(holder)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn fed_provenance(&self, coll: Uuid, id: &str) -> Result<Vec<Provenance>> {
        let (seq, _) = self.coll(coll).await?;
        let rows = sqlx::query(
            "SELECT * FROM provenance WHERE coll = ? AND id = ? ORDER BY version_key, received",
        )
        .bind(seq)
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(Provenance {
                    object_id: r.get("id"),
                    version_key: r.get("version_key"),
                    origin_org: parse_uuid(r.get("origin_org"), "origin")?,
                    peer: r
                        .get::<Option<String>, _>("peer")
                        .map(|p| parse_uuid(&p, "peer"))
                        .transpose()?,
                    remote_collection: r.get("remote_collection"),
                    remote_date_added: r.get("remote_date_added"),
                    received: r.get("received"),
                })
            })
            .collect()
    }
}

/// Move a subscription's counters and cursor (inside the caller's transaction).
pub(crate) async fn apply_progress(
    tx: &mut sqlx::SqliteConnection,
    p: &SyncProgress,
) -> Result<()> {
    let done = sqlx::query(APPLY_PROGRESS)
        .bind(&p.cursor)
        .bind(p.transferred as i64)
        .bind(p.duplicates as i64)
        .bind(p.refused_by_policy as i64)
        .bind(p.rejected as i64)
        .bind(p.skipped as i64)
        .bind(p.subscription.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "subscription {}",
            p.subscription
        )));
    }
    Ok(())
}

/// [`apply_progress`] on the rusqlite writer ([`crate::writer`]).
pub(crate) fn apply_progress_rq(tx: &rusqlite::Connection, p: &SyncProgress) -> Result<()> {
    let done = tx
        .prepare_cached(APPLY_PROGRESS)
        .and_then(|mut st| {
            st.execute(rusqlite::params![
                p.cursor,
                p.transferred as i64,
                p.duplicates as i64,
                p.refused_by_policy as i64,
                p.rejected as i64,
                p.skipped as i64,
                p.subscription.to_string()
            ])
        })
        .map_err(wq_err)?;
    if done == 0 {
        return Err(StoreError::NotFound(format!(
            "subscription {}",
            p.subscription
        )));
    }
    Ok(())
}

/// A round's progress added to its subscription's state.
const APPLY_PROGRESS: &str = "UPDATE sync_state SET cursor = coalesce(?1, cursor), \
     transferred = transferred + ?2, duplicates = duplicates + ?3, \
     refused_by_policy = refused_by_policy + ?4, rejected = rejected + ?5, \
     skipped = skipped + ?6 WHERE subscription = ?7";

/// Record where the stored (or already present) versions of an add request came from.
/// `stored` holds, per success, the request index of its version and its version key.
pub(crate) fn record_origin(
    tx: &rusqlite::Connection,
    seq: i64,
    origin: &Origin,
    stored: &[(usize, &str, &str)],
    now: i64,
) -> Result<()> {
    let org = origin.org.to_string();
    let peer = origin.peer.map(|p| p.to_string());
    for chunk in stored.chunks(100) {
        let mut sql = String::from(
            "INSERT OR IGNORE INTO provenance (coll, id, version_key, origin_org, peer, \
             remote_collection, remote_date_added, received) VALUES ",
        );
        for k in 0..chunk.len() {
            if k > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?,?,?)");
        }
        let mut st = tx.prepare_cached(&sql).map_err(wq_err)?;
        let mut n = 0;
        let mut bind = |v: &dyn rusqlite::ToSql| -> Result<()> {
            n += 1;
            st.raw_bind_parameter(n, v).map_err(wq_err)
        };
        for (i, id, key) in chunk {
            bind(&seq)?;
            bind(id)?;
            bind(key)?;
            bind(&org)?;
            bind(&peer)?;
            bind(&origin.remote_collection)?;
            bind(&origin.remote_date_added.get(*i).copied().flatten())?;
            bind(&now)?;
        }
        st.raw_execute().map_err(wq_err)?;
    }
    Ok(())
}

/// The counters an add request's outcome adds to its subscription.
pub(crate) fn count_outcome(
    p: &SyncProgress,
    successes: &[StatusDetail],
    failures: usize,
) -> SyncProgress {
    let dup = successes
        .iter()
        .filter(|s| s.message.as_deref() == Some(cairn_store::ALREADY_PRESENT))
        .count() as u64;
    SyncProgress {
        transferred: p.transferred + successes.len() as u64 - dup,
        duplicates: p.duplicates + dup,
        rejected: p.rejected + failures as u64,
        ..p.clone()
    }
}
