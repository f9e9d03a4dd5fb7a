"""A real ``kill -9`` of ``xiangan-county import`` halfway through a many-part bundle: the next import
finishes the job, every row is there exactly once, and only the part that was in flight is redone."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import insert

from app.models import Village
from app.services import Services
from app.sync import checkpoints
from tests.conftest import ADMIN
from tests.sync.sync_world import World

ROWS = 3000
# The county CLI, slowed down at each committed part so the kill lands mid-import on any machine.
SLOW_IMPORT = (
    "import sys, time\n"
    "from app.sync import checkpoints\n"
    "checkpoints.crash_point = lambda name: time.sleep(0.3) if name == 'county.part_applied' else None\n"
    "from app.county_cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _count(db_path: Path, sql: str) -> int:
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # the table is not there yet / briefly locked
        return 0
    finally:
        conn.close()


def _big_township(world: World):
    pc = world.open_pc("pc1")
    Services(pc.db, ADMIN).township.save_profile({"name": "青山镇", "county_name": "安远县", "code": "360726100"})
    scope = pc.sv().scope
    with pc.db.session(audit=False) as session:
        session.execute(insert(Village), [{"id": str(uuid.uuid4()), "township_id": scope.township_id,
                                           "partition": scope.partition, "name": f"村{i:05d}"}
                                          for i in range(ROWS)])
    pc.sync.enrol(world.enrolment("360726100", "青山镇", "pc1"))
    return pc


@pytest.mark.slow
def test_killed_county_import_resumes_without_redoing_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    world = World(tmp_path)
    try:
        pc = _big_township(world)
        exported = pc.export(world.usb)
        parts = -(-(ROWS + 1) // 500)  # villages + the township row, 500 rows a part
        county_db = world.county_path
        world.county.close()

        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        proc = subprocess.Popen([sys.executable, "-c", SLOW_IMPORT, "import", str(exported.path),
                                 "--return-dir", str(world.usb / "ret"), "--data-dir", str(tmp_path / "county")],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while _count(county_db, "SELECT count(*) FROM sync_ledger_part") < 2:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the import never got going"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        done = _count(county_db, "SELECT count(*) FROM sync_ledger_part")
        assert 2 <= done < parts
        assert _count(county_db, "SELECT count(*) FROM sync_ledger") == 0  # not finished
        # committed parts are whole: exactly their rows are in the county, nothing of the part in flight
        assert _count(county_db, "SELECT (SELECT count(*) FROM village) + (SELECT count(*) FROM township)") == _count(
            county_db, "SELECT coalesce(sum(applied), 0) FROM sync_ledger_part")

        from app.sync.county import CountyStore

        applied: list[str] = []
        monkeypatch.setattr(checkpoints, "crash_point", applied.append)
        world.county = CountyStore.open(tmp_path / "county")
        result = world.county.import_bundle(exported.path, world.usb / "ret")

        # only the parts not committed before the kill ran again: the one in flight was rolled back whole
        assert applied.count("county.part_applied") == parts - done
        assert result.applied + result.unchanged <= ROWS + 1
        assert _count(county_db, "SELECT count(*) FROM village") == ROWS
        assert _count(county_db, "SELECT count(DISTINCT name) FROM village") == ROWS
        assert _count(county_db, "SELECT count(*) FROM sync_ledger_part") == 0  # no residue
        assert _count(county_db, "SELECT count(*) FROM sync_ledger WHERE direction = 'in'") == 1
        assert result.acknowledged_to == exported.seq_to
        assert not list(tmp_path.rglob("*.tmp"))
        pc.sync.import_return(result.return_path)
        assert pc.sync.status().pending_records == 0
    finally:
        world.close()
