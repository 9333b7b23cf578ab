//! The validation corpus: every case's verdict must equal the one recorded from the OASIS
//! stix2-validator, except where the fixture documents that the validator contradicts the
//! specification; then the verdict follows the specification.

use cairn_stix::{
    ValidateOptions, ValidationError, validate_bundle, validate_bundle_with, validate_object,
    validate_object_with,
};
use serde_json::Value;

use crate::fixture;

/// STIX patterns are parsed by cairn-pattern, as the `cairn` binary does.
fn stix_pattern(p: &str) -> Result<(), String> {
    cairn_pattern::validate(p)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

const OPTIONS: ValidateOptions = ValidateOptions {
    stix_pattern: Some(stix_pattern),
};

fn verdict(case: &Value) -> Result<(), Vec<ValidationError>> {
    let obj = &case["object"];
    match case["kind"].as_str() {
        Some("bundle") => {
            let results = validate_bundle_with(obj, &OPTIONS)?;
            let errs: Vec<ValidationError> = results
                .into_iter()
                .filter_map(Result::err)
                .flatten()
                .collect();
            if errs.is_empty() { Ok(()) } else { Err(errs) }
        }
        _ => validate_object_with(obj, &OPTIONS).map(|_| ()),
    }
}

#[test]
fn corpus_agrees_with_recorded_stix2_validator_verdicts() {
    let corpus = fixture("stix_corpus.json");
    let expectations = fixture("stix_validator_expectations.json");
    let cases = corpus.as_array().expect("corpus is a list");
    assert!(cases.len() >= 100, "corpus unexpectedly small");
    let invalid = cases.iter().filter(|c| c["expect"] == "invalid").count();
    assert!(invalid >= 80, "at least 80 invalid cases, found {invalid}");

    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("case name");
        let recorded = expectations["cases"][name]["valid"]
            .as_bool()
            .unwrap_or_else(|| panic!("no recorded validator verdict for {name}"));
        let spec_valid = case["expect"] == "valid";
        let wrong = case.get("validator_wrong").and_then(Value::as_str);
        // The record must be what the fixture says of the validator.
        match wrong {
            None if recorded != spec_valid => failures.push(format!(
                "{name}: validator recorded valid={recorded} but the case expects valid={spec_valid} and is not marked validator_wrong"
            )),
            Some(_) if recorded == spec_valid => failures.push(format!(
                "{name}: marked validator_wrong but the validator agrees with the specification"
            )),
            _ => {}
        }
        let ours = verdict(case);
        if ours.is_ok() != spec_valid {
            failures.push(format!(
                "{name}: cairn says valid={} (expected {spec_valid}; rule: {}): {:?}",
                ours.is_ok(),
                case["rule"],
                ours.err().unwrap_or_default()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn errors_name_object_property_and_rule() {
    let corpus = fixture("stix_corpus.json");
    for case in corpus.as_array().unwrap() {
        if case["expect"] != "invalid" || case["kind"] == "bundle" {
            continue;
        }
        let errs = validate_object_with(&case["object"], &OPTIONS).expect_err("invalid case");
        for e in &errs {
            assert!(!e.rule.is_empty(), "{}: empty rule", case["name"]);
            if let Some(id) = case["object"]["id"].as_str() {
                assert_eq!(
                    e.object_id, id,
                    "{}: error names the object id",
                    case["name"]
                );
            }
        }
    }
}

#[test]
fn validation_never_changes_the_object() {
    let corpus = fixture("stix_corpus.json");
    for case in corpus.as_array().unwrap() {
        let before = serde_json::to_string(&case["object"]).unwrap();
        let _ = validate_object(&case["object"]);
        assert_eq!(before, serde_json::to_string(&case["object"]).unwrap());
    }
}

#[test]
fn meta_reports_spec_version_and_times() {
    let corpus = fixture("stix_corpus.json");
    for case in corpus.as_array().unwrap() {
        if case["expect"] != "valid" || case["kind"] == "bundle" {
            continue;
        }
        let obj = &case["object"];
        let meta = validate_object_with(obj, &OPTIONS).expect("valid case");
        assert_eq!(meta.id, obj["id"].as_str().unwrap());
        assert_eq!(meta.type_, obj["type"].as_str().unwrap());
        let want = obj["spec_version"].as_str().unwrap_or("2.0");
        assert_eq!(meta.spec_version, want, "{}", case["name"]);
        assert_eq!(
            meta.created.as_ref().map(|t| t.as_str()),
            obj["created"].as_str()
        );
        assert_eq!(
            meta.modified.as_ref().map(|t| t.as_str()),
            obj["modified"].as_str()
        );
    }
}

#[test]
fn sco_without_spec_version_is_2_1_and_sdo_without_is_2_0() {
    let sco = serde_json::json!({"type": "ipv4-addr", "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3"});
    assert_eq!(validate_object(&sco).unwrap().spec_version, "2.1");
    let sdo = serde_json::json!({"type": "campaign", "id": "campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2016-04-06T20:03:00Z", "modified": "2016-04-06T20:03:00Z", "name": "x"});
    let meta = validate_object(&sdo).unwrap();
    assert_eq!(meta.spec_version, "2.0");
    assert_eq!(meta.version().unwrap().as_str(), "2016-04-06T20:03:00Z");
}

#[test]
fn bundle_reports_each_object() {
    let corpus = fixture("stix_corpus.json");
    let case = corpus
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "invalid/bundle-invalid-member")
        .expect("bundle case");
    let results = validate_bundle(&case["object"]).expect("envelope is valid");
    assert_eq!(
        results.len(),
        validate_bundle_with(&case["object"], &OPTIONS)
            .unwrap()
            .len()
    );
    let n = results.len();
    assert!(results[..n - 1].iter().all(Result::is_ok));
    let errs = results[n - 1].as_ref().expect_err("last member is invalid");
    assert_eq!(errs[0].property, "confidence");
}

/// Replace every property (and every member of nested objects and lists, one level down) of every
/// corpus object by values of every JSON kind: validation must return, never panic, and must
/// still name the object's id in each error.
#[test]
fn mutated_corpus_objects_never_panic() {
    let corpus = fixture("stix_corpus.json");
    let replacements = [
        serde_json::json!(null),
        serde_json::json!(true),
        serde_json::json!(0),
        serde_json::json!(-1),
        serde_json::json!(1.5),
        serde_json::json!(""),
        serde_json::json!("--"),
        serde_json::json!("x"),
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::json!([null]),
        serde_json::json!({"a": null}),
    ];
    let mut checked = 0usize;
    for case in corpus.as_array().unwrap() {
        let Some(obj) = case["object"].as_object() else {
            continue;
        };
        for (key, value) in obj {
            for r in &replacements {
                let mut m = obj.clone();
                m.insert(key.clone(), r.clone());
                let _ = validate_object(&Value::Object(m));
                checked += 1;
            }
            let nested: Vec<(Value, Value)> = match value {
                Value::Object(inner) => inner
                    .keys()
                    .map(|k| (Value::String(k.clone()), Value::Null))
                    .collect(),
                Value::Array(a) => (0..a.len())
                    .map(|i| (Value::from(i), Value::Null))
                    .collect(),
                _ => Vec::new(),
            };
            for (slot, _) in nested {
                for r in &replacements {
                    let mut m = obj.clone();
                    let target = m.get_mut(key).unwrap();
                    match (&slot, target) {
                        (Value::String(k), Value::Object(inner)) => {
                            inner.insert(k.clone(), r.clone());
                        }
                        (Value::Number(i), Value::Array(a)) => {
                            a[i.as_u64().unwrap() as usize] = r.clone();
                        }
                        _ => unreachable!(),
                    }
                    let v = Value::Object(m);
                    if let Err(errs) = validate_object(&v)
                        && let Some(id) = v["id"].as_str()
                    {
                        assert!(errs.iter().all(|e| e.object_id == id));
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 10_000, "only {checked} mutations checked");
}

#[test]
fn pattern_check_is_only_applied_when_plugged_in() {
    let corpus = fixture("stix_corpus.json");
    let case = corpus
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "invalid/indicator-pattern-syntax")
        .expect("pattern case");
    assert!(validate_object(&case["object"]).is_ok());
    let errs = validate_object_with(&case["object"], &OPTIONS).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].property, "pattern");
}
