//! Integration tests of the SQLite backend: the shared conformance suite plus SQLite-specific
//! durability and concurrency checks.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use cairn_store::conformance::{self, Fixture};
use cairn_store::{ObjectQuery, Store, VersionFilter};
use cairn_store_sqlite::{DB_FILE_NAME, SqliteStore};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/cairn.db");
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(path.is_file(), "open creates the file and its directories");
    conformance::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let snap = {
        let store = SqliteStore::open_in(dir.path()).await.unwrap();
        let snap = conformance::populate_durable(&store).await;
        store.close().await;
        snap
    };
    assert!(dir.path().join(DB_FILE_NAME).is_file());
    let store = SqliteStore::open_in(dir.path()).await.unwrap();
    conformance::verify_durable(&store, &snap).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_write_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = SqliteStore::open(&path).await.unwrap();
    let b = SqliteStore::open(&path).await.unwrap();
    conformance::run_shared(&a, &b).await;
}

/// Environment variables that turn this test binary into the writer child of
/// [`kill_9_keeps_acknowledged_writes`].
const CHILD_DB: &str = "CAIRN_SQLITE_TEST_CHILD_DB";
const CHILD_ROOT: &str = "CAIRN_SQLITE_TEST_CHILD_ROOT";
const CHILD_COLLECTION: &str = "CAIRN_SQLITE_TEST_CHILD_COLLECTION";

/// How many acknowledged requests the parent waits for before killing the child.
const ACKS_BEFORE_KILL: usize = 25;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Child: add objects forever, printing `ACK <status> <id> <version>` after each acknowledged
/// write. Parent: wait for some acknowledgements, kill -9 the child, reopen the file and check
/// that every acknowledged version and status is there.
#[test]
fn kill_9_keeps_acknowledged_writes() {
    if let Ok(db) = std::env::var(CHILD_DB) {
        runtime().block_on(child_writer(Path::new(&db)));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("killed.db");
    let fixture = runtime().block_on(async {
        let s = SqliteStore::open(&db).await.unwrap();
        let f = Fixture::new(&s, "kill9").await;
        s.close().await;
        f
    });

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["kill_9_keeps_acknowledged_writes", "--exact", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_DB, &db)
        .env(CHILD_ROOT, &fixture.root)
        .env(CHILD_COLLECTION, fixture.collection.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked: Vec<(Uuid, String, String)> = Vec::new();
    let mut statuses = std::collections::BTreeSet::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let Some(rest) = line.strip_prefix("ACK ") else {
            continue;
        };
        let mut parts = rest.split(' ');
        let (Some(st), Some(id), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
            panic!("bad ack line {line:?}");
        };
        let st = Uuid::parse_str(st).unwrap();
        statuses.insert(st);
        acked.push((st, id.to_string(), version.to_string()));
        if statuses.len() >= ACKS_BEFORE_KILL {
            // SIGKILL: no destructor, no checkpoint, possibly in the middle of a transaction.
            child.kill().unwrap();
            break;
        }
    }
    let exit = child.wait().unwrap();
    assert!(
        !exit.success(),
        "the writer was killed, not finished: {exit:?}"
    );
    assert!(
        statuses.len() >= ACKS_BEFORE_KILL,
        "the child acknowledged too few writes"
    );

    runtime().block_on(async {
        let s = SqliteStore::open(&db).await.unwrap();
        for st in &statuses {
            let status = s
                .get_status(&fixture.root, *st)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("acknowledged status {st} lost"));
            assert!(status.complete);
        }
        let ids: Vec<String> = acked.iter().map(|(_, id, _)| id.clone()).collect();
        let recs = conformance::fetch(
            &s,
            &ObjectQuery {
                ids,
                versions: VersionFilter {
                    all: true,
                    ..VersionFilter::default()
                },
                ..fixture.query()
            },
        )
        .await;
        let have: std::collections::HashSet<(&str, &str)> = recs
            .iter()
            .map(|r| (r.id.as_str(), r.version.as_str()))
            .collect();
        for (st, id, version) in &acked {
            assert!(
                have.contains(&(id.as_str(), version.as_str())),
                "acknowledged {id} {version} (status {st}) lost after kill -9"
            );
        }
        // The store is still writable and consistent.
        let f = fixture;
        let st = f
            .add(
                &s,
                vec![conformance::indicator(999_999, "2025-01-01T00:00:00Z")],
            )
            .await;
        assert!(st.successes[0].message.is_none());
        assert!(s.count_versions(f.collection).await.unwrap() >= acked.len() as u64);
    });
}

async fn child_writer(db: &Path) {
    let s = SqliteStore::open(db).await.unwrap();
    let f = Fixture {
        root: std::env::var(CHILD_ROOT).unwrap(),
        collection: Uuid::parse_str(&std::env::var(CHILD_COLLECTION).unwrap()).unwrap(),
    };
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for round in 0.. {
        let versions: Vec<_> = (0..20)
            .map(|k| conformance::indicator(round * 20 + k, "2022-02-02T02:02:02.222Z"))
            .collect();
        let st = s.add_objects(f.request(versions)).await.unwrap();
        for d in &st.successes {
            writeln!(out, "ACK {} {} {}", st.id, d.id, d.version).unwrap();
        }
        out.flush().unwrap();
    }
}

