"""Sync bookkeeping tables (SYNC.md): outbox, bundle ledger, cursors, peers and keys, conflicts, the county's
downstream change sequence, and supervision orders (督办) the county sends to a township.

Only ``SupervisionOrder`` is a synced row; everything else is local state of this node and never travels.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, SyncedMixin, UTCDateTime, utcnow

ROLE_TOWNSHIP = "township"
ROLE_COUNTY = "county"
UPSTREAM = "upstream"  # township PC → county: the PC's outbox sequence
DOWNSTREAM = "downstream"  # county → township PC: the county's change sequence


class SyncOutbox(Base):
    """One local write of a synced row, appended by the capture triggers in the writing transaction.

    AUTOINCREMENT: a sequence number is never reused after acknowledged entries are pruned, so a number
    the county already acknowledged can only come back when the database file itself went back in time."""

    __tablename__ = "sync_outbox"
    __table_args__ = (Index("ix_sync_outbox_row", "table_name", "row_id"), {"sqlite_autoincrement": True})

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=0)
    hlc: Mapped[str] = mapped_column(String(64), default="")
    op: Mapped[str] = mapped_column(String(8))


class SyncCapturePause(Base):
    """A row here (only ever inside the applying transaction) makes the capture triggers stand still:
    rows applied from a bundle keep the sender's version and are not logged as local edits."""

    __tablename__ = "sync_capture_pause"

    token: Mapped[str] = mapped_column(String(36), primary_key=True)


class SyncIdentity(Base):
    """This node: its role, node id and private keys (one row, id 1)."""

    __tablename__ = "sync_identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    node_id: Mapped[str] = mapped_column(String(100))
    keys: Mapped[str] = mapped_column(Text)  # KeyPair.to_json(): private, never leaves this node
    county_id: Mapped[str] = mapped_column(String(100), default="")
    county_name: Mapped[str] = mapped_column(String(64), default="")
    township_id: Mapped[str] = mapped_column(String(36), default="")
    township_code: Mapped[str] = mapped_column(String(32), default="")
    township_name: Mapped[str] = mapped_column(String(64), default="")
    enrolment_id: Mapped[str] = mapped_column(String(36), default="")
    enrolment_code: Mapped[str] = mapped_column(String(64), default="")  # township: proves the first bundle
    # node ids this PC had before a re-enrolment: their versions may collide with ours after a restore
    retired: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SyncTownship(Base):
    """County side: a township the county enrolled, by its administrative code."""

    __tablename__ = "sync_township"

    township_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    # False until a PC's first bundle arrives: a township that used the app before enrolling keeps its own id.
    bound: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SyncPeer(Base):
    """A node this node exchanges bundles with, and its pinned public keys.

    On the county: one row per enrolment of a township PC (``pending`` until the PC's first bundle proves
    the one-time code and pins its keys; ``forked`` once a restored database was detected). On a township
    PC: the county."""

    __tablename__ = "sync_peer"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    node_id: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    township_id: Mapped[str] = mapped_column(String(36), default="", index=True)
    public_keys: Mapped[str] = mapped_column(Text, default="")
    enrol_code: Mapped[str] = mapped_column(String(64), default="")  # one-time, proves the first bundle
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # fork detection: the newest sequence number this PC ever issued, and the clock stamp of that bundle
    issued_seq: Mapped[int] = mapped_column(Integer, default=0)
    issued_hlc: Mapped[str] = mapped_column(String(64), default="")
    # county: when this PC last made a signed request to the county server (the 县级平台's 上次联系)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SyncCursor(Base):
    """How far one stream is applied/acknowledged. Only ever moves forward (except a deliberate resend)."""

    __tablename__ = "sync_cursor"

    peer: Mapped[str] = mapped_column(String(100), primary_key=True)
    direction: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SyncLedger(Base):
    """Every bundle written or applied, with the acknowledgement it got or gave (replays return it)."""

    __tablename__ = "sync_ledger"

    bundle_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))  # "in" | "out"
    kind: Mapped[str] = mapped_column(String(16))
    peer: Mapped[str] = mapped_column(String(100), index=True)
    file_name: Mapped[str] = mapped_column(String(200), default="")
    seq_from: Mapped[int] = mapped_column(Integer, default=0)
    seq_to: Mapped[int] = mapped_column(Integer, default=0)
    ack: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class SyncLedgerPart(Base):
    """A part of an incoming bundle that is applied: after a crash only the unfinished part is redone."""

    __tablename__ = "sync_ledger_part"

    bundle_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    part: Mapped[str] = mapped_column(String(100), primary_key=True)
    applied: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)


class SyncAttachmentHeld(Base):
    """Township side: files the county acknowledged holding; they are never sent again."""

    __tablename__ = "sync_attachment_held"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SyncConflict(Base):
    """A losing version of a row edited on two PCs of one township: kept, never silently dropped."""

    __tablename__ = "sync_conflict"
    __table_args__ = (
        UniqueConstraint("table_name", "row_id", "loser_version", "loser_replica", "loser_hlc",
                         name="uq_sync_conflict_loser"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(36), index=True)
    partition: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(16), default="concurrent")  # concurrent | duplicate | fork
    loser_version: Mapped[int] = mapped_column(Integer)
    loser_replica: Mapped[str] = mapped_column(String(36))
    loser_hlc: Mapped[str] = mapped_column(String(64))
    loser: Mapped[dict[str, Any]] = mapped_column(JSON)
    winner_version: Mapped[int] = mapped_column(Integer)
    winner_replica: Mapped[str] = mapped_column(String(36))
    winner_hlc: Mapped[str] = mapped_column(String(64))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class SyncChange(Base):
    """County side: the downstream change sequence. Every row the county stores (its own or a
    township's) appends here, so each township PC can be sent what it has not yet acknowledged."""

    __tablename__ = "sync_change"
    __table_args__ = (Index("ix_sync_change_partition_seq", "partition", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(36))
    partition: Mapped[str] = mapped_column(String(64))


class SupervisionOrder(SyncedMixin, Base):
    """督办: the county orders a township to deal with one of its hazards (partition ``county:to:<T>``).
    It points at the township's hazard and never edits it."""

    __tablename__ = "supervision_order"
    __audit_label__ = "督办通知"

    township_id: Mapped[str] = mapped_column(String(36), index=True)
    hazard_id: Mapped[str] = mapped_column(String(36), index=True)
    hazard_number: Mapped[str] = mapped_column(String(16), default="")
    title: Mapped[str] = mapped_column(String(128))
    content: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    issued_by: Mapped[str] = mapped_column(String(64), default="")
    issued_on: Mapped[date] = mapped_column(Date)
