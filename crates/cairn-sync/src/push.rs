//! One push round: the local collection, from the subscription's cursor to the end, to the
//! remote collection.
//!
//! What is read is decided by the release policy before anything is serialized: the store
//! query runs under the federation-push filter towards the peer's organization
//! (`cairn_store::access::peer_push_filter`: RED and AMBER+STRICT never; AMBER only where the
//! peer's organization reads the collection or is a named recipient; GREEN only to community
//! peers; CLEAR always) and excludes every version whose provenance is that organization (a
//! peer never receives back what came from it). Versions with granular markings are redacted
//! for the peer. Every version is sent (`match[version]=all` locally), so a changed object
//! reaches the peer as its new version.
//!
//! Envelopes stay within the remote API root's `max_content_length`; an object too large for
//! any envelope is counted as rejected. After each POST the status resource is polled until
//! complete; objects the remote failed are sent again (only those), up to
//! [`RETRIES`] times, then counted as rejected. A 413 splits the envelope in two. The cursor
//! (the last local version pushed) moves only after the remote has accepted a page; at the end
//! of a round it moves over the versions kept back after the last one sent, so that each
//! version kept back is counted in `refused_by_policy` once, not again every round.

use std::time::Duration;

use cairn_policy::{Access, Destination, Path};
use cairn_store::federation::SyncProgress;
use cairn_store::{
    Cursor, NewAuditEntry, ObjectQuery, ReadAccess, ReadFilter, Record, VersionFilter,
};
use serde_json::{Value, json};

use crate::client::{ClientError, StatusResource};
use crate::engine::{Ctx, RoundReport};
use crate::{SyncError, now_micros};

/// How many times objects the remote failed are sent again within a round.
pub const RETRIES: usize = 2;

/// The envelope's fixed bytes: `{"objects":[` and `]}`.
const ENVELOPE_OVERHEAD: usize = 14;

/// Split `bodies` into envelopes of at most `max` bytes. Returns the envelopes (as indexes
/// into `bodies`) and the indexes too large to send at all.
pub fn plan_envelopes(bodies: &[&str], max: usize) -> (Vec<Vec<usize>>, Vec<usize>) {
    let mut out = Vec::new();
    let mut too_large = Vec::new();
    let mut cur = Vec::new();
    let mut size = ENVELOPE_OVERHEAD;
    for (i, b) in bodies.iter().enumerate() {
        let len = b.len() + 1;
        if ENVELOPE_OVERHEAD + len > max {
            too_large.push(i);
            continue;
        }
        if size + len > max && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            size = ENVELOPE_OVERHEAD;
        }
        cur.push(i);
        size += len;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    (out, too_large)
}

