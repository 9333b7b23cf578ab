//! Data-driven tests of the log readers: each fixture log is read and its records (position,
//! time, flat facts) and counters are compared with an `.expected.jsonl` file beside it.
//! Set `CAIRN_BLESS=1` to rewrite the expected files after a reviewed change.

use std::collections::BTreeSet;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use cairn_formats::{
    Fact, FactFilter, FieldMap, Format, LogReader, Record, RecordInfo, format_micros,
};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn record_json(rec: &Record) -> Value {
    let mut facts: Vec<String> = rec
        .facts()
        .iter()
        .map(|f| format!("{}:{}={}", f.sco_type, f.full_path(), f.value))
        .collect();
    facts.sort();
    json!({
        "position": rec.position,
        "time": rec.time.map(format_micros),
        "time_end": rec.time_end.map(format_micros),
        "facts": facts,
    })
}

fn check_observation(rec: &Record) {
    let obs = rec.observation();
    let ids: Vec<&str> = obs
        .objects
        .iter()
        .map(|o| o["id"].as_str().expect("every SCO has an id"))
        .collect();
    for o in &obs.objects {
        let t = o["type"].as_str().unwrap();
        assert!(
            o["id"].as_str().unwrap().starts_with(&format!("{t}--")),
            "id prefix of {o}"
        );
        for (k, v) in o.as_object().unwrap() {
            let refs: Vec<&Value> = if k.ends_with("_ref") {
                vec![v]
            } else if k.ends_with("_refs") {
                v.as_array().unwrap().iter().collect()
            } else {
                continue;
            };
            for r in refs {
                assert!(ids.contains(&r.as_str().unwrap()), "dangling {k} in {o}");
            }
        }
    }
    assert_eq!(rec.observation(), obs, "observation is deterministic");
}

