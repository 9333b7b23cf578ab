#!/usr/bin/env python3
"""Side-by-side TAXII 2.1 benchmark: Cairn, medallion and OpenTAXII in one run.

For each size (default 10k and 100k indicators) and each server it measures
  - ingest:  objects/s through POST .../objects/ with envelopes of --envelope objects,
             waiting until each status is complete;
  - read:    objects/s of a full paged read (limit = --page-limit, capped by each server's own
             maximum; `next` followed until `more` is false);
  - lookup:  p50/p99 latency of GET .../objects/?match[id]=X for --lookups random ids;
and, with --static-url, the "static file limit": the same page bytes served as one static file by
the same HTTP stack, fetched as many times as the Cairn read needed pages (at least 20).

medallion's memory backend scans the whole collection for every added object (quadratic ingest):
it runs at a size only if its predicted time fits --medallion-budget, and stops when it overruns.

Peers live in bench/.venvs (bench/taxii/setup-peers.sh). Cairn is `target/release/cairn` unless
--cairn-bin says otherwise; --servers picks which servers to run.
Results: a Markdown table on stdout and JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pathlib
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests

try:  # the client's JSON parser, the same for every server (bench/taxii/setup-peers.sh pins it)
    import orjson

    loads, JSON_PARSER = orjson.loads, f"orjson {orjson.__version__}"
except ImportError:  # pragma: no cover - plain venvs still work, with more client time per page
    loads, JSON_PARSER = json.loads, "json (stdlib)"

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENVS = HERE.parent / ".venvs"
OUT = HERE.parent / "out"
TAXII = "application/taxii+json;version=2.1"
PASSWORD = "bench-" + uuid.uuid4().hex[:12]
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
CREATOR = "identity--" + str(uuid.UUID(int=random.Random(7).getrandbits(128), version=4))


# ---------------------------------------------------------------------------------------------
# data


def indicators(n: int, seed: int = 1) -> list[dict]:
    """n realistic, valid STIX 2.1 indicators with unique ids (about 700 bytes each)."""
    return list(indicator_stream(n, seed))


def indicator_stream(n: int, seed: int = 1):
    """The objects of `indicators(n, seed)`, one at a time."""
    rng = random.Random(seed)
    tlds = ["com", "net", "org", "info", "biz", "xyz", "top", "ru", "io"]
    words = ["update", "secure", "login", "cdn", "mail", "portal", "cloud", "sync", "api", "files", "wallet", "trade"]
    kinds = ["ipv4", "domain", "url", "sha256", "md5"]
    base = 1767225600  # 2026-01-01T00:00:00Z
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if kind == "ipv4":
            value = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            pattern, name = f"[ipv4-addr:value = '{value}']", f"C2 address {value}"
        elif kind == "domain":
            value = f"{rng.choice(words)}-{rng.getrandbits(40):010x}.{rng.choice(tlds)}"
            pattern, name = f"[domain-name:value = '{value}']", f"Malicious domain {value}"
        elif kind == "url":
            host = f"{rng.choice(words)}{rng.getrandbits(24):06x}.{rng.choice(tlds)}"
            value = f"https://{host}/{rng.choice(words)}/{rng.getrandbits(32):08x}.php"
            pattern, name = f"[url:value = '{value}']", f"Phishing URL on {host}"
        elif kind == "sha256":
            value = f"{rng.getrandbits(256):064x}"
            pattern, name = f"[file:hashes.'SHA-256' = '{value}']", f"Dropper {value[:12]}"
        else:
            value = f"{rng.getrandbits(128):032x}"
            pattern, name = f"[file:hashes.MD5 = '{value}']", f"Loader {value[:12]}"
        t = base + i // 1000 + (i % 1000) / 1000
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + f".{i % 1000:03d}Z"
        yield {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--{uuid.UUID(int=rng.getrandbits(128), version=4)}",
            "created_by_ref": CREATOR,
            "created": stamp,
            "modified": stamp,
            "name": name,
            "description": f"Observed by partner sensors in campaign {rng.randint(1, 400)}; confidence from sandbox detonation.",
            "indicator_types": ["malicious-activity"],
            "pattern": pattern,
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": stamp,
            "labels": [rng.choice(["ransomware", "phishing", "botnet", "apt", "stealer"])],
            "confidence": rng.choice([15, 50, 85]),
            "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": rng.choice(["initial-access", "command-and-control", "impact"])}],
            "object_marking_refs": [TLP_GREEN],
        }


# ---------------------------------------------------------------------------------------------
# servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60, **kw) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            requests.get(url, timeout=5, **kw)
            return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


class Peer:
    name = "?"
    page_cap: int | None = None  # the server's own maximum page size, when it has one

    def __init__(self, workdir: pathlib.Path):
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.session = requests.Session()
        self.session.headers["Accept"] = TAXII
        self.log = open(workdir / f"{self.name}.log", "w")

    # set by start(): the API root URL and the collection id
    api_root = ""
    collection = ""

    def objects_url(self) -> str:
        return f"{self.api_root}collections/{self.collection}/objects/"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def max_content_length(self) -> int:
        r = self.session.get(self.api_root, timeout=30)
        r.raise_for_status()
        return int(r.json().get("max_content_length", 0)) or 10**9


class CairnPeer(Peer):
    name = "cairn"

    def __init__(self, workdir, binary: pathlib.Path, max_page_size: int | None = None):
        super().__init__(workdir)
        self.binary = binary
        self.max_page_size = max_page_size
        self.page_cap = max_page_size or 1000  # `cairn serve --max-page-size` (default 1000)

    def cli(self, *args: str) -> str:
        env = dict(os.environ, CAIRN_ADMIN_PASSWORD=PASSWORD)
        p = subprocess.run([str(self.binary), "--data-dir", str(self.workdir / "cairn-data"), *args], capture_output=True, text=True, env=env, check=True)
        return p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""

    def start(self, init: bool = True) -> None:
        if init:
            self.cli("init")
            self.collection = self.cli("collection", "create", "--title", "bench")
        env = dict(os.environ, CAIRN_ADMIN_PASSWORD=PASSWORD, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
        self.proc = subprocess.Popen(
            [str(self.binary), "--data-dir", str(self.workdir / "cairn-data"), "serve", "--listen", "127.0.0.1:0",
             *(["--max-page-size", str(self.max_page_size)] if self.max_page_size else [])],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        found = threading.Event()
        box: dict[str, str] = {}

        def pump():
            for line in self.proc.stdout:
                self.log.write(line)
                m = re.search(r"(http://127\.0\.0\.1:\d+/taxii2/)", line)
                if m and not found.is_set():
                    box["url"] = m.group(1)
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(60):
            raise RuntimeError("cairn serve did not print its discovery URL")
        self.api_root = box["url"] + "default/"
        self.session.auth = ("admin", PASSWORD)


class MedallionPeer(Peer):
    name = "medallion"
    page_cap = 100  # medallion's default taxii.max_page_size

    def start(self) -> None:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        self.collection = str(uuid.uuid4())
        data = {
            "/discovery": {"title": "bench", "description": "bench", "default": f"{base}/bench/", "api_roots": [f"{base}/bench/"]},
            "bench": {
                "information": {"title": "bench", "versions": [TAXII], "max_content_length": 100 * 1024 * 1024},
                "status": [],
                "collections": [
                    {"id": self.collection, "title": "bench", "can_read": True, "can_write": True,
                     "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []}
                ],
            },
        }
        (self.workdir / "medallion-data.json").write_text(json.dumps(data))
        config = {
            "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                        "filename": str(self.workdir / "medallion-data.json")},
            "users": {"admin": PASSWORD},
            "taxii": {"max_page_size": self.page_cap},
        }
        (self.workdir / "medallion.json").write_text(json.dumps(config))
        self.proc = subprocess.Popen([str(VENVS / "medallion/bin/medallion"), "--port", str(port), str(self.workdir / "medallion.json")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.session.auth = ("admin", PASSWORD)
        wait_http(f"{base}/taxii2/", self.proc, auth=self.session.auth)
        self.api_root = f"{base}/bench/"


class OpenTaxiiPeer(Peer):
    name = "opentaxii"

    def start(self) -> None:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        db = self.workdir / "opentaxii"
        db.mkdir()
        config = f"""---
