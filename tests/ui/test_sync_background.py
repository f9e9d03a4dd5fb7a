"""Network sync in the background: rounds at start-up, on a timer and on demand on a worker thread; backoff
with jitter while offline; 取消; the status bar and the 同步 screen say how things stand. Driven by the real
SyncClient against the county app in-process, by scripted clients for timing, and by a real uvicorn server."""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QInputDialog

from app.models.organisation import Village
from app.server.app import ServerSettings, create_app
from app.services import Services
from app.sync.http_client import NetworkSyncError, RoundResult, SyncClient, cancelled_error
from app.sync.scheduler import Backoff, SyncSchedule
from app.sync.township import TownshipSync
from app.ui.main_window import MainWindow
from app.ui.sync.background import CANCELLED, ERROR, OFFLINE, SYNCED, SYNCING, BackgroundSync, SyncState
from app.ui.sync.page import SyncPage
from app.ui.sync.status import status_text
from tests.conftest import ADMIN, CLERK
from tests.server.conftest import LiveCounty, NetWorld, live_county_factory, net_world  # noqa: F401 (fixtures)
from tests.sync.http_kit import AsgiTransport
from tests.sync.sync_world import Pc
from tests.ui.conftest import click

SYNCED_AT = re.compile(r"^已同步 \d\d:\d\d$")


@pytest.fixture
def town(tmp_path: Path) -> Iterator[tuple[NetWorld, Pc]]:
    """A county (served in-process) and one enrolled township PC whose enrolment names the server."""
    world = NetWorld(tmp_path / "world", server_url="http://testserver")
    pc = world.township_pc(villages=("石桥村",))
    yield world, pc
    world.close()


