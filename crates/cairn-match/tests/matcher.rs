//! Tests of the compiled matcher against the plain evaluator of `cairn-pattern`.
//!
//! - `differential_*`: for single-observation patterns, every hit of the index equals what
//!   `Pattern::matches` says on the same observation, and no match is missed. Patterns are
//!   generated from the facts of fixture logs (exact values, near misses, CIDRs, `LIKE`,
//!   `MATCHES`, negations, ordering, `IN`, reference paths, `AND`/`OR` across objects) and taken
//!   from the conformance corpus (`../shared/conformance/patterns-match.jsonl`, or
//!   `$CAIRN_SHARED_DIR/conformance`).
//! - validity, revocation, invalid patterns, multi-observation patterns and eviction.

use std::collections::BTreeSet;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use cairn_formats::{FactValue, Format, LogReader, Record};
use cairn_match::{Hit, MatcherBuilder, Options, SkipReason};
use cairn_pattern::Pattern;
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn shared_dir() -> PathBuf {
    match std::env::var_os("CAIRN_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn read_records(name: &str, format: &Format) -> Vec<Record> {
    let f = std::fs::File::open(fixtures().join(name)).unwrap();
    let mut r = LogReader::new(BufReader::new(f), format);
    let mut out = Vec::new();
    let mut rec = Record::new();
    while r.next_record(&mut rec).unwrap() {
        out.push(rec.clone());
    }
    assert!(!out.is_empty());
    out
}

fn fixture_records() -> Vec<Record> {
    let mut v = read_records("records.eve.json", &Format::Eve);
    v.extend(read_records("records.zeek.log", &Format::Zeek));
    v
}

/// The evaluator's view of a record: what `cairn match` evaluates.
fn evaluate(p: &Pattern, rec: &Record) -> bool {
    let obs = rec.observation();
    let first = i128::from(rec.time.unwrap_or(0)) * 1000;
    let last = i128::from(
        rec.time_end
            .unwrap_or(rec.time.unwrap_or(0))
            .max(rec.time.unwrap_or(0)),
    ) * 1000;
    let o = cairn_pattern::Observation::new(first, last, obs.number_observed, obs.objects.iter());
    p.matches(std::slice::from_ref(&o))
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A fact path (`extensions.http-request-ext.request_header.User-Agent`, `protocols[*]`) as a
/// pattern object path.
fn pattern_path(sco_type: &str, path: &str, index: Option<&str>) -> String {
    let mut out = format!("{sco_type}:");
    for (i, part) in path.split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        let (key, list) = match part.strip_suffix("[*]") {
            Some(k) => (k, true),
            None => (part, false),
        };
        let plain = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if plain {
            out.push_str(key);
        } else {
            out.push_str(&quote(key));
        }
        if list {
            out.push_str(index.unwrap_or("[*]"));
        }
    }
    out
}

fn literal(v: &FactValue<'_>) -> String {
    match v {
        FactValue::Str(s) => quote(s),
        FactValue::Int(i) => i.to_string(),
        FactValue::Float(f) => format!("{f:?}"),
        FactValue::Bool(b) => b.to_string(),
    }
}

fn regex_escape(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// Patterns derived from the facts of the records: hits, near misses and every operator family.
fn generated_patterns(records: &[Record]) -> Vec<String> {
    let mut set = BTreeSet::new();
    for rec in records {
        let facts = rec.facts();
        for (n, f) in facts.iter().enumerate() {
            let path = f.full_path();
            let p = pattern_path(f.sco_type, &path, None);
            let lit = literal(&f.value);
            set.insert(format!("[{p} = {lit}]"));
            set.insert(format!("[{p} != {lit}]"));
            set.insert(format!("[{p} NOT = {lit}]"));
            set.insert(format!("[{p} IN ({lit}, 'no-such-value')]"));
            set.insert(format!("[EXISTS {p}]"));
            if path.contains("[*]") {
                set.insert(format!(
                    "[{} = {lit}]",
                    pattern_path(f.sco_type, &path, Some("[0]"))
                ));
                set.insert(format!(
                    "[{} = {lit}]",
                    pattern_path(f.sco_type, &path, Some("[1]"))
                ));
            }
            match f.value {
                FactValue::Str(s) => {
                    set.insert(format!("[{p} = {}]", quote(&format!("{s}x"))));
                    set.insert(format!("[{p} = {}]", quote(&s.to_uppercase())));
                    set.insert(format!("[{p} > {}]", quote(s)));
                    set.insert(format!("[{p} <= {}]", quote(s)));
                    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
                        let lens: &[u8] = if ip.is_ipv4() {
                            &[0, 8, 16, 24, 31, 32]
                        } else {
                            &[0, 32, 64, 127, 128]
                        };
                        for l in lens {
                            set.insert(format!("[{p} ISSUBSET '{s}/{l}']"));
                            set.insert(format!("[{p} ISSUPERSET '{s}/{l}']"));
                        }
                        if let std::net::IpAddr::V4(v4) = ip {
                            let o = v4.octets();
                            set.insert(format!("[{p} ISSUBSET '{}.{}.0.0/16']", o[0], o[1]));
                            set.insert(format!(
                                "[{p} ISSUBSET '{}.{}.0.0/16']",
                                o[0],
                                o[1].wrapping_add(1)
                            ));
                            set.insert(format!("[{p} NOT ISSUBSET '{}.0.0.0/8']", o[0]));
                        }
                    }
                    let chars: Vec<char> = s.chars().collect();
                    if chars.len() >= 4 {
                        let mid: String = chars[1..chars.len() - 1].iter().collect();
                        let head: String = chars[..3].iter().collect();
                        let tail: String = chars[chars.len() - 3..].iter().collect();
                        let like = |x: &str| x.replace(['%', '_'], "");
                        set.insert(format!(
                            "[{p} LIKE {}]",
                            quote(&format!("%{}%", like(&mid)))
                        ));
                        set.insert(format!(
                            "[{p} LIKE {}]",
                            quote(&format!("{}%", like(&head)))
                        ));
                        set.insert(format!(
                            "[{p} LIKE {}]",
                            quote(&format!("%{}", like(&tail)))
                        ));
                        set.insert(format!(
                            "[{p} LIKE {}]",
                            quote(&format!(
                                "_{}%",
                                like(&chars[1..3].iter().collect::<String>())
                            ))
                        ));
                        set.insert(format!(
                            "[{p} LIKE {}]",
                            quote(&format!("%{}%", like(&mid).to_uppercase()))
                        ));
                        set.insert(format!(
                            "[{p} MATCHES {}]",
                            quote(&format!("^{}", regex_escape(&head)))
                        ));
                        set.insert(format!(
                            "[{p} MATCHES {}]",
                            quote(&format!("{}$", regex_escape(&tail)))
                        ));
                        set.insert(format!(
                            "[{p} MATCHES {}]",
                            quote(&format!("(?i){}", regex_escape(&mid.to_uppercase())))
                        ));
                        set.insert(format!(
                            "[{p} MATCHES {}]",
                            quote(&format!("(zzzz|{})", regex_escape(&tail)))
                        ));
                        set.insert(format!(
                            "[{p} MATCHES {}]",
                            quote(&format!("[a-z]{}", regex_escape(&tail)))
                        ));
                        set.insert(format!("[{p} MATCHES {}]", quote(".*")));
                        set.insert(format!("[{p} NOT MATCHES {}]", quote(&regex_escape(&head))));
                    }
                }
                FactValue::Int(i) => {
                    set.insert(format!("[{p} = {}.0]", i));
                    set.insert(format!("[{p} > {}]", i - 1));
                    set.insert(format!("[{p} < {}]", i));
                    set.insert(format!("[{p} >= {}]", i));
                    set.insert(format!("[{p} = '{}']", i));
                }
                _ => {}
            }
            // Pairs: the same object (AND holds) or another object (AND needs one root object).
            if let Some(g) = facts.get(n + 1) {
                let q = pattern_path(g.sco_type, &g.full_path(), None);
                let glit = literal(&g.value);
                set.insert(format!("[{p} = {lit} AND {q} = {glit}]"));
                set.insert(format!("[{p} = {lit} OR {q} = 'nothing']"));
                set.insert(format!("[{p} != {lit} OR {q} = {glit}]"));
                set.insert(format!("[({p} = {lit} OR {q} = 'x') AND {q} = {glit}]"));
            }
        }
    }
    set.into_iter().collect()
}

fn indicator(n: usize, pattern: &str) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
        "created": "2024-01-01T00:00:00Z",
        "modified": "2024-01-01T00:00:00Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z"
    })
}

