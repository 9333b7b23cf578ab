//! Cases where the specification decides and the reference matcher or validator is wrong or
//! crashes (tests/fixtures/spec_cases.jsonl, syntax_cases.jsonl), plus regression cases for
//! binding semantics. Each case carries a `why`.

use serde_json::{Value, json};

use crate::{eval_case, read_jsonl};

fn fixture(name: &str) -> Vec<Value> {
    read_jsonl(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
}

/// Expand the compact fixture form into the corpus form (observed_data + objects).
fn to_corpus_case(c: &Value) -> Value {
    let mut ods = Vec::new();
    let mut objects = Vec::new();
    for (i, o) in c["observations"]
        .as_array()
        .expect("observations")
        .iter()
        .enumerate()
    {
        let objs = o["objects"].as_array().expect("objects");
        ods.push(json!({
            "type": "observed-data",
            "spec_version": "2.1",
            "id": format!("observed-data--{i}"),
            "first_observed": o["first_observed"],
            "last_observed": o["last_observed"],
            "number_observed": o["number_observed"],
            "object_refs": objs.iter().map(|x| x["id"].clone()).collect::<Vec<_>>(),
        }));
        objects.extend(objs.iter().cloned());
    }
    json!({"id": c["id"], "pattern": c["pattern"], "observed_data": ods, "objects": objects})
}

#[test]
fn specification_cases() {
    let cases = fixture("spec_cases.jsonl");
    assert!(cases.len() >= 50);
    let mut failures = Vec::new();
    for c in &cases {
        let expected = c["expected"].as_bool().expect("expected");
        match eval_case(&to_corpus_case(c)) {
            Ok(got) if got == expected => {}
            other => failures.push(format!(
                "{}: {} -> {other:?}, expected {expected} ({})",
                c["id"], c["pattern"], c["why"]
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn syntax_cases() {
    let cases = fixture("syntax_cases.jsonl");
    let mut failures = Vec::new();
    for c in &cases {
        let pattern = c["pattern"].as_str().expect("pattern");
        let valid = c["valid"].as_bool().expect("valid");
        let got = cairn_pattern::validate(pattern);
        if got.is_ok() != valid {
            failures.push(format!(
                "{}: {pattern:?} -> {got:?} ({})",
                c["id"], c["why"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn syntax_errors_name_position_and_expectation() {
    let e = cairn_pattern::Pattern::parse("[file:name = 'x' AND]").unwrap_err();
    match e {
        cairn_pattern::PatternError::Syntax {
            offset,
            line,
            column,
            ref expected,
            ref found,
        } => {
            assert_eq!((offset, line, column), (20, 1, 20));
            assert_eq!(found, "']'");
            assert!(
                expected.iter().any(|x| x == "IdentifierWithHyphen"),
                "{expected:?}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let e = cairn_pattern::validate("[file:hashes.MD5 = 'abc']").unwrap_err();
    assert_eq!(e.offset(), 19);
    assert!(e.to_string().contains("MD5"), "{e}");
}

#[test]
fn ast_shape_follows_precedence() {
    use cairn_pattern::{
        ComparisonExpr, ComparisonOp, Literal, ObservationExpr, PathStep, Qualifier,
    };
    let p = cairn_pattern::Pattern::parse(
        "[a:x = 1] OR [b:y = 2] AND [c:z = 3] WITHIN 5 SECONDS FOLLOWEDBY [d:'k'.v[*] NOT LIKE 'q%']",
    )
    .expect("parses");
    let ObservationExpr::FollowedBy(fb) = p.root() else {
        panic!("FOLLOWEDBY binds loosest: {:?}", p.root());
    };
    let [lhs, rhs] = fb.as_slice() else {
        panic!("two FOLLOWEDBY operands");
    };
    let ObservationExpr::Or(or) = lhs else {
        panic!("OR below FOLLOWEDBY");
    };
    let ObservationExpr::And(and) = &or[1] else {
        panic!("AND binds tighter than OR");
    };
    assert!(matches!(
        &and[1],
        ObservationExpr::Qualified(
            _,
            Qualifier::Within {
                nanos: 5_000_000_000,
                ..
            }
        )
    ));
    let ObservationExpr::Comparison(ComparisonExpr::Comparison(c)) = rhs else {
        panic!("bracketed comparison");
    };
    assert_eq!(c.path.object_type, "d");
    assert_eq!(
        c.path.steps,
        vec![
            PathStep::Key("k".into()),
            PathStep::Key("v".into()),
            PathStep::AnyIndex
        ]
    );
    assert_eq!(c.op, ComparisonOp::Like);
    assert!(c.negated);
    assert_eq!(c.literal, Some(Literal::Str("q%".into())));

    // Chains are n-ary: a long OR list is one node, not a deep tree.
    let many = (0..5000)
        .map(|i| format!("file:name = 'f{i}'"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let p = cairn_pattern::Pattern::parse(&format!("[{many}]")).expect("parses");
    let ObservationExpr::Comparison(ComparisonExpr::Or(v)) = p.root() else {
        panic!("n-ary OR");
    };
    assert_eq!(v.len(), 5000);
}

#[test]
fn patterns_are_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<cairn_pattern::Pattern>();
    let p: cairn_pattern::Pattern = "[file:name MATCHES '^a']".parse().expect("valid");
    assert_eq!(p.to_string(), "[file:name MATCHES '^a']");
}

/// Bundles around the size where `matches_bundle` leaves its stack path (48 SCOs, or an
/// observation of more than 48 objects), and malformed observed-data, decide as
/// `observations_from_bundle` + `matches` does.
#[test]
fn matches_bundle_agrees_on_large_and_malformed_bundles() {
    let mut objects = Vec::new();
    let mut refs = Vec::new();
    for i in 0..60 {
        objects.push(
            json!({"type": "file", "id": format!("file--{i}"), "name": format!("f{i}"),
                            "parent_directory_ref": format!("file--{}", (i + 1) % 60)}),
        );
        refs.push(format!("file--{i}"));
    }
    let od = |id: &str, refs: &[String], n: u64| {
        json!({"type": "observed-data", "id": id, "first_observed": "2020-01-01T00:00:00Z",
               "last_observed": "2020-01-01T00:00:01Z", "number_observed": n, "object_refs": refs})
    };
    let patterns = [
        "[file:name = 'f46']",
        "[file:name = 'f59']",
        "[file:parent_directory_ref.name = 'f0']",
        "[file:name = 'f1'] AND [file:name = 'f2']",
        "[file:name = 'f35'] REPEATS 2 TIMES",
        "[file:name = 'nope']",
    ];
    for size in [5, 40, 47, 48, 49, 60] {
        let cases = [
            (
                od("observed-data--1", &refs[..size], 1),
                od("observed-data--2", &refs[..3], 2),
            ),
            (
                od("observed-data--1", &refs[..2], 1),
                od("observed-data--2", &refs[size / 2..size], 1),
            ),
        ];
        for (a, b) in &cases {
            let objs: Vec<&Value> = [a, b].into_iter().chain(&objects[..size]).collect();
            for pat in patterns {
                let p = cairn_pattern::Pattern::parse(pat).expect("parses");
                let built = cairn_pattern::observations_from_bundle(objs.iter().copied())
                    .map(|o| p.matches(&o));
                assert_eq!(
                    p.matches_bundle(objs.iter().copied()),
                    built,
                    "{pat} over {size}"
                );
            }
        }
    }
    let bad = json!({"type": "observed-data", "id": "observed-data--x", "first_observed": "nope",
                     "last_observed": "2020-01-01T00:00:01Z", "number_observed": 1, "object_refs": []});
    let good = od("observed-data--1", &refs[..3], 1);
    let p = cairn_pattern::Pattern::parse("[file:name = 'f1']").expect("parses");
    let objs: Vec<&Value> = [&good, &bad].into_iter().chain(&objects[..3]).collect();
    let built =
        cairn_pattern::observations_from_bundle(objs.iter().copied()).map(|o| p.matches(&o));
    assert!(built.is_err());
    assert_eq!(p.matches_bundle(objs.iter().copied()), built);
}
