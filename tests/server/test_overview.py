"""The county's per-township figures (app/server/overview.py): the county sees exactly what the township's
own services compute from the same records, they follow new data, and a silent township is marked."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from app.errors import NotFound
from app.models.base import utcnow
from app.server.overview import STALE_DAYS, CountyOverview, totals
from app.services.hazards import HazardService
from app.services.letters import LetterService
from app.services.readiness import ReadinessService
from tests.conftest import ADMIN
from tests.server.web_world import SILENT_CODE, WebWorld, make_web_world
from tests.sync.sync_world import World


@pytest.fixture(scope="module")
def ww(tmp_path_factory: pytest.TempPathFactory):
    world = make_web_world(tmp_path_factory.mktemp("overview"))
    yield world
    world.close()


@pytest.fixture
def fresh(tmp_path: Path):
    world = make_web_world(tmp_path)
    yield world
    world.close()


def line_of(overview: CountyOverview, code: str):
    return next(line for line in overview.townships() if line.code == code)


def test_a_synced_township_shows_what_its_own_services_compute(ww: WebWorld) -> None:
    line = line_of(CountyOverview(ww.county), ww.code)
    own = ReadinessService(ww.pc.db, ADMIN, ww.scope).summary()
    assert line.name == ww.name and line.bound and line.has_data
    assert line.readiness is not None
    assert (line.readiness.score, line.readiness.passed) == (own.township.score, own.township.passed)
    assert line.readiness.villages_total == len(own.villages) > 0
    assert line.readiness.villages_passed == sum(v.passed for v in own.villages)
    assert line.hazards == HazardService(ww.pc.db, ADMIN, ww.scope).counts()
    assert line.hazards.open > 0 and line.hazards.overdue > 0  # the demo township has late hazards
    coverage = LetterService(ww.pc.db, ADMIN, ww.scope).coverage(date.today().year)
    assert line.letters is not None and line.letters.year == date.today().year
    assert (line.letters.signed, line.letters.total) == (sum(c.signed for c in coverage.values()),
                                                         sum(c.total for c in coverage.values()))
    assert line.records == ww.imported.applied
    assert line.last_report is not None and (utcnow() - line.last_report) < timedelta(minutes=5)
    assert (line.pcs_active, line.pcs_pending, line.conflicts, line.orders) == (1, 0, 0, 0)
    assert not {"从未上报", "久未联系"} & set(line.tags(utcnow()))


def test_a_township_that_never_reported_has_no_figures_and_is_flagged(ww: WebWorld) -> None:
    line = line_of(CountyOverview(ww.county), SILENT_CODE)
    assert not line.has_data and line.last_report is None
    assert (line.readiness, line.hazards, line.letters) == (None, None, None)
    assert line.readiness_note == "尚未收到数据"
    assert line.pcs_pending == 1 and line.pcs_active == 0
    assert {"从未上报", "久未联系"} <= set(line.tags(utcnow()))


def test_detail_lists_open_hazards_history_letters_and_readiness(ww: WebWorld) -> None:
    detail = CountyOverview(ww.county).township(ww.code)
    assert detail.readiness is not None and detail.readiness.township.items
    assert detail.hazards_open_total == detail.line.hazards.open == len(detail.hazards)
    assert all(row["status"] != "已销号" for row in detail.hazards)
    assert sum(row["overdue"] for row in detail.hazards) == detail.line.hazards.overdue
    numbers = [row["number"] for row in detail.hazards]
    assert numbers == sorted(numbers, reverse=True)  # newest first, as the township's ledger
    assert [(e.pc, e.applied, e.seq_from, e.seq_to) for e in detail.history] == [
        ("电脑1", ww.imported.applied, 1, ww.imported.acknowledged_to)]
    assert set(detail.letters) == {"village", "enterprise", "unit"}
    assert detail.status.records and detail.orders == []


def test_unknown_township_or_hazard_is_named(ww: WebWorld) -> None:
    overview = CountyOverview(ww.county)
    with pytest.raises(NotFound, match="360999999"):
        overview.township("360999999")
    with pytest.raises(NotFound, match="1999-0001"):
        overview.hazard(ww.code, "1999-0001")
    row = overview.township(ww.code).hazards[0]
    view = overview.hazard(ww.code, row["number"])
    assert (view.township_name, view.row["id"], view.orders) == (ww.name, row["id"], [])


def test_figures_follow_new_data_and_are_not_recomputed_without_it(fresh: WebWorld,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    overview = CountyOverview(fresh.county)
    before = line_of(overview, fresh.code)
    evaluations = []
    original = ReadinessService.summary
    monkeypatch.setattr(ReadinessService, "summary", lambda self, on=None: evaluations.append(1) or original(self, on))
    assert line_of(overview, fresh.code) == before and evaluations == []  # nothing new: cached

    HazardService(fresh.pc.db, ADMIN, fresh.scope).register({
        "unit_name": "永和镇测试化工厂", "location": "储罐区", "description": "储罐区未设置可燃气体报警装置",
        "level": "重大", "level_basis": "工贸企业重大事故隐患判定标准第三条"})
    fresh.world.round_trip(fresh.pc)
    after = line_of(overview, fresh.code)
    assert evaluations == [1]
    assert (after.hazards.open, after.hazards.major_open) == (before.hazards.open + 1, before.hazards.major_open + 1)
    assert after.records == before.records + 2  # the hazard and its 登记 event

    number = overview.township(fresh.code).hazards[0]["number"]
    fresh.county.send_supervision(fresh.code, number, "关于储罐区隐患的督办", "十日内整改", date.today())
    assert line_of(overview, fresh.code).orders == 1
    assert [o.title for o in overview.hazard(fresh.code, number).orders] == ["关于储罐区隐患的督办"]


def test_stale_means_not_heard_from_for_a_week(ww: WebWorld) -> None:
    now = utcnow()
    line = line_of(CountyOverview(ww.county), ww.code)
    assert not replace(line, last_report=now - timedelta(days=STALE_DAYS - 1)).stale(now)
    assert replace(line, last_report=now - timedelta(days=STALE_DAYS)).stale(now)


def test_totals_add_up_the_lines(ww: WebWorld) -> None:
    lines = CountyOverview(ww.county).townships()
    synced = line_of(CountyOverview(ww.county), ww.code)
    sums = totals(lines)
    assert (sums.townships, sums.reporting, sums.stale) == (2, 1, 1)
    assert sums.township_passed == int(synced.readiness.passed)
    assert (sums.villages_passed, sums.villages_total) == (synced.readiness.villages_passed,
                                                            synced.readiness.villages_total)
    assert (sums.hazards_open, sums.hazards_overdue, sums.hazards_major) == (
        synced.hazards.open, synced.hazards.overdue, synced.hazards.major_open)


def test_a_conflict_between_two_pcs_is_listed_with_both_pcs_in_the_history(tmp_path: Path) -> None:
    world = World(tmp_path)
    try:
        pc1, pc2, _village = world.concurrent_edit()
        world.round_trip(pc1)
        world.round_trip(pc2)
        detail = CountyOverview(world.county).township("360726100")
        assert detail.line.conflicts == 1 and detail.line.pcs_active == 2
        [conflict] = detail.conflicts
        assert (conflict.label, conflict.summary, conflict.reason) == ("村/社区", "石桥村", "两台电脑同时修改")
        assert conflict.loser["head_name"] in ("张三", "李四")
        assert [e.pc for e in detail.history] == ["电脑2", "电脑1", "电脑2", "电脑1"]
        assert "有冲突" in detail.line.tags(utcnow())
    finally:
        world.close()
