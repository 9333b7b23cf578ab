//! `cairn match`: hits on stdout for each input format, summary on stderr, sightings stored in a
//! collection with deterministic ids (a re-run adds versions, not duplicates).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/match")
}

fn cairn(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("CAIRN_ADMIN_PASSWORD", "correct horse battery staple")
        .output()
        .expect("cairn runs")
}

fn ok(data: &Path, args: &[&str]) -> Output {
    let out = cairn(data, args);
    assert!(
        out.status.success(),
        "cairn {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn fx(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

fn hits(out: &Output) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| {
            let h: Value = serde_json::from_str(l).unwrap();
            let id = h["indicator"].as_str().unwrap();
            (
                id[id.len() - 2..].to_string(),
                h["position"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// (format, input file, extra arguments, expected (indicator id suffix, position) hits)
type Case<'a> = (&'a str, &'a str, Vec<String>, Vec<(&'a str, u64)>);

#[test]
fn match_each_format_against_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let ind = fx("indicators.json");
    // (format, input, extra args, expected (indicator suffix, position) hits)
    let cases: Vec<Case> = vec![
        (
            "eve",
            "eve.json",
            vec![],
            vec![
                ("01", 3),
                ("01", 4),
                ("01", 5),
                ("02", 1),
                ("02", 7),
                ("03", 5),
                ("04", 7),
                ("05", 4),
            ],
        ),
        (
            "zeek",
            "zeek.log",
            vec![],
            vec![
                ("01", 2),
                ("01", 3),
                ("01", 5),
                ("02", 1),
                ("02", 4),
                ("03", 5),
                ("04", 4),
                ("04", 7),
                ("05", 3),
            ],
        ),
        (
            "jsonl",
            "generic.jsonl",
            vec!["--map".into(), fx("map.json")],
            vec![("02", 1), ("03", 2), ("05", 2)],
        ),
        ("stix", "observed.json", vec![], vec![("01", 1)]),
    ];
    for (format, input, extra, want) in cases {
        let mut args = vec!["match", "--indicators", &ind, "--format", format];
        let input = fx(input);
        args.extend(["--input", &input]);
        args.extend(extra.iter().map(String::as_str));
        let out = ok(data, &args);
        let got = hits(&out);
        let want: Vec<(String, u64)> = want.iter().map(|(a, b)| (a.to_string(), *b)).collect();
        assert_eq!(
            got,
            want,
            "{format}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("6 indicators compiled (2 skipped)"), "{err}");
        assert!(
            err.contains("indicator--6f3e0a4e-1a1b-4b6e-8d55-1c3f0e9d7a07: invalid pattern"),
            "{err}"
        );
        assert!(err.contains(&format!("{} hits", want.len())), "{err}");
        assert!(err.contains("records/s"), "{err}");
    }
    // Malformed lines are counted, not fatal.
    let out = ok(
        data,
        &[
            "match",
            "--indicators",
            &ind,
            "--format",
            "eve",
            "--input",
            &fx("eve.json"),
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("8 records (4 malformed, 1 without observables)")
    );
    // Usage errors.
    let out = cairn(
        data,
        &[
            "match",
            "--indicators",
            &ind,
            "--format",
            "jsonl",
            "--input",
            &fx("generic.jsonl"),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--map"));
    let out = cairn(
        data,
        &["match", "--format", "eve", "--input", &fx("eve.json")],
    );
    assert!(!out.status.success());
}

fn export(data: &Path, collection: &str, all: bool) -> Vec<Value> {
    let mut args = vec!["export", "--collection", collection, "--type", "sighting"];
    if all {
        args.push("--all-versions");
    }
    let out = ok(data, &args);
    let bundle: Value = serde_json::from_slice(&out.stdout).unwrap();
    bundle["objects"].as_array().cloned().unwrap_or_default()
}

#[test]
fn match_from_a_collection_writes_sightings() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok(data, &["init"]);
    ok(
        data,
        &[
            "collection",
            "create",
            "--title",
            "Partner intel",
            "--alias",
            "intel",
        ],
    );
    ok(
        data,
        &[
            "collection",
            "create",
            "--title",
            "Sightings",
            "--alias",
            "seen",
        ],
    );
    let _ = cairn(
        data,
        &["import", "--collection", "intel", &fx("indicators.json")],
    );
    let run = || {
        ok(
            data,
            &[
                "match",
                "--collection",
                "intel",
                "--format",
                "eve",
                "--input",
                &fx("eve.json"),
                "--sightings",
                "--sightings-collection",
                "seen",
                "--bucket",
                "1h",
            ],
        )
    };
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sightings written"), "{err}");
    let sightings = export(data, "seen", false);
    // One per indicator (01..05) in the 18:00 bucket.
    assert_eq!(sightings.len(), 5, "{sightings:?}");
    let ip = sightings
        .iter()
        .find(|s| s["sighting_of_ref"] == "indicator--6f3e0a4e-1a1b-4b6e-8d55-1c3f0e9d7a01")
        .expect("sighting of the C2 address");
    assert_eq!(ip["count"], 3);
    assert_eq!(ip["first_seen"], "2024-03-17T18:03:15.010200Z");
    assert_eq!(ip["last_seen"], "2024-03-17T18:03:16.700000Z");
    assert!(
        ip["where_sighted_refs"][0]
            .as_str()
            .unwrap()
            .starts_with("identity--")
    );
    // A re-run produces new versions of the same sightings, not new sightings.
    std::thread::sleep(std::time::Duration::from_millis(5));
    run();
    assert_eq!(export(data, "seen", false).len(), 5);
    assert_eq!(export(data, "seen", true).len(), 10);
    let ids: std::collections::BTreeSet<&str> = sightings
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let again = export(data, "seen", false);
    let ids2: std::collections::BTreeSet<&str> =
        again.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ids2);
}
