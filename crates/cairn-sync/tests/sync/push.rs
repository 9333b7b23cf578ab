//! Push rounds: what the release policy lets leave (`fixtures/push_matrix.json` over
//! `fixtures/push_objects.json`), envelopes within the remote's `max_content_length`, retries of
//! exactly the objects the remote failed, 413 splitting, and the rule that a peer never
//! receives back what came from it.

use std::collections::{BTreeMap, BTreeSet};

use cairn_store::{Direction, Grantee, Origin, SubscriptionFilter};
use cairn_sync::push::RETRIES;
use serde_json::{Value, json};

use crate::local::{Local, config, fixture, remote_objects};
use crate::remote::Remote;

/// `n` CLEAR indicators with a description of `pad` bytes.
fn clear_objects(n: usize, pad: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut o = fixture("push_objects.json")["clear"].clone();
            o["id"] = json!(format!("indicator--6b0e1c1a-1000-4d3b-9a5e-{i:012x}"));
            o["name"] = json!(format!("clear {i}"));
            o["description"] = json!("d".repeat(pad));
            o
        })
        .collect()
}

fn ids(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

fn counts(ids: &[String]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for id in ids {
        *m.entry(id.clone()).or_default() += 1;
    }
    m
}

#[tokio::test]
async fn releases_exactly_what_the_policy_allows() {
    let objects: serde_json::Map<String, Value> = fixture("push_objects.json")
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| !name.starts_with('_'))
        .map(|(name, o)| (name.clone(), o.clone()))
        .collect();
    let objects = &objects;
    let matrix = fixture("push_matrix.json");
    for case in matrix["cases"].as_array().unwrap() {
        let community = case["community"].as_bool().unwrap();
        let grant = case["grant"].as_str().unwrap();
        let released: BTreeSet<&str> = case["released"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let what = format!("community {community}, grant {grant}");

        let remote = Remote::start().await;
        let local = Local::new(&remote, community).await;
        match grant {
            "none" => {}
            "org" => {
                local
                    .grant_read(Grantee::Organization(local.peer_org.id))
                    .await
            }
            "community" => local.grant_read(Grantee::Community).await,
            other => panic!("grant {other}"),
        }
        local
            .add(&objects.values().cloned().collect::<Vec<_>>(), None)
            .await;
        let sub = local
            .subscribe(&remote, Direction::Push, SubscriptionFilter::default())
            .await;
        let engine = local.engine(config(3));

        let report = engine.run_round(&sub).await.unwrap();
        let want: BTreeSet<String> = released
            .iter()
            .map(|n| objects[*n]["id"].as_str().unwrap().to_string())
            .collect();
        let received = remote.script().received_ids();
        assert_eq!(
            received.iter().cloned().collect::<BTreeSet<_>>(),
            want,
            "{what}"
        );
        assert_eq!(received.len(), want.len(), "{what}: an object sent twice");
        for never in ["red", "amber+strict", "green+red"] {
            assert!(!received.contains(&objects[never]["id"].as_str().unwrap().to_string()));
        }
        // What arrived is what is stored here, byte for byte.
        let remote_bodies: BTreeSet<String> = remote
            .script()
            .objects
            .iter()
            .map(|o| o.body.clone())
            .collect();
        let local_bodies: BTreeSet<String> = local
            .versions()
            .await
            .into_iter()
            .filter(|r| want.contains(&r.id))
            .map(|r| r.body.unwrap())
            .collect();
        assert_eq!(remote_bodies, local_bodies, "{what}");

        let held = (objects.len() - want.len()) as u64;
        assert_eq!(report.transferred, want.len() as u64, "{what}");
        assert_eq!(report.refused_by_policy, held, "{what}");
        assert!(report.refused_by_policy > 0, "{what}");
        let st = local.state(&sub).await;
        assert_eq!(
            (
                st.transferred,
                st.refused_by_policy,
                st.rejected,
                st.failures
            ),
            (want.len() as u64, held, 0, 0),
            "{what}"
        );

        // Nothing new: nothing sent, nothing counted again.
        let posts = remote.script().accepted_posts().len();
        let again = engine.run_round(&sub).await.unwrap();
        assert_eq!(remote.script().accepted_posts().len(), posts, "{what}");
        assert_eq!(
            (again.transferred, again.refused_by_policy),
            (0, 0),
            "{what}"
        );
        let st = local.state(&sub).await;
        assert_eq!(
            (st.transferred, st.refused_by_policy),
            (want.len() as u64, held),
            "{what}"
        );

        // A new version after those kept back still leaves, alone.
        let mut v2 = objects["clear"].clone();
        v2["modified"] = json!("2025-06-01T00:00:00.000Z");
        local.add(std::slice::from_ref(&v2), None).await;
        let third = engine.run_round(&sub).await.unwrap();
        assert_eq!(
            (third.transferred, third.refused_by_policy),
            (1, 0),
            "{what}"
        );
        let last = remote.script().accepted_posts().pop().unwrap();
        assert_eq!(last.ids, [v2["id"].as_str().unwrap()], "{what}");
        assert!(
            remote
                .script()
                .objects
                .iter()
                .any(|o| o.id == last.ids[0] && o.version == "2025-06-01T00:00:00.000Z")
        );
    }
}

#[tokio::test]
async fn envelopes_stay_within_max_content_length() {
    let remote = Remote::start().await;
    remote.script().max_content_length = 2000;
    let local = Local::new(&remote, true).await;
    let objects = clear_objects(12, 250);
    let mut huge = clear_objects(1, 3000).remove(0);
    huge["id"] = json!("indicator--6b0e1c1a-2000-4d3b-9a5e-0c1d2e3f4a99");
    local.add(&objects, None).await;
    local.add(std::slice::from_ref(&huge), None).await;
    let sub = local
        .subscribe(&remote, Direction::Push, SubscriptionFilter::default())
        .await;

    let report = local.engine(config(100)).run_round(&sub).await.unwrap();
    let posts = remote.script().accepted_posts();
    assert!(posts.len() >= 3, "{} envelopes", posts.len());
    for p in &posts {
        assert!(p.body_len <= 2000, "an envelope of {} bytes", p.body_len);
    }
    assert_eq!(
        remote.script().requests("objects").len(),
        posts.len(),
        "no 413"
    );
    let received = remote.script().received_ids();
    assert_eq!(received, ids(&objects), "each once, in order");
    // The object too large for any envelope is never sent, and counted as rejected.
    assert_eq!((report.transferred, report.rejected), (12, 1));
    let st = local.state(&sub).await;
    assert_eq!((st.transferred, st.rejected, st.failures), (12, 1, 0));
}

#[tokio::test]
async fn only_failed_objects_are_posted_again() {
    let remote = Remote::start().await;
    let objects = clear_objects(10, 10);
    let all = ids(&objects);
    {
        let mut s = remote.script();
        s.fail_once = [all[2].clone(), all[5].clone()].into();
        s.fail_always = [all[7].clone()].into();
        // Statuses are pending when posted: the client polls them.
        s.pending_first = true;
    }
    let local = Local::new(&remote, true).await;
    local.add(&objects, None).await;
    let sub = local
        .subscribe(&remote, Direction::Push, SubscriptionFilter::default())
        .await;

    let report = local.engine(config(100)).run_round(&sub).await.unwrap();
    let posts: Vec<Vec<String>> = remote
        .script()
        .accepted_posts()
        .into_iter()
        .map(|p| p.ids)
        .collect();
    let mut want = vec![
        all.clone(),
        vec![all[2].clone(), all[5].clone(), all[7].clone()],
    ];
    // The one that always fails: sent again RETRIES times in all, then given up.
    for _ in 1..RETRIES {
        want.push(vec![all[7].clone()]);
    }
    assert_eq!(posts, want);
    assert_eq!(remote.script().requests("status").len(), posts.len());
    assert_eq!((report.transferred, report.rejected), (9, 1));
    let st = local.state(&sub).await;
    assert_eq!((st.transferred, st.rejected, st.failures), (9, 1, 0));
    let stored: BTreeSet<String> = remote
        .script()
        .objects
        .iter()
        .map(|o| o.id.clone())
        .collect();
    assert_eq!(stored.len(), 9);
    assert!(!stored.contains(&all[7]));
}

#[tokio::test]
async fn a_413_splits_the_envelope() {
    let remote = Remote::start().await;
    remote.script().reject_over = Some(1000);
    let local = Local::new(&remote, true).await;
    let objects = clear_objects(8, 150);
    local.add(&objects, None).await;
    let sub = local
        .subscribe(&remote, Direction::Push, SubscriptionFilter::default())
        .await;

    let report = local.engine(config(100)).run_round(&sub).await.unwrap();
    let log = remote.script().requests("objects");
    assert!(log.iter().any(|l| l.status == 413), "{log:?}");
    let posts = remote.script().accepted_posts();
    assert!(posts.iter().all(|p| p.body_len <= 1000));
    let received = remote.script().received_ids();
    assert_eq!(
        counts(&received),
        counts(&ids(&objects)),
        "each object once"
    );
    assert_eq!((report.transferred, report.rejected), (8, 0));
    let st = local.state(&sub).await;
    assert_eq!((st.transferred, st.rejected, st.failures), (8, 0, 0));
}

#[tokio::test]
async fn never_pushes_back_what_came_from_the_peer() {
    let remote = Remote::with_objects(&remote_objects()).await;
    let local = Local::new(&remote, true).await;
    // The peer reads the collection: only the origin rule keeps its objects back.
    local
        .grant_read(Grantee::Organization(local.peer_org.id))
        .await;
    // Versions pulled from the peer, and versions added with the peer as origin.
    let pull = local
        .subscribe(&remote, Direction::Pull, SubscriptionFilter::default())
        .await;
    let engine = local.engine(config(4));
    assert_eq!(engine.run_round(&pull).await.unwrap().transferred, 9);
    let from_peer = clear_objects(3, 10);
    local
        .add(
            &from_peer,
            Some(Origin {
                org: local.peer_org.id,
                peer: None,
                remote_collection: None,
                remote_date_added: Vec::new(),
            }),
        )
        .await;
    let mut own = clear_objects(5, 10);
    own.truncate(2);
    for (i, o) in own.iter_mut().enumerate() {
        o["id"] = json!(format!("indicator--6b0e1c1a-3000-4d3b-9a5e-{i:012x}"));
    }
    local.add(&own, None).await;
    let posts_before = remote.script().accepted_posts().len();
    assert_eq!(posts_before, 0);

    let push = local
        .subscribe(&remote, Direction::Push, SubscriptionFilter::default())
        .await;
    let report = engine.run_round(&push).await.unwrap();
    assert_eq!(remote.script().received_ids(), ids(&own));
    assert_eq!(report.transferred, 2);
    assert_eq!(report.refused_by_policy, 9 + 3);
    let st = local.state(&push).await;
    assert_eq!((st.transferred, st.refused_by_policy), (2, 12));
}

#[tokio::test]
async fn granular_markings_are_redacted_for_the_peer() {
    let spec = fixture("push_granular.json");
    let object = spec["object"].clone();
    let remote = Remote::start().await;
    let local = Local::new(&remote, true).await;
    local.add(std::slice::from_ref(&object), None).await;
    let sub = local
        .subscribe(&remote, Direction::Push, SubscriptionFilter::default())
        .await;
    let report = local.engine(config(10)).run_round(&sub).await.unwrap();
    assert_eq!((report.transferred, report.refused_by_policy), (1, 0));
    let received: Value = serde_json::from_str(&remote.script().objects[0].body).unwrap();
    for key in spec["removed"].as_array().unwrap() {
        let key = key.as_str().unwrap();
        assert!(received.get(key).is_none(), "{key} left: {received}");
    }
    // The rest as it is here.
    for (k, v) in object.as_object().unwrap() {
        if k != "granular_markings" && !spec["removed"].as_array().unwrap().contains(&json!(k)) {
            assert_eq!(received.get(k), Some(v), "{k}");
        }
    }
    // The local version is untouched.
    let here: Value =
        serde_json::from_str(&local.versions().await[0].body.clone().unwrap()).unwrap();
    assert_eq!(here, object);
}

#[tokio::test]
async fn a_failed_post_resumes_after_the_last_accepted_page() {
    let remote = Remote::start().await;
    remote.script().fail_posts_from = Some(2);
    let local = Local::new(&remote, true).await;
    let objects = clear_objects(6, 10);
    let all = ids(&objects);
    local.add(&objects, None).await;
    let sub = local
        .subscribe(&remote, Direction::Push, SubscriptionFilter::default())
        .await;
    let engine = local.engine(config(2));

    let err = engine.run_round(&sub).await.unwrap_err();
    assert!(
        matches!(
            err,
            cairn_sync::SyncError::Client(cairn_sync::ClientError::Http { status: 500, .. })
        ),
        "{err:?}"
    );
    let st = local.state(&sub).await;
    assert_eq!((st.failures, st.transferred), (1, 2));
    assert_eq!((st.lease_holder, st.lease_until), (None, None));
    assert!(st.last_error.is_some());
    let cursor: cairn_store::Cursor = serde_json::from_str(st.cursor.as_deref().unwrap()).unwrap();
    assert_eq!(cursor.id, all[1], "the cursor is at the last accepted page");
    assert_eq!(remote.script().received_ids(), all[..2]);

    remote.script().fail_posts_from = None;
    let report = engine.run_round(&sub).await.unwrap();
    assert_eq!((report.transferred, report.duplicates), (4, 0));
    // Each object received once: the failed page again, and nothing accepted before.
    assert_eq!(remote.script().received_ids(), all);
    let st = local.state(&sub).await;
    assert_eq!((st.failures, st.transferred, st.duplicates), (0, 6, 0));
}
