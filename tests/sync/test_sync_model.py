"""Stateful model of USB sync: random edits on township PCs, lossy sticks, and the SYNC.md invariants after
every step (one county, township A with two PCs, township B with one; real SQLite files, real bundles)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from app.errors import ValidationError
from app.sync.errors import SyncError
from tests.sync.sync_world import Pc, World, digest

TABLES = ("village", "contact")
KINDS = {"village": "villages", "contact": "contacts"}
PROBE = ("id", "partition", "version", "version_replica", "hlc", "deleted", "name")


def _rows(db_path: Path, sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql, args))
    finally:
        conn.close()


def _live(db_path: Path, partition: str) -> set[tuple]:
    """Every row of the synced test tables in one partition, with its version identity and content."""
    found: set[tuple] = set()
    for table in TABLES:
        found |= {(table, *row) for row in _rows(
            db_path, f"SELECT {', '.join(PROBE)} FROM {table} WHERE partition = ?", (partition,))}
    return found


class SyncModel(RuleBasedStateMachine):
    """Replicas: county, pcs[0]/pcs[1] (township A), pcs[2] (township B)."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="sync-model-"))
        self.world = World(self.tmp)
        a1 = self.world.township_pc("a1", "青山镇", "360726100", ("石桥村",))
        self.world.round_trip(a1)  # binds the township to a1's id before the second PC enrols (SYNC.md)
        a2 = self.world.second_pc("a2", "青山镇", "360726100")
        b1 = self.world.township_pc("b1", "白沙乡", "360726101", ("河口村",))
        self.pcs: list[Pc] = [a1, a2, b1]
        self.partition = {pc.name: pc.sv().scope.partition for pc in self.pcs}
        self.sticks: list[tuple[Pc, Path]] = []
        self.returns: list[tuple[Pc, Path]] = []
        self.counter = 0
        self.cursors: dict[tuple[str, str, str], int] = {}
        # every local write: (table, row id, version, replica) → name of the PC that made it
        self.writes: dict[tuple[str, str, int, str], str] = {}

    # --- helpers -----------------------------------------------------------------------------------------
    def _next(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _dir(self, prefix: str) -> Path:
        return self.world.usb / self._next(prefix)

    def _live_ids(self, pc: Pc, table: str) -> list[str]:
        return [r[0] for r in _rows(pc.path, f"SELECT id FROM {table} WHERE deleted = 0 AND partition = ? "
                                              "ORDER BY id", (self.partition[pc.name],))]

    def _remember(self, pc: Pc, table: str, row_id: str) -> None:
        [(version, replica)] = _rows(pc.path, f"SELECT version, version_replica FROM {table} WHERE id = ?",
                                     (row_id,))
        self.writes[(table, row_id, version, replica)] = pc.name

    def _deliver(self, pc_stick: tuple[Pc, Path]) -> None:
        _, path = pc_stick
        before = digest(self.world.county_path)
        try:
            result = self.world.county.import_bundle(path, self._dir("ret"))
        except SyncError:
            assert digest(self.world.county_path) == before, "a rejected bundle changed the county"
            return
        owner = next(pc for pc in self.pcs if path.name.startswith(self._code(pc)))
        self.returns.append((owner, result.return_path))

    def _code(self, pc: Pc) -> str:
        return "360726100" if pc.name.startswith("a") else "360726101"

    def _import_return(self, pc: Pc, path: Path, *, must_fail: bool = False) -> None:
        before = digest(pc.path)
        try:
            pc.sync.import_return(path)
        except SyncError:
            assert digest(pc.path) == before, "a rejected return file changed the PC"
            return
        assert not must_fail, f"{pc.name} accepted a return file meant for another PC"

    # --- rules: edits --------------------------------------------------------------------------------------
    @rule(who=st.integers(0, 2), table=st.sampled_from(TABLES))
    def create(self, who: int, table: str) -> None:
        pc = self.pcs[who]
        values = {"name": self._next("村" if table == "village" else "张")}
        if table == "contact":
            values["mobile"] = f"139{self.counter:08d}"
        row_id = pc.sv().register(KINDS[table]).save(values)
        self._remember(pc, table, row_id)

    @rule(who=st.integers(0, 2), table=st.sampled_from(TABLES), pick=st.integers(0, 50))
    def update(self, who: int, table: str, pick: int) -> None:
        pc = self.pcs[who]
        ids = self._live_ids(pc, table)
        if not ids:
            return
        row_id = ids[pick % len(ids)]
        register = pc.sv().register(KINDS[table])
        register.save({**register.get(row_id), "remarks": self._next("改")}, row_id)
        self._remember(pc, table, row_id)

    @rule(who=st.integers(0, 2), table=st.sampled_from(TABLES), pick=st.integers(0, 50))
    def delete(self, who: int, table: str, pick: int) -> None:
        pc = self.pcs[who]
        ids = self._live_ids(pc, table)
        if not ids:
            return
        row_id = ids[pick % len(ids)]
        try:
            pc.sv().register(KINDS[table]).delete(row_id)
        except ValidationError:  # a delete guard (row still referenced) is a legitimate refusal
            return
        self._remember(pc, table, row_id)

    # --- rules: sticks to the county ------------------------------------------------------------------------
    @rule(who=st.integers(0, 2))
    def export(self, who: int) -> None:
        pc = self.pcs[who]
        self.sticks.append((pc, pc.export(self._dir("stick")).path))

    @precondition(lambda self: self.sticks)
    @rule(pick=st.integers(0, 50))
    def deliver(self, pick: int) -> None:
        """Newest stick, an older one, or one already delivered (duplicate) — the county takes them all."""
        self._deliver(self.sticks[pick % len(self.sticks)])

    @precondition(lambda self: self.sticks)
    @rule(pick=st.integers(0, 50))
    def lose(self, pick: int) -> None:
        _, path = self.sticks.pop(pick % len(self.sticks))
        path.unlink()

    @precondition(lambda self: self.sticks)
    @rule(pick=st.integers(0, 50), keep=st.floats(0.05, 0.95))
    def truncated(self, pick: int, keep: float) -> None:
        _, path = self.sticks[pick % len(self.sticks)]
        cut = self._dir("cut") / path.name
        cut.parent.mkdir()
        data = path.read_bytes()
        cut.write_bytes(data[: int(len(data) * keep)])
        before = digest(self.world.county_path)
        try:
            self.world.county.import_bundle(cut, self._dir("ret"))
        except SyncError:
            pass
        else:
            raise AssertionError("the county accepted a truncated bundle")
        assert digest(self.world.county_path) == before

    # --- rules: return files back to the PCs -----------------------------------------------------------------
    @precondition(lambda self: self.returns)
    @rule(pick=st.integers(0, 50))
    def bring_back(self, pick: int) -> None:
        """The newest, an old or an already imported return file for the PC it was written for."""
        pc, path = self.returns[pick % len(self.returns)]
        self._import_return(pc, path)

    @precondition(lambda self: self.returns)
    @rule(pick=st.integers(0, 50), wrong=st.integers(1, 2))
    def wrong_pc(self, pick: int, wrong: int) -> None:
        """A return file carried to another PC (the other township's, or the sibling PC) is refused."""
        pc, path = self.returns[pick % len(self.returns)]
        other = self.pcs[(self.pcs.index(pc) + wrong) % len(self.pcs)]
        self._import_return(other, path, must_fail=True)

    @precondition(lambda self: self.returns)
    @rule(pick=st.integers(0, 50))
    def lose_return(self, pick: int) -> None:
        self.returns.pop(pick % len(self.returns))

    @rule()
    def county_sends(self) -> None:
        doc = self._dir("doc") / "sectors.json"
        doc.parent.mkdir()
        version = f"2027.{self.counter}"
        doc.write_text(json.dumps({"kind": "sector_codes", "version": version, "title": "行业领域代码表",
                                   "items": [{"code": "road", "name": f"道路交通{self.counter}", "group": "八大重点行业"}]},
                                  ensure_ascii=False), encoding="utf-8")
        self.world.county.send_document("sectors", doc)

    # --- invariants ------------------------------------------------------------------------------------------
    def _paths(self) -> list[Path]:
        return [self.world.county_path, *(pc.path for pc in self.pcs)]

    @invariant()
    def ids_unique_and_owned(self) -> None:
        owners = {self.partition[pc.name]: _rows(pc.path, "SELECT id FROM township")[0][0]
                  for pc in self.pcs if pc.name != "a2"}
        for path in self._paths():
            for table in TABLES:
                ids = [r[0] for r in _rows(path, f"SELECT id FROM {table}")]
                assert len(ids) == len(set(ids)), f"duplicate ids in {table} of {path}"
        for table in TABLES:
            for partition, township_id in _rows(self.world.county_path,
                                                f"SELECT DISTINCT partition, township_id FROM {table}"):
                assert partition in owners and owners[partition] == township_id, (table, partition)
            for pc in self.pcs:  # a PC never holds the other township's rows
                others = _rows(pc.path, f"SELECT count(*) FROM {table} WHERE partition != ?",
                               (self.partition[pc.name],))
                assert others == [(0,)], (pc.name, table)

    @invariant()
    def cursors_monotonic(self) -> None:
        for path in self._paths():
            for peer, direction, seq in _rows(path, "SELECT peer, direction, seq FROM sync_cursor"):
                key = (str(path), peer, direction)
                assert seq >= self.cursors.get(key, 0), f"cursor {key} went back"
                self.cursors[key] = seq

    @invariant()
    def no_staging_residue(self) -> None:
        assert not [p for p in self.tmp.rglob("*.tmp")], "staging files left behind"
        for path in self._paths():
            assert _rows(path, "SELECT count(*) FROM sync_ledger_part") == [(0,)]

    # --- settle --------------------------------------------------------------------------------------------
    def teardown(self) -> None:
        try:
            self.settle()
        finally:
            self.world.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def settle(self) -> None:
        """Fresh bundle and return file for every PC, twice around: everyone converges, no edit is lost."""
        for _ in range(2):
            for pc in self.pcs:
                exported = pc.export(self._dir("stick"))
                imported = self.world.county.import_bundle(exported.path, self._dir("ret"))
                pc.sync.import_return(imported.return_path)
        county = self.world.county_path
        for pc in self.pcs:
            assert _live(pc.path, self.partition[pc.name]) == _live(county, self.partition[pc.name]), pc.name
        conflicts = {(t, r, v, rep) for t, r, v, rep in _rows(
            county, "SELECT table_name, row_id, loser_version, loser_replica FROM sync_conflict")}
        final = {(row[0], row[1]): (row[3], row[4]) for row in _live(county, self.partition["a1"])
                 | _live(county, self.partition["b1"])}
        for (table, row_id, version, replica), who in self.writes.items():
            assert (table, row_id) in final, f"{who}'s {table} {row_id} never reached the county"
            final_version, final_replica = final[(table, row_id)]
            assert final_version >= version, f"{who}'s edit of {row_id} was lost"
            if final_version == version and final_replica != replica:
                assert (table, row_id, version, replica) in conflicts, f"silent conflict on {row_id}"


SyncModel.TestCase.settings = settings(max_examples=20, stateful_step_count=15, deadline=None, derandomize=True,
                                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
test_sync_model = SyncModel.TestCase
