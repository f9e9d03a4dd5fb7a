"""Synced rows as plain JSON dicts and back: the record format inside bundle parts.

Each record is ``{"_t": table, <column>: value, ...}`` with dates as ISO text. Records come from outside
and are untrusted: the table must be a synced table, every column must exist, values must fit their
column type; anything else is refused with a message naming the table and column.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from functools import cache
from typing import Any

from sqlalchemy import Boolean, Column, Date, DateTime, Integer, String, Table, Text

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


Converter = Callable[[Any], Any]


def _column_converter(table: str, column: Column[Any]) -> Converter:
    """Checks and converts one column's JSON value; built once per column, not per value."""
    name, kind, nullable = column.name, column.type, column.nullable

    def dates(value: Any) -> Any:
        try:
            if isinstance(kind, Date) and not isinstance(kind, DateTime):
                return date.fromisoformat(str(value))
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise _bad(table, name, f"的日期「{value}」无效") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)

    def boolean(value: Any) -> Any:
        if not isinstance(value, bool):
            raise _bad(table, name, "应为是/否")
        return value

    def integer(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(table, name, "应为整数")
        return value

    def text(value: Any) -> Any:
        if not isinstance(value, str):
            raise _bad(table, name, "应为文字")
        if kind.length and len(value) > kind.length:
            raise _bad(table, name, f"超过{kind.length}个字符")
        return value

    if isinstance(kind, (UTCDateTime, DateTime, Date)):
        convert: Converter = dates
    elif isinstance(kind, Boolean):
        convert = boolean
    elif isinstance(kind, Integer):
        convert = integer
    elif isinstance(kind, (String, Text)):
        convert = text
    else:
        convert = lambda value: value  # noqa: E731  (JSON columns: any JSON value)

    def checked(value: Any) -> Any:
        if value is None:
            if not nullable:
                raise _bad(table, name, "不能为空")
            return None
        return convert(value)

    return checked


@cache
def _converters(table: Table) -> dict[str, Converter]:
    return {column.name: _column_converter(table.name, column) for column in table.columns}


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
    converters = _converters(table)
    values = {name: converters[name](value) for name, value in record.items() if name != TABLE_KEY}
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
