#!/usr/bin/env bash
# STIX pattern conformance: pipes both OASIS-derived corpora through `cairn pattern` and scores
# the results with the corpus checker. Fails unless every case of both corpora passes.
#
#   tests/conformance.sh            (builds target/debug/cairn unless CAIRN_BIN is set)
#   CAIRN_BIN=path/to/cairn CAIRN_SHARED_DIR=path/to/shared tests/conformance.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${CAIRN_SHARED_DIR:-$root/../shared}"
corpora="$shared/conformance"
[ -d "$corpora" ] || { echo "conformance corpora not found at $corpora (set CAIRN_SHARED_DIR)" >&2; exit 2; }

if [ -n "${CAIRN_BIN:-}" ]; then
    bin="$CAIRN_BIN"
else
    (cd "$root" && cargo build -q -p cairn)
    bin="$root/target/debug/cairn"
fi
[ -x "$bin" ] || { echo "cairn binary not found at $bin" >&2; exit 2; }

python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
run() {
    local name="$1" corpus="$2" cmd="$3"
    echo "== $name: cairn pattern $cmd < $(basename "$corpus")"
    if ! "$bin" pattern "$cmd" < "$corpus" > "$work/$name.jsonl"; then
        echo "cairn pattern $cmd failed" >&2
        status=1
        return
    fi
    # The checker exits 1 unless every case passed.
    if ! "$python" "$corpora/check_pattern_corpus.py" "$corpus" "$work/$name.jsonl" --show 5; then
        status=1
    fi
}

run match "$corpora/patterns-match.jsonl" eval
run syntax "$corpora/patterns-syntax.jsonl" validate

if [ "$status" -ne 0 ]; then
    echo "conformance: FAILED" >&2
else
    echo "conformance: every case of both corpora passes"
fi
exit "$status"
