"""County side of sync: enrol townships, import their bundles (verify, apply once, answer with a return
file), send county data down, and report per township what arrived.

The county database uses the same models as the township app: SQLite under ``--data-dir`` by default,
any SQLAlchemy URL with ``--db``. It has no capture triggers: everything it stores (its own documents and
orders, and the townships' rows) is appended to ``sync_change``, the downstream sequence, explicitly.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from app.errors import StorageError, ValidationError, XiangAnError
from app.localtime import local
from app.models.attachments import Attachment
from app.models.base import SyncedMixin, new_id, utcnow
from app.models.config_data import COUNTY_PARTITION, ConfigDocument, load_document_file, parse_sectors
from app.models.hazards import Hazard
from app.models.settings import get_setting, set_setting
from app.models.sync_state import (
    DOWNSTREAM,
    ROLE_COUNTY,
    ROLE_TOWNSHIP,
    UPSTREAM,
    SupervisionOrder,
    SyncChange,
    SyncConflict,
    SyncIdentity,
    SyncLedger,
    SyncPeer,
    SyncTownship,
)
from app.storage import migrate
from app.storage.attachments import AttachmentStore
from app.storage.database import Database, storage_message
from app.sync import checkpoints
from app.sync.apply import ApplyStats, lock_change_log
from app.sync.bundle import (
    Envelope,
    EnvelopeDraft,
    bundle_file_name,
    open_bundle,
    peek_envelope,
    write_bundle,
)
from app.sync.capture import synced_classes, table_order
from app.sync.enrolment import Enrolment, check_enrol_meta, check_server_url, new_code, write_enrolment
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
    get_cursor,
    labelled,
    set_cursor,
)

DB_FILE_NAME = "xiangan-county.sqlite3"
PART_ROWS = 500
CODE_PATTERN = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
DOCUMENT_KINDS = {"sectors": "sector_codes", "template": "letter_templates"}
RESERVED_STANDARD_KINDS = set(DOCUMENT_KINDS.values())
SERVER_URL_KEY = "county_server_url"


@dataclass(frozen=True)
class CountyImportResult:
    township: str
    township_name: str
    applied: int
    unchanged: int
    conflicts: int
    acknowledged_to: int
    return_path: Path
    messages: list[str] = field(default_factory=list)
    replay: bool = False


@dataclass(frozen=True)
class PcStatus:
    node_id: str
    status: str
    enrolled_at: datetime | None
    acknowledged_to: int
    downstream_acknowledged: int
    last_seen_at: datetime | None = None


@dataclass(frozen=True)
class TownshipStatus:
    township_id: str
    code: str
    name: str
    bound: bool
    pcs: list[PcStatus]
    last_bundle_at: datetime | None
    last_bundle_file: str
    records: dict[str, int]
    conflicts: int

    @property
    def acknowledged_to(self) -> int:
        return max((pc.acknowledged_to for pc in self.pcs), default=0)

    @property
    def last_contact_at(self) -> datetime | None:
        """The newest of: a bundle applied (USB or network), a PC reaching the server."""
        times = [t for t in (self.last_bundle_at, *(pc.last_seen_at for pc in self.pcs)) if t is not None]
        return max(times, default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "township_id": self.township_id, "code": self.code, "name": self.name, "bound": self.bound,
            "last_bundle_at": self.last_bundle_at.isoformat() if self.last_bundle_at else None,
            "last_bundle_file": self.last_bundle_file, "records": self.records, "conflicts": self.conflicts,
            "acknowledged_to": self.acknowledged_to,
            "last_contact_at": self.last_contact_at.isoformat() if self.last_contact_at else None,
            "pcs": [{"node_id": pc.node_id, "status": pc.status,
                     "enrolled_at": pc.enrolled_at.isoformat() if pc.enrolled_at else None,
                     "acknowledged_to": pc.acknowledged_to, "downstream_acknowledged": pc.downstream_acknowledged,
                     "last_seen_at": pc.last_seen_at.isoformat() if pc.last_seen_at else None}
                    for pc in self.pcs],
        }


def _upgrade_url(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _open_db(data_dir: Path | None, db_url: str | None) -> Database:
    if db_url:
        try:
            db = Database.from_url(db_url)
            _upgrade_url(db.engine)
        except (OperationalError, DBAPIError) as exc:
            raise StorageError(storage_message(exc)) from exc
        except Exception as exc:  # a malformed URL or a missing driver
            raise XiangAnError(f"无法打开县级数据库「{db_url}」：{exc}") from exc
        return db
    if data_dir is None:
        raise XiangAnError("请用 --data-dir 指定县级数据文件夹，或用 --db 指定数据库地址。")
    from app.storage.startup import ensure_writable

    ensure_writable(data_dir)
    path = data_dir / DB_FILE_NAME
    if migrate.current_revision(path) != migrate.head_revision():
        migrate.upgrade(path)
    return Database(path)


def _bad(field_name: str, label: str, problem: str) -> ValidationError:
    return ValidationError.single(field_name, label, problem)


class CountyStore:
    """The county's sync database and attachment store."""

    def __init__(self, db: Database, data_dir: Path, identity: SyncIdentity) -> None:
        self.db = db
        self.data_dir = data_dir
        self.node_id = identity.node_id
        self.name = identity.county_name
        self.keys = KeyPair.from_json(identity.keys)
        self.db.replica_id = identity.node_id
        self.store = AttachmentStore(data_dir / "attachments")

    # -- opening -----------------------------------------------------------------------------------
    @classmethod
    def init(cls, data_dir: Path | None = None, db_url: str | None = None, name: str = "县应急管理局",
             server_url: str = "") -> CountyStore:
        """Create the county data store and its keys (once); ``server_url`` goes into enrolment files."""
        if not name.strip():
            raise _bad("name", "县级单位名称", "不能为空")
        server_url = check_server_url(server_url) if server_url.strip() else ""
        db = _open_db(data_dir, db_url)
        with db.session(audit=False) as session:
            if session.get(SyncIdentity, 1) is not None:
                raise XiangAnError("该数据文件夹（数据库）已经初始化过，不能重复初始化。")
            node_id = new_id()
            identity = SyncIdentity(id=1, role=ROLE_COUNTY, node_id=node_id,
                                    keys=KeyPair.generate(node_id).to_json(), county_id=node_id,
                                    county_name=name.strip())
            session.add(identity)
            if server_url:
                set_setting(session, SERVER_URL_KEY, server_url)
        return cls(db, cls._files_dir(data_dir, db_url), identity)

    @classmethod
    def open(cls, data_dir: Path | None = None, db_url: str | None = None) -> CountyStore:
        if data_dir is not None and not db_url and not (data_dir / DB_FILE_NAME).exists():
            raise XiangAnError(f"数据文件夹 {data_dir} 中没有县级数据，请先运行「xiangan-county init --data-dir {data_dir}」。")
        db = _open_db(data_dir, db_url)
        with db.session(audit=False) as session:
            identity = session.get(SyncIdentity, 1)
            if identity is None or identity.role != ROLE_COUNTY:
                raise XiangAnError("该数据库不是县级数据库，或尚未初始化（xiangan-county init）。")
        return cls(db, cls._files_dir(data_dir, db_url), identity)

    @staticmethod
    def _files_dir(data_dir: Path | None, db_url: str | None) -> Path:
        if data_dir is None:
            raise XiangAnError("请用 --data-dir 指定存放附件的县级数据文件夹。")
        return data_dir

    def close(self) -> None:
        self.db.dispose()

    @property
    def public_keys(self) -> PublicKeys:
        return self.keys.public()

    # -- enrolment ---------------------------------------------------------------------------------
    @property
    def server_url(self) -> str:
        """The address enrolment files carry by default (``init --server``); "" for a USB-only county."""
        with self.db.session(audit=False) as session:
            return str(get_setting(session, SERVER_URL_KEY, "") or "")

    def add_township(self, code: str, name: str, out: Path, server_url: str | None = None) -> Path:
        """Write an enrolment file for one PC of township ``code`` (creating the township the first time).
        ``server_url`` (default: the one given at ``init``) tells the PC where to sync over the network."""
        code, name = code.strip(), name.strip()
        if not CODE_PATTERN.match(code):
            raise _bad("code", "乡镇代码", "应为1到32位字母、数字、下划线或横线")
        if not name:
            raise _bad("name", "乡镇名称", "不能为空")
        server_url = check_server_url(server_url) if server_url and server_url.strip() else self.server_url
        with self.db.session(audit=False) as session:
            township = session.scalars(select(SyncTownship).where(SyncTownship.code == code)).first()
            if township is None:
                township = SyncTownship(township_id=new_id(), code=code, name=name, bound=False)
                session.add(township)
            elif township.name != name:
                raise _bad("name", "乡镇名称", f"代码 {code} 已登记为「{township.name}」，与「{name}」不一致")
            slot = SyncPeer(id=new_id(), role=ROLE_TOWNSHIP, node_id=None, township_id=township.township_id,
                            enrol_code=new_code(), status="pending")
            session.add(slot)
            enrolment = Enrolment(self.name, self.public_keys, township.township_id, code, township.name,
                                  township.bound, slot.id, slot.enrol_code, server_url)
        out = Path(out)
        if out.is_dir():
            out = out / f"{code}-登记.xae"
        return write_enrolment(out, enrolment, self.keys)

    # -- import ------------------------------------------------------------------------------------
    def _known(self, path: Path) -> Callable[[str], PublicKeys | None]:
        def known(node_id: str) -> PublicKeys | None:
            try:
                return self.peer_keys(node_id, peek_envelope(path).meta.get("enrol"))
            except SyncError as exc:
                if exc.code == "revoked":
                    raise SyncError("unknown_sender", message=(
                        "该文件来自一台已重新登记的乡镇电脑的旧身份，已拒绝导入。请在该电脑上重新导出后再导入。")) from None
                if exc.code == "unknown_sender":
                    return None
                raise

        return known

    def peer_keys(self, node_id: str, enrol: Any = None) -> PublicKeys:
        """The public keys a bundle or request from ``node_id`` must be signed with: an active PC's pinned
        keys, or — until its first bundle is applied — the keys its enrol meta proves for a pending slot.
        ``revoked`` for a PC replaced by a re-enrolment, ``unknown_sender`` for anyone else."""
        with self.db.session(audit=False) as session:
            peer = session.scalars(select(SyncPeer).where(SyncPeer.node_id == node_id)).first()
            if peer is not None and peer.status == "replaced":
                raise SyncError("revoked")
            if peer is not None and peer.status == "active":
                return PublicKeys.from_json(peer.public_keys)
            slot = self._slot(session, enrol) if peer is None else None
            keys = check_enrol_meta(enrol, slot.enrol_code, node_id) if slot is not None else None
        if keys is None:
            raise SyncError("unknown_sender", f"电脑「{node_id}」")
        return keys

    def seen(self, node_id: str) -> None:
        """Note that an enrolled PC reached the server (the server calls this at most once a minute per PC)."""
        with self.db.session(audit=False) as session:
            session.execute(update(SyncPeer).where(SyncPeer.node_id == node_id).values(last_seen_at=utcnow()))

    @staticmethod
    def _slot(session: Session, enrol: Any) -> SyncPeer | None:
        if not isinstance(enrol, dict) or not isinstance(enrol.get("enrolment_id"), str):
            return None
        slot = session.get(SyncPeer, enrol["enrolment_id"])
        return slot if slot is not None and slot.status == "pending" else None

    def import_bundle(self, path: Path, return_dir: Path, progress: Progress | None = None,
                      cancelled: Cancelled | None = None) -> CountyImportResult:
        """Verify, apply once, and write the return file into ``return_dir``."""
        path, return_dir = Path(path), Path(return_dir)
        if not path.is_file():
            raise XiangAnError(f"文件「{path.name}」不存在，可能已被移动或删除")
        if return_dir.exists() and not return_dir.is_dir():
            raise XiangAnError(f"「{return_dir}」是一个文件，请指定存放回执文件的文件夹。")
        with open_bundle(path, self.keys, self._known(path)) as bundle:
            envelope = bundle.envelope
            if envelope.kind != "data":
                raise SyncError("damaged", message="这不是乡镇上报的同步文件，县级只能导入乡镇导出的文件。")
            sender = self._sender(envelope)
            township = sender["township"]
            with self.db.session(audit=False) as session:
                stored = session.get(SyncLedger, envelope.bundle_id)
                stored_ack = dict(stored.ack) if stored is not None else None
            if stored_ack is not None:
                return_path = self._write_return(sender, envelope, return_dir, resend=False)
                return CountyImportResult(township, sender["name"], 0, envelope.rows, 0,
                                          int(stored_ack.get("upstream", 0)), return_path,
                                          ["该文件已经导入过，数据没有变化；已重新生成回执文件。"], replay=True)
            self._check_fork(sender, envelope)
            stats = apply_bundle(bundle, lambda: self.db.session(audit=False), self.store, side="county",
                                 allowed=lambda p: p == f"twp:{township}", retired=sender["retired"],
                                 adopt_base=False, log_changes=True, progress=progress, cancelled=cancelled)
            acked, resend = self._commit(sender, envelope, path, stats)
            checkpoints.crash_point("county.committed")
            return_path = self._write_return(sender, envelope, return_dir, resend=resend)
            checkpoints.crash_point("county.return_written")
        messages = []
        if resend:
            messages.append("县级数据缺少该乡镇之前上报的部分内容（可能从备份恢复过），回执已要求乡镇重新上报全部数据。")
        if stats.conflicts:
            messages.append(f"有 {stats.conflicts} 条记录在该乡镇的两台电脑上被同时修改，已按规则保留一个版本，另一个版本已保存。")
        return CountyImportResult(township, sender["name"], stats.applied, stats.unchanged, stats.conflicts, acked,
                                  return_path, messages)

    def _sender(self, envelope: Envelope) -> dict[str, Any]:
        """Who sent the bundle, for which township, and which of its replicas are retired."""
        with self.db.session(audit=False) as session:
            peer = session.scalars(select(SyncPeer).where(SyncPeer.node_id == envelope.sender)).first()
            enrol = envelope.meta.get("enrol") if peer is None else None
            if peer is None:
                peer = self._slot(session, enrol)
                if peer is None:
                    raise SyncError("unknown_sender", f"发送方「{envelope.sender}」")
            township = session.get(SyncTownship, peer.township_id)
            if township is None:
                raise SyncError("unknown_sender", "登记记录缺少乡镇")
            township_id = township.township_id
            if not township.bound and enrol is not None and envelope.township == str(enrol.get("township_id")):
                township_id = envelope.township  # the first PC of a township that already had data
            if envelope.township != township_id:
                raise SyncError("wrong_township", message=(
                    f"该文件属于另一个乡镇的数据，与登记的乡镇「{township.name}」不符，已拒绝导入。"
                    if township.bound or enrol is None else
                    f"该电脑的乡镇数据与「{township.name}」已登记的数据不是同一份，已拒绝导入。请向乡镇核实。"))
            retired = set(session.scalars(select(SyncPeer.node_id).where(
                SyncPeer.township_id == township.township_id, SyncPeer.status == "replaced")))
            claimed = [n for n in (enrol or {}).get("retired", []) if isinstance(n, str)]
            own = set(session.scalars(select(SyncPeer.node_id).where(SyncPeer.township_id == township.township_id)))
            retired |= {n for n in claimed if n in own}
            return {"peer_id": peer.id, "node": envelope.sender, "township": township_id,
                    "registered": township.township_id, "code": township.code, "name": township.name,
                    "retired": frozenset(n for n in retired if n), "claimed": [n for n in claimed if n in own],
                    "issued_seq": peer.issued_seq, "issued_hlc": peer.issued_hlc, "pending": peer.status == "pending"}

    @staticmethod
    def _check_fork(sender: dict[str, Any], envelope: Envelope) -> None:
        """A later bundle (by the PC's monotonic clock) that knows fewer sequence numbers than an earlier
        one: the PC's database went back in time (restored from an old backup)."""
        issued, hlc = envelope.meta.get("issued", 0), str(envelope.meta.get("hlc", ""))
        if not isinstance(issued, int):
            raise SyncError("damaged", "清单中的序号无效")
        if sender["issued_hlc"] and hlc > sender["issued_hlc"] and issued < sender["issued_seq"]:
            raise SyncError("fork", message=(
                f"乡镇「{sender['name']}」这台电脑的数据库可能是从旧备份恢复的（同步序号从 {sender['issued_seq']} 退回到 "
                f"{issued}）。为避免覆盖数据，本次未导入，县级数据没有变化。请为该乡镇再生成一个登记文件"
                f"（xiangan-county township add --code {sender['code']} …），在该电脑上重新登记后再导出，数据不会丢失。"))

    def _commit(self, sender: dict[str, Any], envelope: Envelope, path: Path, stats: ApplyStats) -> tuple[int, bool]:
        """Ledger entry, cursors, pinned keys: one transaction after the last part."""
        node = sender["node"]
        with self.db.session(audit=False) as session:
            if sender["township"] != sender["registered"]:
                self._bind(session, sender["registered"], sender["township"])
            township = session.get(SyncTownship, sender["township"])
            if township is not None:
                township.bound = True
            peer = session.get(SyncPeer, sender["peer_id"])
            if peer.status == "pending":
                peer.node_id, peer.status, peer.enrolled_at = node, "active", utcnow()
                peer.public_keys = PublicKeys.from_dict(envelope.meta["enrol"]["public_keys"]).to_json()
                peer.enrol_code = ""  # one-time
            for old in sender["claimed"]:
                session.execute(update(SyncPeer).where(SyncPeer.node_id == old).values(status="replaced"))
            issued, hlc = envelope.meta.get("issued", 0), str(envelope.meta.get("hlc", ""))
            if hlc > peer.issued_hlc:
                peer.issued_seq, peer.issued_hlc = max(peer.issued_seq, issued), hlc
            acked = get_cursor(session, node, UPSTREAM)
            township_acked = int(envelope.ack.get("upstream", 0) or 0)
            gap = envelope.seq_to > 0 and envelope.seq_from > acked + 1
            resend = township_acked > acked or gap or stats.skipped > 0
            if not resend and envelope.seq_to > acked:
                acked = envelope.seq_to
                set_cursor(session, node, UPSTREAM, acked)
            downstream = envelope.ack.get("downstream", 0)
            if isinstance(downstream, int) and downstream > get_cursor(session, node, DOWNSTREAM):
                set_cursor(session, node, DOWNSTREAM, downstream)
            session.add(SyncLedger(
                bundle_id=envelope.bundle_id, direction="in", kind="data", peer=node, file_name=path.name,
                seq_from=envelope.seq_from, seq_to=envelope.seq_to, ack={"upstream": acked},
                summary={"township": sender["township"], "applied": stats.applied, "unchanged": stats.unchanged,
                         "conflicts": stats.conflicts, "by_table": stats.by_table,
                         "attachments": len(envelope.attachments)}))
            clear_parts(session, envelope.bundle_id)
        return acked, resend

    @staticmethod
    def _bind(session: Session, minted: str, actual: str) -> None:
        """The first PC's own township id replaces the one the county made up when enrolling it."""
        township = session.get(SyncTownship, minted)
        code, name, created_at = township.code, township.name, township.created_at
        session.delete(township)
        session.flush()
        session.add(SyncTownship(township_id=actual, code=code, name=name, bound=True, created_at=created_at))
        session.execute(update(SyncPeer).where(SyncPeer.township_id == minted).values(township_id=actual))

    # -- return file -------------------------------------------------------------------------------
    @staticmethod
    def _partitions(township: str) -> list[str]:
        """What a PC of ``township`` is sent: county data, the county's answers to it, its other PCs' rows."""
        return [COUNTY_PARTITION, f"county:to:{township}", f"twp:{township}"]

    def _downstream(self, session: Session, node: str, township: str) -> tuple[int, int, dict[str, list[str]]]:
        acked = get_cursor(session, node, DOWNSTREAM)
        rows = session.execute(
            select(SyncChange.table_name, SyncChange.row_id, func.max(SyncChange.seq))
            .where(SyncChange.seq > acked, SyncChange.partition.in_(self._partitions(township)))
            .group_by(SyncChange.table_name, SyncChange.row_id)).all()
        ids: dict[str, list[str]] = {}
        for table, row_id, _seq in rows:
            ids.setdefault(table, []).append(row_id)
        top = max((seq for _t, _r, seq in rows), default=0)
        return (acked + 1 if rows else 0), top, ids

    def _return_records(self, session: Session, ids: dict[str, list[str]], node: str) -> Iterator[dict[str, Any]]:
        tables = tables_by_name()
        order = table_order()
        for name in sorted(ids, key=lambda t: order.get(t, len(order))):
            table = tables[name]
            for chunk in chunks(sorted(ids[name]), PART_ROWS):
                query = select(table).where(table.c.id.in_(chunk), table.c.version_replica != node)
                for row in session.execute(query).mappings():
                    yield to_record(table, row)

    def _write_return(self, sender: dict[str, Any], answered: Envelope | None, return_dir: Path, *,
                      resend: bool) -> Path:
        """A return bundle for ``sender["node"]``: the acknowledgement (of ``answered``, the bundle it
        answers, if any) and the county's changes after the PC's downstream cursor."""
        node, township = sender["node"], sender["township"]
        with self.db.session(audit=False) as session:
            peer = session.scalars(select(SyncPeer).where(SyncPeer.node_id == node)).first()
            recipient = PublicKeys.from_json(peer.public_keys)
            seq_from, seq_to, ids = self._downstream(session, node, township)
            total = sum(len(v) for v in ids.values())
            shas: set[str] = set()
            for chunk in chunks(ids.get(Attachment.__tablename__, []), PART_ROWS):
                shas.update(session.scalars(select(Attachment.sha256).where(
                    Attachment.id.in_(chunk), Attachment.version_replica != node)))
            files = [(sha, self.store.path_of(sha)) for sha in sorted(shas) if self.store.has(sha)]
            ack: dict[str, Any] = {"upstream": get_cursor(session, node, UPSTREAM)}
            meta: dict[str, Any] = {"attachments_held": [], "resend": resend}
            if answered is not None:
                ack["bundle"] = meta["answers"] = answered.bundle_id
                meta["attachments_held"] = sorted({a.sha256 for a in answered.attachments if self.store.has(a.sha256)})
            draft = EnvelopeDraft(kind="return", township=township, seq_from=seq_from, seq_to=seq_to, ack=ack,
                                  meta=meta, bundle_id=str(uuid.uuid4()))
            return_dir.mkdir(parents=True, exist_ok=True)
            name = bundle_file_name(f"{sender['code']}-回执", seq_from, seq_to, local(utcnow()).date())
            parts = batches(self._return_records(session, ids, node), PART_ROWS)
            write_bundle(return_dir / name, draft, parts, files, self.keys, recipient, total_rows=total)
        return return_dir / name

    # -- network sync: what the county server asks --------------------------------------------------
    def _downstream_top(self, session: Session, township: str) -> int:
        """The newest downstream sequence for a township's PCs (one index range per partition)."""
        return session.scalar(select(func.max(SyncChange.seq)).where(
            SyncChange.partition.in_(self._partitions(township)))) or 0

    def _active_pc(self, session: Session, node_id: str) -> dict[str, Any] | None:
        """The recipient of downstream returns: an active PC. None for one that is not (yet): a pending
        PC has no pinned keys to encrypt for (callers have authenticated it with ``peer_keys``)."""
        peer = session.scalars(select(SyncPeer).where(SyncPeer.node_id == node_id)).first()
        if peer is not None and peer.status == "replaced":
            raise SyncError("revoked")
        if peer is None or peer.status != "active":
            return None
        township = session.get(SyncTownship, peer.township_id)
        return {"node": node_id, "township": peer.township_id, "code": township.code if township else "",
                "name": township.name if township else ""}

    def node_state(self, node_id: str, enrol: Any = None) -> dict[str, Any]:
        """Where one PC stands, for the server's cheap state call: its township, whether the county has
        activated it (its first bundle applied), the cursors both ways and the newest downstream change."""
        with self.db.session(audit=False) as session:
            peer = session.scalars(select(SyncPeer).where(SyncPeer.node_id == node_id)).first()
            if peer is None:
                slot = self._slot(session, enrol)
                if slot is None:
                    raise SyncError("unknown_sender", f"电脑「{node_id}」")
                return {"township_id": slot.township_id, "node_status": "pending", "upstream_acked": 0,
                        "downstream_acked": 0, "downstream_top": 0}
            pc = self._active_pc(session, node_id)
            township = pc["township"] if pc else peer.township_id
            return {"township_id": township, "node_status": "active" if pc else "pending",
                    "upstream_acked": get_cursor(session, node_id, UPSTREAM),
                    "downstream_acked": get_cursor(session, node_id, DOWNSTREAM),
                    "downstream_top": self._downstream_top(session, township) if pc else 0}

    def write_downstream(self, node_id: str, return_dir: Path, *, force: bool = False) -> Path | None:
        """A return bundle with the county's changes after the PC's downstream cursor, answering no
        upload; None when there is nothing new (or the PC is not active yet) unless ``force``."""
        with self.db.session(audit=False) as session:
            pc = self._active_pc(session, node_id)
            if pc is None:
                return None
            fresh = self._downstream_top(session, pc["township"]) > get_cursor(session, node_id, DOWNSTREAM)
        if not (fresh or force):
            return None
        return self._write_return(pc, None, Path(return_dir), resend=False)

    def acknowledge_downstream(self, node_id: str, seq: int) -> int:
        """The PC applied county changes up to ``seq``: move its downstream cursor (forward only, and
        never past what exists to be sent); the cursor after."""
        with self.db.session(audit=False) as session:
            pc = self._active_pc(session, node_id)
            if pc is None:
                return 0
            current = get_cursor(session, node_id, DOWNSTREAM)
            target = min(int(seq), self._downstream_top(session, pc["township"]))
            if target > current:
                set_cursor(session, node_id, DOWNSTREAM, target)
                current = target
            return current

    def bundle_ack(self, node_id: str, bundle_id: str) -> dict[str, Any] | None:
        """The stored acknowledgement of a bundle ``node_id`` sent, if the county applied it."""
        with self.db.session(audit=False) as session:
            entry = session.get(SyncLedger, bundle_id)
            if entry is None or entry.direction != "in" or entry.peer != node_id:
                return None
            return dict(entry.ack)

    # -- county data -------------------------------------------------------------------------------
    def _record_change(self, session: Session, row: SyncedMixin) -> None:
        session.flush()
        lock_change_log(session)
        session.add(SyncChange(table_name=type(row).__tablename__, row_id=row.id, partition=row.partition))

    def send_document(self, kind: str, file: Path) -> ConfigDocument:
        """Send a standard, a sector-code list or a template (a JSON document file) to every township."""
        file = Path(file)
        if kind not in ("standard", *DOCUMENT_KINDS):
            raise _bad("kind", "下发类型", f"「{kind}」无效，可选：standard、sectors、template")
        try:
            raw = load_document_file(file, DOCUMENT_KINDS[kind]) if kind in DOCUMENT_KINDS else self._standard(file)
            if kind == "sectors":
                parse_sectors(raw)
        except ValueError as exc:
            raise _bad("file", "文件", str(exc)) from None
        content = {k: v for k, v in raw.items() if k not in ("kind", "version", "issuer", "title")}
        with self.db.session("county") as session:
            document = ConfigDocument(partition=COUNTY_PARTITION, kind=str(raw["kind"]), doc_version=str(raw["version"]),
                                      issuer=self.name, title=str(raw.get("title", "")), content=content)
            session.add(document)
            self._record_change(session, document)
        return document

    @staticmethod
    def _standard(file: Path) -> dict[str, Any]:
        import json

        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"文件「{file.name}」不存在") from None
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"文件「{file.name}」格式错误：{exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str) or not data["kind"].strip():
            raise ValueError(f"文件「{file.name}」缺少 kind")
        if data["kind"] in RESERVED_STANDARD_KINDS:
            raise ValueError(f"文件「{file.name}」是{data['kind']}，请用对应的下发类型")
        if not str(data.get("version", "")).strip():
            raise ValueError(f"文件「{file.name}」缺少 version")
        return data

    def send_supervision(self, township_code: str, hazard_number: str, title: str, content: str = "",
                         deadline: date | None = None, issued_by: str = "county") -> SupervisionOrder:
        """督办: an order to the township about one of its hazards (the hazard must have arrived).
        ``issued_by`` is who the audit log names: the staff member on the web pages."""
        if not title.strip():
            raise _bad("title", "督办标题", "不能为空")
        with self.db.session(issued_by) as session:
            township = session.scalars(select(SyncTownship).where(SyncTownship.code == township_code)).first()
            if township is None:
                raise _bad("township", "乡镇代码", f"「{township_code}」没有登记")
            hazard = session.scalars(select(Hazard).where(
                Hazard.partition == f"twp:{township.township_id}", Hazard.number == hazard_number,
                Hazard.deleted.is_(False))).first()
            if hazard is None:
                raise _bad("hazard", "隐患编号", f"「{township.name}」上报的数据中没有隐患「{hazard_number}」")
            order = SupervisionOrder(
                partition=f"county:to:{township.township_id}", township_id=township.township_id,
                hazard_id=hazard.id, hazard_number=hazard.number, title=title.strip(), content=content.strip(),
                deadline=deadline, issued_by=self.name, issued_on=local(utcnow()).date())
            session.add(order)
            self._record_change(session, order)
        return order

    # -- status ------------------------------------------------------------------------------------
    def status(self) -> list[TownshipStatus]:
        with self.db.session(audit=False) as session:
            townships = session.scalars(select(SyncTownship).order_by(SyncTownship.code)).all()
            return [self._township_status(session, t) for t in townships]

    def _township_status(self, session: Session, township: SyncTownship) -> TownshipStatus:
        partition = f"twp:{township.township_id}"
        peers = session.scalars(select(SyncPeer).where(SyncPeer.township_id == township.township_id)
                                .order_by(SyncPeer.created_at)).all()
        pcs = [PcStatus(p.node_id or "", p.status, p.enrolled_at,
                        get_cursor(session, p.node_id, UPSTREAM) if p.node_id else 0,
                        get_cursor(session, p.node_id, DOWNSTREAM) if p.node_id else 0, p.last_seen_at)
               for p in peers]
        nodes = [p.node_id for p in peers if p.node_id]
        last = session.scalars(select(SyncLedger).where(SyncLedger.direction == "in", SyncLedger.peer.in_(nodes))
                               .order_by(SyncLedger.at.desc()).limit(1)).first() if nodes else None
        records: dict[str, int] = {}
        for cls in synced_classes():
            count = session.scalar(select(func.count()).select_from(cls).where(
                cls.partition == partition, cls.deleted.is_(False)))
            if count:
                records[cls.__tablename__] = count
        conflicts = session.scalar(select(func.count(SyncConflict.id)).where(
            or_(SyncConflict.partition == partition, SyncConflict.partition == f"county:to:{township.township_id}")))
        return TownshipStatus(township.township_id, township.code, township.name, township.bound, pcs,
                              last.at if last else None, last.file_name if last else "", labelled(records),
                              conflicts or 0)

    def conflicts(self) -> list[SyncConflict]:
        with self.db.session(audit=False) as session:
            return list(session.scalars(select(SyncConflict).order_by(SyncConflict.detected_at.desc())))

    def row_count(self) -> int:
        """All synced rows held (for tests and the bench)."""
        with self.db.session(audit=False) as session:
            return sum(session.scalar(select(func.count()).select_from(cls)) or 0 for cls in synced_classes())
