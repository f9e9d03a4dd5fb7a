"""The database file: start-up checks, PRAGMAs, migrations, backups, failures, sync bookkeeping."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import sqlite3
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError

from app.errors import StorageError
from app.models import AuditEntry, LocalSetting, Role, Township, Village
from app.paths import backups_dir, database_path
from app.services import Services
from app.services.context import Actor
from app.storage import Database, backup, database, migrate, open_database, startup
from app.storage.backup import KEEP_DAILY, backup_to, daily_backup, list_backups, restore_from
from app.storage.database import storage_message
from app.storage.integrity import quick_check
from app.storage.startup import DatabaseDamaged, ensure_writable

ADMIN = Actor(username="admin", display_name="管理员", role=Role.ADMIN)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def count(db_path: Path, table: str) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def add_villages(services: Services, n: int, prefix: str = "村") -> list[str]:
    reg = services.register("villages")
    return [reg.save({"name": f"{prefix}{i}", "population": i}) for i in range(n)]


def fake_backup(folder: Path, stamp: str, reason: str, source: Path | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"xiangan-{stamp}-{reason}.sqlite3"
    target.write_bytes(source.read_bytes() if source else b"")
    return target


# ── opening ──────────────────────────────────────────────────────────────────────────────────────


def test_open_database_creates_wal_db_with_foreign_keys(data_dir: Path) -> None:
    db = open_database(data_dir)
    try:
        assert database_path(data_dir).is_file()
        with db.session() as session:
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert session.execute(text("PRAGMA busy_timeout")).scalar() == database.BUSY_TIMEOUT_MS
        # the file header says WAL too (bytes 18/19 == 2), so every later connection uses WAL
        assert database_path(data_dir).read_bytes()[18:20] == b"\x02\x02"
        assert not (data_dir / ".write-test").exists()
    finally:
        db.dispose()


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(StorageError, match="数据库操作失败") as info, db.session() as session:
        session.add(Village(township_id=str(uuid.uuid4()), partition="twp:x", name="孤村"))
    assert "FOREIGN KEY" in str(info.value)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Village)) == 0


def test_replica_id_is_a_uuid_and_stable_across_reopen(data_dir: Path) -> None:
    first = open_database(data_dir)
    replica = first.replica_id
    first.dispose()
    assert str(uuid.UUID(replica)) == replica
    second = open_database(data_dir)
    try:
        assert second.replica_id == replica
        with second.session() as session:
            assert session.get(LocalSetting, startup.REPLICA_KEY).value == replica
    finally:
        second.dispose()
    other = open_database(data_dir.parent / "other")
    try:
        assert other.replica_id != replica  # each installation mints its own
    finally:
        other.dispose()


def test_migrations_are_at_head(db: Database) -> None:
    head = migrate.head_revision()
    assert head
    assert migrate.current_revision(db.path) == head


def test_migrated_schema_matches_the_models(db: Database) -> None:
    """Alembic's autogenerate finds nothing to do: the migrations build exactly Base.metadata."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.models import Base

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, Base.metadata) == []


@pytest.mark.parametrize("folder", ["a#b", "x?y", "50%25 off", "中文 目录"])
def test_data_folder_names_that_are_special_in_uris(tmp_path: Path, folder: str) -> None:
    """The read-only connections (revision probe, integrity check, backup) read the real file: a bare
    path in a ``file:`` URI made SQLite open a new empty file beside it, so the backup was empty."""
    data = tmp_path / folder
    data.mkdir()
    sv = Services(open_database(data), ADMIN)
    sv.township.save_profile({"name": "青山镇", "county_name": "安远县", "code": "360726100"})
    path = sv.db.path
    assert migrate.current_revision(path) == migrate.head_revision()
    assert quick_check(path) is None
    copy = backup_to(path, tmp_path / "backups")
    assert count(copy, "township") == 1
    sv.db.dispose()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["backups", folder])


def test_current_revision_of_missing_or_empty_file(tmp_path: Path) -> None:
    assert migrate.current_revision(tmp_path / "nope.sqlite3") is None
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    assert migrate.current_revision(empty) is None


def test_fresh_database_makes_no_backup_and_reopen_makes_one_daily(data_dir: Path) -> None:
    open_database(data_dir).dispose()
    assert list_backups(backups_dir(data_dir)) == []
    open_database(data_dir).dispose()
    made = list_backups(backups_dir(data_dir))
    assert [p.name.endswith("-daily.sqlite3") for p in made] == [True]
    open_database(data_dir).dispose()  # same day: no second daily backup
    assert list_backups(backups_dir(data_dir)) == made


