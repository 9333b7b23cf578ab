//! The REST administration API under /api/v1: each resource's happy path, role checks, bad input
//! that must change nothing, tokens made through the API working for TAXII, and the checked-in
//! OpenAPI document being current.

use cairn_store::Store;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{T, World, client, world};

const JSON: &str = "application/json";

/// A request as `who` (`None`: anonymous; `Some((user, password))`: Basic).
async fn call(
    w: &World,
    method: Method,
    path: &str,
    who: Option<(&str, &str)>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rq = client().request(method.clone(), w.server.url(&w.expand(path)));
    if let Some((u, p)) = who {
        rq = rq.basic_auth(u, Some(p));
    }
    if let Some(b) = body {
        rq = rq.json(&b);
    }
    let r = rq.send().await.expect("request");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string());
    let text = r.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: body is not JSON ({e}): {text}"))
    };
    if status >= 400 {
        assert_eq!(
            ct.as_deref(),
            Some(JSON),
            "{method} {path}: error media type"
        );
        assert_eq!(v["http_status"], status.to_string(), "{method} {path}: {v}");
        assert!(
            v["title"].is_string() && v["description"].is_string(),
            "{v}"
        );
    }
    (status, v)
}

const ADMIN: Option<(&str, &str)> = Some(("admin", "admin-pw"));
const ALICE: Option<(&str, &str)> = Some(("alice", "alice-pw"));
const BOB: Option<(&str, &str)> = Some(("bob", "bob-pw"));
const OLGA: Option<(&str, &str)> = Some(("olga", "olga-password"));

async fn get(w: &World, path: &str, who: Option<(&str, &str)>) -> (u16, Value) {
    call(w, Method::GET, path, who, None).await
}

