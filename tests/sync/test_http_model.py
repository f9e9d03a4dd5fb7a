"""Stateful model of NETWORK sync over a real county server process (uvicorn on loopback): township A with
two PCs and township B with one, random edits, and sync rounds through a fault-injecting transport — drop,
cut mid-body either way, answer lost after the server applied, delay past the watchdog, duplicate — plus a
server crash and restart.

After every step: ids unique, every township's rows only in its own partition and only on its own PCs,
cursors never go back, no half-applied bundle anywhere, each county document held once. After every
successful round: every edit the PC had made is at the county and no staging file is left. At the end:
clean rounds converge every replica, no edit is lost, a conflict is never silent, and a further round
is the one-request no-op.

One server process serves the whole run (starting one per example would dominate the run time); every
example enrols fresh townships on it, so examples never see each other's rows.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from app.errors import ValidationError
from app.sync.errors import SyncError
from app.sync.http_client import SyncClient
from tests.server.conftest import LiveCounty, NetWorld
from tests.sync.http_kit import FAULTS, FaultTransport, client_for, live_county_world, staging_residue
from tests.sync.sync_world import Pc

pytestmark = pytest.mark.slow

TABLES = ("village", "contact")
KINDS = {"village": "villages", "contact": "contacts"}
PROBE = "id, version, version_replica, hlc, deleted, name"
PIECE = 1024  # small pieces: every bundle spans several, so faults land mid-upload
STALL = 1.0  # the watchdog (read timeout) of the model's clients, seconds
RETRYABLE = {"offline", "interrupted", "stalled"}  # what a fault may make a round fail with
EXAMPLES = itertools.count(1)

Write = tuple[str, str, int, str]  # table, row id, version, replica


def _rows(db_path: Path, sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql, args))
    finally:
        conn.close()


def _live(db_path: Path, partition: str) -> set[tuple]:
    return {(table, *row) for table in TABLES
            for row in _rows(db_path, f"SELECT {PROBE} FROM {table} WHERE partition = ?", (partition,))}


class HttpSyncModel(RuleBasedStateMachine):
    """Replicas: the county (the server process), pcs[0]/pcs[1] (township A), pcs[2] (township B)."""

    def __init__(self, world: NetWorld, live: LiveCounty) -> None:
        super().__init__()
        self.world = world
        self.live = live
        self.example = next(EXAMPLES)
        self.transport = FaultTransport(httpx.HTTPTransport())
        self.clients: dict[str, SyncClient] = {}
        self.counter = 0
        self.restarts = 0
        self.cursors: dict[tuple[str, str, str], int] = {}
        self.writes: dict[Write, str] = {}  # every local write → the PC that made it
        n = self.example
        a1 = world.township_pc(f"e{n}a1", f"青山镇{n}", f"36{n:06d}1", ("石桥村",))
        self.pcs: list[Pc] = [a1]
        self.client(a1).round()  # binds the township to a1's id before the second PC enrols (SYNC.md)
        a2 = world.second_pc(f"e{n}a2", f"青山镇{n}", f"36{n:06d}1")
        b1 = world.township_pc(f"e{n}b1", f"白沙乡{n}", f"36{n:06d}2", ("河口村",))
        self.pcs = [a1, a2, b1]
        self.partition = {pc.name: pc.sv().scope.partition for pc in self.pcs}
        self.nodes = {pc.sync.status().node_id for pc in self.pcs}

    def client(self, pc: Pc) -> SyncClient:
        if pc.name not in self.clients:
            self.clients[pc.name] = client_for(pc, self.live.url, self.transport, piece_size=PIECE,
                                               stall_seconds=STALL, retries=1)
        return self.clients[pc.name]

    def _next(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.example}-{self.counter}"

    def _ids(self, pc: Pc, table: str) -> list[str]:
        return [r[0] for r in _rows(pc.path, f"SELECT id FROM {table} WHERE deleted = 0 AND partition = ? ORDER BY id",
                                    (self.partition[pc.name],))]

    def _remember(self, pc: Pc, table: str, row_id: str) -> None:
        [(version, replica)] = _rows(pc.path, f"SELECT version, version_replica FROM {table} WHERE id = ?", (row_id,))
        self.writes[(table, row_id, version, replica)] = pc.name

    # --- rules: edits -----------------------------------------------------------------------------------
    @rule(who=st.integers(0, 2), table=st.sampled_from(TABLES), action=st.sampled_from(("create", "update", "delete")),
          pick=st.integers(0, 50))
    def edit(self, who: int, table: str, action: str, pick: int) -> None:
        """Create a row, or change or delete one of the PC's rows, through the real services."""
        pc = self.pcs[who]
        register = pc.sv().register(KINDS[table])
        ids = self._ids(pc, table)
        if action == "create" or not ids:
            values = {"name": self._next("村" if table == "village" else "张")}
            if table == "contact":
                values["mobile"] = f"139{self.example:03d}{self.counter:05d}"
            row_id = register.save(values)
        elif action == "update":
            row_id = ids[pick % len(ids)]
            register.save({**register.get(row_id), "remarks": self._next("改")}, row_id)
        else:
            row_id = ids[pick % len(ids)]
            try:
                register.delete(row_id)
            except ValidationError:  # a delete guard (row still referenced) is a legitimate refusal
                return
        self._remember(pc, table, row_id)

    @rule()
    def county_sends(self) -> None:
        doc = self.world.root / f"{self._next('doc')}.json"
        doc.write_text(json.dumps({"kind": "sector_codes", "version": f"2027.{self.example}.{self.counter}",
                                   "title": "行业领域代码表",
                                   "items": [{"code": "road", "name": "道路交通", "group": "八大重点行业"}]},
                                  ensure_ascii=False), encoding="utf-8")
        self.world.county.send_document("sectors", doc)

    # --- rules: network ---------------------------------------------------------------------------------
    @rule(who=st.integers(0, 2))
    def sync(self, who: int) -> None:
        self.faulty_sync(who, None, 0, 0, 1)

    @rule(who=st.integers(0, 2), fault=st.sampled_from(FAULTS), at=st.integers(0, 5),
          late=st.sampled_from((0.05, STALL + 0.5)), retries=st.integers(0, 1))
    def faulty_sync(self, who: int, fault: str | None, at: int, late: float, retries: int) -> None:
        """One round of one PC with (at most) one fault, on its ``at``-th request; ``retries`` 0: the
        round gives up at the first cut connection (the next round resumes), 1: it tries once more."""
        pc = self.pcs[who]
        self.client(pc).retries = retries
        if fault is not None:
            self.transport.arm(fault, skip=at, arg=late if fault == "delay" else 0.5)
        made = {write for write, name in self.writes.items() if name == pc.name}
        start = len(self.transport.log)
        try:
            self.client(pc).round()
        except SyncError as exc:
            assert fault is not None, f"a round without a fault failed: {exc}"
            assert exc.code in RETRYABLE and "将自动重试" in str(exc), (exc.code, str(exc))
            event(f"round failed with {exc.code} after {fault}")
            return
        finally:
            self.transport.armed.clear()  # a fault armed past the round's last request expires with it
        fired = [e.fault for e in self.transport.log[start:] if e.fault]
        event(f"round succeeded despite {fired[0]}" if fired else "round succeeded")
        assert staging_residue(pc) == [], f"{pc.name} kept staging files after a successful round"
        county = {(t, r[0]): r[1] for t in TABLES for r in _rows(self.world.county_path, f"SELECT id, version FROM {t}")}
        for table, row_id, version, _replica in made:  # no loss: all of it reached the county
            assert county.get((table, row_id), -1) >= version, f"{pc.name}'s {table} {row_id} v{version} is missing"

    def _staged(self) -> bool:
        """Some PC has an upload or a download in flight (a round failed part-way)."""
        for pc in self.pcs:
            state = pc.folder / "sync-http" / "state.json"
            if state.exists() and any(json.loads(state.read_text(encoding="utf-8")).get(k) for k in ("upload", "download")):
                return True
        return False

    @precondition(lambda self: self.restarts < 1 and self._staged())
    @rule()
    def crash_server(self) -> None:
        """The county server process is killed mid-transfer and started again (uploads and returns live
        on disk): the PC's next round resumes."""
        self.restarts += 1
        self.live.kill()
        self.live.start()

    # --- invariants -------------------------------------------------------------------------------------
    def _paths(self) -> list[Path]:
        return [self.world.county_path, *(pc.path for pc in self.pcs)]

    @invariant()
    def ids_unique_and_owned(self) -> None:
        townships = {self.partition[pc.name]: pc.sv().scope.township_id for pc in self.pcs}
        for table in TABLES:
            for path in self._paths():
                ids = [r[0] for r in _rows(path, f"SELECT id FROM {table}")]
                assert len(ids) == len(set(ids)), f"duplicate ids in {table} of {path}"
            for partition, township_id in townships.items():  # the county files rows under their owner
                assert {r[0] for r in _rows(self.world.county_path, f"SELECT DISTINCT township_id FROM {table} "
                                            "WHERE partition = ?", (partition,))} <= {township_id}
            for pc in self.pcs:  # a PC never holds another township's rows
                assert _rows(pc.path, f"SELECT count(*) FROM {table} WHERE partition != ?",
                             (self.partition[pc.name],)) == [(0,)], (pc.name, table)

    @invariant()
    def cursors_monotonic(self) -> None:
        for path in self._paths():
            for peer, direction, seq in _rows(path, "SELECT peer, direction, seq FROM sync_cursor"):
                if path == self.world.county_path and peer not in self.nodes:
                    continue  # other examples' PCs
                key = (str(path), peer, direction)
                assert seq >= self.cursors.get(key, 0), f"cursor {key} went back"
                self.cursors[key] = seq

    @invariant()
    def nothing_half_applied(self) -> None:
        for path in self._paths():
            assert _rows(path, "SELECT count(*) FROM sync_ledger_part") == [(0,)], path
        for pc in self.pcs:
            assert not list(pc.folder.rglob("*.tmp")), f"temporary files left on {pc.name}"

    @invariant()
    def one_county_document_each(self) -> None:
        for path in self._paths():
            ids = [r[0] for r in _rows(path, "SELECT id FROM config_document")]
            assert len(ids) == len(set(ids)), path

    # --- settle --------------------------------------------------------------------------------------
    def teardown(self) -> None:
        try:
            self.settle()
        finally:
            for client in self.clients.values():
                client.close()
            self.transport.shutdown()
            for pc in self.pcs:
                pc.close()
                self.world.pcs.remove(pc)

    def settle(self) -> None:
        """Clean rounds for every PC, twice around: the replicas converge and no edit is lost."""
        self.transport.armed.clear()
        for _ in range(2):
            for pc in self.pcs:
                self.client(pc).round()
        county = self.world.county_path
        documents = "SELECT id, doc_version FROM config_document ORDER BY id"
        for pc in self.pcs:
            assert _live(pc.path, self.partition[pc.name]) == _live(county, self.partition[pc.name]), pc.name
            assert _rows(pc.path, documents) == _rows(county, documents), pc.name
            assert self.client(pc).round().requests == 1, f"{pc.name} still had something to do"
        losers = {tuple(r) for path in self._paths() for r in _rows(
            path, "SELECT table_name, row_id, loser_version, loser_replica FROM sync_conflict")}
        final = {(row[0], row[1]): (row[2], row[3]) for pc in self.pcs for row in _live(county, self.partition[pc.name])}
        for (table, row_id, version, replica), who in self.writes.items():
            final_version, final_replica = final[(table, row_id)]
            assert final_version >= version, f"{who}'s edit of {table} {row_id} was lost"
            if final_version == version and final_replica != replica:
                assert (table, row_id, version, replica) in losers, f"silent conflict on {row_id}"


# Shrinking would re-run examples for minutes; a failure prints its (unshrunk) steps, which suffice.
SETTINGS = settings(max_examples=10, stateful_step_count=10, deadline=None, derandomize=True,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def shared_county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NetWorld, LiveCounty]]:
    with live_county_world(tmp_path_factory.mktemp("http-model")) as world_and_server:
        yield world_and_server


def test_network_sync_model(shared_county: tuple[NetWorld, LiveCounty]) -> None:
    world, live = shared_county
    run_state_machine_as_test(lambda: HttpSyncModel(world, live), settings=SETTINGS)
