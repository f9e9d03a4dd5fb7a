"""Fixtures for the county server: a REAL uvicorn process on loopback (``live_county``), an in-process
app (``api``), a sync world whose enrolment files carry the server's address, and signed requests."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.models.sync_state import SyncIdentity
from app.sync.county import CountyStore
from app.sync.enrolment import enrol_meta
from app.sync.http_auth import sign_request
from app.sync.keys import KeyPair
from tests.sync.sync_world import Pc, World

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
PIECE = 1024 * 1024


def self_signed_certificate(folder: Path, host: str = "localhost") -> tuple[Path, Path]:
    """A certificate and key for ``host`` (as a county without a public CA would make one)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(host), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "county-cert.pem", folder / "county-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveCounty:
    """``xiangan-county serve`` in its own process, as in production (one uvicorn process)."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    db_url: str | None = None
    extra_args: tuple[str, ...] = ()
    tls: tuple[Path, Path] | None = None  # (certificate, key): serve HTTPS itself
    process: subprocess.Popen | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}" if self.tls else f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        args = [sys.executable, "-m", "app.county_cli", "serve", "--data-dir", str(self.data_dir),
                "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning", *self.extra_args]
        if self.tls:
            args += ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
        return [*args, "--db", self.db_url] if self.db_url else args

    def start(self) -> LiveCounty:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.wait_healthy()
        return self

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"county server exited with {self.process.returncode}:\n{self.log()}")
            try:
                verify: Any = ssl.create_default_context(cafile=str(self.tls[0])) if self.tls else True
                if httpx.get(self.url + "/api/v1/health", timeout=1.0, verify=verify).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"county server did not answer /api/v1/health within {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        """A graceful stop (SIGTERM), as a service manager does."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def kill(self) -> None:
        """A crash (SIGKILL): nothing gets to clean up."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def restart(self) -> LiveCounty:
        self.stop()
        return self.start()


@pytest.fixture
def live_county_factory(tmp_path: Path) -> Iterator[Callable[..., LiveCounty]]:
    """``start(data_dir=None, db_url=None, extra_args=(), port=None)``: a running county server. Without
    ``data_dir`` a county is initialised in tmp_path/"county" first; every server is stopped afterwards."""
    started: list[LiveCounty] = []

    def start(data_dir: Path | None = None, db_url: str | None = None, extra_args: tuple[str, ...] = (),
              port: int | None = None) -> LiveCounty:
        if data_dir is None:
            data_dir = tmp_path / "county"
            CountyStore.init(data_dir, db_url, name="安远县应急管理局").close()
        live = LiveCounty(data_dir, port or free_port(), db_url, extra_args)
        started.append(live)
        return live.start()

    yield start
    for live in started:
        live.stop()


@pytest.fixture
def live_county(live_county_factory: Callable[..., LiveCounty]) -> LiveCounty:
    """A county server on loopback over a fresh county in tmp_path/"county"."""
    return live_county_factory()


@dataclass
class NetWorld(World):
    """The USB sync world (tests/sync/sync_world.py) whose enrolment files carry the server's address."""

    server_url: str = ""

    def enrolment(self, code: str, township: str, tag: str) -> Path:
        return self.county.add_township(code, township, self.root / f"enrol-{tag}.xae",
                                        server_url=self.server_url or None)


@pytest.fixture
def net_world(tmp_path: Path, live_county_factory: Callable[..., LiveCounty]) -> Iterator[tuple[NetWorld, LiveCounty]]:
    """A county server process and the test's world sharing one county (its SQLite file, in WAL mode):
    ``world.township_pc()`` makes an enrolled PC whose enrolment file names the live server."""
    port = free_port()
    world = NetWorld(tmp_path, server_url=f"http://127.0.0.1:{port}")
    try:
        yield world, live_county_factory(world.root / "county", port=port)
    finally:
        world.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[NetWorld]:
    w = NetWorld(tmp_path, server_url="http://testserver")
    yield w
    w.close()


