//! Data-driven decision fixtures: `tests/fixtures/decisions/*.json`, each a set of collections,
//! marking definitions, one object, its expected labels, and cases (destination, path,
//! expected answer, and optionally the expected redacted object).

use cairn_policy::{
    Access, Destination, MarkingRegistry, ObjectLabels, Path, Principal, ReadFilter, decide, redact,
};
use serde_json::Value;

use crate::world::{NamedWorld, fixtures_dir, read_json};

enum To {
    Anonymous,
    User(Principal),
    Peer(Principal),
    ExternalPeer(Principal),
    Collection(String),
}

fn destination(nw: &NamedWorld, spec: &Value) -> To {
    if spec == "anonymous" {
        return To::Anonymous;
    }
    let (kind, name) = spec
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("destination");
    let name = name.as_str().expect("destination name");
    match kind.as_str() {
        "user" => To::User(nw.user(name)),
        "peer-org" => To::Peer(nw.peer_org(name)),
        "peer-nation" => To::Peer(nw.peer_nation(name)),
        "external-peer-org" => To::ExternalPeer(nw.peer_org(name)),
        "collection" => To::Collection(name.to_string()),
        other => panic!("unknown destination kind {other}"),
    }
}

#[test]
fn decision_fixtures() {
    let nw = NamedWorld::load();
    let dir = fixtures_dir().join("decisions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("decisions dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 7,
        "expected the decision fixtures in {}",
        dir.display()
    );
    let mut checked = 0;
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let fx = read_json(&file);
        let collections = nw.collections(&fx["collections"]);
        let source = &collections[fx["source"].as_str().expect("source")];
        let mut registry = MarkingRegistry::standard();
        for m in fx
            .get("markings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            registry
                .learn(m)
                .unwrap_or_else(|e| panic!("{name}: marking: {e}"));
        }
        let object = &fx["object"];
        let labels = ObjectLabels::from_object_in(object, &registry);
        if let Some(expected) = fx.get("labels") {
            let expected: ObjectLabels = serde_json::from_value(expected.clone()).expect("labels");
            assert_eq!(labels, expected, "{name}: labels");
        }
        for (i, case) in fx["cases"].as_array().expect("cases").iter().enumerate() {
            let what = format!("{name} case {i} ({case})");
            let path = Path::parse(case["path"].as_str().expect("path")).expect("path");
            let to = destination(&nw, &case["to"]);
            let dest = match &to {
                To::Anonymous => Destination::Anonymous,
                To::User(p) => Destination::User(p),
                To::Peer(p) => Destination::Peer(p),
                To::ExternalPeer(p) => Destination::ExternalPeer(p),
                To::Collection(c) => Destination::Collection(&collections[c]),
            };
            let access = Access {
                path,
                to: dest,
                source,
            };
            let expected = match case["expected"].as_str() {
                Some("allow") => true,
                Some("deny") => false,
                other => panic!("{what}: expected must be allow or deny, not {other:?}"),
            };
            let decision = decide(&labels, &access);
            assert_eq!(decision.allowed, expected, "{what}: {decision:?}");
            if let Ok(filter) = ReadFilter::new(path, dest, source) {
                assert_eq!(filter.admits(&labels), expected, "{what}: ReadFilter");
            }
            let redacted = redact(object, &labels, &access);
            assert_eq!(
                redacted.is_some(),
                expected,
                "{what}: redact agrees with decide"
            );
            match case.get("redacted") {
                None => {}
                Some(v) if v == "unchanged" => {
                    assert_eq!(redacted.as_ref(), Some(object), "{what}: unchanged")
                }
                Some(v) => assert_eq!(redacted.as_ref(), Some(v), "{what}: redacted object"),
            }
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} cases");
}
