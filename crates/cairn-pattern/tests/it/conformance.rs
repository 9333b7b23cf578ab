//! Every case of both OASIS-derived corpora must agree with the reference.

use crate::{eval_case, read_jsonl, shared_dir};

#[test]
fn match_corpus_agrees_with_reference() {
    let cases = read_jsonl(&shared_dir().join("conformance/patterns-match.jsonl"));
    assert_eq!(cases.len(), 3000);
    let mut failures = Vec::new();
    for c in &cases {
        let expected = c["expected"].as_bool().expect("expected is a bool");
        match eval_case(c) {
            Ok(got) if got == expected => {}
            Ok(got) => failures.push(format!(
                "{} expected {expected} got {got}: {}",
                c["id"], c["pattern"]
            )),
            Err(e) => failures.push(format!("{} error {e}: {}", c["id"], c["pattern"])),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} match cases disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn syntax_corpus_agrees_with_reference() {
    let cases = read_jsonl(&shared_dir().join("conformance/patterns-syntax.jsonl"));
    assert_eq!(cases.len(), 1500);
    let mut failures = Vec::new();
    for c in &cases {
        let pattern = c["pattern"].as_str().expect("pattern");
        let valid = c["valid"].as_bool().expect("valid");
        let parse_ok = c["parse_ok"].as_bool().expect("parse_ok");
        let parsed = cairn_pattern::Pattern::parse(pattern);
        let validated = cairn_pattern::validate(pattern);
        if parsed.is_ok() != parse_ok || validated.is_ok() != valid {
            failures.push(format!(
                "{} parse {} (want {parse_ok}) valid {} (want {valid}): {pattern}\n   ours: {:?}\n   ref:  {}",
                c["id"],
                parsed.is_ok(),
                validated.is_ok(),
                validated.err(),
                c["error"].as_str().unwrap_or("")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} syntax cases disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
