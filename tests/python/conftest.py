"""Fixtures that run the real `cairn` binary for the Python peer tests.

The binary is $CAIRN_BIN, or target/debug/cairn in this checkout. A missing binary is an error
(every test that needs it fails), never a skip. Each test module gets its own data directory.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import secrets
import signal
import subprocess
import threading
import time

import pytest
import requests

REPO = pathlib.Path(__file__).resolve().parents[2]
SAMPLE_BUNDLE = REPO / "crates" / "cairn" / "sample" / "sample-bundle.json"
TAXII = "application/taxii+json;version=2.1"
DISCOVERY_RE = re.compile(r"(http://127\.0\.0\.1:\d+/taxii2/)")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def cairn_bin() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("CAIRN_BIN") or REPO / "target" / "debug" / "cairn")
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"cairn binary not found at {path}: build it with `cargo build -p cairn` or set CAIRN_BIN",
            pytrace=False,
        )
    return path


def compact(obj) -> str:
    """JSON text without insignificant whitespace, keys in their original order."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def load_sample() -> dict:
    return json.loads(SAMPLE_BUNDLE.read_text(encoding="utf-8"))


class Cairn:
    """One data directory driven through the CLI."""

    def __init__(self, binary: pathlib.Path, data_dir: pathlib.Path, password: str):
        self.binary = binary
        self.data_dir = data_dir
        self.password = password

    def run(self, *args: str, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, CAIRN_ADMIN_PASSWORD=self.password)
        proc = subprocess.run(
            [str(self.binary), "--data-dir", str(self.data_dir), *args],
            input=stdin,
            capture_output=True,
            env=env,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"cairn {' '.join(args)} exited {proc.returncode}\n"
                f"stdout: {proc.stdout.decode(errors='replace')}\nstderr: {proc.stderr.decode(errors='replace')}"
            )
        return proc

    @staticmethod
    def last_line(proc: subprocess.CompletedProcess) -> str:
        lines = [line.strip() for line in proc.stdout.decode().splitlines() if line.strip()]
        assert lines, f"no output on stdout; stderr: {proc.stderr.decode(errors='replace')}"
        return lines[-1]

    def init(self) -> None:
        self.run("init")

    def create_collection(self, title: str, *, description: str | None = None, id: str | None = None) -> str:
        args = ["collection", "create", "--title", title]
        if description is not None:
            args += ["--description", description]
        if id is not None:
            args += ["--id", id]
        return self.last_line(self.run(*args))

    def token(self) -> str:
        return self.last_line(self.run("token", "create", "--user", "admin"))

    def import_file(self, path: pathlib.Path | str, collection: str) -> subprocess.CompletedProcess:
        return self.run("import", str(path), "--collection", collection)

    def import_stdin(self, data: bytes, collection: str) -> subprocess.CompletedProcess:
        return self.run("import", "-", "--collection", collection, stdin=data)

    def export(self, collection: str, *extra: str) -> dict:
        proc = self.run("export", "--collection", collection, *extra)
        return json.loads(proc.stdout)


class Server:
    """`cairn serve` on an ephemeral port; stopped with SIGTERM."""

    def __init__(self, cairn: Cairn, *extra: str):
        self.cairn = cairn
        self.output: list[str] = []
        env = dict(os.environ, CAIRN_ADMIN_PASSWORD=cairn.password)
        self.proc = subprocess.Popen(
            [str(cairn.binary), "--data-dir", str(cairn.data_dir), "serve", "--listen", "127.0.0.1:0", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        self._found = threading.Event()
        self.discovery: str | None = None
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._pump, args=(stream,), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._found.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("cairn serve did not print its discovery URL:\n" + "".join(self.output))

    def _pump(self, stream) -> None:
        for line in stream:
            self.output.append(line)
            match = DISCOVERY_RE.search(line)
            if match and not self._found.is_set():
                self.discovery = match.group(1)
                self._found.set()

    @property
    def api_root(self) -> str:
        return self.discovery + "default/"

    def collection_url(self, collection_id: str) -> str:
        return f"{self.api_root}collections/{collection_id}/"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("cairn serve ignored SIGTERM")
        return self.proc.returncode


@pytest.fixture(scope="module")
def cairn(tmp_path_factory) -> Cairn:
    """A fresh, initialized data directory for the module."""
    c = Cairn(cairn_bin(), tmp_path_factory.mktemp("cairn-data"), "pw-" + secrets.token_hex(12))
    c.init()
    return c


@pytest.fixture(scope="module")
def server(cairn):
    s = Server(cairn)
    yield s
    assert s.stop() == 0, "cairn serve did not exit cleanly on SIGTERM:\n" + "".join(s.output)


@pytest.fixture(scope="module")
def basic(cairn) -> tuple[str, str]:
    return ("admin", cairn.password)


@pytest.fixture(scope="module")
def http(basic) -> requests.Session:
    s = requests.Session()
    s.auth = basic
    s.headers["Accept"] = TAXII
    return s