domain: "127.0.0.1:{port}"
support_basic_auth: yes
return_server_error_details: yes
auth_api:
  class: opentaxii.auth.sqldb.SQLDatabaseAPI
  parameters:
    db_connection: sqlite:///{db}/auth.db
    create_tables: yes
    secret: {uuid.uuid4().hex}
    token_ttl_secs: 86400
taxii1:
taxii2:
  persistence_api:
    class: opentaxii.persistence.sqldb.Taxii2SQLDatabaseAPI
    parameters:
      db_connection: sqlite:///{db}/data.db
      create_tables: yes
  title: "bench"
  public_discovery: true
  max_content_length: 209715200
logging:
  opentaxii: warning
  root: warning
"""
        (self.workdir / "opentaxii.yml").write_text(config)
        env = dict(os.environ, OPENTAXII_CONFIG=str(self.workdir / "opentaxii.yml"))
        bindir = VENVS / "opentaxii/bin"
        root_id = str(uuid.uuid4())

        def run(*cmd):
            subprocess.run([str(bindir / cmd[0]), *cmd[1:]], env=env, check=True, stdout=self.log, stderr=subprocess.STDOUT)

        run("opentaxii-create-account", "-u", "admin", "-p", PASSWORD, "-a")
        run("opentaxii-add-api-root", "-t", "bench", "--default", "-i", root_id)
        run("opentaxii-add-collection", "-r", root_id, "-t", "bench")
        self.proc = subprocess.Popen([str(bindir / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{port}", "--timeout", "600", "opentaxii.http:app"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        wait_http(f"{base}/taxii2/", self.proc)
        r = requests.post(f"{base}/management/auth", json={"username": "admin", "password": PASSWORD}, timeout=30)
        r.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {r.json()['token']}"
        self.api_root = f"{base}/taxii2/{root_id}/"
        r = self.session.get(f"{self.api_root}collections/", timeout=30)
        r.raise_for_status()
        self.collection = r.json()["collections"][0]["id"]


# ---------------------------------------------------------------------------------------------
# measurements


class Overrun(Exception):
    """A phase ran past its time budget; carries the partial figure."""

    def __init__(self, value: float, done: int, total: int, seconds: float):
        super().__init__(f"{done} of {total} in {seconds:.0f}s")
        self.value, self.done, self.total, self.seconds = value, done, total, seconds


def get_body(session: requests.Session, url: str, **kw) -> tuple[requests.Response, bytes]:
    """GET and read the whole body in 1 MiB reads (requests' `.content` reads 10 KiB at a time,
    which costs a page read of ~1 MB several milliseconds of client time, for every server)."""
    r = session.get(url, stream=True, **kw)
    body = b"".join(r.iter_content(1 << 20))
    return r, body


def remaining(deadline: float | None) -> float:
    """A request timeout that ends a phase at its deadline (with a few seconds of grace)."""
    return 600 if deadline is None else max(1.0, deadline - time.perf_counter() + 5)


def envelopes(objects: list[dict], envelope: int) -> list[tuple[bytes, int]]:
    """The POST bodies (and their object counts), serialized once before any server is timed:
    every server receives the same bytes, and the timed loop measures the servers, not the
    client's JSON encoder."""
    return [(json.dumps({"objects": objects[i:i + envelope]}).encode(), len(objects[i:i + envelope]))
            for i in range(0, len(objects), envelope)]


