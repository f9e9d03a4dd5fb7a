"""The county server on PostgreSQL (``serve --db postgresql+psycopg://…``) as a real uvicorn process:
township PCs sync over HTTP with the real client, concurrently, and ride out a database outage."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from app.models import Hazard
from app.services.hazards import HazardService
from app.sync.errors import SyncError
from app.sync.http_client import SyncClient
from tests.conftest import ADMIN
from tests.pg import run_admin
from tests.server.conftest import LiveCounty, NetWorld, free_port
from tests.sync.sync_world import Pc

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_net_world(tmp_path: Path, pg_url: str,
                 live_county_factory: Callable[..., LiveCounty]) -> Iterator[tuple[NetWorld, LiveCounty]]:
    """``net_world`` with the county database on PostgreSQL: the test's county store and the server
    process share it (the files — attachments, uploads — stay under tmp_path/county)."""
    port = free_port()
    world = NetWorld(tmp_path, county_url=pg_url, server_url=f"http://127.0.0.1:{port}")
    try:
        yield world, live_county_factory(world.root / "county", db_url=pg_url, port=port)
    finally:
        world.close()


def _round(pc: Pc):
    client = SyncClient(pc.sync)
    try:
        return client.round()
    finally:
        client.close()


def test_a_township_syncs_over_http_with_the_county_on_postgresql(pg_net_world: tuple[NetWorld, LiveCounty]):
    world, _live = pg_net_world
    assert world.county.db.engine.dialect.name == "postgresql"
    pc = world.township_pc(villages=("石桥村", "东山村"))

    first = _round(pc)
    assert (first.state, first.uploaded, first.acknowledged_to) == ("synced", 3, 3)
    assert world.county.status()[0].records == {"乡镇信息": 1, "村/社区": 2}
    quiet = _round(pc)
    assert quiet.state == "up_to_date" and quiet.requests == 1

    hazard_number = _register_hazard(pc)
    _round(pc)
    world.county.send_supervision("360726100", hazard_number, "请于月底前完成整改")
    down = _round(pc)
    assert down.received == {"督办通知": 1} and pc.sync.status().pending_records == 0


def _register_hazard(pc: Pc) -> str:
    hazards = HazardService(pc.db, ADMIN, pc.sv().scope)
    hazard_id = hazards.register({"found_on": "2026-11-01", "unit_name": "石桥砖厂", "location": "窑口",
                                  "description": "配电箱无防护"})
    with pc.db.session() as session:
        return session.get(Hazard, hazard_id).number


def test_townships_and_two_pcs_of_one_township_sync_at_the_same_time(pg_net_world: tuple[NetWorld, LiveCounty]):
    world, _live = pg_net_world
    pcs = [world.township_pc(f"t{i}", township=f"第{i}镇", code=f"36072620{i}",
                             villages=tuple(f"{i}村{n:03d}" for n in range(40))) for i in range(3)]
    for pc in pcs:
        _round(pc)
    twin = world.second_pc("t0-b", township="第0镇", code="360726200")
    _round(twin)
    for index, pc in enumerate([*pcs, twin]):
        pc.add_village(f"并发村{index}")
    errors: list[BaseException] = []

    def run(pc: Pc) -> None:
        try:
            _round(pc)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(pc,)) for pc in [*pcs, twin]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    for pc in [*pcs, twin]:  # one more round each: everything has arrived everywhere
        _round(pc)
    records = {status.code: status.records["村/社区"] for status in world.county.status()}
    assert records == {"360726200": 42, "360726201": 41, "360726202": 41}
    both = {pc.name: len(pc.sv().register("villages").query_ids()) for pc in (pcs[0], twin)}
    assert both == {"t0": 42, "t0-b": 42}  # the two PCs of one township see each other's rows


def test_a_database_outage_is_a_clear_error_and_the_next_round_completes(pg_net_world: tuple[NetWorld, LiveCounty],
                                                                          pg_server: str, pg_url: str):
    world, _live = pg_net_world
    pc = world.township_pc()
    _round(pc)
    pc.add_village("新华村")
    name = make_url(pg_url).database
    world.county.close()  # the test's own connections go too
    run_admin(pg_server, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
           f"ALTER DATABASE {name} RENAME TO {name}_away")
    try:
        with pytest.raises(SyncError) as caught:
            _round(pc)
        assert caught.value.code == "storage_unavailable" and "数据库暂时无法访问" in str(caught.value)
        assert pc.sync.status().pending_records == 1
    finally:
        run_admin(pg_server, f"ALTER DATABASE {name}_away RENAME TO {name}")
    back = _round(pc)
    assert back.uploaded == 1 and pc.sync.status().pending_records == 0
    world.restart()
    assert world.county.status()[0].records == {"乡镇信息": 1, "村/社区": 2}
