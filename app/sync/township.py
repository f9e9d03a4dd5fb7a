"""Township PC side of sync: enrol once, export everything the county has not acknowledged to a USB
stick, import the county's return file (acknowledgement plus what the county sends down)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from app.errors import XiangAnError
from app.localtime import local
from app.models.attachments import Attachment
from app.models.audit import record_event
from app.models.base import CLOCK, new_id, utcnow
from app.models.config_data import COUNTY_PARTITION
from app.models.organisation import Township
from app.models.settings import get_setting, set_setting
from app.models.sync_state import (
    DOWNSTREAM,
    ROLE_COUNTY,
    ROLE_TOWNSHIP,
    UPSTREAM,
    SyncAttachmentHeld,
    SyncConflict,
    SyncCursor,
    SyncIdentity,
    SyncLedger,
    SyncOutbox,
    SyncPeer,
)
from app.storage.attachments import AttachmentStore
from app.storage.database import Database
from app.sync import checkpoints
from app.sync.bundle import EnvelopeDraft, bundle_file_name, open_bundle, write_bundle
from app.sync.capture import capture_paused, enqueue_partition, install_capture, table_order
from app.sync.enrolment import check_server_url, enrol_meta, read_enrolment
from app.sync.errors import SyncError
from app.sync.keys import KeyPair, PublicKeys
from app.sync.serialize import tables_by_name, to_record
from app.sync.state import (
    Cancelled,
    Progress,
    apply_bundle,
    batches,
    chunks,
    clear_parts,
    describe_counts,
    get_cursor,
    labelled,
    set_cursor,
    table_labels,
)

PART_ROWS = 500
REPLICA_KEY = "replica_id"  # the setting app.storage.startup keeps the replica id in
SERVER_URL_KEY = "sync_server_url"  # the county server address (enrolment file, or `xiangan sync --server`)
LAST_ROUND_KEY = "sync_last_round"  # {"at": ISO time of the last successful network round, "error", "code"}
NETWORK_DIR = "sync-http"  # the network client's staging folder in the data folder (app/sync/http_client.py)
OFFLINE_CODES = frozenset({"offline", "interrupted", "stalled", "unavailable", "storage_unavailable", "rate_limited"})


@dataclass(frozen=True)
class EnrolResult:
    township_id: str
    township_name: str
    county_name: str
    node_id: str
    fingerprint: str
    queued: int
    reenrolled: bool


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    direction: str  # "上报" | "下发"
    file: str
    summary: str
    via: str = "U盘"  # "U盘" | "联网": how the file travelled (network rounds stage theirs in NETWORK_DIR)


@dataclass(frozen=True)
class SyncStatus:
    enrolled: bool
    township_id: str = ""
    township_name: str = ""
    county_name: str = ""
    node_id: str = ""
    pending_records: int = 0
    pending_attachments: int = 0
    last_export: HistoryEntry | None = None
    last_export_seq: tuple[int, int] = (0, 0)
    acknowledged_to: int = 0
    last_ack_at: datetime | None = None
    downstream_seq: int = 0
    last_import: HistoryEntry | None = None
    open_conflicts: int = 0
    server_url: str = ""  # "" when no county server is known (USB only)
    last_sync_at: datetime | None = None  # end of the last successful network round
    last_sync_error: str = ""  # message of the last failed network round; "" once a round succeeded
    last_sync_code: str = ""  # its SyncError code ("offline", "stalled", …) for the status bar

    @property
    def offline(self) -> bool:
        """The last network round could not reach the county (it will be retried on its own)."""
        return self.last_sync_code in OFFLINE_CODES

    def to_dict(self) -> dict[str, Any]:
        def entry(item: HistoryEntry | None) -> dict[str, Any] | None:
            return None if item is None else {"at": item.at.isoformat(), "file": item.file, "summary": item.summary}

        return {
            "enrolled": self.enrolled, "township_id": self.township_id, "township_name": self.township_name,
            "county_name": self.county_name, "node_id": self.node_id, "pending_records": self.pending_records,
            "pending_attachments": self.pending_attachments, "last_export": entry(self.last_export),
            "last_export_seq": list(self.last_export_seq), "acknowledged_to": self.acknowledged_to,
            "last_ack_at": self.last_ack_at.isoformat() if self.last_ack_at else None,
            "downstream_seq": self.downstream_seq, "last_import": entry(self.last_import),
            "open_conflicts": self.open_conflicts, "server_url": self.server_url,
            "last_sync_at": self.last_sync_at.isoformat() if self.last_sync_at else None,
            "last_sync_error": self.last_sync_error, "last_sync_code": self.last_sync_code, "offline": self.offline,
        }


@dataclass(frozen=True)
class ExportResult:
    path: Path
    records: int
    attachments: int
    seq_from: int
    seq_to: int
    bundle_id: str = ""  # the upload key of the network sync


@dataclass(frozen=True)
class ImportResult:
    acknowledged_to: int
    received: dict[str, int]
    conflicts: int
    messages: list[str] = field(default_factory=list)
    replay: bool = False


@dataclass(frozen=True)
class ConflictRow:
    id: int
    table: str
    label: str
    row_id: str
    reason: str
    detected_at: datetime
    summary: str
    loser: dict[str, Any]
    loser_version: int
    winner_version: int
    resolved: bool


def _not_enrolled() -> XiangAnError:
    return XiangAnError("本机尚未登记到县级平台。请先导入县应急管理局提供的登记文件（xiangan enrol 登记文件）。")


def _issued(session: Session) -> int:
    """The highest outbox sequence number this database ever issued (pruned entries included)."""
    issued = session.execute(text("SELECT seq FROM sqlite_sequence WHERE name = 'sync_outbox'")).scalar()
    return int(issued or 0)


def _summary_of(values: dict[str, Any]) -> str:
    for key in ("name", "title", "number", "file_name", "unit_name"):
        if values.get(key):
            return str(values[key])
    return str(values.get("id", ""))


class TownshipSync:
    """Sync of one township PC's database with the county, usable from the UI, the CLI and tests."""

    def __init__(self, db: Database, data_dir: Path) -> None:
        self.db = db
        self.data_dir = data_dir
        self.store = AttachmentStore(db.attachments_dir)

    # -- identity ----------------------------------------------------------------------------------
    def _identity(self, session: Session) -> SyncIdentity:
        identity = session.get(SyncIdentity, 1)
        if identity is None or identity.role != ROLE_TOWNSHIP:
            raise _not_enrolled()
        return identity

    def _county(self, session: Session, identity: SyncIdentity) -> PublicKeys:
        peer = session.scalars(select(SyncPeer).where(SyncPeer.node_id == identity.county_id)).first()
        if peer is None:
            raise _not_enrolled()
        return PublicKeys.from_json(peer.public_keys)

    def _partition(self, identity: SyncIdentity) -> str:
        return f"twp:{identity.township_id}"

    def _allowed(self, identity: SyncIdentity) -> Any:
        mine = {COUNTY_PARTITION, f"county:to:{identity.township_id}", self._partition(identity)}
        return lambda partition: partition in mine

    def enrol(self, enrolment_file: Path) -> EnrolResult:
        """Import the county's enrolment file: keys for this PC, the county's keys pinned, and every row
        of the township queued for the first upload. Again on an enrolled PC: re-enrolment under a new
        node id (after a restore from backup), nothing local is lost."""
        enrolment = read_enrolment(enrolment_file)
        with self.db.session(audit=False) as session:
            township_id = self._adopt_township(session, enrolment)
            old = session.get(SyncIdentity, 1)
            if old is not None and old.role != ROLE_TOWNSHIP:
                raise XiangAnError("这是县级数据库，不能作为乡镇电脑登记。")
            if old is not None and old.enrolment_id == enrolment.enrolment_id:
                raise XiangAnError("本机已经导入过这个登记文件。如需重新登记本机，请向县应急管理局申请新的登记文件。")
            if old is not None and old.township_id != township_id:
                raise XiangAnError(f"本机已登记为乡镇「{old.township_name}」，不能再登记为「{enrolment.township_name}」。")
            reenrolled = old is not None
            node_id = new_id() if reenrolled else self.db.replica_id
            retired = [*old.retired, old.node_id] if old is not None else []
            keys = KeyPair.generate(node_id)
            if old is not None:
                session.delete(old)
                session.flush()
            session.add(SyncIdentity(
                id=1, role=ROLE_TOWNSHIP, node_id=node_id, keys=keys.to_json(), county_id=enrolment.county_id,
                county_name=enrolment.county_name, township_id=township_id, township_code=enrolment.township_code,
                township_name=enrolment.township_name, enrolment_id=enrolment.enrolment_id,
                enrolment_code=enrolment.code, retired=retired))
            session.execute(delete(SyncPeer))
            session.add(SyncPeer(id=new_id(), role=ROLE_COUNTY, node_id=enrolment.county_id,
                                 public_keys=enrolment.county_keys.to_json(), status="active"))
            session.execute(delete(SyncCursor))
            session.execute(delete(SyncOutbox))
            session.execute(delete(SyncAttachmentHeld))
            if reenrolled:
                set_setting(session, REPLICA_KEY, node_id)
            if enrolment.server_url:
                set_setting(session, SERVER_URL_KEY, enrolment.server_url)
            install_capture(session.connection())
            queued = enqueue_partition(session, f"twp:{township_id}")
            record_event(session, "system", f"同步：{'重新' if reenrolled else ''}登记到「{enrolment.county_name}」，"
                                            f"本机编号 {node_id}，待上报 {queued} 条")
        self.db.replica_id = node_id
        return EnrolResult(township_id, enrolment.township_name, enrolment.county_name, node_id,
                           keys.public().fingerprint, queued, reenrolled)

    def _adopt_township(self, session: Session, enrolment: Any) -> str:
        """The township id this PC's data lives under: its own when it already has data (the county binds
        to it on the first upload), else the county's (a new PC of an enrolled township)."""
        township = session.scalars(select(Township).where(Township.deleted.is_(False))).first()
        if township is None:
            with capture_paused(session):
                # version 0: whatever another PC of this township already sent is newer and replaces it
                session.add(Township(id=enrolment.township_id, partition=f"twp:{enrolment.township_id}",
                                     name=enrolment.township_name, code=enrolment.township_code,
                                     county_name=enrolment.county_name, version=0, hlc=""))
                session.flush()
            return enrolment.township_id
        if enrolment.township_bound and township.id != enrolment.township_id:
            raise XiangAnError(
                f"本机已有乡镇「{township.name}」的数据，与登记文件中的乡镇「{enrolment.township_name}」不是同一份数据，"
                "不能登记。请在没有数据的电脑上登记，或向县应急管理局核实。")
        return township.id

    # -- export ------------------------------------------------------------------------------------
    def _pending(self, session: Session, acked: int) -> dict[str, dict[str, int]]:
        """table → row id → newest outbox sequence, for entries the county has not acknowledged."""
        pending: dict[str, dict[str, int]] = {}
        rows = session.execute(
            select(SyncOutbox.table_name, SyncOutbox.row_id, func.max(SyncOutbox.seq))
            .where(SyncOutbox.seq > acked).group_by(SyncOutbox.table_name, SyncOutbox.row_id))
        for table, row_id, seq in rows:
            pending.setdefault(table, {})[row_id] = seq
        return pending

    def _records(self, session: Session, pending: dict[str, dict[str, int]], partition: str) -> Iterator[dict[str, Any]]:
        """The current state of every pending row of our partition, parents before children."""
        tables = tables_by_name()
        order = table_order()
        for name in sorted(pending, key=lambda t: order.get(t, len(order))):
            table = tables.get(name)
            if table is None:
                continue
            ids = sorted(pending[name], key=pending[name].__getitem__)
            for chunk in chunks(ids, PART_ROWS):
                query = select(table).where(table.c.id.in_(chunk), table.c.partition == partition)
                for row in session.execute(query).mappings():
                    yield to_record(table, row)

    def _attachments_to_send(self, session: Session, pending: dict[str, dict[str, int]]) -> list[tuple[str, Path]]:
        ids = list(pending.get(Attachment.__tablename__, {}))
        held = set(session.scalars(select(SyncAttachmentHeld.sha256)))
        wanted: dict[str, Path] = {}
        for chunk in chunks(ids, PART_ROWS):
            for sha in session.scalars(select(Attachment.sha256).where(Attachment.id.in_(chunk))):
                if sha not in held and self.store.has(sha):
                    wanted[sha] = self.store.path_of(sha)
        return sorted(wanted.items())

    def export_bundle(self, out_dir: Path, progress: Progress | None = None,
                      cancelled: Cancelled | None = None) -> ExportResult:
        """Write one bundle with everything the county has not acknowledged (records and files)."""
        out_dir = Path(out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise XiangAnError(f"「{out_dir}」是一个文件，请指定导出的文件夹（如U盘）。")
        with self.db.session(audit=False) as session:
            identity = self._identity(session)
            county = self._county(session, identity)
            keys = KeyPair.from_json(identity.keys)
            acked = get_cursor(session, identity.county_id, UPSTREAM)
            issued = _issued(session)
            pending = self._pending(session, acked)
            records = sum(len(ids) for ids in pending.values())
            seq_from, seq_to = (acked + 1, issued) if pending else (0, 0)
            attachments = self._attachments_to_send(session, pending)
            # The enrolment proof rides along every time (a few hundred bytes): a county restored from a
            # backup taken before it pinned our keys can still accept us.
            meta: dict[str, Any] = {"issued": issued, "hlc": CLOCK.stamp(identity.node_id),
                                    "township_code": identity.township_code,
                                    "enrol": enrol_meta(identity.enrolment_id, identity.enrolment_code, keys.public(),
                                                        identity.township_id, list(identity.retired))}
            draft = EnvelopeDraft(kind="data", township=identity.township_id, seq_from=seq_from, seq_to=seq_to,
                                  ack={"upstream": acked,
                                       "downstream": get_cursor(session, identity.county_id, DOWNSTREAM)},
                                  meta=meta, bundle_id=str(uuid.uuid4()))
            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / bundle_file_name(identity.township_code, seq_from, seq_to, local(utcnow()).date())
            parts = batches(self._records(session, pending, self._partition(identity)), PART_ROWS)
            envelope = write_bundle(path, draft, parts, attachments, keys, county, progress, cancelled,
                                    total_rows=records)
        checkpoints.crash_point("township.exported")
        with self.db.session(audit=False) as session:
            session.add(SyncLedger(
                bundle_id=envelope.bundle_id, direction="out", kind="data", peer=envelope.recipient,
                file_name=path.name, seq_from=seq_from, seq_to=seq_to, ack=dict(envelope.ack),
                summary={"records": envelope.rows, "attachments": len(envelope.attachments),
                         "by_table": {table: len(ids) for table, ids in pending.items()}, "via": self._via(path)}))
            record_event(session, "system", f"同步：导出 {envelope.rows} 条记录、{len(envelope.attachments)} 个附件到 {path.name}")
        checkpoints.crash_point("township.export_logged")
        return ExportResult(path, envelope.rows, len(envelope.attachments), seq_from, seq_to, envelope.bundle_id)

    # -- import ------------------------------------------------------------------------------------
    def import_return(self, path: Path, progress: Progress | None = None,
                      cancelled: Cancelled | None = None) -> ImportResult:
        """Apply a return file from the county: acknowledgement, then county data and other PCs' rows."""
        path = Path(path)
        if not path.is_file():
            raise XiangAnError(f"文件「{path.name}」不存在，可能已被移动或删除")
        with self.db.session(audit=False) as session:
            identity = self._identity(session)
            county = self._county(session, identity)
            keys = KeyPair.from_json(identity.keys)
            snapshot = {"county": identity.county_id, "township": identity.township_id,
                        "retired": frozenset(identity.retired), "allowed": self._allowed(identity)}
        with open_bundle(path, keys, lambda node: county if node == county.node_id else None) as bundle:
            envelope = bundle.envelope
            if envelope.kind != "return":
                raise SyncError("damaged", message="这不是县里的回执文件，不能在乡镇导入。回执文件由县级导入乡镇上报文件后生成。")
            if envelope.township != snapshot["township"]:
                raise SyncError("wrong_township")
            replay = self._replayed(envelope.bundle_id)
            if replay is not None:
                return replay
            upstream = self._check_ack(envelope.ack)
            stats = self._apply(bundle, snapshot, progress, cancelled)
            return self._finish(envelope, path, upstream, stats)

    def _replayed(self, bundle_id: str) -> ImportResult | None:
        with self.db.session(audit=False) as session:
            entry = session.get(SyncLedger, bundle_id)
            if entry is None:
                return None
            return ImportResult(int(entry.ack.get("upstream", 0)), {}, 0,
                                ["该回执文件已经导入过，数据没有变化。"], replay=True)

    def _check_ack(self, ack: dict[str, Any]) -> int:
        upstream = ack.get("upstream", 0)
        if not isinstance(upstream, int) or upstream < 0:
            raise SyncError("damaged", "回执中的确认序号无效")
        with self.db.session(audit=False) as session:
            if upstream > _issued(session):
                # the county confirmed numbers this database never issued: it went back in time
                raise SyncError("fork", message=(
                    f"县里已确认到第 {upstream} 号，但本机数据库只记录到第 {_issued(session)} 号：本机数据库可能是从旧备份"
                    "恢复的。为避免覆盖数据，本次未导入。请向县应急管理局申请新的登记文件后重新登记本机"
                    "（xiangan enrol 登记文件），本机数据不会丢失。"))
        return upstream

    def _apply(self, bundle: Any, snapshot: dict[str, Any], progress: Progress | None,
               cancelled: Cancelled | None) -> Any:
        self.store.root.mkdir(parents=True, exist_ok=True)
        return apply_bundle(bundle, lambda: self.db.session(audit=False), self.store, side="township",
                            allowed=snapshot["allowed"], retired=snapshot["retired"], adopt_base=True,
                            log_changes=False, progress=progress, cancelled=cancelled)

    def _finish(self, envelope: Any, path: Path, upstream: int, stats: Any) -> ImportResult:
        messages: list[str] = []
        with self.db.session(audit=False) as session:
            identity = self._identity(session)
            county = identity.county_id
            acked = get_cursor(session, county, UPSTREAM)
            if envelope.meta.get("resend"):
                # the county lost what it had acknowledged (restored from backup): send everything again
                acked = upstream
                set_cursor(session, county, UPSTREAM, upstream)
                enqueue_partition(session, self._partition(identity))
                messages.append("县级数据曾恢复到较早的状态，本乡镇的全部数据将在下次导出时重新上报。")
            elif upstream > acked:
                acked = upstream
                set_cursor(session, county, UPSTREAM, upstream)
                session.execute(delete(SyncOutbox).where(SyncOutbox.seq <= upstream))
            elif upstream < acked:
                messages.append("这是一个较旧的回执文件，其中的确认信息已过时，已忽略；其中较新的数据仍已导入。")
            downstream = get_cursor(session, county, DOWNSTREAM)
            if envelope.seq_to and envelope.seq_from <= downstream + 1 and not stats.skipped:
                set_cursor(session, county, DOWNSTREAM, max(downstream, envelope.seq_to))
            held = set(session.scalars(select(SyncAttachmentHeld.sha256)))
            for sha in envelope.meta.get("attachments_held", []):
                if isinstance(sha, str) and len(sha) == 64 and sha not in held:
                    session.add(SyncAttachmentHeld(sha256=sha))
                    held.add(sha)
            summary = {"acknowledged_to": acked, "received": stats.by_table, "applied": stats.applied,
                       "unchanged": stats.unchanged, "conflicts": stats.conflicts, "via": self._via(path)}
            session.add(SyncLedger(bundle_id=envelope.bundle_id, direction="in", kind="return", peer=county,
                                   file_name=path.name, seq_from=envelope.seq_from, seq_to=envelope.seq_to,
                                   ack=dict(envelope.ack), summary=summary))
            clear_parts(session, envelope.bundle_id)
            record_event(session, "system", f"同步：导入回执 {path.name}，县里已确认到第 {acked} 号，收到 {stats.applied} 条")
        checkpoints.crash_point("township.committed")
        if stats.conflicts:
            messages.append(f"有 {stats.conflicts} 条记录在本乡镇的两台电脑上被同时修改，已按规则保留一个版本，"
                            "另一个版本已保存，可在「同步 → 冲突」中查看。")
        return ImportResult(acked, labelled(stats.by_table), stats.conflicts, messages)

    # -- reading -----------------------------------------------------------------------------------
    def status(self) -> SyncStatus:
        with self.db.session(audit=False) as session:
            identity = session.get(SyncIdentity, 1)
            if identity is None or identity.role != ROLE_TOWNSHIP:
                return SyncStatus(enrolled=False)
            county = identity.county_id
            acked = get_cursor(session, county, UPSTREAM)
            pending = self._pending(session, acked)
            last_out = self._last(session, "out")
            last_in = self._last(session, "in")
            ack_row = session.get(SyncCursor, (county, UPSTREAM))
            return SyncStatus(
                enrolled=True, township_id=identity.township_id, township_name=identity.township_name,
                county_name=identity.county_name, node_id=identity.node_id,
                pending_records=sum(len(ids) for ids in pending.values()),
                pending_attachments=len(self._attachments_to_send(session, pending)),
                last_export=self._entry(last_out) if last_out else None,
                last_export_seq=(last_out.seq_from, last_out.seq_to) if last_out else (0, 0),
                acknowledged_to=acked, last_ack_at=ack_row.updated_at if ack_row else None,
                downstream_seq=get_cursor(session, county, DOWNSTREAM),
                last_import=self._entry(last_in) if last_in else None,
                open_conflicts=session.scalar(select(func.count(SyncConflict.id)).where(
                    SyncConflict.resolved.is_(False))) or 0,
                **self._network_status(session))

    # -- network sync bookkeeping (app/sync/http_client.py) -----------------------------------------
    @staticmethod
    def _network_status(session: Session) -> dict[str, Any]:
        last = get_setting(session, LAST_ROUND_KEY, None) or {}
        at = last.get("at") if isinstance(last, dict) else None
        return {"server_url": str(get_setting(session, SERVER_URL_KEY, "") or ""),
                "last_sync_at": datetime.fromisoformat(at) if isinstance(at, str) and at else None,
                "last_sync_error": str(last.get("error", "")) if isinstance(last, dict) else "",
                "last_sync_code": str(last.get("code", "")) if isinstance(last, dict) else ""}

    def enrolled(self) -> bool:
        """Whether this PC is an enrolled township PC: one key lookup, cheap enough for the UI thread
        (``status()`` counts the pending records)."""
        with self.db.session(audit=False) as session:
            identity = session.get(SyncIdentity, 1)
            return identity is not None and identity.role == ROLE_TOWNSHIP

    def server_url(self) -> str:
        """The county server address: from the enrolment file or set by hand; "" if none is known."""
        with self.db.session(audit=False) as session:
            return str(get_setting(session, SERVER_URL_KEY, "") or "")

    def set_server_url(self, url: str) -> str:
        """Remember the county server address (checked; ValidationError names the field); the stored form."""
        url = check_server_url(url)
        with self.db.session(audit=False) as session:
            set_setting(session, SERVER_URL_KEY, url)
            record_event(session, "system", f"同步：县级平台地址设为 {url}")
        return url

    def note_network_round(self, error: XiangAnError | None = None) -> None:
        """Record how the last network round ended, for the status bar: success time, or the failure."""
        with self.db.session(audit=False) as session:
            last = get_setting(session, LAST_ROUND_KEY, None)
            last = dict(last) if isinstance(last, dict) else {}
            if error is None:
                last.update(at=utcnow().isoformat(), error="", code="")
            else:
                last.update(error=str(error), code=getattr(error, "code", ""))
            set_setting(session, LAST_ROUND_KEY, last)

    def credentials(self) -> tuple[KeyPair, dict[str, Any]]:
        """This PC's keys and the enrol meta (what signs a network request, and the proof of enrolment
        a request carries until the county activated this PC)."""
        with self.db.session(audit=False) as session:
            identity = self._identity(session)
            keys = KeyPair.from_json(identity.keys)
            return keys, enrol_meta(identity.enrolment_id, identity.enrolment_code, keys.public(),
                                    identity.township_id, list(identity.retired))

    @staticmethod
    def _last(session: Session, direction: str) -> SyncLedger | None:
        return session.scalars(select(SyncLedger).where(SyncLedger.direction == direction)
                               .order_by(SyncLedger.at.desc()).limit(1)).first()

    @staticmethod
    def _entry(entry: SyncLedger) -> HistoryEntry:
        s = entry.summary
        if entry.direction == "out":
            text_ = f"上报 {s.get('records', 0)} 条记录、{s.get('attachments', 0)} 个附件"
            return HistoryEntry(entry.at, "上报", entry.file_name, text_, s.get("via", "U盘"))
        received = describe_counts(s.get("received", {}))
        text_ = f"县里已确认到第 {s.get('acknowledged_to', 0)} 号；" + (f"收到 {received}" if received else "没有新的下发内容")
        if s.get("conflicts"):
            text_ += f"；{s['conflicts']} 条修改冲突已保留"
        return HistoryEntry(entry.at, "下发", entry.file_name, text_, s.get("via", "U盘"))

    def _via(self, path: Path) -> str:
        return "联网" if path.resolve().parent == (self.data_dir / NETWORK_DIR).resolve() else "U盘"

    def history(self, limit: int = 50) -> list[HistoryEntry]:
        with self.db.session(audit=False) as session:
            rows = session.scalars(select(SyncLedger).order_by(SyncLedger.at.desc()).limit(limit)).all()
            return [self._entry(row) for row in rows]

    def conflicts(self) -> list[ConflictRow]:
        labels = table_labels()
        with self.db.session(audit=False) as session:
            rows = session.scalars(select(SyncConflict).order_by(SyncConflict.detected_at.desc())).all()
            return [ConflictRow(r.id, r.table_name, labels.get(r.table_name, r.table_name), r.row_id, r.reason,
                                r.detected_at, _summary_of(r.loser), dict(r.loser), r.loser_version,
                                r.winner_version, r.resolved) for r in rows]
