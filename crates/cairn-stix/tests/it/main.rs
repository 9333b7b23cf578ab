//! Integration tests of cairn-stix, driven by the fixtures in `tests/fixtures/`.

mod corpus;
mod sco_ids;

use std::path::PathBuf;

use serde_json::Value;

/// Read a JSON fixture from `tests/fixtures/`.
pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON in {}: {e}", path.display()))
}
