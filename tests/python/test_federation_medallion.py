"""Federation with a TAXII 2.1 server that is not Cairn: the OASIS reference server, medallion.

medallion (pinned in requirements.txt) runs as a subprocess on a free loopback port with its
memory backend: one API root, a read-only collection seeded with STIX 2.1 objects (several
versions of one indicator and of one malware, with their manifest), and a writable one; one
HTTP Basic user. A Cairn node then
  (a) pulls the seeded collection (`peer add --user --password-stdin`, `peer pull`, `cairn
      sync`): every version arrives as medallion serves it, a second round transfers nothing,
      and the peer's counters and the stored provenance say where each version came from;
  (b) pushes a collection of TLP CLEAR, GREEN, AMBER, AMBER+STRICT and RED indicators to the
      writable one: medallion, read back with taxii2-client, holds exactly CLEAR and GREEN
      (medallion's organization has no grant on the node's collection, so AMBER is not
      released to it; AMBER+STRICT and RED never leave), and the counters say what was refused.

medallion failing to start is a test failure that shows its output, never a skip.
"""

from __future__ import annotations

import calendar
import importlib.util
import json
import pathlib
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest
import requests
from taxii2client.v21 import Collection, as_pages

from conftest import TAXII, Cairn

USER = "cairn-node"
PASSWORD = "medallion-" + secrets.token_hex(8)
API_ROOT = "trustgroup"
READ_ID = "6f6a6f0c-7a53-4bf3-9d0f-1d8c2b6f1a01"
WRITE_ID = "a1b2c3d4-2f17-4e2c-8d5e-7c1f9e0b2a02"
# Small pages, so that the pull follows medallion's `next` tokens over several pages.
MAX_PAGE = 4
START_TIMEOUT = 20.0

TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}

# ---------------------------------------------------------------------------------------------
# the seed: a small, realistic intel collection with history

IDENTITY = "identity--3c9a8f61-5c1e-4f0b-9a3e-2d7b1c4e5f60"
INDICATOR = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
MALWARE = "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
ATTACK = "attack-pattern--7e33a43e-e34b-40ec-89da-36c9bb2cacd5"
REL_IND = "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad"
REL_USES = "relationship--6b6b1f5c-2a3d-4c7e-9f10-1a2b3c4d5e6f"


def _seed_objects() -> list[dict]:
    common = {"spec_version": "2.1", "created_by_ref": IDENTITY, "object_marking_refs": [TLP["green"]]}
    out = [
        {"type": "identity", "spec_version": "2.1", "id": IDENTITY, "created": "2026-03-01T08:00:00.000Z",
         "modified": "2026-03-01T08:00:00.000Z", "name": "ACME CERT", "identity_class": "organization",
         "object_marking_refs": [TLP["clear"]]},
    ]
    for k, (modified, value, conf) in enumerate([
        ("2026-03-01T09:00:00.000Z", "198.51.100.7", 50),
        ("2026-03-02T09:00:00.000Z", "198.51.100.7", 85),
        ("2026-03-05T17:30:00.250Z", "198.51.100.8", 85),
    ]):
        out.append({**common, "type": "indicator", "id": INDICATOR, "created": "2026-03-01T09:00:00.000Z",
                    "modified": modified, "name": "Emotet C2", "description": f"revision {k + 1}",
                    "indicator_types": ["malicious-activity"],
                    "pattern": f"[ipv4-addr:value = '{value}']", "pattern_type": "stix", "pattern_version": "2.1",
                    "valid_from": "2026-03-01T09:00:00Z", "confidence": conf, "labels": ["botnet"]})
    for k, modified in enumerate(["2026-03-01T09:05:00.000Z", "2026-03-04T11:00:00.000Z"]):
        out.append({**common, "type": "malware", "id": MALWARE, "created": "2026-03-01T09:05:00.000Z",
                    "modified": modified, "name": "Emotet", "is_family": True,
                    "malware_types": ["trojan", "downloader"][: k + 1]})
    out.append({**common, "type": "attack-pattern", "id": ATTACK, "created": "2026-03-01T09:06:00.000Z",
                "modified": "2026-03-01T09:06:00.000Z", "name": "Spearphishing Attachment",
                "external_references": [{"source_name": "mitre-attack", "external_id": "T1566.001"}]})
    out.append({**common, "type": "relationship", "id": REL_IND, "created": "2026-03-01T09:10:00.000Z",
                "modified": "2026-03-01T09:10:00.000Z", "relationship_type": "indicates",
                "source_ref": INDICATOR, "target_ref": MALWARE})
    out.append({**common, "type": "relationship", "id": REL_USES, "created": "2026-03-01T09:11:00.000Z",
                "modified": "2026-03-01T09:11:00.000Z", "relationship_type": "uses",
                "source_ref": MALWARE, "target_ref": ATTACK})
    return out


