"""County-issued configuration (sector codes, later standards, deadline rules, templates) as versioned data.

Defaults ship in ``resources/config``; a document the county sends down replaces the default by being
stored here with a newer version. Readers always take the active row of the highest version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.errors import ValidationError
from app.models.base import Base, SyncedMixin

COUNTY_PARTITION = "county"


class ConfigDocument(SyncedMixin, Base):
    __tablename__ = "config_document"
    __audit_label__ = "县级配置"

    kind: Mapped[str] = mapped_column(String(32), index=True)
    doc_version: Mapped[str] = mapped_column(String(32))
    issuer: Mapped[str] = mapped_column(String(64), default="")
    title: Mapped[str] = mapped_column(String(128), default="")
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@dataclass(frozen=True)
class Sector:
    code: str
    name: str
    group: str


def import_refusal(path: Path, problem: str) -> ValidationError:
    return ValidationError({"file": f"无法导入「{path.name}」：{problem}"})


def read_untrusted_json(path: Path, max_bytes: int, what: str) -> Any:
    """A JSON file from outside (a county download, a USB stick), size-capped before it is read;
    ValidationError names the file and the problem."""
    try:
        if path.stat().st_size > max_bytes:
            raise import_refusal(path, f"文件过大（超过{max_bytes // 2**20}MB），不是{what}")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise import_refusal(path, "文件不存在") from None
    except OSError as exc:
        raise import_refusal(path, f"无法读取文件（{exc.strerror or exc}）") from None
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise import_refusal(path, "文件不是 UTF-8 编码的文字文件") from None
    except json.JSONDecodeError as exc:
        raise import_refusal(path, f"不是有效的 JSON 文件（第{exc.lineno}行第{exc.colno}列附近格式错误）") from None


def load_document_file(path: Path, kind: str) -> dict[str, Any]:
    """Read a bundled config file and check its envelope; raise ValueError naming the problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"缺少配置文件 {path.name}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"配置文件 {path.name} 格式错误：{exc}") from None
    if not isinstance(data, dict) or data.get("kind") != kind:
        raise ValueError(f"配置文件 {path.name} 的 kind 应为 {kind}")
    if not str(data.get("version", "")).strip():
        raise ValueError(f"配置文件 {path.name} 缺少 version")
    return data


def version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key for document versions: 2026.10 after 2026.9; numeric parts before text parts, so two
    versions always compare (a mixed key would raise TypeError)."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in version.split("."))


def active_document(session: Session, kind: str, default_file: Path) -> dict[str, Any]:
    """The newest version of ``kind``: a county-issued document, or the bundled default when that is
    newer (an app upgrade can ship newer defaults than what the county sent years ago)."""
    rows = session.scalars(
        select(ConfigDocument).where(ConfigDocument.kind == kind, ConfigDocument.deleted.is_(False))
    ).all()
    default = load_document_file(default_file, kind)
    if rows:
        newest = max(rows, key=lambda r: version_key(r.doc_version))
        if version_key(newest.doc_version) >= version_key(str(default["version"])):
            return {"kind": kind, "version": newest.doc_version, "issuer": newest.issuer, **newest.content}
    return default


def parse_sectors(document: dict[str, Any]) -> list[Sector]:
    items = document.get("items")
    if not isinstance(items, list) or not items:
        raise ValueError("行业代码表为空")
    sectors = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not item.get("code") or not item.get("name"):
            raise ValueError(f"行业代码表第{index}项缺少 code 或 name")
        sectors.append(Sector(str(item["code"]), str(item["name"]), str(item.get("group", ""))))
    return sectors
