//! Object versions: add, query, delete, and the per-version selection flags.

use std::collections::{HashMap, HashSet};

use cairn_stix::Timestamp;
use cairn_store::{
    ALREADY_PRESENT, AddRequest, DeleteSpec, ObjectLabels, ObjectQuery, Page, ReadAccess,
    ReadFilter, Record, Result, Status, StatusDetail, StoreError, Tlp, VersionFilter,
};
use rusqlite::types::Value;

use crate::readers::rq_err;
use crate::writer::wq_err;
use crate::{SqliteStore, now_micros};

/// Rows per multi-row INSERT statement (18 parameters each).
const INSERT_CHUNK: usize = 200;

/// Orderable rank of a spec_version such as "2.1" (major * 1000 + minor); unknown forms rank 0.
pub(crate) fn spec_rank(spec: &str) -> i64 {
    let mut it = spec.split('.');
    let major = it.next().and_then(|s| s.parse::<i64>().ok());
    let minor = it.next().map_or(Some(0), |s| s.parse::<i64>().ok());
    match (major, minor) {
        (Some(a), Some(b)) if (0..1_000_000).contains(&a) && (0..1000).contains(&b) => a * 1000 + b,
        _ => 0,
    }
}

/// One version of an object as far as the selection flags are concerned.
#[derive(Debug, Clone)]
struct VRow {
    /// Stored row id; `None` for a version this transaction inserts.
    rid: Option<i64>,
    spec_version: String,
    spec_rank: i64,
    version: String,
    version_key: String,
    timeless: bool,
    /// (latest_spec, dflt_first, dflt_last) as stored (existing rows) ...
    stored: Option<[bool; 3]>,
    /// ... and as they must be.
    flags: [bool; 3],
    /// For new rows: index into the request's versions and the assigned date_added.
    new: Option<(usize, i64)>,
}

/// Recompute the selection flags of all versions of one object.
fn compute_flags(rows: &mut [VRow]) {
    let Some(max_rank) = rows.iter().map(|r| r.spec_rank).max() else {
        return;
    };
    let latest = rows.iter().filter(|r| r.spec_rank == max_rank);
    let first = latest.clone().map(|r| r.version_key.clone()).min();
    let last = latest.map(|r| r.version_key.clone()).max();
    for r in rows.iter_mut() {
        let is_latest = r.spec_rank == max_rank;
        r.flags = [
            is_latest,
            is_latest && Some(&r.version_key) == first.as_ref(),
            is_latest && Some(&r.version_key) == last.as_ref(),
        ];
    }
}

fn vrow_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<VRow> {
    let stored = [r.get(7)?, r.get(8)?, r.get(9)?];
    Ok(VRow {
        rid: Some(r.get(0)?),
        spec_version: r.get(2)?,
        spec_rank: r.get(3)?,
        version: r.get(4)?,
        version_key: r.get(5)?,
        timeless: r.get(6)?,
        stored: Some(stored),
        flags: stored,
        new: None,
    })
}

const VROW_COLS: &str = "rid, id, spec_version, spec_rank, version, version_key, timeless, \
                         latest_spec, dflt_first, dflt_last";

/// Every stored version ([`VROW_COLS`]) of the ids in the JSON array `?2` in collection `?1`.
const EXISTING_VERSIONS: &str = "SELECT rid, id, spec_version, spec_rank, version, version_key, \
     timeless, latest_spec, dflt_first, dflt_last FROM versions INDEXED BY versions_by_id \
     WHERE coll = ?1 AND substr(id, -12) IN (SELECT substr(value, -12) FROM json_each(?2)) \
     AND id IN (SELECT value FROM json_each(?2))";

/// Write changed flags of existing rows.
fn update_flags<'a>(
    conn: &rusqlite::Connection,
    rows: impl Iterator<Item = &'a VRow>,
) -> Result<()> {
    for r in rows {
        if let (Some(rid), Some(stored)) = (r.rid, r.stored)
            && stored != r.flags
        {
            conn.prepare_cached(
                "UPDATE versions SET latest_spec = ?1, dflt_first = ?2, dflt_last = ?3 WHERE rid = ?4",
            )
            .and_then(|mut st| st.execute((r.flags[0], r.flags[1], r.flags[2], rid)))
            .map_err(wq_err)?;
        }
    }
    Ok(())
}

