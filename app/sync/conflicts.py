"""Resolving sync conflicts: both versions of a row side by side with Chinese field labels, then either
keep the current (winning) version or adopt the kept (losing) one as a new local edit.

Adopting the other version goes through the ORM like any user edit: the flush hook stamps a new version,
the capture triggers put it in the outbox (so it is synced up and wins everywhere on its own merits) and
the audit log records every changed field. Nothing is ever dropped: the conflict row stays, marked resolved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, inspect, select
from sqlalchemy.orm import Session

from app.errors import NotFound, XiangAnError
from app.localtime import format_local
from app.models.audit import record_event
from app.models.base import SyncedMixin, UTCDateTime
from app.models.hazards import Hazard
from app.models.letters import Accident
from app.models.sync_state import SyncConflict
from app.models.validation import format_fen
from app.services.context import Actor
from app.services.fields import Field, RegisterSpec
from app.services.hazards import REGISTER_FIELDS, STEP_FIELDS
from app.services.letters import ACCIDENT_LABELS
from app.services.organisation import REGISTERS, TOWNSHIP_FIELDS, load_sectors
from app.services.registers import REFERENCE_COLUMNS
from app.storage.database import Database
from app.sync.capture import append_only, data_columns, synced_classes
from app.sync.serialize import from_record, tables_by_name, to_record
from app.sync.state import table_labels
from app.sync.township import _summary_of  # the same name the conflicts list shows

REASONS = {"concurrent": "两台电脑同时修改", "duplicate": "重复登记", "fork": "本机数据库曾从备份恢复"}
EMPTY = "（空）"

# Columns no register form names (technical links, letters, attachments, event trails, county data).
COMMON_LABELS = {
    "township_id": "所属乡镇", "deleted": "已删除", "name": "名称", "kind": "类型", "number": "编号",
    "year": "年度", "seq": "年度序号", "status": "状态", "title": "标题", "content": "内容", "remarks": "备注",
    "notes": "备注", "village_id": "所在村/社区", "enterprise_id": "企业", "org_kind": "所属单位类型",
    "org_id": "所属单位", "contact_id": "联系人", "team_id": "所属队伍", "plan_id": "应急预案",
    "sector_code": "行业领域", "letter_id": "责任书", "hazard_id": "隐患", "hazard_number": "隐患编号",
    "counterparty_kind": "乙方类型", "counterparty_id": "乙方单位", "counterparty_name": "乙方名称",
    "template_version": "模板版本", "signed_on": "签订日期", "signed_by_a": "甲方签字人", "signed_by_b": "乙方签字人",
    "content_sha256": "内容摘要", "archived_on": "归档日期", "supersedes_id": "替代的责任书",
    "superseded_by_id": "被替代为", "owner_table": "所属记录类别", "owner_id": "所属记录", "role": "用途",
    "sha256": "文件摘要", "file_name": "文件名", "media_type": "文件类型", "size": "文件大小（字节）",
    "caption": "说明", "deadline": "期限", "deadline_overridden": "手动设定整改时限", "supervised": "挂牌督办",
    "reported_upward_on": "上报上级日期", "extended": "已批准延期", "at": "时间", "username": "操作人",
    "action": "操作", "from_status": "原状态", "to_status": "新状态", "note": "说明", "data": "附加信息",
    "event_date": "日期", "doc_number": "文号", "grade": "事故等级", "report_delay_minutes": "迟报时长（分钟）",
    "items": "评估项目", "score": "得分", "max_score": "满分", "passed": "是否达标", "standard_name": "标准名称",
    "standard_version": "标准版本", "assessor": "评估人", "assessed_on": "评估日期", "unit_name": "单位名称",
    "issued_by": "下达单位", "issued_on": "下达日期", "doc_version": "版本", "issuer": "发布单位",
    "county_name": "所属县（区）", "address": "地址", "code": "区划代码",
}

# Where a step form's short label would be ambiguous next to all the other fields.
PRECISE_LABELS = [("hazard", "notice_issued_on", "", "整改通知书下达日期"),
                  ("hazard", "extension_requested_on", "", "延期申请日期")]


@dataclass(frozen=True)
class FieldDiff:
    column: str
    label: str
    current: str
    other: str

    @property
    def differs(self) -> bool:
        return self.current != self.other


@dataclass(frozen=True)
class ConflictDetail:
    """One conflict as the detail view shows it: ``fields`` differing first, then the rest."""

    id: int
    table: str
    label: str
    row_id: str
    summary: str
    reason: str
    reason_text: str
    detected_at: datetime
    resolved: bool
    current_exists: bool
    fields: list[FieldDiff]
    adopt_refusal: str  # why 「改用另一版本」 is not possible ("" when it is)

    @property
    def differing(self) -> list[FieldDiff]:
        return [f for f in self.fields if f.differs]


def _column_of(table: Table, name: str, kind: str = "") -> str | None:
    """The column a form field (or label key) is stored in: references by id, money in 分."""
    for candidate in (REFERENCE_COLUMNS.get(kind), REFERENCE_COLUMNS.get(name), name, f"{name}_fen"):
        if candidate and candidate in table.columns:
            return candidate
    return None


def _form_fields() -> list[tuple[type, Field]]:
    specs: list[RegisterSpec] = [*REGISTERS.values(), TOWNSHIP_FIELDS]
    hazard_fields = [*REGISTER_FIELDS, *(f for fields in STEP_FIELDS.values() for f in fields)]
    return [(spec.model, f) for spec in specs for f in spec.fields] + [(Hazard, f) for f in hazard_fields]


@cache
def column_labels() -> dict[str, dict[str, str]]:
    """table → column → the label people know the field by (the register forms' own labels first)."""
    tables = tables_by_name()
    labels: dict[str, dict[str, str]] = {name: {} for name in tables}
    entries = [(model.__tablename__, f.name, f.kind, f.label) for model, f in _form_fields()]
    entries += [(Accident.__tablename__, key, "", label) for key, label in ACCIDENT_LABELS.items()]
    entries = [*PRECISE_LABELS, *entries]
    for table_name, name, kind, label in entries:
        column = _column_of(tables[table_name], name, kind) if table_name in tables else None
        if column in data_columns(tables[table_name]):
            labels[table_name].setdefault(column, label)
    for table_name, table in tables.items():
        for column in data_columns(table):
            labels[table_name].setdefault(column, COMMON_LABELS.get(column, column))
    return labels


def _model(table_name: str) -> type[SyncedMixin]:
    for cls in synced_classes():
        if cls.__tablename__ == table_name:
            return cls
    raise NotFound(f"本软件不认识数据表「{table_name}」，无法处理这条冲突。请先升级本软件。")


class _Names:
    """Turns stored values into what a person recognises: names instead of ids, 元 instead of 分."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._sectors: dict[str, str] | None = None
        self._ids: dict[str, str] = {}

    def sector(self, code: str) -> str:
        if self._sectors is None:
            self._sectors = {s.code: s.name for s in load_sectors(self.session)}
        return self._sectors.get(code, code)

    def record(self, row_id: str) -> str:
        """The name of whatever synced row has this id (a village, a team, a hazard's number …)."""
        if row_id not in self._ids:
            self._ids[row_id] = self._lookup(row_id)
        return self._ids[row_id]

    def _lookup(self, row_id: str) -> str:
        for table in tables_by_name().values():
            shown = next((table.c[k] for k in ("name", "number", "title", "file_name") if k in table.c), None)
            if shown is not None:
                found = self.session.scalar(select(shown).where(table.c.id == row_id))
                if found:
                    return str(found)
        return f"（编号 {row_id[:8]}）"

    def show(self, table: Table, column: str, value: Any) -> str:
        if value is None or value == "" or value == [] or value == {}:
            return EMPTY
        if isinstance(value, bool):
            return "是" if value else "否"
        if column.endswith("_fen") and isinstance(value, int):
            return format_fen(value)  # the labels say （元）
        if column == "sector_code":
            return self.sector(str(value))
        if column.endswith("_id") and isinstance(value, str):
            return self.record(value)
        if isinstance(value, list) and all(isinstance(x, str) for x in value):
            return "、".join(value)
        if isinstance(value, (list, dict)):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, str) and isinstance(table.c[column].type, UTCDateTime):
            return format_local(datetime.fromisoformat(value))
        return str(value)


class ConflictService:
    """What the 同步 screen does with a conflict; every change needs a writing role and is audited."""

    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    def _conflict(self, session: Session, conflict_id: int, open_only: bool = False) -> SyncConflict:
        conflict = session.get(SyncConflict, conflict_id)
        if conflict is None:
            raise NotFound("这条修改冲突不存在，请刷新后重试。")
        if open_only and conflict.resolved:
            raise XiangAnError("这条修改冲突已经处理过了。")
        return conflict

    def detail(self, conflict_id: int) -> ConflictDetail:
        with self.db.session(audit=False) as session:
            conflict = self._conflict(session, conflict_id)
            table = tables_by_name().get(conflict.table_name)
            if table is None:
                raise NotFound(f"本软件不认识数据表「{conflict.table_name}」，无法显示这条冲突。请先升级本软件。")
            current = session.execute(select(table).where(table.c.id == conflict.row_id)).mappings().first()
            current_record = to_record(table, current) if current is not None else {}
            other_record = to_record(table, from_record(conflict.loser, {table.name: table})[1])
            names = _Names(session)
            labels = column_labels()[table.name]
            fields = [FieldDiff(column, labels[column],
                                names.show(table, column, current_record.get(column)) if current is not None else "—",
                                names.show(table, column, other_record.get(column)))
                      for column in labels]  # the forms' order, technical links last
            fields.sort(key=lambda f: not f.differs)  # stable: the form's order within each group
            summary = _summary_of(conflict.loser)
            return ConflictDetail(
                id=conflict.id, table=table.name, label=table_labels().get(table.name, table.name),
                row_id=conflict.row_id, summary=summary, reason=conflict.reason,
                reason_text=REASONS.get(conflict.reason, conflict.reason), detected_at=conflict.detected_at,
                resolved=conflict.resolved, current_exists=current is not None, fields=fields,
                adopt_refusal=self._refusal(conflict, current is not None))

    @staticmethod
    def _refusal(conflict: SyncConflict, current_exists: bool) -> str:
        if conflict.resolved:
            return "这条冲突已经处理过了。"
        if append_only(conflict.table_name):
            return "这是一条处理记录（只能追加、不能修改），两个版本都已保存，无需改用。"
        if not current_exists or conflict.reason == "duplicate":
            return ("另一台电脑登记的这条记录与本机已有的记录重复（例如同名），未能导入，本机没有可替换的记录。"
                    "如确有需要，请在本机相应的登记表中修改已有记录或补录。")
        return ""

    def _resolved(self, session: Session, conflict: SyncConflict, summary: str) -> None:
        conflict.resolved = True
        record_event(session, "update", summary, entity=conflict.table_name, entity_id=conflict.row_id)

    def keep_current(self, conflict_id: int) -> None:
        """Mark the conflict handled; the current version stays, the other stays stored for reference."""
        self.actor.require_write()
        detail = self.detail(conflict_id)
        with self.db.session(username=self.actor.username) as session:
            conflict = self._conflict(session, conflict_id, open_only=True)
            self._resolved(session, conflict, f"同步冲突：{detail.label}「{detail.summary}」保留当前版本")

    def use_other(self, conflict_id: int) -> None:
        """Write the kept version's field values over the row as a new local edit, then mark it handled."""
        self.actor.require_write()
        detail = self.detail(conflict_id)
        if detail.adopt_refusal:
            raise XiangAnError(detail.adopt_refusal)
        model = _model(detail.table)
        with self.db.session(username=self.actor.username) as session:
            conflict = self._conflict(session, conflict_id, open_only=True)
            table = model.__table__  # type: ignore[attr-defined]
            values = from_record(conflict.loser, {table.name: table})[1]
            row = session.get(model, conflict.row_id)
            if row is None:
                raise NotFound(f"{detail.label}「{detail.summary}」已不存在，无法改用另一版本。")
            mapper = inspect(model)
            for column in data_columns(table):
                setattr(row, mapper.get_property_by_column(table.c[column]).key, values[column])
            self._resolved(session, conflict, f"同步冲突：{detail.label}「{detail.summary}」改用另一台电脑的版本")
