//! Sharing-policy enforcement over TAXII, driven by tests/fixtures/policy.json: organizations of
//! three nations, a sharing group, a channel collection and an anonymously readable bulletin;
//! members post objects under every marking; then every reader sees exactly what the fixture
//! lists, on every read endpoint, and nothing else leaks (not through `more`, `next`, the date
//! headers, the object and versions endpoints, or statuses).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cairn_policy::{IdentityRef, Tlp};
use cairn_server::auth;
use cairn_store::{
    ApiRoot, ApiToken, Collection, Grant, Grantee, Organization, Role, SharingGroup, Store, User,
};
use cairn_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{MAX_CONTENT_LENGTH, ROOT, Server, T, client, fixture, test_config};

const STIX: &str = "application/stix+json;version=2.1";

struct PolicyWorld {
    server: Server,
    fx: Value,
    /// Collection name → id.
    colls: HashMap<String, Uuid>,
    /// Object name → STIX id.
    ids: HashMap<String, String>,
    /// Poster user name → a status id of one of its requests.
    statuses: HashMap<String, String>,
    /// User name → a token scoped to the bulletin.
    scoped: HashMap<String, String>,
    _dir: tempfile::TempDir,
}

fn object_id(name: &str, kind: &str) -> String {
    format!(
        "{kind}--{}",
        Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
    )
}

fn tlp1_id(level: &str) -> &'static str {
    match level {
        "white" => "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        "green" => "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        "amber" => "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        "red" => "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        other => panic!("unknown TLP 1.0 level {other}"),
    }
}

