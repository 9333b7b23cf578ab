//! One pull round: the remote collection's pages, from the subscription's cursor to the end.
//!
//! Each page is validated like any write (`cairn_store::ingest::prepare_version`), filtered by
//! the subscription (`match[type]` on the wire; labels and markings here, counted as skipped),
//! and stored with its provenance, the new cursor and the counters in one `add_objects`
//! transaction ([`cairn_store::AddRequest::sync`]). A kill at any moment leaves the last page
//! either wholly stored with its cursor or not at all, so the next round repeats at most that
//! page, and a repeated version is found already present (counted as a duplicate, stored once).
//!
//! The cursor is `{"added_after", "next", "last"}`: the `added_after` the current `next` token
//! was issued under (a token is only valid with the query it came from), the token, and the
//! `X-TAXII-Date-Added-Last` of the last stored page. Within a round the token is followed; a
//! new round (after a kill, a failure or a restart of either side) never re-sends a stored
//! token, since servers may serve a token's page only once (medallion) or forget tokens
//! (medallion after 30 s or a restart): it asks again with `added_after` = `last`, and
//! versions read twice are found already present. Servers
//! that say `more` without a `next` are followed by `added_after` =
//! `X-TAXII-Date-Added-Last`; servers that ignore `limit` are read as they answer (bounded by
//! the client's body limit). At the end of the remote collection the cursor becomes the last
//! `X-TAXII-Date-Added-Last` seen, so the next round asks only for what was added since.

use cairn_stix::Timestamp;
use cairn_store::federation::{Origin, SyncProgress};
use cairn_store::{AddRequest, NewAuditEntry, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::client::GetParams;
use crate::engine::{Ctx, RoundReport};
use crate::{SyncError, now_micros};

/// Where a pull resumes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullCursor {
    /// The `added_after` of the query the `next` token belongs to (as the remote wrote it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// `X-TAXII-Date-Added-Last` of the last page stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
}

impl PullCursor {
    pub fn parse(text: Option<&str>) -> PullCursor {
        text.and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }
}