/// Build one matcher over all `patterns`; for each record compare its hits with the evaluator.
/// Returns (comparisons, hits).
fn differential(patterns: &[String], records: &[Record]) -> (usize, usize) {
    let mut b = MatcherBuilder::new(Options::default());
    let mut parsed = Vec::new();
    for (n, p) in patterns.iter().enumerate() {
        match b.add(&indicator(n, p)) {
            Ok(Some(i)) => {
                assert_eq!(i as usize, parsed.len());
                parsed.push(Pattern::parse(p).unwrap());
            }
            Ok(None) => unreachable!(),
            Err(e) => {
                // Only patterns the validator refuses may be skipped.
                assert!(Pattern::validate(p).is_err(), "{p} skipped: {e}");
            }
        }
    }
    let mut m = b.build();
    let mut hits_total = 0;
    let mut comparisons = 0;
    for rec in records {
        let mut hits: Vec<Hit> = Vec::new();
        m.match_record(rec, &mut hits);
        let got: BTreeSet<u32> = hits.iter().map(|h| h.indicator).collect();
        for (i, p) in parsed.iter().enumerate() {
            if m.is_multi_observation(i as u32) {
                continue;
            }
            comparisons += 1;
            let want = evaluate(p, rec);
            assert_eq!(
                got.contains(&(i as u32)),
                want,
                "pattern {} on record {} (facts {:?}): index says {}, evaluator says {}",
                p.source(),
                rec.position,
                rec.facts()
                    .iter()
                    .map(|f| format!("{}:{}={}", f.sco_type, f.full_path(), f.value))
                    .collect::<Vec<_>>(),
                got.contains(&(i as u32)),
                want
            );
        }
        hits_total += got.len();
    }
    (comparisons, hits_total)
}

