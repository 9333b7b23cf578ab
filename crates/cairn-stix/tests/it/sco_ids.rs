//! Deterministic SCO identifiers must equal those the `stix2` library generates
//! (recorded by tests/python/gen_sco_ids.py into tests/fixtures/sco_ids.json).

use cairn_stix::sco_id;

use crate::fixture;

#[test]
fn sco_ids_match_the_stix2_library() {
    let cases = fixture("sco_ids.json");
    let cases = cases.as_array().expect("a list");
    assert!(cases.len() >= 18, "one case per SCO type at least");
    let mut failures = Vec::new();
    for case in cases {
        let obj = &case["object"];
        let ty = obj["type"].as_str().unwrap();
        let want = case["id"].as_str();
        let got = sco_id(ty, obj);
        if got.as_deref() != want {
            failures.push(format!("{}: stix2 {want:?}, cairn {got:?}", case["name"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
