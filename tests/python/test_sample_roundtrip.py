"""The sample bundle through `cairn import`, TAXII and `cairn export`, unchanged.

Objects must come back byte-faithful modulo whitespace: same properties in the same order, custom
properties and extensions kept. Imports also run while the server is serving.
"""

from __future__ import annotations

import json
import threading

import pytest
from taxii2client.v21 import ApiRoot, Collection, as_pages

from conftest import SAMPLE_BUNDLE, Cairn, Server, cairn_bin, compact, load_sample

PAGE = 10


def read_all(coll: Collection, **filters) -> list[dict]:
    return [o for page in as_pages(coll.get_objects, per_request=PAGE, **filters) for o in page.get("objects", [])]


@pytest.fixture(scope="module")
def sample() -> dict:
    return load_sample()


@pytest.fixture(scope="module")
def imported(cairn, sample):
    """A collection filled by `cairn import FILE` before the server starts."""
    cid = cairn.create_collection("Sample", description="sample bundle, imported from a file")
    cairn.import_file(SAMPLE_BUNDLE, cid)
    return cid


@pytest.fixture(scope="module")
def served(cairn, imported):
    s = Server(cairn)
    yield s
    assert s.stop() == 0, "".join(s.output)


def test_sample_is_read_back_identically_over_taxii(served, imported, basic, sample):
    coll = Collection(served.collection_url(imported), user=basic[0], password=basic[1])
    got = read_all(coll)
    assert len(got) == len(sample["objects"])
    assert sorted(map(compact, got)) == sorted(map(compact, sample["objects"]))


def test_custom_properties_and_extensions_survive(served, imported, basic, sample):
    coll = Collection(served.collection_url(imported), user=basic[0], password=basic[1])
    wannacry = next(o for o in sample["objects"] if o["type"] == "malware" and o["name"] == "WannaCry")
    got = coll.get_object(wannacry["id"])["objects"]
    assert got == [wannacry]
    assert got[0]["x_cairn_ransom_bitcoin_addresses"] == wannacry["x_cairn_ransom_bitcoin_addresses"]
    green = coll.get_object("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb")["objects"]
    assert green[0]["extensions"]["extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"]["tlp_2_0"] == "green"
    report = next(o for o in sample["objects"] if o["type"] == "report")
    assert coll.get_object(report["id"])["objects"][0]["granular_markings"] == report["granular_markings"]


def test_type_filter_on_sample(served, imported, basic, sample):
    coll = Collection(served.collection_url(imported), user=basic[0], password=basic[1])
    want = sorted(o["id"] for o in sample["objects"] if o["type"] == "indicator")
    assert sorted(o["id"] for o in read_all(coll, type="indicator")) == want
    # SCOs have neither created nor modified; they are still served.
    scos = [o for o in sample["objects"] if o["type"] in ("domain-name", "ipv4-addr", "file")]
    assert sorted(map(compact, read_all(coll, type=["domain-name", "ipv4-addr", "file"]))) == sorted(map(compact, scos))


def test_export_equals_import(cairn, imported, sample):
    bundle = cairn.export(imported)
    assert bundle["type"] == "bundle"
    assert bundle["id"].startswith("bundle--")
    assert sorted(map(compact, bundle["objects"])) == sorted(map(compact, sample["objects"]))


def test_export_type_filter(cairn, imported, sample):
    bundle = cairn.export(imported, "--type", "indicator")
    assert sorted(o["id"] for o in bundle["objects"]) == sorted(o["id"] for o in sample["objects"] if o["type"] == "indicator")


def test_import_while_serving_from_stdin(cairn, served, basic, sample):
    cid = cairn.create_collection("Live", description="imported while the server runs")
    coll = Collection(served.collection_url(cid), user=basic[0], password=basic[1])
    assert coll.get_objects().get("objects", []) == []
    # Read the collection in a loop while the import runs: every read must succeed.
    errors: list[BaseException] = []
    done = threading.Event()

    def reader():
        while not done.is_set():
            try:
                read_all(coll)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
                return

    t = threading.Thread(target=reader)
    t.start()
    try:
        cairn.import_stdin(SAMPLE_BUNDLE.read_bytes(), cid)
    finally:
        done.set()
        t.join(30)
    assert not errors, errors
    assert sorted(map(compact, read_all(coll))) == sorted(map(compact, sample["objects"]))


def test_import_directory_and_reimport_is_idempotent(cairn, served, basic, sample, tmp_path):
    cid = cairn.create_collection("Dir", description="imported from a directory, twice")
    objs = sample["objects"]
    half = len(objs) // 2
    (tmp_path / "a.json").write_text(json.dumps({"type": "bundle", "id": sample["id"], "objects": objs[:half]}))
    (tmp_path / "b.json").write_text(json.dumps({"type": "bundle", "id": sample["id"], "objects": objs[half:]}))
    cairn.import_file(tmp_path, cid)
    cairn.import_file(tmp_path, cid)
    coll = Collection(served.collection_url(cid), user=basic[0], password=basic[1])
    got = read_all(coll, version="all")
    assert sorted(map(compact, got)) == sorted(map(compact, objs))
    assert sorted(map(compact, cairn.export(cid)["objects"])) == sorted(map(compact, objs))


def test_export_added_after(cairn, served, basic, sample):
    cid = cairn.create_collection("Later", description="two imports, exported after the first")
    objs = sample["objects"]
    cairn.import_stdin(json.dumps({"type": "bundle", "id": sample["id"], "objects": objs[:5]}).encode(), cid)
    coll = Collection(served.collection_url(cid), user=basic[0], password=basic[1])
    cut = max(e["date_added"] for e in coll.get_manifest()["objects"])
    cairn.import_stdin(json.dumps({"type": "bundle", "id": sample["id"], "objects": objs[5:12]}).encode(), cid)
    later = cairn.export(cid, "--added-after", cut)
    assert sorted(map(compact, later["objects"])) == sorted(map(compact, objs[5:12]))


def test_serve_sample_loads_default_collection_once(tmp_path, sample):
    other = Cairn(cairn_bin(), tmp_path / "data", "pw-sample")
    for _ in range(2):  # the second start must not load the bundle again
        s = Server(other, "--sample")
        try:
            root = ApiRoot(s.api_root, user="admin", password=other.password)
            default = next(c for c in root.collections if c.title == "Default")
            got = read_all(default, version="all")
        finally:
            assert s.stop() == 0, "".join(s.output)
        assert sorted(map(compact, got)) == sorted(map(compact, sample["objects"]))