def test_pre_migration_backup_when_file_is_behind_head(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = open_database(data_dir)
    Services(db, ADMIN).township.save_profile({"name": "青山镇", "county_name": "安远县"})
    db.dispose()
    # Pretend this build knows a newer head than the file is at (there is one migration so far).
    monkeypatch.setattr(migrate, "head_revision", lambda: "0002_pretend")
    open_database(data_dir).dispose()
    premigrate = [p for p in list_backups(backups_dir(data_dir)) if p.name.endswith("-premigrate.sqlite3")]
    assert len(premigrate) == 1
    assert count(premigrate[0], "township") == 1
    assert quick_check(premigrate[0]) is None


def test_no_pre_migration_backup_at_head(data_dir: Path) -> None:
    open_database(data_dir).dispose()
    open_database(data_dir).dispose()
    assert not [p for p in list_backups(backups_dir(data_dir)) if "premigrate" in p.name]


@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
def test_database_from_newer_version_is_refused_and_left_untouched(data_dir: Path, journal_mode: str) -> None:
    open_database(data_dir).dispose()
    db_path = database_path(data_dir)
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE alembic_version SET version_num = 'ffff_from_the_future'")
    conn.commit()
    assert conn.execute(f"PRAGMA journal_mode={journal_mode}").fetchone()[0] == journal_mode
    conn.close()
    before = sha(db_path)
    backups_before = list_backups(backups_dir(data_dir))
    with pytest.raises(StorageError) as info:
        open_database(data_dir)
    assert not isinstance(info.value, DatabaseDamaged)
    assert "更新版本" in str(info.value)
    assert "数据未做任何改动" in str(info.value)
    assert sha(db_path) == before
    assert list_backups(backups_dir(data_dir)) == backups_before
    wal = Path(f"{db_path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # read-only checks may leave an empty WAL


# ── damaged files ────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def filled_dir(data_dir: Path) -> Path:
    """A data folder whose database has a few hundred KB of rows, closed again."""
    db = open_database(data_dir)
    services = Services(db, ADMIN)
    services.township.save_profile({"name": "青山镇", "county_name": "安远县"})
    reg = services.register("villages")
    with db.session("admin") as session:
        for i in range(200):
            reg.save_in(session, {"name": f"村{i}", "remarks": "说明" * 400}, None)
    db.dispose()
    return data_dir


def _backups_for_damage(folder: Path, source: Path) -> Path:
    bdir = backups_dir(folder)
    fake_backup(bdir, "20240101-080000", "daily", source)
    newest = fake_backup(bdir, "20240301-080000", "premigrate", source)
    fake_backup(bdir, "20240201-080000", "manual", source)
    (bdir / "notes.txt").write_text("not a backup")
    return newest


def test_garbage_file_is_reported_damaged_with_newest_backup(filled_dir: Path) -> None:
    db_path = database_path(filled_dir)
    newest = _backups_for_damage(filled_dir, db_path)
    db_path.write_bytes(b"this is not sqlite" * 5000)
    with pytest.raises(DatabaseDamaged) as info:
        open_database(filled_dir)
    err = info.value
    assert isinstance(err, StorageError)
    assert err.newest_backup == newest
    assert str(err).startswith("数据库文件已损坏")
    assert f"可以恢复最近的备份：{newest.name}" in str(err)
    assert err.problem


def test_file_with_middle_cut_out_is_reported_damaged(filled_dir: Path) -> None:
    db_path = database_path(filled_dir)
    data = db_path.read_bytes()
    assert len(data) > 100_000
    third = len(data) // 3
    db_path.write_bytes(data[:third] + data[2 * third :])
    with pytest.raises(DatabaseDamaged) as info:
        open_database(filled_dir)
    assert info.value.newest_backup is None
    assert "没有找到可用的备份" in str(info.value)
    assert re.search(r"[\u4e00-\u9fff]", str(info.value))


def test_overwritten_pages_give_a_short_problem_text(filled_dir: Path) -> None:
    db_path = database_path(filled_dir)
    data = bytearray(db_path.read_bytes())
    data[4096 * 3 : 4096 * 8] = os.urandom(4096 * 5)
    db_path.write_bytes(bytes(data))
    with pytest.raises(DatabaseDamaged) as info:
        open_database(filled_dir)
    # SQLite can list hundreds of findings in one row; the message shows at most five of them.
    assert len(info.value.problem.split("; ")) <= 5
    assert "\n" not in info.value.problem
    assert len(str(info.value)) < 500


def test_quick_check_healthy_and_absent(db: Database, tmp_path: Path) -> None:
    assert quick_check(db.path) is None
    assert quick_check(tmp_path / "absent.sqlite3") is None


# ── the data folder cannot take writes ───────────────────────────────────────────────────────────


def test_read_only_database_file(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    open_database(data_dir).dispose()
    db_path = database_path(data_dir)
    db_path.chmod(0o444)
    try:
        if os.access(db_path, os.W_OK):  # running as root: permission bits do not stop writes
            real_access = os.access
            monkeypatch.setattr(
                os, "access",
                lambda p, mode, *a, **k: False if Path(p) == db_path and mode & os.W_OK else real_access(p, mode, *a, **k),
            )
        with pytest.raises(StorageError, match="只读") as info:
            open_database(data_dir)
        assert str(db_path) in str(info.value)
    finally:
        db_path.chmod(0o644)


def test_full_disk_at_start_up(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StorageError, match="磁盘已满") as info:
        open_database(data_dir)
    assert str(data_dir) in str(info.value)
    assert not (data_dir / ".write-test").exists()
    assert not database_path(data_dir).exists()


def test_unwritable_folder_at_start_up(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(startup, "open", denied, raising=False)
    with pytest.raises(StorageError) as info:
        ensure_writable(data_dir)
    assert "无法写入" in str(info.value)
    assert "--data-dir" in str(info.value)
    assert "磁盘已满" not in str(info.value)


def test_full_disk_while_saving_rolls_back(services: Services) -> None:
    db = services.db
    add_villages(services, 1)
    with pytest.raises(StorageError, match="磁盘空间已满"), db.session("admin") as session:
        pages = session.execute(text("PRAGMA page_count")).scalar()
        session.execute(text(f"PRAGMA max_page_count={pages}"))  # this connection can grow no further
        for i in range(300):
            session.add(Village(township_id=services.scope.township_id, partition=services.scope.partition,
                                name=f"大村{i}", remarks="很长的备注" * 400))
        session.flush()
    db.dispose()  # drop the connection that still carries max_page_count
    assert services.register("villages").count() == 1


def test_database_locked_by_another_program(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    db = open_database(data_dir)
    try:
        services = Services(db, ADMIN)
        services.township.save_profile({"name": "青山镇", "county_name": "安远县"})
        add_villages(services, 2)
        before = count(db.path, "village"), count(db.path, "audit_log")
        other = sqlite3.connect(db.path, timeout=0, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            with pytest.raises(StorageError, match="占用"):
                services.register("villages").save({"name": "新村", "population": "100"})
            assert time.monotonic() - started < 3  # the 200 ms busy timeout applied, not 5 s
        finally:
            other.rollback()
            other.close()
        assert (count(db.path, "village"), count(db.path, "audit_log")) == before
        services.register("villages").save({"name": "新村"})  # usable again once released
        assert count(db.path, "village") == before[0] + 1
    finally:
        db.dispose()


@pytest.mark.parametrize(
    "message, fragment",
    [
        ("database is locked", "占用"),
        ("database table is locked", "占用"),
        ("attempt to write a readonly database", "只读"),
        ("database or disk is full", "磁盘空间已满"),
        ("database disk image is malformed", "已损坏"),
        ("file is not a database", "已损坏"),
        ("no such table: foo", "数据库操作失败：no such table: foo"),
    ],
)
def test_storage_message(message: str, fragment: str) -> None:
    assert fragment in storage_message(sqlite3.OperationalError(message))


def test_sqlite_errors_in_a_session_become_storage_errors(db: Database) -> None:
    with pytest.raises(StorageError, match="no such table"), db.session() as session:
        session.execute(text("SELECT * FROM no_such_table"))


# ── backups ──────────────────────────────────────────────────────────────────────────────────────


def test_backup_to_is_consistent_while_database_is_open(services: Services, tmp_path: Path) -> None:
    add_villages(services, 30)
    db = services.db
    assert Path(f"{db.path}-wal").exists()  # the rows are (at least partly) still in the WAL
    with db.session() as session:  # a reader is open during the copy
        session.execute(select(Village.id)).all()
        copy = backup_to(db.path, tmp_path / "copies", "manual")
    assert copy.parent == tmp_path / "copies"
    assert re.fullmatch(r"xiangan-\d{8}-\d{6}-manual\.sqlite3", copy.name)
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM village").fetchone()[0] == 30
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == migrate.head_revision()
    finally:
        conn.close()
    assert not list((tmp_path / "copies").glob("*.partial"))
    assert list_backups(tmp_path / "copies") == [copy]


def test_interrupted_backup_leaves_no_partial_file(db: Database, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: Path, target: Path) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "replace", full)
    dest = tmp_path / "copies"
    with pytest.raises(StorageError, match="磁盘空间不足"):
        backup_to(db.path, dest)
    assert list(dest.iterdir()) == []


def test_backup_of_unreadable_database(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="备份失败"):
        backup_to(tmp_path / "missing.sqlite3", tmp_path / "copies")


def test_list_backups_newest_first_ignores_other_files(tmp_path: Path) -> None:
    b = tmp_path / "b"
    old = fake_backup(b, "20240101-000000", "daily")
    new = fake_backup(b, "20240102-000000", "manual")
    mid = fake_backup(b, "20240101-120000", "premigrate")
    (b / "xiangan-20250101-000000-daily.sqlite3.partial").write_bytes(b"")
    (b / "readme.txt").write_text("x")
    assert list_backups(b) == [new, mid, old]
    assert list_backups(tmp_path / "absent") == []


def test_daily_backup_only_once_a_day(db: Database, tmp_path: Path) -> None:
    dest = tmp_path / "b"
    made = daily_backup(db.path, dest)
    assert made is not None and made.name.endswith("-daily.sqlite3")
    assert daily_backup(db.path, dest) is None
    assert list_backups(dest) == [made]


def test_daily_backup_after_a_manual_one_still_runs(db: Database, tmp_path: Path) -> None:
    dest = tmp_path / "b"
    backup_to(db.path, dest, "manual")
    assert daily_backup(db.path, dest) is not None


def test_daily_backup_rotation_keeps_newest(db: Database, tmp_path: Path) -> None:
    dest = tmp_path / "b"
    start = datetime(2024, 1, 1, 9, 0, 0)
    olds = [fake_backup(dest, (start + timedelta(days=i)).strftime("%Y%m%d-%H%M%S"), "daily", db.path)
            for i in range(KEEP_DAILY + 6)]
    manual = fake_backup(dest, "20230101-000000", "manual", db.path)
    made = daily_backup(db.path, dest)
    daily = [p for p in list_backups(dest) if p.name.endswith("-daily.sqlite3")]
    assert len(daily) == KEEP_DAILY
    assert daily[0] == made
    assert daily[1:] == sorted(olds, reverse=True)[: KEEP_DAILY - 1]
    assert not olds[0].exists()
    assert manual.exists()  # only automatic backups rotate


def test_backup_names_use_local_clock_stamp(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Fixed(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return datetime(2030, 5, 6, 7, 8, 9)

    monkeypatch.setattr(backup, "datetime", Fixed)
    made = daily_backup(db.path, tmp_path / "b")
    assert made is not None and made.name == "xiangan-20300506-070809-daily.sqlite3"
    assert daily_backup(db.path, tmp_path / "b") is None


def test_restore_from_keeps_damaged_file(filled_dir: Path) -> None:
    db_path = database_path(filled_dir)
    good = backup_to(db_path, backups_dir(filled_dir))
    garbage = b"broken" * 1000
    db_path.write_bytes(garbage)
    Path(f"{db_path}-shm").write_bytes(b"stale")
    restore_from(good, db_path)
    damaged = db_path.with_suffix(".damaged")
    assert damaged.read_bytes() == garbage
    assert sha(db_path) == sha(good)
    assert not Path(f"{db_path}-shm").exists()
    assert good.exists()  # the backup itself is kept
    db = open_database(filled_dir)
    try:
        assert Services(db, ADMIN).register("villages").count() == 200
    finally:
        db.dispose()


# ── audit log and sync bookkeeping ───────────────────────────────────────────────────────────────


def test_audit_log_is_append_only(services: Services) -> None:
    add_villages(services, 1)
    db_path = services.db.path
    rows = count(db_path, "audit_log")
    assert rows >= 2
    conn = sqlite3.connect(db_path)
    try:
        for statement in ("UPDATE audit_log SET summary = 'forged'", "DELETE FROM audit_log"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)
            conn.rollback()
    finally:
        conn.close()
    with pytest.raises(StorageError, match="append-only"), services.db.session() as session:
        session.execute(text("DELETE FROM audit_log"))
    with pytest.raises(StorageError, match="append-only"), services.db.session() as session:
        entry = session.scalars(select(AuditEntry)).first()
        entry.summary = "forged"
    assert count(db_path, "audit_log") == rows
    assert count(db_path, "audit_log WHERE summary = 'forged'") == 0


def test_synced_rows_cannot_be_hard_deleted(services: Services) -> None:
    (vid,) = add_villages(services, 1)
    with pytest.raises(RuntimeError, match="never hard-deleted"), services.db.session() as session:
        session.delete(session.get(Village, vid))
    with services.db.session() as session:
        row = session.get(Village, vid)
        assert row is not None and row.deleted is False


def _village(db: Database, vid: str) -> Village:
    with db.session() as session:
        return session.get(Village, vid)


def _audit_rows(db: Database, entity_id: str) -> list[AuditEntry]:
    with db.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.entity_id == entity_id)
                                    .order_by(AuditEntry.id)))


def test_new_row_sync_columns(services: Services) -> None:
    before = datetime.now(timezone.utc)
    (vid,) = add_villages(services, 1)
    row = _village(services.db, vid)
    assert row.version == 1
    assert row.base_version == 0
    assert row.version_replica == services.db.replica_id
    assert row.partition == services.scope.partition
    assert row.created_at.tzinfo is timezone.utc
    assert row.updated_at.tzinfo is timezone.utc
    assert before - timedelta(seconds=1) <= row.created_at <= datetime.now(timezone.utc)
    assert row.hlc.endswith(services.db.replica_id)
    assert re.fullmatch(r"\d{13}-\d{9}-[0-9a-f-]{36}", row.hlc)
    (entry,) = _audit_rows(services.db, vid)
    assert entry.action == "create"
    assert entry.username == "admin"
    assert entry.summary == "新增村/社区「村0」"
    assert entry.changes["name"] == "村0"
    assert "version" not in entry.changes and "hlc" not in entry.changes


def test_version_bumps_once_per_real_edit(services: Services) -> None:
    reg = services.register("villages")
    (vid,) = add_villages(services, 1)
    first = _village(services.db, vid)
    time.sleep(0.01)
    reg.save({"name": "村0", "population": "500"}, vid)
    second = _village(services.db, vid)
    assert second.version == 2
    assert second.updated_at > first.updated_at
    assert second.created_at == first.created_at
    assert second.hlc > first.hlc
    reg.save({"name": "村0", "population": "500"}, vid)  # nothing changed: no new version
    assert _village(services.db, vid).version == 2
    reg.save({"name": "村0", "population": "501"}, vid)
    third = _village(services.db, vid)
    assert third.version == 3
    assert third.hlc > second.hlc
    updates = [e for e in _audit_rows(services.db, vid) if e.action == "update"]
    assert [e.changes["population"] for e in updates] == [[0, 500], [500, 501]]


def test_changing_only_sync_columns_is_not_an_edit(services: Services) -> None:
    (vid,) = add_villages(services, 1)
    before = _village(services.db, vid)
    audit_before = len(_audit_rows(services.db, vid))
    with services.db.session() as session:
        row = session.get(Village, vid)
        row.base_version = 7
        row.partition = "twp:other"
    after = _village(services.db, vid)
    assert after.base_version == 7
    assert after.version == before.version
    assert after.updated_at == before.updated_at
    assert after.hlc == before.hlc
    assert len(_audit_rows(services.db, vid)) == audit_before


def test_tombstone_is_an_edit(services: Services) -> None:
    (vid,) = add_villages(services, 1)
    services.register("villages").delete(vid)
    row = _village(services.db, vid)
    assert row.deleted is True
    assert row.version == 2
    assert [e.action for e in _audit_rows(services.db, vid)] == ["create", "delete"]


def test_rows_applied_from_sync_keep_their_version(services: Services) -> None:
    (vid,) = add_villages(services, 1)
    with services.db.session() as session:
        session.info["applying_sync"] = True
        row = session.get(Village, vid)
        row.name = "外来村"
        row.version = 9
        row.version_replica = "county"
    row = _village(services.db, vid)
    assert (row.name, row.version, row.version_replica) == ("外来村", 9, "county")
    assert [e.action for e in _audit_rows(services.db, vid)] == ["create"]


def test_hlc_stamps_increase(services: Services) -> None:
    ids = add_villages(services, 20)
    with services.db.session() as session:
        stamps = [session.get(Village, i).hlc for i in ids]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"), db.session() as session:
        session.add(Township(name="x", partition="twp:x", created_at=datetime(2024, 1, 1)))
        session.flush()


def test_session_rolls_back_on_any_error(services: Services) -> None:
    with pytest.raises(KeyError), services.db.session("admin") as session:
        session.add(Village(township_id=services.scope.township_id, partition=services.scope.partition, name="半村"))
        session.flush()
        raise KeyError("boom")
    assert services.register("villages").count() == 0
    assert count(services.db.path, "audit_log WHERE entity = 'village'") == 0


def test_restore_keeps_the_replaced_file_with_its_write_ahead_log(tmp_path: Path) -> None:
    db_path = tmp_path / "xiangan.sqlite3"
    live = sqlite3.connect(db_path)
    live.execute("PRAGMA journal_mode=WAL")
    live.execute("PRAGMA wal_autocheckpoint=0")  # keep the last change in the -wal file only
    live.execute("CREATE TABLE t (x)")
    live.execute("INSERT INTO t VALUES ('latest')")
    live.commit()
    backup = tmp_path / "old.sqlite3"
    sqlite3.connect(backup).close()
    restore_from(backup, db_path, keep_suffix=".replaced")
    live.close()
    kept = sqlite3.connect(tmp_path / "xiangan.replaced")
    try:
        assert kept.execute("SELECT x FROM t").fetchall() == [("latest",)]
    finally:
        kept.close()


def test_clock_resumes_after_the_newest_stored_stamp(data_dir: Path) -> None:
    from app.models.base import CLOCK

    db = open_database(data_dir)
    with db.session() as session:
        session.add(Township(name="甲镇", partition="twp:x"))
    future = f"{int(time.time() * 1000) + 3_600_000:013d}-000000007-someone"  # a stamp from an hour ahead
    with sqlite3.connect(db.path) as conn:
        conn.execute("UPDATE township SET hlc = ?", (future,))
    db.dispose()
    reopened = open_database(data_dir)
    try:
        assert CLOCK.stamp("me") > future
    finally:
        reopened.dispose()


def test_revision_ids_follow_file_prefixes_so_startup_can_skip_alembic() -> None:
    """Start-up decides 'at head?' from file names; Alembic's own view must agree."""
    import importlib.util

    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate._config())
    assert migrate.head_revision() == script.get_current_head()
    previous = None
    for name in migrate.known_revisions():
        (path,) = migrate.VERSIONS.glob(f"{name}_*.py")
        spec = importlib.util.spec_from_file_location(f"rev_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.revision == name
        assert module.down_revision == previous
        previous = name


def test_bundled_default_wins_over_an_older_county_document(services: Services) -> None:
    """After an upgrade ships newer defaults, an old county document must not roll them back."""
    from app.models import ConfigDocument
    from app.models.config_data import active_document
    from app.paths import resource

    default_file = resource("config", "sector_codes.json")
    with services.db.session() as session:
        session.add(ConfigDocument(partition="county", kind="sector_codes", doc_version="2020.1",
                                   content={"items": [{"code": "old", "name": "旧行业"}]}))
    with services.db.session() as session:
        assert active_document(session, "sector_codes", default_file)["version"] == "2026.1"
        session.add(ConfigDocument(partition="county", kind="sector_codes", doc_version="2027.1",
                                   content={"items": [{"code": "new", "name": "新行业"}]}))
    with services.db.session() as session:
        document = active_document(session, "sector_codes", default_file)
        assert (document["version"], document["items"][0]["name"]) == ("2027.1", "新行业")


def test_an_unreadable_backup_leaves_the_database_where_it_was(tmp_path: Path) -> None:
    db_path = tmp_path / "xiangan.sqlite3"
    db_path.write_bytes(b"the current database")
    with pytest.raises(StorageError, match="原数据库未改动"):
        restore_from(tmp_path / "missing-backup.sqlite3", db_path)
    assert db_path.read_bytes() == b"the current database"
    assert not db_path.with_suffix(".damaged").exists()
    assert not db_path.with_suffix(".restoring").exists()
