"""Timestamps are stored in UTC and shown in China Standard Time.

A fixed UTC+8 offset (China has no daylight saving) avoids depending on a time-zone database,
which Windows PCs and frozen builds do not have.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), "CST")


def local(dt: datetime) -> datetime:
    return dt.astimezone(CHINA_TZ)


def format_local(dt: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return "" if dt is None else local(dt).strftime(pattern)
