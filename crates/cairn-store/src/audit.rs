//! The audit log: append-only and tamper-evident. Each entry carries the SHA-256 of the previous
//! entry's hash and its own canonical content, so changing, removing or reordering any entry
//! breaks the chain from there on; [`verify`] finds the first broken entry.
//!
//! What is logged (by the server and the CLI): authentication successes and failures, every
//! write and delete, reads of TLP:AMBER, AMBER+STRICT and RED objects, and every change to
//! grants, roles, users, groups, organizations and tokens.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry to append; the store assigns `seq` and the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    /// Microseconds since the Unix epoch.
    pub time: i64,
    /// Who acted: a user name, `cli` for the node operator, `anonymous`, or the name given in a
    /// failed authentication.
    pub actor: String,
    /// What happened, dotted: `auth.success`, `auth.failure`, `objects.add`, `objects.delete`,
    /// `objects.read`, `grant.set`, `user.create`, `token.revoke`, ...
    pub action: String,
    /// The main thing acted on (a collection id, an object id, a user name), if any.
    pub object: Option<String>,
    /// Everything else (object ids and TLP levels read, a client address, rights granted).
    pub detail: Value,
}

impl NewAuditEntry {
    pub fn new(actor: &str, action: &str, object: Option<String>, detail: Value) -> NewAuditEntry {
        NewAuditEntry {
            time: now_micros(),
            actor: actor.to_string(),
            action: action.to_string(),
            object,
            detail,
        }
    }
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3, ... without gaps.
    pub seq: i64,
    #[serde(flatten)]
    pub entry: NewAuditEntry,
    /// The previous entry's `hash` ([`GENESIS`] for the first).
    pub prev: String,
    /// [`entry_hash`] of this entry.
    pub hash: String,
}

/// SHA-256 (hex) over `prev` and the canonical JSON of (seq, time, actor, action, object,
/// detail). `serde_json` writes object keys in insertion order, so the detail is hashed as
/// stored; the store keeps it as this exact text.
pub fn entry_hash(prev: &str, seq: i64, e: &NewAuditEntry) -> String {
    entry_hash_text(prev, seq, e, &e.detail.to_string())
}

/// [`entry_hash`] with the detail already written as JSON text (`e.detail.to_string()`).
fn entry_hash_text(prev: &str, seq: i64, e: &NewAuditEntry, detail: &str) -> String {
    // The same bytes as `json!([seq, time, actor, action, object, detail]).to_string()`.
    let head = serde_json::to_string(&(seq, e.time, &e.actor, &e.action, &e.object))
        .expect("numbers and strings serialize");
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(&head.as_bytes()[..head.len() - 1]);
    h.update(b",");
    h.update(detail.as_bytes());
    h.update(b"]");
    let digest = h.finalize();
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Chain `entries` after an entry with `last_seq` and `last_hash` (0 and [`GENESIS`] for an
/// empty log).
pub fn chain(last_seq: i64, last_hash: &str, entries: &[NewAuditEntry]) -> Vec<AuditEntry> {
    chain_for_insert(last_seq, last_hash, entries)
        .into_iter()
        .map(|c| AuditEntry {
            seq: c.seq,
            entry: c.entry.clone(),
            prev: c.prev,
            hash: c.hash,
        })
        .collect()
}

/// An entry chained for storing: its detail as the exact text that was hashed.
#[derive(Debug)]
pub struct ChainedEntry<'a> {
    pub seq: i64,
    pub entry: &'a NewAuditEntry,
    /// `entry.detail` as JSON text (what the store keeps).
    pub detail: String,
    pub prev: String,
    pub hash: String,
}

/// [`chain`] without copying the entries: each detail is written as JSON once, for the hash
/// and for the store.
pub fn chain_for_insert<'a>(
    last_seq: i64,
    last_hash: &str,
    entries: &'a [NewAuditEntry],
) -> Vec<ChainedEntry<'a>> {
    let mut prev = last_hash.to_string();
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let seq = last_seq + 1 + i as i64;
        let detail = e.detail.to_string();
        let hash = entry_hash_text(&prev, seq, e, &detail);
        out.push(ChainedEntry {
            seq,
            entry: e,
            detail,
            prev: std::mem::replace(&mut prev, hash.clone()),
            hash,
        });
    }
    out
}