/// Does the object (raw JSON) carry one of the subscription's labels and one of its
/// markings (each list empty = no condition)?
fn passes(labels: &[String], markings: &[String], raw: &str) -> bool {
    if labels.is_empty() && markings.is_empty() {
        return true;
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(raw) else {
        // Validation decides what to do with it.
        return true;
    };
    let has = |key: &str, wanted: &[String]| {
        wanted.is_empty()
            || v.get(key).and_then(|a| a.as_array()).is_some_and(|a| {
                a.iter()
                    .any(|x| x.as_str().is_some_and(|s| wanted.iter().any(|w| w == s)))
            })
    };
    has("labels", labels) && has("object_marking_refs", markings)
}

/// Run one pull round.
pub(crate) async fn round(ctx: &Ctx<'_>) -> Result<RoundReport, SyncError> {
    let sub = ctx.sub;
    let store = ctx.store;
    let started = now_micros();
    let state = store.sync_state(sub.id).await?;
    let mut cursor = PullCursor::parse(state.cursor.as_deref());
    // A token from an earlier round is not trusted: resume after the last stored page.
    if cursor.next.take().is_some()
        && let Some(last) = cursor.last.clone()
    {
        cursor.added_after = Some(last);
    }
    if cursor.added_after.is_none()
        && cursor.next.is_none()
        && let Some(after) = sub.filter.added_after
    {
        cursor.added_after = Some(Timestamp::format_micros(after));
    }
    let (_, api_root_name) = local_collection(store, sub.local_collection).await?;
    let mut report = RoundReport::new(sub);
    loop {
        ctx.lease.renew().await?;
        let page = ctx
            .client
            .get_objects(
                &sub.remote_api_root,
                &sub.remote_collection,
                &GetParams {
                    added_after: cursor.added_after.as_deref(),
                    next: cursor.next.as_deref(),
                    limit: Some(ctx.page_size),
                    types: &sub.filter.types,
                    all_versions: true,
                },
            )
            .await?;
        // Where the next request starts.
        let mut following = cursor.clone();
        if page.date_added_last.is_some() {
            following.last = page.date_added_last.clone();
        }
        let mut done = false;
        match (&page.next, page.more) {
            (Some(next), true) => following.next = Some(next.clone()),
            (_, more) => {
                following.next = None;
                match &page.date_added_last {
                    Some(last) => following.added_after = Some(last.clone()),
                    None if page.objects.is_empty() => {}
                    None => {
                        return Err(SyncError::Config(format!(
                            "{}: a page without `next` and without X-TAXII-Date-Added-Last \
                             cannot be resumed from",
                            sub.remote_collection
                        )));
                    }
                }
                done = !more;
                if more && page.objects.is_empty() {
                    // `more` with nothing to move on from: stop instead of spinning.
                    done = true;
                }
            }
        }
        // Remote date_added of each version, from the manifest of the same range.
        let remote_dates = if ctx.remote_dates && !page.objects.is_empty() {
            remote_dates(ctx, &page).await
        } else {
            Default::default()
        };
        let mut versions = Vec::with_capacity(page.objects.len());
        let mut rejected = Vec::new();
        let mut skipped = 0u64;
        let mut dates = Vec::with_capacity(page.objects.len());
        for raw in &page.objects {
            let text = raw.get();
            if !passes(&sub.filter.labels, &sub.filter.markings, text) {
                skipped += 1;
                continue;
            }
            match cairn_store::ingest::prepare_version(text) {
                Ok(v) => {
                    dates.push(
                        v.version_key
                            .as_ref()
                            .and_then(|k| remote_dates.get(&(v.id.clone(), k.clone())).copied()),
                    );
                    versions.push(v);
                }
                Err(detail) => rejected.push(detail),
            }
        }
        cairn_store::ingest::resolve_markings(store, &mut versions).await?;
        let n_rejected = rejected.len();
        let n_versions = versions.len();
        let status = store
            .add_objects(AddRequest {
                api_root: api_root_name.clone(),
                collection: sub.local_collection,
                status_id: Uuid::new_v4(),
                request_timestamp: now_micros(),
                versions,
                rejected,
                owner: None,
                audit: Some(NewAuditEntry::new(
                    &ctx.actor,
                    "objects.pull",
                    Some(sub.local_collection.to_string()),
                    json!({
                        "peer": ctx.peer.name,
                        "subscription": sub.id,
                        "remote_collection": sub.remote_collection,
                        "received": n_versions + n_rejected,
                        "rejected": n_rejected,
                        "skipped": skipped,
                    }),
                )),
                origin: Some(Origin {
                    org: ctx.peer.org_id,
                    peer: Some(ctx.peer.id),
                    remote_collection: Some(sub.remote_collection.clone()),
                    remote_date_added: dates,
                }),
                sync: Some(SyncProgress {
                    subscription: sub.id,
                    cursor: Some(serde_json::to_string(&following).expect("cursor serializes")),
                    skipped,
                    ..SyncProgress::default()
                }),
            })
            .await?;
        report.pages += 1;
        report.skipped += skipped;
        report.rejected += status.failures.len() as u64;
        for s in &status.successes {
            if s.message.as_deref() == Some(cairn_store::ALREADY_PRESENT) {
                report.duplicates += 1;
            } else {
                report.transferred += 1;
            }
        }
        cursor = following;
        if done {
            break;
        }
    }
    report.caught_up_at = Some(started);
    report.lag_objects = Some(0);
    Ok(report)
}

/// The local collection and its API root name.
pub(crate) async fn local_collection(
    store: &dyn Store,
    id: Uuid,
) -> Result<(cairn_store::Collection, String), SyncError> {
    for root in store.list_api_roots().await? {
        for c in store.list_collections(&root.name).await? {
            if c.id == id {
                return Ok((c, root.name));
            }
        }
    }
    Err(SyncError::Config(format!(
        "local collection {id} does not exist"
    )))
}

/// (id, version) → remote date_added (microseconds), from the manifest entries between the
/// page's first and last date_added. Best effort: a remote without a usable manifest leaves
/// the dates unknown.
async fn remote_dates(
    ctx: &Ctx<'_>,
    page: &crate::client::ObjectsPage,
) -> std::collections::HashMap<(String, String), i64> {
    let mut out = std::collections::HashMap::new();
    let Some(first) = page
        .date_added_first
        .as_deref()
        .and_then(|t| Timestamp::parse(t).ok())
    else {
        return out;
    };
    let last = page
        .date_added_last
        .as_deref()
        .and_then(|t| Timestamp::parse(t).ok())
        .map(|t| t.unix_micros());
    let after = Timestamp::format_micros(first.unix_micros() - 1);
    let mut next: Option<String> = None;
    // At most a few manifest pages per objects page.
    for _ in 0..4 {
        let Ok(m) = ctx
            .client
            .manifest(
                &ctx.sub.remote_api_root,
                &ctx.sub.remote_collection,
                &GetParams {
                    added_after: Some(&after),
                    next: next.as_deref(),
                    limit: Some(page.objects.len().max(1)),
                    types: &ctx.sub.filter.types,
                    all_versions: true,
                },
            )
            .await
        else {
            return out;
        };
        let mut beyond = false;
        for e in &m.objects {
            let Ok(t) = Timestamp::parse(&e.date_added) else {
                continue;
            };
            if last.is_some_and(|l| t.unix_micros() > l) {
                beyond = true;
                continue;
            }
            let version = Timestamp::parse(&e.version)
                .map(|v| v.sort_key())
                .unwrap_or_else(|_| e.version.clone());
            out.insert((e.id.clone(), version), t.unix_micros());
        }
        if beyond || !m.more || m.next.is_none() || out.len() >= page.objects.len() {
            break;
        }
        next = m.next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_by_labels_and_markings() {
        let o = r#"{"labels":["ransomware"],"object_marking_refs":["marking-definition--x"]}"#;
        assert!(passes(&[], &[], o));
        assert!(passes(&["ransomware".into()], &[], o));
        assert!(!passes(&["phishing".into()], &[], o));
        assert!(passes(&[], &["marking-definition--x".into()], o));
        assert!(!passes(
            &["ransomware".into()],
            &["marking-definition--y".into()],
            o
        ));
        assert!(!passes(&["ransomware".into()], &[], "{}"));
    }

    #[test]
    fn cursor_round_trip() {
        let c = PullCursor {
            added_after: Some("2026-01-01T00:00:00.000001Z".into()),
            next: Some("tok".into()),
            last: Some("2026-01-01T00:00:01.000001Z".into()),
        };
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(PullCursor::parse(Some(&text)), c);
        assert_eq!(PullCursor::parse(Some("garbage")), PullCursor::default());
    }
}