/// The default selection and paging seek in the partial index (no sort, no scan); id lookups
/// use the id index, so their cost does not grow with the collection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_plans_use_the_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_in(dir.path()).await.unwrap();
    let f = Fixture::new(&s, "plans").await;
    let v: Vec<_> = (0..50)
        .map(|i| conformance::indicator(i, "2020-05-05T05:05:05.555Z"))
        .collect();
    f.add(&s, v.clone()).await;
    let first = conformance::fetch(&s, &f.query()).await[0].cursor();
    let cases = [
        (
            "default",
            f.query(),
            vec!["USING INDEX versions_default (coll=?)"],
        ),
        (
            "default after a cursor",
            ObjectQuery {
                after: Some(first.clone()),
                ..f.query()
            },
            vec!["USING INDEX versions_default (coll=? AND date_added>?)"],
        ),
        (
            "added_after",
            ObjectQuery {
                added_after: Some(first.date_added),
                ..f.query()
            },
            vec!["USING INDEX versions_default (coll=? AND date_added>?)"],
        ),
        (
            "all versions",
            ObjectQuery {
                versions: VersionFilter {
                    all: true,
                    ..VersionFilter::default()
                },
                ..f.query()
            },
            vec!["USING INDEX versions_order (coll=?)"],
        ),
        (
            "ids",
            ObjectQuery {
                ids: vec![v[3].id.clone()],
                ..f.query()
            },
            vec!["USING INDEX versions_by_id (coll=? AND <expr>=?)"],
        ),
        (
            "object",
            ObjectQuery {
                object_id: Some(v[3].id.clone()),
                ..f.query()
            },
            vec!["USING INDEX versions_by_id (coll=? AND <expr>=?)"],
        ),
    ];
    for (name, q, wanted) in cases {
        let plan = s.query_plan(&q).await.unwrap().join("\n");
        for w in wanted {
            assert!(plan.contains(w), "{name}: plan lacks {w:?}:\n{plan}");
        }
        if !q.ids.is_empty() || q.object_id.is_some() {
            continue;
        }
        assert!(!plan.contains("TEMP B-TREE"), "{name}: sorts:\n{plan}");
        assert!(!plan.contains("SCAN v"), "{name}: scans:\n{plan}");
    }
}

/// Text with raw U+001E/U+001F (never valid JSON) is refused as a failure, the rest is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_separator_characters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_in(dir.path()).await.unwrap();
    let f = Fixture::new(&s, "ctl").await;
    let good = conformance::indicator(1, "2020-01-01T00:00:00Z");
    let mut bad_body = conformance::indicator(2, "2020-01-01T00:00:00Z");
    bad_body.body = bad_body.body.replace("pattern_type", "pattern\u{1e}type");
    let mut bad_id = conformance::indicator(3, "2020-01-01T00:00:00Z");
    bad_id.id.push('\u{1f}');
    let st = f
        .add(&s, vec![bad_body.clone(), good.clone(), bad_id])
        .await;
    assert_eq!(st.total_count, 3);
    assert_eq!(st.successes.len(), 1);
    assert_eq!(st.successes[0].id, good.id);
    assert_eq!(st.failures.len(), 2);
    assert_eq!(st.failures[0].id, bad_body.id);
    assert!(
        st.failures[0]
            .message
            .as_deref()
            .unwrap()
            .contains("U+001E")
    );
    let recs = conformance::fetch(&s, &f.query()).await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].body.as_deref(), Some(good.body.as_str()));
}

mod policy_props {
    use cairn_store::conformance::{PolicyCase, policy_case};
    use cairn_store_sqlite::SqliteStore;
    use proptest::prelude::*;

    fn case() -> impl Strategy<Value = PolicyCase> {
        (
            prop::collection::vec((0u8..4, 0u8..4, any::<bool>(), any::<bool>()), 0..5),
            0u8..5,
            any::<bool>(),
            (0u8..16, 0u8..16),
            prop::collection::vec(
                (
                    prop::option::of(0u8..5),
                    prop::option::of(0u8..6),
                    0u8..64,
                    prop::option::weighted(0.2, 0u8..5),
                ),
                1..30,
            ),
            1usize..7,
        )
            .prop_map(|(grants, default_tlp, anon, (g0, g1), objects, page)| {
                // An anonymously readable collection is a TLP:CLEAR channel.
                let anonymous_read = anon && default_tlp == 0;
                PolicyCase {
                    grants,
                    default_tlp,
                    anonymous_read,
                    group_members: [g0, g1],
                    objects,
                    page,
                }
            })
    }

    proptest! {
        // A fixed seed (PROPTEST_RNG_SEED overrides it) and 48 cases in CI; PROPTEST_CASES=1000
        // for a longer run.
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48),
            rng_seed: std::env::var("PROPTEST_RNG_SEED")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(proptest::test_runner::RngSeed::Fixed(20_261_130)),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]
        #[test]
        fn random_worlds_read_exactly_what_the_decision_allows(c in case()) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let dir = tempfile::tempdir().unwrap();
            rt.block_on(async {
                let store = SqliteStore::open_in(dir.path()).await.unwrap();
                policy_case(&store, &c).await;
                store.close().await;
            });
        }
    }
}
