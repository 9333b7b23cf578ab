"""Drive `cairn serve` with the OASIS taxii2-client the way a real client does.

Discovery -> API root -> collections -> add_objects (status polling) -> paged get_objects ->
manifest -> versions -> filters -> delete, with HTTP Basic and with token authentication.
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from taxii2client.common import TokenAuth
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from conftest import TAXII


def ts(second: int, ms: int = 0) -> str:
    return f"2026-11-0{1 + second // 60}T10:{second % 60:02d}:00.{ms:03d}Z"


def instant(stamp: str) -> tuple:
    """An RFC 3339 UTC timestamp as a sortable tuple, whatever its number of fraction digits."""
    assert stamp.endswith("Z"), stamp
    whole, _, frac = stamp[:-1].partition(".")
    return whole, int((frac or "0").ljust(9, "0")[:9])


def indicator(n: int, *, id: str | None = None, modified: str | None = None, created: str | None = None) -> dict:
    created = created or ts(n)
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": id or f"indicator--{uuid.uuid4()}",
        "created": created,
        "modified": modified or created,
        "name": f"test indicator {n}",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']",
        "pattern_type": "stix",
        "valid_from": created,
        "x_test_seq": n,
    }


def add(coll: Collection, objects: list[dict]):
    status = coll.add_objects({"objects": objects}, wait_for_completion=True, poll_interval=0.2, timeout=30)
    assert status.status == "complete"
    assert status.total_count == len(objects)
    assert status.success_count == len(objects), status.failures
    assert status.failure_count == 0
    assert status.pending_count == 0
    return status


def ids(envelope: dict) -> list[str]:
    return [o["id"] for o in envelope.get("objects", [])]


@pytest.fixture(scope="module", params=["basic", "token"])
def auth_kwargs(request, cairn, basic):
    if request.param == "basic":
        return {"user": basic[0], "password": basic[1]}
    return {"auth": TokenAuth(cairn.token())}


@pytest.fixture
def fresh(cairn, server, auth_kwargs) -> Collection:
    """A new, empty collection for one test, opened through discovery as a client would."""
    cid = cairn.create_collection(f"t-{uuid.uuid4().hex[:8]}", description="taxii2-client test")
    return Collection(server.collection_url(cid), **auth_kwargs)


def test_discovery_api_root_and_default_collection(server, auth_kwargs):
    srv = Server(server.discovery, **auth_kwargs)
    assert srv.title
    assert [r.url for r in srv.api_roots] == [server.api_root]
    root = srv.api_roots[0]
    assert root.title
    assert "application/taxii+json;version=2.1" in root.versions
    assert root.max_content_length > 0
    titles = {c.title: c for c in root.collections}
    assert "Default" in titles
    default = titles["Default"]
    assert default.can_read and default.can_write
    assert default.url == server.collection_url(default.id)


def test_collections_listing_is_sorted_by_id(server, cairn, auth_kwargs):
    for _ in range(3):
        cairn.create_collection(f"sorted-{uuid.uuid4().hex[:6]}")
    root = ApiRoot(server.api_root, **auth_kwargs)
    listed = [c.id for c in root.collections]
    assert listed == sorted(listed)
    assert len(listed) >= 4


def test_add_objects_status_is_retrievable(fresh, server, auth_kwargs):
    objects = [indicator(i) for i in range(3)]
    status = add(fresh, objects)
    root = ApiRoot(server.api_root, **auth_kwargs)
    again = root.get_status(status.id)
    assert again.status == "complete"
    assert again.success_count == 3
    assert sorted(s["id"] for s in again.successes) == sorted(o["id"] for o in objects)


def test_paging_concatenates_exactly(fresh):
    objects = [indicator(i) for i in range(7)]
    add(fresh, objects)
    whole = fresh.get_objects()
    assert sorted(ids(whole)) == sorted(o["id"] for o in objects)
    assert whole.get("more", False) is False
    pages = list(as_pages(fresh.get_objects, per_request=2))
    assert [len(p["objects"]) for p in pages] == [2, 2, 2, 1]
    assert [p.get("more", False) for p in pages] == [True, True, True, False]
    assert all("next" in p for p in pages[:-1])
    concatenated = [o for p in pages for o in p["objects"]]
    assert concatenated == whole["objects"]
    # Objects come back exactly as they were sent, custom property included.
    by_id = {o["id"]: o for o in objects}
    for got in concatenated:
        assert got == by_id[got["id"]]


def test_versions_manifest_and_version_filter(fresh):
    iid = f"indicator--{uuid.uuid4()}"
    created = ts(1)
    versions = [indicator(1, id=iid, created=created, modified=m) for m in (ts(1), ts(2), ts(3))]
    other = indicator(9)
    for v in versions:  # one POST per version, as successive updates arrive
        add(fresh, [v])
    add(fresh, [other])

    got = fresh.object_versions(iid)
    assert got["versions"] == [ts(1), ts(2), ts(3)]

    manifest = fresh.get_manifest(version="all")
    entries = [e for e in manifest["objects"] if e["id"] == iid]
    assert sorted(e["version"] for e in entries) == [ts(1), ts(2), ts(3)]
    assert all(e["media_type"] == "application/stix+json;version=2.1" for e in entries)
    assert {e["id"] for e in manifest["objects"]} == {iid, other["id"]}
    latest = fresh.get_manifest()
    assert sorted((e["id"], e["version"]) for e in latest["objects"]) == sorted([(iid, ts(3)), (other["id"], other["modified"])])

    def modified(**f):
        return [o["modified"] for o in fresh.get_object(iid, **f)["objects"]]

    assert modified() == [ts(3)]
    assert modified(version="last") == [ts(3)]
    assert modified(version="first") == [ts(1)]
    assert sorted(modified(version="all")) == [ts(1), ts(2), ts(3)]
    assert modified(version=ts(2)) == [ts(2)]
    assert sorted(modified(version="first,last")) == [ts(1), ts(3)]
    # Versions were added one request after another, so date_added order is version order.
    assert [o["modified"] for o in fresh.get_objects(id=iid, version="all")["objects"]] == [ts(1), ts(2), ts(3)]


def test_type_id_and_spec_version_filters(fresh):
    ind = indicator(1)
    mal = {
        "type": "malware",
        "spec_version": "2.1",
        "id": f"malware--{uuid.uuid4()}",
        "created": ts(2),
        "modified": ts(2),
        "name": "WannaCry",
        "malware_types": ["ransomware"],
        "is_family": True,
    }
    ident = {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{uuid.uuid4()}",
        "created": ts(3),
        "modified": ts(3),
        "name": "Filter test CERT",
        "identity_class": "organization",
    }
    add(fresh, [ind, mal, ident])
    assert ids(fresh.get_objects(type="malware")) == [mal["id"]]
    assert sorted(ids(fresh.get_objects(type=["malware", "identity"]))) == sorted([mal["id"], ident["id"]])
    assert ids(fresh.get_objects(id=ind["id"])) == [ind["id"]]
    assert sorted(ids(fresh.get_objects(id=[ind["id"], ident["id"]]))) == sorted([ind["id"], ident["id"]])
    assert ids(fresh.get_objects(type="indicator", id=mal["id"])) == []
    assert sorted(ids(fresh.get_objects(spec_version="2.1"))) == sorted([ind["id"], mal["id"], ident["id"]])
    assert ids(fresh.get_objects(spec_version="2.0")) == []


def test_added_after(fresh):
    first = [indicator(i) for i in range(3)]
    add(fresh, first)
    time.sleep(0.05)  # so the second request gets a later date_added even on a coarse clock
    second = [indicator(10 + i) for i in range(2)]
    add(fresh, second)
    manifest = fresh.get_manifest()["objects"]
    added = {e["id"]: e["date_added"] for e in manifest}
    cut = max((added[o["id"]] for o in first), key=instant)
    assert instant(cut) < min(instant(added[o["id"]]) for o in second)
    after = fresh.get_objects(added_after=cut)
    assert sorted(ids(after)) == sorted(o["id"] for o in second)
    assert ids(fresh.get_objects(added_after=max(added.values(), key=instant))) == []


def test_delete_object_then_404(fresh):
    keep, gone = indicator(1), indicator(2)
    add(fresh, [keep, gone])
    assert fresh.delete_object(gone["id"]) is None
    with pytest.raises(requests.HTTPError) as err:
        fresh.get_object(gone["id"])
    assert err.value.response.status_code == 404
    assert ids(fresh.get_objects()) == [keep["id"]]
    with pytest.raises(requests.HTTPError) as err:
        fresh.object_versions(gone["id"])
    assert err.value.response.status_code == 404


def test_duplicate_add_counts_as_success(fresh):
    obj = indicator(5)
    add(fresh, [obj])
    add(fresh, [obj])
    assert ids(fresh.get_objects(version="all")) == [obj["id"]]


def test_unknown_collection_is_404(server, auth_kwargs):
    coll = Collection(server.collection_url(str(uuid.uuid4())), **auth_kwargs)
    with pytest.raises(requests.HTTPError) as err:
        coll.title  # noqa: B018 - reading the property sends the request
    assert err.value.response.status_code == 404


def test_wrong_or_missing_credentials_are_401(server, cairn):
    collections = server.api_root + "collections/"
    with pytest.raises(requests.HTTPError) as err:
        ApiRoot(server.api_root, user="admin", password=cairn.password + "x").collections  # noqa: B018
    assert err.value.response.status_code == 401
    with pytest.raises(requests.HTTPError) as err:
        ApiRoot(server.api_root, auth=TokenAuth("not-a-token")).collections  # noqa: B018
    assert err.value.response.status_code == 401
    anonymous = requests.get(collections, headers={"Accept": TAXII}, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers.get("WWW-Authenticate", "").startswith("Basic")
    assert anonymous.headers["Content-Type"].replace(" ", "").startswith("application/taxii+json")
    assert anonymous.json()["title"]


def test_bearer_token_header(server, cairn):
    token = cairn.token()
    for scheme in ("Bearer", "Token"):
        r = requests.get(server.discovery, headers={"Accept": TAXII, "Authorization": f"{scheme} {token}"}, timeout=10)
        assert r.status_code == 200, (scheme, r.text)
        assert r.headers["Content-Type"].replace(" ", "").startswith("application/taxii+json")
        assert r.json()["title"]
