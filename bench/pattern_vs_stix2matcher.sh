#!/usr/bin/env bash
# Time `cairn pattern eval` against the OASIS reference matcher (stix2-matcher, Python) on the
# same cases: the whole STIX pattern match corpus, in one run. Prints cases/s and the ratio.
#
#   bench/pattern_vs_stix2matcher.sh
#   CAIRN_BIN=target/release/cairn PYTHON=.venv/bin/python RUNS=5 bench/pattern_vs_stix2matcher.sh
#
# Three comparisons, all on the same cases in one run, each side timed as the best of $RUNS
# passes over all cases:
#   * compile + evaluate, per case, with the corpus already parsed into JSON values on both
#     sides. Cairn: Pattern::parse + Pattern::matches_bundle (takes the observations from the
#     bundle objects, then evaluates; examples/corpus_eval.rs). stix2-matcher:
#     match(pattern, [bundle]) (parses the pattern, builds the observations from the bundle,
#     evaluates).
#   * evaluate only, patterns compiled beforehand. Cairn: Pattern::matches_bundle.
#     stix2-matcher: Pattern(...).match([bundle]). On both sides MATCHES regexes compiled
#     earlier may be reused: Cairn keeps them in the parsed pattern and in a process-wide cache
#     of 512 compiled regexes, oldest first out; stix2-matcher calls re.compile, whose
#     module-level cache is 512 entries, oldest first out (Python 3.11). Match results are
#     never kept.
#   * the `cairn pattern eval` CLI end to end (process start, JSON parsing of every case,
#     writing results) against stix2-matcher's match() calls only.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${CAIRN_SHARED_DIR:-$root/../shared}"
corpus="$shared/conformance/patterns-match.jsonl"
[ -f "$corpus" ] || { echo "corpus not found: $corpus (set CAIRN_SHARED_DIR)" >&2; exit 2; }
python="${PYTHON:-$root/.venv/bin/python}"
runs="${RUNS:-5}"

if [ -n "${CAIRN_BIN:-}" ]; then
    bin="$CAIRN_BIN"
else
    (cd "$root" && cargo build -q --release -p cairn)
    bin="$root/target/release/cairn"
fi

cases=$(grep -c . "$corpus")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# cairn: best of $runs end-to-end runs.
best=""
for _ in $(seq "$runs"); do
    t0=$(date +%s%N)
    "$bin" pattern eval < "$corpus" > "$work/cairn.jsonl"
    t1=$(date +%s%N)
    ns=$((t1 - t0))
    if [ -z "$best" ] || [ "$ns" -lt "$best" ]; then best=$ns; fi
done
errors=$(grep -c '"result":"error"' "$work/cairn.jsonl" || true)

# cairn in-process: the corpus parsed to JSON first, then the loop timed (best of $runs).
if [ -n "${CAIRN_EXAMPLE:-}" ]; then
    example="$CAIRN_EXAMPLE"
else
    (cd "$root" && cargo build -q --release -p cairn-pattern --example corpus_eval)
    example="$root/target/release/examples/corpus_eval"
fi
"$example" "$corpus" "$runs" > "$work/inproc.txt"
rs_full=$(awk '$1=="parse+eval"{print $2}' "$work/inproc.txt")
rs_eval=$(awk '$1=="eval"{print $2}' "$work/inproc.txt")

# stix2-matcher: the same cases, parsed to Python objects first. `full` = match(pattern, ...)
# (compiles the pattern each time); `eval` = Pattern(...) compiled beforehand, then .match().
# Best of $runs passes each, as for cairn.
"$python" - "$corpus" "$runs" > "$work/py.txt" <<'PY'
import json, sys, time
from stix2matcher.matcher import match, Pattern
cases = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
for c in cases:
    c["bundle"] = [{"type": "bundle", "id": "bundle--" + c["id"], "objects": c["observed_data"] + c["objects"]}]
runs = int(sys.argv[2])
best_full = None
for _ in range(runs):
    errors = 0
    t0 = time.perf_counter()
    for c in cases:
        try:
            match(c["pattern"], c["bundle"], stix_version="2.1")
        except Exception:
            errors += 1
    t1 = time.perf_counter()
    best_full = t1 - t0 if best_full is None else min(best_full, t1 - t0)
compiled = []
for c in cases:
    try:
        compiled.append((Pattern(c["pattern"], stix_version="2.1"), c))
    except Exception:
        pass
best_eval = None
for _ in range(runs):
    t2 = time.perf_counter()
    for p, c in compiled:
        try:
            p.match(c["bundle"])
        except Exception:
            pass
    t3 = time.perf_counter()
    best_eval = t3 - t2 if best_eval is None else min(best_eval, t3 - t2)
print(int(best_full * 1e9), errors, int(best_eval * 1e9))
PY
read -r py_ns py_errors py_eval_ns < "$work/py.txt"

awk -v n="$cases" -v c="$best" -v p="$py_ns" -v pe_ns="$py_eval_ns" -v rf="$rs_full" -v re="$rs_eval" \
    -v ce="$errors" -v pe="$py_errors" -v runs="$runs" 'BEGIN {
    printf "cases: %d (patterns-match.jsonl)\n", n;
    printf "%-44s %12s %12s %10s\n", "what is timed", "cairn c/s", "stix2m c/s", "ratio";
    printf "%-44s %12.0f %12.0f %9.1fx\n", "per case: compile pattern + evaluate", n/(rf/1e9), n/(p/1e9), p/rf;
    printf "%-44s %12.0f %12.0f %9.1fx\n", "per case: evaluate (pattern compiled before)", n/(re/1e9), n/(pe_ns/1e9), pe_ns/re;
    printf "%-44s %12.0f %12.0f %9.1fx\n", "cairn CLI end to end vs match() calls", n/(c/1e9), n/(p/1e9), p/c;
    printf "(both sides best of %d passes; cairn CLI errors %d, stix2-matcher errors %d)\n", runs, ce, pe;
}'