SEED = _seed_objects()


def _manifest(objects: list[dict]) -> list[dict]:
    """medallion's memory backend serves only versions with a manifest entry: one per version,
    date_added one second apart (and deliberately not in the order of `modified`)."""
    base = 1780300800  # 2026-06-01T08:00:00Z
    order = list(range(len(objects)))
    order = order[1::2] + order[0::2]
    out = []
    for rank, i in enumerate(order):
        o = objects[i]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + rank)) + f".{rank * 1111:06d}Z"
        out.append({"id": o["id"], "date_added": stamp, "version": o["modified"],
                    "media_type": "application/stix+json;version=2.1"})
    return out


# ---------------------------------------------------------------------------------------------
# medallion


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Medallion:
    """medallion with the memory backend on a free loopback port."""

    def __init__(self, workdir: pathlib.Path):
        if importlib.util.find_spec("medallion") is None:
            pytest.fail(f"medallion is not installed for {sys.executable}: "
                        "pip install -r tests/python/requirements.txt", pytrace=False)
        self.workdir = workdir
        self._set_port(_free_port())
        data = {
            "/discovery": {"title": "medallion under test", "description": "Cairn federation test",
                           "default": self.api_root, "api_roots": [self.api_root]},
            API_ROOT: {
                "information": {"title": "Trust group", "versions": [TAXII], "max_content_length": 10 * 1024 * 1024},
                "status": [],
                "collections": [
                    {"id": READ_ID, "title": "Partner intel", "can_read": True, "can_write": False,
                     "media_types": ["application/stix+json;version=2.1"],
                     "objects": SEED, "manifest": _manifest(SEED)},
                    {"id": WRITE_ID, "title": "Inbox", "can_read": True, "can_write": True,
                     "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []},
                ],
            },
        }
        (workdir / "medallion-data.json").write_text(json.dumps(data))
        config = {
            "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                        "filename": str(workdir / "medallion-data.json")},
            "users": {USER: PASSWORD},
            "taxii": {"max_page_size": MAX_PAGE},
        }
        (workdir / "medallion.json").write_text(json.dumps(config))
        self.log_path = workdir / "medallion.log"
        self.log = open(self.log_path, "w")
        deadline = time.monotonic() + START_TIMEOUT
        for attempt in range(3):
            self._spawn(workdir)
            while self.proc.poll() is None and not self._answers():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            # The free port was taken between probing and binding: once more on another one.
            if self.proc.poll() is not None and "Address already in use" in self.output() and attempt < 2:
                self._set_port(_free_port())
                continue
            break
        if self.proc.poll() is not None:
            self.stop()
            pytest.fail(f"medallion exited with {self.proc.returncode} at start:\n{self.output()}", pytrace=False)
        if not self._answers():
            self.stop()
            pytest.fail(f"medallion did not answer {self.discovery} within {START_TIMEOUT:.0f}s "
                        f"({self._last}):\n{self.output()}", pytrace=False)

    def _set_port(self, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.discovery = f"{self.base}/taxii2/"
        self.api_root = f"{self.base}/{API_ROOT}/"

    def _spawn(self, workdir: pathlib.Path) -> None:
        # The discovery document names the API root by URL, so it is written for the port.
        data = json.loads((workdir / "medallion-data.json").read_text())
        data["/discovery"]["default"] = self.api_root
        data["/discovery"]["api_roots"] = [self.api_root]
        (workdir / "medallion-data.json").write_text(json.dumps(data))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "medallion.scripts.run", "--host", "127.0.0.1", "--port", str(self.port),
             str(workdir / "medallion.json")],
            stdout=self.log, stderr=subprocess.STDOUT,
        )

    _last = "no answer"

    def _answers(self) -> bool:
        try:
            r = requests.get(self.discovery, auth=(USER, PASSWORD), headers={"Accept": TAXII}, timeout=2)
        except requests.RequestException as e:
            self._last = str(e)
            return False
        self._last = f"HTTP {r.status_code}: {r.text[:200]}"
        return r.status_code == 200

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def collection(self, cid: str) -> Collection:
        return Collection(f"{self.api_root}collections/{cid}/", user=USER, password=PASSWORD)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def all_versions(coll: Collection) -> list[dict]:
    """Every version medallion serves, following its pages (taxii2-client's as_pages)."""
    out = []
    for envelope in as_pages(coll.get_objects, per_request=MAX_PAGE, version="all"):
        out.extend(envelope.get("objects", []))
    return out