/// The multi-row INSERT of `rows` versions.
fn insert_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(256 + rows * 40);
    sql.push_str(
        "INSERT INTO versions (coll, id, type, spec_version, spec_rank, version, \
         version_key, timeless, date_added, latest_spec, dflt_first, dflt_last, body, \
         tlp, floor, creator, recipients, granular) VALUES ",
    );
    for k in 0..rows {
        if k > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    }
    sql
}

pub(crate) async fn add_objects(s: &SqliteStore, req: AddRequest) -> Result<Status> {
    let (seq, api_root) = s.coll(req.collection).await?;
    if api_root != req.api_root {
        return Err(StoreError::NotFound(format!(
            "collection {} in API root {:?}",
            req.collection, req.api_root
        )));
    }
    s.write_rq(move |tx| add_in(tx, seq, &req)).await
}

/// The add request's transaction (see [`crate::writer`]).
fn add_in(tx: &rusqlite::Connection, seq: i64, req: &AddRequest) -> Result<Status> {
    let status_id = req.status_id.to_string();
    let status_taken = tx
        .prepare_cached("SELECT 1 FROM statuses WHERE api_root = ?1 AND id = ?2")
        .and_then(|mut st| st.exists((req.api_root.as_str(), status_id.as_str())))
        .map_err(wq_err)?;
    if status_taken {
        return Err(StoreError::Conflict(format!("status {}", req.status_id)));
    }

    // Every stored version of the objects this request touches.
    let mut seen = HashSet::new();
    let ids: Vec<&str> = req
        .versions
        .iter()
        .map(|v| v.id.as_str())
        .filter(|id| seen.insert(*id))
        .collect();
    let mut objects: HashMap<&str, Vec<VRow>> = HashMap::with_capacity(ids.len());
    if !ids.is_empty() {
        let ids_json =
            serde_json::to_string(&ids).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut st = tx.prepare_cached(EXISTING_VERSIONS).map_err(wq_err)?;
        let mut rows = st.query((seq, ids_json.as_str())).map_err(wq_err)?;
        while let Some(r) = rows.next().map_err(wq_err)? {
            let id = r
                .get_ref(1)
                .map_err(wq_err)?
                .as_str()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            // The id as the request spells it (the row's is the same text).
            let Some(key) = seen.get(id) else { continue };
            objects
                .entry(key)
                .or_default()
                .push(vrow_from(r).map_err(wq_err)?);
        }
    }

    let last: i64 = tx
        .prepare_cached("SELECT last_date_added FROM collections WHERE seq = ?1")
        .and_then(|mut st| st.query_row([seq], |r| r.get(0)))
        .map_err(wq_err)?;
    let start = now_micros().max(last + 1);
    let mut next = start;

    let mut successes = Vec::with_capacity(req.versions.len());
    let mut failures = req.rejected.clone();
    let mut touched: Vec<&str> = Vec::new();
    // (request index, id, version key) of every success, for provenance.
    let mut stored: Vec<(usize, &str, String)> = Vec::new();
    for (i, nv) in req.versions.iter().enumerate() {
        let fields = [&nv.id, &nv.type_, &nv.spec_version, &nv.body];
        let extra = [&nv.version, &nv.version_key];
        if !fields.iter().all(|t| packable(t))
            || !extra.iter().flat_map(|t| t.iter()).all(|t| packable(t))
        {
            failures.push(StatusDetail {
                id: nv.id.clone(),
                version: nv.version.clone().unwrap_or_default(),
                message: Some(
                    "contains a raw control character U+001E or U+001F, which JSON text cannot hold"
                        .to_string(),
                ),
            });
            continue;
        }
        let rows = objects.entry(nv.id.as_str()).or_default();
        let (version, version_key, timeless) = match &nv.version {
            None => {
                if let Some(r) = rows.iter().find(|r| r.timeless) {
                    stored.push((i, nv.id.as_str(), r.version_key.clone()));
                    successes.push(StatusDetail {
                        id: nv.id.clone(),
                        version: r.version.clone(),
                        message: Some(ALREADY_PRESENT.to_string()),
                    });
                    continue;
                }
                let version = Timestamp::format_micros(next);
                let key = Timestamp::parse(&version)
                    .map_err(|e| StoreError::Backend(e.to_string()))?
                    .sort_key();
                (version, key, true)
            }
            Some(v) => {
                let key = match &nv.version_key {
                    Some(k) => k.clone(),
                    None => match Timestamp::parse(v) {
                        Ok(t) => t.sort_key(),
                        Err(e) => {
                            failures.push(StatusDetail {
                                id: nv.id.clone(),
                                version: v.clone(),
                                message: Some(e.to_string()),
                            });
                            continue;
                        }
                    },
                };
                (v.clone(), key, false)
            }
        };
        stored.push((i, nv.id.as_str(), version_key.clone()));
        if rows.iter().any(|r| r.version_key == version_key) {
            successes.push(StatusDetail {
                id: nv.id.clone(),
                version,
                message: Some(ALREADY_PRESENT.to_string()),
            });
            continue;
        }
        if !rows.iter().any(|r| r.new.is_some()) {
            touched.push(nv.id.as_str());
        }
        rows.push(VRow {
            rid: None,
            spec_version: nv.spec_version.clone(),
            spec_rank: spec_rank(&nv.spec_version),
            version: version.clone(),
            version_key,
            timeless,
            stored: None,
            flags: [false; 3],
            new: Some((i, next)),
        });
        next += 1;
        successes.push(StatusDetail {
            id: nv.id.clone(),
            version,
            message: None,
        });
    }

    // Flags of every object that gets a new version; new rows in date_added order.
    let mut inserts: Vec<(&VRow, usize, i64)> = Vec::new();
    for id in &touched {
        let rows = objects.get_mut(*id).expect("touched object");
        compute_flags(rows);
    }
    for id in &touched {
        let rows = &objects[*id];
        update_flags(tx, rows.iter())?;
        for r in rows {
            if let Some((i, da)) = r.new {
                inserts.push((r, i, da));
            }
        }
    }
    inserts.sort_by_key(|(_, _, da)| *da);

    for chunk in inserts.chunks(INSERT_CHUNK) {
        let mut st = tx
            .prepare_cached(&insert_sql(chunk.len()))
            .map_err(wq_err)?;
        let mut p = 0;
        let mut bind = |v: &dyn rusqlite::ToSql| -> Result<()> {
            p += 1;
            st.raw_bind_parameter(p, v).map_err(wq_err)
        };
        for (r, i, da) in chunk {
            let nv = &req.versions[*i];
            let (tlp, floor, creator, recipients, granular) = label_columns(&nv.labels)?;
            bind(&seq)?;
            bind(&nv.id.as_str())?;
            bind(&nv.type_.as_str())?;
            bind(&nv.spec_version.as_str())?;
            bind(&r.spec_rank)?;
            bind(&r.version.as_str())?;
            bind(&r.version_key.as_str())?;
            bind(&r.timeless)?;
            bind(da)?;
            bind(&r.flags[0])?;
            bind(&r.flags[1])?;
            bind(&r.flags[2])?;
            bind(&nv.body.as_str())?;
            bind(&tlp)?;
            bind(&floor)?;
            bind(&creator)?;
            bind(&recipients)?;
            bind(&granular)?;
        }
        st.raw_execute().map_err(wq_err)?;
    }

    for (_, i, _) in &inserts {
        let nv = &req.versions[*i];
        if let Some(meaning) = &nv.marking {
            let text =
                serde_json::to_string(meaning).map_err(|e| StoreError::Backend(e.to_string()))?;
            tx.prepare_cached(
                "INSERT INTO markings (id, meaning) VALUES (?1, ?2) \
                 ON CONFLICT (id) DO UPDATE SET meaning = excluded.meaning",
            )
            .and_then(|mut st| st.execute((nv.id.as_str(), text)))
            .map_err(wq_err)?;
        }
    }

    if next != start {
        tx.prepare_cached("UPDATE collections SET last_date_added = ?1 WHERE seq = ?2")
            .and_then(|mut st| st.execute((next - 1, seq)))
            .map_err(wq_err)?;
    }

    let status = Status {
        id: req.status_id,
        api_root: req.api_root.clone(),
        complete: true,
        request_timestamp: req.request_timestamp,
        total_count: (req.versions.len() + req.rejected.len()) as u64,
        successes,
        failures,
        pendings: Vec::new(),
        owner: req.owner,
    };
    if let Some(a) = &req.audit {
        crate::sharing::append_audit_rq(tx, std::slice::from_ref(a))?;
    }
    if let Some(origin) = &req.origin {
        let rows: Vec<(usize, &str, &str)> = stored
            .iter()
            .map(|(i, id, k)| (*i, *id, k.as_str()))
            .collect();
        crate::federation::record_origin(tx, seq, origin, &rows, now_micros())?;
    }
    if let Some(progress) = &req.sync {
        let p =
            crate::federation::count_outcome(progress, &status.successes, status.failures.len());
        crate::federation::apply_progress_rq(tx, &p)?;
    }
    let body = serde_json::to_string(&status).map_err(|e| StoreError::Backend(e.to_string()))?;
    tx.prepare_cached("INSERT INTO statuses (api_root, id, body, owner) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut st| {
            st.execute((
                req.api_root.as_str(),
                status_id.as_str(),
                body,
                req.owner.map(|u| u.to_string()),
            ))
        })
        .map_err(wq_err)?;
    Ok(status)
}

