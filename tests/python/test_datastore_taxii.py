"""stix2's TAXIICollectionSink and TAXIICollectionSource against `cairn serve`, end to end."""

from __future__ import annotations

import pytest
import stix2
from stix2 import Filter
from stix2.datastore.taxii import TAXIICollectionSink, TAXIICollectionSource
from taxii2client.common import TokenAuth
from taxii2client.v21 import Collection

from conftest import load_sample


@pytest.fixture(scope="module")
def collection(cairn, server):
    cid = cairn.create_collection("stix2 datastore", description="TAXIICollectionSink/Source")
    return Collection(server.collection_url(cid), auth=TokenAuth(cairn.token()))


@pytest.fixture(scope="module")
def sample_objects():
    return [stix2.parse(o, allow_custom=True) for o in load_sample()["objects"]]


@pytest.fixture(scope="module")
def stored(collection, sample_objects):
    sink = TAXIICollectionSink(collection, allow_custom=True)
    sink.add(sample_objects)
    return sample_objects


def test_source_query_by_type(collection, stored):
    src = TAXIICollectionSource(collection, allow_custom=True)
    got = src.query([Filter("type", "=", "indicator")])
    want = {o.id for o in stored if o.type == "indicator"}
    assert {o.id for o in got} == want
    assert all(isinstance(o, stix2.v21.Indicator) for o in got)


def test_source_get_keeps_custom_properties(collection, stored):
    src = TAXIICollectionSource(collection, allow_custom=True)
    wannacry = next(o for o in stored if o.type == "malware" and o.name == "WannaCry")
    got = src.get(wannacry.id)
    assert got is not None
    assert got.serialize(sort_keys=True) == wannacry.serialize(sort_keys=True)
    assert got.x_cairn_encrypted_file_extension == ".WNCRY"


def test_source_query_filters_combined(collection, stored):
    src = TAXIICollectionSource(collection, allow_custom=True)
    target = next(o for o in stored if o.type == "relationship")
    got = src.query([Filter("type", "=", "relationship"), Filter("id", "=", target.id)])
    assert [o.id for o in got] == [target.id]
    # A filter the server cannot apply (relationship_type) is applied by stix2 on the results.
    uses = src.query([Filter("type", "=", "relationship"), Filter("relationship_type", "=", "attributed-to")])
    assert {o.id for o in uses} == {o.id for o in stored if o.type == "relationship" and o.relationship_type == "attributed-to"}


def test_source_relationships_and_all_versions(collection, stored):
    src = TAXIICollectionSource(collection, allow_custom=True)
    wannacry = next(o for o in stored if o.type == "malware" and o.name == "WannaCry")
    versions = src.all_versions(wannacry.id)
    assert [v.modified for v in versions] == [wannacry.modified]
    rels = src.relationships(wannacry, "indicates", target_only=True)
    assert len(rels) == 8


def test_sink_adds_a_new_version(collection, stored):
    sink = TAXIICollectionSink(collection, allow_custom=True)
    src = TAXIICollectionSource(collection, allow_custom=True)
    ind = next(o for o in stored if o.type == "indicator" and o.name == "WannaCry kill-switch domain")
    newer = ind.new_version(description="Sinkholed since 12 May 2017.", modified="2026-11-03T00:00:00.000Z")
    sink.add(newer)
    assert src.get(ind.id).modified == newer.modified
    assert sorted(v.modified for v in src.all_versions(ind.id)) == sorted([ind.modified, newer.modified])
