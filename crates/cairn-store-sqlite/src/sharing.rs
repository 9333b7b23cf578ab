//! Nations, sharing groups, generalized grants, collection policy, user and organization
//! updates, and the meanings of stored marking definitions.

use std::collections::BTreeMap;

use cairn_store::audit;
use cairn_store::{
    AuditEntry, AuditQuery, Grant, Grantee, MarkingMeaning, NewAuditEntry, Organization, Result,
    Role, SharingGroup, StoreError, Tlp,
};
use sqlx::Row;
use uuid::Uuid;

use crate::writer::wq_err;
use crate::{SqliteStore, db_err, exists, parse_uuid};

pub(crate) async fn set_grant(s: &SqliteStore, grant: &Grant) -> Result<()> {
    let (_g, mut tx) = s.begin_write().await?;
    let coll = grant.collection.to_string();
    if !exists(&mut *tx, "SELECT 1 FROM collections WHERE id = ?", &coll).await? {
        return Err(StoreError::NotFound(format!("collection {coll}")));
    }
    let known = match &grant.grantee {
        Grantee::Organization(o) => {
            exists(&mut *tx, "SELECT 1 FROM orgs WHERE id = ?", &o.to_string()).await?
        }
        Grantee::SharingGroup(g) => {
            exists(
                &mut *tx,
                "SELECT 1 FROM sharing_groups WHERE id = ?",
                &g.to_string(),
            )
            .await?
        }
        Grantee::Nation(n) => exists(&mut *tx, "SELECT 1 FROM nations WHERE code = ?", n).await?,
        Grantee::Community => true,
    };
    if !known {
        return Err(StoreError::NotFound(format!(
            "grantee {}",
            grant.grantee.key()
        )));
    }
    sqlx::query(
        "INSERT INTO grants (collection, grantee, can_read, can_write) VALUES (?, ?, ?, ?) \
         ON CONFLICT (collection, grantee) DO UPDATE \
         SET can_read = excluded.can_read, can_write = excluded.can_write",
    )
    .bind(coll)
    .bind(grant.grantee.key())
    .bind(grant.can_read)
    .bind(grant.can_write)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn set_collection_policy(
    s: &SqliteStore,
    collection: Uuid,
    default_tlp: Tlp,
    anonymous_read: bool,
) -> Result<()> {
    let (_g, mut tx) = s.begin_write().await?;
    let done =
        sqlx::query("UPDATE collections SET default_tlp = ?, anonymous_read = ? WHERE id = ?")
            .bind(default_tlp as i64)
            .bind(anonymous_read)
            .bind(collection.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("collection {collection}")));
    }
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn update_org(s: &SqliteStore, org: &Organization) -> Result<()> {
    let (_g, mut tx) = s.begin_write().await?;
    let taken = sqlx::query("SELECT 1 FROM orgs WHERE name = ? AND id <> ?")
        .bind(org.name.clone())
        .bind(org.id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    if taken.is_some() {
        return Err(StoreError::Conflict(format!(
            "organization named {:?}",
            org.name
        )));
    }
    let done = sqlx::query("UPDATE orgs SET name = ?, nation = ?, kind = ? WHERE id = ?")
        .bind(org.name.clone())
        .bind(org.nation.clone())
        .bind(org.kind.clone())
        .bind(org.id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("organization {}", org.id)));
    }
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn update_user(
    s: &SqliteStore,
    user_id: Uuid,
    role: Role,
    disabled: bool,
) -> Result<()> {
    let (_g, mut tx) = s.begin_write().await?;
    let done = sqlx::query(
        "UPDATE users SET role = ?, disabled = ?, credential_epoch = credential_epoch + 1 \
         WHERE id = ?",
    )
    .bind(role.as_str())
    .bind(disabled)
    .bind(user_id.to_string())
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("user {user_id}")));
    }
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn add_nation(s: &SqliteStore, code: &str) -> Result<()> {
    let (_g, mut tx) = s.begin_write().await?;
    sqlx::query("INSERT INTO nations (code) VALUES (?) ON CONFLICT (code) DO NOTHING")
        .bind(code.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn create_group(s: &SqliteStore, g: &SharingGroup) -> Result<()> {
    let (_g, mut tx) = s.begin_write().await?;
    let mut members = g.members.clone();
    members.push(g.owner);
    members.sort();
    members.dedup();
    for m in &members {
        if !exists(&mut *tx, "SELECT 1 FROM orgs WHERE id = ?", &m.to_string()).await? {
            return Err(StoreError::NotFound(format!("organization {m}")));
        }
    }
    for (sql, key, what) in [
        (
            "SELECT 1 FROM sharing_groups WHERE id = ?",
            g.id.to_string(),
            "sharing group",
        ),
        (
            "SELECT 1 FROM sharing_groups WHERE name = ?",
            g.name.clone(),
            "sharing group named",
        ),
        (
            "SELECT 1 FROM sharing_groups WHERE identity_id = ?",
            g.identity_id.clone(),
            "sharing group with identity",
        ),
        (
            "SELECT 1 FROM orgs WHERE identity_id = ?",
            g.identity_id.clone(),
            "organization with identity",
        ),
    ] {
        if exists(&mut *tx, sql, &key).await? {
            return Err(StoreError::Conflict(format!("{what} {key:?}")));
        }
    }
    sqlx::query("INSERT INTO sharing_groups (id, name, identity_id, owner) VALUES (?, ?, ?, ?)")
        .bind(g.id.to_string())
        .bind(g.name.clone())
        .bind(g.identity_id.clone())
        .bind(g.owner.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    for m in members {
        sqlx::query("INSERT INTO group_members (group_id, org_id) VALUES (?, ?)")
            .bind(g.id.to_string())
            .bind(m.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

/// Groups by id, or those `member_of` belongs to, or all; ordered by name.
pub(crate) async fn groups(
    s: &SqliteStore,
    id: Option<Uuid>,
    member_of: Option<Uuid>,
) -> Result<Vec<SharingGroup>> {
    let (filter, key) = match (id, member_of) {
        (Some(id), _) => ("WHERE g.id = ?1", id.to_string()),
        (None, Some(org)) => (
            "WHERE g.id IN (SELECT group_id FROM group_members WHERE org_id = ?1)",
            org.to_string(),
        ),
        (None, None) => ("WHERE ?1 = ''", String::new()),
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT g.id, g.name, g.identity_id, g.owner, m.org_id FROM sharing_groups AS g \
         JOIN group_members AS m ON m.group_id = g.id {filter} ORDER BY g.name, g.id, m.org_id"
    )))
    .bind(key)
    .fetch_all(&s.pool)
    .await
    .map_err(db_err)?;
    let mut out: Vec<SharingGroup> = Vec::new();
    for r in &rows {
        let gid = parse_uuid(r.get("id"), "sharing group")?;
        let member = parse_uuid(r.get("org_id"), "organization")?;
        match out.last_mut() {
            Some(g) if g.id == gid => g.members.push(member),
            _ => out.push(SharingGroup {
                id: gid,
                name: r.get("name"),
                identity_id: r.get("identity_id"),
                owner: parse_uuid(r.get("owner"), "organization")?,
                members: vec![member],
            }),
        }
    }
    for g in &mut out {
        g.members.sort();
    }
    Ok(out)
}

pub(crate) async fn set_group_member(
    s: &SqliteStore,
    group: Uuid,
    org: Uuid,
    member: bool,
) -> Result<()> {
    let (_g, mut tx) = s.begin_write().await?;
    let owner = sqlx::query("SELECT owner FROM sharing_groups WHERE id = ?")
        .bind(group.to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .map(|r| r.get::<String, _>(0))
        .ok_or_else(|| StoreError::NotFound(format!("sharing group {group}")))?;
    if !exists(
        &mut *tx,
        "SELECT 1 FROM orgs WHERE id = ?",
        &org.to_string(),
    )
    .await?
    {
        return Err(StoreError::NotFound(format!("organization {org}")));
    }
    if member {
        sqlx::query(
            "INSERT INTO group_members (group_id, org_id) VALUES (?, ?) \
             ON CONFLICT (group_id, org_id) DO NOTHING",
        )
        .bind(group.to_string())
        .bind(org.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    } else {
        if owner == org.to_string() {
            return Err(StoreError::Invalid(format!(
                "organization {org} owns sharing group {group} and cannot leave it"
            )));
        }
        sqlx::query("DELETE FROM group_members WHERE group_id = ? AND org_id = ?")
            .bind(group.to_string())
            .bind(org.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn markings(
    s: &SqliteStore,
    ids: &[String],
) -> Result<Vec<(String, MarkingMeaning)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let json = serde_json::to_string(ids).map_err(|e| StoreError::Backend(e.to_string()))?;
    let rows = sqlx::query(
        "SELECT id, meaning FROM markings WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
    )
    .bind(json)
    .fetch_all(&s.pool)
    .await
    .map_err(db_err)?;
    let mut out = BTreeMap::new();
    for r in &rows {
        let id: String = r.get(0);
        let text: String = r.get(1);
        let meaning = serde_json::from_str(&text)
            .map_err(|e| StoreError::Backend(format!("stored marking {id}: {e}")))?;
        out.insert(id, meaning);
    }
    Ok(out.into_iter().collect())
}

/// The last entry of the audit chain.
const AUDIT_LAST: &str = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
const AUDIT_INSERT: &str = "INSERT INTO audit (seq, time, actor, action, object, detail, prev, hash) \
                            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// Append `entries` to the chain inside the caller's write transaction.
pub(crate) async fn append_audit_in(
    tx: &mut sqlx::SqliteConnection,
    entries: &[NewAuditEntry],
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let last = sqlx::query(AUDIT_LAST)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    let (seq, hash) = match last {
        Some(r) => (r.get::<i64, _>(0), r.get::<String, _>(1)),
        None => (0, audit::GENESIS.to_string()),
    };
    for e in audit::chain_for_insert(seq, &hash, entries) {
        sqlx::query(AUDIT_INSERT)
            .bind(e.seq)
            .bind(e.entry.time)
            .bind(e.entry.actor.as_str())
            .bind(e.entry.action.as_str())
            .bind(e.entry.object.as_deref())
            .bind(e.detail)
            .bind(e.prev)
            .bind(e.hash)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// [`append_audit_in`] on the rusqlite writer ([`crate::writer`]).
pub(crate) fn append_audit_rq(tx: &rusqlite::Connection, entries: &[NewAuditEntry]) -> Result<()> {
    use rusqlite::OptionalExtension;
    if entries.is_empty() {
        return Ok(());
    }
    let last = tx
        .prepare_cached(AUDIT_LAST)
        .and_then(|mut st| {
            st.query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .optional()
        })
        .map_err(wq_err)?;
    let (seq, hash) = last.unwrap_or_else(|| (0, audit::GENESIS.to_string()));
    for e in audit::chain_for_insert(seq, &hash, entries) {
        tx.prepare_cached(AUDIT_INSERT)
            .and_then(|mut st| {
                st.execute(rusqlite::params![
                    e.seq,
                    e.entry.time,
                    e.entry.actor,
                    e.entry.action,
                    e.entry.object,
                    e.detail,
                    e.prev,
                    e.hash
                ])
            })
            .map_err(wq_err)?;
    }
    Ok(())
}

pub(crate) async fn append_audit(s: &SqliteStore, entries: &[NewAuditEntry]) -> Result<()> {
    let (_g, mut tx) = s.begin_write().await?;
    append_audit_in(&mut tx, entries).await?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn audit_entries(s: &SqliteStore, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
    let mut cond = vec!["seq > ?1".to_string()];
    if q.since.is_some() {
        cond.push("time >= ?2".into());
    }
    if q.until.is_some() {
        cond.push("time < ?3".into());
    }
    if q.actor.is_some() {
        cond.push("actor = ?4".into());
    }
    if q.object.is_some() {
        cond.push("(object = ?5 OR instr(detail, ?6) > 0)".into());
    }
    let limit = if q.limit == 0 {
        -1
    } else {
        i64::try_from(q.limit).unwrap_or(i64::MAX)
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT seq, time, actor, action, object, detail, prev, hash FROM audit \
         WHERE {} ORDER BY seq LIMIT {limit}",
        cond.join(" AND ")
    )))
    .bind(q.after_seq)
    .bind(q.since)
    .bind(q.until)
    .bind(q.actor.clone())
    .bind(q.object.clone())
    .bind(
        q.object
            .as_ref()
            .map(|o| serde_json::to_string(o).unwrap_or_default()),
    )
    .fetch_all(&s.pool)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let detail: String = r.get("detail");
            Ok(AuditEntry {
                seq: r.get("seq"),
                entry: NewAuditEntry {
                    time: r.get("time"),
                    actor: r.get("actor"),
                    action: r.get("action"),
                    object: r.get("object"),
                    detail: serde_json::from_str(&detail)
                        .map_err(|e| StoreError::Backend(format!("stored audit detail: {e}")))?,
                },
                prev: r.get("prev"),
                hash: r.get("hash"),
            })
        })
        .collect()
}
