"""Synced rows as plain JSON dicts and back: the record format inside bundle parts.

Each record is ``{"_t": table, <column>: value, ...}`` with dates as ISO text. Records come from outside
and are untrusted: the table must be a synced table, every column must exist, values must fit their
column type; anything else is refused with a message naming the table and column.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, String, Table, Text

from app.models.base import UTCDateTime
from app.sync.capture import synced_tables
from app.sync.errors import SyncError

TABLE_KEY = "_t"
KEY_COLUMNS = ("id", "partition", "version", "version_replica", "base_version", "hlc")


def tables_by_name() -> dict[str, Table]:
    return {table.name: table for table in synced_tables()}


def to_record(table: Table, row: Any) -> dict[str, Any]:
    """A database row (mapping) as a JSON-safe record."""
    record: dict[str, Any] = {TABLE_KEY: table.name}
    for column in table.columns:
        value = row[column.name]
        if isinstance(value, datetime):
            value = value.astimezone(timezone.utc).isoformat() if value.tzinfo else value.isoformat()
        elif isinstance(value, date):
            value = value.isoformat()
        record[column.name] = value
    return record


def _bad(table: str, column: str, problem: str) -> SyncError:
    return SyncError("damaged", f"数据表 {table} 的字段 {column}{problem}")


def _convert(table: Table, name: str, value: Any) -> Any:
    column = table.columns[name]
    if value is None:
        if not column.nullable:
            raise _bad(table.name, name, "不能为空")
        return None
    kind = column.type
    try:
        if isinstance(kind, (UTCDateTime, DateTime)):
            parsed = datetime.fromisoformat(str(value))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        if isinstance(kind, Date):
            return date.fromisoformat(str(value))
    except ValueError:
        raise _bad(table.name, name, f"的日期「{value}」无效") from None
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise _bad(table.name, name, "应为是/否")
        return value
    if isinstance(kind, Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(table.name, name, "应为整数")
        return value
    if isinstance(kind, (String, Text)):
        if not isinstance(value, str):
            raise _bad(table.name, name, "应为文字")
        if kind.length and len(value) > kind.length:
            raise _bad(table.name, name, f"超过{kind.length}个字符")
        return value
    return value  # JSON columns: any JSON value


def from_record(record: Any, tables: dict[str, Table]) -> tuple[Table, dict[str, Any]]:
    """Check a record from a bundle and turn it into column values for ``table``."""
    if not isinstance(record, dict):
        raise SyncError("damaged", "记录格式不对")
    name = record.get(TABLE_KEY)
    table = tables.get(name) if isinstance(name, str) else None
    if table is None:
        raise SyncError("damaged", message=f"同步文件含有本软件不认识的数据表「{name}」，可能是更新版本的软件导出的。"
                                            "请先升级本软件，再导入该文件。")
    unknown = set(record) - {TABLE_KEY} - set(table.columns.keys())
    if unknown:
        raise SyncError("damaged", message=f"同步文件中数据表 {table.name} 含有本软件不认识的字段"
                                            f"（{'、'.join(sorted(unknown))}），请先升级本软件，再导入该文件。")
    missing = [k for k in KEY_COLUMNS if k not in record]
    if missing:
        raise _bad(table.name, "、".join(missing), "缺失")
    values = {name: _convert(table, name, value) for name, value in record.items() if name != TABLE_KEY}
    for column in table.columns:
        if column.name not in values:  # written by an older version that did not have this column yet
            values[column.name] = _default(table, column.name)
    return table, values


def _default(table: Table, name: str) -> Any:
    column = table.columns[name]
    default = column.default
    if default is not None and default.is_scalar:
        return default.arg
    if default is not None and default.is_callable:
        return default.arg(None)
    if column.nullable:
        return None
    raise _bad(table.name, name, "缺失")
