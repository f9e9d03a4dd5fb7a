"""七有/五有 evaluation of a township with 40 villages and 20,000 register rows, against a bare SELECT.

    python bench/readiness.py [--villages N] [--rows N] [--runs N] [--keep DIR]

Builds a township with ``--villages`` (default 40) villages and about ``--rows`` (default 20,000) rows spread
over the ten readiness registers (with attachments on documents, plans and drills), then, alternating
so both see the same machine state, measures:

* app  — ``ReadinessService.summary()``: load the snapshot (one query per table) and evaluate the township's
  七有 and every village's 五有/四有 standard in memory;
* bare — the same rows fetched with plain ``sqlite3`` (``SELECT * FROM <register> WHERE township_id = ?
  AND deleted = 0`` for each register, plus villages, attachments and contacts), nothing evaluated.

Medians of ``--runs`` (default 5) are printed with the ratio. Target: app under 0.5 s.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.models import (  # noqa: E402
    Attachment,
    CallTreeEntry,
    CommandEquipment,
    CommTest,
    Drill,
    EmergencyPlan,
    OrgDocument,
    RescueTeam,
    Shelter,
    Supply,
    TeamMember,
    Village,
    new_id,
)
from app.models.accounts import Role  # noqa: E402
from app.services import Services  # noqa: E402
from app.services.context import Actor  # noqa: E402
from app.services.readiness_registers import READINESS_REGISTERS  # noqa: E402
from app.storage import open_database  # noqa: E402

TARGET_SECONDS = 0.5
TODAY = date(2026, 6, 30)
ADMIN = Actor(username="bench", display_name="bench", role=Role.ADMIN)
# Rows per unit per register at weight 1 (the township and every village get the same mix).
MIX = {"teams": 2, "team_members": 30, "supplies": 60, "shelters": 3, "plans": 6, "drills": 12,
       "equipment": 12, "comm_tests": 24, "call_trees": 16, "org_documents": 10}
SUPPLY_NAMES = ("救生衣", "编织袋", "强光手电", "帐篷", "灭火器", "方便面", "矿泉水", "铜锣", "折叠床", "药品箱")


def build(folder: Path, villages: int, rows: int, seed: int = 2026) -> tuple[Services, int]:
    """A township with ``villages`` villages and about ``rows`` register rows; returns (services, rows)."""
    rng = random.Random(seed)
    db = open_database(folder)
    services = Services(db, ADMIN)
    scope = services.township.save_profile({"name": "测试镇", "county_name": "测试县", "office_phone": "0797-3721234"})
    services.refresh_scope()
    owned = {"township_id": scope.township_id, "partition": scope.partition}
    per_unit = sum(MIX.values())
    weight = max(1, round(rows / (per_unit * (villages + 1))))
    made = 0
    with db.session("bench", audit=False) as session:
        village_rows = [Village(id=new_id(), name=f"测试{n}村", code=f"360726100{n + 201:03d}", population=1500,
                                head_phone="13800138000", **owned) for n in range(villages)]
        session.add_all(village_rows)
        session.flush()
        for unit in [None, *(v.id for v in village_rows)]:
            made += _unit_rows(session, rng, owned, unit, weight)
    return services, made


def _unit_rows(session, rng: random.Random, owned: dict, unit: str | None, weight: int) -> int:
    def day(low: int, high: int) -> date:
        return TODAY + timedelta(days=rng.randint(low, high))

    place = {**owned, "village_id": unit}
    teams = [RescueTeam(id=new_id(), name=f"队伍{new_id()[:8]}", kind="综合应急救援队伍", **place)
             for _ in range(MIX["teams"] * weight)]
    plans = [EmergencyPlan(id=new_id(), name=f"预案{new_id()[:8]}", plan_type="专项应急预案", approved_on=day(-900, -100),
                           next_revision_on=day(-100, 900), **place) for _ in range(MIX["plans"] * weight)]
    session.add_all([*teams, *plans])
    session.flush()
    rows: list = []
    rows += [TeamMember(id=new_id(), team_id=rng.choice(teams).id, name="队员", insurance_until=day(-30, 300),
                        **owned) for _ in range(MIX["team_members"] * weight)]
    rows += [Supply(id=new_id(), name=rng.choice(SUPPLY_NAMES), quantity=rng.randint(1, 200), expires_on=day(-60, 900),
                    **place) for _ in range(MIX["supplies"] * weight)]
    rows += [Shelter(id=new_id(), name=f"场所{new_id()[:8]}", capacity=rng.randint(100, 600), signage="有", **place)
             for _ in range(MIX["shelters"] * weight)]
    rows += [Drill(id=new_id(), name="演练", plan_id=rng.choice(plans).id, held_on=day(-700, -1), **place)
             for _ in range(MIX["drills"] * weight)]
    rows += [CommandEquipment(id=new_id(), name="设备", kind=rng.choice(("卫星电话", "高音喇叭", "对讲机")), quantity=2,
                              **place) for _ in range(MIX["equipment"] * weight)]
    rows += [CommTest(id=new_id(), tested_on=day(-365, -1), equipment="卫星电话", **place)
             for _ in range(MIX["comm_tests"] * weight)]
    rows += [CallTreeEntry(id=new_id(), name="叫应人", phone="13900139000", role=rng.choice(("A角", "B角")), **place)
             for _ in range(MIX["call_trees"] * weight)]
    documents = [OrgDocument(id=new_id(), name=f"制度{n}", kind=rng.choice(("值班制度", "工作制度", "职责上墙")), **place)
                 for n in range(MIX["org_documents"] * weight)]
    rows += documents
    rows += [Attachment(owner_table=r.__tablename__, owner_id=r.id, sha256="0" * 64, file_name="扫描件.pdf", **owned)
             for r in (*documents, *plans)]
    session.add_all(rows)
    session.flush()
    return len(teams) + len(plans) + sum(not isinstance(r, Attachment) for r in rows)


def bare_select(path: Path, township_id: str) -> int:
    conn = sqlite3.connect(path)
    try:
        tables = [spec.model.__tablename__ for spec in READINESS_REGISTERS.values()]
        tables += ["village", "attachment", "contact"]
        return sum(len(conn.execute(f"SELECT * FROM {t} WHERE township_id = ? AND deleted = 0",
                                    (township_id,)).fetchall()) for t in tables)
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villages", type=int, default=40)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", help="build the township in this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        started = time.perf_counter()
        services, made = build(folder, args.villages, args.rows)
        print(f"built {args.villages} villages and {made} register rows in {time.perf_counter() - started:.1f} s")
        readiness = services.readiness
        times: dict[str, list[float]] = {"app": [], "bare": []}
        for _ in range(args.runs):
            t = time.perf_counter()
            summary = readiness.summary(TODAY)
            times["app"].append(time.perf_counter() - t)
            t = time.perf_counter()
            fetched = bare_select(services.db.path, services.scope.township_id)
            times["bare"].append(time.perf_counter() - t)
        services.db.dispose()
    app, bare = statistics.median(times["app"]), statistics.median(times["bare"])
    passed = sum(v.passed for v in summary.villages)
    print(f"evaluated 1 township + {len(summary.villages)} villages ({passed} 达标); bare select fetched {fetched} rows")
    print(f"app  median {app * 1000:7.1f} ms (best {min(times['app']) * 1000:.1f})")
    print(f"bare median {bare * 1000:7.1f} ms (best {min(times['bare']) * 1000:.1f})")
    print(f"ratio app/bare {app / bare:.1f}×; target app < {TARGET_SECONDS * 1000:.0f} ms: "
          f"{'met' if app < TARGET_SECONDS else 'MISSED'}")
    return 0 if app < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
