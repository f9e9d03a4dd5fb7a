"""The county on PostgreSQL: the same USB-sync flows as on SQLite (import, return, replay, fork, wrong
township, conflicts, cancelled import …), collected here again with the ``world`` fixture below, plus the
migrations on an empty PostgreSQL database.

The flows are the SQLite tests themselves, imported (pytest collects them in this module, where ``world``
puts the county database on PostgreSQL); only flows that copy the county's SQLite file are left out.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from app.errors import XiangAnError
from app.models import Base, Village
from app.models.sync_state import SyncChange
from app.storage import migrate
from app.sync.apply import lock_change_log
from app.sync.county import CountyStore
from tests.sync.sync_world import World
from tests.sync.test_faults import (  # noqa: F401  (collected again here, on PostgreSQL)
    test_a_row_cannot_be_moved_into_the_senders_partition,
    test_an_older_bundle_after_a_newer_one_is_harmless,
    test_another_townships_bundle_is_rejected,
    test_another_townships_return_file_is_rejected_at_the_township,
    test_fork_from_a_restored_backup_is_detected_and_reenrolment_loses_nothing,
    test_old_return_file_after_a_newer_one_changes_nothing,
    test_pending_enrolment_needs_the_one_time_code,
    test_replay_returns_the_stored_acknowledgement_and_changes_nothing,
    test_rows_outside_the_townships_partition_are_rejected,
    test_tampered_or_truncated_files_change_nothing,
    test_township_refuses_an_acknowledgement_for_numbers_it_never_issued,
    test_unknown_sender_is_rejected_and_nothing_changes,
)
from tests.sync.test_township_county import (  # noqa: F401  (collected again here, on PostgreSQL)
    test_attachments_travel_once,
    test_cancelled_import_keeps_the_applied_parts_and_finishes_later,
    test_concurrent_edit_on_two_pcs_is_kept_as_a_conflict_on_both_paths,
    test_county_data_comes_down_with_the_return_file,
    test_lost_stick_costs_nothing_the_next_export_carries_it_all,
    test_only_changes_since_the_acknowledgement_travel_next_time,
    test_pc_enrolled_with_bound_file_refuses_other_townships_data,
    test_round_trip_carries_everything_and_acknowledges_it,
    test_supervision_order_points_at_the_townships_hazard,
    test_the_same_enrolment_file_cannot_be_used_twice,
    test_township_that_used_the_app_first_keeps_its_own_id,
    test_two_pcs_of_one_township_see_each_others_rows,
)


@pytest.fixture
def world(tmp_path: Path, pg_url: str) -> Iterator[World]:
    """The sync world with the county database on PostgreSQL (its attachments in tmp_path/county)."""
    w = World(tmp_path, county_url=pg_url)
    yield w
    w.close()


def test_the_migrations_build_the_models_schema_on_an_empty_database(tmp_path: Path, pg_empty_url: str):
    county = CountyStore.init(tmp_path / "county", pg_empty_url, name="安远县应急管理局")
    try:
        with county.db.engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        county.close()
    assert version == migrate.head_revision()
    assert differences == []
    assert tables >= set(Base.metadata.tables)


def test_reopening_keeps_everything_and_does_not_migrate_again(world: World):
    pc = world.township_pc(villages=("石桥村", "东山村"))
    exported, _ = world.upload(pc)
    before = world.county_digest()
    world.restart()
    assert world.county_digest() == before
    again = world.county.import_bundle(exported.path, world.usb / "again")
    assert again.replay and world.county.status()[0].records == {"乡镇信息": 1, "村/社区": 2}


def test_a_bundle_that_breaks_a_live_name_rule_keeps_the_row_as_a_conflict(world: World):
    """PostgreSQL aborts the transaction on a failed statement: the savepoint per row must contain it."""
    pc1 = world.township_pc()
    world.round_trip(pc1)
    pc2 = world.second_pc()
    world.round_trip(pc2)
    pc1.add_village("新华村")
    pc2.add_village("新华村")  # the same live name registered on two PCs of one township
    _, first = world.upload(pc1)
    _, second = world.upload(pc2)
    assert (first.applied, second.conflicts) == (1, 1)
    with world.county.db.session() as session:
        names = list(session.scalars(select(Village.name).where(Village.deleted.is_(False))))
    assert sorted(names) == ["新华村", "石桥村"]
    [conflict] = world.county.conflicts()
    assert conflict.reason == "duplicate" and conflict.loser["name"] == "新华村"


def test_a_county_database_that_is_not_initialised_is_refused(tmp_path: Path, pg_url: str):
    with pytest.raises(XiangAnError, match="尚未初始化"):
        CountyStore.open(tmp_path / "county", pg_url)


def test_the_world_here_really_is_on_postgresql(world: World):
    assert world.county.db.engine.dialect.name == "postgresql"
    assert not world.county_path.exists()


def _waiting_for_the_change_log(world: World, count: int, timeout: float = 30.0) -> bool:
    """True once ``count`` sessions wait for the change-log lock (polled from a connection of its own)."""
    deadline = time.monotonic() + timeout
    with world.county.db.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").scalar()
            conn.rollback()
            if waiting >= count:
                return True
            time.sleep(0.05)
    return False


def test_change_numbers_become_visible_in_the_order_they_were_given(world: World, tmp_path: Path):
    """PostgreSQL gives out sequence numbers at insert and shows them at commit: while one writer of the
    downstream sequence is uncommitted, the others (an import, a document sent) wait for it, so a PC can
    never acknowledge a number while a smaller one is still to appear."""
    pc = world.township_pc()
    exported = pc.export(world.usb)
    document = tmp_path / "guide.json"
    document.write_text(json.dumps({"kind": "drill_guide", "version": "1", "title": "演练指南"}), encoding="utf-8")
    held = threading.Event()
    seen: dict[str, Any] = {}

    def slow_writer() -> None:
        with world.county.db.session(audit=False) as session:
            lock_change_log(session)
            change = SyncChange(table_name="village", row_id="slow", partition="county")
            session.add(change)
            session.flush()
            seen["first"] = change.seq
            held.set()
            seen["both_waited"] = _waiting_for_the_change_log(world, 2)
        seen["committed"] = time.monotonic()

    def finish(name: str, work: Callable[[], Any]) -> None:
        work()
        seen[name] = time.monotonic()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert held.wait(30)
    others = [threading.Thread(target=finish, args=("document", lambda: world.county.send_document("standard", document))),
              threading.Thread(target=finish, args=("import", lambda: world.county.import_bundle(exported.path,
                                                                                                   world.usb / "r")))]
    for thread in others:
        thread.start()
    for thread in (writer, *others):
        thread.join(60)
    assert seen["both_waited"] and seen["document"] > seen["committed"] and seen["import"] > seen["committed"]
    with world.county.db.session(audit=False) as session:
        later = session.scalar(select(func.min(SyncChange.seq)).where(SyncChange.row_id != "slow"))
    assert later > seen["first"]