def served_manifest(coll: Collection) -> list[dict]:
    out = []
    for envelope in as_pages(coll.get_manifest, per_request=MAX_PAGE, version="all"):
        out.extend(envelope.get("objects", []))
    return out


def micros(stamp: str) -> int:
    """An RFC 3339 UTC timestamp with up to 6 fraction digits as Unix microseconds."""
    whole, _, frac = stamp.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1_000_000 + int((frac or "0").ljust(6, "0")[:6])


def key(o: dict) -> tuple[str, str]:
    return o["id"], o["modified"]


# ---------------------------------------------------------------------------------------------
# fixtures and helpers


@pytest.fixture(scope="module")
def medallion(tmp_path_factory):
    m = Medallion(tmp_path_factory.mktemp("medallion"))
    yield m
    m.stop()


@pytest.fixture(scope="module")
def peer(cairn: Cairn, medallion: Medallion) -> str:
    """medallion as a peer of the node, authenticated with HTTP Basic (password on stdin)."""
    out = cairn.run("peer", "add", "medallion", "--url", medallion.discovery, "--user", USER, "--password-stdin",
                    stdin=PASSWORD.encode() + b"\n")
    uuid.UUID(cairn.last_line(out))
    return "medallion"


def sync(cairn: Cairn) -> list[dict]:
    """One `cairn sync --json` round; its reports, which must all be successes."""
    proc = cairn.run("sync", "--json")
    reports = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]
    failed = [r for r in reports if "error" in r]
    assert not failed, f"sync failed: {failed}\nstderr: {proc.stderr.decode(errors='replace')}"
    return reports


def show(cairn: Cairn, name: str) -> dict:
    return json.loads(cairn.run("peer", "show", name, "--json").stdout)


def subscription(view: dict, sub_id: str) -> dict:
    subs = [s for s in view["subscriptions"] if s["id"] == sub_id]
    assert len(subs) == 1, view
    return subs[0]


def report_of(reports: list[dict], sub_id: str) -> dict:
    mine = [r for r in reports if r["subscription"] == sub_id]
    assert len(mine) == 1, reports
    return mine[0]


# ---------------------------------------------------------------------------------------------
# tests


def test_medallion_serves_the_seed(medallion):
    """The peer under test is what we think it is: every seeded version, in pages of MAX_PAGE."""
    served = all_versions(medallion.collection(READ_ID))
    assert sorted(map(key, served)) == sorted(map(key, SEED))
    assert len({o["id"] for o in SEED}) < len(SEED), "the seed has several versions of some object"


def test_a_wrong_password_is_refused_when_subscribing(cairn, medallion):
    cairn.run("peer", "add", "medallion-bad", "--url", medallion.discovery, "--user", USER, "--password-stdin",
              stdin=b"not-the-password\n")
    refused = cairn.run("peer", "pull", "medallion-bad", "--remote", READ_ID, check=False)
    assert refused.returncode != 0
    assert "401" in refused.stderr.decode(errors="replace"), refused.stderr.decode(errors="replace")
    cairn.run("peer", "remove", "medallion-bad")


