//! The local node: a real SQLite store with one API root, one collection, this node's
//! organization and the peer's, the peer record (credential sealed) and subscriptions, all
//! created through the `Store` trait; and the engine that runs rounds against a [`Remote`].

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use cairn_store::{
    AddRequest, ApiRoot, Collection, Direction, Grant, Grantee, ObjectQuery, Organization, Origin,
    Peer, Record, Store, Subscription, SubscriptionFilter, SyncState, VersionFilter,
};
use cairn_store_sqlite::SqliteStore;
use cairn_sync::client::ClientConfig;
use cairn_sync::engine::EngineConfig;
use cairn_sync::{Credential, Engine, SecretBox};
use serde_json::Value;
use uuid::Uuid;

use crate::remote::{COLLECTION, Remote, TOKEN};

pub const ROOT: &str = "local";
pub const PEER: &str = "partner";
/// Responses larger than this are refused by the client.
pub const MAX_BODY: usize = 64 << 10;
pub const TIMEOUT: Duration = Duration::from_secs(2);

pub fn secrets() -> SecretBox {
    SecretBox::from_key(&[7u8; 32]).expect("a 32-byte key")
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The remote collection of `remote_objects.json`.
pub fn remote_objects() -> Vec<Value> {
    fixture("remote_objects.json").as_array().unwrap().clone()
}

pub fn config(page_size: usize) -> EngineConfig {
    EngineConfig {
        page_size,
        lease: Duration::from_secs(30),
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_secs(1),
        client: ClientConfig {
            timeout: TIMEOUT,
            connect_timeout: Duration::from_secs(1),
            max_body: MAX_BODY,
        },
        remote_dates: true,
    }
}

pub struct Local {
    pub store: Arc<dyn Store>,
    pub coll: Uuid,
    pub _own_org: Organization,
    pub peer_org: Organization,
    pub peer: Peer,
    _dir: tempfile::TempDir,
}

fn org(name: &str) -> Organization {
    Organization {
        id: Uuid::new_v4(),
        name: name.to_string(),
        identity_id: format!("identity--{}", Uuid::new_v4()),
        nation: Some("KR".to_string()),
        kind: "cert".to_string(),
    }
}

impl Local {
    /// A node that knows `remote` as a peer (in the community or not).
    pub async fn new(remote: &Remote, community: bool) -> Local {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("cairn.db"))
                .await
                .unwrap(),
        );
        store.add_nation("KR").await.unwrap();
        store
            .create_api_root(&ApiRoot {
                name: ROOT.to_string(),
                title: "Local".to_string(),
                description: None,
                max_content_length: 10 << 20,
                is_default: true,
            })
            .await
            .unwrap();
        let own_org = org("Local CERT");
        store.create_org(&own_org).await.unwrap();
        let peer_org = org("Partner CERT");
        store.create_org(&peer_org).await.unwrap();
        let coll = Uuid::new_v4();
        store
            .create_collection(&Collection::new(
                coll,
                ROOT,
                "Shared",
                None,
                None,
                cairn_sync::now_micros(),
            ))
            .await
            .unwrap();
        store
            .set_grant(&Grant {
                collection: coll,
                grantee: Grantee::Organization(own_org.id),
                can_read: true,
                can_write: true,
            })
            .await
            .unwrap();
        let peer = Peer {
            id: Uuid::new_v4(),
            name: PEER.to_string(),
            url: remote.discovery_url(),
            org_id: peer_org.id,
            community,
            credential: secrets()
                .seal(
                    PEER,
                    &Credential::Token {
                        token: TOKEN.to_string(),
                    },
                )
                .unwrap(),
            ca_cert: None,
            created: cairn_sync::now_micros(),
        };
        store.create_peer(&peer).await.unwrap();
        Local {
            store,
            coll,
            _own_org: own_org,
            peer_org,
            peer,
            _dir: dir,
        }
    }

    pub async fn subscribe(
        &self,
        remote: &Remote,
        direction: Direction,
        filter: SubscriptionFilter,
    ) -> Subscription {
        let sub = Subscription {
            id: Uuid::new_v4(),
            peer_id: self.peer.id,
            direction,
            local_collection: self.coll,
            remote_api_root: remote.api_root_url(),
            remote_collection: COLLECTION.to_string(),
            filter,
            interval_secs: 60,
            enabled: true,
            created: cairn_sync::now_micros(),
        };
        self.store.create_subscription(&sub).await.unwrap();
        sub
    }

    pub fn engine(&self, config: EngineConfig) -> Engine {
        Engine::new(self.store.clone(), Arc::new(secrets()), config)
    }

    pub async fn state(&self, sub: &Subscription) -> SyncState {
        self.store.sync_state(sub.id).await.unwrap()
    }

    /// Every stored version, in local date_added order.
    pub async fn versions(&self) -> Vec<Record> {
        self.store
            .query(&ObjectQuery {
                collection: self.coll,
                versions: VersionFilter {
                    all: true,
                    ..VersionFilter::default()
                },
                limit: 10_000,
                with_bodies: true,
                ..ObjectQuery::default()
            })
            .await
            .unwrap()
            .records
    }

    /// (id, version, body) of every stored version.
    pub async fn contents(&self) -> BTreeSet<(String, String, String)> {
        self.versions()
            .await
            .into_iter()
            .map(|r| (r.id, r.version, r.body.unwrap()))
            .collect()
    }

    /// Store `objects` locally (one request), coming from `origin` when given.
    pub async fn add(&self, objects: &[Value], origin: Option<Origin>) {
        let versions = objects
            .iter()
            .map(|o| {
                cairn_store::ingest::prepare_version(&serde_json::to_string(o).unwrap())
                    .unwrap_or_else(|e| panic!("{o}: {e:?}"))
            })
            .collect();
        let status = self
            .store
            .add_objects(AddRequest {
                api_root: ROOT.to_string(),
                collection: self.coll,
                status_id: Uuid::new_v4(),
                request_timestamp: cairn_sync::now_micros(),
                versions,
                rejected: Vec::new(),
                owner: None,
                audit: None,
                origin,
                sync: None,
            })
            .await
            .unwrap();
        assert!(status.failures.is_empty(), "{:?}", status.failures);
    }

    pub async fn grant_read(&self, grantee: Grantee) {
        self.store
            .set_grant(&Grant {
                collection: self.coll,
                grantee,
                can_read: true,
                can_write: false,
            })
            .await
            .unwrap();
    }
}