def ingest(peer: Peer, bodies: list[tuple[bytes, int]], deadline: float | None) -> float:
    limit = peer.max_content_length()
    url = peer.objects_url()
    headers = {"Content-Type": TAXII}
    total = sum(n for _, n in bodies)
    done = 0
    t0 = time.perf_counter()
    for k, (body, count) in enumerate(bodies):
        if len(body) > limit:
            raise RuntimeError(f"{peer.name}: envelope of {len(body)} bytes exceeds max_content_length {limit}")
        r = peer.session.post(url, data=body, headers=headers, timeout=600)
        if r.status_code not in (200, 202):
            raise RuntimeError(f"{peer.name}: POST returned {r.status_code}: {r.text[:300]}")
        status = loads(r.content)
        while status.get("status") != "complete":
            time.sleep(0.05)
            s = peer.session.get(f"{peer.api_root}status/{status['id']}/", timeout=60)
            s.raise_for_status()
            status = loads(s.content)
        if int(status.get("success_count", 0)) != count:
            raise RuntimeError(f"{peer.name}: status {json.dumps(status)[:300]}")
        done += count
        if deadline is not None and time.perf_counter() > deadline and k + 1 < len(bodies):
            dt = time.perf_counter() - t0
            raise Overrun(done / dt, done, total, dt)
    return total / (time.perf_counter() - t0)


