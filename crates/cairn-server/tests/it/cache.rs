//! The server keeps users, tokens, principals, collections and channels between requests under
//! the store's policy epoch. Every change that decides what a caller may see or do takes effect
//! on the very next request: each scenario first reads successfully (so the cache holds the
//! caller and the collection), changes one thing, and checks the next request. Each runs twice:
//! the change made through the server's own store (as the REST API makes it) and through a
//! second store opened on the same file (as `cairn` commands in another process make it).

use std::sync::Arc;

use cairn_policy::Tlp;
use cairn_server::auth;
use cairn_store::{
    ApiRoot, ApiToken, Collection, Grant, Grantee, Organization, Role, SharingGroup, Store, User,
};
use cairn_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{MAX_CONTENT_LENGTH, ROOT, Server, T, client, test_config};

struct World {
    server: Server,
    /// Where changes are made: the server's own store, or another store on the same file.
    changer: Arc<SqliteStore>,
    orgs: Vec<Organization>,
    group: SharingGroup,
    users: Vec<User>,
    /// Collections: 0 granted to org A (read/write) and the group (read); 1 granted to nation FR.
    colls: [Uuid; 2],
    /// A token of user `a`.
    token: (Uuid, String),
    _dir: tempfile::TempDir,
}

fn org(name: &str, nation: &str) -> Organization {
    Organization {
        id: Uuid::new_v4(),
        name: name.into(),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        nation: Some(nation.into()),
        kind: "cert".into(),
    }
}

async fn world(other_store: bool) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("cairn.db");
    let store = Arc::new(SqliteStore::open(&db).await.expect("store"));
    let s: &dyn Store = store.as_ref();
    s.create_api_root(&ApiRoot {
        name: "default".into(),
        title: "default".into(),
        description: None,
        max_content_length: MAX_CONTENT_LENGTH,
        is_default: true,
    })
    .await
    .unwrap();
    for n in ["FR", "DE"] {
        s.add_nation(n).await.unwrap();
    }
    // A (FR) owns the group, B (DE) is its member, C (FR) reads through its nation.
    let orgs = vec![org("A", "FR"), org("B", "DE"), org("C", "FR")];
    for o in &orgs {
        s.create_org(o).await.unwrap();
    }
    let group = SharingGroup {
        id: Uuid::new_v4(),
        name: "G".into(),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        owner: orgs[0].id,
        members: vec![orgs[0].id, orgs[1].id],
    };
    s.create_group(&group).await.unwrap();
    let mut users = Vec::new();
    for (name, o, role) in [
        ("a", 0, Role::Analyst),
        ("b", 1, Role::Reader),
        ("c", 2, Role::Reader),
    ] {
        let u = User {
            id: Uuid::new_v4(),
            name: name.into(),
            org_id: orgs[o].id,
            role,
            password_hash: Some(auth::hash_password(&format!("{name}-password"))),
            disabled: false,
            credential_epoch: 0,
        };
        s.create_user(&u).await.unwrap();
        users.push(u);
    }
    let mut colls = [Uuid::nil(); 2];
    for (i, grants) in [
        vec![
            (Grantee::Organization(orgs[0].id), true, true),
            (Grantee::SharingGroup(group.id), true, false),
        ],
        vec![
            (Grantee::Organization(orgs[0].id), true, true),
            (Grantee::Nation("FR".into()), true, false),
        ],
    ]
    .into_iter()
    .enumerate()
    {
        let c = Collection::new(Uuid::new_v4(), "default", &format!("c{i}"), None, None, 1);
        s.create_collection(&c).await.unwrap();
        for (grantee, can_read, can_write) in grants {
            s.set_grant(&Grant {
                collection: c.id,
                grantee,
                can_read,
                can_write,
            })
            .await
            .unwrap();
        }
        colls[i] = c.id;
    }
    let (secret, hash) = auth::generate_token();
    let token_id = Uuid::new_v4();
    s.create_token(&ApiToken {
        id: token_id,
        user_id: users[0].id,
        secret_hash: hash,
        created: 1,
        expires: None,
        revoked: false,
        read_only: false,
        collection: None,
    })
    .await
    .unwrap();
    let changer = if other_store {
        Arc::new(SqliteStore::open(&db).await.expect("second store"))
    } else {
        store.clone()
    };
    let server = Server::start_on(store, &db, test_config()).await;
    let w = World {
        server,
        changer,
        orgs,
        group,
        users,
        colls,
        token: (token_id, secret),
        _dir: dir,
    };
    // One TLP:GREEN indicator by A in each collection.
    for coll in w.colls {
        let obj = json!({
            "type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--{}", Uuid::new_v4()),
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
            "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z",
            "object_marking_refs": [Tlp::Green.marking_id()],
        });
        let r = w.post("a", coll, &obj).await;
        assert_eq!(r, 202, "seed post");
    }
    w
}