#[test]
fn differential_generated_patterns_on_fixture_logs() {
    let records = fixture_records();
    let patterns = generated_patterns(&records);
    assert!(patterns.len() > 500, "{} patterns", patterns.len());
    let (comparisons, hits) = differential(&patterns, &records);
    assert!(
        hits > 200,
        "the generated set must hit: {hits} hits over {comparisons} comparisons"
    );
}

#[test]
fn differential_conformance_corpus_single_observation() {
    let path = shared_dir().join("conformance/patterns-match.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the conformance corpus is required ({}): {e}; set CAIRN_SHARED_DIR",
            path.display()
        )
    });
    let mut patterns = Vec::new();
    let mut records = Vec::new();
    let mut own: Vec<(usize, Vec<usize>)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        let pattern = case["pattern"].as_str().unwrap().to_string();
        let Ok(p) = Pattern::validate(&pattern) else {
            continue;
        };
        if !matches!(p.root(), cairn_pattern::ObservationExpr::Comparison(_)) {
            continue;
        }
        let mut objects: Vec<Value> = case["observed_data"].as_array().unwrap().clone();
        objects.extend(case["objects"].as_array().unwrap().iter().cloned());
        let bundle = json!({"type": "bundle", "id": "bundle--x", "objects": objects});
        let recs = cairn_formats::stix::read_observed_data(&bundle.to_string()).unwrap();
        let start = records.len();
        records.extend(recs);
        own.push((patterns.len(), (start..records.len()).collect()));
        patterns.push(pattern);
    }
    assert!(
        patterns.len() > 500,
        "{} single-observation cases",
        patterns.len()
    );

    // Indexes over groups of corpus patterns (so that anchors of many patterns share the
    // index); each case's records are checked against its own pattern, and every hit is
    // confirmed by the evaluator.
    let mut agree = 0;
    for group in own.chunks(150) {
        let mut b = MatcherBuilder::new(Options::default());
        let mut slot = std::collections::HashMap::new();
        for (pi, _) in group {
            let i = b.add(&indicator(*pi, &patterns[*pi])).unwrap().unwrap();
            slot.insert(i, *pi);
        }
        let mut m = b.build();
        let mut hits = Vec::new();
        for (pi, recs) in group {
            let p = Pattern::parse(&patterns[*pi]).unwrap();
            for r in recs {
                hits.clear();
                m.match_record(&records[*r], &mut hits);
                let got = hits.iter().any(|h| slot[&h.indicator] == *pi);
                let want = evaluate(&p, &records[*r]);
                assert_eq!(
                    got, want,
                    "conformance pattern {} on observation {}",
                    patterns[*pi], records[*r].position
                );
                for h in &hits {
                    let q = Pattern::parse(&patterns[slot[&h.indicator]]).unwrap();
                    assert!(
                        evaluate(&q, &records[*r]),
                        "hit {} not confirmed",
                        q.source()
                    );
                }
                agree += 1;
            }
        }
    }
    assert!(agree > 500);
}

