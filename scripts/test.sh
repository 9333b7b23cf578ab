#!/usr/bin/env bash
# Runs every check of the project: formatting, clippy (warnings are errors), the Rust tests, the
# tests that drive Cairn with the OASIS Python peers, and the STIX pattern conformance corpora.
# Usage: bash scripts/test.sh        (from anywhere; needs ../shared beside the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CAIRN_SHARED_DIR="${CAIRN_SHARED_DIR:-$root/../shared}"
step() { printf '\n==> %s\n' "$*"; }

step "formatting"
cargo fmt --all --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "python virtualenv for the peer tests"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt

step "build"
cargo build --workspace --bins --locked
export CAIRN_BIN="$root/target/debug/cairn"
export PATH="$root/.venv/bin:$PATH"

step "rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

step "python peer tests"
.venv/bin/python -m pytest -q tests/python

step "pattern conformance corpora"
bash tests/conformance.sh

echo
echo "all checks passed"
