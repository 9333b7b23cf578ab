//! Two real nodes on loopback ("KR" and "US"), each with its own organizations, exchanging
//! over TAXII 2.1 both ways; what arrives is checked in each node's own database.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const TLP: [(&str, &str); 5] = [
    (
        "clear",
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    ),
    (
        "green",
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    ),
    (
        "amber",
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    ),
    (
        "amber-strict",
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    ),
    (
        "red",
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    ),
];

fn cairn(data: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cairn runs");
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// Run and require success; the last line of stdout.
fn ok(data: &Path, args: &[&str]) -> String {
    let out = cairn(data, args, None);
    assert!(
        out.status.success(),
        "cairn {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

struct Node {
    dir: PathBuf,
    child: Child,
    url: String,
    default_collection: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path) -> Node {
    ok(dir, &["init"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-sync"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("serve prints its URL").unwrap();
        if let Some(rest) = line.split(" at ").nth(1)
            && line.contains("serving TAXII")
        {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let default_collection = default_collection(dir);
    Node {
        dir: dir.to_path_buf(),
        child,
        url,
        default_collection,
    }
}

fn default_collection(dir: &Path) -> String {
    let out = cairn(dir, &["collection", "list"], None);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.lines()
        .find_map(|l| {
            l.split_whitespace()
                .find(|w| uuid::Uuid::parse_str(w).is_ok())
                .map(str::to_string)
        })
        .expect("a default collection")
}

fn indicator(name: &str, tlp: &str, n: usize) -> Value {
    let marking = TLP.iter().find(|(t, _)| *t == tlp).unwrap().1;
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes());
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--{id}"),
        "created": "2026-11-30T01:02:03.000Z",
        "modified": "2026-11-30T01:02:03.000Z",
        "name": name,
        "pattern": format!("[ipv4-addr:value = '10.{}.{}.{}']", (n >> 16) & 255, (n >> 8) & 255, n & 255),
        "pattern_type": "stix",
        "valid_from": "2026-11-30T00:00:00Z",
        "object_marking_refs": [marking],
    })
}

fn import(dir: &Path, collection: &str, objects: &[Value]) {
    let file = dir.join(format!("import-{}.json", uuid::Uuid::new_v4()));
    let bundle = json!({"type": "bundle", "id": format!("bundle--{}", uuid::Uuid::new_v4()), "objects": objects});
    std::fs::write(&file, bundle.to_string()).unwrap();
    ok(
        dir,
        &["import", "--collection", collection, file.to_str().unwrap()],
    );
}

/// The names of the indicators a node's database holds in `collection`, read from the
/// database itself (`cairn export` reads every version, whoever may see it), and the number
/// of versions.
fn names(dir: &Path, collection: &str) -> (BTreeSet<String>, usize) {
    let out = cairn(
        dir,
        &["export", "--collection", collection, "--all-versions"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle: Value = serde_json::from_slice(&out.stdout).unwrap();
    let objs: Vec<&Value> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "indicator")
        .collect();
    let set: BTreeSet<String> = objs
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect();
    (set, objs.len())
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// On `node`: an organization for the partner (its STIX identity), a `peer` account in it with
/// a token, and read+write on `collections`. Returns the token.
fn partner_account(
    node: &Node,
    org: &str,
    nation: &str,
    identity: &str,
    collections: &[&str],
) -> String {
    let dir = &node.dir;
    ok(dir, &["nation", "add", "KR", "US"]);
    ok(
        dir,
        &[
            "org",
            "create",
            "--name",
            org,
            "--nation",
            nation,
            "--identity",
            identity,
        ],
    );
    let user = format!("{}-sync", org.to_lowercase());
    ok(
        dir,
        &[
            "user", "create", "--name", &user, "--org", org, "--role", "peer",
        ],
    );
    for c in collections {
        ok(
            dir,
            &[
                "grant",
                "add",
                "--collection",
                c,
                "--org",
                org,
                "--read",
                "--write",
            ],
        );
    }
    ok(dir, &["token", "create", "--user", &user])
}

fn sync(dir: &Path) {
    let out = cairn(dir, &["sync"], None);
    assert!(
        out.status.success(),
        "sync failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const KR_ID: &str = "identity--0c7b5b88-8ff7-4a4d-aa9c-feb398cd0061";
const US_ID: &str = "identity--1d8c6c99-9008-4b5e-bbad-0fc4a9de1172";

#[test]
fn kr_and_us_exchange_exactly_what_each_releases() {
    let tmp = tempfile::tempdir().unwrap();
    let kr = start(&tmp.path().join("kr"));
    let us = start(&tmp.path().join("us"));
    let kr_only = ok(&kr.dir, &["collection", "create", "--title", "KR only"]);
    let kr_inbox = ok(
        &kr.dir,
        &["collection", "create", "--title", "From partners"],
    );
    // US-CERT reads and writes KR's default collection, writes KR's inbox; it has no grant on
    // "KR only". KR-CERT reads and writes US's default collection.
    let us_on_kr = partner_account(
        &kr,
        "US-CERT",
        "US",
        US_ID,
        &[&kr.default_collection, &kr_inbox],
    );
    let kr_on_us = partner_account(&us, "KR-CERT", "KR", KR_ID, &[&us.default_collection]);

    let mut kr_shared = Vec::new();
    let mut kr_private = Vec::new();
    let mut us_own = Vec::new();
    for (i, (tlp, _)) in TLP.iter().enumerate() {
        kr_shared.push(indicator(&format!("kr-shared-{tlp}"), tlp, i));
        kr_private.push(indicator(&format!("kr-only-{tlp}"), tlp, 10 + i));
        us_own.push(indicator(&format!("us-{tlp}"), tlp, 20 + i));
    }
    import(&kr.dir, &kr.default_collection, &kr_shared);
    import(&kr.dir, &kr_only, &kr_private);
    import(&us.dir, &us.default_collection, &us_own);

    // Each side's peer record stands for the partner's organization it already has.
    ok(
        &us.dir,
        &[
            "peer", "add", "kr", "--url", &kr.url, "--token", &us_on_kr, "--org", "KR-CERT",
        ],
    );
    ok(
        &kr.dir,
        &[
            "peer", "add", "us", "--url", &us.url, "--token", &kr_on_us, "--org", "US-CERT",
        ],
    );
    // A bad credential is refused when subscribing.
    let bad = cairn(
        &us.dir,
        &[
            "peer", "add", "kr-bad", "--url", &kr.url, "--token", "nope", "--org", "KR-CERT",
        ],
        None,
    );
    assert!(bad.status.success());
    let refused = cairn(
        &us.dir,
        &["peer", "pull", "kr-bad", "--remote", &kr.default_collection],
        None,
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    ok(&us.dir, &["peer", "remove", "kr-bad"]);

    ok(
        &us.dir,
        &["peer", "pull", "kr", "--remote", &kr.default_collection],
    );
    ok(
        &us.dir,
        &[
            "peer",
            "push",
            "kr",
            "--remote",
            &format!("{}default/collections/{}/", kr.url, kr_inbox),
        ],
    );
    ok(
        &kr.dir,
        &[
            "peer",
            "push",
            "us",
            "--remote",
            &us.default_collection,
            "--collection",
            &kr_only,
        ],
    );
    ok(
        &kr.dir,
        &["peer", "pull", "us", "--remote", &us.default_collection],
    );

    for _ in 0..2 {
        sync(&kr.dir);
        sync(&us.dir);
    }

    // US's database: its own five, what KR's default collection releases to US-CERT through
    // a peer account (CLEAR, GREEN, AMBER: US-CERT reads it), and what KR pushed out of "KR
    // only" (CLEAR, GREEN: US-CERT does not read that collection, so no AMBER).
    let (us_names, us_versions) = names(&us.dir, &us.default_collection);
    let expected_us = set(&[
        "us-clear",
        "us-green",
        "us-amber",
        "us-amber-strict",
        "us-red",
        "kr-shared-clear",
        "kr-shared-green",
        "kr-shared-amber",
        "kr-only-clear",
        "kr-only-green",
    ]);
    assert_eq!(us_names, expected_us);
    assert_eq!(us_versions, expected_us.len(), "no duplicate versions");
    // KR's default collection: its own five and what US releases to KR-CERT; nothing that
    // came from KR comes back.
    let (kr_names, kr_versions) = names(&kr.dir, &kr.default_collection);
    let expected_kr = set(&[
        "kr-shared-clear",
        "kr-shared-green",
        "kr-shared-amber",
        "kr-shared-amber-strict",
        "kr-shared-red",
        "us-clear",
        "us-green",
        "us-amber",
    ]);
    assert_eq!(kr_names, expected_kr);
    assert_eq!(kr_versions, expected_kr.len());
    // KR's inbox: what US pushed — its own releasable objects, none of KR's.
    let (inbox, _) = names(&kr.dir, &kr_inbox);
    assert_eq!(inbox, set(&["us-clear", "us-green", "us-amber"]));

    // Provenance, in US's own database: pulled versions name the peer, its organization and
    // the remote collection with its date_added; pushed ones the posting organization.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = cairn_store_sqlite::SqliteStore::open(&us.dir.join("cairn.db"))
            .await
            .unwrap();
        use cairn_store::Store;
        let peer = store.get_peer("kr").await.unwrap().unwrap();
        let coll: uuid::Uuid = us.default_collection.parse().unwrap();
        let pulled = indicator("kr-shared-amber", "amber", 2);
        let p = store
            .provenance(coll, pulled["id"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].peer, Some(peer.id));
        assert_eq!(p[0].origin_org, peer.org_id);
        assert_eq!(
            p[0].remote_collection.as_deref(),
            Some(kr.default_collection.as_str())
        );
        assert!(p[0].remote_date_added.is_some(), "{p:?}");
        let pushed = indicator("kr-only-clear", "clear", 10);
        let p = store
            .provenance(coll, pushed["id"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((p[0].peer, p[0].origin_org), (None, peer.org_id));
        let own = indicator("us-clear", "clear", 20);
        assert!(
            store
                .provenance(coll, own["id"].as_str().unwrap())
                .await
                .unwrap()
                .is_empty()
        );
        // The operator's counters: the pull stored 3 and the policy kept the rest back on the
        // sending side (a peer account never sees them); the push refused nothing it could
        // send and held back what came from KR.
        let subs = store.list_subscriptions().await.unwrap();
        for s in subs {
            let st = store.sync_state(s.id).await.unwrap();
            assert!(st.last_success.is_some() && st.failures == 0, "{st:?}");
            match s.direction {
                cairn_store::federation::Direction::Pull => {
                    assert_eq!((st.transferred, st.rejected), (3, 0), "{st:?}");
                }
                cairn_store::federation::Direction::Push => {
                    assert_eq!(st.transferred, 3, "{st:?}");
                    assert!(st.refused_by_policy >= 2 + 5, "{st:?}");
                }
            }
        }
    });

    // A new version of a released object reaches the peer on the next round.
    let mut v2 = kr_shared[0].clone();
    v2["modified"] = json!("2026-12-01T00:00:00.000Z");
    v2["description"] = json!("revised");
    import(&kr.dir, &kr.default_collection, &[v2]);
    sync(&us.dir);
    let (_, us_versions) = names(&us.dir, &us.default_collection);
    assert_eq!(us_versions, expected_us.len() + 1);

    // The operator's view.
    ok(&us.dir, &["peer", "show", "kr"]);
    let out = cairn(&us.dir, &["peer", "show", "kr", "--json"], None);
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["subscriptions"].as_array().unwrap().len(), 2);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(&us_on_kr),
        "the credential never shows"
    );
}

#[test]
fn kill_9_while_pulling_resumes_to_exactly_the_releasable_set() {
    let tmp = tempfile::tempdir().unwrap();
    let kr = start(&tmp.path().join("kr"));
    let us = start(&tmp.path().join("us"));
    let token = partner_account(&kr, "US-CERT", "US", US_ID, &[&kr.default_collection]);
    let mix = [
        "clear",
        "clear",
        "clear",
        "green",
        "green",
        "amber",
        "clear",
        "amber-strict",
        "clear",
        "red",
    ];
    let mut objects = Vec::new();
    let mut expected = BTreeSet::new();
    for n in 0..20_000 {
        let tlp = mix[n % mix.len()];
        let name = format!("bulk-{n}-{tlp}");
        if !matches!(tlp, "amber-strict" | "red") {
            expected.insert(name.clone());
        }
        objects.push(indicator(&name, tlp, n));
    }
    import(&kr.dir, &kr.default_collection, &objects);
    ok(
        &us.dir,
        &[
            "peer",
            "add",
            "kr",
            "--url",
            &kr.url,
            "--token",
            &token,
            "--nation",
            "KR",
            "--org-identity",
            KR_ID,
        ],
    );
    ok(
        &us.dir,
        &["peer", "pull", "kr", "--remote", &kr.default_collection],
    );

    // Kill the pulling process at pseudo-random moments, five times.
    let mut seed = 0x9e3779b97f4a7c15u64;
    for _ in 0..5 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .arg("--data-dir")
            .arg(&us.dir)
            .args(["sync", "--page-size", "250"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + seed % 900));
        // SIGKILL: no chance to clean up.
        let _ = child.kill();
        let _ = child.wait();
    }
    // The lease of a killed holder is taken over at once; the rest is pulled.
    sync(&us.dir);
    let (got, versions) = names(&us.dir, &us.default_collection);
    assert_eq!(versions, expected.len(), "no duplicate versions");
    assert_eq!(got, expected);
}

/// `cairn serve --sync-timeout` bounds every request of the background subscriptions: once a
/// peer accepts connections and never answers, the round fails within seconds (the default
/// would wait 60 s) and the failure is recorded in the subscription's state.
#[test]
fn serve_sync_timeout_bounds_each_request_to_a_silent_peer() {
    let tmp = tempfile::tempdir().unwrap();
    let kr = start(&tmp.path().join("kr"));
    let us = start(&tmp.path().join("us"));
    let us_on_kr = partner_account(&kr, "US-CERT", "US", US_ID, &[&kr.default_collection]);
    partner_account(&us, "KR-CERT", "KR", KR_ID, &[]);
    ok(
        &us.dir,
        &[
            "peer", "add", "kr", "--url", &kr.url, "--token", &us_on_kr, "--org", "KR-CERT",
        ],
    );
    ok(
        &us.dir,
        &["peer", "pull", "kr", "--remote", &kr.default_collection],
    );

    // KR goes away; on its port something accepts connections and never answers.
    let port: u16 = kr
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    drop(kr);
    let silent = std::net::TcpListener::bind(("127.0.0.1", port)).expect("KR's port is free");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming() {
            held.push(conn);
        }
    });

    let us_dir = us.dir.clone();
    drop(us);
    let mut serving = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("--data-dir")
        .arg(&us_dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--sync-timeout", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let failed = loop {
        let out = cairn(&us_dir, &["peer", "show", "kr", "--json"], None);
        assert!(out.status.success());
        let view: Value =
            serde_json::from_slice(&out.stdout).expect("peer show --json prints JSON");
        let state = &view["subscriptions"][0]["state"];
        if state["failures"].as_u64().unwrap_or(0) > 0 {
            break state.clone();
        }
        if started.elapsed() > Duration::from_secs(20) {
            break state.clone();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = serving.kill();
    let _ = serving.wait();
    assert!(
        failed["failures"].as_u64().unwrap_or(0) > 0,
        "no failure recorded within 20 s: {failed}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the round failed only after {:?}",
        started.elapsed()
    );
    let error = failed["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("127.0.0.1"), "{error}");
}
