//! The TAXII side of federation: what a `peer` account (the user a partner node pulls and
//! pushes with) reads, what it posts, and `/metrics`.
//!
//! The world: organization H (this node's analysts) posts one indicator per marking into three
//! collections; P is a partner organization with no peer record (so a community peer), X one
//! whose peer record is outside the community. Each has a `peer` account and a `reader` account
//! with the same grants, so every difference between the two is the federation-push rule:
//! RED and AMBER+STRICT never, GREEN only to community peers, AMBER only through the channel.

use std::collections::{BTreeSet, HashMap};

use cairn_policy::{IdentityRef, Tlp};
use cairn_server::auth;
use cairn_store::{
    ApiRoot, ApiToken, Collection, Direction, Grant, Grantee, Organization, Peer, Role, Store,
    Subscription, SubscriptionFilter, SyncOutcome, SyncProgress, User,
};
use cairn_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{MAX_CONTENT_LENGTH, ROOT, Server, T, client, test_config};

/// The objects H posts into every collection: name → object-level markings.
const MARKED: [(&str, &[&str]); 7] = [
    ("clear", &["clear"]),
    ("green", &["green"]),
    ("amber", &["amber"]),
    ("strict", &["amber+strict"]),
    ("red", &["red"]),
    // RED released to P by a recipients marking.
    ("red-to-p", &["red", "recipients-p"]),
    // No marking: the collection's default (AMBER).
    ("unmarked", &[]),
];

struct Fed {
    server: Server,
    colls: HashMap<&'static str, Uuid>,
    /// Object name → STIX id.
    ids: HashMap<String, String>,
    orgs: HashMap<&'static str, Organization>,
    users: HashMap<&'static str, User>,
    _dir: tempfile::TempDir,
}

fn org(name: &str) -> Organization {
    Organization {
        id: Uuid::new_v4(),
        name: name.into(),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        nation: Some("KR".into()),
        kind: "cert".into(),
    }
}

fn indicator(name: &str, refs: &[String]) -> Value {
    let mut o = json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--{}", Uuid::new_v4()),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": name,
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z"
    });
    if !refs.is_empty() {
        o["object_marking_refs"] = json!(refs);
    }
    o
}

