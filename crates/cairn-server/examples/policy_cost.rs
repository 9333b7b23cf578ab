//! The cost of the sharing policy on TAXII reads: a collection of N objects (default 100,000),
//! half TLP:RED created by organization A, half TLP:GREEN; A's analyst sees all of them, B's
//! analyst (a community read grant) sees half. Both page through `objects/` over real HTTP
//! (limit 1000) against the same server; the output is objects/s per reader and their ratio.
//!
//! `cargo run --release -p cairn-server --example policy_cost -- [N] [RUNS]`

use std::sync::Arc;
use std::time::Instant;

use cairn_policy::{ObjectLabels, Tlp};
use cairn_server::{ServerConfig, auth};
use cairn_store::{
    AddRequest, ApiRoot, Collection, Grant, Grantee, NewVersion, Organization, Role, Store, User,
};
use cairn_store_sqlite::SqliteStore;
use serde_json::Value;
use uuid::Uuid;

const T: &str = "application/taxii+json;version=2.1";

fn object(n: usize, red: bool, creator: &str) -> NewVersion {
    let id = format!(
        "indicator--{}",
        Uuid::new_v5(&Uuid::NAMESPACE_OID, &n.to_le_bytes())
    );
    let marking = if red { Tlp::Red } else { Tlp::Green }.marking_id();
    let body = format!(
        concat!(
            r#"{{"type":"indicator","spec_version":"2.1","id":"{id}","created_by_ref":"{creator}","#,
            r#""created":"2024-03-01T10:00:00.000Z","modified":"2024-03-01T10:00:00.000Z","#,
            r#""name":"C2 server {n}","description":"Command and control address seen in the "#,
            r#"campaign; block at the perimeter and report sightings.","#,
            r#""indicator_types":["malicious-activity"],"#,
            r#""pattern":"[ipv4-addr:value = '198.51.{a}.{b}']","pattern_type":"stix","#,
            r#""valid_from":"2024-03-01T10:00:00Z","object_marking_refs":["{marking}"]}}"#
        ),
        id = id,
        creator = creator,
        n = n,
        a = (n / 256) % 256,
        b = n % 256,
        marking = marking,
    );
    let v: Value = serde_json::from_str(&body).expect("object");
    NewVersion {
        id,
        type_: "indicator".into(),
        spec_version: "2.1".into(),
        version: Some("2024-03-01T10:00:00.000Z".into()),
        version_key: Some(
            cairn_stix::Timestamp::parse("2024-03-01T10:00:00.000Z")
                .expect("ts")
                .sort_key(),
        ),
        body,
        labels: ObjectLabels::from_object(&v),
        marking: None,
    }
}

async fn read_all(client: &reqwest::Client, base: &str, user: &str) -> (usize, f64) {
    let started = Instant::now();
    let mut n = 0;
    let mut next: Option<String> = None;
    loop {
        let mut url = format!("{base}objects/?limit=1000");
        if let Some(t) = &next {
            url.push_str("&next=");
            url.push_str(t);
        }
        let resp = client
            .get(&url)
            .header("Accept", T)
            .basic_auth(user, Some(format!("{user}-password")))
            .send()
            .await
            .expect("request");
        assert!(resp.status().is_success(), "{user}: {}", resp.status());
        let page: Value = resp.json().await.expect("json");
        n += page["objects"].as_array().map_or(0, Vec::len);
        match page["next"].as_str() {
            Some(t) if page["more"] == true => next = Some(t.to_string()),
            _ => break,
        }
    }
    (n, started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open_in(dir.path()).await.expect("store"));
    store
        .create_api_root(&ApiRoot {
            name: "default".into(),
            title: "default".into(),
            description: None,
            max_content_length: 64 << 20,
            is_default: true,
        })
        .await
        .expect("root");
    store.add_nation("KR").await.expect("nation");
    let mut users = Vec::new();
    let mut identities = Vec::new();
    for name in ["a", "b"] {
        let identity = format!("identity--{}", Uuid::new_v4());
        let org = Organization {
            id: Uuid::new_v4(),
            name: format!("org-{name}"),
            identity_id: identity.clone(),
            nation: Some("KR".into()),
            kind: "cert".into(),
        };
        store.create_org(&org).await.expect("org");
        let user = User {
            id: Uuid::new_v4(),
            name: format!("analyst-{name}"),
            org_id: org.id,
            role: Role::Analyst,
            password_hash: Some(auth::hash_password(&format!("analyst-{name}-password"))),
            disabled: false,
            credential_epoch: 0,
        };
        store.create_user(&user).await.expect("user");
        users.push(user.name);
        identities.push(identity);
    }
    let coll = Collection::new(Uuid::new_v4(), "default", "bench", None, None, 0);
    store.create_collection(&coll).await.expect("collection");
    store
        .set_grant(&Grant {
            collection: coll.id,
            grantee: Grantee::Community,
            can_read: true,
            can_write: true,
        })
        .await
        .expect("grant");
    let started = Instant::now();
    for chunk in (0..total).collect::<Vec<_>>().chunks(1000) {
        let versions = chunk
            .iter()
            .map(|n| object(*n, n % 2 == 0, &identities[0]))
            .collect();
        store
            .add_objects(AddRequest {
                api_root: "default".into(),
                collection: coll.id,
                status_id: Uuid::new_v4(),
                request_timestamp: 0,
                versions,
                rejected: vec![],
                owner: None,
                audit: None,
                origin: None,
                sync: None,
            })
            .await
            .expect("add");
    }
    eprintln!(
        "loaded {total} objects in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let dyn_store: Arc<dyn Store> = store.clone();
    let app = cairn_server::router(dyn_store, ServerConfig::default())
        .await
        .expect("router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(cairn_server::serve(listener, app, std::future::pending()));
    let base = format!("http://{addr}/taxii2/default/collections/{}/", coll.id);
    let client = reqwest::Client::new();
    let mut best = [f64::MAX, f64::MAX];
    let mut counts = [0, 0];
    for _ in 0..runs {
        for (i, user) in users.iter().enumerate() {
            let (n, secs) = read_all(&client, &base, user).await;
            counts[i] = n;
            best[i] = best[i].min(secs);
        }
    }
    let rate = |i: usize| counts[i] as f64 / best[i];
    println!("| reader | objects seen | best of {runs} | objects/s |");
    println!("|---|---|---|---|");
    println!(
        "| A (creator: sees all) | {} | {:.2} s | {:.0} |",
        counts[0],
        best[0],
        rate(0)
    );
    println!(
        "| B (sees half) | {} | {:.2} s | {:.0} |",
        counts[1],
        best[1],
        rate(1)
    );
    println!(
        "A / B throughput: {:.2}x (target: within 1.5x)",
        rate(0) / rate(1)
    );
    assert_eq!(counts[0], total, "A sees every object");
    assert_eq!(counts[1], total / 2, "B sees the GREEN half");
}