/// The label columns of a version: tlp, floor, creator, recipients, granular (see migration
/// 0004).
type LabelColumns = (
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn label_columns(l: &ObjectLabels) -> Result<LabelColumns> {
    let recipients = (!l.recipients.is_empty()).then(|| {
        let mut s = String::from(",");
        for r in &l.recipients {
            s.push_str(&r.stix_id());
            s.push(',');
        }
        s
    });
    let granular = if l.granular.is_empty() {
        None
    } else {
        Some(serde_json::to_string(l).map_err(|e| StoreError::Backend(e.to_string()))?)
    };
    Ok((
        l.tlp.map(|t| t as i64),
        l.floor.map(|t| t as i64),
        l.creator.map(|c| c.stix_id()),
        recipients,
        granular,
    ))
}

/// The SQL form of [`ReadFilter::admits`].
fn read_filter_sql(sql: &mut Sql, f: &ReadFilter) -> String {
    let levels = |bits: u8| {
        let l: Vec<String> = ReadFilter::levels(bits).map(|t| t.to_string()).collect();
        if l.is_empty() {
            "(-1)".to_string()
        } else {
            format!("({})", l.join(", "))
        }
    };
    let eff = format!(
        "max(coalesce(v.tlp, {}), coalesce(v.floor, 0))",
        f.default_tlp as u8
    );
    if f.identities.is_empty() || f.named_levels == f.channel_levels {
        return format!("{eff} IN {}", levels(f.channel_levels));
    }
    let ids: Vec<String> = f.identities.iter().map(|i| i.stix_id()).collect();
    let creator = sql.list(&ids);
    let mut named = vec![format!("coalesce(v.creator, '') IN {creator}")];
    for id in &ids {
        let p = sql.arg(format!(",{id},"));
        named.push(format!("instr(coalesce(v.recipients, ''), {p}) > 0"));
    }
    if f.channel_levels & !f.named_levels == 0 {
        // Being named never hides what the channel shows (true of every rule of the table): the
        // level alone admits most rows, and only the others need the creator and recipients
        // compared. The same predicate as the CASE below.
        return format!(
            "({eff} IN {} OR (({}) AND {eff} IN {}))",
            levels(f.channel_levels),
            named.join(" OR "),
            levels(f.named_levels)
        );
    }
    format!(
        "CASE WHEN {} THEN {eff} IN {} ELSE {eff} IN {} END",
        named.join(" OR "),
        levels(f.named_levels),
        levels(f.channel_levels)
    )
}

/// A query under construction: SQL text and its numbered arguments.
#[derive(Default)]
struct Sql {
    args: Vec<Value>,
}

impl Sql {
    fn arg(&mut self, v: impl Into<Value>) -> String {
        self.args.push(v.into());
        format!("?{}", self.args.len())
    }
}

/// Lists up to this long are bound one parameter per value (`IN (?, ?)`); longer ones as one
/// JSON array read with `json_each`.
const INLINE_LIST: usize = 32;

impl Sql {
    /// The right-hand side of an `IN` over `items`: `(?3, ?4)` or `(SELECT value FROM json_each(?3))`.
    fn list(&mut self, items: &[String]) -> String {
        if items.len() <= INLINE_LIST {
            let ps: Vec<String> = items.iter().map(|i| self.arg(i.clone())).collect();
            format!("({})", ps.join(", "))
        } else {
            let json = serde_json::to_string(items).expect("strings serialize");
            format!("(SELECT value FROM json_each({}))", self.arg(json))
        }
    }

    /// `v.id` is one of `ids`, matched through the id-suffix index first.
    fn id_in(&mut self, ids: &[String]) -> String {
        if ids.len() <= INLINE_LIST {
            let ps: Vec<String> = ids.iter().map(|i| self.arg(i.clone())).collect();
            let suffixes: Vec<String> = ps.iter().map(|p| format!("substr({p}, -12)")).collect();
            format!(
                "substr(v.id, -12) IN ({}) AND v.id IN ({})",
                suffixes.join(", "),
                ps.join(", ")
            )
        } else {
            let json = serde_json::to_string(ids).expect("strings serialize");
            let p = self.arg(json);
            format!(
                "substr(v.id, -12) IN (SELECT substr(value, -12) FROM json_each({p})) \
                 AND v.id IN (SELECT value FROM json_each({p}))"
            )
        }
    }
}

/// The selection of `versions` (and spec versions) as a WHERE fragment; returns whether it is
/// exactly the default selection (served by the partial index `versions_default`).
fn selection(sql: &mut Sql, spec_versions: &[String], vf: &VersionFilter) -> (String, bool) {
    let (first, last, all) = if vf.is_default() {
        (false, true, false)
    } else {
        (vf.first, vf.last, vf.all)
    };
    let exact = &vf.exact;
    if spec_versions.is_empty() {
        if all {
            return ("v.latest_spec = 1".into(), false);
        }
        if last && !first && exact.is_empty() {
            return ("v.dflt_last = 1".into(), true);
        }
        if first && !last && exact.is_empty() {
            return ("v.dflt_first = 1".into(), false);
        }
        let mut parts = Vec::new();
        if last {
            parts.push("v.dflt_last = 1".to_string());
        }
        if first {
            parts.push("v.dflt_first = 1".to_string());
        }
        if !exact.is_empty() {
            let p = sql.list(exact);
            parts.push(format!("v.version_key IN {p}"));
        }
        return (
            format!("v.latest_spec = 1 AND ({})", parts.join(" OR ")),
            false,
        );
    }
    let sp = sql.list(spec_versions);
    let eligible = format!("v.spec_version IN {sp}");
    if all {
        return (eligible, false);
    }
    let mut parts = Vec::new();
    for (on, agg) in [(last, "MAX"), (first, "MIN")] {
        if on {
            parts.push(format!(
                "v.version_key = (SELECT {agg}(w.version_key) FROM versions AS w \
                 WHERE w.coll = v.coll AND substr(w.id, -12) = substr(v.id, -12) AND w.id = v.id \
                 AND w.spec_version IN {sp})"
            ));
        }
    }
    if !exact.is_empty() {
        let p = sql.list(exact);
        parts.push(format!("v.version_key IN {p}"));
    }
    (format!("{eligible} AND ({})", parts.join(" OR ")), false)
}

/// The SQL text and arguments of a query over the collection with key `seq`.
fn build_query(seq: i64, q: &ObjectQuery) -> (String, Vec<Value>) {
    let mut sql = Sql::default();
    let coll = sql.arg(seq);
    let mut cond = vec![format!("v.coll = {coll}")];
    let (sel, is_default) = selection(&mut sql, &q.spec_versions, &q.versions);
    cond.push(sel);
    let by_id = q.object_id.is_some() || !q.ids.is_empty();
    if let Some(oid) = &q.object_id {
        let p = sql.arg(oid.clone());
        cond.push(format!(
            "substr(v.id, -12) = substr({p}, -12) AND v.id = {p}"
        ));
    }
    if !q.ids.is_empty() {
        cond.push(sql.id_in(&q.ids));
    }
    if !q.types.is_empty() {
        let p = sql.list(&q.types);
        cond.push(format!("v.type IN {p}"));
    }
    if let Some(t) = q.added_after {
        let p = sql.arg(t);
        cond.push(format!("v.date_added > {p}"));
    }
    if let ReadAccess::Filter(f) = &q.read {
        cond.push(read_filter_sql(&mut sql, f));
    }
    if let Some(org) = q.exclude_origin {
        let p = sql.arg(org.to_string());
        cond.push(format!(
            "NOT EXISTS (SELECT 1 FROM provenance AS pv WHERE pv.coll = v.coll AND pv.id = v.id \
             AND pv.version_key = v.version_key AND pv.origin_org = {p})"
        ));
    }
    if let Some(c) = &q.after {
        // date_added is unique within a collection (UNIQUE index versions_order), so "after
        // (date_added, id, version_key)" is "after date_added".
        let p = sql.arg(c.date_added);
        cond.push(format!("v.date_added > {p}"));
    }
    // A literal, not a parameter: SQLite re-prepares a statement on every run when a bound
    // value feeds its LIMIT.
    let limit = i64::try_from(q.limit.saturating_add(1)).unwrap_or(i64::MAX);
    let index = if by_id {
        "versions_by_id"
    } else if is_default {
        "versions_default"
    } else {
        "versions_order"
    };
    let body = if q.with_bodies { ", v.body" } else { "" };
    let text = format!(
        "SELECT v.id, v.type, v.spec_version, v.version, v.version_key, v.date_added, \
         v.granular, v.tlp, v.floor{body} \
         FROM versions AS v INDEXED BY {index} WHERE {} \
         ORDER BY v.date_added, v.id, v.version_key LIMIT {limit}",
        cond.join(" AND ")
    );
    (text, sql.args)
}

/// How many versions `q` selects (ignoring its limit, cursor and bodies).
pub(crate) async fn count(s: &SqliteStore, q: &ObjectQuery) -> Result<u64> {
    let (seq, _) = s.coll(q.collection).await?;
    let mut q = q.clone();
    q.after = None;
    q.with_bodies = false;
    let (text, args) = build_query(seq, &q);
    let (select, rest) = text.split_once(" FROM ").expect("a FROM clause");
    let _ = select;
    let rest = rest
        .rsplit_once(" ORDER BY ")
        .map_or(rest, |(head, _)| head);
    let text = format!("SELECT count(*) FROM {rest}");
    s.readers
        .run(move |c| {
            let mut st = c.prepare_cached(&text).map_err(rq_err)?;
            st.query_row(rusqlite::params_from_iter(args), |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
                .map_err(rq_err)
        })
        .await
}

/// SQLite's plan for a query (the `detail` lines of `EXPLAIN QUERY PLAN`).
pub(crate) async fn query_plan(s: &SqliteStore, q: &ObjectQuery) -> Result<Vec<String>> {
    let (seq, _) = s.coll(q.collection).await?;
    let (text, args) = build_query(seq, q);
    s.readers
        .run(move |c| {
            let mut st = c
                .prepare(&format!("EXPLAIN QUERY PLAN {text}"))
                .map_err(rq_err)?;
            let rows = st
                .query_map(rusqlite::params_from_iter(args), |r| {
                    r.get::<_, String>("detail")
                })
                .map_err(rq_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(rq_err)
        })
        .await
}

/// Whether `text` can be stored. JSON text never holds these control characters (inside
/// strings they must be escaped, outside only whitespace is allowed), nor do STIX ids, types or
/// timestamps; `add_objects` refuses versions that do. (Pages were once packed into one text
/// value with them as separators; the check stays so that what is stored keeps that property.)
fn packable(text: &str) -> bool {
    memchr::memchr2(0x1e, 0x1f, text.as_bytes()).is_none()
}

pub(crate) async fn query(s: &SqliteStore, q: &ObjectQuery) -> Result<Page> {
    let (seq, _) = s.coll(q.collection).await?;
    let (text, args) = build_query(seq, q);
    let with_bodies = q.with_bodies;
    let limit = q.limit;
    // Rows are read in place (rusqlite borrows each value from SQLite): every text is copied
    // once, into its record.
    let mut records = s
        .readers
        .run(move |c| {
            let mut st = c.prepare_cached(&text).map_err(rq_err)?;
            let mut rows = st.query(rusqlite::params_from_iter(args)).map_err(rq_err)?;
            let mut records = Vec::with_capacity(limit.saturating_add(1).min(4096));
            while let Some(r) = rows.next().map_err(rq_err)? {
                records.push(record_from(r, with_bodies).map_err(rq_err)?);
            }
            Ok(records)
        })
        .await?;
    let more = records.len() > q.limit;
    records.truncate(q.limit);
    Ok(Page { records, more })
}

/// A row of [`build_query`]'s select list as a record.
fn record_from(r: &rusqlite::Row<'_>, with_bodies: bool) -> rusqlite::Result<Record> {
    let text = |i: usize| -> rusqlite::Result<String> { Ok(r.get_ref(i)?.as_str()?.to_owned()) };
    let level = |i: usize| -> rusqlite::Result<Option<Tlp>> {
        match r.get::<_, Option<i64>>(i)? {
            None => Ok(None),
            Some(v) => crate::tlp_from(v).map(Some).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    i,
                    rusqlite::types::Type::Integer,
                    e.into(),
                )
            }),
        }
    };
    let labels = match r.get_ref(6)?.as_str_or_null()? {
        None => None,
        Some(json) => Some(serde_json::from_str(json).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, e.into())
        })?),
    };
    Ok(Record {
        id: text(0)?,
        type_: text(1)?,
        spec_version: text(2)?,
        version: text(3)?,
        version_key: text(4)?,
        date_added: r.get(5)?,
        labels,
        tlp: level(7)?,
        floor: level(8)?,
        body: if with_bodies { Some(text(9)?) } else { None },
    })
}