enum As<'a> {
    Basic(&'a str, &'a str),
    Token(&'a str),
}

impl World {
    async fn get(&self, who: As<'_>, coll: Uuid) -> (u16, usize) {
        let req = client()
            .get(
                self.server
                    .url(&format!("{ROOT}/collections/{coll}/objects/")),
            )
            .header("Accept", T);
        let req = match who {
            As::Basic(u, pw) => req.basic_auth(u, Some(pw)),
            As::Token(t) => req.bearer_auth(t),
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let n = body
            .get("objects")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        (status, n)
    }

    async fn read(&self, user: &str, coll: Uuid) -> (u16, usize) {
        let pw = format!("{user}-password");
        self.get(As::Basic(user, &pw), coll).await
    }

    async fn post(&self, user: &str, coll: Uuid, obj: &Value) -> u16 {
        client()
            .post(
                self.server
                    .url(&format!("{ROOT}/collections/{coll}/objects/")),
            )
            .basic_auth(user, Some(format!("{user}-password")))
            .header("Accept", T)
            .header("Content-Type", T)
            .json(&json!({ "objects": [obj] }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    fn changer(&self) -> &dyn Store {
        self.changer.as_ref()
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

/// Both ways of changing the store.
const WAYS: [bool; 2] = [false, true];

#[tokio::test]
async fn a_removed_grant_hides_the_collection_on_the_next_request() {
    for other in WAYS {
        let w = world(other).await;
        for _ in 0..3 {
            assert_eq!(w.read("b", w.colls[0]).await, (200, 1), "b reads through G");
        }
        w.changer()
            .set_grant(&Grant {
                collection: w.colls[0],
                grantee: Grantee::SharingGroup(w.group.id),
                can_read: false,
                can_write: false,
            })
            .await
            .unwrap();
        assert_eq!(w.read("b", w.colls[0]).await.0, 404, "other store: {other}");
        w.stop().await;
    }
}

#[tokio::test]
async fn a_group_member_removed_loses_the_group_grant_on_the_next_request() {
    for other in WAYS {
        let w = world(other).await;
        for _ in 0..3 {
            assert_eq!(w.read("b", w.colls[0]).await, (200, 1));
        }
        w.changer()
            .set_group_member(w.group.id, w.orgs[1].id, false)
            .await
            .unwrap();
        assert_eq!(w.read("b", w.colls[0]).await.0, 404, "other store: {other}");
        // And back.
        w.changer()
            .set_group_member(w.group.id, w.orgs[1].id, true)
            .await
            .unwrap();
        assert_eq!(
            w.read("b", w.colls[0]).await,
            (200, 1),
            "other store: {other}"
        );
        w.stop().await;
    }
}

#[tokio::test]
async fn an_organization_moved_to_another_nation_loses_the_nation_grant_on_the_next_request() {
    for other in WAYS {
        let w = world(other).await;
        for _ in 0..3 {
            assert_eq!(
                w.read("c", w.colls[1]).await,
                (200, 1),
                "c reads through FR"
            );
        }
        let mut moved = w.orgs[2].clone();
        moved.nation = Some("DE".into());
        w.changer().update_org(&moved).await.unwrap();
        assert_eq!(w.read("c", w.colls[1]).await.0, 404, "other store: {other}");
        // And an organization moved into the nation gains it.
        let mut b = w.orgs[1].clone();
        assert_eq!(w.read("b", w.colls[1]).await.0, 404);
        b.nation = Some("FR".into());
        w.changer().update_org(&b).await.unwrap();
        assert_eq!(
            w.read("b", w.colls[1]).await,
            (200, 1),
            "other store: {other}"
        );
        w.stop().await;
    }
}

#[tokio::test]
async fn a_revoked_token_fails_on_the_next_request() {
    for other in WAYS {
        let w = world(other).await;
        let secret = w.token.1.clone();
        for _ in 0..3 {
            assert_eq!(w.get(As::Token(&secret), w.colls[0]).await, (200, 1));
        }
        w.changer().revoke_token(w.token.0).await.unwrap();
        assert_eq!(
            w.get(As::Token(&secret), w.colls[0]).await.0,
            401,
            "other store: {other}"
        );
        w.stop().await;
    }
}

#[tokio::test]
async fn a_changed_password_fails_on_the_next_request() {
    for other in WAYS {
        let w = world(other).await;
        for _ in 0..3 {
            assert_eq!(w.read("b", w.colls[0]).await, (200, 1));
        }
        w.changer()
            .set_password(w.users[1].id, &auth::hash_password("a new password"))
            .await
            .unwrap();
        assert_eq!(w.read("b", w.colls[0]).await.0, 401, "other store: {other}");
        assert_eq!(
            w.get(As::Basic("b", "a new password"), w.colls[0]).await,
            (200, 1),
            "other store: {other}"
        );
        w.stop().await;
    }
}

#[tokio::test]
async fn a_disabled_user_and_a_changed_role_apply_on_the_next_request() {
    for other in WAYS {
        let w = world(other).await;
        let obj = |n: u32| {
            json!({
                "type": "indicator", "spec_version": "2.1",
                "id": format!("indicator--{}", Uuid::new_v4()),
                "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
                "name": format!("n{n}"),
                "pattern": "[ipv4-addr:value = '198.51.100.8']", "pattern_type": "stix",
                "valid_from": "2024-01-01T00:00:00Z"
            })
        };
        assert_eq!(w.post("a", w.colls[0], &obj(1)).await, 202);
        w.changer()
            .update_user(w.users[0].id, Role::Reader, false)
            .await
            .unwrap();
        assert_eq!(
            w.post("a", w.colls[0], &obj(2)).await,
            403,
            "a reader may not write; other store: {other}"
        );
        assert_eq!(w.read("a", w.colls[0]).await.0, 200);
        w.changer()
            .update_user(w.users[0].id, Role::Reader, true)
            .await
            .unwrap();
        assert_eq!(w.read("a", w.colls[0]).await.0, 401, "other store: {other}");
        w.stop().await;
    }
}

#[tokio::test]
async fn a_collection_policy_change_applies_on_the_next_request() {
    for other in WAYS {
        let w = world(other).await;
        // An unmarked object in collection 0 is AMBER by default: A sees it, and so does B.
        let unmarked = json!({
            "type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--{}", Uuid::new_v4()),
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
            "created_by_ref": w.orgs[0].identity_id,
            "pattern": "[ipv4-addr:value = '198.51.100.9']", "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z"
        });
        assert_eq!(w.post("a", w.colls[0], &unmarked).await, 202);
        for _ in 0..3 {
            assert_eq!(w.read("b", w.colls[0]).await, (200, 2));
        }
        // Default RED: only the creator (A) still sees the unmarked object.
        w.changer()
            .set_collection_policy(w.colls[0], Tlp::Red, false)
            .await
            .unwrap();
        assert_eq!(
            w.read("b", w.colls[0]).await,
            (200, 1),
            "other store: {other}"
        );
        assert_eq!(
            w.read("a", w.colls[0]).await,
            (200, 2),
            "other store: {other}"
        );
        w.stop().await;
    }
}