fn run_case(log: &str, format: Format) {
    let path = fixtures().join(log);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = LogReader::new(BufReader::new(file), &format);
    let mut rec = Record::new();
    let mut got = String::new();
    while reader.next_record(&mut rec).expect("io") {
        check_observation(&rec);
        got.push_str(&record_json(&rec).to_string());
        got.push('\n');
    }
    let s = reader.stats();
    let errors: Vec<String> = s
        .errors
        .iter()
        .map(|(l, e)| format!("line {l}: {e}"))
        .collect();
    got.push_str(
        &json!({"stats": {"lines": s.lines, "records": s.records, "malformed": s.malformed, "empty": s.empty, "errors": errors}})
            .to_string(),
    );
    got.push('\n');
    let expected_path = fixtures().join(format!("{log}.expected.jsonl"));
    if std::env::var_os("CAIRN_BLESS").is_some() {
        std::fs::write(&expected_path, &got).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
    for (i, (g, e)) in got.lines().zip(expected.lines()).enumerate() {
        assert_eq!(g, e, "{log}: output line {} differs", i + 1);
    }
    assert_eq!(
        got.lines().count(),
        expected.lines().count(),
        "{log}: number of output lines"
    );
}

#[test]
fn suricata_eve_records_and_counters() {
    run_case("eve.json", Format::Eve);
}

/// Malformed and unusual eve lines (mutations of real ones: escapes, `null`, `-0`, big numbers,
/// duplicate fields, deep nesting, trailing text, lines that span reads of the input): whatever
/// path a line takes through the reader, records, counters and error messages are those that
/// `serde_json` alone gives (the expected file was written by the reader before it had a fast
/// path).
#[test]
fn suricata_eve_edge_cases() {
    run_case("eve-edge.json", Format::Eve);
}

#[test]
fn zeek_json_records_and_counters() {
    run_case("zeek.log", Format::Zeek);
}

#[test]
fn jsonl_with_field_map() {
    let map =
        FieldMap::parse(&std::fs::read_to_string(fixtures().join("map.json")).unwrap()).unwrap();
    run_case("generic.jsonl", Format::Jsonl(map));
}

#[test]
fn field_map_errors_name_the_entry() {
    let cases = [
        (r#"{"fields":{"a":"ipv4-addr"}}"#, "\"a\""),
        (r#"{"fields":{"b":"IPV4:value"}}"#, "\"b\""),
        (
            r#"{"fields":{"c":"network-traffic:src_ref.port"}}"#,
            "\"c\"",
        ),
        (r#"{"fields":{"d":3}}"#, "\"d\""),
        (r#"{"fields":{},"extra":1}"#, "unknown field"),
        ("not json", "not valid JSON"),
    ];
    for (text, needle) in cases {
        let err = FieldMap::parse(text).expect_err(text).to_string();
        assert!(err.contains(needle), "{text}: {err}");
    }
}

#[test]
fn stix_observed_data_keeps_original_objects() {
    let text = std::fs::read_to_string(fixtures().join("observed.json")).unwrap();
    let recs = cairn_formats::stix::read_observed_data(&text).unwrap();
    assert_eq!(recs.len(), 2);
    let facts: Vec<String> = recs[0]
        .facts()
        .iter()
        .map(|f| format!("{}:{}={}", f.sco_type, f.full_path(), f.value))
        .collect();
    assert!(
        facts.contains(&"network-traffic:dst_ref.value=198.51.100.23".to_string()),
        "{facts:?}"
    );
    assert!(
        facts.contains(&"network-traffic:protocols[*]=tcp".to_string()),
        "{facts:?}"
    );
    let obs = recs[0].observation();
    assert_eq!(obs.first_observed, "2024-03-17T18:03:14.000000Z");
    assert_eq!(obs.number_observed, 3);
    assert_eq!(obs.objects.len(), 4, "the observed-data and its three SCOs");
    // STIX 2.0 dictionary form: references are dictionary keys.
    let facts: Vec<String> = recs[1]
        .facts()
        .iter()
        .map(|f| format!("{}:{}={}", f.sco_type, f.full_path(), f.value))
        .collect();
    assert!(
        facts.contains(&"file:hashes.MD5=44d88612fea8a8f36de82e1278abb02f".to_string()),
        "{facts:?}"
    );
}

#[test]
fn timestamps_in_log_styles() {
    let cases = [
        (
            "2024-03-17T18:03:14.123456+0000",
            Some("2024-03-17T18:03:14.123456Z"),
        ),
        (
            "2024-03-17T20:03:14.5+02:00",
            Some("2024-03-17T18:03:14.500000Z"),
        ),
        ("2024-03-17 18:03:14", Some("2024-03-17T18:03:14.000000Z")),
        (
            "2024-03-17T13:03:14-05",
            Some("2024-03-17T18:03:14.000000Z"),
        ),
        ("1970-01-01T00:00:00Z", Some("1970-01-01T00:00:00.000000Z")),
        (
            "2024-03-17T18:03:14.123456789Z",
            Some("2024-03-17T18:03:14.123456Z"),
        ),
        (
            "2024-03-17T18:03:14.000001Z",
            Some("2024-03-17T18:03:14.000001Z"),
        ),
        (
            "0999-12-31T23:59:59.09Z",
            Some("0999-12-31T23:59:59.090000Z"),
        ),
        // Leap days and century years (the day count runs on shifted unsigned years).
        ("2000-02-29T23:59:59Z", Some("2000-02-29T23:59:59.000000Z")),
        ("1900-03-01T00:00:00Z", Some("1900-03-01T00:00:00.000000Z")),
        ("0000-01-01T00:00:00Z", Some("0000-01-01T00:00:00.000000Z")),
        ("9999-12-31T23:59:60Z", Some("9999-12-31T23:59:59.000000Z")),
        ("2024-13-01T00:00:00Z", None),
        ("2024-03-1xT18:03:14Z", None),
        ("2024-03-17T18:03:14.Z", None),
        ("yesterday", None),
    ];
    for (text, want) in cases {
        assert_eq!(
            cairn_formats::parse_time(text)
                .map(format_micros)
                .as_deref(),
            want,
            "{text}"
        );
    }
}

#[test]
fn deterministic_ids_follow_the_stix_namespace() {
    // The id of an ipv4-addr depends only on its value.
    let mut a = Record::new();
    let i = a.add_sco("ipv4-addr");
    a.set_str(i, "value", "198.51.100.3");
    let mut b = Record::new();
    b.position = 99;
    b.time = Some(12);
    b.value_sco("ipv4-addr", "198.51.100.3");
    assert_eq!(
        a.observation().objects[0]["id"],
        b.observation().objects[0]["id"]
    );
    let id = uuid::Uuid::new_v5(
        &uuid::uuid!("00abedb4-aa42-466c-9c01-fed23315a9b7"),
        br#"{"value":"198.51.100.3"}"#,
    );
    assert_eq!(
        a.observation().objects[0]["id"],
        json!(format!("ipv4-addr--{id}"))
    );
}

/// A filter that wants the SCO types of `types` (all when `None`), keeps the facts it is told,
/// and needs every `every`-th record (never when 0).
struct Collect {
    types: Option<Vec<&'static str>>,
    facts: BTreeSet<String>,
    every: u64,
    seen: Vec<RecordInfo>,
}

impl Collect {
    fn new(types: Option<Vec<&'static str>>, every: u64) -> Collect {
        Collect {
            types,
            facts: BTreeSet::new(),
            every,
            seen: Vec::new(),
        }
    }
}

impl FactFilter for Collect {
    fn wants(&mut self, sco_type: &'static str) -> bool {
        self.types.as_ref().is_none_or(|t| t.contains(&sco_type))
    }
    fn fact(&mut self, f: &Fact<'_>) {
        let wanted = self.types.as_ref().is_none_or(|t| t.contains(&f.sco_type));
        assert!(wanted, "a fact of an unwanted type: {f:?}");
        self.facts.insert(fact_text(f));
    }
    fn needs_record(&mut self, record: RecordInfo) -> bool {
        self.seen.push(record);
        self.every != 0 && record.position.is_multiple_of(self.every)
    }
    fn discard(&mut self) {
        self.facts.clear();
    }
}

fn fact_text(f: &Fact<'_>) -> String {
    format!("{}:{}={}", f.sco_type, f.full_path(), f.value)
}

/// The eve fixtures the probe is checked on: hand-made records, the edge cases (escapes,
/// `null`, duplicates, malformed lines...) and generated benchmark lines.
const EVE_FIXTURES: [&str; 3] = ["eve.json", "eve-edge.json", "eve-generated.json"];

/// The probe of a line (what `cairn match` reads most lines with) against the record built
/// from it: the same error, emptiness, times and facts (all of them, or those of some types),
/// line by line.
#[test]
fn eve_probe_agrees_with_the_built_record() {
    let subsets: [Option<Vec<&'static str>>; 3] = [
        None,
        Some(vec!["ipv4-addr", "domain-name", "url", "file"]),
        Some(vec!["network-traffic", "x509-certificate", "ipv6-addr"]),
    ];
    let mut probed = 0;
    for name in EVE_FIXTURES {
        let bytes = std::fs::read(fixtures().join(name)).unwrap();
        let mut parser = Format::Eve.parser();
        for (n, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            // Lines that are not UTF-8 never reach a parser (see the test below).
            let Ok(line) = std::str::from_utf8(raw) else {
                continue;
            };
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            let mut rec = Record::new();
            let built = parser.parse_line(line, &mut rec);
            for types in &subsets {
                let mut filter = Collect::new(types.clone(), 0);
                let probe = parser.probe_line(line, &mut filter);
                let at = format!("{name} line {} with types {types:?}", n + 1);
                match (&built, probe) {
                    (Err(b), Err(p)) => assert_eq!(b, &p, "{at}: the same error"),
                    (Ok(()), Ok(Some(p))) => {
                        assert_eq!(p.empty, rec.is_empty(), "{at}: emptiness");
                        assert_eq!((p.time, p.time_end), (rec.time, rec.time_end), "{at}");
                        let mut want = BTreeSet::new();
                        rec.for_each_fact_where(
                            |t| types.as_ref().is_none_or(|w| w.contains(&t)),
                            |f| {
                                want.insert(fact_text(&f));
                            },
                        );
                        assert_eq!(filter.facts, want, "{at}: facts");
                        probed += 1;
                    }
                    (b, p) => panic!("{at}: built {b:?}, probed {p:?}"),
                }
            }
        }
    }
    assert!(probed > 400, "{probed} lines probed");
}

/// Reading through a filter counts lines, records, malformed and empty lines as plain
/// reading does, and returns exactly the records the filter needs, built in full.
#[test]
fn filtered_reading_counts_as_plain_reading() {
    for name in EVE_FIXTURES {
        for every in [0, 1, 3] {
            let path = fixtures().join(name);
            let open = || BufReader::with_capacity(512, std::fs::File::open(&path).unwrap());
            let mut plain = LogReader::new(open(), &Format::Eve);
            let mut rec = Record::new();
            let mut all = Vec::new();
            while plain.next_record(&mut rec).unwrap() {
                all.push(record_json(&rec));
            }
            let mut filtered = LogReader::new(open(), &Format::Eve);
            let mut filter = Collect::new(None, every);
            let mut needed = Vec::new();
            while filtered
                .next_record_filtered(&mut rec, &mut filter)
                .unwrap()
            {
                needed.push(record_json(&rec));
            }
            let at = format!("{name}, every {every}");
            assert_eq!(filtered.stats(), plain.stats(), "{at}: counters");
            let positions: Vec<u64> = filter.seen.iter().map(|r| r.position).collect();
            let want_positions: Vec<u64> = all
                .iter()
                .map(|r| r["position"].as_u64().unwrap())
                .collect();
            assert_eq!(positions, want_positions, "{at}: every record is seen");
            let want: Vec<&Value> = all
                .iter()
                .filter(|r| every != 0 && r["position"].as_u64().unwrap() % every == 0)
                .collect();
            assert_eq!(
                needed.iter().collect::<Vec<_>>(),
                want,
                "{at}: records needed"
            );
        }
    }
}

/// Formats without a probe build and return every record through a filter, as plain reading.
#[test]
fn filtered_reading_of_formats_without_a_probe_builds_every_record() {
    let map =
        FieldMap::parse(&std::fs::read_to_string(fixtures().join("map.json")).unwrap()).unwrap();
    for (log, format) in [
        ("zeek.log", Format::Zeek),
        ("generic.jsonl", Format::Jsonl(map)),
    ] {
        let open = || BufReader::new(std::fs::File::open(fixtures().join(log)).unwrap());
        let mut rec = Record::new();
        let mut plain = LogReader::new(open(), &format);
        let mut want = Vec::new();
        while plain.next_record(&mut rec).unwrap() {
            want.push(record_json(&rec));
        }
        let mut filtered = LogReader::new(open(), &format);
        let mut filter = Collect::new(None, 0);
        let mut got = Vec::new();
        while filtered
            .next_record_filtered(&mut rec, &mut filter)
            .unwrap()
        {
            got.push(record_json(&rec));
        }
        assert_eq!(got, want, "{log}");
        assert_eq!(filtered.stats(), plain.stats(), "{log}");
        assert!(filter.seen.is_empty() && filter.facts.is_empty(), "{log}");
    }
}
