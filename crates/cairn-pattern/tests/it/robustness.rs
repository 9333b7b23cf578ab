//! No input makes the parser, validator or evaluator panic: random strings, token soups and
//! mutated corpus patterns, each evaluated (when valid) against a small bundle.

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::{read_jsonl, shared_dir};

fn corpus_patterns() -> &'static Vec<String> {
    static P: OnceLock<Vec<String>> = OnceLock::new();
    P.get_or_init(|| {
        let dir = shared_dir().join("conformance");
        let mut v: Vec<String> = Vec::new();
        for f in ["patterns-syntax.jsonl", "patterns-match.jsonl"] {
            v.extend(
                read_jsonl(&dir.join(f))
                    .iter()
                    .filter_map(|c| c["pattern"].as_str().map(str::to_string)),
            );
        }
        v
    })
}

fn bundle() -> &'static Vec<Value> {
    static B: OnceLock<Vec<Value>> = OnceLock::new();
    B.get_or_init(|| {
        vec![
            json!({"type": "observed-data", "id": "observed-data--1", "first_observed": "2020-01-01T00:00:00Z",
                   "last_observed": "2020-01-01T00:00:05Z", "number_observed": 3,
                   "object_refs": ["file--1", "ipv4-addr--1", "network-traffic--1", "artifact--1"]}),
            json!({"type": "observed-data", "id": "observed-data--2", "first_observed": "2020-01-01T00:00:03Z",
                   "last_observed": "2020-01-01T00:00:03Z", "number_observed": 1,
                   "object_refs": ["file--2", "ipv6-addr--1"]}),
            json!({"type": "file", "id": "file--1", "name": "a.exe", "size": 10,
                   "hashes": {"MD5": "d41d8cd98f00b204e9800998ecf8427e"}, "x_list": [1, "a", true, null, 2.5],
                   "parent_directory_ref": "file--2", "contains_refs": ["file--2", "file--gone"]}),
            json!({"type": "file", "id": "file--2", "name": "b", "ctime": "2020-01-01T00:00:00.5Z"}),
            json!({"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "10.1.2.3"}),
            json!({"type": "ipv6-addr", "id": "ipv6-addr--1", "value": "2001:db8::/32"}),
            json!({"type": "network-traffic", "id": "network-traffic--1", "src_ref": "ipv4-addr--1",
                   "dst_port": 443, "protocols": ["tcp", "tls"]}),
            json!({"type": "artifact", "id": "artifact--1", "payload_bin": "YWJj", "x_hex": "00ff"}),
        ]
    })
}

fn exercise(pattern: &str) {
    let parsed = cairn_pattern::Pattern::parse(pattern);
    let validated = cairn_pattern::validate(pattern);
    if validated.is_ok() {
        assert!(
            parsed.is_ok(),
            "validate accepted what parse rejected: {pattern:?}"
        );
    }
    match parsed {
        Ok(p) => {
            let _ = p.semantic_errors();
            let _ = p.unsupported();
            let obs = cairn_pattern::observations_from_bundle(bundle()).expect("bundle");
            let built = p.matches(&obs);
            assert_eq!(p.matches_bundle(bundle()), Ok(built), "{pattern:?}");
            let _ = p.root();
        }
        Err(e) => {
            assert!(e.offset() <= pattern.len(), "offset past the end: {e:?}");
            let _ = e.to_string();
        }
    }
}

const TOKENS: &[&str] = &[
    "[",
    "]",
    "(",
    ")",
    ":",
    ".",
    ",",
    "'",
    "*",
    "=",
    "==",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUBSET",
    "ISSUPERSET",
    "EXISTS",
    "IN",
    "START",
    "STOP",
    "WITHIN",
    "SECONDS",
    "REPEATS",
    "TIMES",
    "true",
    "false",
    "file",
    "name",
    "hashes",
    "MD5",
    "'SHA-256'",
    "x_list",
    "parent_directory_ref",
    "contains_refs",
    "ipv4-addr",
    "value",
    "'10.0.0.0/8'",
    "'%a_'",
    "'^a.*$'",
    "'('",
    "1",
    "-1",
    "0",
    "2.5",
    "+3",
    ".5",
    "h'00ff'",
    "b'YWJj'",
    "t'2020-01-01T00:00:00Z'",
    "t'2020-01-01T00:00:00.5Z'",
    "'d41d8cd98f00b204e9800998ecf8427e'",
    "[*]",
    "[0]",
    "/* c */",
    "//x\n",
    " ",
    "\u{a0}",
    "'it\\'s'",
    "é",
    "\u{0}",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        exercise(&s);
    }

    #[test]
    fn pattern_alphabet_never_panics(s in "[\\[\\]():.,'*=<>!a-zA-Z0-9_ %^$+-]{0,80}") {
        exercise(&s);
    }

    #[test]
    fn token_soup_never_panics(toks in proptest::collection::vec(0..TOKENS.len(), 0..40)) {
        let s: String = toks.iter().map(|i| TOKENS[*i]).collect::<Vec<_>>().join(" ");
        exercise(&s);
    }

    #[test]
    fn mutated_corpus_patterns_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((0u8..5, any::<prop::sample::Index>(), any::<char>(), 0usize..8), 1..4),
    ) {
        let all = corpus_patterns();
        let mut chars: Vec<char> = pick.get(all).chars().collect();
        for (kind, at, c, len) in edits {
            let i = if chars.is_empty() { 0 } else { at.index(chars.len() + 1) };
            match kind {
                0 => chars.insert(i, c),
                1 => { let end = (i + len).min(chars.len()); chars.drain(i..end); }
                2 => if i < chars.len() { chars[i] = c },
                3 => chars.truncate(i),
                _ => { let end = (i + len).min(chars.len()); let dup: Vec<char> = chars[i..end].to_vec(); chars.splice(i..i, dup); }
            }
        }
        let s: String = chars.into_iter().collect();
        exercise(&s);
    }
}
