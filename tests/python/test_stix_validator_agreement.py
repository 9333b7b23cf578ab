"""The recorded stix2-validator verdicts of the cairn-stix corpus must still be what the live
OASIS stix2-validator says, and `cairn validate` must give the specification's verdict on every
case (the same rule the Rust corpus test applies).

Regenerate the record with `.venv/bin/python tests/python/gen_stix_corpus.py`.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import cairn_bin
from gen_stix_corpus import CORPUS, EXPECTATIONS, validator_verdict

CASES = json.loads(CORPUS.read_text(encoding="utf-8"))
RECORDED = json.loads(EXPECTATIONS.read_text(encoding="utf-8"))["cases"]


def test_corpus_size():
    assert len([c for c in CASES if c["expect"] == "invalid"]) >= 80
    assert set(RECORDED) == {c["name"] for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_recorded_verdict_matches_live_validator(case):
    live = validator_verdict(case)
    assert live == RECORDED[case["name"]]
    spec_valid = case["expect"] == "valid"
    if "validator_wrong" in case:
        assert live["valid"] != spec_valid, "marked validator_wrong but the validator now agrees"
    else:
        assert live["valid"] == spec_valid


def test_cairn_validate_cli_follows_the_specification(tmp_path):
    files = []
    for i, case in enumerate(CASES):
        path = tmp_path / ("case-%03d.json" % i)
        path.write_text(json.dumps(case["object"], ensure_ascii=False), encoding="utf-8")
        files.append((case, path))
    for case, path in files:
        proc = subprocess.run([str(cairn_bin()), "validate", str(path)], capture_output=True, text=True)
        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        verdict = proc.returncode == 0 and all(line["valid"] for line in lines)
        assert verdict == (case["expect"] == "valid"), (case["name"], proc.stdout, proc.stderr)
        assert proc.returncode in (0, 1), proc.stderr
