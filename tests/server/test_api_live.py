"""The county server as a real uvicorn process on loopback: a full round, a restart and a crash in the
middle of an upload, a body cut mid-piece, an oversized declared body, a clock hours off."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.sync.enrolment import read_enrolment
from tests.server.conftest import (
    ROOT,
    LiveCounty,
    NetWorld,
    Signer,
    free_port,
    self_signed_certificate,
    sync_once,
)
from tests.sync.sync_world import digest

pytestmark = pytest.mark.slow


@pytest.fixture
def client(net_world: tuple[NetWorld, LiveCounty]) -> Iterator[httpx.Client]:
    _world, live = net_world
    with httpx.Client(base_url=live.url, timeout=30) as c:
        yield c


def test_a_full_round_over_real_http(net_world: tuple[NetWorld, LiveCounty], client: httpx.Client):
    world, live = net_world
    pc = world.township_pc(villages=("石桥村", "东山村"))
    assert read_enrolment(world.root / "enrol-pc1.xae").server_url == live.url
    signer = Signer.for_pc(client, pc)

    answer = sync_once(signer, pc, world.root / "net")

    assert answer["applied"] == 3 and answer["imported"].acknowledged_to == 3
    assert world.county.status()[0].records == {"乡镇信息": 1, "村/社区": 2}
    state = signer.get("/api/v1/state")
    assert state.status_code == 200 and state.json()["node_status"] == "active"
    assert len(state.content) < 2048 and int(state.headers["X-XiangAn-Server-Time"]) > 0


def test_a_server_restart_mid_upload_keeps_the_committed_offset(net_world: tuple[NetWorld, LiveCounty],
                                                                 client: httpx.Client):
    world, live = net_world
    pc = world.township_pc(villages=tuple(f"村{i:03d}" for i in range(60)))
    bundle = pc.export(world.root / "out").path
    signer = Signer.for_pc(client, pc)
    upload = signer.start_upload(bundle)
    assert signer.send_pieces(upload, bundle, piece=1024, stop_after=2) == 2048

    live.restart()  # a graceful restart (service manager)
    assert signer.get(f"/api/v1/uploads/{upload['upload_id']}").json()["committed"] == 2048
    assert signer.send_pieces({**upload, "committed": 2048}, bundle, piece=1024, stop_after=1) == 3072

    live.kill()  # and a crash
    live.start()
    resumed = signer.start_upload(bundle)
    assert resumed["committed"] == 3072
    signer.send_pieces(resumed, bundle, piece=1024)
    answer = signer.complete(upload["upload_id"]).json()
    assert answer["applied"] == 61 and answer["ack"]["upstream"] == 61


def test_a_piece_cut_mid_body_commits_nothing_of_it(net_world: tuple[NetWorld, LiveCounty], client: httpx.Client):
    world, live = net_world
    pc = world.township_pc(villages=tuple(f"村{i:03d}" for i in range(30)))
    bundle = pc.export(world.root / "out").path
    signer = Signer.for_pc(client, pc)
    upload = signer.start_upload(bundle)
    piece = bundle.read_bytes()[:1500]
    path = f"/api/v1/uploads/{upload['upload_id']}?offset=0"
    headers = signer_headers(signer, "PUT", path, piece)

    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        head = f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(piece)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode() + piece[:700])  # the line drops here

    time.sleep(0.3)
    assert signer.get(f"/api/v1/uploads/{upload['upload_id']}").json()["committed"] == 0
    signer.send_pieces(upload, bundle, piece=1500)
    assert signer.complete(upload["upload_id"]).json()["applied"] == 31


def signer_headers(signer: Signer, method: str, path: str, body: bytes) -> dict[str, str]:
    from app.sync.http_auth import sign_request

    return sign_request(signer.keys, method, path, body, int(time.time()), signer.enrol)


def test_a_declared_oversized_body_is_refused_without_reading_it(live_county: LiveCounty):
    with socket.create_connection(("127.0.0.1", live_county.port), timeout=10) as sock:
        sock.sendall(b"PUT /api/v1/uploads/" + b"a" * 32 + b"?offset=0 HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 104857600\r\n\r\n" + b"x" * 1000)
        started = time.monotonic()
        answer = _read_all(sock).decode("utf-8", "replace")
    assert answer.startswith("HTTP/1.1 413") and '"too_large"' in answer
    assert "x-xiangan-server-time" in answer.lower()
    assert time.monotonic() - started < 5


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (it answers 413 with Connection: close)."""
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_clock_three_hours_off_still_syncs_after_one_retry(net_world: tuple[NetWorld, LiveCounty],
                                                             client: httpx.Client):
    world, _live = net_world
    pc = world.township_pc()
    signer = Signer.for_pc(client, pc, skew=3 * 3600)
    refused = signer.get("/api/v1/state")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "clock_skew"
    signer.skew = int(refused.headers["X-XiangAn-Server-Time"]) - int(time.time())
    before = digest(world.county_path)
    assert sync_once(signer, pc, world.root / "net")["applied"] == 2
    assert digest(world.county_path) != before


def _xiangan_sync(folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    return subprocess.run([sys.executable, "-m", "app", "sync", "--data-dir", str(folder)], cwd=ROOT,
                          env={**environ, "PYTHONPATH": str(ROOT), **env}, capture_output=True, text=True,
                          timeout=120)


def test_https_with_the_countys_own_certificate(tmp_path: Path):
    """A county serving HTTPS itself (no proxy) with a self-signed certificate: the township syncs once
    SSL_CERT_FILE names the certificate, and without it is told exactly that, not "网络不通"."""
    port = free_port()
    world = NetWorld(tmp_path, server_url=f"https://localhost:{port}")
    live = LiveCounty(world.root / "county", port, tls=self_signed_certificate(tmp_path / "tls"))
    try:
        live.start()
        pc = world.township_pc(villages=("石桥村",))
        folder = pc.folder
        pc.close()

        refused = _xiangan_sync(folder)
        assert refused.returncode == 1 and "HTTPS 证书无法验证" in refused.stderr, refused.stderr
        assert "网络不通" not in refused.stderr and "Traceback" not in refused.stderr

        synced = _xiangan_sync(folder, SSL_CERT_FILE=str(live.tls[0]))
        assert synced.returncode == 0 and "县里已确认到第 2 号" in synced.stdout, synced.stdout + synced.stderr
        assert world.county.status()[0].records == {"乡镇信息": 1, "村/社区": 1}
    finally:
        live.stop()
        world.close()
