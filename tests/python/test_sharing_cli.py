"""Sharing policy through the real binary: the admin CLI (nation, org, user, group, grant,
collection set, token scopes), what two organizations then see over TAXII with taxii2-client,
bad input that changes nothing, and `cairn audit verify` finding a tampered entry."""

from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest
import requests
from taxii2client.v21 import Collection

from conftest import TAXII, Cairn, Server, cairn_bin

TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


def indicator(n: int, tlp: str | None, created_by: str | None = None) -> dict:
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": f"indicator {n} {tlp}",
        "pattern": f"[ipv4-addr:value = '203.0.113.{n}']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    }
    if tlp:
        obj["object_marking_refs"] = [TLP[tlp]]
    if created_by:
        obj["created_by_ref"] = created_by
    return obj


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    c = Cairn(cairn_bin(), tmp_path_factory.mktemp("sharing"), "pw-sharing-admin-1")
    c.init()
    c.run("nation", "add", "KR", "US")
    kr = c.last_line(c.run("org", "create", "--name", "KrCERT", "--nation", "KR", "--kind", "cert"))
    us = c.last_line(c.run("org", "create", "--name", "CISA", "--nation", "US", "--kind", "cert"))
    for name, org, role in [("kim", "KrCERT", "analyst"), ("sam", "CISA", "analyst")]:
        c.run("user", "create", "--name", name, "--org", org, "--role", role, "--password-stdin",
              stdin=f"{name}-password-123".encode())
    coll = c.create_collection("exchange")
    c.run("grant", "add", "--collection", coll, "--org", "KrCERT", "--read", "--write")
    c.run("grant", "add", "--collection", coll, "--nation", "US", "--read")
    return {"cairn": c, "kr": kr, "us": us, "coll": coll}


def identity_of(c: Cairn, org: str) -> str:
    for line in c.run("org", "list").stdout.decode().splitlines():
        if f" {org} " in line:
            return line.split()[-1]
    raise AssertionError(f"no org {org}")


def test_two_organizations_see_what_the_policy_allows(node):
    c: Cairn = node["cairn"]
    server = Server(c)
    try:
        url = server.collection_url(node["coll"])
        kim = Collection(url, user="kim", password="kim-password-123")
        sam = Collection(url, user="sam", password="sam-password-123")
        assert kim.can_write and kim.can_read
        assert sam.can_read and not sam.can_write, "nation grant: read only"
        cisa = identity_of(c, "CISA")
        objects = [
            indicator(1, "clear"),
            indicator(2, "amber"),
            indicator(3, None),
            indicator(4, "amber+strict"),
            indicator(5, "red"),
            indicator(6, "red", created_by=cisa),
        ]
        status = kim.add_objects({"objects": objects}, wait_for_completion=True)
        assert status.success_count == 6
        seen = {
            who: {o["id"][-2:] for o in col.get_objects().get("objects", [])}
            for who, col in [("kim", kim), ("sam", sam)]
        }
        assert seen["kim"] == {"01", "02", "03", "04", "05"}, seen
        assert seen["sam"] == {"01", "02", "03", "04", "06"}, seen
        # Exports follow the export rules: TLP:RED never leaves, whoever asks.
        exported = {
            who: {o["id"][-2:] for o in c.export(node["coll"], "--as", who)["objects"]}
            for who in ("kim", "sam")
        }
        assert exported == {"kim": {"01", "02", "03", "04"}, "sam": {"01", "02", "03", "04"}}, exported
        assert {o["id"][-2:] for o in c.export(node["coll"])["objects"]} >= {"05", "06"}, "the operator exports all"
        red = objects[4]["id"]
        r = requests.get(url + f"objects/{red}/", headers={"Accept": TAXII}, auth=("sam", "sam-password-123"), timeout=10)
        assert r.status_code == 404, "a RED object sam was not named on does not exist for sam"
        # A token scoped to another collection sees nothing here.
        other = c.create_collection("elsewhere")
        c.run("grant", "add", "--collection", other, "--org", "CISA", "--read")
        scoped = c.last_line(c.run("token", "create", "--user", "sam", "--collection", other))
        r = requests.get(url, headers={"Accept": TAXII, "Authorization": f"Bearer {scoped}"}, timeout=10)
        assert r.status_code == 404
        r = requests.get(server.collection_url(other), headers={"Accept": TAXII, "Authorization": f"Bearer {scoped}"}, timeout=10)
        assert r.status_code == 200
        # A disabled user is out on the next request.
        c.run("user", "disable", "sam")
        r = requests.get(url, headers={"Accept": TAXII}, auth=("sam", "sam-password-123"), timeout=10)
        assert r.status_code == 401
        c.run("user", "enable", "sam")
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["nation", "add", "UK"], "not an ISO 3166-1 alpha-2"),
        (["org", "create", "--name", "X", "--nation", "FR"], "not a member of this community"),
        (["org", "create", "--name", "KrCERT", "--nation", "KR"], "already exists"),
        (["org", "create", "--name", "Y", "--nation", "KR", "--kind", "spies"], "not an organization kind"),
        (["user", "create", "--name", "z", "--org", "Nowhere"], "no organization"),
        (["user", "create", "--name", "kim", "--org", "KrCERT"], "already exists"),
        (["user", "set-role", "kim", "overlord"], "not a role"),
        (["group", "create", "--name", "g", "--owner", "Nowhere"], "no organization"),
        (["grant", "add", "--collection", "no-such-collection", "--community", "--read"], "no collection"),
        (["grant", "add", "--collection", "Default", "--org", "KrCERT"], "give --read, --write or both"),
        (["collection", "set", "{coll}", "--default-tlp", "purple"], "not a TLP level"),
        (["collection", "set", "{coll}", "--default-tlp", "amber", "--anonymous-read", "true"], "TLP:CLEAR publishing only"),
    ],
)
def test_bad_admin_input_is_refused_and_changes_nothing(node, args, message):
    c: Cairn = node["cairn"]
    state = (["org", "list"], ["user", "list"], ["group", "list"], ["nation", "list"], ["collection", "list"])
    before = [c.run(*what).stdout for what in state]
    proc = c.run(*[a.replace("{coll}", node["coll"]) for a in args], check=False)
    assert proc.returncode != 0, proc.stdout
    assert message in proc.stderr.decode(), proc.stderr.decode()
    after = [c.run(*what).stdout for what in state]
    assert before == after