/// The first entry where the chain breaks, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {seq}: {reason}")]
pub struct BrokenChain {
    pub seq: i64,
    pub reason: String,
}

/// Check a run of entries that starts at `seq` 1 (or continues after `prev_seq`/`prev_hash`).
pub fn verify(
    prev_seq: i64,
    prev_hash: &str,
    entries: &[AuditEntry],
) -> Result<(i64, String), BrokenChain> {
    let mut seq = prev_seq;
    let mut hash = prev_hash.to_string();
    for e in entries {
        if e.seq != seq + 1 {
            return Err(BrokenChain {
                seq: e.seq,
                reason: format!("expected sequence number {}, found {}", seq + 1, e.seq),
            });
        }
        if e.prev != hash {
            return Err(BrokenChain {
                seq: e.seq,
                reason: "its link to the previous entry does not match that entry's hash"
                    .to_string(),
            });
        }
        let want = entry_hash(&e.prev, e.seq, &e.entry);
        if e.hash != want {
            return Err(BrokenChain {
                seq: e.seq,
                reason: "its content does not match its hash (the entry was changed)".to_string(),
            });
        }
        seq = e.seq;
        hash = e.hash.clone();
    }
    Ok((seq, hash))
}

/// Which entries [`crate::Store::audit_entries`] returns, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Entries with `seq` greater than this.
    pub after_seq: i64,
    /// `time` at or after (microseconds).
    pub since: Option<i64>,
    /// `time` before.
    pub until: Option<i64>,
    pub actor: Option<String>,
    /// Entries whose `object` is this, or whose detail names it.
    pub object: Option<String>,
    pub limit: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entries() -> Vec<NewAuditEntry> {
        (0..5)
            .map(|i| NewAuditEntry {
                time: 1_700_000_000_000_000 + i,
                actor: format!("user{i}"),
                action: "objects.read".into(),
                object: Some(format!("collection-{i}")),
                detail: json!({"ids": [format!("indicator--{i}")], "tlp": "amber"}),
            })
            .collect()
    }

    /// Hashes of existing logs stay valid: the hash is over the text the `json!` array of
    /// (seq, time, actor, action, object, detail) writes, including unusual characters.
    #[test]
    fn the_hashed_text_is_the_json_array_of_the_fields() {
        let mut e = entries();
        e[1].object = None;
        e[2].actor = "a \"quoted\" name\n\u{1}é".into();
        e[3].detail = json!([]);
        for (i, x) in e.iter().enumerate() {
            let content = json!([i as i64 + 9, x.time, x.actor, x.action, x.object, x.detail]);
            let mut h = Sha256::new();
            h.update(b"prev\n");
            h.update(content.to_string().as_bytes());
            let want: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(entry_hash("prev", i as i64 + 9, x), want, "entry {i}");
        }
    }

    #[test]
    fn a_chain_verifies_and_continues() {
        let e = entries();
        let first = chain(0, GENESIS, &e[..2]);
        let (seq, hash) = verify(0, GENESIS, &first).unwrap();
        let rest = chain(seq, &hash, &e[2..]);
        let all: Vec<AuditEntry> = first.into_iter().chain(rest).collect();
        assert_eq!(verify(0, GENESIS, &all).unwrap().0, 5);
    }

    #[test]
    fn every_kind_of_tampering_is_found_at_its_entry() {
        let good = chain(0, GENESIS, &entries());
        let mut changed = good.clone();
        changed[2].entry.actor = "mallory".into();
        assert_eq!(verify(0, GENESIS, &changed).unwrap_err().seq, 3);
        let mut rehashed = changed.clone();
        rehashed[2].hash = entry_hash(&rehashed[2].prev, 3, &rehashed[2].entry);
        assert_eq!(
            verify(0, GENESIS, &rehashed).unwrap_err().seq,
            4,
            "re-hashing one entry breaks the next link"
        );
        let mut removed = good.clone();
        removed.remove(1);
        assert_eq!(verify(0, GENESIS, &removed).unwrap_err().seq, 3);
        let mut swapped = good.clone();
        swapped.swap(0, 1);
        assert_eq!(verify(0, GENESIS, &swapped).unwrap_err().seq, 2);
        let mut detail = good;
        detail[4].entry.detail = json!({"ids": [], "tlp": "amber"});
        assert_eq!(verify(0, GENESIS, &detail).unwrap_err().seq, 5);
    }
}