class _Stream(httpx.SyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data


def in_process(world: NetWorld, down: threading.Event | None = None) -> Callable[[TownshipSync], SyncClient]:
    """Real SyncClients into the county app in this process; while ``down`` is set the network is out."""
    app = create_app(world.county, ServerSettings(rate_per_minute=10**6, rate_burst=10**6))

    class Switch(httpx.BaseTransport):
        def __init__(self) -> None:
            self.inner = AsgiTransport(app)

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if down is not None and down.is_set():
                raise httpx.ConnectError("injected: network down", request=request)
            answer = self.inner.handle_request(request)  # read whole: the client streams it as the network would
            return httpx.Response(answer.status_code, headers=answer.headers, stream=_Stream(answer.content),
                                  request=request)

        def close(self) -> None:
            self.inner.close()

    return lambda township: SyncClient(township, transport=Switch())


@pytest.fixture
def controllers() -> Iterator[list[BackgroundSync]]:
    made: list[BackgroundSync] = []
    yield made
    for background in made:
        background.stop()


def _background(controllers: list[BackgroundSync], pc: Pc, factory, schedule: SyncSchedule | None = None,
                ) -> BackgroundSync:
    background = BackgroundSync(pc.db, pc.folder, factory, schedule or SyncSchedule())
    controllers.append(background)
    return background


def _wait(qtbot, background: BackgroundSync, phase: str, timeout: int = 20_000) -> SyncState:
    qtbot.waitUntil(lambda: background.state.phase == phase, timeout=timeout)
    return background.state


def _county_villages(world: NetWorld) -> set[str]:
    with world.county.db.session() as session:
        return {v.name for v in session.query(Village).all()}


class Scripted:
    """A client whose round is written by the test (progress, blocking until 取消, errors)."""

    def __init__(self, act: Callable[..., RoundResult]) -> None:
        self.act = act
        self.rounds = 0

    def __call__(self, _township: TownshipSync) -> Scripted:
        return self

    def round(self, progress=None, cancelled=None, stage=None) -> RoundResult:
        self.rounds += 1
        return self.act(progress, cancelled, stage)

    def close(self) -> None:
        pass


def _raising(error: Exception) -> Callable[..., RoundResult]:
    def act(*_args: object) -> RoundResult:
        raise error

    return act


def _until_cancelled(progress, cancelled, stage) -> RoundResult:
    stage("正在上传…")
    progress(45, 100)
    deadline = time.monotonic() + 20
    while not cancelled() and time.monotonic() < deadline:
        time.sleep(0.01)
    raise cancelled_error()


# -- not enrolled ------------------------------------------------------------------------------------
def test_a_pc_that_is_not_enrolled_has_no_background_sync_and_says_so(qtbot, window):
    assert window.sync_status.full_text == "未登记到县级平台"
    assert not window.background_sync.thread.isRunning()
    click(qtbot, window.sync_status)
    assert window.current_area() == "sync"
    page = window.page("sync")
    assert page.network.state_label.text() == "未登记到县级平台"
    assert page.network.address.text() == "未设置（只能用U盘同步）"


# -- rounds ------------------------------------------------------------------------------------------
def test_the_start_up_round_syncs_and_the_next_one_is_scheduled(qtbot, town, controllers):
    world, pc = town
    background = _background(controllers, pc, in_process(world), SyncSchedule(interval=300))
    background.start()
    state = _wait(qtbot, background, SYNCED)
    assert SYNCED_AT.match(status_text(state)) and state.pending == 0
    assert _county_villages(world) == {"石桥村"}
    assert background.timer.isActive() and background.timer.interval() == 300_000
    assert state.last is not None and state.last.result.uploaded == 2


def test_rounds_repeat_on_their_own_and_carry_new_edits_up(qtbot, town, controllers):
    world, pc = town
    finished: list = []
    background = _background(controllers, pc, in_process(world), SyncSchedule(interval=0.3))
    background.round_finished.connect(finished.append)
    background.start()
    _wait(qtbot, background, SYNCED)
    pc.add_village("东山村")  # nobody clicks anything
    qtbot.waitUntil(lambda: "东山村" in _county_villages(world), timeout=20_000)
    qtbot.waitUntil(lambda: len(finished) >= 3, timeout=20_000)
    assert all(not outcome.failed for outcome in finished)


def test_offline_backs_off_with_jitter_says_so_and_recovers_on_its_own(qtbot, town, controllers):
    world, pc = town
    pc.add_village("东山村")
    down = threading.Event()
    down.set()
    schedule = SyncSchedule(interval=300, backoff=Backoff(0.05, 0.4, rng=random.Random(7)))
    background = _background(controllers, pc, in_process(world, down), schedule)
    waits: list[float] = []
    background.state_changed.connect(lambda s: waits.append(s.retry_in) if s.phase == OFFLINE else None)
    background.start()
    state = _wait(qtbot, background, OFFLINE)
    assert status_text(state) == f"离线，待上报 {state.pending} 条，将自动重试" and state.pending == 3
    qtbot.waitUntil(lambda: schedule.failures >= 3, timeout=20_000)  # retried without anyone asking
    expected = Backoff(0.05, 0.4, rng=random.Random(7))
    assert waits[:3] == [expected.delay(n) for n in (1, 2, 3)]  # the scheduler's jittered backoff
    assert len(set(waits[:3])) == 3 and all(0.025 <= w <= 0.4 for w in waits[:3])

    down.clear()  # the network is back
    state = _wait(qtbot, background, SYNCED)
    assert schedule.failures == 0 and _county_villages(world) == {"石桥村", "东山村"}
    assert TownshipSync(pc.db, pc.folder).status().last_sync_error == ""


def test_a_refusal_is_shown_word_for_word_and_retried_later(qtbot, town, controllers):
    _world, pc = town
    refusal = NetworkSyncError("revoked", status=403)
    client = Scripted(_raising(refusal))
    background = _background(controllers, pc, client, SyncSchedule(backoff=Backoff(30, 900, rng=random.Random(1))))
    background.start()
    state = _wait(qtbot, background, ERROR)
    assert status_text(state) == f"同步失败：{refusal}" and "重新登记" in str(refusal)
    assert background.timer.isActive() and background.timer.remainingTime() >= 15_000


def test_progress_shows_and_cancel_stops_the_round_while_the_ui_stays_responsive(qtbot, town, controllers):
    _world, pc = town
    client = Scripted(_until_cancelled)
    background = _background(controllers, pc, client)
    page = SyncPage(Services(pc.db, ADMIN), pc.folder)
    qtbot.addWidget(page)
    page.attach_background(background)
    page.show()
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)

    started = time.monotonic()
    click(qtbot, page.sync_now_button)
    assert time.monotonic() - started < 0.5  # the click returns at once: the round runs on the sync thread
    qtbot.waitUntil(lambda: background.state.percent == 45, timeout=10_000)
    assert background.state.phase == SYNCING and status_text(background.state) == "正在同步… 45%"
    assert page.network.progress.isVisible() and page.network.progress.value() == 45
    assert page.network.state_label.text() == "正在同步… 45%　正在上传…"
    ticks.clear()
    qtbot.wait(200)
    assert len(ticks) >= 5  # the event loop keeps running while the round is busy
    assert not background.sync_now() and not page.sync_now_button.isEnabled()  # one round at a time

    click(qtbot, page.network.cancel_button)
    state = _wait(qtbot, background, CANCELLED)
    timer.stop()
    assert status_text(state).startswith("已取消同步，待上报 ")
    assert not page.network.progress.isVisible() and not page.network.cancel_button.isVisible()
    assert "已取消" in page.network.last_label.text()
    assert client.rounds == 1 and background.timer.isActive()  # the next round at the normal interval
    assert page.sync_now_button.isEnabled()


def test_the_page_reports_the_last_round_and_lists_network_rounds_in_the_history(qtbot, town, controllers):
    world, pc = town
    background = _background(controllers, pc, in_process(world))
    page = SyncPage(Services(pc.db, CLERK), pc.folder)
    qtbot.addWidget(page)
    page.attach_background(background)
    assert page.network.address.text() == "http://testserver"
    assert not page.network.address_button.isVisible()  # only administrators change the address
    click(qtbot, page.sync_now_button)
    _wait(qtbot, background, SYNCED)
    assert "成功：上报 2 条记录" in page.network.last_label.text()
    table = page.history_table
    rows = [tuple(table.item(r, c).text() for c in range(1, 3)) for r in range(table.rowCount())]
    assert rows == [("联网", "下发"), ("联网", "上报")]
    assert page.status_labels["待上报"].text() == "0 条记录 / 0 个附件"