#[test]
fn conformance_observations_agree_with_the_reference_view() {
    // The records built from STIX input are what `Observation::from_observed_data` sees.
    let path = shared_dir().join("conformance/patterns-match.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut checked = 0;
    for line in text.lines().take(400) {
        let case: Value = serde_json::from_str(line).unwrap();
        let Ok(p) = Pattern::validate(case["pattern"].as_str().unwrap()) else {
            continue;
        };
        if !matches!(p.root(), cairn_pattern::ObservationExpr::Comparison(_)) {
            continue;
        }
        let mut objects: Vec<Value> = case["observed_data"].as_array().unwrap().clone();
        objects.extend(case["objects"].as_array().unwrap().iter().cloned());
        let reference = cairn_pattern::observations_from_bundle(objects.iter()).unwrap();
        let bundle = json!({"type": "bundle", "id": "bundle--x", "objects": objects});
        let recs = cairn_formats::stix::read_observed_data(&bundle.to_string()).unwrap();
        assert_eq!(reference.len(), recs.len());
        for (o, r) in reference.iter().zip(&recs) {
            assert_eq!(
                p.matches(std::slice::from_ref(o)),
                evaluate(&p, r),
                "{}",
                p.source()
            );
            checked += 1;
        }
        let expected = case["expected"].as_bool().unwrap();
        assert_eq!(
            p.matches(&reference),
            expected,
            "corpus expectation for {}",
            p.source()
        );
    }
    assert!(checked > 50);
}

fn eve_record(line: &str) -> Record {
    let mut r = LogReader::new(BufReader::new(line.as_bytes()), &Format::Eve);
    let mut rec = Record::new();
    assert!(r.next_record(&mut rec).unwrap(), "{line}");
    rec
}

fn dns(time: &str, name: &str) -> Record {
    eve_record(&format!(
        r#"{{"timestamp":"{time}","event_type":"dns","src_ip":"10.0.0.15","src_port":5000,"dest_ip":"10.0.0.1","dest_port":53,"proto":"UDP","dns":{{"type":"query","rrname":"{name}"}}}}"#
    ))
}

#[test]
fn valid_until_and_revocation() {
    let mut b = MatcherBuilder::default();
    let mut ind = indicator(1, "[domain-name:value = 'a.example']");
    ind["valid_until"] = json!("2024-03-17T12:00:00Z");
    b.add(&ind).unwrap().unwrap();
    let mut revoked = indicator(2, "[domain-name:value = 'a.example']");
    revoked["revoked"] = json!(true);
    let e = b.add(&revoked).unwrap_err();
    assert_eq!(e.reason, SkipReason::Revoked);
    let mut m = b.build();
    let mut hits = Vec::new();
    m.match_record(&dns("2024-03-17T11:59:59.999999Z", "a.example"), &mut hits);
    assert_eq!(hits.len(), 1, "before valid_until");
    m.match_record(&dns("2024-03-17T12:00:00Z", "a.example"), &mut hits);
    assert_eq!(
        hits.len(),
        1,
        "at valid_until the indicator no longer matches"
    );
    assert_eq!(m.stats().expired, 1);
    assert_eq!(
        hits[0].matched,
        vec![(
            "domain-name".to_string(),
            "value".to_string(),
            json!("a.example")
        )]
    );
}

#[test]
fn invalid_patterns_are_reported_with_their_id_and_skipped() {
    let cases = [
        ("[domain-name:value = 'unterminated]", "invalid pattern"),
        ("[file:hashes.MD5 = 'not-a-md5']", "invalid pattern"),
        (
            "[x:y = 1] REPEATS 2 TIMES REPEATS 3 TIMES",
            "invalid pattern",
        ),
    ];
    let mut b = MatcherBuilder::default();
    for (n, (p, needle)) in cases.iter().enumerate() {
        let e = b.add(&indicator(n, p)).unwrap_err();
        assert_eq!(e.id, format!("indicator--00000000-0000-4000-8000-{n:012}"));
        assert!(e.to_string().contains(needle), "{e}");
    }
    let mut other = indicator(9, "alert tcp any any -> any any (msg:\"x\";)");
    other["pattern_type"] = json!("snort");
    assert!(matches!(
        b.add(&other).unwrap_err().reason,
        SkipReason::PatternType(_)
    ));
    assert_eq!(
        b.add(&json!({"type": "malware", "id": "malware--1"}))
            .unwrap(),
        None
    );
    assert!(
        b.add(&indicator(10, "[ipv4-addr:value = '10.0.0.1']"))
            .unwrap()
            .is_some()
    );
    assert_eq!(b.len(), 1);
}

#[test]
fn followedby_within_matches_on_the_stream_and_evicts_old_partials() {
    let mut b = MatcherBuilder::new(Options {
        max_partial: 4,
        horizon_micros: 60_000_000,
        parse_cache: 16,
    });
    let p = "([domain-name:value = 'first.example'] FOLLOWEDBY [domain-name:value = 'second.example']) WITHIN 60 SECONDS";
    let i = b.add(&indicator(1, p)).unwrap().unwrap();
    assert!(
        b.add(&indicator(
            2,
            "[domain-name:value = 'first.example'] AND [domain-name:value = 'third.example']"
        ))
        .unwrap()
        .is_some()
    );
    let mut m = b.build();
    assert!(m.is_multi_observation(i));
    let mut hits = Vec::new();
    // The second comes too late: the first is evicted (older than the window).
    m.match_record(&dns("2024-03-17T10:00:00Z", "first.example"), &mut hits);
    m.match_record(&dns("2024-03-17T10:01:30Z", "second.example"), &mut hits);
    assert!(hits.is_empty(), "{hits:?}");
    // In order and in time: a hit naming both records.
    m.match_record(&dns("2024-03-17T10:02:00Z", "first.example"), &mut hits);
    m.match_record(&dns("2024-03-17T10:02:30Z", "unrelated.example"), &mut hits);
    m.match_record(&dns("2024-03-17T10:02:40Z", "second.example"), &mut hits);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].indicator, i);
    assert_eq!(
        hits[0].records.len(),
        2,
        "the buffer held first.example (10:02:00) and second.example: {hits:?}"
    );
    // The partial state was consumed by the hit.
    m.match_record(&dns("2024-03-17T10:02:50Z", "second.example"), &mut hits);
    assert_eq!(hits.len(), 1);
    // Observation AND in any order.
    m.match_record(&dns("2024-03-17T10:03:00Z", "third.example"), &mut hits);
    m.match_record(&dns("2024-03-17T10:03:10Z", "first.example"), &mut hits);
    assert_eq!(hits.len(), 2, "{hits:?}");
    // Bounded state: never more than max_partial records per pattern.
    for s in 0..20 {
        m.match_record(
            &dns(&format!("2024-03-17T10:04:{s:02}Z"), "first.example"),
            &mut hits,
        );
    }
    assert!(m.partial_records() <= 2 * 4, "{}", m.partial_records());
}

