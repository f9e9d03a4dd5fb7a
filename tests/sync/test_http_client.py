"""The township's network sync client (app/sync/http_client.py) and its timetable (app/sync/scheduler.py):
rounds against the county server app in process, error sentences, and ``xiangan sync`` over real HTTP."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import cli
from app.errors import ValidationError
from app.storage import open_database
from app.sync.errors import SyncError
from app.sync.http_client import SYNCED, UP_TO_DATE, NetworkSyncError, RoundResult, SyncClient
from app.sync.scheduler import Backoff, SyncSchedule, Watchdog
from app.sync.township import TownshipSync
from tests.server.conftest import LiveCounty, NetWorld, free_port
from tests.sync.http_kit import (
    InProcessCounty,
    add_scan,
    in_process_county,
    is_piece,
    live_county_world,
    live_rows,
    staging_residue,
)
from tests.sync.sync_world import Pc

OFFLINE = "无法连接县级平台（网络不通），将自动重试。"


@pytest.fixture
def in_process(tmp_path: Path) -> Iterator[InProcessCounty]:
    with in_process_county(tmp_path) as county:
        yield county


@pytest.fixture
def live_net(tmp_path: Path) -> Iterator[tuple[NetWorld, LiveCounty]]:
    with live_county_world(tmp_path) as world_and_server:
        yield world_and_server


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- scheduler ---------------------------------------------------------------------------------------
def test_backoff_grows_with_jitter_between_30_seconds_and_15_minutes():
    backoff = Backoff(rng=random.Random(7))
    for failures in range(1, 40):
        delays = [backoff.delay(failures) for _ in range(50)]
        assert all(30 <= d <= 900 for d in delays), failures
    assert min(backoff.delay(1) for _ in range(50)) >= 30 and max(backoff.delay(1) for _ in range(50)) <= 60
    assert min(backoff.delay(9) for _ in range(50)) >= 450  # capped at 15 min, still spread over [7.5, 15] min
    spread = {round(backoff.delay(3), 3) for _ in range(20)}
    assert len(spread) > 10, "no jitter: every township would retry at the same second"


def test_schedule_runs_at_start_every_five_minutes_and_backs_off_after_failures():
    clock = FakeClock()
    schedule = SyncSchedule(backoff=Backoff(rng=random.Random(1)), clock=clock)
    assert schedule.due() and schedule.seconds_until_due() == 0  # sync on start-up

    assert schedule.succeeded() == 300
    assert not schedule.due() and schedule.seconds_until_due() == 300
    clock.now += 299
    assert not schedule.due()
    clock.now += 1
    assert schedule.due()

    delays = [schedule.failed() for _ in range(8)]
    assert 30 <= delays[0] <= 60 and delays[-1] >= 450 and all(d <= 900 for d in delays)
    assert schedule.failures == 8 and schedule.seconds_until_due() == pytest.approx(delays[-1])
    schedule.request_now()  # 立即同步, or the network came back
    assert schedule.due()
    assert schedule.succeeded() == 300 and schedule.failures == 0


def test_schedule_honours_the_servers_retry_after_up_to_the_maximum():
    clock = FakeClock()
    schedule = SyncSchedule(backoff=Backoff(rng=random.Random(1)), clock=clock)
    assert schedule.failed(retry_after=200) == 200
    assert schedule.failed(retry_after=5000) == 900
    limited = NetworkSyncError("rate_limited", retry_after=400)
    assert schedule.outcome(limited) == 400
    assert 30 <= schedule.outcome(NetworkSyncError("offline")) <= 900
    assert schedule.outcome(None) == 300 and schedule.failures == 0


def test_watchdog_trips_only_after_the_stall_time_without_progress():
    clock = FakeClock()
    dog = Watchdog(stall_seconds=60, clock=clock)
    clock.now += 59
    dog.check()
    dog.progress()
    clock.now += 59
    dog.check()  # progress reset the timer
    clock.now += 1
    assert dog.stalled()
    with pytest.raises(SyncError) as caught:
        dog.check()
    assert caught.value.code == "stalled"
    assert str(caught.value) == "与县级平台的传输停滞（超过 60 秒没有进展）。已中止本次同步，将自动重试并从中断处继续。"
    dog.restart()
    assert not dog.stalled()


# -- rounds against the county app in process ---------------------------------------------------------
def _config_docs(pc: Pc) -> list[tuple[str, str]]:
    with sqlite3.connect(pc.path) as conn:
        return list(conn.execute("SELECT kind, doc_version FROM config_document ORDER BY doc_version"))


def _send_sectors(county, folder: Path, version: str) -> None:
    doc = folder / f"sectors-{version}.json"
    doc.write_text(json.dumps({"kind": "sector_codes", "version": version, "title": "行业领域代码表",
                               "items": [{"code": "road", "name": "道路交通", "group": "八大重点行业"}]},
                              ensure_ascii=False), encoding="utf-8")
    county.send_document("sectors", doc)


def test_first_round_sends_everything_and_a_round_with_nothing_to_do_is_one_small_request(
        in_process: InProcessCounty):
    world = in_process.world
    pc = world.township_pc(villages=("石桥村", "东山村"))
    stages: list[str] = []
    with in_process.client(pc) as client:
        first = client.round(stage=stages.append)
        assert first.state == SYNCED and first.uploaded == 3 and first.acknowledged_to == 3 and first.pending == 0
        assert stages[:2] == ["正在连接县级平台…", "正在准备上报数据…"] and "正在上传…" in stages
        partition = f"twp:{pc.sv().scope.township_id}"
        assert live_rows(world.county_path, partition) == live_rows(pc.path, partition)
        assert world.county.status()[0].records == {"乡镇信息": 1, "村/社区": 2}
        assert staging_residue(pc) == []

        quiet = client.round()
    # the target of SYNC.md: a no-op sync is one request each way, ≤ 2 KiB
    assert quiet.state == UP_TO_DATE and quiet.requests == 1
    assert quiet.bytes_sent <= 2048 and quiet.bytes_received <= 2048, (quiet.bytes_sent, quiet.bytes_received)
    assert quiet.summary() == "已是最新，没有需要同步的内容。"
    status = pc.sync.status()
    assert status.server_url == "http://testserver" and status.last_sync_at is not None
    assert status.last_sync_error == "" and not status.offline and status.pending_records == 0


def test_county_data_comes_down_without_an_upload(in_process: InProcessCounty):
    world = in_process.world
    pc = world.township_pc()
    with in_process.client(pc) as client:
        client.round()
        _send_sectors(world.county, world.root, "2027.1")
        down = client.round()
        assert down.state == SYNCED and down.uploaded == 0 and down.requests == 4  # state, downstream, get, ack
        assert down.received == {"县级配置": 1}
        assert ("sector_codes", "2027.1") in _config_docs(pc)
        assert "收到" in down.summary() and "没有需要上报的记录" in down.summary()
        assert client.round().requests == 1


def _village_names(pc: Pc) -> list[str]:
    with sqlite3.connect(pc.path) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM village WHERE deleted = 0 ORDER BY name")]


def test_a_second_pc_of_the_township_gets_the_first_pcs_rows_and_sends_its_own(in_process: InProcessCounty):
    world = in_process.world
    a1 = world.township_pc("a1", villages=("石桥村",))
    with in_process.client(a1) as c1:
        c1.round()
        a2 = world.second_pc("a2")
        with in_process.client(a2) as c2:
            c2.round()  # not yet activated: its first bundle proves the enrolment, the answer brings a1's rows
            assert _village_names(a2) == ["石桥村"]
            village = a2.add_village("东山村")
            assert c2.round().uploaded == 1
        c1.round()
    assert a1.village(village)["name"] == "东山村"
    partition = f"twp:{a1.sv().scope.township_id}"
    assert live_rows(a1.path, partition) == live_rows(a2.path, partition) == live_rows(world.county_path, partition)


def test_a_staged_upload_survives_a_restart_of_the_app_and_resumes_where_it_stopped(in_process: InProcessCounty):
    world = in_process.world
    pc = world.township_pc()
    add_scan(pc, 100_000)
    piece = 16 * 1024
    in_process.transport.arm("drop", skip=2, match=is_piece)  # the line goes down at the third piece
    with in_process.client(pc, piece_size=piece, retries=0) as client, pytest.raises(NetworkSyncError) as caught:
        client.round()
    assert caught.value.code == "offline" and str(caught.value) == OFFLINE
    staged = json.loads((pc.folder / "sync-http" / "state.json").read_text(encoding="utf-8"))["upload"]
    assert staged["size"] > 100_000 and (pc.folder / "sync-http" / staged["file"]).is_file()
    pc.db.dispose()  # the app is closed …

    db = open_database(pc.folder)  # … and started again
    try:
        reopened = Pc(pc.name, pc.folder, db, TownshipSync(db, pc.folder))
        added = reopened.add_village("新村")  # edited while the upload waited
        with in_process.client(reopened, piece_size=piece) as client:
            resumed = client.round()
        assert resumed.upload_bytes < staged["size"] - piece, "the upload started again from zero"
        assert resumed.pending == 0 and reopened.sync.status().pending_records == 0
        assert in_process.transport.sent_body("PUT", "/api/v1/uploads/") - resumed.upload_bytes == 2 * piece
        assert world.county.status()[0].records.get("村/社区") == 2 and added
        assert staging_residue(reopened) == []
    finally:
        db.dispose()


def test_a_clock_hours_off_still_syncs_with_one_extra_request(in_process: InProcessCounty):
    pc = in_process.world.township_pc()
    with in_process.client(pc, clock=lambda: time.time() - 5 * 3600) as client:
        first = client.round()
        assert first.state == SYNCED and first.requests == 7  # the refused state call, then 6 as usual
        assert client.round().requests == 1  # the offset is kept


def test_cancelling_keeps_what_was_sent_and_the_next_round_goes_on(in_process: InProcessCounty):
    pc = in_process.world.township_pc()
    add_scan(pc, 80_000)
    piece = 16 * 1024

    def after_two_pieces() -> bool:
        return len([e for e in in_process.transport.log if e.method == "PUT"]) >= 2

    with in_process.client(pc, piece_size=piece) as client:
        with pytest.raises(SyncError) as caught:
            client.round(cancelled=after_two_pieces)
        assert caught.value.code == "cancelled"
        assert str(caught.value) == "已取消同步。已上传或下载的部分会保留，下次同步从中断处继续。"
        assert pc.sync.status().last_sync_error == str(caught.value)
        resumed = client.round()
    assert resumed.state == SYNCED and resumed.upload_bytes < 80_000 - piece, "cancelled upload started from zero"
    assert staging_residue(pc) == []


def test_no_server_address_and_not_enrolled_are_explained(tmp_path: Path, in_process: InProcessCounty):
    usb_only = NetWorld(tmp_path / "usb-only")
    try:
        pc = usb_only.township_pc()
        with pytest.raises(NetworkSyncError) as caught:
            SyncClient(pc.sync)
        assert caught.value.code == "no_server" and "尚未设置县级平台地址" in str(caught.value)
    finally:
        usb_only.close()
    fresh = in_process.world.open_pc("fresh")
    with in_process.client(fresh) as client, pytest.raises(SyncError) as caught:
        client.round()
    assert caught.value.code == "not_enrolled" and "尚未登记到县级平台" in str(caught.value)


def test_the_server_address_is_checked_and_remembered(in_process: InProcessCounty):
    pc = in_process.world.township_pc()
    assert pc.sync.server_url() == "http://testserver"  # from the enrolment file
    with pytest.raises(ValidationError) as caught:
        pc.sync.set_server_url("ftp://county")
    assert "县级平台地址" in str(caught.value) and "无效" in str(caught.value)
    assert pc.sync.set_server_url(" https://xiangan.example.gov.cn/ ") == "https://xiangan.example.gov.cn"
    assert pc.sync.status().server_url == "https://xiangan.example.gov.cn"


def test_offline_is_a_sentence_with_the_pending_count_and_a_backoff(in_process: InProcessCounty):
    pc = in_process.world.township_pc(villages=("石桥村", "东山村"))
    with (SyncClient(pc.sync, f"http://127.0.0.1:{free_port()}", stall_seconds=2) as client,
          pytest.raises(NetworkSyncError) as caught):
        client.round()
    assert caught.value.code == "offline" and str(caught.value) == OFFLINE
    status = pc.sync.status()
    assert status.offline and status.last_sync_error == OFFLINE and status.pending_records == 3
    assert status.to_dict()["offline"] is True and status.last_sync_at is None
    assert 30 <= SyncSchedule().outcome(caught.value) <= 60


def _mock(status: int, body: bytes, content_type: str = "application/json", **headers: str) -> httpx.MockTransport:
    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": content_type, **headers})

    return httpx.MockTransport(answer)


@pytest.mark.parametrize(("status", "body", "content_type", "headers", "code", "text", "retry_after"), [
    (403, json.dumps({"error": {"code": "revoked", "message": "本机的登记已被取代，请重新登记。"}}).encode(),
     "application/json", {}, "revoked", "本机的登记已被取代，请重新登记。", None),
    (429, json.dumps({"error": {"code": "rate_limited", "message": "同步请求过于频繁。"}}).encode(),
     "application/json", {"Retry-After": "120"}, "rate_limited", "同步请求过于频繁。", 120.0),
    (502, b"<html>Bad Gateway</html>", "text/html", {}, "unavailable",
     "县级平台暂时无法访问（HTTP 502）。将自动重试；如持续出现，请联系县应急管理局。", None),
    (200, b"<html>router login</html>", "text/html", {}, "protocol",
     "县级平台的应答无法识别（应答不是JSON）。请确认县级平台地址是否正确，或升级本软件。", None),
    (404, b"Not Found", "text/plain", {}, "protocol",
     "县级平台的应答无法识别（HTTP 404）。请确认县级平台地址是否正确，或升级本软件。", None),
])
def test_what_the_server_answers_becomes_a_chinese_sentence(in_process: InProcessCounty, status, body,
                                                            content_type, headers, code, text, retry_after):
    pc = in_process.world.township_pc()
    with (SyncClient(pc.sync, transport=_mock(status, body, content_type, **headers)) as client,
          pytest.raises(NetworkSyncError) as caught):
        client.round()
    assert (caught.value.code, str(caught.value), caught.value.retry_after) == (code, text, retry_after)
    assert pc.sync.status().last_sync_error == text


def test_round_result_summary_and_json():
    result = RoundResult(state=SYNCED, uploaded=12, received={"村/社区": 3}, acknowledged_to=40, requests=6)
    assert result.summary() == "上报 12 条记录；收到 村/社区 3 条；县里已确认到第 40 号。"
    assert result.to_dict()["requests"] == 6 and json.dumps(result.to_dict(), ensure_ascii=False)


# -- the command line over real HTTP ------------------------------------------------------------------
def _run(capsys, *args: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_xiangan_sync_over_real_http(capsys, live_net: tuple[NetWorld, LiveCounty]):
    world, live = live_net
    pc = world.township_pc(villages=("石桥村", "东山村"))
    folder = str(pc.folder)
    pc.close()

    code, out, err = _run(capsys, "sync", "--data-dir", folder)
    assert code == 0 and "上报 3 条记录" in out and "县里已确认到第 3 号" in out, (out, err)
    code, out, _ = _run(capsys, "sync", "--json", "--data-dir", folder)
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["state"] == "up_to_date" and report["requests"] == 1
    assert report["bytes_sent"] <= 2048 and report["bytes_received"] <= 2048
    code, out, _ = _run(capsys, "sync", "status", "--data-dir", folder)
    assert code == 0 and f"县级平台：{live.url}" in out and "上次联网同步：20" in out

    live.stop()
    code, out, err = _run(capsys, "sync", "--data-dir", folder)
    assert code == 1 and OFFLINE in err and "Traceback" not in err + out
    code, out, _ = _run(capsys, "sync", "--json", "--data-dir", folder)
    report = json.loads(out)
    assert code == 1 and report["error"] == {"code": "offline", "message": OFFLINE}
    code, out, _ = _run(capsys, "sync", "status", "--data-dir", folder)
    assert f"最近一次联网同步失败：{OFFLINE}" in out

    code, _, err = _run(capsys, "sync", "--server", "not a url", "--data-dir", folder)
    assert code == 1 and "县级平台地址" in err and "Traceback" not in err
    moved = LiveCounty(live.data_dir, free_port(), extra_args=live.extra_args).start()  # the server moved
    try:
        code, out, err = _run(capsys, "sync", "--server", moved.url, "--data-dir", folder)
        assert code == 0 and "已是最新" in out, err
        code, out, _ = _run(capsys, "sync", "status", "--json", "--data-dir", folder)
        status = json.loads(out)
        assert status["server_url"] == moved.url and status["last_sync_error"] == "" and not status["offline"]
    finally:
        moved.stop()
