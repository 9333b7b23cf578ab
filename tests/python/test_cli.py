"""The `cairn` CLI contract the other peer tests rely on: init, collection, token, import errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid

import requests

from conftest import TAXII, Cairn, Server, cairn_bin


def run_without_password(data_dir, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CAIRN_ADMIN_PASSWORD"}
    return subprocess.run([str(cairn_bin()), "--data-dir", str(data_dir), *args], capture_output=True, text=True, env=env, timeout=60)


def test_init_prints_a_generated_password_once_and_it_works(tmp_path):
    data = tmp_path / "data"
    first = run_without_password(data, "init")
    assert first.returncode == 0, first.stderr
    found = re.findall(r"admin password: (\S+)", first.stdout)
    assert len(found) == 1, first.stdout
    password = found[0]
    again = run_without_password(data, "init")
    assert again.returncode == 0, again.stderr
    assert "admin password" not in again.stdout + again.stderr
    c = Cairn(cairn_bin(), data, password)
    s = Server(c)
    try:
        ok = requests.get(s.api_root + "collections/", headers={"Accept": TAXII}, auth=("admin", password), timeout=10)
        assert ok.status_code == 200, ok.text
        assert [col["title"] for col in ok.json()["collections"]] == ["Default"]
    finally:
        assert s.stop() == 0


def test_init_with_env_password_and_idempotent(tmp_path):
    c = Cairn(cairn_bin(), tmp_path / "data", "env-" + uuid.uuid4().hex)
    out = c.run("init")
    assert c.password not in out.stdout.decode()
    c.run("init")
    listed = c.run("collection", "list").stdout.decode()
    assert listed.count("Default") == 1


def test_collection_create_with_id_and_list(cairn):
    cid = str(uuid.uuid4())
    assert cairn.create_collection("Partner feed", id=cid, description="from partner B") == cid
    other = cairn.create_collection("Second")
    assert uuid.UUID(other)
    listed = cairn.run("collection", "list").stdout.decode()
    assert cid in listed and other in listed and "Partner feed" in listed


def test_tokens_are_distinct_and_work(cairn, server):
    a, b = cairn.token(), cairn.token()
    assert a != b and len(a) >= 32
    for t in (a, b):
        r = requests.get(server.api_root, headers={"Accept": TAXII, "Authorization": f"Bearer {t}"}, timeout=10)
        assert r.status_code == 200, r.text


def test_import_rejects_bad_input_and_changes_nothing(cairn, tmp_path):
    cid = cairn.create_collection("Bad input")
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "bundle", "id": "bundle--1", "objects": [{"type": "indicator"')
    proc = cairn.run("import", str(bad), "--collection", cid, check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip(), "a failed import must say why"
    assert cairn.export(cid).get("objects", []) == []


def test_import_into_unknown_collection_fails(cairn, tmp_path):
    good = tmp_path / "one.json"
    good.write_text(json.dumps({
        "type": "identity", "spec_version": "2.1", "id": f"identity--{uuid.uuid4()}",
        "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z", "name": "x",
    }))
    proc = cairn.run("import", str(good), "--collection", str(uuid.uuid4()), check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip()
