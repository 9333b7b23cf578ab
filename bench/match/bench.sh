#!/usr/bin/env bash
# Benchmark of `cairn match` (compiled indicator index) on one core.
#
#   bench/match/bench.sh [--indicators N] [--records M] [--hit-rate R] [--sizes "10000 100000 1000000"]
#
# Builds release, generates (into bench/out/, git-ignored) N indicators of the exact-value mix
# (IPv4, domains, URLs, SHA-256, MD5) plus a full mix (CIDRs, LIKE, MATCHES, FOLLOWEDBY) and an
# eve.json of M records (about 590 bytes a line: 10M records is about 6 GB), then measures
#   - end-to-end records/s of `cairn match --format eve` pinned to core 0, for each size,
#   - match-only records/s (records pre-parsed in memory) for each size,
#   - read-and-match records/s of the same loop without the CLI (`gen stream`, 1M records),
#   - memory per compiled indicator beyond the pattern text (index estimate and RSS delta),
#   - max RSS of each run (/usr/bin/time -v).
# Results go to bench/out/match-results.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."

INDICATORS=1000000
RECORDS=10000000
HIT_RATE=0.001
SIZES=""
while [ $# -gt 0 ]; do
  case "$1" in
    --indicators) INDICATORS="$2"; shift 2 ;;
    --records) RECORDS="$2"; shift 2 ;;
    --hit-rate) HIT_RATE="$2"; shift 2 ;;
    --sizes) SIZES="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$SIZES" ]; then
  SIZES=""
  for s in 10000 100000 1000000; do
    if [ "$s" -le "$INDICATORS" ]; then SIZES="$SIZES $s"; fi
  done
fi

OUT=bench/out
mkdir -p "$OUT"
need_kb=$(( RECORDS * 600 / 1024 + INDICATORS / 2 ))
free_kb=$(df -Pk "$OUT" | awk 'NR==2 {print $4}')
if [ "$free_kb" -lt "$need_kb" ]; then
  echo "not enough disk in $OUT: need about $((need_kb / 1024)) MiB, have $((free_kb / 1024)) MiB" >&2
  exit 1
fi

cargo build --release -p cairn -p cairn-match --examples --bin cairn
CAIRN=target/release/cairn
GEN=target/release/examples/gen
PIN=""
if command -v taskset >/dev/null; then PIN="taskset -c 0"; fi
TIME=""
if [ -x /usr/bin/time ]; then TIME="/usr/bin/time -v"; fi

EVE="$OUT/eve-$RECORDS-$INDICATORS.json"
if [ ! -s "$EVE" ]; then
  echo "generating $RECORDS eve.json records ($EVE)"
  "$GEN" eve "$RECORDS" --indicators "$INDICATORS" --hit-rate "$HIT_RATE" > "$EVE"
fi
RES="$OUT/match-results.txt"
{
  echo "# cairn match benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# records=$RECORDS ($(du -h "$EVE" | cut -f1)) hit_rate=$HIT_RATE"
} > "$RES"

run_size() {
  local n="$1" mix="$2"
  local ind="$OUT/indicators-$mix-$n.jsonl"
  if [ ! -s "$ind" ]; then
    "$GEN" indicators "$n" --mix "$mix" > "$ind"
  fi
  echo "== $mix mix, $n indicators" | tee -a "$RES"
  "$GEN" mem "$ind" | tee -a "$RES"
  local err="$OUT/match-$mix-$n.err"
  # shellcheck disable=SC2086
  $PIN $TIME "$CAIRN" match --indicators "$ind" --input "$EVE" --format eve > "$OUT/hits-$mix-$n.jsonl" 2> "$err"
  grep -E "indicators compiled|records/s" "$err" | tee -a "$RES"
  grep -E "Maximum resident set size" "$err" | sed 's/^\s*/max RSS (KiB): /' | tee -a "$RES" || true
  # shellcheck disable=SC2086
  $PIN "$GEN" throughput "$ind" "$EVE" --records 300000 | tee -a "$RES"
  # Read and match in one pass without the CLI's output (same loop as above, a smaller binary).
  # shellcheck disable=SC2086
  $PIN "$GEN" stream "$ind" "$EVE" --records 1000000 | tee -a "$RES"
}

for n in $SIZES; do
  run_size "$n" exact
done
run_size "$(echo "$SIZES" | awk '{x=$NF; if (x>100000) x=100000; print x}')" full
echo "results in $RES"