async fn org_id(w: &World, name: &str) -> String {
    let (s, orgs) = get(w, "/api/v1/orgs", ADMIN).await;
    assert_eq!(s, 200);
    orgs.as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("org {name} in {orgs}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Everything an admin can see, to compare before and after refused requests.
async fn snapshot(w: &World) -> Value {
    let mut out = serde_json::Map::new();
    for p in [
        "/api/v1/nations",
        "/api/v1/orgs",
        "/api/v1/users",
        "/api/v1/groups",
        "/api/v1/collections/{C_RW}/grants",
        "/api/v1/users/alice/tokens",
    ] {
        let (s, v) = get(w, p, ADMIN).await;
        assert_eq!(s, 200, "{p}: {v}");
        out.insert(p.to_string(), v);
    }
    let coll = w
        .server
        .store
        .as_ref()
        .get_collection("default", &w.vars["C_RW"])
        .await
        .unwrap()
        .unwrap();
    out.insert(
        "collection".into(),
        json!([coll.default_tlp.as_str(), coll.anonymous_read]),
    );
    // The audit log, less what reading it (and authenticating) adds.
    let (_, audit) = get(w, "/api/v1/audit?limit=1000", ADMIN).await;
    let changes: Vec<Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["action"].as_str().unwrap().starts_with("auth."))
        .cloned()
        .collect();
    out.insert("audit".into(), Value::Array(changes));
    Value::Object(out)
}

/// Create the org-admin `olga` of CERT-A through the API.
async fn make_olga(w: &World) {
    let a = org_id(w, "CERT-A").await;
    let (s, v) = call(
        w,
        Method::POST,
        "/api/v1/users",
        ADMIN,
        Some(json!({"name": "olga", "org": a, "role": "org-admin", "password": "olga-password"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert!(v["password"].is_null(), "a given password is not echoed");
}

fn actions(audit: &Value) -> Vec<(String, String)> {
    audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn openapi_document_is_current() {
    let generated = cairn_server::api::openapi_json();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("writing docs/openapi.json");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/openapi.json differs from the document the code generates; regenerate it with\n  \
         UPDATE_OPENAPI=1 cargo nextest run -p cairn-server -E 'test(openapi_document_is_current)'\n\
         and commit it"
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/me",
        "/api/v1/nations",
        "/api/v1/orgs",
        "/api/v1/orgs/{id}",
        "/api/v1/users",
        "/api/v1/users/{name}",
        "/api/v1/groups",
        "/api/v1/groups/{id}/members/{org}",
        "/api/v1/collections/{id}/grants",
        "/api/v1/collections/{id}",
        "/api/v1/users/{name}/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/audit",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} missing from the document");
    }
    // Served as is, to anyone.
    let w = world().await;
    let r = client()
        .get(w.server.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], JSON);
    assert_eq!(r.text().await.unwrap(), generated);
    w.server.stop().await;
}

#[tokio::test]
async fn admin_manages_nations_orgs_users_groups_grants_and_collections() {
    let w = world().await;
    // Nations.
    let (s, v) = call(
        &w,
        Method::POST,
        "/api/v1/nations",
        ADMIN,
        Some(json!({"code": "FR"})),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str(), v["name"].as_str()),
        (201, Some("FR"), Some("France"))
    );
    let (s, v) = get(&w, "/api/v1/nations", ADMIN).await;
    assert_eq!(s, 200);
    let codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["FR", "KR"]);

    // Organizations.
    let (s, v) = call(
        &w,
        Method::POST,
        "/api/v1/orgs",
        ADMIN,
        Some(json!({"name": "ANSSI", "nation": "FR", "kind": "cert"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let anssi = v["id"].as_str().unwrap().to_string();
    assert!(v["identity_id"].as_str().unwrap().starts_with("identity--"));
    let (s, v) = call(
        &w,
        Method::PATCH,
        &format!("/api/v1/orgs/{anssi}"),
        ADMIN,
        Some(json!({"kind": "ict-ministry", "name": "ANSSI-FR"})),
    )
    .await;
    assert_eq!(
        (s, &v["kind"], &v["name"], &v["nation"]),
        (
            200,
            &json!("ict-ministry"),
            &json!("ANSSI-FR"),
            &json!("FR")
        )
    );
    assert_eq!(org_id(&w, "ANSSI-FR").await, anssi);

    // Users: a generated password works at once; role and disabled change.
    let (s, v) = call(
        &w,
        Method::POST,
        "/api/v1/users",
        ADMIN,
        Some(json!({"name": "marie", "org": anssi, "role": "analyst"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["user"]["role"], "analyst");
    let pw = v["password"].as_str().unwrap().to_string();
    let (s, me) = get(&w, "/api/v1/me", Some(("marie", &pw))).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(
        (&me["user"], &me["role"], &me["nation"], &me["org"]["id"]),
        (
            &json!("marie"),
            &json!("analyst"),
            &json!("FR"),
            &json!(anssi)
        )
    );
    let (s, v) = call(
        &w,
        Method::PATCH,
        "/api/v1/users/marie",
        ADMIN,
        Some(json!({"role": "reader"})),
    )
    .await;
    assert_eq!((s, &v["role"]), (200, &json!("reader")));
    let (s, v) = call(
        &w,
        Method::PATCH,
        "/api/v1/users/marie",
        ADMIN,
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!((s, &v["disabled"]), (200, &json!(true)));
    assert_eq!(
        get(&w, "/api/v1/me", Some(("marie", &pw))).await.0,
        401,
        "a disabled user is locked out"
    );
    let (s, users) = get(&w, "/api/v1/users", ADMIN).await;
    assert_eq!(s, 200);
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u.get("password_hash").is_none())
    );
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "marie" && u["disabled"] == true)
    );

    // Groups.
    let a = org_id(&w, "CERT-A").await;
    let b = org_id(&w, "CERT-B").await;
    let (s, g) = call(
        &w,
        Method::POST,
        "/api/v1/groups",
        ADMIN,
        Some(json!({"name": "euro-kr", "owner": anssi, "members": [a]})),
    )
    .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    let mut members: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    members.sort_unstable();
    let mut want = vec![anssi.as_str(), a.as_str()];
    want.sort_unstable();
    assert_eq!(members, want, "the owner is a member");
    let (s, g) = call(
        &w,
        Method::POST,
        &format!("/api/v1/groups/{gid}/members/{b}"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(g["members"].as_array().unwrap().len(), 3);
    let (s, g) = call(
        &w,
        Method::DELETE,
        &format!("/api/v1/groups/{gid}/members/{a}"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(!g["members"].as_array().unwrap().contains(&json!(a)));
    let (s, v) = get(&w, "/api/v1/groups", ADMIN).await;
    assert_eq!((s, v.as_array().unwrap().len()), (200, 1));
    let (_, me) = get(&w, "/api/v1/me", Some(("bob", "bob-pw"))).await;
    assert_eq!(
        me["groups"],
        json!([{"id": gid, "name": "euro-kr"}]),
        "{me}"
    );

    // Grants: the new organization reads C_RW over TAXII once granted, and not after removal.
    let coll = w.vars["C_RW"].clone();
    let taxii = |user: &'static str, pw: String| {
        let url = w
            .server
            .url(&format!("/taxii2/default/collections/{coll}/"));
        async move {
            client()
                .get(url)
                .header("Accept", T)
                .basic_auth(user, Some(pw))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    call(
        &w,
        Method::PATCH,
        "/api/v1/users/marie",
        ADMIN,
        Some(json!({"disabled": false})),
    )
    .await;
    assert_eq!(taxii("marie", pw.clone()).await, 404, "no grant yet");
    let (s, v) = call(
        &w,
        Method::PUT,
        "/api/v1/collections/{C_RW}/grants",
        ADMIN,
        Some(json!({"grantee": format!("org:{anssi}"), "read": true})),
    )
    .await;
    assert_eq!(
        (s, &v),
        (
            200,
            &json!({"grantee": format!("org:{anssi}"), "read": true, "write": false})
        )
    );
    for grantee in ["nation:FR", "community", &format!("group:{gid}")] {
        let (s, v) = call(
            &w,
            Method::PUT,
            "/api/v1/collections/{C_RW}/grants",
            ADMIN,
            Some(json!({"grantee": grantee, "read": true, "write": true})),
        )
        .await;
        assert_eq!(s, 200, "{grantee}: {v}");
    }
    let (s, v) = get(&w, "/api/v1/collections/{C_RW}/grants", ADMIN).await;
    assert_eq!(s, 200);
    let keys: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["grantee"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"community") && keys.contains(&"nation:FR") && keys.len() == 5,
        "{v}"
    );
    assert_eq!(taxii("marie", pw.clone()).await, 200);
    for grantee in [
        format!("org:{anssi}"),
        "nation:FR".into(),
        "community".into(),
        format!("group:{gid}"),
    ] {
        let (s, _) = call(
            &w,
            Method::DELETE,
            &format!("/api/v1/collections/{{C_RW}}/grants?grantee={grantee}"),
            ADMIN,
            None,
        )
        .await;
        assert_eq!(s, 204, "{grantee}");
    }
    assert_eq!(taxii("marie", pw.clone()).await, 404, "grant removed");

    // Collection policy.
    let (s, v) = call(
        &w,
        Method::PATCH,
        "/api/v1/collections/{C_RW}",
        ADMIN,
        Some(json!({"default_tlp": "clear", "anonymous_read": true})),
    )
    .await;
    assert_eq!(
        (s, &v["default_tlp"], &v["anonymous_read"]),
        (200, &json!("clear"), &json!(true))
    );
    let r = client()
        .get(
            w.server
                .url(&w.expand("/taxii2/default/collections/{C_RW}/")),
        )
        .header("Accept", T)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "anonymously readable now");

    // Every change is in the audit log under the admin's name, with the CLI's action names.
    let (s, audit) = get(&w, "/api/v1/audit?actor=admin&limit=1000", ADMIN).await;
    assert_eq!(s, 200);
    let acts: Vec<String> = actions(&audit)
        .into_iter()
        .filter(|(_, a)| !a.starts_with("auth."))
        .map(|(who, a)| {
            assert_eq!(who, "admin");
            a
        })
        .collect();
    assert_eq!(
        acts,
        [
            "nation.add",
            "org.create",
            "org.update",
            "user.create",
            "user.role",
            "user.disable",
            "group.create",
            "group.add-member",
            "group.remove-member",
            "user.enable",
            "grant.set",
            "grant.set",
            "grant.set",
            "grant.set",
            "grant.remove",
            "grant.remove",
            "grant.remove",
            "grant.remove",
            "collection.policy",
        ]
    );
    let (_, one) = get(&w, &format!("/api/v1/audit?object={anssi}&limit=5"), ADMIN).await;
    assert_eq!(actions(&one)[0].1, "org.create");
    let (s, none) = get(&w, "/api/v1/audit?since=2999-01-01T00:00:00Z", ADMIN).await;
    assert_eq!((s, none), (200, json!([])));
    w.server.stop().await;
}

#[tokio::test]
async fn roles_decide_what_each_caller_may_do() {
    let w = world().await;
    // Anonymous: 401 everywhere (JSON error, a Basic challenge).
    for (m, p) in [
        (Method::GET, "/api/v1/me"),
        (Method::GET, "/api/v1/nations"),
        (Method::POST, "/api/v1/orgs"),
        (Method::GET, "/api/v1/nowhere"),
    ] {
        let r = client()
            .request(m.clone(), w.server.url(p))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{m} {p}");
        assert_eq!(r.headers()["content-type"], JSON);
        assert!(r.headers().contains_key("www-authenticate"));
    }
    assert_eq!(get(&w, "/api/v1/me", Some(("alice", "wrong"))).await.0, 401);

    // A reader: /me and its own tokens, 403 elsewhere.
    let (s, me) = get(&w, "/api/v1/me", BOB).await;
    assert_eq!(
        (s, &me["role"], &me["org"]["name"], &me["nation"]),
        (200, &json!("reader"), &json!("CERT-B"), &json!("KR"))
    );
    assert_eq!(get(&w, "/api/v1/users/bob/tokens", BOB).await.0, 200);
    let a = org_id(&w, "CERT-A").await;
    let b = org_id(&w, "CERT-B").await;
    for (m, p, body) in [
        (Method::GET, "/api/v1/nations".to_string(), None),
        (
            Method::POST,
            "/api/v1/nations".into(),
            Some(json!({"code": "FR"})),
        ),
        (Method::GET, "/api/v1/orgs".into(), None),
        (
            Method::POST,
            "/api/v1/orgs".into(),
            Some(json!({"name": "X", "nation": "KR"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/orgs/{b}"),
            Some(json!({"name": "mine"})),
        ),
        (Method::GET, "/api/v1/users".into(), None),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"name": "x", "org": b})),
        ),
        (
            Method::PATCH,
            "/api/v1/users/bob".into(),
            Some(json!({"role": "admin"})),
        ),
        (Method::GET, "/api/v1/groups".into(), None),
        (
            Method::POST,
            "/api/v1/groups".into(),
            Some(json!({"name": "g", "owner": b})),
        ),
        (
            Method::GET,
            "/api/v1/collections/{C_RW}/grants".into(),
            None,
        ),
        (
            Method::PUT,
            "/api/v1/collections/{C_RW}/grants".into(),
            Some(json!({"grantee": format!("org:{b}"), "read": true})),
        ),
        (
            Method::PATCH,
            "/api/v1/collections/{C_RW}".into(),
            Some(json!({"default_tlp": "red"})),
        ),
        (Method::GET, "/api/v1/users/alice/tokens".into(), None),
        (
            Method::POST,
            "/api/v1/users/alice/tokens".into(),
            Some(json!({})),
        ),
        (Method::GET, "/api/v1/audit".into(), None),
    ] {
        let (s, v) = call(&w, m.clone(), &p, BOB, body).await;
        assert_eq!(s, 403, "reader: {m} {p}: {v}");
    }

    // An org-admin: the users and tokens of its own organization, groups it owns.
    make_olga(&w).await;
    let (s, users) = get(&w, "/api/v1/users", OLGA).await;
    assert_eq!(s, 200);
    let mut names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["alice", "carol", "olga"], "only CERT-A's users");
    let (s, v) = call(
        &w,
        Method::POST,
        "/api/v1/users",
        OLGA,
        Some(json!({"name": "dave", "org": a, "role": "analyst"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    for (m, p, body) in [
        (
            Method::POST,
            "/api/v1/users".to_string(),
            Some(json!({"name": "eve", "org": b})),
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"name": "eve", "org": a, "role": "admin"})),
        ),
        (
            Method::PATCH,
            "/api/v1/users/bob".into(),
            Some(json!({"disabled": true})),
        ),
        (
            Method::PATCH,
            "/api/v1/users/alice".into(),
            Some(json!({"role": "admin"})),
        ),
        (Method::GET, "/api/v1/users/admin/tokens".into(), None),
        (
            Method::POST,
            "/api/v1/users/bob/tokens".into(),
            Some(json!({})),
        ),
        (
            Method::POST,
            "/api/v1/groups".into(),
            Some(json!({"name": "theirs", "owner": b})),
        ),
        (Method::GET, "/api/v1/nations".into(), None),
        (Method::GET, "/api/v1/orgs".into(), None),
        (
            Method::PUT,
            "/api/v1/collections/{C_RW}/grants".into(),
            Some(json!({"grantee": format!("org:{a}"), "read": true})),
        ),
        (Method::GET, "/api/v1/audit".into(), None),
    ] {
        let (s, v) = call(&w, m.clone(), &p, OLGA, body).await;
        assert_eq!(s, 403, "org-admin: {m} {p}: {v}");
    }
    let (s, v) = call(
        &w,
        Method::PATCH,
        "/api/v1/users/alice",
        OLGA,
        Some(json!({"role": "reader"})),
    )
    .await;
    assert_eq!((s, &v["role"]), (200, &json!("reader")));
    let (s, v) = call(
        &w,
        Method::POST,
        "/api/v1/users/alice/tokens",
        OLGA,
        Some(json!({"read_only": true})),
    )
    .await;
    assert_eq!((s, &v["token"]["user"]), (201, &json!("alice")));
    let (s, g) = call(
        &w,
        Method::POST,
        "/api/v1/groups",
        OLGA,
        Some(json!({"name": "ours", "owner": a})),
    )
    .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap();
    assert_eq!(
        call(
            &w,
            Method::POST,
            &format!("/api/v1/groups/{gid}/members/{b}"),
            OLGA,
            None
        )
        .await
        .0,
        200
    );
    let (s, groups) = get(&w, "/api/v1/groups", OLGA).await;
    assert_eq!((s, groups.as_array().unwrap().len()), (200, 1));
    // A group owned by another organization.
    let (_, theirs) = call(
        &w,
        Method::POST,
        "/api/v1/groups",
        ADMIN,
        Some(json!({"name": "theirs", "owner": b})),
    )
    .await;
    let tid = theirs["id"].as_str().unwrap();
    assert_eq!(
        call(
            &w,
            Method::POST,
            &format!("/api/v1/groups/{tid}/members/{a}"),
            OLGA,
            None
        )
        .await
        .0,
        403
    );
    let (_, groups) = get(&w, "/api/v1/groups", OLGA).await;
    assert_eq!(
        groups.as_array().unwrap().len(),
        1,
        "only the groups it owns"
    );

    // The audit log names the org-admin as actor.
    let (_, audit) = get(&w, "/api/v1/audit?actor=olga", ADMIN).await;
    let acts: Vec<String> = actions(&audit)
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| !a.starts_with("auth."))
        .collect();
    assert_eq!(
        acts,
        [
            "user.create",
            "user.role",
            "token.create",
            "group.create",
            "group.add-member"
        ]
    );
    w.server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_precise_status_and_changes_nothing() {
    let w = world().await;
    make_olga(&w).await;
    let a = org_id(&w, "CERT-A").await;
    let b = org_id(&w, "CERT-B").await;
    let (_, g) = call(
        &w,
        Method::POST,
        "/api/v1/groups",
        ADMIN,
        Some(json!({"name": "kr", "owner": a})),
    )
    .await;
    let gid = g["id"].as_str().unwrap().to_string();
    call(
        &w,
        Method::PUT,
        "/api/v1/collections/{C_RW}/grants",
        ADMIN,
        Some(json!({"grantee": "community", "read": true})),
    )
    .await;
    let before = snapshot(&w).await;
    let ghost = uuid::Uuid::new_v4();
    let cases: Vec<(Method, String, Value, u16, &str)> = vec![
        (
            Method::POST,
            "/api/v1/nations".into(),
            json!({"code": "UK"}),
            422,
            "UK",
        ),
        (
            Method::POST,
            "/api/v1/nations".into(),
            json!({"code": "KR"}),
            409,
            "already a member",
        ),
        (
            Method::POST,
            "/api/v1/nations".into(),
            json!({"nation": "FR"}),
            422,
            "code",
        ),
        (
            Method::POST,
            "/api/v1/orgs".into(),
            json!({"name": "X", "nation": "FR"}),
            422,
            "not a member",
        ),
        (
            Method::POST,
            "/api/v1/orgs".into(),
            json!({"name": "X", "nation": "ZZZ"}),
            422,
            "ZZZ",
        ),
        (
            Method::POST,
            "/api/v1/orgs".into(),
            json!({"name": "X", "nation": "KR", "kind": "army"}),
            422,
            "army",
        ),
        (
            Method::POST,
            "/api/v1/orgs".into(),
            json!({"name": "X", "nation": "KR", "identity": "nope"}),
            422,
            "nope",
        ),
        (
            Method::POST,
            "/api/v1/orgs".into(),
            json!({"name": " ", "nation": "KR"}),
            422,
            "name",
        ),
        (
            Method::POST,
            "/api/v1/orgs".into(),
            json!({"name": "CERT-A", "nation": "KR"}),
            409,
            "CERT-A",
        ),
        (
            Method::PATCH,
            format!("/api/v1/orgs/{ghost}"),
            json!({"name": "Y"}),
            404,
            "no organization",
        ),
        (
            Method::PATCH,
            format!("/api/v1/orgs/{a}"),
            json!({"name": "CERT-B"}),
            409,
            "CERT-B",
        ),
        (
            Method::PATCH,
            format!("/api/v1/orgs/{a}"),
            json!({"name": "ok", "nation": "FR"}),
            422,
            "not a member",
        ),
        (
            Method::PATCH,
            "/api/v1/orgs/not-a-uuid".into(),
            json!({"name": "Y"}),
            400,
            "not-a-uuid",
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            json!({"name": "alice", "org": a}),
            409,
            "alice",
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            json!({"name": "x:y", "org": a}),
            422,
            "':'",
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            json!({"name": "zed", "org": ghost}),
            422,
            "no organization",
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            json!({"name": "zed", "org": a, "role": "king"}),
            422,
            "king",
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            json!({"name": "zed", "org": a, "password": "short"}),
            422,
            "12",
        ),
        (
            Method::PATCH,
            "/api/v1/users/nobody".into(),
            json!({"role": "reader"}),
            404,
            "nobody",
        ),
        (
            Method::PATCH,
            "/api/v1/users/alice".into(),
            json!({"role": "king", "disabled": true}),
            422,
            "king",
        ),
        (
            Method::PATCH,
            "/api/v1/users/alice".into(),
            json!({"disabled": "yes"}),
            422,
            "disabled",
        ),
        (
            Method::POST,
            "/api/v1/groups".into(),
            json!({"name": "kr", "owner": a}),
            409,
            "kr",
        ),
        (
            Method::POST,
            "/api/v1/groups".into(),
            json!({"name": "g2", "owner": ghost}),
            422,
            "no organization",
        ),
        (
            Method::POST,
            "/api/v1/groups".into(),
            json!({"name": "g2", "owner": a, "members": [ghost]}),
            422,
            "no organization",
        ),
        (
            Method::POST,
            format!("/api/v1/groups/{ghost}/members/{b}"),
            Value::Null,
            404,
            "no sharing group",
        ),
        (
            Method::POST,
            format!("/api/v1/groups/{gid}/members/{ghost}"),
            Value::Null,
            404,
            "no organization",
        ),
        (
            Method::POST,
            format!("/api/v1/groups/{gid}/members/{a}"),
            Value::Null,
            409,
            "already a member",
        ),
        (
            Method::DELETE,
            format!("/api/v1/groups/{gid}/members/{a}"),
            Value::Null,
            422,
            "owns",
        ),
        (
            Method::DELETE,
            format!("/api/v1/groups/{gid}/members/{b}"),
            Value::Null,
            404,
            "not a member",
        ),
        (
            Method::PUT,
            "/api/v1/collections/{C_RW}/grants".into(),
            json!({"grantee": "everyone", "read": true}),
            422,
            "everyone",
        ),
        (
            Method::PUT,
            "/api/v1/collections/{C_RW}/grants".into(),
            json!({"grantee": format!("org:{ghost}"), "read": true}),
            422,
            "no organization",
        ),
        (
            Method::PUT,
            "/api/v1/collections/{C_RW}/grants".into(),
            json!({"grantee": format!("group:{ghost}"), "read": true}),
            422,
            "no sharing group",
        ),
        (
            Method::PUT,
            "/api/v1/collections/{C_RW}/grants".into(),
            json!({"grantee": "nation:FR", "read": true}),
            422,
            "not a member",
        ),
        (
            Method::PUT,
            "/api/v1/collections/{C_RW}/grants".into(),
            json!({"grantee": "community"}),
            422,
            "read, write",
        ),
        (
            Method::PUT,
            format!("/api/v1/collections/{ghost}/grants"),
            json!({"grantee": "community", "read": true}),
            404,
            "no collection",
        ),
        (
            Method::DELETE,
            format!("/api/v1/collections/{{C_RW}}/grants?grantee=org:{b}"),
            Value::Null,
            404,
            "no grant",
        ),
        (
            Method::DELETE,
            "/api/v1/collections/{C_RW}/grants".into(),
            Value::Null,
            400,
            "grantee",
        ),
        (
            Method::PATCH,
            "/api/v1/collections/{C_RW}".into(),
            json!({"anonymous_read": true}),
            422,
            "clear",
        ),
        (
            Method::PATCH,
            "/api/v1/collections/{C_RW}".into(),
            json!({"default_tlp": "purple"}),
            422,
            "purple",
        ),
        (
            Method::PATCH,
            format!("/api/v1/collections/{ghost}"),
            json!({"default_tlp": "red"}),
            404,
            "no collection",
        ),
        (
            Method::POST,
            "/api/v1/users/alice/tokens".into(),
            json!({"collection": "nowhere"}),
            422,
            "nowhere",
        ),
        (
            Method::POST,
            "/api/v1/users/alice/tokens".into(),
            json!({"expires_in_days": 0}),
            422,
            "expires_in_days",
        ),
        (
            Method::POST,
            "/api/v1/users/nobody/tokens".into(),
            json!({}),
            404,
            "nobody",
        ),
        (
            Method::DELETE,
            format!("/api/v1/tokens/{ghost}"),
            Value::Null,
            404,
            "no token",
        ),
        (
            Method::GET,
            "/api/v1/audit?limit=0".into(),
            Value::Null,
            400,
            "limit",
        ),
        (
            Method::GET,
            "/api/v1/audit?since=yesterday".into(),
            Value::Null,
            400,
            "yesterday",
        ),
        (
            Method::PUT,
            "/api/v1/nations".into(),
            json!({"code": "FR"}),
            405,
            "method",
        ),
    ];
    for (m, p, body, want, says) in cases {
        let body = (!body.is_null()).then_some(body);
        let (s, v) = call(&w, m.clone(), &p, ADMIN, body).await;
        assert_eq!(s, want, "{m} {p}: {v}");
        let d = v["description"].as_str().unwrap();
        assert!(
            d.to_lowercase().contains(&says.to_lowercase()),
            "{m} {p}: {d:?} should mention {says:?}"
        );
    }
    // Malformed JSON and a wrong media type.
    let r = client()
        .post(w.server.url("/api/v1/nations"))
        .basic_auth("admin", Some("admin-pw"))
        .header("content-type", JSON)
        .body("{\"code\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["content-type"].to_str().unwrap()
        ),
        (400, JSON)
    );
    let r = client()
        .post(w.server.url("/api/v1/nations"))
        .basic_auth("admin", Some("admin-pw"))
        .body("{\"code\": \"FR\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["content-type"].to_str().unwrap()
        ),
        (415, JSON)
    );
    // Refused for lack of rights: also nothing changes.
    let (s, _) = call(
        &w,
        Method::PATCH,
        "/api/v1/users/admin",
        OLGA,
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(snapshot(&w).await, before);
    w.server.stop().await;
}

#[tokio::test]
async fn a_token_made_through_the_api_works_for_taxii_until_deleted() {
    let w = world().await;
    let (s, v) = call(
        &w,
        Method::POST,
        "/api/v1/users/alice/tokens",
        ALICE,
        Some(json!({"expires_in_days": 30})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let secret = v["secret"].as_str().unwrap().to_string();
    let id = v["token"]["id"].as_str().unwrap().to_string();
    assert!(v["token"]["expires"].is_string());
    let taxii = || {
        client()
            .get(
                w.server
                    .url(&w.expand("/taxii2/default/collections/{C_RW}/objects/")),
            )
            .header("Accept", T)
            .bearer_auth(&secret)
            .send()
    };
    assert_eq!(taxii().await.unwrap().status().as_u16(), 200);
    let r = client()
        .get(w.server.url("/api/v1/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!(
        (&me["user"], &me["credential"]["read_only"]),
        (&json!("alice"), &json!(false))
    );
    let (s, list) = get(&w, "/api/v1/users/alice/tokens", ALICE).await;
    assert_eq!(s, 200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str() && t["revoked"] == false)
    );
    assert!(
        list.to_string().find(&secret).is_none(),
        "secrets are shown once"
    );

    // A read-only, collection-scoped token made through the API: reads only, where scoped.
    let (s, v) = call(
        &w,
        Method::POST,
        "/api/v1/users/alice/tokens",
        ALICE,
        Some(json!({"read_only": true, "collection": "rw-alias"})),
    )
    .await;
    assert_eq!(
        (s, &v["token"]["collection"]),
        (201, &json!(w.vars["C_RW"]))
    );
    let ro = v["secret"].as_str().unwrap().to_string();
    let r = client()
        .post(w.server.url("/api/v1/users/alice/tokens"))
        .bearer_auth(&ro)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        403,
        "a read-only token makes no tokens"
    );
    let r = client()
        .get(
            w.server
                .url(&w.expand("/taxii2/default/collections/{C_RO}/objects/")),
        )
        .header("Accept", T)
        .bearer_auth(&ro)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404, "scoped to C_RW");

    // Someone else's token is not found for a reader; the admin may revoke anyone's.
    assert_eq!(
        call(
            &w,
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            BOB,
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(taxii().await.unwrap().status().as_u16(), 200);
    let (s, _) = call(
        &w,
        Method::DELETE,
        &format!("/api/v1/tokens/{id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(s, 204);
    let r = taxii().await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "revoked");
    assert_eq!(
        r.headers()["content-type"],
        T,
        "TAXII errors keep their media type"
    );
    let (s, v) = call(
        &w,
        Method::DELETE,
        &format!("/api/v1/tokens/{id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        (
            s,
            v["description"]
                .as_str()
                .unwrap()
                .contains("already revoked")
        ),
        (409, true)
    );
    let ro_id = get(&w, "/api/v1/users/alice/tokens", ALICE)
        .await
        .1
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["collection"] == w.vars["C_RW"].as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        call(
            &w,
            Method::DELETE,
            &format!("/api/v1/tokens/{ro_id}"),
            ADMIN,
            None
        )
        .await
        .0,
        204
    );

    let (_, audit) = get(&w, "/api/v1/audit?actor=alice", ADMIN).await;
    let acts: Vec<String> = actions(&audit)
        .into_iter()
        .map(|(_, a)| a)
        .filter(|a| a.starts_with("token."))
        .collect();
    assert_eq!(acts, ["token.create", "token.create", "token.revoke"]);
    w.server.stop().await;
}
