//! Pull rounds against remotes that page in each way TAXII servers do.

use std::collections::BTreeSet;

use cairn_stix::Timestamp;
use cairn_store::{Direction, SubscriptionFilter};
use cairn_sync::pull::PullCursor;
use serde_json::json;

use crate::local::{Local, config, remote_objects};
use crate::remote::{COLLECTION, Paging, Remote, RemoteObject};

/// (id, version, body) of the remote's versions.
pub fn contents(objects: &[RemoteObject]) -> BTreeSet<(String, String, String)> {
    objects
        .iter()
        .map(|o| (o.id.clone(), o.version.clone(), o.body.clone()))
        .collect()
}

/// Every remote version has a provenance row naming the peer, the remote collection and the
/// remote's date_added (when `dates`).
pub async fn assert_provenance(local: &Local, objects: &[RemoteObject], dates: bool) {
    for o in objects {
        let key = Timestamp::parse(&o.version).unwrap().sort_key();
        let rows = local.store.provenance(local.coll, &o.id).await.unwrap();
        let row = rows
            .iter()
            .find(|p| p.version_key == key)
            .unwrap_or_else(|| panic!("no provenance for {} {}: {rows:?}", o.id, o.version));
        assert_eq!(row.origin_org, local.peer_org.id, "{}", o.id);
        assert_eq!(row.peer, Some(local.peer.id), "{}", o.id);
        assert_eq!(row.remote_collection.as_deref(), Some(COLLECTION));
        assert_eq!(
            row.remote_date_added,
            dates.then_some(o.date_added),
            "{} {}",
            o.id,
            o.version
        );
    }
}

fn end_cursor(last: &RemoteObject) -> PullCursor {
    PullCursor {
        added_after: Some(Timestamp::format_micros(last.date_added)),
        next: None,
        last: Some(Timestamp::format_micros(last.date_added)),
    }
}

#[tokio::test]
async fn pages_through_next_tokens_and_resumes_after_the_last_date() {
    let remote = Remote::with_objects(&remote_objects()).await;
    let local = Local::new(&remote, true).await;
    let sub = local
        .subscribe(&remote, Direction::Pull, SubscriptionFilter::default())
        .await;
    let engine = local.engine(config(2));

    let report = engine.run_round(&sub).await.unwrap();
    let objects = remote.script().objects.clone();
    assert_eq!(objects.len(), 9);
    assert_eq!(
        (report.pages, report.transferred, report.duplicates),
        (5, 9, 0)
    );
    assert_eq!((report.rejected, report.skipped), (0, 0));
    assert_eq!(local.contents().await, contents(&objects));
    assert_eq!(local.store.count_versions(local.coll).await.unwrap(), 9);
    // Each version of the malware is kept, not only the last.
    let malware: Vec<String> = local
        .versions()
        .await
        .into_iter()
        .filter(|r| r.id == "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061")
        .map(|r| r.version)
        .collect();
    assert_eq!(
        malware,
        [
            "2025-01-01T00:00:00.000Z",
            "2025-02-01T00:00:00.000Z",
            "2025-03-01T00:00:00.000Z"
        ]
    );
    assert_provenance(&local, &objects, true).await;

    // One request per page, each with the page size and the previous page's token.
    let gets = remote.script().requests("objects");
    assert_eq!(gets.len(), 5);
    for (i, g) in gets.iter().enumerate() {
        assert_eq!(g.query.get("limit").map(String::as_str), Some("2"));
        assert_eq!(
            g.query.get("match[version]").map(String::as_str),
            Some("all")
        );
        assert_eq!(g.query.get("added_after"), None, "request {i}");
        assert_eq!(
            g.query.get("next"),
            (i > 0).then(|| format!("p{}", 2 * i)).as_ref()
        );
    }
    let st = local.state(&sub).await;
    assert_eq!(
        (st.transferred, st.duplicates, st.rejected, st.skipped),
        (9, 0, 0, 0)
    );
    assert_eq!(st.failures, 0);
    assert!(st.last_error.is_none() && st.last_success.is_some() && st.caught_up_at.is_some());
    assert_eq!((st.lease_holder, st.lease_until), (None, None));
    assert_eq!(
        PullCursor::parse(st.cursor.as_deref()),
        end_cursor(&objects[8])
    );

    // Nothing new: one request after the last date_added, nothing stored.
    let again = engine.run_round(&sub).await.unwrap();
    assert_eq!(
        (again.pages, again.transferred, again.duplicates),
        (1, 0, 0)
    );
    let last = remote.script().requests("objects").pop().unwrap();
    assert_eq!(
        last.query.get("added_after"),
        Some(&Timestamp::format_micros(objects[8].date_added))
    );
    assert_eq!(last.query.get("next"), None);

    // A new version arrives alone.
    let new = remote.script().add(&json!({
        "type": "threat-actor", "spec_version": "2.1",
        "id": "threat-actor--56f3f0db-b5d5-431c-ae56-c18f02caf500",
        "created": "2025-01-08T00:00:00.000Z", "modified": "2025-06-01T00:00:00.000Z",
        "name": "Andariel", "aliases": ["Silent Chollima"]
    }));
    let third = engine.run_round(&sub).await.unwrap();
    assert_eq!(
        (third.pages, third.transferred, third.duplicates),
        (1, 1, 0)
    );
    assert_eq!(local.store.count_versions(local.coll).await.unwrap(), 10);
    let objects = remote.script().objects.clone();
    assert_eq!(local.contents().await, contents(&objects));
    assert_provenance(&local, std::slice::from_ref(&new), true).await;
    let st = local.state(&sub).await;
    assert_eq!((st.transferred, st.duplicates), (10, 0));
    assert_eq!(PullCursor::parse(st.cursor.as_deref()), end_cursor(&new));

    // Several new pages: each `next` goes with the `added_after` it was issued under.
    let since = Timestamp::format_micros(new.date_added);
    for i in 0..5 {
        remote.script().add(&json!({
            "type": "attack-pattern", "spec_version": "2.1",
            "id": format!("attack-pattern--7e33a43e-e34b-40ec-89da-{i:012x}"),
            "created": "2025-07-01T00:00:00.000Z", "modified": "2025-07-01T00:00:00.000Z",
            "name": format!("technique {i}")
        }));
    }
    let gets_before = remote.script().requests("objects").len();
    let fourth = engine.run_round(&sub).await.unwrap();
    assert_eq!((fourth.pages, fourth.transferred), (3, 5));
    let gets = remote.script().requests("objects");
    for (i, g) in gets[gets_before..].iter().enumerate() {
        assert_eq!(g.query.get("added_after"), Some(&since), "request {i}");
        assert_eq!(
            g.query.get("next"),
            (i > 0).then(|| format!("p{}", 2 * i)).as_ref()
        );
    }
    let objects = remote.script().objects.clone();
    assert_eq!(local.contents().await, contents(&objects));
    assert_eq!(local.store.count_versions(local.coll).await.unwrap(), 15);
}

