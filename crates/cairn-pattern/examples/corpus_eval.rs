//! Times pattern evaluation in-process over the match corpus, the way the reference matcher is
//! timed in `bench/pattern_vs_stix2matcher.sh`: the corpus is parsed into JSON values first, then
//! the loop is timed. Prints two lines: `parse+eval NS` (compile the pattern, then
//! `Pattern::matches_bundle`: take the observations from the bundle objects and evaluate) and
//! `eval NS` (patterns compiled beforehand, `matches_bundle` only), best of RUNS.
//! LOOPS (`both`, the default, `full` or `eval`) runs only one of the two loops, e.g. to count
//! instructions per loop under callgrind (the difference between RUNS=2 and RUNS=1).
//!
//! `cargo run --release -p cairn-pattern --example corpus_eval -- CORPUS [RUNS [LOOPS]]`

use std::time::Instant;

use cairn_pattern::Pattern;
use serde_json::Value;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: corpus_eval CORPUS [RUNS]");
    let runs: usize = args
        .next()
        .map_or(5, |r| r.parse().expect("RUNS is a number"));
    let loops = args.next().unwrap_or_else(|| "both".to_string());
    assert!(
        ["both", "full", "eval"].contains(&loops.as_str()),
        "LOOPS is both, full or eval"
    );
    let (run_full, run_eval) = (loops != "eval", loops != "full");
    let text = std::fs::read_to_string(&path).expect("readable corpus");
    let cases: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let bundles: Vec<(&str, Vec<&Value>)> = cases
        .iter()
        .map(|c| {
            let objs = c["observed_data"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(c["objects"].as_array().into_iter().flatten())
                .collect();
            (c["pattern"].as_str().expect("pattern"), objs)
        })
        .collect();

    let mut best_full = u128::MAX;
    let mut hits_full = 0;
    for _ in 0..if run_full { runs } else { 0 } {
        let t0 = Instant::now();
        hits_full = 0;
        for (pattern, objs) in &bundles {
            let Ok(p) = Pattern::parse(pattern) else {
                continue;
            };
            let Ok(hit) = p.matches_bundle(objs.iter().copied()) else {
                continue;
            };
            hits_full += usize::from(hit);
        }
        best_full = best_full.min(t0.elapsed().as_nanos());
    }

    let compiled: Vec<(Pattern, &Vec<&Value>)> = bundles
        .iter()
        .filter_map(|(p, objs)| Pattern::parse(p).ok().map(|p| (p, objs)))
        .collect();
    let mut best_eval = u128::MAX;
    let mut hits_eval = 0;
    for _ in 0..if run_eval { runs } else { 0 } {
        let t0 = Instant::now();
        hits_eval = 0;
        for (p, objs) in &compiled {
            let Ok(hit) = p.matches_bundle(objs.iter().copied()) else {
                continue;
            };
            hits_eval += usize::from(hit);
        }
        best_eval = best_eval.min(t0.elapsed().as_nanos());
    }
    if run_full && run_eval {
        assert_eq!(hits_full, hits_eval, "both loops must agree");
    }
    println!("cases {}", bundles.len());
    println!("hits {}", if run_full { hits_full } else { hits_eval });
    if run_full {
        println!("parse+eval {best_full}");
    }
    if run_eval {
        println!("eval {best_eval}");
    }
}