fn envelope(bodies: &[&str], idx: &[usize]) -> Vec<u8> {
    let mut out = Vec::with_capacity(idx.iter().map(|&i| bodies[i].len() + 1).sum::<usize>() + 16);
    out.extend_from_slice(b"{\"objects\":[");
    for (k, &i) in idx.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        out.extend_from_slice(bodies[i].as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

/// Labels/markings filter of the subscription on a local record.
fn passes(labels: &[String], markings: &[String], body: &str) -> bool {
    if labels.is_empty() && markings.is_empty() {
        return true;
    }
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    let has = |key: &str, wanted: &[String]| {
        wanted.is_empty()
            || v.get(key).and_then(Value::as_array).is_some_and(|a| {
                a.iter()
                    .any(|x| x.as_str().is_some_and(|s| wanted.iter().any(|w| w == s)))
            })
    };
    has("labels", labels) && has("object_marking_refs", markings)
}

/// The counts of one page's delivery.
#[derive(Default)]
struct Delivered {
    transferred: u64,
    duplicates: u64,
    rejected: u64,
}

/// Run one push round.
pub(crate) async fn round(ctx: &Ctx<'_>) -> Result<RoundReport, SyncError> {
    let sub = ctx.sub;
    let store = ctx.store;
    let started = now_micros();
    let (coll, _) = crate::pull::local_collection(store, sub.local_collection).await?;
    let policy = cairn_store::access::collection_policy(store, &coll).await?;
    let principal = cairn_store::access::org_principal(store, ctx.peer.org_id).await?;
    let filter = cairn_store::access::peer_push_filter(&principal, ctx.peer.community, &policy)?;
    let destination = if ctx.peer.community {
        Destination::Peer(&principal)
    } else {
        Destination::ExternalPeer(&principal)
    };
    let access = Access {
        path: Path::FederationPush,
        to: destination,
        source: &policy,
    };
    let info = ctx.client.api_root(&sub.remote_api_root).await?;
    let max = usize::try_from(info.max_content_length)
        .unwrap_or(usize::MAX)
        .max(1024);
    let state = store.sync_state(sub.id).await?;
    let start: Option<Cursor> = state
        .cursor
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok());
    let base = ObjectQuery {
        collection: sub.local_collection,
        types: sub.filter.types.clone(),
        versions: VersionFilter {
            all: true,
            ..VersionFilter::default()
        },
        added_after: match (&start, sub.filter.added_after) {
            (Some(c), Some(a)) => Some(c.date_added.max(a)),
            (Some(c), None) => Some(c.date_added),
            (None, a) => a,
        },
        ..ObjectQuery::default()
    };
    let mut report = RoundReport::new(sub);
    let mut after = start.clone();
    // Versions walked (sent, or refused while redacting) and versions in the range whatever
    // the policy says, both from `start`: the policy (or the origin rule) kept back the
    // difference.
    let mut walked = 0u64;
    let mut scanned = 0u64;
    let mut scan_at = start.clone();
    loop {
        ctx.lease.renew().await?;
        let page = store
            .query(&ObjectQuery {
                after: after.clone(),
                limit: ctx.page_size,
                with_bodies: true,
                read: ReadAccess::Filter(filter.clone()),
                exclude_origin: Some(ctx.peer.org_id),
                ..base.clone()
            })
            .await?;
        let Some(last) = page.records.last().map(Record::cursor) else {
            if walk_over(ctx, &base, &filter, &after, &mut scan_at, &mut scanned).await? {
                break;
            }
            continue;
        };
        let mut skipped = 0u64;
        let mut refused = 0u64;
        let mut bodies: Vec<String> = Vec::with_capacity(page.records.len());
        for r in &page.records {
            let Some(body) = &r.body else { continue };
            let body = match &r.labels {
                None => body.clone(),
                Some(labels) => {
                    let Ok(value) = serde_json::from_str::<Value>(body) else {
                        refused += 1;
                        continue;
                    };
                    match cairn_policy::redact(&value, labels, &access) {
                        None => {
                            refused += 1;
                            continue;
                        }
                        Some(out) if out == value => body.clone(),
                        Some(out) => out.to_string(),
                    }
                }
            };
            if !passes(&sub.filter.labels, &sub.filter.markings, &body) {
                skipped += 1;
                continue;
            }
            bodies.push(body);
        }
        let d = deliver(ctx, &bodies, max).await?;
        report.pages += 1;
        report.transferred += d.transferred;
        report.duplicates += d.duplicates;
        report.rejected += d.rejected;
        report.skipped += skipped;
        report.refused_by_policy += refused;
        store
            .record_sync(
                &SyncProgress {
                    subscription: sub.id,
                    cursor: Some(serde_json::to_string(&last).expect("cursor serializes")),
                    transferred: d.transferred,
                    duplicates: d.duplicates,
                    refused_by_policy: refused,
                    rejected: d.rejected,
                    skipped,
                },
                None,
                now_micros(),
                &[NewAuditEntry::new(
                    &ctx.actor,
                    "objects.push",
                    Some(sub.local_collection.to_string()),
                    json!({
                        "peer": ctx.peer.name,
                        "subscription": sub.id,
                        "remote_collection": sub.remote_collection,
                        "sent": d.transferred + d.duplicates,
                        "rejected": d.rejected,
                        "refused_by_policy": refused,
                    }),
                )],
            )
            .await?;
        walked += page.records.len() as u64;
        after = Some(last);
        if !page.more && walk_over(ctx, &base, &filter, &after, &mut scan_at, &mut scanned).await? {
            break;
        }
    }
    // Each version kept back is counted once: the cursor moves over those after the last one
    // sent, so that the next round neither walks nor counts them again.
    let held_back = scanned.saturating_sub(walked);
    let beyond = scan_at.as_ref().map(|c| c.date_added) > after.as_ref().map(|c| c.date_added);
    if held_back > 0 || beyond {
        store
            .record_sync(
                &SyncProgress {
                    subscription: sub.id,
                    cursor: beyond
                        .then(|| serde_json::to_string(&scan_at).expect("cursor serializes")),
                    refused_by_policy: held_back,
                    ..SyncProgress::default()
                },
                None,
                now_micros(),
                &[],
            )
            .await?;
        report.refused_by_policy += held_back;
    }
    report.caught_up_at = Some(started);
    report.lag_objects = Some(0);
    Ok(report)
}

/// At the end of the walk: count the versions of the range from `scan_at` whatever the policy
/// says (moving `scan_at` to the last), and tell whether the walk is over, that is whether no
/// released version follows `after` (one added since the walk's last page is walked too, so
/// the cursor never moves over a version that should have been sent).
async fn walk_over(
    ctx: &Ctx<'_>,
    base: &ObjectQuery,
    filter: &ReadFilter,
    after: &Option<Cursor>,
    scan_at: &mut Option<Cursor>,
    scanned: &mut u64,
) -> Result<bool, SyncError> {
    loop {
        let page = ctx
            .store
            .query(&ObjectQuery {
                after: scan_at.clone(),
                limit: ctx.page_size.max(1),
                ..base.clone()
            })
            .await?;
        if let Some(last) = page.records.last() {
            *scanned += page.records.len() as u64;
            *scan_at = Some(last.cursor());
        }
        if !page.more {
            break;
        }
    }
    let late = ctx
        .store
        .query(&ObjectQuery {
            after: after.clone(),
            limit: 1,
            read: ReadAccess::Filter(filter.clone()),
            exclude_origin: Some(ctx.peer.org_id),
            ..base.clone()
        })
        .await?;
    Ok(late.records.is_empty())
}

/// Send `bodies` to the remote, retrying failures; the counts of what became of them.
async fn deliver(ctx: &Ctx<'_>, bodies: &[String], max: usize) -> Result<Delivered, SyncError> {
    let mut out = Delivered::default();
    let refs: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let (mut queue, too_large) = plan_envelopes(&refs, max);
    out.rejected += too_large.len() as u64;
    let mut attempts = 0usize;
    while !queue.is_empty() {
        let mut failed: Vec<usize> = Vec::new();
        let mut i = 0;
        while i < queue.len() {
            let idx = queue[i].clone();
            i += 1;
            let status = match ctx
                .client
                .add_objects(
                    &ctx.sub.remote_api_root,
                    &ctx.sub.remote_collection,
                    envelope(&refs, &idx),
                )
                .await
            {
                Ok(s) => s,
                Err(ClientError::Http { status: 413, .. }) if idx.len() > 1 => {
                    let (a, b) = idx.split_at(idx.len() / 2);
                    queue.push(a.to_vec());
                    queue.push(b.to_vec());
                    continue;
                }
                Err(ClientError::Http { status: 413, .. }) => {
                    out.rejected += 1;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let status = wait_complete(ctx, status).await?;
            let detailed = !status.successes.is_empty() || !status.failures.is_empty();
            if !detailed {
                // A server that gives counts only: its failures cannot be told apart.
                out.transferred += status.success_count;
                out.rejected += status.failure_count;
                continue;
            }
            let dup = status
                .successes
                .iter()
                .filter(|s| s.message.as_deref() == Some(cairn_store::ALREADY_PRESENT))
                .count() as u64;
            out.duplicates += dup;
            out.transferred += status.successes.len() as u64 - dup;
            // Each failure is retried by id (an SCO's status version is the remote's
            // date_added, not in the object); one that names nothing sent counts as rejected.
            for f in &status.failures {
                let before = failed.len();
                for &k in &idx {
                    if id_of(refs[k]).as_deref() == Some(f.id.as_str()) && !failed.contains(&k) {
                        failed.push(k);
                    }
                }
                if failed.len() == before {
                    out.rejected += 1;
                }
            }
        }
        if failed.is_empty() {
            break;
        }
        attempts += 1;
        if attempts > RETRIES {
            out.rejected += failed.len() as u64;
            break;
        }
        let subset: Vec<&str> = failed.iter().map(|&k| refs[k]).collect();
        let (plan, _) = plan_envelopes(&subset, max);
        queue = plan
            .into_iter()
            .map(|e| e.into_iter().map(|j| failed[j]).collect())
            .collect();
    }
    Ok(out)
}

/// The object's id.
fn id_of(body: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    serde_json::from_str::<Id>(body).ok().map(|v| v.id)
}

/// Poll the status resource until it is complete (at most about a minute).
async fn wait_complete(ctx: &Ctx<'_>, mut s: StatusResource) -> Result<StatusResource, SyncError> {
    let mut delay = Duration::from_millis(50);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while s.status != "complete" {
        if tokio::time::Instant::now() > deadline {
            return Err(SyncError::Config(format!(
                "status {} of the remote is still {:?} after a minute",
                s.id, s.status
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
        s = ctx.client.status(&ctx.sub.remote_api_root, &s.id).await?;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_stay_within_the_limit() {
        let a = "x".repeat(40);
        let b = "y".repeat(40);
        let huge = "z".repeat(200);
        let bodies = [a.as_str(), b.as_str(), huge.as_str(), a.as_str()];
        let (plan, too_large) = plan_envelopes(&bodies, 100);
        assert_eq!(too_large, vec![2]);
        assert_eq!(plan, vec![vec![0, 1], vec![3]]);
        for e in &plan {
            assert!(envelope(&bodies, e).len() <= 100, "{e:?}");
        }
        let all: Vec<usize> = plan.iter().flatten().copied().collect();
        assert_eq!(all, vec![0, 1, 3]);
        let (one, _) = plan_envelopes(&bodies[..2], 1000);
        assert_eq!(one, vec![vec![0, 1]]);
        assert_eq!(envelope(&bodies, &one[0]).len(), 14 + 81);
        assert_eq!(
            envelope(&bodies, &[0, 1]),
            format!("{{\"objects\":[{a},{b}]}}").into_bytes()
        );
    }

    #[test]
    fn id_of_a_body() {
        assert_eq!(
            id_of(r#"{"id":"malware--1","modified":"m"}"#).as_deref(),
            Some("malware--1")
        );
        assert_eq!(id_of("[]"), None);
    }
}