def full_read(peer: Peer, expected: int, page_limit: int, deadline: float | None) -> tuple[float, int, bytes]:
    """objects/s of a complete paged read; also the page size used and the first page's bytes."""
    url = peer.objects_url()
    params: dict[str, str] = {"limit": str(page_limit)}
    seen = 0
    first = b""
    page_size = 0
    t0 = time.perf_counter()
    while True:
        try:
            r, body = get_body(peer.session, url, params=params, timeout=remaining(deadline))
        except requests.Timeout:
            dt = time.perf_counter() - t0
            raise Overrun(seen / dt, seen, expected, dt) from None
        r.raise_for_status()
        if not first:
            first = body
        env = loads(body)
        n = len(env.get("objects", []))
        page_size = max(page_size, n)
        seen += n
        if not env.get("more"):
            break
        if deadline is not None and time.perf_counter() > deadline:
            dt = time.perf_counter() - t0
            raise Overrun(seen / dt, seen, expected, dt)
        if "next" not in env:
            raise RuntimeError(f"{peer.name}: more=true without next")
        params = {"limit": str(page_limit), "next": str(env["next"])}
    dt = time.perf_counter() - t0
    if seen != expected:
        raise RuntimeError(f"{peer.name}: full read returned {seen} objects, expected {expected}")
    return seen / dt, page_size, first


def lookups(peer: Peer, ids: list[str], deadline: float | None) -> tuple[float, float, int]:
    """p50 and p99 in ms, and how many lookups ran before the deadline."""
    url = peer.objects_url()
    lat = []
    for i in ids:
        if deadline is not None and time.perf_counter() > deadline and len(lat) >= 10:
            break
        t0 = time.perf_counter()
        try:
            r, body = get_body(peer.session, url, params={"match[id]": i}, timeout=remaining(deadline) if len(lat) >= 10 else 600)
        except requests.Timeout:
            break
        lat.append(time.perf_counter() - t0)
        r.raise_for_status()
        got = [o["id"] for o in loads(body).get("objects", [])]
        if got != [i]:
            raise RuntimeError(f"{peer.name}: match[id]={i} returned {got}")
    lat.sort()
    return statistics.median(lat) * 1000, lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, len(lat)


def static_limit(url: str, requests_n: int, session: requests.Session) -> tuple[float, int]:
    """objects/s when the same page is served as a static file `requests_n` times."""
    r, body = get_body(session, url, timeout=60)
    r.raise_for_status()
    per_page = len(loads(body).get("objects", []))
    t0 = time.perf_counter()
    for _ in range(requests_n):
        r, body = get_body(session, url, timeout=60)
        r.raise_for_status()
        loads(body)  # the same client work as a page of the paged read
    return per_page * requests_n / (time.perf_counter() - t0), per_page


