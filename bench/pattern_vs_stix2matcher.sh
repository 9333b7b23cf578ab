#!/usr/bin/env bash
# Time `cairn pattern eval` against the OASIS reference matcher (stix2-matcher, Python) on the
# same cases: the whole STIX pattern match corpus, in one run. Prints cases/s and the ratio.
#
#   bench/pattern_vs_stix2matcher.sh
#   CAIRN_BIN=target/release/cairn PYTHON=.venv/bin/python RUNS=5 bench/pattern_vs_stix2matcher.sh
#
# cairn is timed end to end (process start, JSON parsing of every case, validation, evaluation,
# writing results); stix2-matcher is timed around its match() calls only (the corpus is
# already parsed into Python objects), which favours the reference.
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

# stix2-matcher: one pass over the same cases.
"$python" - "$corpus" > "$work/py.txt" <<'PY'
import json, sys, time
from stix2matcher.matcher import match
cases = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
bundles = [{"type": "bundle", "id": "bundle--" + c["id"], "objects": c["observed_data"] + c["objects"]}
           for c in cases]
errors = 0
t0 = time.perf_counter()
for c, b in zip(cases, bundles):
    try:
        match(c["pattern"], [b], stix_version="2.1")
    except Exception:
        errors += 1
t1 = time.perf_counter()
print(int((t1 - t0) * 1e9), errors)
PY
read -r py_ns py_errors < "$work/py.txt"

awk -v n="$cases" -v c="$best" -v p="$py_ns" -v ce="$errors" -v pe="$py_errors" -v runs="$runs" 'BEGIN {
    cr = n / (c / 1e9); pr = n / (p / 1e9);
    printf "cases: %d (patterns-match.jsonl)\n", n;
    printf "cairn pattern eval   : %10.1f ms  %12.0f cases/s  (best of %d end-to-end runs, %d errors)\n", c / 1e6, cr, runs, ce;
    printf "stix2-matcher match(): %10.1f ms  %12.0f cases/s  (match() calls only, %d errors)\n", p / 1e6, pr, pe;
    printf "ratio                : %10.1fx\n", cr / pr;
}'
