//! Federation: peers, subscriptions, sync state, leases, provenance.

use uuid::Uuid;

use super::{Fixture, indicator, now_micros, tag};
use crate::{
    Direction, ObjectQuery, Organization, Origin, Peer, Store, StoreError, Subscription,
    SubscriptionFilter, SyncOutcome, SyncProgress,
};

async fn org(s: &dyn Store, t: &str) -> Organization {
    let org = Organization {
        id: Uuid::new_v4(),
        name: format!("peer org {t}"),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        nation: Some("KR".into()),
        kind: "cert".into(),
    };
    s.create_org(&org).await.unwrap();
    org
}

pub(super) async fn federation(s: &dyn Store) {
    const C: &str = "federation";
    let t = tag();
    let f = Fixture::new(s, "federation").await;
    let o = org(s, &t).await;
    let peer = Peer {
        id: Uuid::new_v4(),
        name: format!("kr-{t}"),
        url: "https://kr.example/taxii2/".into(),
        org_id: o.id,
        community: true,
        credential: "sealed".into(),
        ca_cert: None,
        created: now_micros(),
    };
    s.create_peer(&peer).await.unwrap();
    assert!(
        matches!(s.create_peer(&peer).await, Err(StoreError::Conflict(_))),
        "{C}: a peer name is unique"
    );
    assert_eq!(
        s.get_peer(&peer.name).await.unwrap().as_ref(),
        Some(&peer),
        "{C}: by name"
    );
    assert_eq!(
        s.get_peer(&peer.id.to_string()).await.unwrap().as_ref(),
        Some(&peer),
        "{C}: by id"
    );
    let mut changed = peer.clone();
    changed.community = false;
    changed.url = "https://kr2.example/taxii2/".into();
    s.update_peer(&changed).await.unwrap();
    assert_eq!(
        s.get_peer(&peer.name).await.unwrap(),
        Some(changed.clone()),
        "{C}: update"
    );
    assert!(
        s.list_peers().await.unwrap().contains(&changed),
        "{C}: listed"
    );

    let sub = Subscription {
        id: Uuid::new_v4(),
        peer_id: peer.id,
        direction: Direction::Pull,
        local_collection: f.collection,
        remote_api_root: "https://kr.example/api1/".into(),
        remote_collection: Uuid::new_v4().to_string(),
        filter: SubscriptionFilter {
            types: vec!["indicator".into()],
            ..SubscriptionFilter::default()
        },
        interval_secs: 60,
        enabled: true,
        created: now_micros(),
    };
    s.create_subscription(&sub).await.unwrap();
    assert!(
        matches!(
            s.create_subscription(&Subscription {
                id: Uuid::new_v4(),
                ..sub.clone()
            })
            .await,
            Err(StoreError::Conflict(_))
        ),
        "{C}: one subscription per direction and pair of collections"
    );
    assert_eq!(
        s.get_subscription(sub.id).await.unwrap(),
        Some(sub.clone()),
        "{C}"
    );
    let st = s.sync_state(sub.id).await.unwrap();
    assert_eq!(
        (st.transferred, st.cursor.clone(), st.last_success),
        (0, None, None),
        "{C}: fresh state"
    );

    // A pulled page: versions, provenance, cursor and counters in one transaction.
    let mut req = f.request(vec![
        indicator(1, "2026-01-01T00:00:00Z"),
        indicator(2, "2026-01-01T00:00:00Z"),
    ]);
    req.origin = Some(Origin {
        org: o.id,
        peer: Some(peer.id),
        remote_collection: Some(sub.remote_collection.clone()),
        remote_date_added: vec![Some(1_000), Some(2_000)],
    });
    req.sync = Some(SyncProgress {
        subscription: sub.id,
        cursor: Some("{\"page\":1}".into()),
        skipped: 3,
        ..SyncProgress::default()
    });
    s.add_objects(req.clone()).await.unwrap();
    let st = s.sync_state(sub.id).await.unwrap();
    assert_eq!(
        st.cursor.as_deref(),
        Some("{\"page\":1}"),
        "{C}: cursor committed with the page"
    );
    assert_eq!(
        (st.transferred, st.duplicates, st.skipped),
        (2, 0, 3),
        "{C}: counters"
    );
    let id1 = indicator(1, "2026-01-01T00:00:00Z").id;
    let prov = s.provenance(f.collection, &id1).await.unwrap();
    assert_eq!(prov.len(), 1, "{C}: provenance per version");
    assert_eq!(
        (prov[0].origin_org, prov[0].peer, prov[0].remote_date_added),
        (o.id, Some(peer.id), Some(1_000)),
        "{C}"
    );
    // The same page again (a resumed sync): duplicates, no new provenance.
    req.status_id = Uuid::new_v4();
    req.sync.as_mut().unwrap().skipped = 0;
    s.add_objects(req).await.unwrap();
    let st = s.sync_state(sub.id).await.unwrap();
    assert_eq!(
        (st.transferred, st.duplicates),
        (2, 2),
        "{C}: re-pulled versions are duplicates"
    );
    assert_eq!(
        s.provenance(f.collection, &id1).await.unwrap().len(),
        1,
        "{C}"
    );

    // A local version beside them; exclude_origin hides the peer's.
    f.add(s, vec![indicator(3, "2026-01-01T00:00:00Z")]).await;
    let all = ObjectQuery {
        limit: 100,
        ..f.query()
    };
    assert_eq!(s.count(&all).await.unwrap(), 3, "{C}: count");
    let mine = ObjectQuery {
        exclude_origin: Some(o.id),
        ..all.clone()
    };
    let page = s.query(&mine).await.unwrap();
    assert_eq!(page.records.len(), 1, "{C}: exclude_origin");
    assert_eq!(
        page.records[0].id,
        indicator(3, "2026-01-01T00:00:00Z").id,
        "{C}"
    );
    assert_eq!(
        s.count(&mine).await.unwrap(),
        1,
        "{C}: count with exclude_origin"
    );

    // Outcomes.
    s.record_sync(
        &SyncProgress {
            subscription: sub.id,
            ..SyncProgress::default()
        },
        Some(&SyncOutcome::Failure {
            error: "boom".into(),
        }),
        10,
        &[],
    )
    .await
    .unwrap();
    let st = s.sync_state(sub.id).await.unwrap();
    assert_eq!(
        (st.last_error.as_deref(), st.last_error_at, st.failures),
        (Some("boom"), Some(10), 1),
        "{C}: failure"
    );
    s.record_sync(
        &SyncProgress {
            subscription: sub.id,
            refused_by_policy: 4,
            ..SyncProgress::default()
        },
        Some(&SyncOutcome::Success {
            caught_up_at: 11,
            lag_objects: Some(0),
        }),
        12,
        &[],
    )
    .await
    .unwrap();
    let st = s.sync_state(sub.id).await.unwrap();
    assert_eq!(
        (
            st.last_success,
            st.caught_up_at,
            st.failures,
            st.refused_by_policy,
            st.lag_objects
        ),
        (Some(12), Some(11), 0, 4, Some(0)),
        "{C}: success"
    );
    assert_eq!(
        st.cursor.as_deref(),
        Some("{\"page\":1}"),
        "{C}: cursor kept when not given"
    );

    // Leases.
    assert!(
        s.acquire_lease(sub.id, "a", 100, 50, None).await.unwrap(),
        "{C}: free lease"
    );
    assert!(
        !s.acquire_lease(sub.id, "b", 200, 60, None).await.unwrap(),
        "{C}: held lease"
    );
    assert!(
        s.acquire_lease(sub.id, "a", 150, 60, None).await.unwrap(),
        "{C}: renewed by its holder"
    );
    assert!(
        s.acquire_lease(sub.id, "b", 300, 160, None).await.unwrap(),
        "{C}: expired lease"
    );
    assert!(
        s.acquire_lease(sub.id, "c", 400, 170, Some("b"))
            .await
            .unwrap(),
        "{C}: taken over from a dead holder"
    );
    s.release_lease(sub.id, "b").await.unwrap();
    assert!(
        !s.acquire_lease(sub.id, "d", 400, 180, None).await.unwrap(),
        "{C}: release by another holder does nothing"
    );
    s.release_lease(sub.id, "c").await.unwrap();
    assert!(
        s.acquire_lease(sub.id, "d", 400, 180, None).await.unwrap(),
        "{C}: released"
    );

    let mut off = sub.clone();
    off.enabled = false;
    off.interval_secs = 5;
    s.update_subscription(&off).await.unwrap();
    assert_eq!(
        s.get_subscription(sub.id).await.unwrap(),
        Some(off),
        "{C}: update"
    );

    // Deleting versions deletes their provenance.
    s.delete_versions(&crate::DeleteSpec {
        collection: f.collection,
        object_id: id1.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(
        s.provenance(f.collection, &id1).await.unwrap().is_empty(),
        "{C}: provenance goes with its versions"
    );

    s.delete_peer(peer.id).await.unwrap();
    assert!(
        s.get_subscription(sub.id).await.unwrap().is_none(),
        "{C}: subscriptions go with their peer"
    );
    assert!(s.get_peer(&peer.name).await.unwrap().is_none(), "{C}");
    assert!(
        matches!(s.delete_peer(peer.id).await, Err(StoreError::NotFound(_))),
        "{C}"
    );
}
