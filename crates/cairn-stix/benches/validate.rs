//! Throughput of `validate_object` and `sco_id` over the valid objects of the test corpus.
//! Run: `cargo bench -p cairn-stix --bench validate`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;

fn corpus() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stix_corpus.json"
    );
    let text = std::fs::read_to_string(path).expect("corpus fixture");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("corpus JSON");
    cases
        .into_iter()
        .filter(|c| c["kind"] == "object")
        .map(|c| c["object"].clone())
        .collect()
}

fn bench(c: &mut Criterion) {
    let objects = corpus();
    let mut g = c.benchmark_group("stix");
    g.throughput(Throughput::Elements(objects.len() as u64));
    g.bench_function("validate_object (corpus, valid and invalid)", |b| {
        b.iter(|| {
            objects
                .iter()
                .filter(|o| cairn_stix::validate_object(o).is_ok())
                .count()
        })
    });
    let valid: Vec<&Value> = objects
        .iter()
        .filter(|o| cairn_stix::validate_object(o).is_ok())
        .collect();
    g.throughput(Throughput::Elements(valid.len() as u64));
    g.bench_function("validate_object (valid corpus objects)", |b| {
        b.iter(|| {
            valid
                .iter()
                .filter(|o| cairn_stix::validate_object(o).is_ok())
                .count()
        })
    });
    let scos: Vec<&Value> = objects
        .iter()
        .filter(|o| {
            cairn_stix::id_contributing_properties(o["type"].as_str().unwrap_or("")).is_some()
        })
        .collect();
    g.throughput(Throughput::Elements(scos.len() as u64));
    g.bench_function("sco_id (corpus SCOs)", |b| {
        b.iter(|| {
            scos.iter()
                .filter_map(|o| cairn_stix::sco_id(o["type"].as_str().unwrap_or(""), o))
                .count()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