def test_pull_every_version_from_medallion(cairn, medallion, peer):
    local = cairn.create_collection("From medallion")
    sub = cairn.last_line(cairn.run("peer", "pull", peer, "--remote", READ_ID, "--collection", local))

    reports = sync(cairn)
    r = report_of(reports, sub)
    assert r["direction"] == "pull"
    assert (r["transferred"], r["duplicates"], r["rejected"], r["skipped"]) == (len(SEED), 0, 0, 0), r
    assert r["pages"] >= -(-len(SEED) // MAX_PAGE), f"medallion's `next` pages were followed: {r}"

    # Every version, as medallion serves it, in the node's own database.
    served = all_versions(medallion.collection(READ_ID))
    stored = cairn.export(local, "--all-versions")["objects"]
    assert sorted(map(key, stored)) == sorted(map(key, served))
    by_key = {key(o): o for o in served}
    for o in stored:
        assert o == by_key[key(o)], f"{key(o)} changed on the way"

    # A second round asks only for what was added since, and there is nothing.
    again = report_of(sync(cairn), sub)
    assert (again["transferred"], again["duplicates"], again["rejected"]) == (0, 0, 0), again
    assert len(cairn.export(local, "--all-versions")["objects"]) == len(SEED)

    # The operator's view: one pull subscription, every version counted once, no failure.
    s = subscription(show(cairn, peer), sub)
    st = s["state"]
    assert s["direction"] == "pull" and s["remote_collection"] == READ_ID, s
    assert st["transferred"] == len(SEED), st
    assert (st["duplicates"], st["rejected"], st["failures"]) == (0, 0, 0), st
    assert st["last_success"] is not None, st

    # Provenance in the node's database (read-only, tables of migration 0007): each version
    # names the peer and the remote collection, with the date_added medallion's manifest gives
    # for it (the engine asks the manifest for each pulled page).
    manifest = {(m["id"], m["version"]): micros(m["date_added"]) for m in served_manifest(medallion.collection(READ_ID))}
    peer_id = show(cairn, peer)["id"]
    db = sqlite3.connect(f"file:{cairn.data_dir / 'cairn.db'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT v.id, v.version, p.peer, p.remote_collection, p.remote_date_added "
            "FROM versions v JOIN collections c ON c.seq = v.coll "
            "LEFT JOIN provenance p ON p.coll = v.coll AND p.id = v.id AND p.version_key = v.version_key "
            "WHERE c.id = ?", (local,)).fetchall()
    finally:
        db.close()
    assert len(rows) == len(SEED), rows
    for oid, version, p_peer, p_coll, p_added in rows:
        assert (p_peer, p_coll) == (peer_id, READ_ID), (oid, version, p_peer, p_coll)
        assert p_added == manifest[(oid, version)], f"{oid} {version}: remote date_added {p_added} != manifest"


def tlp_indicator(tlp: str, n: int) -> dict:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, 'cairn-medallion-push-' + tlp)}",
        "created": "2026-04-01T10:00:00.000Z",
        "modified": "2026-04-01T10:00:00.000Z",
        "name": f"push {tlp}",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[domain-name:value = 'tlp-{n}.example.net']",
        "pattern_type": "stix",
        "valid_from": "2026-04-01T10:00:00Z",
        "object_marking_refs": [TLP[tlp]],
    }


def test_push_releases_only_clear_and_green_to_medallion(cairn, medallion, peer):
    outbox = cairn.create_collection("To medallion")
    objects = {tlp: tlp_indicator(tlp, n) for n, tlp in enumerate(TLP)}
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects.values())}
    cairn.import_stdin(json.dumps(bundle).encode(), outbox)
    sub = cairn.last_line(cairn.run("peer", "push", peer, "--remote", WRITE_ID, "--collection", outbox))

    r = report_of(sync(cairn), sub)
    assert r["direction"] == "push"
    assert (r["transferred"], r["rejected"]) == (2, 0), r
    assert r["refused_by_policy"] >= 3, r

    # What medallion holds, read back with the OASIS client.
    got = all_versions(medallion.collection(WRITE_ID))
    assert sorted(o["id"] for o in got) == sorted(objects[t]["id"] for t in ("clear", "green")), \
        [o.get("name", o["id"]) for o in got]
    for o in got:
        tlp = o["name"].removeprefix("push ")
        assert o == objects[tlp], f"{tlp} changed on the way"

    # The next round sends nothing again.
    again = report_of(sync(cairn), sub)
    assert (again["transferred"], again["rejected"]) == (0, 0), again
    assert len(all_versions(medallion.collection(WRITE_ID))) == 2

    st = subscription(show(cairn, peer), sub)["state"]
    assert st["transferred"] == 2, st
    assert st["refused_by_policy"] >= 3, st
    assert (st["rejected"], st["failures"]) == (0, 0), st