pub(crate) async fn delete_versions(s: &SqliteStore, d: &DeleteSpec) -> Result<u64> {
    let (seq, _) = s.coll(d.collection).await?;
    let d = d.clone();
    s.write_rq(move |tx| delete_in(tx, seq, &d)).await
}

/// The delete's transaction (see [`crate::writer`]).
fn delete_in(tx: &rusqlite::Connection, seq: i64, d: &DeleteSpec) -> Result<u64> {
    let rows: Vec<VRow> = tx
        .prepare_cached(&format!(
            "SELECT {VROW_COLS} FROM versions WHERE coll = ?1 AND substr(id, -12) = substr(?2, -12) \
             AND id = ?2"
        ))
        .and_then(|mut st| {
            st.query_map((seq, d.object_id.as_str()), vrow_from)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(wq_err)?;
    let eligible: Vec<&VRow> = rows
        .iter()
        .filter(|r| d.spec_versions.is_empty() || d.spec_versions.contains(&r.spec_version))
        .collect();
    let vf = &d.versions;
    let first = eligible.iter().map(|r| &r.version_key).min();
    let last = eligible.iter().map(|r| &r.version_key).max();
    let doomed: Vec<i64> = eligible
        .iter()
        .filter(|r| {
            vf.is_default()
                || vf.all
                || (vf.first && Some(&r.version_key) == first)
                || (vf.last && Some(&r.version_key) == last)
                || vf.exact.contains(&r.version_key)
        })
        .filter_map(|r| r.rid)
        .collect();
    if doomed.is_empty() {
        return Ok(0);
    }
    let json = serde_json::to_string(&doomed).map_err(|e| StoreError::Backend(e.to_string()))?;
    tx.prepare_cached(
        "DELETE FROM provenance WHERE (coll, id, version_key) IN \
         (SELECT coll, id, version_key FROM versions WHERE rid IN (SELECT value FROM json_each(?1)))",
    )
    .and_then(|mut st| st.execute([json.as_str()]))
    .map_err(wq_err)?;
    let done = tx
        .prepare_cached("DELETE FROM versions WHERE rid IN (SELECT value FROM json_each(?1))")
        .and_then(|mut st| st.execute([json.as_str()]))
        .map_err(wq_err)?;
    let mut remaining: Vec<VRow> = rows
        .into_iter()
        .filter(|r| !r.rid.is_some_and(|rid| doomed.contains(&rid)))
        .collect();
    compute_flags(&mut remaining);
    update_flags(tx, remaining.iter())?;
    if let Some(a) = &d.audit {
        crate::sharing::append_audit_rq(tx, std::slice::from_ref(a))?;
    }
    Ok(done as u64)
}

#[cfg(test)]
mod tests {
    use super::spec_rank;

    #[test]
    fn spec_ranks_order_versions() {
        assert!(spec_rank("2.0") < spec_rank("2.1"));
        assert!(spec_rank("2.1") < spec_rank("2.10"));
        assert!(spec_rank("2.9") < spec_rank("3.0"));
        assert_eq!(spec_rank("2"), spec_rank("2.0"));
        assert_eq!(spec_rank("x"), 0);
    }
}
