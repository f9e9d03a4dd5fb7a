"""The demo township's 隐患排查治理台账: every lifecycle state, consistent event trails, reproducible;
and generate_hazards, the fast bulk generator for benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.errors import PermissionDenied, XiangAnError
from app.models import Hazard, HazardEvent, HazardStatus, Role
from app.models.hazards import TRANSITIONS, HazardAction
from app.services import Services
from app.services.context import Actor
from app.services.demo import DemoResult, generate_demo, generate_hazards
from app.services.hazards import HazardQuery, HazardService
from app.storage import Database, open_database

S, A = HazardStatus, HazardAction
TODAY = date(2026, 11, 24)
ADMIN = Actor(username="admin", display_name="管理员", role=Role.ADMIN)
CLERK = Actor(username="clerk", display_name="录入员", role=Role.CLERK)
ROOT = Path(__file__).resolve().parent.parent


def _fresh(tmp_path: Path, name: str) -> Database:
    folder = tmp_path / name
    folder.mkdir()
    return open_database(folder)


def _hazards(db: Database) -> list[Hazard]:
    with db.session() as session:
        return list(session.scalars(select(Hazard).order_by(Hazard.year, Hazard.seq)))


def _trails(db: Database) -> dict[str, list[HazardEvent]]:
    trails: dict[str, list[HazardEvent]] = {}
    with db.session() as session:
        for e in session.scalars(select(HazardEvent).order_by(HazardEvent.at, HazardEvent.hlc)):
            trails.setdefault(e.hazard_id, []).append(e)
    return trails


def _snapshot(db: Database) -> list[tuple[Any, ...]]:
    """What a seed and today decide (ids and timestamps excluded)."""
    trails = _trails(db)
    return [(h.number, h.unit_name, h.description, h.level, h.status, h.found_on, h.deadline, h.completed_on,
             h.closed_on, h.notice_number, h.supervision_doc,
             tuple((e.action, e.event_date, e.to_status) for e in trails[h.id])) for h in _hazards(db)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, DemoResult]:
    db = open_database(tmp_path_factory.mktemp("demo-hazards"))
    result = generate_demo(db, seed=2026, today=TODAY)
    yield db, result
    db.dispose()


def _service(db: Database) -> HazardService:
    return HazardService(db, ADMIN, Services(db, ADMIN).scope, today=lambda: TODAY)


def test_about_sixty_hazards_in_every_state(demo: tuple[Database, DemoResult]) -> None:
    db, result = demo
    hazards = _hazards(db)
    assert result.counts["hazard"] == len(hazards) == 60
    assert result.counts["hazard_event"] == sum(len(t) for t in _trails(db).values())
    assert "60条隐患" in result.summary
    states = Counter(h.status for h in hazards)
    assert set(states) == {s.value for s in S}
    assert states[S.CLOSED.value] >= 15  # most of a year's hazards are closed


def test_overdue_due_soon_major_supervised_and_extended(demo: tuple[Database, DemoResult]) -> None:
    db, _result = demo
    service = _service(db)
    counts = service.counts()
    assert counts.overdue >= 4 and counts.due_soon >= 3 and counts.major_open >= 3 and counts.supervised_open >= 2
    soon = service.fetch_rows(service.query_ids(HazardQuery(due_soon=True)))
    assert all(TODAY <= date.fromisoformat(r["deadline"]) <= TODAY + timedelta(days=3) for r in soon.values())
    hazards = _hazards(db)
    major = [h for h in hazards if h.level == "重大"]
    assert len(major) >= 5
    for h in major:
        assert "《" in h.level_basis or "GB 35181" in h.level_basis, h.level_basis
        assert h.status == S.ASSIGNED.value or not h.missing_five_in_place()  # 五到位 before 整改中
        assert h.reported_upward_on == h.notice_issued_on  # major hazards are reported upward at once
    supervised = [h for h in hazards if h.supervised]
    assert supervised and all(h.level == "重大" for h in supervised)
    assert {h.supervision_level for h in supervised} <= {"县级", "市级"}
    assert all("督〔" in h.supervision_doc and h.supervision_doc.endswith("号") for h in supervised)
    (extended,) = [h for h in hazards if h.extended]
    assert extended.extension_requested_on and extended.extension_reason
    assert extended.deadline > TODAY and extended.status == S.RECTIFYING.value
    general = [h for h in hazards if h.level == "一般"]
    assert len({h.description for h in general}) >= 20  # varied, sector-specific findings
    assert any("灭火器" in h.description for h in hazards) or any("疏散" in h.description for h in hazards)


def test_every_trail_is_consistent_with_its_hazard(demo: tuple[Database, DemoResult]) -> None:
    db, _result = demo
    trails = _trails(db)
    for h in _hazards(db):
        events = trails[h.id]
        first = events[0]
        assert (first.action, first.from_status, first.to_status, first.event_date) == ("登记", "", "已登记", h.found_on)
        for before, after in pairwise(events):  # a chain: each step starts where the last ended
            assert after.from_status == before.to_status, h.number
            assert after.at > before.at and after.event_date >= before.event_date, h.number
            action = A(after.action)
            sources, target = TRANSITIONS[action]
            assert S(after.from_status) in sources, (h.number, action)
            assert after.to_status == (target.value if target else after.from_status)
        assert events[-1].to_status == h.status, h.number
        assert all(e.event_date <= TODAY for e in events)
        assert TODAY - timedelta(days=300) <= h.found_on <= TODAY
        assert h.deadline >= h.found_on
        if h.completed_on:
            assert h.completed_on >= h.found_on
        if h.status in (S.ACCEPTED.value, S.CLOSED.value):
            assert h.found_on <= h.completed_on <= h.reviewed_on and h.reviewer and h.review_opinion
        if h.status == S.CLOSED.value:
            assert h.closed_on >= h.reviewed_on
        if h.notice_number:
            assign = next(e for e in events if e.action == "交办")
            assert assign.doc_number == h.notice_number and assign.event_date == h.notice_issued_on
        if h.status not in (S.REGISTERED.value, S.ASSIGNED.value):
            assert h.measures and h.responsible_person and h.responsible_phone
    assert any(e.action == "验收不通过" for t in trails.values() for e in t)


def test_numbers_and_notices_follow_discovery(demo: tuple[Database, DemoResult]) -> None:
    db, _result = demo
    hazards = _hazards(db)
    assert [h.number for h in hazards] == [f"{h.year}-{h.seq:04d}" for h in hazards]
    for year in {h.year for h in hazards}:
        seqs = [h.seq for h in hazards if h.year == year]
        assert seqs == list(range(1, len(seqs) + 1))
    assert [h.found_on for h in hazards] == sorted(h.found_on for h in hazards)
    notices = [h.notice_number for h in hazards if h.notice_number]
    assert len(notices) == len(set(notices))


def test_hazards_belong_to_the_townships_enterprises_and_villages(demo: tuple[Database, DemoResult]) -> None:
    db, result = demo
    services = Services(db, ADMIN)
    enterprises = {r["name"]: r for r in services.register("enterprises").rows()}
    rows = _service(db).fetch_rows([h.id for h in _hazards(db)])
    for row in rows.values():
        unit = enterprises[row["unit_name"]]
        assert row["village"] == unit["village"] and row["sector"] == unit["sector"]
        assert row["credit_code"] == unit["credit_code"]
    for h in _hazards(db):
        assert h.partition == f"twp:{result.township_id}" and h.version == 1 and h.hlc
        assert h.version_replica == db.replica_id


def test_the_service_accepts_the_next_step_on_a_demo_hazard(tmp_path: Path) -> None:
    db = _fresh(tmp_path, "next")
    try:
        generate_demo(db, seed=4, today=date.today())
        service = HazardService(db, ADMIN, Services(db, ADMIN).scope)
        requested = next(h for h in _hazards(db) if h.status == S.ACCEPTANCE_REQUESTED.value)
        service.act(requested.id, A.ACCEPT, {"reviewer": "张伟", "reviewed_on": date.today().isoformat(),
                                             "review_opinion": "整改到位"})
        assert service.get(requested.id).values["status"] == S.ACCEPTED.value
    finally:
        db.dispose()


def test_same_seed_and_today_give_the_same_ledger(tmp_path: Path) -> None:
    dbs = [_fresh(tmp_path, name) for name in "abc"]
    try:
        generate_demo(dbs[0], seed=7, today=TODAY)
        generate_demo(dbs[1], seed=7, today=TODAY)
        generate_demo(dbs[2], seed=7, today=TODAY + timedelta(days=30))
        first, again, later = (_snapshot(db) for db in dbs)
        assert first == again
        assert [row[5] for row in later] != [row[5] for row in first]  # discovery dates follow today
        assert all(row[5] <= TODAY + timedelta(days=30) for row in later)
    finally:
        for db in dbs:
            db.dispose()


def test_scale_multiplies_the_hazards(tmp_path: Path) -> None:
    db = _fresh(tmp_path, "scale")
    try:
        assert generate_demo(db, seed=3, scale=2, today=TODAY).counts["hazard"] == 120
    finally:
        db.dispose()


# ── generate_hazards ─────────────────────────────────────────────────────────────────────────────


def test_generate_hazards_adds_consistent_rows_after_the_demo(tmp_path: Path) -> None:
    db = _fresh(tmp_path, "bulk")
    try:
        generate_demo(db, today=TODAY)
        calls: list[tuple[int, int, str]] = []
        assert generate_hazards(db, 6000, seed=1, today=TODAY,
                                progress=lambda d, t, label: calls.append((d, t, label))) == 6000
        assert calls[-1] == (6000, 6000, "隐患") and len(calls) == 2
        hazards = _hazards(db)
        assert len(hazards) == 6060
        numbers = [h.number for h in hazards]
        assert len(set(numbers)) == len(numbers)
        for year in {h.year for h in hazards}:  # the demo's numbers continue without gaps
            seqs = sorted(h.seq for h in hazards if h.year == year)
            assert seqs == list(range(1, len(seqs) + 1))
        assert set(Counter(h.status for h in hazards)) == {s.value for s in S}
        trails = _trails(db)
        for h in hazards[::37]:
            events = trails[h.id]
            assert events[0].action == "登记" and events[-1].to_status == h.status
            assert all(b.from_status == a.to_status and b.at > a.at for a, b in pairwise(events))
        # The sync columns are what the ORM flush hook would have written.
        with db.session() as session:
            for model in (Hazard, HazardEvent):
                rows = session.execute(select(model.version, model.version_replica, model.base_version, model.hlc,
                                              model.created_at, model.updated_at, model.partition, model.deleted)
                                       ).all()
                assert {r[:3] for r in rows} == {(1, db.replica_id, 0)}
                assert all(r.hlc and r.created_at and r.updated_at == r.created_at for r in rows)
                assert all(r.partition == hazards[0].partition and not r.deleted for r in rows)
            hlcs = list(session.scalars(select(Hazard.hlc)))
            assert len(set(hlcs)) == len(hlcs)
            assert all(len(i) == 36 and i[14] == "4" for i in session.scalars(select(HazardEvent.id).limit(500)))
        # …and the service reads them like any other hazard.
        service = _service(db)
        counts = service.counts()
        assert counts.open > 0 and counts.overdue > 0
        detail = service.get(hazards[-1].id)
        assert detail.events and detail.events[-1].to_status == hazards[-1].status
    finally:
        db.dispose()


def test_generate_hazards_is_reproducible(tmp_path: Path) -> None:
    dbs = [_fresh(tmp_path, name) for name in "xy"]
    try:
        for db in dbs:
            generate_demo(db, today=TODAY)
            generate_hazards(db, 500, seed=9, today=TODAY)
        assert _snapshot(dbs[0]) == _snapshot(dbs[1])
    finally:
        for db in dbs:
            db.dispose()


def test_generate_hazards_refuses_bad_input(tmp_path: Path) -> None:
    db = _fresh(tmp_path, "refuse")
    try:
        with pytest.raises(XiangAnError, match="还没有乡镇"):
            generate_hazards(db, 10)
        generate_demo(db, today=TODAY)
        for bad in (0, -5, True, 2_000_000, "10"):
            with pytest.raises(XiangAnError, match="演示隐患数量"):
                generate_hazards(db, bad)  # type: ignore[arg-type]
        with pytest.raises(PermissionDenied):
            generate_hazards(db, 10, actor=CLERK)
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(Hazard)) == 60
    finally:
        db.dispose()


@pytest.mark.slow
def test_twenty_thousand_hazards_quickly(tmp_path: Path) -> None:
    """100,000 take ~20–25 s on the 2-core build machine (see the report); 20,000 keep the suite quick."""
    db = _fresh(tmp_path, "big")
    try:
        generate_demo(db, today=TODAY)
        started = time.perf_counter()
        generate_hazards(db, 20_000, today=TODAY)
        seconds = time.perf_counter() - started
        print(f"\ngenerate_hazards(20_000): {seconds:.1f} s")
        assert seconds < 20
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(Hazard)) == 20_060
    finally:
        db.dispose()


@pytest.mark.slow
def test_cli_demo_with_hazards(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONIOENCODING": "utf-8"}
    env.pop("XIANGAN_HOME", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app", *args, "--data-dir", str(tmp_path / "data")], cwd=ROOT,
                              env=env, capture_output=True, text=True, encoding="utf-8", timeout=180, check=False)

    first = cli("demo", "--hazards", "300")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("已生成演示乡镇「") and "已添加 300 条演示隐患" in first.stdout
    second = cli("demo", "--hazards", "200")  # a township exists: only hazards are added
    assert second.returncode == 0 and not second.stdout.startswith("已生成") and "已添加 200 条" in second.stdout
    db = open_database(tmp_path / "data")
    try:
        assert len(_hazards(db)) == 560
    finally:
        db.dispose()
    bad = cli("demo", "--hazards", "-3")
    assert bad.returncode == 1 and bad.stderr.strip().startswith("错误：演示隐患数量")