async fn post_as(server: &Server, who: &str, coll: Uuid, objects: &[Value]) -> (u16, Value) {
    let resp = client()
        .post(server.url(&format!("{ROOT}/collections/{coll}/objects/")))
        .basic_auth(who, Some(format!("{who}-pw")))
        .header("Accept", T)
        .header("Content-Type", T)
        .json(&json!({ "objects": objects }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get_as(w: &Fed, who: &str, path: &str) -> reqwest::Response {
    let mut req = client().get(w.server.url(path)).header("Accept", T);
    if who != "anonymous" {
        req = req.basic_auth(who, Some(format!("{who}-pw")));
    }
    req.send().await.unwrap()
}

async fn setup() -> Fed {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("cairn.db");
    let store = SqliteStore::open(&db).await.expect("store");
    store
        .create_api_root(&ApiRoot {
            name: "default".into(),
            title: "default".into(),
            description: None,
            max_content_length: MAX_CONTENT_LENGTH,
            is_default: true,
        })
        .await
        .unwrap();
    store.add_nation("KR").await.unwrap();
    let mut orgs = HashMap::new();
    for name in ["H", "P", "X"] {
        let o = org(name);
        store.create_org(&o).await.unwrap();
        orgs.insert(name, o);
    }
    // X's node is a partner outside the community (the credential is never used here).
    store
        .create_peer(&Peer {
            id: Uuid::new_v4(),
            name: "x-node".into(),
            url: "https://x.example/taxii2/".into(),
            org_id: orgs["X"].id,
            community: false,
            credential: "sealed:dummy".into(),
            ca_cert: None,
            created: 1,
        })
        .await
        .unwrap();
    let mut users = HashMap::new();
    for (name, o, role) in [
        ("h-analyst", "H", Role::Analyst),
        ("admin", "H", Role::Admin),
        ("p-peer", "P", Role::Peer),
        ("p-reader", "P", Role::Reader),
        ("x-peer", "X", Role::Peer),
        ("x-reader", "X", Role::Reader),
    ] {
        let u = User {
            id: Uuid::new_v4(),
            name: name.into(),
            org_id: orgs[o].id,
            role,
            password_hash: Some(auth::hash_password(&format!("{name}-pw"))),
            disabled: false,
            credential_epoch: 0,
        };
        store.create_user(&u).await.unwrap();
        users.insert(name, u);
    }
    // shared: P reads and writes by name, everyone through the community grant.
    // community: the community grant alone. x-channel: X by name.
    let mut colls = HashMap::new();
    for (name, grants) in [
        (
            "shared",
            vec![
                (Grantee::Organization(orgs["P"].id), true),
                (Grantee::Community, false),
            ],
        ),
        ("community", vec![(Grantee::Community, false)]),
        (
            "x-channel",
            vec![(Grantee::Organization(orgs["X"].id), false)],
        ),
    ] {
        let c = Collection::new(Uuid::new_v4(), "default", name, None, None, 1);
        store.create_collection(&c).await.unwrap();
        let mut all = grants;
        all.push((Grantee::Organization(orgs["H"].id), true));
        for (grantee, write) in all {
            store
                .set_grant(&Grant {
                    collection: c.id,
                    grantee,
                    can_read: true,
                    can_write: write,
                })
                .await
                .unwrap();
        }
        colls.insert(name, c.id);
    }
    let server = Server::start_on(std::sync::Arc::new(store), &db, test_config()).await;

    let recipients_id = format!("marking-definition--{}", Uuid::new_v4());
    let recipients = cairn_policy::marking::recipients_marking_definition(
        &recipients_id,
        "2024-01-01T00:00:00.000Z",
        &[IdentityRef::parse(&orgs["P"].identity_id).unwrap()],
        &[],
    );
    let mut ids = HashMap::new();
    for (cname, coll) in &colls {
        let mut objects = vec![recipients.clone()];
        for (name, marks) in MARKED {
            let refs: Vec<String> = marks
                .iter()
                .map(|m| match *m {
                    "recipients-p" => recipients_id.clone(),
                    t => Tlp::parse(t).unwrap().marking_id().to_string(),
                })
                .collect();
            let o = indicator(name, &refs);
            ids.insert(format!("{cname}/{name}"), o["id"].as_str().unwrap().into());
            objects.push(o);
        }
        let (status, st) = post_as(&server, "h-analyst", *coll, &objects).await;
        assert_eq!(status, 202, "{st}");
        assert_eq!(st["failure_count"], 0, "{st}");
    }
    Fed {
        server,
        colls,
        ids,
        orgs,
        users,
        _dir: dir,
    }
}

/// Every page of `endpoint` for `who`, following `next`; the names of the indicators (the
/// recipients marking-definition left out), in order.
async fn names(w: &Fed, who: &str, coll: &str, endpoint: &str, limit: usize) -> Vec<String> {
    let by_id: HashMap<&str, &str> = w
        .ids
        .iter()
        .filter_map(|(k, v)| k.split_once('/').map(|(_, n)| (v.as_str(), n)))
        .collect();
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut path = format!(
            "{ROOT}/collections/{}/{endpoint}/?limit={limit}&match[type]=indicator",
            w.colls[coll]
        );
        if let Some(n) = &next {
            path.push_str(&format!("&next={n}"));
        }
        let resp = get_as(w, who, &path).await;
        assert_eq!(resp.status(), 200, "{who} {path}");
        let page: Value = resp.json().await.unwrap();
        let objects = page["objects"].as_array().cloned().unwrap_or_default();
        if page["more"] == true {
            assert!(!objects.is_empty(), "{who}: an empty page with more=true");
        }
        for o in objects {
            let id = o["id"].as_str().unwrap();
            out.push(
                by_id
                    .get(id)
                    .map_or_else(|| format!("?{id}"), |n| (*n).to_string()),
            );
        }
        match page["next"].as_str() {
            Some(n) if page["more"] == true => next = Some(n.to_string()),
            _ => {
                assert_ne!(page["more"], true, "{who}: more without next");
                break;
            }
        }
    }
    out
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_account_reads_only_what_would_be_pushed_to_its_node() {
    let w = setup().await;
    let all_amber = ["clear", "green", "amber", "strict", "unmarked"];
    // (reader, collection, what it sees)
    let table: &[(&str, &str, &[&str])] = &[
        // The same organization, the same grants: the peer account loses RED (even released
        // to P by name) and AMBER+STRICT.
        (
            "p-reader",
            "shared",
            &["clear", "green", "amber", "strict", "red-to-p", "unmarked"],
        ),
        ("p-peer", "shared", &["clear", "green", "amber", "unmarked"]),
        // P is a community peer: GREEN and AMBER through the community grant too.
        (
            "p-reader",
            "community",
            &["clear", "green", "amber", "strict", "red-to-p", "unmarked"],
        ),
        (
            "p-peer",
            "community",
            &["clear", "green", "amber", "unmarked"],
        ),
        // X's node is outside the community: a community grant makes its peer account no
        // reader of anything but CLEAR, while X's own reader sees what members see.
        ("x-reader", "shared", &all_amber),
        ("x-peer", "shared", &["clear"]),
        ("x-reader", "community", &all_amber),
        ("x-peer", "community", &["clear"]),
        // A grant naming X: GREEN and AMBER go to its node as to a channel reader.
        ("x-reader", "x-channel", &all_amber),
        (
            "x-peer",
            "x-channel",
            &["clear", "green", "amber", "unmarked"],
        ),
    ];
    for (who, coll, want) in table {
        for (endpoint, limit) in [("objects", 5), ("objects", 2), ("manifest", 1)] {
            let got: BTreeSet<String> = names(&w, who, coll, endpoint, limit)
                .await
                .into_iter()
                .collect();
            assert_eq!(
                got,
                set(want),
                "{who} reading {coll} through {endpoint}/{limit}"
            );
        }
        // The object and versions endpoints agree, object by object.
        for (name, _) in MARKED {
            let id = &w.ids[&format!("{coll}/{name}")];
            let base = format!("{ROOT}/collections/{}/objects/{id}", w.colls[*coll]);
            let expect = if want.contains(&name) { 200 } else { 404 };
            for path in [format!("{base}/"), format!("{base}/versions/")] {
                let status = get_as(&w, who, &path).await.status();
                assert_eq!(status, expect, "{who} GET {path} ({name} in {coll})");
            }
        }
    }
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_peer_account_posts_is_never_served_back_to_it() {
    let mut w = setup().await;
    let shared = w.colls["shared"];
    // Interleaved: the peer's versions sit between H's, so pages must skip over them.
    let mut peer_names = Vec::new();
    let mut later_names = Vec::new();
    for round in 0..3 {
        let clear = [Tlp::Clear.marking_id().to_string()];
        let mine: Vec<Value> = (0..2)
            .map(|i| indicator(&format!("from-p-{round}-{i}"), &clear[..i]))
            .collect();
        let (status, st) = post_as(&w.server, "p-peer", shared, &mine).await;
        assert_eq!(status, 202, "{st}");
        assert_eq!(st["success_count"], 2, "{st}");
        let theirs = indicator(&format!("later-{round}"), &clear);
        let (status, _) = post_as(
            &w.server,
            "h-analyst",
            shared,
            std::slice::from_ref(&theirs),
        )
        .await;
        assert_eq!(status, 202);
        for o in mine.iter().chain([&theirs]) {
            let name = o["name"].as_str().unwrap().to_string();
            w.ids
                .insert(format!("shared/{name}"), o["id"].as_str().unwrap().into());
            if name.starts_with("from-p-") {
                peer_names.push(name);
            } else {
                later_names.push(name);
            }
        }
        // Provenance: the peer account's organization, no peer record, no remote data.
        for o in &mine {
            let id = o["id"].as_str().unwrap();
            let prov = w.server.store.provenance(shared, id).await.unwrap();
            assert_eq!(prov.len(), 1, "provenance of {id}");
            assert_eq!(prov[0].origin_org, w.orgs["P"].id);
            assert_eq!(prov[0].peer, None);
            assert_eq!(prov[0].remote_collection, None);
        }
        let prov = w
            .server
            .store
            .provenance(shared, theirs["id"].as_str().unwrap())
            .await
            .unwrap();
        assert!(prov.is_empty(), "a local post records no provenance");
    }

    let base: Vec<&str> = vec!["clear", "green", "amber", "unmarked"];
    let later: Vec<&str> = later_names.iter().map(String::as_str).collect();
    let mine: Vec<&str> = peer_names.iter().map(String::as_str).collect();
    let peer_sees: BTreeSet<String> = base.iter().chain(&later).map(|s| (*s).into()).collect();
    let reader_sees: BTreeSet<String> = base
        .iter()
        .chain(&later)
        .chain(&mine)
        .chain(&["strict", "red-to-p"])
        .map(|s| (*s).into())
        .collect();
    for (who, want) in [
        ("p-peer", &peer_sees),
        ("p-reader", &reader_sees),
        // H created RED: it sees it.
        ("h-analyst", &{
            let mut s = reader_sees.clone();
            s.insert("red".into());
            s
        }),
    ] {
        for (endpoint, limit) in [("objects", 1), ("objects", 3), ("manifest", 2)] {
            let got = names(&w, who, "shared", endpoint, limit).await;
            let unique: BTreeSet<String> = got.iter().cloned().collect();
            assert_eq!(unique.len(), got.len(), "{who}: a version served twice");
            assert_eq!(&unique, want, "{who} {endpoint}/{limit}");
        }
    }
    // The object and versions endpoints: 404 to the peer, 200 to its organization's reader.
    for n in &mine {
        let id = &w.ids[&format!("shared/{n}")];
        for suffix in ["", "versions/"] {
            let path = format!("{ROOT}/collections/{shared}/objects/{id}/{suffix}");
            assert_eq!(get_as(&w, "p-peer", &path).await.status(), 404, "{path}");
            assert_eq!(get_as(&w, "p-reader", &path).await.status(), 200, "{path}");
        }
    }
    // Deleting goes by the same view: what the peer account may not pull is "not found" to it
    // (its own posts, AMBER+STRICT), and stays.
    for name in [mine[0], "strict"] {
        let id = &w.ids[&format!("shared/{name}")];
        let path = format!("{ROOT}/collections/{shared}/objects/{id}/");
        let resp = client()
            .delete(w.server.url(&path))
            .basic_auth("p-peer", Some("p-peer-pw"))
            .header("Accept", T)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "p-peer DELETE {name}");
        assert_eq!(get_as(&w, "p-reader", &path).await.status(), 200, "{name}");
    }
    // A next token issued under the exclusion does not continue the same query without it.
    let first: Value = get_as(
        &w,
        "p-peer",
        &format!("{ROOT}/collections/{shared}/objects/?limit=1"),
    )
    .await
    .json()
    .await
    .unwrap();
    let token = first["next"].as_str().expect("a next token").to_string();
    let path = format!("{ROOT}/collections/{shared}/objects/?limit=1&next={token}");
    assert_eq!(get_as(&w, "p-peer", &path).await.status(), 200);
    assert_eq!(get_as(&w, "p-reader", &path).await.status(), 400);
    w.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn granular_markings_are_cut_for_a_peer_as_both_paths_require() {
    let w = setup().await;
    let url = |u: &str| json!({"source_name": u, "url": format!("https://example.org/{u}")});
    let gm = |t: Tlp, sel: &[&str]| json!({"marking_ref": t.marking_id(), "selectors": sel});
    // A CLEAR object whose external references and description carry granular levels:
    // [0] RED, [1] none, [2] AMBER+STRICT, [3] GREEN; description AMBER+STRICT. For P's peer
    // account the read withholds [0] and the push [0], [2] and the description: redacting for
    // the read and then again for the push would cut the second time by indexes the first cut
    // renumbered (here: "clear" and "green" gone, "strict" left).
    let objects = [(
        w.colls["shared"],
        json!([url("red"), url("clear"), url("strict"), url("green")]),
        json!([
            gm(Tlp::Red, &["external_references.[0]"]),
            gm(
                Tlp::AmberStrict,
                &["external_references.[2]", "description"]
            ),
            gm(Tlp::Green, &["external_references.[3]"])
        ]),
    )];
    let mut ids = HashMap::new();
    for (coll, refs, granular) in objects {
        let mut o = indicator("granular", &[Tlp::Clear.marking_id().to_string()]);
        o["external_references"] = refs;
        o["description"] = json!("restricted text");
        o["granular_markings"] = granular;
        let (status, st) = post_as(&w.server, "h-analyst", coll, &[o.clone()]).await;
        assert_eq!(status, 202);
        assert_eq!(st["failure_count"], 0, "{st}");
        ids.insert(coll, o["id"].as_str().unwrap().to_string());
    }
    // (reader, collection, urls it receives, whether it receives the description)
    let table: &[(&str, Uuid, &[&str], bool)] = &[
        (
            "h-analyst",
            w.colls["shared"],
            &["red", "clear", "strict", "green"],
            true,
        ),
        (
            "p-reader",
            w.colls["shared"],
            &["clear", "strict", "green"],
            true,
        ),
        ("p-peer", w.colls["shared"], &["clear", "green"], false),
        (
            "x-reader",
            w.colls["shared"],
            &["clear", "strict", "green"],
            true,
        ),
        ("x-peer", w.colls["shared"], &["clear"], false),
    ];
    for (who, coll, urls, description) in table {
        let id = &ids[coll];
        let resp = get_as(&w, who, &format!("{ROOT}/collections/{coll}/objects/{id}/")).await;
        assert_eq!(resp.status(), 200, "{who}");
        let page: Value = resp.json().await.unwrap();
        let got = &page["objects"][0];
        let got_urls: Vec<String> = got["external_references"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["source_name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got_urls, *urls, "{who} in {coll}: {got}");
        assert_eq!(
            got.get("description").is_some(),
            *description,
            "{who} in {coll}: {got}"
        );
        // The granular markings still point at what is left, and at nothing withheld.
        for gm in got["granular_markings"].as_array().into_iter().flatten() {
            for sel in gm["selectors"].as_array().unwrap() {
                let sel = sel.as_str().unwrap();
                if let Some(i) = sel
                    .strip_prefix("external_references.[")
                    .and_then(|s| s.strip_suffix(']'))
                {
                    let i: usize = i.parse().unwrap();
                    assert!(i < got_urls.len(), "{who}: dangling selector {sel}");
                }
            }
        }
    }
    w.server.stop().await;
}

async fn metrics(w: &Fed, auth: Option<(&str, bool)>) -> reqwest::Response {
    let mut req = client().get(w.server.url("/metrics"));
    match auth {
        None => {}
        Some((user, false)) => req = req.basic_auth(user, Some(format!("{user}-pw"))),
        Some((secret, true)) => req = req.bearer_auth(secret),
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_for_admins_and_count_routes_and_sync_state() {
    let w = setup().await;
    let store = w.server.store.clone();
    // Who may read them.
    let r = metrics(&w, None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], T);
    for user in ["p-reader", "p-peer", "h-analyst"] {
        let r = metrics(&w, Some((user, false))).await;
        assert_eq!(r.status(), 403, "{user}");
        assert_eq!(r.headers()["content-type"], T);
    }
    let wrong = client()
        .get(w.server.url("/metrics"))
        .basic_auth("admin", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let mut tokens = HashMap::new();
    for (name, scope) in [("plain", None), ("scoped", Some(w.colls["shared"]))] {
        let (secret, hash) = auth::generate_token();
        store
            .create_token(&ApiToken {
                id: Uuid::new_v4(),
                user_id: w.users["admin"].id,
                secret_hash: hash,
                created: 1,
                expires: None,
                revoked: false,
                read_only: true,
                collection: scope,
            })
            .await
            .unwrap();
        tokens.insert(name, secret);
    }
    assert_eq!(
        metrics(&w, Some((&tokens["scoped"], true))).await.status(),
        403
    );
    assert_eq!(
        metrics(&w, Some((&tokens["plain"], true))).await.status(),
        200
    );

    // A subscription with counters.
    let peer = Peer {
        id: Uuid::new_v4(),
        name: "p-node".into(),
        url: "https://p.example/taxii2/".into(),
        org_id: w.orgs["P"].id,
        community: true,
        credential: "sealed:dummy".into(),
        ca_cert: None,
        created: 1,
    };
    store.create_peer(&peer).await.unwrap();
    let sub = Subscription {
        id: Uuid::new_v4(),
        peer_id: peer.id,
        direction: Direction::Pull,
        local_collection: w.colls["shared"],
        remote_api_root: "https://p.example/api1/".into(),
        remote_collection: Uuid::new_v4().to_string(),
        filter: SubscriptionFilter::default(),
        interval_secs: 60,
        enabled: true,
        created: 1,
    };
    store.create_subscription(&sub).await.unwrap();
    let progress = SyncProgress {
        subscription: sub.id,
        cursor: Some("{}".into()),
        transferred: 7,
        duplicates: 2,
        refused_by_policy: 3,
        rejected: 1,
        skipped: 4,
    };
    let caught_up = 1_700_000_000_000_000;
    store
        .record_sync(
            &progress,
            Some(&SyncOutcome::Success {
                caught_up_at: caught_up,
                lag_objects: Some(5),
            }),
            caught_up + 2_500_000,
            &[],
        )
        .await
        .unwrap();
    store
        .record_sync(
            &SyncProgress {
                subscription: sub.id,
                ..SyncProgress::default()
            },
            Some(&SyncOutcome::Failure {
                error: "connection refused".into(),
            }),
            caught_up + 10_000_000,
            &[],
        )
        .await
        .unwrap();

    // Traffic to count: a TAXII read, a path no route matches.
    let coll = w.colls["shared"];
    assert_eq!(
        get_as(
            &w,
            "p-reader",
            &format!("{ROOT}/collections/{coll}/objects/")
        )
        .await
        .status(),
        200
    );
    assert_eq!(get_as(&w, "p-reader", "/nowhere/").await.status(), 404);

    let r = metrics(&w, Some(("admin", false))).await;
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = r.text().await.unwrap();
    let labels = format!(
        r#"{{peer="p-node",direction="pull",subscription="{}"}}"#,
        sub.id
    );
    for line in [
        r#"cairn_http_requests_total{method="GET",route="/taxii2/{root}/collections/{coll}/objects/",status="200"} 1"#.to_string(),
        r#"cairn_http_requests_total{method="GET",route="unmatched",status="404"} 1"#.to_string(),
        r#"cairn_http_requests_total{method="GET",route="/metrics",status="401"} 2"#.to_string(),
        r#"cairn_http_requests_total{method="GET",route="/metrics",status="403"} 4"#.to_string(),
        r#"cairn_http_request_duration_seconds_count{method="GET",route="/taxii2/{root}/collections/{coll}/objects/"} 1"#.to_string(),
        r#"cairn_http_requests_total{method="POST",route="/taxii2/{root}/collections/{coll}/objects/",status="202"} 3"#.to_string(),
        format!("cairn_sync_transferred_total{labels} 7"),
        format!("cairn_sync_duplicates_total{labels} 2"),
        format!("cairn_sync_refused_by_policy_total{labels} 3"),
        format!("cairn_sync_rejected_total{labels} 1"),
        format!("cairn_sync_skipped_total{labels} 4"),
        format!("cairn_sync_failures{labels} 1"),
        format!("cairn_sync_last_success_timestamp_seconds{labels} 1700000002.5"),
        format!("cairn_sync_last_error_timestamp_seconds{labels} 1700000010.0"),
        format!("cairn_sync_lag_objects{labels} 5"),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing line {line:?} in\n{text}"
        );
    }
    for family in [
        "# TYPE cairn_http_requests_total counter",
        "# TYPE cairn_http_request_duration_seconds histogram",
        "# TYPE cairn_sync_lag_seconds gauge",
    ] {
        assert!(text.lines().any(|l| l == family), "{family} in\n{text}");
    }
    let lag: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("cairn_sync_lag_seconds{labels} ")))
        .expect("lag in seconds")
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let want = now - caught_up as f64 / 1e6;
    assert!(
        (lag - want).abs() < 60.0,
        "now - caught_up_at: {lag}, not {want}"
    );
    assert!(
        text.lines().any(|l| l.starts_with(
            r#"cairn_http_request_duration_seconds_bucket{method="GET",route="/taxii2/{root}/collections/{coll}/objects/",le="+Inf"}"#
        )),
        "{text}"
    );
    w.server.stop().await;
}

async fn api(
    w: &Fed,
    who: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client()
        .request(method, w.server.url(&format!("/api/v1{path}")))
        .basic_auth(who, Some(format!("{who}-pw")));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `/api/v1/peers` and `/subscriptions`: admin only, the credential sealed and never shown,
/// bad input refused precisely and changing nothing, a subscription checked with the peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_and_subscriptions_over_the_api() {
    use reqwest::Method;
    let w = setup().await;
    let store = w.server.store.clone();
    let discovery = w.server.url("/taxii2/");
    // This node is its own peer here, reached with the admin's Basic credential.
    let body = json!({"name": "self", "url": discovery, "user": "admin", "password": "admin-pw", "nation": "KR"});
    let (s, _) = api(&w, "p-reader", Method::POST, "/peers", Some(body.clone())).await;
    assert_eq!(s, 403);
    let (s, _) = api(&w, "h-analyst", Method::GET, "/peers", None).await;
    assert_eq!(s, 403);
    for (bad, want) in [
        (json!({"name": "a b", "url": discovery, "token": "t"}), 422),
        (json!({"name": "ok", "url": "ftp://x/", "token": "t"}), 422),
        (json!({"name": "ok", "url": discovery}), 422),
        (
            json!({"name": "ok", "url": discovery, "token": "t", "user": "u", "password": "p"}),
            422,
        ),
        (
            json!({"name": "ok", "url": discovery, "token": "t", "nation": "ZZZ"}),
            422,
        ),
        (
            json!({"name": "ok", "url": discovery, "token": "t", "extra": 1}),
            422,
        ),
    ] {
        let (s, e) = api(&w, "admin", Method::POST, "/peers", Some(bad.clone())).await;
        assert_eq!(s, want, "{bad} -> {e}");
        assert!(e["description"].is_string(), "{e}");
    }
    assert!(
        store.get_peer("ok").await.unwrap().is_none(),
        "nothing changed"
    );
    let (s, v) = api(&w, "admin", Method::POST, "/peers", Some(body.clone())).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["name"], "self");
    assert!(!v.to_string().contains("admin-pw"));
    let stored = store.get_peer("self").await.unwrap().unwrap();
    assert!(!stored.credential.contains("admin-pw"), "sealed at rest");
    let (s, _) = api(&w, "admin", Method::POST, "/peers", Some(body)).await;
    assert_eq!(s, 409);
    // Subscribe: the remote collection is checked with the peer.
    let shared = w.colls["shared"].to_string();
    let sub = json!({"direction": "pull", "local_collection": w.colls["community"].to_string(), "remote": shared});
    let (s, v) = api(
        &w,
        "admin",
        Method::POST,
        "/peers/self/subscriptions",
        Some(sub),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["subscription"]["id"].as_str().unwrap().to_string();
    let subs_before = store.list_subscriptions().await.unwrap().len();
    let missing = json!({"direction": "pull", "local_collection": shared, "remote": Uuid::new_v4().to_string()});
    let (s, v) = api(
        &w,
        "admin",
        Method::POST,
        "/peers/self/subscriptions",
        Some(missing),
    )
    .await;
    assert_eq!(s, 502, "{v}");
    let bad_dir = json!({"direction": "sideways", "local_collection": shared, "remote": shared});
    let (s, _) = api(
        &w,
        "admin",
        Method::POST,
        "/peers/self/subscriptions",
        Some(bad_dir),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(
        store.list_subscriptions().await.unwrap().len(),
        subs_before,
        "refused subscriptions change nothing"
    );
    let (s, v) = api(
        &w,
        "admin",
        Method::PATCH,
        &format!("/subscriptions/{id}"),
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["subscription"]["enabled"], false);
    let (s, v) = api(&w, "admin", Method::GET, "/peers/self", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["subscriptions"].as_array().unwrap().len(), 1);
    let (s, _) = api(
        &w,
        "admin",
        Method::DELETE,
        &format!("/subscriptions/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = api(&w, "admin", Method::DELETE, "/peers/self", None).await;
    assert_eq!(s, 204);
    let (s, _) = api(&w, "admin", Method::GET, "/peers/self", None).await;
    assert_eq!(s, 404);
    w.server.stop().await;
}