#[tokio::test]
async fn follows_date_added_last_when_more_comes_without_next() {
    let remote = Remote::with_objects(&remote_objects()).await;
    remote.script().paging = Paging::MoreWithoutNext;
    let local = Local::new(&remote, true).await;
    let sub = local
        .subscribe(&remote, Direction::Pull, SubscriptionFilter::default())
        .await;
    let engine = local.engine(config(3));

    let report = engine.run_round(&sub).await.unwrap();
    let objects = remote.script().objects.clone();
    assert_eq!((report.pages, report.transferred), (3, 9));
    assert_eq!(local.contents().await, contents(&objects));
    assert_eq!(local.store.count_versions(local.coll).await.unwrap(), 9);
    assert_provenance(&local, &objects, true).await;
    // Each request after the first starts after the previous page's last date_added.
    let gets = remote.script().requests("objects");
    let afters: Vec<Option<String>> = gets
        .iter()
        .map(|g| g.query.get("added_after").cloned())
        .collect();
    assert_eq!(
        afters,
        [
            None,
            Some(Timestamp::format_micros(objects[2].date_added)),
            Some(Timestamp::format_micros(objects[5].date_added)),
        ]
    );
    assert!(gets.iter().all(|g| !g.query.contains_key("next")));
    let st = local.state(&sub).await;
    assert_eq!((st.transferred, st.duplicates, st.failures), (9, 0, 0));
    assert_eq!(
        PullCursor::parse(st.cursor.as_deref()),
        end_cursor(&objects[8])
    );
}

#[tokio::test]
async fn reads_a_remote_that_ignores_limit_and_counts_what_is_already_here() {
    let remote = Remote::with_objects(&remote_objects()).await;
    remote.script().paging = Paging::IgnoreLimit;
    let local = Local::new(&remote, true).await;
    // Two of the remote's versions are already here.
    let all = remote_objects();
    local.add(&[all[1].clone(), all[6].clone()], None).await;
    let sub = local
        .subscribe(&remote, Direction::Pull, SubscriptionFilter::default())
        .await;
    let engine = local.engine(config(2));

    let report = engine.run_round(&sub).await.unwrap();
    let objects = remote.script().objects.clone();
    assert_eq!(
        (report.pages, report.transferred, report.duplicates),
        (1, 7, 2)
    );
    assert_eq!(local.contents().await, contents(&objects));
    assert_eq!(local.store.count_versions(local.coll).await.unwrap(), 9);
    assert_provenance(&local, &objects, true).await;
    let st = local.state(&sub).await;
    assert_eq!((st.transferred, st.duplicates, st.failures), (7, 2, 0));
    assert_eq!(
        PullCursor::parse(st.cursor.as_deref()),
        end_cursor(&objects[8])
    );
    assert_eq!(remote.script().requests("objects").len(), 1);
}

#[tokio::test]
async fn a_remote_without_a_manifest_leaves_remote_dates_unknown() {
    let remote = Remote::with_objects(&remote_objects()).await;
    remote.script().manifest_fails = true;
    let local = Local::new(&remote, true).await;
    let sub = local
        .subscribe(&remote, Direction::Pull, SubscriptionFilter::default())
        .await;
    let report = local.engine(config(4)).run_round(&sub).await.unwrap();
    let objects = remote.script().objects.clone();
    assert_eq!((report.pages, report.transferred), (3, 9));
    assert_eq!(local.contents().await, contents(&objects));
    assert_provenance(&local, &objects, false).await;
    assert_eq!(local.state(&sub).await.failures, 0);
}