#[test]
fn repeats_counts_records() {
    let mut b = MatcherBuilder::default();
    b.add(&indicator(
        1,
        "[domain-name:value = 'beacon.example'] REPEATS 3 TIMES WITHIN 10 SECONDS",
    ))
    .unwrap()
    .unwrap();
    let mut m = b.build();
    let mut hits = Vec::new();
    for t in ["00", "01", "30", "31", "32"] {
        m.match_record(
            &dns(&format!("2024-03-17T10:00:{t}Z"), "beacon.example"),
            &mut hits,
        );
    }
    assert_eq!(
        hits.len(),
        1,
        "three within ten seconds only at :30-:32: {hits:?}"
    );
    assert_eq!(hits[0].records.len(), 3);
    assert_eq!(
        hits[0].time.map(cairn_formats::format_micros).as_deref(),
        Some("2024-03-17T10:00:32.000000Z")
    );
}

#[test]
fn multi_observation_leaves_with_sets_quoted_keys_and_negations() {
    // Each bracketed expression is re-evaluated on its own to decide what to keep; these
    // spellings must survive that.
    let mut b = MatcherBuilder::default();
    let p = "[domain-name:value IN ('x.example', 'first.example')] AND [network-traffic:extensions.'http-request-ext'.request_method NOT = 'post' AND domain-name:value LIKE 'sec%']";
    b.add(&indicator(1, p)).unwrap().unwrap();
    let mut m = b.build();
    let mut hits = Vec::new();
    m.match_record(&dns("2024-03-17T10:00:00Z", "first.example"), &mut hits);
    assert!(hits.is_empty());
    let http = eve_record(
        r#"{"timestamp":"2024-03-17T10:00:05Z","event_type":"http","src_ip":"10.0.0.15","src_port":5000,"dest_ip":"192.0.2.1","dest_port":80,"proto":"TCP","http":{"hostname":"second.example","url":"/","http_method":"GET"}}"#,
    );
    m.match_record(&http, &mut hits);
    assert!(
        hits.is_empty(),
        "LIKE 'sec%' does not hold on the same root object as the method"
    );
    assert_eq!(m.partial_records(), 1);
}

