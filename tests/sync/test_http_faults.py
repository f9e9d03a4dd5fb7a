"""Network faults between a township PC and a REAL county server process (uvicorn on loopback): dropped
requests, connections cut mid-body both ways, answers lost after the server applied, duplicates, stalls,
a server restart mid-upload, a clock hours off, an unreachable server. Each: nothing lost, nothing applied
twice, resumption from where it stopped (never from zero), and a clear Chinese message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.sync.errors import SyncError
from app.sync.http_client import SYNCED, UP_TO_DATE, NetworkSyncError
from tests.server.conftest import ROOT, LiveCounty, NetWorld
from tests.sync.http_kit import (
    FaultProxy,
    FaultTransport,
    add_scan,
    assert_exactly_once,
    client_for,
    is_complete,
    is_piece,
    live_county_world,
    staging_residue,
)

pytestmark = pytest.mark.slow

OFFLINE = "无法连接县级平台（网络不通），将自动重试。"
INTERRUPTED = "与县级平台的连接中断。已传送的部分会保留，将自动重试并从中断处继续。"
MIB = 1024 * 1024


@pytest.fixture
def live_net(tmp_path: Path) -> Iterator[tuple[NetWorld, LiveCounty]]:
    with live_county_world(tmp_path) as world_and_server:
        yield world_and_server


def _staged(pc, what: str = "upload") -> dict:
    """The upload or download a failed round left staged on the PC."""
    return json.loads((pc.folder / "sync-http" / "state.json").read_text(encoding="utf-8"))[what]


def _server_upload_sizes(live: LiveCounty) -> list[int]:
    return [json.loads(p.read_text(encoding="utf-8"))["size"] for p in (live.data_dir / "http" / "uploads").glob("*.json")]


def test_dropped_requests_fail_the_round_cleanly_or_are_retried_within_it(live_net: tuple[NetWorld, LiveCounty]):
    world, live = live_net
    pc = world.township_pc(villages=("石桥村", "东山村"))
    add_scan(pc, 300_000)
    transport = FaultTransport(httpx.HTTPTransport())
    transport.arm("drop")  # the very first request: the server was never reached
    with client_for(pc, live.url, transport, piece_size=64 * 1024) as client:
        with pytest.raises(NetworkSyncError) as caught:
            client.round()
        assert caught.value.code == "offline" and str(caught.value) == OFFLINE
        transport.arm("drop", skip=2, match=is_piece)  # mid-upload: retried at once, from the same offset
        result = client.round()
    [size] = _server_upload_sizes(live)
    assert result.state == SYNCED and result.upload_bytes == size > 300_000
    assert transport.sent_body("PUT", "/api/v1/uploads/") == size  # no byte sent twice
    assert_exactly_once(world.county_path, pc)
    assert staging_residue(pc) == []


def test_a_connection_cut_mid_body_on_upload_resumes_from_the_committed_offset(
        live_net: tuple[NetWorld, LiveCounty]):
    world, live = live_net
    pc = world.township_pc()
    add_scan(pc, int(2.5 * MIB))
    proxy = FaultProxy(live.port).start()
    proxy.arm("up", b"PUT /api/v1/uploads/", after=MIB + 600_000)  # in the middle of the second piece
    try:
        with client_for(pc, proxy.url, retries=0) as client:  # the default 1 MiB pieces
            with pytest.raises(NetworkSyncError) as caught:
                client.round()
            assert caught.value.code == "interrupted" and str(caught.value) == INTERRUPTED
            size = _staged(pc)["size"]
            cut = client.last_result
            resumed = client.round()
        wire = proxy.forwarded["up"]
    finally:
        proxy.stop()
    assert size > 2 * MIB and cut.upload_bytes > MIB
    assert resumed.state == SYNCED and resumed.upload_bytes == size - MIB  # from the committed offset on
    # the client re-sends at most the one piece that was in flight …
    assert cut.upload_bytes + resumed.upload_bytes - size <= MIB
    # … and of it, only what had crossed the line before the cut went over the line twice
    other = cut.bytes_sent + resumed.bytes_sent - cut.upload_bytes - resumed.upload_bytes  # heads, JSON bodies
    resent = wire - other - size
    assert 0 < resent < MIB, f"re-sent {resent} bytes over the line: more than the one piece that was cut"
    assert_exactly_once(world.county_path, pc)
    assert staging_residue(pc) == []


def test_a_connection_cut_mid_body_on_download_resumes_with_range(live_net: tuple[NetWorld, LiveCounty]):
    world, live = live_net
    a1 = world.township_pc("a1")
    add_scan(a1, int(2.5 * MIB))
    with client_for(a1, live.url) as client:
        client.round()
    a2 = world.second_pc("a2")  # its first answer brings a1's scan down: a return of 2.5 MiB
    proxy = FaultProxy(live.port).start()
    proxy.arm("down", b"application/octet-stream", after=1_200_000)
    try:
        with client_for(a2, proxy.url, retries=0) as client:
            with pytest.raises(NetworkSyncError) as caught:
                client.round()
            assert caught.value.code == "interrupted" and str(caught.value) == INTERRUPTED
            [part] = list((a2.folder / "sync-http").glob("return-*.part"))
            kept, size = part.stat().st_size, _staged(a2, "download")["size"]
            resumed = client.round()
    finally:
        proxy.stop()
    assert size > 2 * MIB and kept > 1_000_000
    assert resumed.state == SYNCED and resumed.download_bytes == size - kept, "the download did not resume"
    assert_exactly_once(world.county_path, a1, a2)
    assert staging_residue(a2) == []


@pytest.mark.parametrize("retries", [2, 0])
def test_an_answer_lost_after_the_server_applied_is_answered_again_not_applied_twice(
        live_net: tuple[NetWorld, LiveCounty], retries: int):
    world, live = live_net
    pc = world.township_pc(villages=("石桥村", "东山村", "西岭村"))
    transport = FaultTransport(httpx.HTTPTransport())
    transport.arm("lose_response", match=is_complete)
    with client_for(pc, live.url, transport, retries=retries) as client:
        if retries:
            result = client.round()  # complete is asked again at once: the stored acknowledgement
        else:
            with pytest.raises(NetworkSyncError) as caught:
                client.round()
            assert caught.value.code == "interrupted" and str(caught.value) == INTERRUPTED
            result = client.round()  # the next round finds the upload applied and completes it again
        assert result.state == SYNCED and result.acknowledged_to == 4 and pc.sync.status().pending_records == 0
        assert client.round().state == UP_TO_DATE
    completes = [e for e in transport.log if e.method == "POST" and e.path.endswith("/complete")]
    assert len(completes) == 2 and completes[0].fault == "lose_response" and completes[1].status == 200
    assert transport.sent_body("PUT", "/api/v1/uploads/") == result.upload_bytes or retries == 0
    assert_exactly_once(world.county_path, pc)


def test_duplicated_requests_change_nothing(live_net: tuple[NetWorld, LiveCounty]):
    world, live = live_net
    pc = world.township_pc(villages=("石桥村", "东山村"))
    add_scan(pc, 200_000)
    transport = FaultTransport(httpx.HTTPTransport())
    transport.arm("duplicate", match=lambda r: r.url.path.endswith("/state"))
    transport.arm("duplicate", match=lambda r: r.method == "POST" and r.url.path.endswith("/uploads"))
    transport.arm("duplicate", skip=1, match=is_piece)
    transport.arm("duplicate", match=is_complete)
    transport.arm("duplicate", match=lambda r: r.url.path.endswith("/ack"))
    with client_for(pc, live.url, transport, piece_size=64 * 1024) as client:
        result = client.round()
        assert result.state == SYNCED and pc.sync.status().pending_records == 0
        assert client.round().state == UP_TO_DATE
    assert not transport.armed, "every duplicate was delivered"
    assert_exactly_once(world.county_path, pc)
    assert staging_residue(pc) == []


@pytest.mark.parametrize("direction", ["down", "up"])
def test_a_stalled_transfer_is_aborted_by_the_watchdog_and_the_next_round_resumes(
        live_net: tuple[NetWorld, LiveCounty], direction: str):
    world, live = live_net
    if direction == "down":
        a1 = world.township_pc("a1")
        add_scan(a1, int(1.5 * MIB))
        with client_for(a1, live.url) as client:
            client.round()
        pc = world.second_pc("a2")
        pattern, after = b"application/octet-stream", 500_000
    else:
        pc = world.township_pc()
        add_scan(pc, int(1.5 * MIB))
        pattern, after = b"offset=524288", 300_000  # in the second piece: the first one is committed
    proxy = FaultProxy(live.port).start()
    proxy.arm(direction, pattern, after=after, action="stall", seconds=6)
    try:
        with client_for(pc, proxy.url, stall_seconds=1.0, retries=0, piece_size=512 * 1024) as client:
            started = time.monotonic()
            with pytest.raises(NetworkSyncError) as caught:
                client.round()
            waited = time.monotonic() - started
            assert caught.value.code == "stalled"
            assert str(caught.value) == "与县级平台的传输停滞（超过 1 秒没有进展）。已中止本次同步，将自动重试并从中断处继续。"
            assert waited < 5, "the watchdog did not abort the stalled transfer"
            assert pc.sync.status().offline
            staged = _staged(pc, "download" if direction == "down" else "upload")
            parts = list((pc.folder / "sync-http").glob("return-*.part"))
            resumed = client.round()
    finally:
        proxy.stop()
    assert resumed.state == SYNCED
    if direction == "down":
        kept = parts[0].stat().st_size if parts and parts[0].exists() else staged["size"] - resumed.download_bytes
        assert kept >= 400_000 and resumed.download_bytes == staged["size"] - kept, "the download restarted from zero"
    else:
        assert resumed.upload_bytes <= staged["size"] - 512 * 1024, "the upload restarted from zero"
    assert_exactly_once(world.county_path, pc)
    assert staging_residue(pc) == []


def test_a_server_restart_mid_upload_loses_at_most_the_piece_in_flight(live_net: tuple[NetWorld, LiveCounty]):
    world, live = live_net
    pc = world.township_pc()
    add_scan(pc, 1_200_000)
    piece = 256 * 1024
    killed: list[int] = []

    def crash_the_server(done: int, total: int) -> None:
        if not killed and total > MIB and done >= piece + piece // 2:
            killed.append(done)
            live.kill()  # SIGKILL in the middle of the second piece

    with client_for(pc, live.url, piece_size=piece) as client:
        with pytest.raises(NetworkSyncError) as caught:
            client.round(progress=crash_the_server)
        assert caught.value.code in ("offline", "interrupted") and "将自动重试" in str(caught.value), (caught.value.status, caught.value.extra, live.log()[-3000:], client.last_result)
        size = _staged(pc)["size"]
        before_crash = client.last_result.upload_bytes
        live.start()
        resumed = client.round()
    assert resumed.state == SYNCED
    assert resumed.upload_bytes <= size - piece, "the committed first piece was sent again"
    # the client hands a whole piece to the socket; the crash loses at most that one, which goes again
    assert before_crash + resumed.upload_bytes - size <= piece, (before_crash, resumed.upload_bytes, size)
    assert_exactly_once(world.county_path, pc)
    assert staging_residue(pc) == []


def test_the_township_app_killed_mid_upload_resumes_after_it_is_started_again(live_net: tuple[NetWorld, LiveCounty]):
    world, live = live_net
    pc = world.township_pc()
    add_scan(pc, int(2.5 * MIB))
    proxy = FaultProxy(live.port).start()
    stall = proxy.arm("up", b"offset=1048576", after=200_000, action="stall", seconds=60)  # 2nd piece hangs
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    app = subprocess.Popen([sys.executable, "-m", "app", "sync", "--server", proxy.url, "--data-dir", str(pc.folder)],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not stall.fired and app.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stall.fired, "the upload never reached its second piece"
        app.kill()  # the township app dies (power cut, task manager) in the middle of the upload
        app.wait(10)
    finally:
        if app.poll() is None:
            app.kill()
        proxy.stop()
    size = _staged(pc)["size"]
    with client_for(pc, live.url) as client:  # the app is started again
        resumed = client.round()
    assert resumed.state == SYNCED and resumed.upload_bytes == size - MIB, "the committed piece was sent again"
    assert_exactly_once(world.county_path, pc)
    assert staging_residue(pc) == []


def test_a_clock_hours_off_syncs_over_real_http_and_a_quiet_round_stays_small(
        live_net: tuple[NetWorld, LiveCounty]):
    world, live = live_net
    pc = world.township_pc(villages=("石桥村",))
    with client_for(pc, live.url, clock=lambda: time.time() + 4 * 3600) as client:
        first = client.round()
        assert first.state == SYNCED and first.requests == 7  # one refused for clock_skew, then as usual
        quiet = client.round()
    # measured for the note (SYNC.md target: a no-op sync is one request each way, ≤ 2 KiB)
    assert quiet.state == UP_TO_DATE and quiet.requests == 1
    assert quiet.bytes_sent <= 2048 and quiet.bytes_received <= 2048, (quiet.bytes_sent, quiet.bytes_received)
    assert_exactly_once(world.county_path, pc)


def test_an_unreachable_server_is_reported_offline_with_the_pending_count(live_net: tuple[NetWorld, LiveCounty]):
    world, live = live_net
    pc = world.township_pc(villages=("石桥村", "东山村"))
    live.stop()
    with client_for(pc, live.url, stall_seconds=2) as client:
        with pytest.raises(SyncError) as caught:
            client.round()
        assert caught.value.code == "offline" and str(caught.value) == OFFLINE
        status = pc.sync.status()
        assert status.offline and status.pending_records == 3 and status.last_sync_error == OFFLINE
        live.start()
        assert client.round().state == SYNCED
    status = pc.sync.status()
    assert not status.offline and status.last_sync_error == "" and status.pending_records == 0
    assert_exactly_once(world.county_path, pc)
