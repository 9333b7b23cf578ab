"""The deterministic SCO ids recorded in crates/cairn-stix/tests/fixtures/sco_ids.json (which the
Rust test compares with cairn_stix::sco_id) must still be what the live stix2 library generates.

Regenerate the record with `.venv/bin/python tests/python/gen_sco_ids.py`.
"""

from __future__ import annotations

import json

import pytest

from gen_sco_ids import CASES, OUT, stix2_id

RECORDED = json.loads(OUT.read_text(encoding="utf-8"))


def test_every_sco_type_is_covered():
    from stix2.v21 import observables  # noqa: F401  (the library defines the 18 SCO types)

    types = {r["object"]["type"] for r in RECORDED}
    assert len(types) == 18
    assert [r["name"] for r in RECORDED] == [n for n, _ in CASES]


@pytest.mark.parametrize("record", RECORDED, ids=[r["name"] for r in RECORDED])
def test_recorded_id_matches_stix2(record):
    assert stix2_id(record["object"]) == record["id"]