def test_an_administrator_sets_the_server_address(qtbot, services, data_dir, tmp_path, messages, monkeypatch,
                                                  controllers):
    from app.sync.county import CountyStore

    county = CountyStore.init(tmp_path / "county", name="安远县应急管理局")
    TownshipSync(services.db, data_dir).enrol(county.add_township("360726100", "青山镇", tmp_path / "e.xae"))
    county.close()
    background = _background(controllers, Pc("pc", data_dir, services.db, TownshipSync(services.db, data_dir)),
                             Scripted(lambda *_a: RoundResult()))
    page = SyncPage(services, data_dir)
    qtbot.addWidget(page)
    page.attach_background(background)
    background.start()
    qtbot.waitUntil(lambda: background.state.phase == "no_server")
    assert status_text(background.state).startswith("未设置县级平台地址")
    click(qtbot, page.sync_now_button)
    assert messages[-1][0] == "warning" and "尚未设置县级平台地址" in messages[-1][1]

    answers = iter([("ftp://county", True), ("http://10.0.0.5:8750/", True)])
    monkeypatch.setattr(QInputDialog, "getText", lambda *_a, **_k: next(answers))
    click(qtbot, page.network.address_button)
    assert messages[-1][0] == "warning" and "县级平台地址" in messages[-1][1] and "无效" in messages[-1][1]
    click(qtbot, page.network.address_button)
    assert messages[-1][0] == "information" and "http://10.0.0.5:8750" in messages[-1][1]
    assert page.network.address.text() == "http://10.0.0.5:8750"
    _wait(qtbot, background, SYNCED)  # a new address: a round at once


def test_a_sync_error_from_the_client_is_never_a_traceback(qtbot, town, controllers):
    _world, pc = town
    client = Scripted(_raising(ZeroDivisionError("division by zero")))
    background = _background(controllers, pc, client)
    background.start()
    state = _wait(qtbot, background, ERROR)
    assert status_text(state) == "同步失败：同步时发生意外错误：ZeroDivisionError: division by zero。将自动重试。"


def test_closing_ends_a_round_stuck_in_the_network(qtbot, town, controllers):
    _world, pc = town
    released = threading.Event()

    def stuck(*_args: object) -> RoundResult:  # a read that ignores 取消 until its connection is closed
        released.wait(30)
        raise NetworkSyncError("interrupted")

    client = Scripted(stuck)
    client.close = released.set
    background = _background(controllers, pc, client)
    background.start()
    qtbot.waitUntil(lambda: client.rounds == 1)
    started = time.monotonic()
    background.stop()
    assert not background.thread.isRunning() and time.monotonic() - started < 10
    assert released.is_set()


# -- a real county server (uvicorn in its own process) -------------------------------------------------
@pytest.fixture
def county_server(request: pytest.FixtureRequest) -> tuple[NetWorld, LiveCounty]:
    """tests/server's ``net_world`` (imported above): a uvicorn county server and a world whose enrolments
    name it."""
    return request.getfixturevalue("net_world")


@pytest.mark.slow
def test_sync_now_against_a_real_county_server_and_offline_when_it_is_down(
        qtbot, county_server: tuple[NetWorld, LiveCounty]):
    world, live = county_server
    pc = world.township_pc(villages=("石桥村",))
    window = MainWindow(Services(pc.db, ADMIN), pc.folder)
    qtbot.addWidget(window)
    window.show()
    background = window.background_sync
    qtbot.waitUntil(lambda: bool(SYNCED_AT.match(window.sync_status.full_text)), timeout=30_000)  # start-up round
    assert _county_villages(world) == {"石桥村"}

    pc.add_village("东山村")
    window.show_area("sync")
    page = window.page("sync")
    click(qtbot, page.sync_now_button)
    qtbot.waitUntil(lambda: background.state.last is not None and background.state.last.result is not None
                    and background.state.last.result.uploaded == 1, timeout=30_000)
    assert SYNCED_AT.match(window.sync_status.full_text)
    assert _county_villages(world) == {"石桥村", "东山村"}
    assert page.status_labels["待上报"].text() == "0 条记录 / 0 个附件"

    live.stop()
    pc.add_village("西岭村")
    started = time.monotonic()
    click(qtbot, page.sync_now_button)
    assert time.monotonic() - started < 0.5
    qtbot.waitUntil(lambda: background.state.phase == OFFLINE, timeout=30_000)
    assert window.sync_status.full_text == "离线，待上报 1 条，将自动重试"
    assert "无法连接县级平台" in page.network.last_label.text()
    assert background.timer.isActive()  # retried on its own
