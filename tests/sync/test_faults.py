"""Bad input and faults on the database side: each is rejected or harmless, with a clear message, and a
rejected bundle leaves the receiving database unchanged (digest of every table before and after)."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import Village
from app.models.sync_state import SyncIdentity
from app.storage import open_database
from app.storage.backup import backup_to, restore_from
from app.sync.bundle import EnvelopeDraft, write_bundle
from app.sync.errors import SyncError
from app.sync.keys import KeyPair
from app.sync.township import TownshipSync
from tests.sync.sync_world import Pc, World, digest


@pytest.fixture
def world(tmp_path: Path):
    w = World(tmp_path)
    yield w
    w.close()


def _keys(pc: Pc) -> KeyPair:
    with pc.db.session() as session:
        return KeyPair.from_json(session.get(SyncIdentity, 1).keys)


def _forge(world: World, pc: Pc, rows: list[dict], *, township: str | None = None, sender: KeyPair | None = None,
           name: str = "forged.xab", files: list[tuple[str, Path]] = ()) -> Path:
    """A validly signed bundle from ``pc`` (or ``sender``) with whatever rows (and files) the attacker chose."""
    scope = pc.sv().scope
    draft = EnvelopeDraft(kind="data", township=township or scope.township_id, seq_from=1, seq_to=len(rows),
                          ack={"upstream": 0, "downstream": 0}, meta={"issued": 10**6, "hlc": "9" * 13},
                          bundle_id=str(uuid.uuid4()))
    path = world.usb / name
    write_bundle(path, draft, [rows], list(files), sender or _keys(pc), world.county.public_keys)
    return path


def _village_row(pc: Pc, partition: str, row_id: str | None = None) -> dict:
    scope = pc.sv().scope
    return {"_t": "village", "id": row_id or str(uuid.uuid4()), "partition": partition, "version": 1,
            "version_replica": pc.db.replica_id, "base_version": 0, "hlc": "0000000000001-000000000-x",
            "deleted": False, "created_at": "2026-11-01T00:00:00+00:00", "updated_at": "2026-11-01T00:00:00+00:00",
            "township_id": scope.township_id, "name": "伪造村", "kind": "行政村", "code": "", "population": None,
            "households": None, "grid_count": None, "head_name": "", "head_phone": "", "remarks": ""}


def _rejected(world: World, path: Path, code: str) -> SyncError:
    before = world.county_digest()
    with pytest.raises(SyncError) as caught:
        world.county.import_bundle(path, world.usb / "returns")
    assert caught.value.code == code
    assert world.county_digest() == before
    return caught.value


def test_unknown_sender_is_rejected_and_nothing_changes(world: World):
    pc = world.township_pc()
    world.round_trip(pc)
    stranger = KeyPair.generate(str(uuid.uuid4()))
    error = _rejected(world, _forge(world, pc, [_village_row(pc, pc.sv().scope.partition)], sender=stranger),
                      "unknown_sender")
    assert "未登记" in str(error)


def test_pending_enrolment_needs_the_one_time_code(world: World):
    pc = world.township_pc()
    with pc.db.session() as session:  # the PC's proof is made with a wrong code
        session.get(SyncIdentity, 1).enrolment_code = "0" * 32
    _rejected(world, pc.export(world.usb).path, "unknown_sender")


def test_rows_outside_the_townships_partition_are_rejected(world: World):
    pc = world.township_pc()
    world.round_trip(pc)
    for partition in ("county", "twp:someone-else", f"county:to:{pc.sv().scope.township_id}"):
        rows = [_village_row(pc, pc.sv().scope.partition), _village_row(pc, partition)]
        error = _rejected(world, _forge(world, pc, rows, name=f"{partition[:6]}.xab"), "out_of_partition")
        assert "不属于发送方" in str(error)


def test_a_refused_bundle_leaves_no_files_behind(world: World):
    """The partition check of every part runs before any scan is stored: a refused bundle leaves nothing."""
    pc = world.township_pc()
    world.round_trip(pc)
    scan = world.root / "scan.bin"
    scan.write_bytes(b"scan of someone else's records" * 100)
    sha = hashlib.sha256(scan.read_bytes()).hexdigest()
    rows = [_village_row(pc, "twp:someone-else")]
    _rejected(world, _forge(world, pc, rows, files=[(sha, scan)]), "out_of_partition")
    assert not world.county.store.has(sha)


def test_a_row_cannot_be_moved_into_the_senders_partition(world: World):
    pc1 = world.township_pc()
    world.round_trip(pc1)
    pc_other = world.township_pc("other", township="白水镇", code="360726200", villages=("白水村",))
    world.round_trip(pc_other)
    stolen = pc_other.sv().register("villages").query_ids()[0]
    rows = [_village_row(pc1, pc1.sv().scope.partition, row_id=stolen)]
    _rejected(world, _forge(world, pc1, rows), "out_of_partition")


def test_another_townships_bundle_is_rejected(world: World):
    pc1 = world.township_pc()
    world.round_trip(pc1)
    pc2 = world.township_pc("other", township="白水镇", code="360726200", villages=("白水村",))
    world.round_trip(pc2)
    forged = _forge(world, pc1, [_village_row(pc1, pc2.sv().scope.partition)], township=pc2.sv().scope.township_id)
    error = _rejected(world, forged, "wrong_township")
    assert "青山镇" in str(error)


def test_another_townships_return_file_is_rejected_at_the_township(world: World):
    pc1 = world.township_pc()
    pc2 = world.township_pc("other", township="白水镇", code="360726200", villages=("白水村",))
    world.round_trip(pc1)
    _, imported = world.upload(pc2)
    before = digest(pc1.path)
    with pytest.raises(SyncError) as caught:
        pc1.sync.import_return(imported.return_path)
    assert caught.value.code == "wrong_recipient"
    assert digest(pc1.path) == before


def test_replay_returns_the_stored_acknowledgement_and_changes_nothing(world: World):
    pc = world.township_pc()
    exported, first = world.upload(pc)
    before = world.county_digest()
    again = world.county.import_bundle(exported.path, world.usb / "again")
    assert again.replay and again.applied == 0 and again.acknowledged_to == first.acknowledged_to
    assert "已经导入过" in again.messages[0]
    assert world.county_digest() == before
    assert again.return_path.exists()
    # and at the township: the same return file twice
    pc.sync.import_return(first.return_path)
    before = digest(pc.path)
    replay = pc.sync.import_return(first.return_path)
    assert replay.replay and digest(pc.path) == before


def test_an_older_bundle_after_a_newer_one_is_harmless(world: World):
    pc = world.township_pc()
    village = pc.sv().register("villages").query_ids()[0]
    old = pc.export(world.usb / "a")
    pc.edit_village(village, head_name="新负责人")
    new = pc.export(world.usb / "b")
    first = world.county.import_bundle(new.path, world.usb / "r1")
    late = world.county.import_bundle(old.path, world.usb / "r2")
    assert late.applied == 0 and late.unchanged == old.records
    assert late.acknowledged_to == first.acknowledged_to  # the cursor never goes back
    with world.county.db.session() as session:
        assert session.get(Village, village).head_name == "新负责人"  # versions only move forward


def test_old_return_file_after_a_newer_one_changes_nothing(world: World):
    pc = world.township_pc()
    _, first = world.upload(pc)
    pc.add_village("新华村")
    _, second = world.upload(pc)
    pc.sync.import_return(second.return_path)
    acked = pc.sync.status().acknowledged_to
    result = pc.sync.import_return(first.return_path)
    assert pc.sync.status().acknowledged_to == acked
    assert result.acknowledged_to == acked and "较旧的回执" in result.messages[0]


def test_a_gap_after_the_county_lost_data_is_applied_and_everything_is_sent_again(world: World, tmp_path: Path):
    pc = world.township_pc()
    saved = backup_to(world.county_path, tmp_path / "county-backup")
    world.round_trip(pc)
    world.county.close()
    restore_from(saved, world.county_path, keep_suffix=".lost")  # the county goes back to before that import
    from app.sync.county import CountyStore

    world.county = CountyStore.open(world.root / "county")
    pc.add_village("新华村")
    exported, imported, returned = world.round_trip(pc)
    # the new village cannot go in (its township row was lost too) and the cursor does not jump the gap
    assert exported.seq_from > 1 and imported.applied == 0 and imported.acknowledged_to == 0
    assert any("重新上报" in m for m in imported.messages) and any("重新上报" in m for m in returned.messages)
    assert world.county.conflicts() == []  # a missing parent is not mistaken for a conflict
    exported, imported, _ = world.round_trip(pc)
    assert imported.applied == 3 and world.county.status()[0].records == {"乡镇信息": 1, "村/社区": 2}
    assert imported.acknowledged_to == exported.seq_to


def _restore_pc(world: World, pc: Pc, backup: Path) -> Pc:
    pc.close()
    world.pcs.remove(pc)
    shutil.copyfile(backup, pc.path)
    for suffix in ("-wal", "-shm"):
        Path(str(pc.path) + suffix).unlink(missing_ok=True)
    db = open_database(pc.folder)
    restored = Pc(pc.name, pc.folder, db, TownshipSync(db, pc.folder))
    world.pcs.append(restored)
    return restored


def test_fork_from_a_restored_backup_is_detected_and_reenrolment_loses_nothing(world: World, tmp_path: Path):
    pc = world.township_pc()
    world.round_trip(pc)
    village = pc.sv().register("villages").query_ids()[0]
    saved = backup_to(pc.path, tmp_path / "pc-backup")
    pc.add_village("备份后新增村")
    pc.edit_village(village, head_name="备份后改的")
    world.round_trip(pc)
    pc = _restore_pc(world, pc, saved)  # the disk died; yesterday's backup comes back
    pc.edit_village(village, head_name="恢复后改的")
    pc.add_village("恢复后新增村")

    error = _rejected(world, pc.export(world.usb).path, "fork")
    assert "旧备份" in str(error) and "重新登记" in str(error)

    result = pc.sync.enrol(world.enrolment("360726100", "青山镇", "again"))
    assert result.reenrolled
    world.round_trip(pc)
    world.round_trip(pc)
    with world.county.db.session() as session:
        names = set(session.scalars(select(Village.name)))
        head = session.get(Village, village).head_name
    assert names == {"石桥村", "备份后新增村", "恢复后新增村"}  # nothing lost on either side of the fork
    kept = {c.loser["head_name"] for c in world.county.conflicts()}
    assert {head} | kept == {"备份后改的", "恢复后改的"}
    assert pc.village(village)["head_name"] == head  # the PC converged on the same winner


def test_township_refuses_an_acknowledgement_for_numbers_it_never_issued(world: World, tmp_path: Path):
    pc = world.township_pc()
    saved = backup_to(pc.path, tmp_path / "pc-backup")
    pc.add_village("新华村")
    pc.add_village("东山村")
    _, imported = world.upload(pc)
    pc = _restore_pc(world, pc, saved)  # the return file comes back to a PC restored from an older backup
    before = digest(pc.path)
    with pytest.raises(SyncError) as caught:
        pc.sync.import_return(imported.return_path)
    assert caught.value.code == "fork" and "旧备份" in str(caught.value) and "重新登记" in str(caught.value)
    assert digest(pc.path) == before


def test_tampered_or_truncated_files_change_nothing(world: World):
    pc = world.township_pc()
    exported = pc.export(world.usb)
    flipped = world.usb / "flipped.xab"
    data = bytearray(exported.path.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped.write_bytes(bytes(data))
    truncated = world.usb / "truncated.xab"
    truncated.write_bytes(exported.path.read_bytes()[:-100])
    for path in (flipped, truncated):
        before = world.county_digest()
        with pytest.raises(SyncError) as caught:
            world.county.import_bundle(path, world.usb / "returns")
        assert caught.value.code in {"damaged", "truncated", "hash_mismatch", "bad_signature"}
        assert world.county_digest() == before
