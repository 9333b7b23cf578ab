//! Integration tests of cairn-pattern: the OASIS conformance corpora, the specification
//! cases where the reference matcher is wrong, and robustness against arbitrary input.

mod conformance;
mod robustness;
mod spec_cases;

use std::path::PathBuf;

/// The shared data folder: `$CAIRN_SHARED_DIR`, or `../shared` beside the repository.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("CAIRN_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    assert!(
        dir.join("conformance").is_dir(),
        "shared data not found at {} (set CAIRN_SHARED_DIR)",
        dir.display()
    );
    dir
}

pub fn read_jsonl(path: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("corpus line is JSON"))
        .collect()
}

/// Evaluate one match-corpus style case (pattern, observed_data, objects). Both ways of
/// evaluating a bundle (`matches_bundle`, and `observations_from_bundle` then `matches`) must
/// agree, errors included.
pub fn eval_case(case: &serde_json::Value) -> Result<bool, String> {
    let pattern = case["pattern"].as_str().ok_or("no pattern")?;
    let p = cairn_pattern::validate(pattern).map_err(|e| e.to_string())?;
    let empty = Vec::new();
    let ods = case["observed_data"].as_array().unwrap_or(&empty);
    let objs = case["objects"].as_array().unwrap_or(&empty);
    let direct = p.matches_bundle(ods.iter().chain(objs));
    let built =
        cairn_pattern::observations_from_bundle(ods.iter().chain(objs)).map(|obs| p.matches(&obs));
    assert_eq!(direct, built, "matches_bundle disagrees: {pattern}");
    built.map_err(|e| e.to_string())
}
