//! Integration tests of the SQLite backend: the shared conformance suite plus SQLite-specific
//! durability and concurrency checks.

use cairn_store::conformance;
use cairn_store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("nested/dir/cairn.db"))
        .await
        .unwrap();
    conformance::run_all(&store).await;
}