/// The eve files the prefilter is checked on: this crate's fixture and the readers' (hand-made
/// records, edge cases, generated benchmark lines).
fn eve_fixture_paths() -> Vec<PathBuf> {
    let formats = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cairn-formats/tests/fixtures");
    vec![
        fixtures().join("records.eve.json"),
        formats.join("eve.json"),
        formats.join("eve-edge.json"),
        formats.join("eve-generated.json"),
    ]
}

/// Exact-value patterns (what the prefilter serves) from the facts of every other record, so
/// that the rest mostly miss: single values, `IN` sets, `AND` inside a bracket, and
/// multi-observation `AND` / `FOLLOWEDBY ... WITHIN` over neighbouring records.
fn exact_patterns(records: &[Record]) -> Vec<String> {
    let comparison = |f: &cairn_formats::Fact<'_>| {
        let p = pattern_path(f.sco_type, &f.full_path(), None);
        format!("{p} = {}", literal(&f.value))
    };
    let mut set = BTreeSet::new();
    let mut previous: Option<String> = None;
    for rec in records.iter().step_by(2) {
        // Values, hashes and references: not the protocols, ports, issuers, file names and
        // media types that many records share.
        let mut facts = rec.facts();
        facts.retain(|f| f.path == "value" || f.path.starts_with("hashes.") || f.sub.is_some());
        for f in &facts {
            set.insert(format!("[{}]", comparison(f)));
        }
        let Some(first) = facts.first() else { continue };
        let first = comparison(first);
        if let Some(last) = facts.last() {
            set.insert(format!("[{first} AND {}]", comparison(last)));
            if let FactValue::Str(s) = last.value {
                let p = pattern_path(last.sco_type, &last.full_path(), None);
                set.insert(format!("[{p} IN ({}, 'no-such-value')]", quote(s)));
            }
        }
        if let Some(prev) = &previous {
            set.insert(format!("[{prev}] AND [{first}]"));
            set.insert(format!("([{prev}] FOLLOWEDBY [{first}]) WITHIN 2 SECONDS"));
        }
        previous = Some(first);
    }
    set.into_iter().collect()
}

