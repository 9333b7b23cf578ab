//! Throughput of the SQLite store: ingest, full paged read, single-id lookups at two sizes.
//!
//! ```text
//! cargo run --release -p cairn-store-sqlite --example store_bench -- [objects] [big]
//! ```
//! `objects` (default 100000) are ingested in batches of 100 and of 1000 (two collections), then
//! read back page by page (limit 1000, default version selection), with bodies (objects
//! endpoint) and without (manifest). `ids=[one id]` lookups are then timed on a collection of
//! 10 000 objects and on one of `big` (default 1000000) objects.

use std::path::Path;
use std::time::Instant;

use cairn_store::conformance::{Fixture, new_version};
use cairn_store::{NewVersion, ObjectQuery, Store};
use cairn_store_sqlite::SqliteStore;
use uuid::Uuid;

/// CPU seconds (user + system) this process has used, from /proc (0 where unavailable): the
/// machine may be shared, so wall-clock rates are shown beside per-CPU-second rates.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Wall-clock and CPU rates of `n` items done since (`wall`, `cpu`).
struct Rate {
    wall: f64,
    cpu: f64,
}

impl Rate {
    fn since(n: usize, wall: Instant, cpu: f64) -> Rate {
        let w = wall.elapsed().as_secs_f64();
        let c = (cpu_seconds() - cpu).max(0.01);
        Rate {
            wall: n as f64 / w,
            cpu: n as f64 / c,
        }
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>9.0} objects/s wall, {:>9.0} objects per CPU-second",
            self.wall, self.cpu
        )
    }
}

fn object(n: usize) -> NewVersion {
    let id = Uuid::new_v5(&Uuid::NAMESPACE_OID, &(n as u64).to_le_bytes());
    let (a, b, c) = ((n >> 16) & 255, (n >> 8) & 255, n & 255);
    new_version(&format!(
        concat!(
            r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{id}","#,
            r#""created_by_ref":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff","#,
            r#""created":"2024-03-01T10:00:00.000Z","modified":"2024-03-01T10:00:00.000Z","#,
            r#""name":"C2 server {a}.{b}.{c}","description":"Command and control address seen in "#,
            r#"the campaign; block at the perimeter and report sightings.","#,
            r#""indicator_types":["malicious-activity"],"#,
            r#""pattern":"[ipv4-addr:value = '198.{a}.{b}.{c}']","pattern_type":"stix","#,
            r#""valid_from":"2024-03-01T10:00:00Z","labels":["c2","campaign-x"],"#,
            r#""object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}}"#
        ),
        id = id,
        a = a,
        b = b,
        c = c
    ))
}

async fn ingest(s: &dyn Store, f: &Fixture, n: usize, batch: usize) -> Rate {
    let objects: Vec<NewVersion> = (0..n).map(object).collect();
    let (start, cpu) = (Instant::now(), cpu_seconds());
    for chunk in objects.chunks(batch) {
        f.add(s, chunk.to_vec()).await;
    }
    Rate::since(n, start, cpu)
}

async fn read_all(s: &dyn Store, f: &Fixture, with_bodies: bool) -> (usize, Rate) {
    let mut q = ObjectQuery {
        limit: 1000,
        with_bodies,
        ..f.query()
    };
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let mut n = 0;
    loop {
        let page = s.query(&q).await.expect("query");
        n += page.records.len();
        if !page.more {
            break;
        }
        q.after = page.records.last().map(|r| r.cursor());
    }
    (n, Rate::since(n, start, cpu))
}

/// Mean microseconds of an `ids=[one id]` query (default selection, with body).
async fn lookups(s: &dyn Store, f: &Fixture, n: usize, rounds: usize) -> (f64, f64) {
    let (start, cpu) = (Instant::now(), cpu_seconds());
    for k in 0..rounds {
        let i = (k * 7919) % n;
        let q = ObjectQuery {
            ids: vec![object(i).id],
            limit: 1000,
            ..f.query()
        };
        let page = s.query(&q).await.expect("query");
        assert_eq!(page.records.len(), 1, "object {i} present once");
    }
    let per = |secs: f64| secs * 1e6 / rounds as f64;
    (per(start.elapsed().as_secs_f64()), per(cpu_seconds() - cpu))
}

async fn run(dir: &Path, n: usize, big: usize) {
    let s = SqliteStore::open_in(dir).await.expect("open");
    println!("objects: {n}, body ~{} bytes", object(0).body.len());
    for batch in [100, 1000] {
        let f = Fixture::new(&s, &format!("ingest{batch}")).await;
        let rate = ingest(&s, &f, n, batch).await;
        println!("ingest, batches of {batch:>4}: {rate}");
        if batch == 1000 {
            let (count, rate) = read_all(&s, &f, true).await;
            println!("paged read, limit 1000, bodies ({count}): {rate}");
            let (count, rate) = read_all(&s, &f, false).await;
            println!("paged read, limit 1000, manifest ({count}): {rate}");
            let dup = Fixture {
                root: f.root.clone(),
                collection: f.collection,
            };
            let rate = ingest(&s, &dup, n, batch).await;
            println!("re-post of the same {n} (all duplicates): {rate}");
        }
    }
    for size in [10_000, big] {
        let f = Fixture::new(&s, &format!("lookup{size}")).await;
        let rate = ingest(&s, &f, size, 1000).await;
        let (wall, cpu) = lookups(&s, &f, size, 5000).await;
        println!(
            "ids=[one id] in a collection of {size:>8}: {wall:>7.1} µs wall, {cpu:>6.1} µs CPU \
             per lookup (ingest {:.0}/s wall)",
            rate.wall
        );
    }
    let bytes = std::fs::metadata(s.path()).map(|m| m.len()).unwrap_or(0);
    println!("database file: {} MB", bytes / 1_000_000);
    s.close().await;
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(100_000, |a| a.parse().expect("objects"));
    let big: usize = args.next().map_or(1_000_000, |a| a.parse().expect("big"));
    let dir = tempfile::tempdir().expect("temp dir");
    run(dir.path(), n, big).await;
}
