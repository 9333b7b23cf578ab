//! Parse, validate and evaluate the conformance corpora.
//!
//! `cargo bench -p cairn-pattern --bench pattern` (the corpora are found through
//! `CAIRN_SHARED_DIR` or `../shared` beside the repository).

use std::path::PathBuf;

use cairn_pattern::{Pattern, observations_from_bundle};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;

fn corpus(name: &str) -> Vec<Value> {
    let dir = std::env::var_os("CAIRN_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = dir.join("conformance").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn benches(c: &mut Criterion) {
    let matches = corpus("patterns-match.jsonl");
    let syntax = corpus("patterns-syntax.jsonl");
    let match_patterns: Vec<&str> = matches
        .iter()
        .map(|m| m["pattern"].as_str().expect("pattern"))
        .collect();
    let syntax_patterns: Vec<&str> = syntax
        .iter()
        .map(|m| m["pattern"].as_str().expect("pattern"))
        .collect();

    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(match_patterns.len() as u64));
    g.bench_function("match-corpus patterns", |b| {
        b.iter(|| {
            match_patterns
                .iter()
                .filter(|p| Pattern::parse(p).is_ok())
                .count()
        })
    });
    g.throughput(Throughput::Elements(syntax_patterns.len() as u64));
    g.bench_function("validate syntax corpus", |b| {
        b.iter(|| {
            syntax_patterns
                .iter()
                .filter(|p| cairn_pattern::validate(p).is_ok())
                .count()
        })
    });
    g.finish();

    // Pre-parsed patterns and observations: the cost of evaluation alone.
    let cases: Vec<(Pattern, Vec<&Value>)> = matches
        .iter()
        .map(|m| {
            let p = Pattern::validate(m["pattern"].as_str().expect("pattern")).expect("valid");
            let objs = m["observed_data"]
                .as_array()
                .expect("observed_data")
                .iter()
                .chain(m["objects"].as_array().expect("objects"))
                .collect();
            (p, objs)
        })
        .collect();
    let mut g = c.benchmark_group("eval");
    g.throughput(Throughput::Elements(cases.len() as u64));
    g.bench_function("match corpus, per case", |b| {
        b.iter(|| {
            cases
                .iter()
                .filter(|(p, objs)| {
                    let obs = observations_from_bundle(objs.iter().copied()).expect("observations");
                    p.matches(&obs)
                })
                .count()
        })
    });
    g.finish();
}

criterion_group!(pattern, benches);
criterion_main!(pattern);
