//! Time [`cairn_store::ingest::prepare_version`] (validation and labels of one object) over a
//! JSON Lines file of objects, one thread: `cargo run --release -p cairn-store --example
//! prepare_bench -- OBJECTS.jsonl [PASSES]`.

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: prepare_bench OBJECTS.jsonl [PASSES]");
    let passes: usize = args.next().map_or(5, |p| p.parse().expect("passes"));
    let text = std::fs::read_to_string(&path).expect("read the objects");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut best = f64::MAX;
    for _ in 0..passes {
        let t = std::time::Instant::now();
        let mut ok = 0;
        for l in &lines {
            ok += usize::from(cairn_store::ingest::prepare_version(l).is_ok());
        }
        assert_eq!(ok, lines.len(), "every object is valid");
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{} objects: best {:.3} ms, {:.2} µs per object",
        lines.len(),
        best * 1e3,
        best * 1e6 / lines.len() as f64
    );
}