async fn setup() -> PolicyWorld {
    let fx: Value = serde_json::from_str(&fixture("policy.json")).expect("policy.json");
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
    for n in fx["nations"].as_array().unwrap() {
        store.add_nation(n.as_str().unwrap()).await.unwrap();
    }
    let mut orgs: HashMap<String, Organization> = HashMap::new();
    for (name, o) in fx["orgs"].as_object().unwrap() {
        let org = Organization {
            id: Uuid::new_v4(),
            name: name.clone(),
            identity_id: object_id(name, "identity"),
            nation: Some(o["nation"].as_str().unwrap().into()),
            kind: o["kind"].as_str().unwrap().into(),
        };
        store.create_org(&org).await.unwrap();
        orgs.insert(name.clone(), org);
    }
    let mut groups: HashMap<String, SharingGroup> = HashMap::new();
    for (name, g) in fx["groups"].as_object().unwrap() {
        let group = SharingGroup {
            id: Uuid::new_v4(),
            name: name.clone(),
            identity_id: object_id(name, "identity"),
            owner: orgs[g["owner"].as_str().unwrap()].id,
            members: g["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| orgs[m.as_str().unwrap()].id)
                .collect(),
        };
        store.create_group(&group).await.unwrap();
        groups.insert(name.clone(), group);
    }
    let mut users: HashMap<String, User> = HashMap::new();
    for (name, u) in fx["users"].as_object().unwrap() {
        let user = User {
            id: Uuid::new_v4(),
            name: name.clone(),
            org_id: orgs[u["org"].as_str().unwrap()].id,
            role: Role::parse(u["role"].as_str().unwrap()).unwrap(),
            password_hash: Some(auth::hash_password(&format!("{name}-pw"))),
            disabled: false,
            credential_epoch: 0,
        };
        store.create_user(&user).await.unwrap();
        users.insert(name.clone(), user);
    }
    let grantee = |key: &str| -> Grantee {
        let (kind, name) = key.split_once(':').unwrap_or((key, ""));
        match kind {
            "org" => Grantee::Organization(orgs[name].id),
            "group" => Grantee::SharingGroup(groups[name].id),
            "nation" => Grantee::Nation(name.into()),
            "community" => Grantee::Community,
            other => panic!("grantee kind {other}"),
        }
    };
    let mut colls = HashMap::new();
    for (name, c) in fx["collections"].as_object().unwrap() {
        let mut coll = Collection::new(Uuid::new_v4(), "default", name, None, None, 1);
        coll.default_tlp = Tlp::parse(c["default_tlp"].as_str().unwrap()).unwrap();
        coll.anonymous_read = c["anonymous_read"].as_bool().unwrap();
        store.create_collection(&coll).await.unwrap();
        for g in c["grants"].as_array().unwrap() {
            store
                .set_grant(&Grant {
                    collection: coll.id,
                    grantee: grantee(g["to"].as_str().unwrap()),
                    can_read: g["read"].as_bool().unwrap(),
                    can_write: g["write"].as_bool().unwrap(),
                })
                .await
                .unwrap();
        }
        colls.insert(name.clone(), coll.id);
    }
    let mut scoped = HashMap::new();
    for (name, user) in &users {
        let (secret, hash) = auth::generate_token();
        store
            .create_token(&ApiToken {
                id: Uuid::new_v4(),
                user_id: user.id,
                secret_hash: hash,
                created: 1,
                expires: None,
                revoked: false,
                read_only: false,
                collection: Some(colls["bulletin"]),
            })
            .await
            .unwrap();
        scoped.insert(name.clone(), secret);
    }
    let identity_of = |key: &str| -> IdentityRef {
        let (kind, name) = key.split_once(':').unwrap();
        let id = match kind {
            "org" => &orgs[name].identity_id,
            "group" => &groups[name].identity_id,
            other => panic!("recipient kind {other}"),
        };
        IdentityRef::parse(id).unwrap()
    };

    let server = Server::start_on(std::sync::Arc::new(store), &db, test_config()).await;
    let mut ids = HashMap::new();
    let mut statuses = HashMap::new();
    for post in fx["posts"].as_array().unwrap() {
        let mut objects = Vec::new();
        for o in post["objects"].as_array().unwrap() {
            let name = o["name"].as_str().unwrap();
            if let Some(rec) = o.get("recipients_marking") {
                let (mut orgs_r, mut groups_r) = (Vec::new(), Vec::new());
                for r in rec.as_array().unwrap() {
                    let r = r.as_str().unwrap();
                    if r.starts_with("org:") {
                        orgs_r.push(identity_of(r));
                    } else {
                        groups_r.push(identity_of(r));
                    }
                }
                let id = object_id(name, "marking-definition");
                let def = cairn_policy::marking::recipients_marking_definition(
                    &id,
                    "2024-01-01T00:00:00.000Z",
                    &orgs_r,
                    &groups_r,
                );
                ids.insert(name.to_string(), id);
                objects.push(def);
                continue;
            }
            let id = object_id(name, "indicator");
            let mut obj = json!({
                "type": "indicator",
                "spec_version": "2.1",
                "id": id,
                "created": "2024-01-01T00:00:00.000Z",
                "modified": "2024-01-01T00:00:00.000Z",
                "name": name,
                "description": format!("the {name} indicator"),
                "pattern": "[ipv4-addr:value = '198.51.100.7']",
                "pattern_type": "stix",
                "valid_from": "2024-01-01T00:00:00Z"
            });
            let mut refs: Vec<String> = Vec::new();
            if let Some(t) = o.get("tlp") {
                refs.push(Tlp::parse(t.as_str().unwrap()).unwrap().marking_id().into());
            }
            if let Some(t) = o.get("tlp1") {
                refs.push(tlp1_id(t.as_str().unwrap()).into());
            }
            for m in o
                .get("markings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                refs.push(ids[m.as_str().unwrap()].clone());
            }
            if !refs.is_empty() {
                obj["object_marking_refs"] = json!(refs);
            }
            if let Some(c) = o.get("created_by") {
                obj["created_by_ref"] = json!(orgs[c.as_str().unwrap()].identity_id);
            }
            if let Some(sel) = o.get("granular_red") {
                obj["granular_markings"] =
                    json!([{"marking_ref": Tlp::Red.marking_id(), "selectors": sel}]);
            }
            ids.insert(name.to_string(), id);
            objects.push(obj);
        }
        let by = post["by"].as_str().unwrap();
        let coll = colls[post["collection"].as_str().unwrap()];
        let resp = client()
            .post(server.url(&format!("{ROOT}/collections/{coll}/objects/")))
            .basic_auth(by, Some(format!("{by}-pw")))
            .header("Accept", T)
            .header("Content-Type", T)
            .json(&json!({ "objects": objects }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202, "post by {by}");
        let st: Value = resp.json().await.unwrap();
        assert_eq!(st["failure_count"], 0, "post by {by}: {st}");
        statuses.insert(by.to_string(), st["id"].as_str().unwrap().to_string());
    }
    PolicyWorld {
        server,
        fx,
        colls,
        ids,
        statuses,
        scoped,
        _dir: dir,
    }
}

async fn get(w: &PolicyWorld, who: &str, path: &str) -> reqwest::Response {
    let mut req = client().get(w.server.url(path)).header("Accept", T);
    if who != "anonymous" {
        req = req.basic_auth(who, Some(format!("{who}-pw")));
    }
    req.send().await.unwrap()
}

/// Every object of a collection through `objects/` pages of `limit`, with the date headers.
async fn read_all(
    w: &PolicyWorld,
    who: &str,
    coll: Uuid,
    endpoint: &str,
    limit: usize,
) -> Vec<Value> {
    read_all_where(w, who, coll, endpoint, limit, "").await
}

async fn read_all_where(
    w: &PolicyWorld,
    who: &str,
    coll: Uuid,
    endpoint: &str,
    limit: usize,
    filter: &str,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut path = format!("{ROOT}/collections/{coll}/{endpoint}/?limit={limit}{filter}");
        if let Some(n) = &next {
            path.push_str(&format!("&next={n}"));
        }
        let r = get(w, who, &path).await;
        assert_eq!(r.status(), 200, "{who} {path}");
        let h = r.headers().clone();
        let v: Value = r.json().await.unwrap();
        let items = v["objects"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            assert!(
                h.get("x-taxii-date-added-last").is_none(),
                "{who}: date header on an empty page"
            );
            assert_eq!(v, json!({}), "{who}: an empty page is {{}}");
            return out;
        }
        let more = v["more"].as_bool().unwrap();
        out.extend(items);
        if !more {
            assert!(v.get("next").is_none(), "{who}: next without more");
            return out;
        }
        next = Some(v["next"].as_str().unwrap().to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reader_sees_exactly_its_objects() {
    let w = setup().await;
    let all: BTreeSet<String> = w.ids.keys().cloned().collect();
    let name_of: HashMap<&str, &str> = w
        .ids
        .iter()
        .map(|(n, i)| (i.as_str(), n.as_str()))
        .collect();
    for (who, per_coll) in w.fx["visible"].as_object().unwrap() {
        for (cname, visible) in per_coll.as_object().unwrap() {
            let coll = w.colls[cname];
            let ctx = format!("{who} reading {cname}");
            if visible.is_null() {
                let r = get(&w, who, &format!("{ROOT}/collections/{coll}/objects/")).await;
                let want = if who == "anonymous" { 401 } else { 404 };
                assert_eq!(r.status(), want, "{ctx}: no access");
                let list = get(&w, who, &format!("{ROOT}/collections/")).await;
                if list.status() == 200 {
                    let v: Value = list.json().await.unwrap();
                    let listed = v["collections"].as_array().cloned().unwrap_or_default();
                    assert!(
                        listed.iter().all(|c| c["id"] != json!(coll.to_string())),
                        "{ctx}: a collection without access is not listed"
                    );
                }
                continue;
            }
            let want: BTreeSet<String> = visible
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            for (endpoint, limit) in [("objects", 100), ("objects", 1), ("manifest", 2)] {
                let got: BTreeSet<String> = read_all(&w, who, coll, endpoint, limit)
                    .await
                    .iter()
                    .map(|o| name_of[o["id"].as_str().unwrap()].to_string())
                    .collect();
                assert_eq!(got, want, "{ctx}: {endpoint} with limit {limit}");
            }
            // The object and versions endpoints of every posted object.
            for name in &all {
                let id = &w.ids[name];
                let in_coll = w.fx["posts"].as_array().unwrap().iter().any(|p| {
                    p["collection"] == json!(cname)
                        && p["objects"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|o| o["name"] == json!(name))
                });
                for ep in ["", "versions/"] {
                    let r = get(
                        &w,
                        who,
                        &format!("{ROOT}/collections/{coll}/objects/{id}/{ep}"),
                    )
                    .await;
                    let status = r.status().as_u16();
                    if in_coll && want.contains(name) {
                        assert_eq!(status, 200, "{ctx}: {name} {ep}");
                        let v: Value = r.json().await.unwrap();
                        let n = v["objects"]
                            .as_array()
                            .or(v["versions"].as_array())
                            .map_or(0, Vec::len);
                        assert_eq!(n, 1, "{ctx}: {name} {ep}");
                    } else {
                        assert_eq!(status, 404, "{ctx}: {name} {ep} must look absent");
                    }
                }
            }
            // match[id] over every id: only the visible ones come back.
            let ids: Vec<&str> = all.iter().map(|n| w.ids[n].as_str()).collect();
            let filter = format!("&match[id]={}", ids.join(","));
            let got: BTreeSet<String> = read_all_where(&w, who, coll, "objects", 3, &filter)
                .await
                .iter()
                .map(|o| name_of[o["id"].as_str().unwrap()].to_string())
                .collect();
            assert_eq!(got, want, "{ctx}: match[id]");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn granular_markings_are_redacted_per_reader() {
    let w = setup().await;
    let coll = w.colls["exchange"];
    let mut seen = 0;
    for (who, redacted) in w.fx["redacted"].as_object().unwrap() {
        let Some(visible) = w.fx["visible"][who]["exchange"].as_array() else {
            continue;
        };
        let objs = read_all(&w, who, coll, "objects", 100).await;
        let by_name: BTreeMap<&str, &Value> = objs
            .iter()
            .map(|o| (o["name"].as_str().unwrap_or(""), o))
            .collect();
        for name in visible.iter().map(|v| v.as_str().unwrap()) {
            let Some(o) = by_name.get(name) else {
                continue; // the marking definition has no name property here
            };
            let cut: Vec<&str> = redacted[name]
                .as_array()
                .map(|a| a.iter().map(|p| p.as_str().unwrap()).collect())
                .unwrap_or_default();
            for prop in ["description", "pattern"] {
                assert_eq!(
                    o.get(prop).is_none(),
                    cut.contains(&prop),
                    "{who}: {name}.{prop} present/absent"
                );
            }
            if !cut.is_empty() {
                seen += 1;
                assert!(
                    o.get("granular_markings").is_none(),
                    "{who}: no selector may point at a removed property"
                );
                // The single-object endpoint redacts the same way.
                let id = &w.ids[name];
                let r = get(&w, who, &format!("{ROOT}/collections/{coll}/objects/{id}/")).await;
                let v: Value = r.json().await.unwrap();
                assert!(
                    v["objects"][0].get("description").is_none(),
                    "{who}: {name} via objects/{{id}}/"
                );
            }
        }
    }
    assert!(seen >= 2, "the fixture must redact for some readers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_tokens_and_anonymous_access() {
    let w = setup().await;
    // A status is read by its requester's organization only.
    let kr_status = &w.statuses["kr_analyst"];
    let path = format!("{ROOT}/status/{kr_status}/");
    assert_eq!(get(&w, "kr_analyst", &path).await.status(), 200);
    assert_eq!(get(&w, "us_analyst", &path).await.status(), 404);
    assert_eq!(get(&w, "kr_police", &path).await.status(), 404);
    assert_eq!(get(&w, "anonymous", &path).await.status(), 401);

    // A token scoped to the bulletin sees nothing else.
    let exchange = w.colls["exchange"];
    let bulletin = w.colls["bulletin"];
    let tok = &w.scoped["kr_analyst"];
    let bearer = |path: String| {
        client()
            .get(w.server.url(&path))
            .header("Accept", T)
            .bearer_auth(tok)
            .send()
    };
    let r = bearer(format!("{ROOT}/collections/{exchange}/objects/"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "scoped token on another collection");
    let r = bearer(format!("{ROOT}/collections/{bulletin}/objects/"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "scoped token on its collection");
    let v: Value = bearer(format!("{ROOT}/collections/"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = v["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        vec![bulletin.to_string().as_str()],
        "scoped token lists one collection"
    );

    // Anonymous: discovery and the bulletin, nothing that needs an account.
    assert_eq!(get(&w, "anonymous", "/taxii2/").await.status(), 200);
    let v: Value = get(&w, "anonymous", &format!("{ROOT}/collections/"))
        .await
        .json()
        .await
        .unwrap();
    let c = &v["collections"];
    assert_eq!(
        c.as_array().unwrap().len(),
        1,
        "anonymous lists the bulletin only"
    );
    assert_eq!(c[0]["can_read"], true);
    assert_eq!(c[0]["can_write"], false);
    let post = client()
        .post(
            w.server
                .url(&format!("{ROOT}/collections/{bulletin}/objects/")),
        )
        .header("Accept", T)
        .header("Content-Type", T)
        .body(r#"{"objects":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 403, "anonymous may not write");

    // Writing needs a write grant and a writing role; kr_police has neither.
    let post = client()
        .post(
            w.server
                .url(&format!("{ROOT}/collections/{exchange}/objects/")),
        )
        .basic_auth("kr_police", Some("kr_police-pw"))
        .header("Accept", T)
        .header("Content-Type", T)
        .body(r#"{"objects":[{"type":"x"}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 403);

    // Deleting an object with a version the deleter cannot see is refused and changes nothing.
    let red = &w.ids["red_by_cisa"];
    let del = client()
        .delete(
            w.server
                .url(&format!("{ROOT}/collections/{exchange}/objects/{red}/")),
        )
        .basic_auth("kr_analyst", Some("kr_analyst-pw"))
        .header("Accept", T)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 404, "a hidden object cannot be deleted");
    let still = get(
        &w,
        "us_analyst",
        &format!("{ROOT}/collections/{exchange}/objects/{red}/"),
    )
    .await;
    assert_eq!(still.status(), 200);
    let _ = STIX;
}

/// Poll the audit log until `pred` holds (reads are logged by a background writer).
async fn audit_until(
    store: &SqliteStore,
    pred: impl Fn(&[cairn_store::AuditEntry]) -> bool,
) -> Vec<cairn_store::AuditEntry> {
    for _ in 0..100 {
        let all = store
            .audit_entries(&cairn_store::AuditQuery::default())
            .await
            .unwrap();
        if pred(&all) {
            return all;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the audit log never showed the expected entries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_records_auth_writes_and_sensitive_reads() {
    let w = setup().await;
    let exchange = w.colls["exchange"];
    let bulletin = w.colls["bulletin"];
    // Posts of the setup are in the log, with their objects.
    let all = audit_until(&w.server.store, |a| {
        a.iter().filter(|e| e.entry.action == "objects.add").count() == 3
    })
    .await;
    let add = all
        .iter()
        .find(|e| e.entry.action == "objects.add" && e.entry.actor == "us_analyst")
        .unwrap();
    assert_eq!(
        add.entry.object.as_deref(),
        Some(exchange.to_string().as_str())
    );
    assert!(add.entry.detail.to_string().contains(&w.ids["us_red"]));
    assert!(
        all.iter()
            .any(|e| e.entry.action == "auth.success" && e.entry.actor == "kr_analyst"),
        "a verified password is logged"
    );

    // Reading CLEAR objects only is not logged; reading the exchange (AMBER and above) is.
    let before = all.len();
    read_all(&w, "anonymous", bulletin, "objects", 100).await;
    read_all(&w, "kr_police", exchange, "objects", 100).await;
    let (amber, strict) = (w.ids["amber"].clone(), w.ids["strict"].clone());
    let all = audit_until(&w.server.store, |a| {
        let text: String = a
            .iter()
            .filter(|e| e.entry.action == "objects.read")
            .map(|e| e.entry.detail.to_string())
            .collect();
        text.contains(&amber) && text.contains(&strict)
    })
    .await;
    let reads: Vec<_> = all[before..]
        .iter()
        .filter(|e| e.entry.action == "objects.read")
        .collect();
    assert!(
        reads.iter().all(|e| e.entry.actor == "kr_police"),
        "CLEAR reads are not logged"
    );
    let text = reads
        .iter()
        .map(|e| e.entry.detail.to_string())
        .collect::<String>();
    assert!(text.contains(&w.ids["amber"]) && text.contains(&w.ids["strict"]));
    assert!(!text.contains(&w.ids["clear"]), "only AMBER and above");

    // A failed login is logged with the name tried, and the whole chain verifies.
    let bad = get(&w, "anonymous", "/taxii2/").await;
    assert_eq!(bad.status(), 200);
    let r = client()
        .get(w.server.url("/taxii2/"))
        .basic_auth("nobody-at-all", Some("guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let all = audit_until(&w.server.store, |a| {
        a.iter()
            .any(|e| e.entry.action == "auth.failure" && e.entry.actor == "nobody-at-all")
    })
    .await;
    cairn_store::audit::verify(0, cairn_store::audit::GENESIS, &all).expect("the chain verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_slowed_down_without_telling_who_exists() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cairn.db");
    let store = SqliteStore::open(&db).await.unwrap();
    let org = Organization {
        id: Uuid::new_v4(),
        name: "org".into(),
        identity_id: object_id("org", "identity"),
        nation: None,
        kind: "cert".into(),
    };
    store.create_org(&org).await.unwrap();
    for name in ["alice", "bob"] {
        store
            .create_user(&User {
                id: Uuid::new_v4(),
                name: name.into(),
                org_id: org.id,
                role: Role::Reader,
                password_hash: Some(auth::hash_password(&format!("{name}-pw"))),
                disabled: false,
                credential_epoch: 0,
            })
            .await
            .unwrap();
    }
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
    let mut config = test_config();
    config.auth_failures = 2;
    let server = Server::start_on(std::sync::Arc::new(store), &db, config).await;
    let try_login = |user: &'static str, pw: &'static str| {
        client()
            .get(server.url("/taxii2/"))
            .header("Accept", T)
            .basic_auth(user, Some(pw))
            .send()
    };
    for user in ["alice", "ghost"] {
        let mut statuses = Vec::new();
        let mut retry = None;
        for _ in 0..5 {
            let r = try_login(user, "wrong").await.unwrap();
            statuses.push(r.status().as_u16());
            if r.status() == 429 {
                retry = r.headers().get("retry-after").cloned();
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["http_status"], "429");
            }
        }
        assert_eq!(
            statuses,
            [401, 401, 401, 429, 429],
            "{user}: the same answers for a user that exists and one that does not"
        );
        assert!(
            retry.is_some_and(|v| v.to_str().unwrap().parse::<u64>().unwrap() >= 1),
            "{user}: Retry-After"
        );
    }
    assert_eq!(
        try_login("alice", "alice-pw").await.unwrap().status(),
        429,
        "a blocked name stays blocked even with the right password"
    );
    assert_eq!(
        try_login("bob", "bob-pw").await.unwrap().status(),
        200,
        "other names from the same client are not blocked"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        try_login("alice", "alice-pw").await.unwrap().status(),
        200,
        "the block expires"
    );
    server.stop().await;
}
