#!/usr/bin/env python3
"""Federation throughput: how fast a collection replicates between TAXII 2.1 nodes on loopback.

In one run, on the same generated objects (realistic mixed STIX 2.1: indicators with patterns,
malware, attack patterns and relationships, each TLP:CLEAR or TLP:GREEN):

  node→node pull  N objects in one collection of a source node (`cairn serve`, release build,
                  loaded with `cairn import`); a destination node with the source as peer (a
                  `peer` account's token) and a pull subscription runs `cairn sync --page-size P`:
                  the timed figure is that one round, end to end, process start to exit.
  node→node push  the same source pushes the same collection to a third node (`cairn serve`,
                  a `peer` account there): `cairn sync --page-size P` on the source, timed.
  medallion pull  the first M objects (default 10,000: medallion's memory backend answers the
                  first page of a collection in time quadratic in its size) in medallion, loaded
                  from its data file (objects with their manifest, so its quadratic ingest is not
                  part of the run); a fresh Cairn node pulls them with `cairn sync`, timed.

Every round is checked: the report's `transferred` must equal the number of objects.

Where the time goes, for each Cairn→Cairn round: the CPU seconds of the serving process (from
/proc, before and after) and of the `cairn sync` process (getrusage), and the serving node's
own per-route request time (`cairn_http_request_duration_seconds` sums from /metrics, until
the response head), so a slow round can be put down to page serving, manifest requests (the
puller asks the manifest of each page for its remote date_added, EngineConfig.remote_dates),
status polling, or the local store.

Usage (from the repository root, after `cargo build --release -p cairn`):
    python3 bench/federation/bench.py                       # N=100000, medallion M=10000
    python3 bench/federation/bench.py --n 20000 --medallion-n 2000 --no-push
Needs `requests` (and uses `orjson` when present); medallion from bench/.venvs/medallion
(bench/taxii/setup-peers.sh) or the tests' .venv. Results: a Markdown table on stdout and JSON
in bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT = HERE.parent / "out"
TAXII = "application/taxii+json;version=2.1"
PASSWORD = "bench-" + uuid.uuid4().hex[:12]
TLP_CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# ---------------------------------------------------------------------------------------------
# data


def stix_stream(n: int, seed: int = 1):
    """n valid STIX 2.1 objects with unique ids, in blocks of ten: a malware family, five
    indicators (IPv4, domain, URL, SHA-256, MD5 patterns), an attack pattern, two `indicates`
    relationships and one `uses`; each TLP:GREEN (70%) or TLP:CLEAR, with a creator."""
    rng = random.Random(seed)
    creator = f"identity--{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    tlds = ["com", "net", "org", "info", "biz", "xyz", "top", "ru", "io"]
    words = ["update", "secure", "login", "cdn", "mail", "portal", "cloud", "sync", "api", "files", "wallet", "trade"]
    families = ["Emotet", "QakBot", "IcedID", "AgentTesla", "Formbook", "RedLine", "Lumma", "AsyncRAT"]
    techniques = [("T1566.001", "Spearphishing Attachment"), ("T1059.001", "PowerShell"),
                  ("T1071.001", "Web Protocols"), ("T1105", "Ingress Tool Transfer"), ("T1486", "Data Encrypted for Impact")]
    base = 1767225600  # 2026-01-01T00:00:00Z

    def new_id(kind: str) -> str:
        return f"{kind}--{uuid.UUID(int=rng.getrandbits(128), version=4)}"

    block: dict = {}
    for i in range(n):
        t = base + i // 1000 + (i % 1000) / 1000
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + f".{i % 1000:03d}Z"
        common = {"spec_version": "2.1", "created_by_ref": creator, "created": stamp, "modified": stamp,
                  "object_marking_refs": [TLP_GREEN if rng.random() < 0.7 else TLP_CLEAR]}
        slot = i % 10
        if slot == 0:
            block = {"malware": new_id("malware"), "indicators": [], "attack": new_id("attack-pattern")}
            fam = rng.choice(families)
            yield {"type": "malware", "id": block["malware"], **common, "name": f"{fam} variant {rng.getrandbits(16):04x}",
                   "is_family": False, "malware_types": [rng.choice(["trojan", "ransomware", "spyware", "downloader"])],
                   "description": f"{fam} build seen in partner telemetry", "labels": [fam.lower()]}
        elif slot <= 5:
            kind = ["ipv4", "domain", "url", "sha256", "md5"][slot - 1]
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
            oid = new_id("indicator")
            block["indicators"].append(oid)
            yield {"type": "indicator", "id": oid, **common, "name": name,
                   "description": f"Observed by partner sensors in campaign {rng.randint(1, 400)}; confidence from sandbox detonation.",
                   "indicator_types": ["malicious-activity"], "pattern": pattern, "pattern_type": "stix",
                   "pattern_version": "2.1", "valid_from": stamp, "confidence": rng.choice([15, 50, 85]),
                   "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": rng.choice(["initial-access", "command-and-control", "impact"])}]}
        elif slot == 6:
            ext, name = rng.choice(techniques)
            yield {"type": "attack-pattern", "id": block["attack"], **common, "name": name,
                   "external_references": [{"source_name": "mitre-attack", "external_id": ext,
                                            "url": f"https://attack.mitre.org/techniques/{ext.replace('.', '/')}/"}]}
        elif slot <= 8:
            src = block["indicators"][slot - 7] if len(block["indicators"]) > slot - 7 else new_id("indicator")
            yield {"type": "relationship", "id": new_id("relationship"), **common, "relationship_type": "indicates",
                   "source_ref": src, "target_ref": block.get("malware") or new_id("malware")}
        else:
            yield {"type": "relationship", "id": new_id("relationship"), **common, "relationship_type": "uses",
                   "source_ref": block.get("malware") or new_id("malware"), "target_ref": block.get("attack") or new_id("attack-pattern")}


# ---------------------------------------------------------------------------------------------
# processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu(pid: int) -> float:
    """utime + stime of a running process, in seconds."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Node:
    """One Cairn data directory, driven through the CLI; optionally serving."""

    def __init__(self, binary: pathlib.Path, root: pathlib.Path, name: str):
        self.binary, self.name = binary, name
        self.dir = root / name
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.log = open(root / f"{name}.log", "w")
        self.env = dict(os.environ, CAIRN_ADMIN_PASSWORD=PASSWORD, RUST_LOG=os.environ.get("RUST_LOG", "warn"))

    def cli(self, *args: str, stdin: str | None = None) -> str:
        p = subprocess.run([str(self.binary), "--data-dir", str(self.dir), *args], input=stdin,
                           capture_output=True, text=True, env=self.env)
        if p.returncode != 0:
            raise RuntimeError(f"{self.name}: cairn {' '.join(args)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
        lines = p.stdout.strip().splitlines()
        return lines[-1].strip() if lines else ""

    def timed_sync(self, *args: str) -> tuple[float, float, list[dict]]:
        """`cairn sync --json ARGS`: (wall seconds, CPU seconds of the process, reports)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run([str(self.binary), "--data-dir", str(self.dir), "sync", "--json", *args],
                           capture_output=True, text=True, env=self.env)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        reports = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        if p.returncode != 0 or any("error" in r for r in reports):
            raise RuntimeError(f"{self.name}: cairn sync failed ({p.returncode}): {p.stdout[-2000:]}\n{p.stderr[-2000:]}")
        return wall, cpu, reports

    def init(self) -> "Node":
        self.cli("init")
        return self

    def serve(self) -> None:
        self.proc = subprocess.Popen(
            [str(self.binary), "--data-dir", str(self.dir), "serve", "--listen", "127.0.0.1:0", "--no-sync"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env)
        found = threading.Event()
        box: dict = {}

        def pump():
            for line in self.proc.stdout:
                self.log.write(line)
                m = re.search(r"(http://127\.0\.0\.1:\d+/taxii2/)", line)
                if m and not found.is_set():
                    box["url"] = m.group(1)
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(60):
            raise RuntimeError(f"{self.name}: cairn serve did not print its discovery URL")
        self.url = box["url"]

    def peer_account(self, org: str, identity: str, collection: str, *, read: bool, write: bool) -> str:
        """An organization for a partner node, a `peer` user in it with a grant on
        `collection`, and that user's token."""
        self.cli("nation", "add", "FR")
        self.cli("org", "create", "--name", org, "--nation", "FR", "--identity", identity)
        user = f"{org.lower()}-sync"
        self.cli("user", "create", "--name", user, "--org", org, "--role", "peer")
        self.cli("grant", "add", "--collection", collection, "--org", org, *(["--read"] if read else []), *(["--write"] if write else []))
        return self.cli("token", "create", "--user", user)

    def metrics(self) -> dict[tuple[str, str], tuple[float, float]]:
        """(method, route) -> (request count, seconds) from the node's /metrics."""
        r = requests.get(self.url.replace("/taxii2/", "/metrics"), auth=("admin", PASSWORD), timeout=30)
        r.raise_for_status()
        out: dict = {}
        for line in r.text.splitlines():
            m = re.match(r'cairn_http_request_duration_seconds_(sum|count)\{method="(\w+)",route="([^"]+)"\} ([0-9.e+-]+)', line)
            if m:
                kind, method, route, v = m.groups()
                c, s = out.get((method, route), (0.0, 0.0))
                out[(method, route)] = (float(v), s) if kind == "count" else (c, float(v))
        return out

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def short_route(route: str) -> str:
    return route.replace("/taxii2/{root}/collections/{coll}", "").replace("/taxii2/{root}", "") or route


def metric_delta(before: dict, after: dict) -> dict[str, dict]:
    out = {}
    for k, (c, s) in after.items():
        c0, s0 = before.get(k, (0.0, 0.0))
        if c - c0 > 0 and k[1] != "/metrics":
            out[f"{k[0]} {short_route(k[1])}"] = {"requests": int(c - c0), "seconds": s - s0}
    return out


class Medallion:
    def __init__(self, binary: pathlib.Path, root: pathlib.Path, objects_file: pathlib.Path, m: int, page: int):
        self.port = free_port()
        base = f"http://127.0.0.1:{self.port}"
        self.discovery = f"{base}/taxii2/"
        self.collection = str(uuid.uuid4())
        objs, manifest = [], []
        t0 = 1780300800  # date_added: 2026-06-01T08:00:00Z, one millisecond apart
        with open(objects_file) as f:
            for k, line in zip(range(m), f):
                o = json.loads(line)
                objs.append(o)
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + k // 1000)) + f".{(k % 1000) * 1000:06d}Z"
                manifest.append({"id": o["id"], "date_added": stamp, "version": o["modified"],
                                 "media_type": "application/stix+json;version=2.1"})
        data = {
            "/discovery": {"title": "bench", "description": "bench", "default": f"{base}/bench/", "api_roots": [f"{base}/bench/"]},
            "bench": {"information": {"title": "bench", "versions": [TAXII], "max_content_length": 100 * 1024 * 1024},
                      "status": [],
                      "collections": [{"id": self.collection, "title": "bench", "can_read": True, "can_write": False,
                                       "media_types": ["application/stix+json;version=2.1"], "objects": objs, "manifest": manifest}]},
        }
        (root / "medallion-data.json").write_text(json.dumps(data))
        config = {"backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                              "filename": str(root / "medallion-data.json")},
                  "users": {"bench": PASSWORD}, "taxii": {"max_page_size": page}}
        (root / "medallion.json").write_text(json.dumps(config))
        self.log = open(root / "medallion.log", "w")
        self.proc = subprocess.Popen([str(binary), "--port", str(self.port), str(root / "medallion.json")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"medallion exited with {self.proc.returncode}: see {root / 'medallion.log'}")
            try:
                if requests.get(self.discovery, auth=("bench", PASSWORD), headers={"Accept": TAXII}, timeout=5).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("medallion did not answer within 120s")
            time.sleep(0.2)

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------------------------------------
# the runs


def check(report: dict, n: int, what: str) -> None:
    if report["transferred"] != n or report["rejected"]:
        raise RuntimeError(f"{what}: expected {n} transferred, got {report}")


def one_report(reports: list[dict], direction: str) -> dict:
    mine = [r for r in reports if r.get("direction") == direction]
    if len(mine) != 1:
        raise RuntimeError(f"expected one {direction} report: {reports}")
    return mine[0]


def pull_round(binary, work, name, src: "Node", coll: str, token: str, n: int, page_size: int, nodes: list) -> dict:
    """A fresh node pulls `coll` of the serving `src` in one timed `cairn sync` round."""
    dst = Node(binary, work, name).init()
    nodes.append(dst)
    inbox = dst.cli("collection", "create", "--title", "from source")
    dst.cli("peer", "add", "source", "--url", src.url, f"--token={token}")
    dst.cli("peer", "pull", "source", "--remote", coll, "--collection", inbox)
    m0, c0 = src.metrics(), src.cpu()
    wall, cpu, reports = dst.timed_sync("--page-size", str(page_size))
    m1, c1 = src.metrics(), src.cpu()
    r = one_report(reports, "pull")
    check(r, n, f"node→node pull of {n}")
    row = {"objects": n, "seconds": wall, "rate": n / wall, "pages": r["pages"], "client_cpu": cpu,
           "server_cpu": c1 - c0, "server_routes": metric_delta(m0, m1)}
    print(f"# node→node pull: {n:,} in {wall:.2f}s = {n / wall:,.0f} objects/s; sync CPU {cpu:.1f}s, "
          f"source CPU {c1 - c0:.1f}s; {row['server_routes']}", file=sys.stderr)
    return row


def machine() -> dict:
    cpu = "?"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", pathlib.Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "kernel": platform.release(), "python": platform.python_version()}


def version_of(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def find_medallion(arg: str | None) -> pathlib.Path | None:
    for c in ([arg] if arg else []) + [str(HERE.parent / ".venvs/medallion/bin/medallion"), str(REPO / ".venv/bin/medallion")]:
        if c and pathlib.Path(c).is_file():
            return pathlib.Path(c)
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="objects replicated node→node (default 100000)")
    ap.add_argument("--medallion-n", default="1000,3000",
                    help="comma-separated numbers of objects pulled from medallion, each into a fresh medallion and node "
                         "(default 1000,3000; 0: skip). Past about 3,500 medallion's first page takes longer than the "
                         "60 s request timeout of Cairn's TAXII client and the round fails")
    ap.add_argument("--page-size", type=int, default=1000, help="`cairn sync --page-size` (default 1000)")
    ap.add_argument("--medallion-page", type=int, default=1000, help="medallion's taxii.max_page_size (default 1000, the same as the Cairn pages)")
    ap.add_argument("--no-push", action="store_true", help="skip the node→node push")
    ap.add_argument("--cairn-bin", default=str(REPO / "target/release/cairn"))
    ap.add_argument("--medallion-bin", help="the medallion script (default: bench/.venvs/medallion/bin/medallion, else .venv/bin/medallion)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()

    binary = pathlib.Path(args.cairn_bin)
    if not binary.is_file():
        print(f"{binary} not found: cargo build --release -p cairn", file=sys.stderr)
        return 2
    med_sizes = [int(x) for x in args.medallion_n.split(",") if x.strip() and int(x) > 0]
    med_bin = find_medallion(args.medallion_bin) if med_sizes else None
    if med_sizes and not med_bin:
        print("medallion not found: bench/taxii/setup-peers.sh, or pip install -r tests/python/requirements.txt in .venv", file=sys.stderr)
        return 2
    work = pathlib.Path(tempfile.mkdtemp(prefix="cairn-fedbench-"))
    print(f"# work dir {work}", file=sys.stderr)
    res: dict = {"machine": machine(), "cairn": version_of([str(binary), "--version"]), "n": args.n,
                 "medallion_n": med_sizes, "page_size": args.page_size, "medallion_page": args.medallion_page,
                 "load_start": os.getloadavg(), "rows": {}}
    if med_bin:
        res["medallion"] = version_of([str(med_bin.parent / "python"), "-c",
                                       "import medallion, flask; print('medallion', medallion.__version__, '/ flask', flask.__version__)"])
    nodes: list[Node] = []
    try:
        # The objects, once, as JSON Lines.
        total = max([args.n, *med_sizes])
        objects_file = work / "objects.jsonl"
        t0 = time.perf_counter()
        size = 0
        with open(objects_file, "w") as f:
            for o in stix_stream(total):
                line = json.dumps(o, separators=(",", ":"))
                size += len(line)
                f.write(line + "\n")
        res["avg_object_bytes"] = size / total
        print(f"# generated {total:,} objects ({size / total:.0f} bytes each on average) in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        node_file = objects_file
        if args.n < total:
            node_file = work / "objects-n.jsonl"
            with open(objects_file) as src, open(node_file, "w") as dst:
                for _, line in zip(range(args.n), src):
                    dst.write(line)

        # Source: the collection, loaded with `cairn import`, and a peer account for the destination.
        src = Node(binary, work, "source").init()
        nodes.append(src)
        coll = src.cli("collection", "create", "--title", "shared")
        t0 = time.perf_counter()
        src.cli("import", "--collection", coll, str(node_file))
        dt = time.perf_counter() - t0
        res["rows"]["import"] = {"objects": args.n, "seconds": dt, "rate": args.n / dt}
        print(f"# source: imported {args.n:,} in {dt:.1f}s ({args.n / dt:,.0f} objects/s)", file=sys.stderr)
        dst_identity = f"identity--{uuid.uuid4()}"
        token = src.peer_account("DEST", dst_identity, coll, read=True, write=False)
        src.serve()

        # Destination: pulls the source's collection.
        res["rows"]["pull"] = pull_round(binary, work, "dest", src, coll, token, args.n, args.page_size, nodes)
        # The same at the largest medallion size (its first objects, in a collection of their own),
        # for a ratio at equal size.
        if med_sizes:
            m = max(med_sizes)
            small = src.cli("collection", "create", "--title", f"first {m}")
            small_file = work / "objects-m.jsonl"
            with open(objects_file) as f_in, open(small_file, "w") as f_out:
                for _, line in zip(range(m), f_in):
                    f_out.write(line)
            src.cli("import", "--collection", small, str(small_file))
            src.cli("grant", "add", "--collection", small, "--org", "DEST", "--read")
            res["rows"][f"pull@{m}"] = pull_round(binary, work, f"dest-{m}", src, small, token, m, args.page_size, nodes)

        # Push: the source pushes the same collection to a third node.
        if not args.no_push:
            third = Node(binary, work, "push-target").init()
            nodes.append(third)
            target = third.cli("collection", "create", "--title", "pushed here")
            push_token = third.peer_account("SOURCE", f"identity--{uuid.uuid4()}", target, read=False, write=True)
            third.serve()
            src.cli("peer", "add", "target", "--url", third.url, f"--token={push_token}")
            src.cli("peer", "push", "target", "--remote", target, "--collection", coll)
            m0, c0 = third.metrics(), third.cpu()
            wall, cpu, reports = src.timed_sync("--peer", "target", "--page-size", str(args.page_size))
            m1, c1 = third.metrics(), third.cpu()
            r = one_report(reports, "push")
            check(r, args.n, "node→node push")
            row = {"objects": args.n, "seconds": wall, "rate": args.n / wall, "pages": r["pages"], "client_cpu": cpu,
                   "server_cpu": c1 - c0, "server_routes": metric_delta(m0, m1)}
            res["rows"]["push"] = row
            print(f"# node→node push: {args.n:,} in {wall:.1f}s = {args.n / wall:,.0f} objects/s; sync CPU {cpu:.1f}s, "
                  f"target CPU {c1 - c0:.1f}s; {row['server_routes']}", file=sys.stderr)
            third.stop()

        src.stop()

        # medallion → Cairn, at each size (a fresh medallion and a fresh node each time).
        for m in med_sizes:
            key = f"medallion@{m}"
            mdir = work / f"medallion-{m}"
            mdir.mkdir()
            t0 = time.perf_counter()
            med = Medallion(med_bin, mdir, objects_file, m, args.medallion_page)
            print(f"# medallion: loaded {m:,} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
            try:
                puller = Node(binary, work, f"from-medallion-{m}").init()
                nodes.append(puller)
                pc = puller.cli("collection", "create", "--title", "from medallion")
                puller.cli("peer", "add", "medallion", "--url", med.discovery, "--user", "bench", "--password-stdin", stdin=PASSWORD + "\n")
                puller.cli("peer", "pull", "medallion", "--remote", med.collection, "--collection", pc)
                c0 = med.cpu()
                try:
                    wall, cpu, reports = puller.timed_sync("--page-size", str(args.page_size))
                except RuntimeError as e:
                    res["rows"][key] = {"objects": m, "error": str(e).splitlines()[-1][:300]}
                    print(f"# medallion pull at {m:,}: FAILED {res['rows'][key]['error']}", file=sys.stderr)
                    break
                c1 = med.cpu()
                r = one_report(reports, "pull")
                check(r, m, "medallion pull")
                res["rows"][key] = {"objects": m, "seconds": wall, "rate": m / wall,
                                    "pages": r["pages"], "client_cpu": cpu, "server_cpu": c1 - c0}
                print(f"# medallion pull: {m:,} in {wall:.1f}s = {m / wall:,.0f} objects/s; "
                      f"sync CPU {cpu:.1f}s, medallion CPU {c1 - c0:.1f}s", file=sys.stderr)
            finally:
                med.stop()
    finally:
        for nd in nodes:
            nd.stop()
        res["load_end"] = os.getloadavg()
        OUT.mkdir(exist_ok=True)
        out = OUT / f"federation-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
        out.write_text(json.dumps(res, indent=2))
        print(f"# JSON: {out}", file=sys.stderr)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(table(res))
    return 0


def table(res: dict) -> str:
    m = res["machine"]
    lines = [f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, Linux {m['kernel']}, Python {m['python']}. "
             f"{res['cairn']}" + (f"; {res['medallion']}" if res.get("medallion") else "") + ".",
             f"Objects: mixed STIX 2.1 (malware, indicators, attack patterns, relationships; TLP:CLEAR/GREEN), "
             f"{res.get('avg_object_bytes', 0):.0f} bytes on average. `cairn sync --page-size {res['page_size']}`.", "",
             "| run | objects | seconds | objects/s | pages | sync process CPU s | serving side CPU s |",
             "|---|---|---|---|---|---|---|"]
    rows = res["rows"]
    names = {"pull": "Cairn → Cairn pull", "push": "Cairn → Cairn push",
             "import": "`cairn import` of the same file (source load, for scale)"}
    keys = ["pull", "push"] + [k for k in rows if k.startswith("pull@")] + sorted((k for k in rows if k.startswith("medallion@")), key=lambda k: rows[k]["objects"]) + ["import"]
    for k in keys:
        r = rows.get(k)
        if not r:
            continue
        name = names.get(k) or (f"Cairn → Cairn pull (the first {r['objects']:,})" if k.startswith("pull@")
                                else f"medallion → Cairn pull (medallion pages of {res['medallion_page']})")
        if "error" in r:
            lines.append(f"| {name} | {r['objects']:,} | failed: {r['error']} | | | | |")
            continue
        lines.append(f"| {name} | {r['objects']:,} | {r['seconds']:.2f} | {r['rate']:,.0f} | {r.get('pages', '—')} | "
                     + (f"{r['client_cpu']:.1f} | {r['server_cpu']:.1f} |" if "client_cpu" in r else "— | — |"))
    done = [k for k in keys if k.startswith("medallion@") and "rate" in rows[k]]
    if "pull" in rows and done:
        big = rows[done[-1]]
        same = rows.get(f"pull@{big['objects']}")
        lines.append(f"\nCairn→Cairn pull / medallion→Cairn pull: {rows['pull']['rate'] / big['rate']:,.0f}× "
                     f"({rows['pull']['objects']:,} objects vs medallion's {big['objects']:,})"
                     + (f"; at the same {big['objects']:,} objects {same['rate'] / big['rate']:,.0f}×." if same else "."))
    for k in ("pull", "push"):
        if k in rows:
            parts = ", ".join(f"{route}: {v['requests']} requests, {v['seconds']:.2f}s"
                              for route, v in sorted(rows[k]["server_routes"].items()))
            lines.append(f"\n{names[k]}, serving node's request time (until the response head): {parts}.")
    lines.append(f"\nLoad average (1/5/15 min) at the start {'/'.join(f'{x:.2f}' for x in res['load_start'])}, "
                 f"at the end {'/'.join(f'{x:.2f}' for x in res.get('load_end', ()))}.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
