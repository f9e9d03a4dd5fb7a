"""Bookkeeping both ends share: cursors, the ledger, table labels, and applying a verified bundle part by
part — each part, its rows and its ledger entry in one short transaction, so an interruption redoes at
most the part that was running."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models.sync_state import SyncCursor, SyncLedger, SyncLedgerPart
from app.storage.attachments import AttachmentStore
from app.sync import checkpoints
from app.sync.apply import ApplyStats, PartitionCheck, apply_rows, check_records
from app.sync.bundle import VerifiedBundle
from app.sync.capture import capture_paused, synced_classes
from app.sync.errors import SyncError
from app.sync.serialize import tables_by_name

SessionFactory = Callable[[], AbstractContextManager[Session]]
Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


def get_cursor(session: Session, peer: str, direction: str) -> int:
    row = session.get(SyncCursor, (peer, direction))
    return row.seq if row else 0


def set_cursor(session: Session, peer: str, direction: str, seq: int) -> None:
    row = session.get(SyncCursor, (peer, direction))
    if row is None:
        session.add(SyncCursor(peer=peer, direction=direction, seq=seq))
    else:
        row.seq = seq


def table_labels() -> dict[str, str]:
    return {cls.__tablename__: (cls.__audit_label__ or cls.__tablename__) for cls in synced_classes()}


def labelled(by_table: dict[str, int]) -> dict[str, int]:
    labels = table_labels()
    return {labels.get(name, name): count for name, count in by_table.items()}


def describe_counts(by_table: dict[str, int]) -> str:
    return "、".join(f"{label} {count}" for label, count in labelled(by_table).items())


def ledger_entry(session: Session, bundle_id: str) -> SyncLedger | None:
    return session.get(SyncLedger, bundle_id)


def import_cancelled() -> SyncError:
    return SyncError("cancelled", message="已取消导入。已导入的部分会保留，再次导入同一文件会接着完成。")


def _verify_parts(bundle: VerifiedBundle, sessions: SessionFactory, allowed: PartitionCheck) -> None:
    tables = tables_by_name()
    with sessions() as session:
        for _part, records in bundle.iter_parts():
            check_records(session, records, tables, allowed)


def _done_parts(sessions: SessionFactory, bundle_id: str) -> tuple[set[str], ApplyStats]:
    stats = ApplyStats()
    with sessions() as session:
        rows = session.scalars(select(SyncLedgerPart).where(SyncLedgerPart.bundle_id == bundle_id)).all()
        for row in rows:
            stats.add(ApplyStats(row.applied, row.unchanged, row.conflicts, skipped=row.skipped))
        return {row.part for row in rows}, stats


def _extract_attachments(bundle: VerifiedBundle, store: AttachmentStore) -> None:
    """Files the store does not hold yet (content-addressed: each lands once, hash re-checked)."""
    for item in bundle.envelope.attachments:
        if not store.has(item.sha256):
            target = store.path_of(item.sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            bundle.extract_attachment(item.sha256, target)


def apply_bundle(bundle: VerifiedBundle, sessions: SessionFactory, store: AttachmentStore, *, side: str,
                 allowed: PartitionCheck, retired: frozenset[str], adopt_base: bool, log_changes: bool,
                 progress: Progress | None = None, cancelled: Cancelled | None = None) -> ApplyStats:
    """Check every part, store the attachments, then apply the parts not applied yet. Nothing is written
    (no row, no file) when a check fails."""
    _verify_parts(bundle, sessions, allowed)
    checkpoints.crash_point(f"{side}.verified")
    _extract_attachments(bundle, store)
    checkpoints.crash_point(f"{side}.attachments")
    done, stats = _done_parts(sessions, bundle.envelope.bundle_id)
    total = bundle.envelope.rows
    finished = sum(p.rows for p in bundle.envelope.parts if p.name in done)
    tables = tables_by_name()
    for part, records in bundle.iter_parts(skip=done):
        if cancelled is not None and cancelled():
            raise import_cancelled()
        with sessions() as session, capture_paused(session):
            rows = check_records(session, records, tables, allowed)
            part_stats = apply_rows(session, rows, retired=retired, adopt_base=adopt_base, log_changes=log_changes)
            session.add(SyncLedgerPart(bundle_id=bundle.envelope.bundle_id, part=part.name,
                                       applied=part_stats.applied, unchanged=part_stats.unchanged,
                                       conflicts=part_stats.conflicts, skipped=part_stats.skipped))
        checkpoints.crash_point(f"{side}.part_applied")
        stats.add(part_stats)
        finished += part.rows
        if progress is not None:
            progress(finished, total)
    return stats


def clear_parts(session: Session, bundle_id: str) -> None:
    """The bundle is complete: its per-part checkpoints are no longer needed (no staging residue)."""
    session.execute(delete(SyncLedgerPart).where(SyncLedgerPart.bundle_id == bundle_id))


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of at most ``size`` items, pulled lazily: a 100k-row export never sits in memory at once."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