def test_groups_and_grants_round_trip(node):
    c: Cairn = node["cairn"]
    gid = c.last_line(c.run("group", "create", "--name", "ransomware-tf", "--owner", "KrCERT", "--member", "CISA"))
    listed = c.run("group", "list").stdout.decode()
    assert gid in listed and "KrCERT" in listed and "CISA" in listed
    c.run("grant", "add", "--collection", node["coll"], "--group", "ransomware-tf", "--read", "--write")
    grants = c.run("grant", "list", "--collection", node["coll"]).stdout.decode()
    assert f"group:{gid}  read=true write=true" in grants
    c.run("grant", "remove", "--collection", node["coll"], "--group", "ransomware-tf")
    assert f"group:{gid}" not in c.run("grant", "list", "--collection", node["coll"]).stdout.decode()
    owner_leaves = c.run("group", "remove-member", "ransomware-tf", "KrCERT", check=False)
    assert owner_leaves.returncode != 0 and "cannot leave" in owner_leaves.stderr.decode()


def test_audit_verify_finds_a_tampered_entry(node):
    c: Cairn = node["cairn"]
    ok = c.run("audit", "verify")
    assert "audit log intact" in ok.stdout.decode()
    tail = c.run("audit", "tail", "-n", "5", "--json").stdout.decode().splitlines()
    entries = [json.loads(line) for line in tail]
    assert entries and all({"seq", "actor", "action", "hash", "prev"} <= e.keys() for e in entries)
    grants = c.run("audit", "tail", "--object", node["coll"], "--json").stdout.decode()
    assert '"grant.set"' in grants
    db = sqlite3.connect(c.data_dir / "cairn.db")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3")
        # Someone with the file drops the guard and rewrites an entry.
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3")
        db.commit()
    finally:
        db.close()
    bad = c.run("audit", "verify", check=False)
    assert bad.returncode == 1
    assert "broken at entry 3" in bad.stdout.decode(), bad.stdout.decode() + bad.stderr.decode()
