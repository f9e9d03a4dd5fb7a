"""The envelope of a bundle: its signed, cleartext description, and the names and rules of format 1."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.sync.errors import SyncError
from app.sync.keys import check_node_id

FORMAT_VERSION = 1
MIN_FORMAT_VERSION = 1  # oldest format this code still reads
SUFFIX = ".xab"
ENVELOPE_NAME = "envelope.json"
SIGNATURE_NAME = "envelope.sig"
SIGNATURE_BYTES = 64
SIGN_CONTEXT = "bundle-envelope"
KIND_PATTERN = re.compile(r"[a-z][a-z_]{0,31}")
KINDS = ("data", "return", "enrolment", "snapshot")  # those in use; the pattern leaves room for more

# Always used with fullmatch: "$" alone would accept a trailing newline, "\d" non-ASCII digits.
PART_NAME = re.compile(r"parts/[0-9]{5}")
ATTACHMENT_NAME = re.compile(r"attachments/[0-9a-f]{64}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class PartInfo:
    """One part: ``sha256``/``size`` of the stored (sealed) entry, ``raw_size`` of its NDJSON."""

    name: str
    sha256: str
    rows: int
    size: int
    raw_size: int


@dataclass(frozen=True)
class AttachmentInfo:
    """One attachment: ``sha256``/``size`` of the file itself (its content address), ``name`` of its
    entry and ``stored_sha256``/``stored_size`` of the sealed entry (checked before decrypting)."""

    sha256: str
    size: int
    name: str
    stored_sha256: str
    stored_size: int


@dataclass(frozen=True)
class EnvelopeDraft:
    """What the caller decides about a bundle; the writer adds the rest (ids, hashes, key, time)."""

    kind: str
    township: str = ""
    seq_from: int = 0
    seq_to: int = 0
    ack: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    bundle_id: str | None = None
    created_at: str | None = None
    sender: str | None = None  # when given, must match the signing key pair
    recipient: str | None = None  # when given, must match the recipient's public keys


@dataclass(frozen=True)
class Envelope:
    """The cleartext, signed description of a bundle (``envelope.json``)."""

    format: int
    kind: str
    bundle_id: str
    sender: str
    recipient: str
    created_at: str
    township: str
    seq_from: int
    seq_to: int
    ack: dict[str, Any]
    meta: dict[str, Any]
    parts: list[PartInfo]
    attachments: list[AttachmentInfo]
    key: dict[str, str]  # the per-bundle key wrapped for the recipient (keys.PublicKeys.wrap)

    @property
    def rows(self) -> int:
        return sum(part.rows for part in self.parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "kind": self.kind, "bundle_id": self.bundle_id, "sender": self.sender,
            "recipient": self.recipient, "created_at": self.created_at, "township": self.township,
            "seq_from": self.seq_from, "seq_to": self.seq_to, "ack": self.ack, "meta": self.meta,
            "parts": [dict(vars(part)) for part in self.parts],
            "attachments": [dict(vars(item)) for item in self.attachments], "key": dict(self.key),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Envelope:
        """Strict: every field present with the right type; anything else is a damaged envelope."""
        reader = Fields(data, "清单")
        envelope = cls(
            format=reader.integer("format"), kind=reader.text("kind", KIND_PATTERN),
            bundle_id=reader.uuid("bundle_id"), sender=reader.node("sender"),
            recipient=reader.node("recipient"), created_at=reader.text("created_at"),
            township=reader.text("township"), seq_from=reader.integer("seq_from"),
            seq_to=reader.integer("seq_to"), ack=reader.mapping("ack"), meta=reader.mapping("meta"),
            parts=[_part_from(item) for item in reader.items("parts")],
            attachments=[_attachment_from(item) for item in reader.items("attachments")],
            key=reader.mapping("key"),
        )
        reader.no_extra()
        if envelope.seq_from > envelope.seq_to:
            raise SyncError("damaged", "清单中的序号范围颠倒")
        return envelope


class Fields:
    """Typed access to one JSON object of the envelope, naming the bad field in the error."""

    def __init__(self, data: object, what: str) -> None:
        if not isinstance(data, Mapping):
            raise SyncError("damaged", f"{what}格式不对")
        self.data, self.what, self.used = data, what, set()

    def _get(self, key: str, kinds: type | tuple[type, ...]) -> Any:
        self.used.add(key)
        value = self.data.get(key)
        if not isinstance(value, kinds) or (isinstance(value, bool) and kinds is int):
            raise SyncError("damaged", f"{self.what}字段「{key}」缺失或类型不对")
        return value

    def integer(self, key: str) -> int:
        value = self._get(key, int)
        if value < 0:
            raise SyncError("damaged", f"{self.what}字段「{key}」不能为负数")
        return value

    def text(self, key: str, pattern: re.Pattern[str] | None = None) -> str:
        value = self._get(key, str)
        if pattern is not None and not pattern.fullmatch(value):
            raise SyncError("damaged", f"{self.what}字段「{key}」的值不合规")
        return value

    def node(self, key: str) -> str:
        try:
            return check_node_id(self._get(key, str))
        except SyncError as exc:
            raise SyncError("damaged", f"{self.what}字段「{key}」：{exc.detail}") from exc

    def uuid(self, key: str) -> str:
        value = self._get(key, str)
        try:
            uuid.UUID(value)
        except ValueError as exc:
            raise SyncError("damaged", f"{self.what}字段「{key}」不是有效的编号") from exc
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        return dict(self._get(key, dict))

    def items(self, key: str) -> list[Any]:
        return list(self._get(key, list))

    def no_extra(self) -> None:
        extra = set(self.data) - self.used
        if extra:
            raise SyncError("damaged", f"{self.what}含有不认识的字段「{sorted(extra)[0]}」")


def _part_from(item: object) -> PartInfo:
    reader = Fields(item, "数据分段")
    part = PartInfo(reader.text("name", PART_NAME), reader.text("sha256", SHA256_HEX), reader.integer("rows"),
                    reader.integer("size"), reader.integer("raw_size"))
    reader.no_extra()
    return part


def _attachment_from(item: object) -> AttachmentInfo:
    reader = Fields(item, "附件")
    info = AttachmentInfo(reader.text("sha256", SHA256_HEX), reader.integer("size"),
                          reader.text("name", ATTACHMENT_NAME), reader.text("stored_sha256", SHA256_HEX),
                          reader.integer("stored_size"))
    reader.no_extra()
    if info.name != attachment_entry(info.sha256):
        raise SyncError("damaged", "附件条目名与其校验值不符")
    return info


def canonical_json(value: Any) -> bytes:
    """The one byte form of a JSON value that is signed: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def part_entry(number: int) -> str:
    return f"parts/{number:05d}"


def attachment_entry(sha256: str) -> str:
    return f"attachments/{sha256}"


def bundle_file_name(township_code: str, seq_from: int, seq_to: int, day: date) -> str:
    """``<township>-<from>-<to>-<YYYYMMDD>.xab``; the code is reduced to characters safe in any file system."""
    code = re.sub(r"[^\w-]", "_", township_code, flags=re.UNICODE).strip("_") or "bundle"
    return f"{code}-{seq_from}-{seq_to}-{day:%Y%m%d}{SUFFIX}"


def parse_envelope(data: bytes) -> Envelope:
    """``envelope.json`` → Envelope; the format version is judged first, before any other field, so a
    newer format with other fields is reported as "newer", not as damaged."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SyncError("damaged", "清单不是有效的JSON") from exc
    version = raw.get("format") if isinstance(raw, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise SyncError("damaged", "清单缺少格式版本")
    if version < MIN_FORMAT_VERSION:
        raise SyncError("format_too_old", f"文件格式{version}，本软件支持{MIN_FORMAT_VERSION}到{FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise SyncError("format_too_new", f"文件格式{version}，本软件支持{MIN_FORMAT_VERSION}到{FORMAT_VERSION}")
    return Envelope.from_dict(raw)
