//! A real server on 127.0.0.1:0 over a real SQLite store in a temporary directory, seeded with the
//! checklist fixture through the `Store` trait.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cairn_server::{ServerConfig, auth};
use cairn_stix::Timestamp;
use cairn_store::{
    AddRequest, ApiRoot, ApiToken, Collection, Grant, Grantee, NewVersion, ObjectQuery,
    Organization, Role, Store, User, VersionFilter,
};
use cairn_store_sqlite::SqliteStore;
use serde_json::Value;
use tokio::sync::oneshot;
use uuid::Uuid;

pub const T: &str = "application/taxii+json;version=2.1";
pub const ROOT: &str = "/taxii2/default";
pub const MAX_CONTENT_LENGTH: u64 = 65_536;

pub fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// A running server.
pub struct Server {
    pub base: String,
    pub store: Arc<SqliteStore>,
    pub db_path: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start(db_path: &Path, config: ServerConfig) -> Server {
        let store = Arc::new(SqliteStore::open(db_path).await.expect("open store"));
        Server::start_on(store, db_path, config).await
    }

    pub async fn start_on(store: Arc<SqliteStore>, db_path: &Path, config: ServerConfig) -> Server {
        let dyn_store: Arc<dyn Store> = store.clone();
        let app = cairn_server::router(dyn_store, config)
            .await
            .expect("build router");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(cairn_server::serve(listener, app, async {
            let _ = rx.await;
        }));
        Server {
            base: format!("http://{addr}"),
            store,
            db_path: db_path.to_path_buf(),
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stop serving and close the store.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
        self.store.close().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// The seeded world: placeholder names → values (collection ids, object ids, versions, tokens).
pub struct World {
    pub server: Server,
    pub vars: HashMap<String, String>,
    pub alice: Uuid,
    pub _dir: tempfile::TempDir,
}

pub fn test_config() -> ServerConfig {
    ServerConfig {
        title: "Cairn test".into(),
        description: Some("checklist fixture".into()),
        default_page_size: 4,
        max_page_size: 5,
        auth_failures: 1000,
        peer_secrets: Some(std::sync::Arc::new(
            cairn_sync::SecretBox::from_key(&[9u8; 32]).expect("a 32-byte key"),
        )),
    }
}

/// Build a `NewVersion` without the validator (so the fixture also holds a STIX 2.0 version).
pub fn new_version(obj: &Value) -> NewVersion {
    let s = |k: &str| obj.get(k).and_then(Value::as_str);
    let has_ts = s("created").is_some() || s("modified").is_some();
    let spec = s("spec_version")
        .map(str::to_string)
        .unwrap_or_else(|| if has_ts { "2.0".into() } else { "2.1".into() });
    let version = s("modified").or_else(|| s("created"));
    NewVersion {
        id: s("id").expect("id").to_string(),
        type_: s("type").expect("type").to_string(),
        spec_version: spec,
        version: version.map(str::to_string),
        version_key: version.map(|v| Timestamp::parse(v).expect("fixture timestamp").sort_key()),
        body: obj.to_string(),
        labels: cairn_policy::ObjectLabels::from_object(obj),
        marking: None,
    }
}

pub async fn add(store: &dyn Store, coll: Uuid, objs: &[&Value]) -> cairn_store::Status {
    store
        .add_objects(AddRequest {
            api_root: "default".into(),
            collection: coll,
            status_id: Uuid::new_v4(),
            request_timestamp: 0,
            versions: objs.iter().map(|o| new_version(o)).collect(),
            rejected: vec![],
            owner: None,
            audit: None,
            origin: None,
            sync: None,
        })
        .await
        .expect("seed add")
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

pub async fn world() -> World {
    world_with(test_config()).await
}

pub async fn world_with(config: ServerConfig) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("cairn.db");
    let store = Arc::new(SqliteStore::open(&db).await.expect("open store"));
    let s: &dyn Store = store.as_ref();
    let mut vars: HashMap<String, String> = HashMap::new();

    for (name, is_default) in [("default", true), ("other", false)] {
        s.create_api_root(&ApiRoot {
            name: name.into(),
            title: format!("{name} root"),
            description: Some(format!("the {name} API root")),
            max_content_length: MAX_CONTENT_LENGTH,
            is_default,
        })
        .await
        .expect("root");
    }
    s.add_nation("KR").await.expect("nation");
    let org_a = Organization {
        id: Uuid::new_v4(),
        name: "CERT-A".into(),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        nation: Some("KR".into()),
        kind: "cert".into(),
    };
    let org_b = Organization {
        id: Uuid::new_v4(),
        name: "CERT-B".into(),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        nation: Some("KR".into()),
        kind: "cert".into(),
    };
    s.create_org(&org_a).await.expect("org");
    s.create_org(&org_b).await.expect("org");

    let mut users = HashMap::new();
    for (name, org, role, disabled) in [
        ("alice", org_a.id, Role::Analyst, false),
        ("admin", org_b.id, Role::Admin, false),
        ("bob", org_b.id, Role::Reader, false),
        ("carol", org_a.id, Role::Analyst, true),
    ] {
        let u = User {
            id: Uuid::new_v4(),
            name: name.into(),
            org_id: org,
            role,
            password_hash: Some(auth::hash_password(&format!("{name}-pw"))),
            disabled,
            credential_epoch: 0,
        };
        s.create_user(&u).await.expect("user");
        users.insert(name, u.id);
    }
    let now = now_micros();
    for (var, read_only, revoked, expires) in [
        ("TOKEN", false, false, None),
        ("TOKEN_RO", true, false, None),
        ("TOKEN_REVOKED", false, true, None),
        ("TOKEN_EXPIRED", false, false, Some(now - 1_000_000)),
    ] {
        let (secret, hash) = auth::generate_token();
        let t = ApiToken {
            id: Uuid::new_v4(),
            user_id: users["alice"],
            secret_hash: hash,
            created: now,
            expires,
            revoked: false,
            read_only,
            collection: None,
        };
        s.create_token(&t).await.expect("token");
        if revoked {
            s.revoke_token(t.id).await.expect("revoke");
        }
        vars.insert(var.into(), secret);
    }

    let mut colls = Vec::new();
    for (var, title, alias, rights) in [
        ("C_RW", "read-write", Some("rw-alias"), Some((true, true))),
        ("C_RO", "read-only", None, Some((true, false))),
        ("C_WO", "write-only", None, Some((false, true))),
        ("C_NONE", "no access", None, Some((false, false))),
        ("C_HIDDEN", "no grant", None, None),
        ("C_SCRATCH", "scratch", None, Some((true, true))),
    ] {
        let c = Collection::new(
            Uuid::new_v4(),
            "default",
            title,
            Some(&format!("{title} collection")),
            alias,
            now,
        );
        s.create_collection(&c).await.expect("collection");
        if let Some((r, w)) = rights {
            s.set_grant(&Grant {
                collection: c.id,
                grantee: Grantee::Organization(org_a.id),
                can_read: r,
                can_write: w,
            })
            .await
            .expect("grant");
        }
        vars.insert(var.into(), c.id.to_string());
        colls.push(c.id);
    }
    let other = Collection::new(Uuid::new_v4(), "other", "other root's", None, None, now);
    s.create_collection(&other).await.expect("collection");
    vars.insert("C_OTHER".into(), other.id.to_string());

    let c_rw: Uuid = vars["C_RW"].parse().unwrap();
    let c_scratch: Uuid = vars["C_SCRATCH"].parse().unwrap();
    let fx: Value = serde_json::from_str(&fixture("objects.json")).expect("objects.json");
    let mut names = Vec::new();
    for group in fx["adds"].as_array().expect("adds") {
        let objs: Vec<&Value> = group
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["object"])
            .collect();
        let st = add(s, c_rw, &objs).await;
        vars.entry("STATUS".into()).or_insert(st.id.to_string());
        for e in group.as_array().unwrap() {
            names.push((e["name"].as_str().unwrap().to_string(), e["object"].clone()));
        }
    }
    for e in fx["scratch"].as_array().expect("scratch") {
        add(s, c_scratch, &[&e["object"]]).await;
        names.push((e["name"].as_str().unwrap().to_string(), e["object"].clone()));
    }
    for (name, obj) in &names {
        let id = obj["id"].as_str().unwrap().to_string();
        let version = obj
            .get("modified")
            .or_else(|| obj.get("created"))
            .and_then(Value::as_str)
            .map(str::to_string);
        // Object placeholders: I1..I3 share id I; M20/M21 share M.
        let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
        let base = if base.is_empty() { name.as_str() } else { base };
        vars.insert(base.to_string(), id.clone());
        if let Some(v) = version {
            vars.insert(format!("v_{name}"), v);
        }
    }
    // The SCO's version is its first date_added; date_added of every seeded version.
    let page = s
        .query(&ObjectQuery {
            collection: c_rw,
            versions: VersionFilter {
                all: true,
                ..Default::default()
            },
            spec_versions: vec!["2.0".into(), "2.1".into()],
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("query");
    for r in &page.records {
        let name = names
            .iter()
            .find(|(_, o)| {
                o["id"] == r.id.as_str()
                    && o.get("modified")
                        .or_else(|| o.get("created"))
                        .and_then(Value::as_str)
                        .is_none_or(|v| v == r.version)
            })
            .map(|(n, _)| n.clone())
            .expect("seeded record");
        let d = Timestamp::format_micros(r.date_added);
        vars.insert(format!("d_{name}_plus"), d.replace('Z', "%2B00:00"));
        vars.insert(format!("d_{name}"), d);
        if name == "SCO" {
            vars.insert("v_SCO".into(), r.version.clone());
        }
    }
    // m2 written with 6 fraction digits (same instant).
    vars.insert("v_I2_6".into(), "2016-12-25T12:30:59.444000Z".into());
    vars.insert("ROOT".into(), ROOT.into());

    let alice = users["alice"];
    let server = Server::start_on(store, &db, config).await;
    World {
        server,
        vars,
        alice,
        _dir: dir,
    }
}

impl World {
    /// Replace `{NAME}` placeholders.
    pub fn expand(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            match after.find('}') {
                Some(j) if self.vars.contains_key(&after[..j]) => {
                    out.push_str(&self.vars[&after[..j]]);
                    rest = &after[j + 1..];
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// GET with Accept: T and alice's Basic credentials.
pub async fn get(w: &World, path: &str) -> reqwest::Response {
    client()
        .get(w.server.url(&w.expand(path)))
        .header("Accept", T)
        .basic_auth("alice", Some("alice-pw"))
        .send()
        .await
        .expect("request")
}

pub async fn get_json(w: &World, path: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = get(w, path).await;
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("GET {path}: body is not JSON ({e}): {text}"))
    };
    (status, headers, v)
}

pub async fn post(w: &World, path: &str, body: String) -> (u16, Value) {
    let r = client()
        .post(w.server.url(&w.expand(path)))
        .header("Accept", T)
        .header("Content-Type", T)
        .basic_auth("alice", Some("alice-pw"))
        .body(body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