def credentials(pc: Pc) -> tuple[KeyPair, dict[str, Any]]:
    """The PC's private keys and the enrol meta its requests carry until the county activated it."""
    with pc.db.session(audit=False) as session:
        identity = session.get(SyncIdentity, 1)
        keys = KeyPair.from_json(identity.keys)
        return keys, enrol_meta(identity.enrolment_id, identity.enrolment_code, keys.public(),
                                identity.township_id, list(identity.retired))


class Signer:
    """Signed requests as one PC, over any httpx-style client (a TestClient or an httpx.Client)."""

    def __init__(self, client: Any, keys: KeyPair, enrol: dict[str, Any] | None = None, skew: int = 0) -> None:
        self.client = client
        self.keys = keys
        self.enrol = enrol
        self.skew = skew

    @classmethod
    def for_pc(cls, client: Any, pc: Pc, **kwargs: Any) -> Signer:
        keys, enrol = credentials(pc)
        return cls(client, keys, enrol, **kwargs)

    def request(self, method: str, path: str, *, json_body: Any = None, content: bytes = b"",
                headers: Mapping[str, str] | None = None) -> httpx.Response:
        body = json.dumps(json_body).encode() if json_body is not None else content
        signed = sign_request(self.keys, method, path, body, int(time.time()) + self.skew, self.enrol)
        if json_body is not None:
            signed["Content-Type"] = "application/json"
        return self.client.request(method, path, content=body, headers={**signed, **(headers or {})})

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json_body=json_body, **kwargs)

    def put(self, path: str, content: bytes, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, content=content, **kwargs)

    # -- the protocol, step by step (what app/sync/http_client.py does, spelt out for the tests) --------
    def start_upload(self, bundle: Path) -> dict[str, Any]:
        data = bundle.read_bytes()
        from app.sync.bundle import peek_envelope

        response = self.post("/api/v1/uploads", {"bundle_id": peek_envelope(bundle).bundle_id, "size": len(data),
                                                 "sha256": hashlib.sha256(data).hexdigest()})
        assert response.status_code == 200, response.text
        return response.json()

    def send_pieces(self, upload: dict[str, Any], bundle: Path, piece: int = PIECE,
                    stop_after: int | None = None) -> int:
        """PUT the bundle from the committed offset on; ``stop_after`` pieces simulates a cut connection."""
        data = bundle.read_bytes()
        committed, sent = upload["committed"], 0
        while committed < len(data) and (stop_after is None or sent < stop_after):
            response = self.put(f"/api/v1/uploads/{upload['upload_id']}?offset={committed}",
                                data[committed:committed + piece])
            assert response.status_code == 200, response.text
            committed, sent = response.json()["committed"], sent + 1
        return committed

    def complete(self, upload_id: str) -> httpx.Response:
        return self.post(f"/api/v1/uploads/{upload_id}/complete")

    def upload(self, bundle: Path, piece: int = PIECE) -> dict[str, Any]:
        """Upload and complete one bundle; the answer to complete (asserted 200)."""
        upload = self.start_upload(bundle)
        self.send_pieces(upload, bundle, piece)
        response = self.complete(upload["upload_id"])
        assert response.status_code == 200, response.text
        return response.json()

    def download(self, return_id: str, into: Path, start: int = 0) -> Path:
        headers = {"Range": f"bytes={start}-"} if start else None
        response = self.get(f"/api/v1/returns/{return_id}", headers=headers)
        assert response.status_code == (206 if start else 200), response.text
        target = into / f"{return_id}.xab"
        with open(target, "ab" if start else "wb") as out:
            out.write(response.content)
        return target


def sync_once(signer: Signer, pc: Pc, folder: Path) -> dict[str, Any]:
    """One full round as the client does it: export, upload, complete, download and import the return,
    acknowledge. The complete answer, with "imported" (the township's ImportResult)."""
    folder.mkdir(parents=True, exist_ok=True)
    exported = pc.export(folder)
    answer = signer.upload(exported.path)
    returned = signer.download(answer["return"]["return_id"], folder)
    imported = pc.sync.import_return(returned)
    ack = signer.post("/api/v1/ack", {"downstream": pc.sync.status().downstream_seq})
    assert ack.status_code == 200, ack.text
    return {**answer, "imported": imported}