/// Read `path` and match every record (`filtered`: through `Matcher::prefilter`, as
/// `cairn match` does). Returns the hits, the reader's counters and how many records were built.
fn match_file(
    m: &mut cairn_match::Matcher,
    path: &Path,
    filtered: bool,
) -> (Vec<Hit>, cairn_formats::ReadStats, u64) {
    let f = BufReader::with_capacity(700, std::fs::File::open(path).unwrap());
    let mut reader = LogReader::new(f, &Format::Eve);
    let mut rec = Record::new();
    let mut hits = Vec::new();
    let mut built = 0;
    loop {
        let got = match (filtered, m.prefilter()) {
            (true, Some(mut p)) => reader.next_record_filtered(&mut rec, &mut p),
            (true, None) => panic!("an exact-only index has a prefilter"),
            (false, _) => reader.next_record(&mut rec),
        };
        if !got.unwrap() {
            break;
        }
        built += 1;
        m.match_record(&rec, &mut hits);
    }
    (hits, reader.into_stats(), built)
}

/// Records the prefilter passes over are never built, yet the hits (with their facts and
/// records), the reader's counters and the matcher's counters are those of matching every
/// record, multi-observation state and `valid_until` included.
#[test]
fn prefilter_gives_the_hits_of_matching_every_record() {
    let paths = eve_fixture_paths();
    let mut records = Vec::new();
    for p in &paths {
        let mut r = LogReader::new(
            BufReader::new(std::fs::File::open(p).unwrap()),
            &Format::Eve,
        );
        let mut rec = Record::new();
        while r.next_record(&mut rec).unwrap() {
            records.push(rec.clone());
        }
    }
    let patterns = exact_patterns(&records);
    assert!(patterns.len() > 300, "{} patterns", patterns.len());
    let build = || {
        let mut b = MatcherBuilder::new(Options::default());
        for (n, p) in patterns.iter().enumerate() {
            let mut ind = indicator(n, p);
            if n % 7 == 0 {
                ind["valid_until"] = json!("2024-03-17T18:03:15Z");
            }
            // Values the validator refuses (a short "hash") are skipped as by `cairn match`.
            if let Err(e) = b.add(&ind) {
                assert!(Pattern::validate(p).is_err(), "{p}: {e}");
            }
        }
        assert!(b.len() > 300, "{} indicators", b.len());
        b.build()
    };
    let (mut plain, mut filtered) = (build(), build());
    let (mut total_hits, mut passed) = (0, 0);
    for path in &paths {
        let (want, want_stats, _) = match_file(&mut plain, path, false);
        let (got, got_stats, built) = match_file(&mut filtered, path, true);
        assert_eq!(got, want, "{}: hits", path.display());
        assert_eq!(got_stats, want_stats, "{}: reader counters", path.display());
        assert_eq!(filtered.stats(), plain.stats(), "{}", path.display());
        assert_eq!(filtered.partial_records(), plain.partial_records());
        total_hits += want.len();
        passed += want_stats.records - built;
    }
    assert!(total_hits > 100, "{total_hits} hits");
    assert!(passed > 50, "only {passed} records passed over");
    assert!(filtered.stats().expired > 0);
}

/// Indexes that need every record (CIDRs, literals, type presence) have no prefilter.
#[test]
fn prefilter_only_for_exact_indexes() {
    for (p, has) in [
        ("[ipv4-addr:value = '198.51.100.1']", true),
        ("[ipv4-addr:value ISSUBSET '198.51.100.0/24']", false),
        ("[domain-name:value LIKE '%.evil-domain.com']", false),
        ("[domain-name:value != 'a.example']", false),
    ] {
        let mut b = MatcherBuilder::default();
        b.add(&indicator(1, p)).unwrap();
        assert_eq!(b.build().prefilter().is_some(), has, "{p}");
    }
}