def static_limit_same_stack(first_page: bytes, static_bin: str, requests_n: int) -> tuple[float, int]:
    """Serve Cairn's first full page as one file with the same HTTP stack (cairn-server's
    `static_file` example) and measure it like a page read."""
    OUT.mkdir(parents=True, exist_ok=True)
    page = OUT / "static-page.json"
    page.write_bytes(first_page)
    proc = subprocess.Popen([static_bin, str(page), "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    try:
        addr = proc.stdout.readline().strip()
        return static_limit(f"http://{addr}/", requests_n, requests.Session())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def lookup_scale(args, work: pathlib.Path) -> int:
    """match[id] latency through TAXII at several collection sizes, in one run.

    One Cairn node per size, loaded with `cairn import` (the objects are the first N of one
    generated sequence: each larger node holds the smaller ones' objects too), then all nodes
    serve at once and the lookups go round-robin across them (a random stored id each time),
    so machine noise falls on every size alike. Each node first answers --warmup lookups that
    are not counted (the reader connections' caches), the same number at every size."""
    sizes = sorted(int(s) for s in args.lookup_scale.split(","))
    biggest = sizes[-1]
    # The generated objects as JSON Lines, one file per slice between consecutive sizes.
    slices, ids, start = [], [], 0
    t0 = time.perf_counter()
    stream = indicator_stream(biggest, seed=biggest)
    for n in sizes:
        path = work / f"objects-{start}-{n}.jsonl"
        with open(path, "w") as f:
            for _ in range(n - start):
                o = next(stream)
                ids.append(o["id"])
                f.write(json.dumps(o))
                f.write("\n")
        slices.append(path)
        start = n
    print(f"# generated {biggest:,} objects in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    peers: list[CairnPeer] = []
    rows: dict = {}
    try:
        for k, n in enumerate(sizes):
            d = work / f"cairn-{n}"
            d.mkdir()
            peer = CairnPeer(d, pathlib.Path(args.cairn_bin), args.cairn_max_page_size)
            peer.cli("init")
            peer.collection = peer.cli("collection", "create", "--title", "bench")
            t0 = time.perf_counter()
            peer.cli("import", "--collection", peer.collection, *map(str, slices[:k + 1]))
            dt = time.perf_counter() - t0
            rows[n] = {"import_s": dt, "import_rate": n / dt}
            print(f"# {n:,}: imported in {dt:.1f}s ({n / dt:,.0f} objects/s)", file=sys.stderr)
            peer.start(init=False)
            peers.append(peer)
        rng = random.Random(1)
        picks = {n: [ids[rng.randrange(n)] for _ in range(args.warmup + args.lookups)] for n in sizes}
        lat: dict[int, list[float]] = {n: [] for n in sizes}
        for j in range(args.warmup + args.lookups):
            for n, peer in zip(sizes, peers):
                i = picks[n][j]
                t0 = time.perf_counter()
                r, body = get_body(peer.session, peer.objects_url(), params={"match[id]": i}, timeout=60)
                dt = time.perf_counter() - t0
                r.raise_for_status()
                got = [o["id"] for o in loads(body).get("objects", [])]
                if got != [i]:
                    raise RuntimeError(f"cairn@{n}: match[id]={i} returned {got}")
                if j >= args.warmup:
                    lat[n].append(dt)
        for n in sizes:
            v = sorted(lat[n])
            rows[n]["p50"] = statistics.median(v) * 1000
            rows[n]["p99"] = v[min(len(v) - 1, int(len(v) * 0.99))] * 1000
            rows[n]["db_bytes"] = sum(f.stat().st_size for f in (work / f"cairn-{n}" / "cairn-data").glob("cairn.db*"))
    finally:
        for peer in peers:
            peer.stop()
    OUT.mkdir(exist_ok=True)
    out = OUT / f"taxii-lookup-scale-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps({"sizes": sizes, "lookups": args.lookups, "warmup": args.warmup, "rows": rows}, indent=2))
    base = rows[sizes[0]]["p50"]
    print("| objects in the collection | match[id] p50 ms | p99 ms | p50 / p50 at {:,} | database bytes | load (cairn import) objects/s |".format(sizes[0]))
    print("|---|---|---|---|---|---|")
    for n in sizes:
        r = rows[n]
        print(f"| {n:,} | {r['p50']:.2f} | {r['p99']:.2f} | {r['p50'] / base:.2f} | {r['db_bytes']:,} | {r['import_rate']:,.0f} |")
    print(f"\n{args.lookups} lookups per size after {args.warmup} uncounted, round-robin across the sizes; client JSON: {JSON_PARSER}.")
    print(f"\nJSON: {out}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated collection sizes (default 10000,100000)")
    ap.add_argument("--servers", default="cairn,medallion,opentaxii")
    ap.add_argument("--cairn-bin", default=str(REPO / "target/release/cairn"))
    ap.add_argument("--envelope", type=int, default=500, help="objects per POST (default 500)")
    ap.add_argument("--page-limit", type=int, default=10000, help="limit sent on reads; servers cap it at their maximum")
    ap.add_argument("--lookups", type=int, default=300, help="match[id] requests per server and size")
    ap.add_argument("--budget", type=float, default=90,
                    help="seconds a peer (not Cairn) may spend on one phase at one size; past it the phase stops and its partial figure is reported")
    ap.add_argument("--static-bin", help="cairn-server's static_file example binary (target/release/examples/static_file): serves Cairn's own page as a static file")
    ap.add_argument("--static-url", help="URL of one full Cairn page served as a static file by the same HTTP stack")
    ap.add_argument("--cairn-max-page-size", type=int, help="run `cairn serve --max-page-size N` (default: the server's own default, 1000)")
    ap.add_argument("--lookup-scale", help="comma-separated sizes, e.g. 10000,100000,1000000: instead of the comparison, grow ONE Cairn "
                    "collection through these sizes (`cairn import` of generated JSON Lines while the server runs) and measure "
                    "match[id] through TAXII at each size")
    ap.add_argument("--warmup", type=int, default=50, help="uncounted lookups per node before --lookup-scale measures (default 50)")
    ap.add_argument("--phases", default="ingest,lookup,read",
                    help="comma-separated phases to run for every server (default ingest,lookup,read; ingest always runs): "
                    "`--phases ingest --sizes 100000 --budget 1500` compares ingest alone where medallion's read cannot finish")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    if args.lookup_scale:
        work = pathlib.Path(tempfile.mkdtemp(prefix="cairn-bench-"))
        print(f"# work dir {work}", file=sys.stderr)
        try:
            return lookup_scale(args, work)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)

    phases = {p.strip() for p in args.phases.split(",") if p.strip()} | {"ingest"}
    if phases - {"ingest", "lookup", "read"}:
        ap.error(f"unknown phases: {sorted(phases - {'ingest', 'lookup', 'read'})}")
    sizes = [int(s) for s in args.sizes.split(",")]
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    work = pathlib.Path(tempfile.mkdtemp(prefix="cairn-bench-"))
    results: dict = {"phases": sorted(phases), "sizes": sizes, "servers": servers, "envelope": args.envelope, "lookups": args.lookups, "budget": args.budget,
                     "json": JSON_PARSER, "cairn_max_page_size": args.cairn_max_page_size, "load_start": os.getloadavg(), "rows": {}}
    print(f"# work dir {work}", file=sys.stderr)
    medallion_rate = None  # (n, seconds) of its last completed ingest, to predict the next
    try:
        for n in sizes:
            objs = indicators(n, seed=n)
            bodies = envelopes(objs, args.envelope)
            # The generated objects stay alive for the whole size (a few million Python objects at
            # 100k): without this, every cyclic GC pass the client's JSON parsing triggers walks
            # them all, which doubled the client's time per parsed page. Frozen, the collector
            # leaves them out; the same for every server.
            gc.collect()
            gc.freeze()
            sample_ids = [o["id"] for o in random.Random(n).sample(objs, min(args.lookups, n))]
            for name in servers:
                key = f"{name}@{n}"
                row: dict = {}
                results["rows"][key] = row
                budget = None if name == "cairn" else args.budget
                if name == "medallion" and medallion_rate:
                    m0, s0 = medallion_rate
                    predicted = s0 * (n / m0) ** 2
                    if predicted > args.budget:
                        row["skipped"] = f"skipped: predicted ingest {predicted:,.0f}s > budget {args.budget:.0f}s"
                        print(f"# {key}: {row['skipped']}", file=sys.stderr)
                        continue
                d = work / key.replace("@", "-")
                d.mkdir()
                peer = {"cairn": lambda: CairnPeer(d, pathlib.Path(args.cairn_bin), args.cairn_max_page_size), "medallion": lambda: MedallionPeer(d), "opentaxii": lambda: OpenTaxiiPeer(d)}[name]()

                def until():
                    return None if budget is None else time.perf_counter() + budget

                try:
                    peer.start()
                    t0 = time.perf_counter()
                    stored, lookup_ids = n, sample_ids
                    try:
                        row["ingest"] = ingest(peer, bodies, until())
                    except Overrun as e:
                        row["ingest"], row["ingest_partial"] = e.value, str(e)
                        print(f"# {key}: ingest stopped at the budget ({e})", file=sys.stderr)
                        # Read and look up what was stored, and say so.
                        stored = e.done
                        row["stored"] = stored
                        lookup_ids = [o["id"] for o in random.Random(n).sample(objs[:stored], min(args.lookups, stored))]
                    if name == "medallion":
                        medallion_rate = (n, time.perf_counter() - t0)
                    # Lookups before the full read: a read abandoned at the budget keeps a peer busy.
                    if "lookup" in phases:
                        row["p50"], row["p99"], row["lookups"] = lookups(peer, lookup_ids, until())
                    if "read" in phases:
                        try:
                            row["read"], row["page"], first = full_read(peer, stored, args.page_limit, until())
                        except Overrun as e:
                            row["read"], row["read_partial"] = e.value, str(e)
                    if name == "cairn" and "read" in phases and (args.static_url or args.static_bin):
                        pages = max(20, -(-n // max(1, row["page"])))
                        if args.static_bin:
                            row["static"], per = static_limit_same_stack(first, args.static_bin, pages)
                        else:
                            row["static"], per = static_limit(args.static_url, pages, requests.Session())
                        row["static_page"] = per
                    print(f"# {key}: " + ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), file=sys.stderr)
                except Exception as e:  # noqa: BLE001 - one server failing must not hide the others
                    row["error"] = str(e)[:300]
                    print(f"# {key}: ERROR {e}", file=sys.stderr)
                finally:
                    peer.stop()
    finally:
        results["load_end"] = os.getloadavg()
        OUT.mkdir(exist_ok=True)
        out = OUT / f"taxii-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
        out.write_text(json.dumps(results, indent=2))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(table(results))
    print(f"\nJSON: {out}", file=sys.stderr)
    return 0


def table(results: dict) -> str:
    servers = results["servers"]
    others = [s for s in servers if s != "cairn"]
    head = ["size", "metric"] + servers + ([f"cairn / {o}" for o in others] if "cairn" in servers else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    metrics = [("ingest", "ingest objects/s", True), ("read", "paged read objects/s", True),
               ("p50", "match[id] p50 ms", False), ("p99", "match[id] p99 ms", False)]
    for n in results["sizes"]:
        rows = {s: results["rows"].get(f"{s}@{n}", {}) for s in servers}
        for key, label, higher_better in metrics:
            cells = []
            for s in servers:
                r = rows[s]
                if key in r:
                    v = r[key]
                    cell = f"{v:,.0f}" if key in ("ingest", "read") else f"{v:.2f}"
                    if r.get(f"{key}_partial"):
                        cell += f" (partial: {r[key + '_partial']})"
                    elif key != "ingest" and "stored" in r:
                        cell += f" (on the {r['stored']:,} stored)"
                    if key in ("p50", "p99") and r.get("lookups", 0) < results["lookups"]:
                        cell += f" ({r['lookups']} lookups)"
                    cells.append(cell)
                else:
                    cells.append((r.get("skipped") or r.get("error", "—")) if key == "ingest" else "—")
            ratios = []
            if "cairn" in servers:
                for o in others:
                    a, b = rows["cairn"].get(key), rows[o].get(key)
                    ratios.append(f"{(a / b if higher_better else b / a):.1f}×" if a and b else "—")
            lines.append(f"| {n:,} | {label} | " + " | ".join(cells + ratios) + " |")
        c = rows.get("cairn", {})
        if "static" in c:
            pad = " |" * (len(head) - 3)
            lines.append(f"| {n:,} | static file limit objects/s (page of {c['static_page']}) | {c['static']:,.0f} |{pad}")
            lines.append(f"| {n:,} | cairn read / static limit | {c['read'] / c['static']:.2f} |{pad}")
        pages = ", ".join(f"{s} {rows[s]['page']}" for s in servers if "page" in rows[s])
        if pages:
            lines.append(f"| {n:,} | objects per page | {pages} |" + " |" * (len(head) - 3))
    note = (f"\nIngest: POST envelopes of {results['envelope']} objects (serialized before timing), each status polled until complete. Read: the whole "
            f"collection, limit capped by each server's maximum. Lookups: {results['lookups']} match[id] requests. A peer phase "
            f"stops after {results['budget']:.0f}s and reports its partial figure. Client JSON parser: {results.get('json', '?')}. "
            f"Ratios: Cairn's advantage (higher is better for Cairn).")
    if "load_start" in results:
        note += f" Load average (1, 5, 15 min) at the start {fmt_load(results['load_start'])}, at the end {fmt_load(results.get('load_end'))}."
    return "\n".join(lines) + "\n" + note


def fmt_load(la) -> str:
    return "/".join(f"{x:.2f}" for x in la) if la else "?"


if __name__ == "__main__":
    sys.exit(main())
