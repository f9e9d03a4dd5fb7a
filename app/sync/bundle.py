"""The .xab bundle file: a zip with a signed cleartext envelope and encrypted, compressed parts and attachments.

Layout (format 1), every entry stored (no zip compression: parts are already zstd-compressed and
everything is encrypted, so zip compression could only add a decompression-bomb surface):

    parts/00001 …            one part = ≤500 rows as NDJSON, zstd-compressed, then AES-256-GCM sealed
    attachments/<sha256> …   one file's bytes, AES-256-GCM sealed (not recompressed: scans are JPEG/PDF)
    envelope.json            canonical JSON (sorted keys, UTF-8): who, to whom, what, hashes, wrapped key
    envelope.sig             Ed25519 signature of envelope.json by the sender
    zip comment              "XAB-SHA256:" + SHA-256 of every byte before it

Two separate checks, two separate jobs. The trailer digest catches accidental damage (a cheap stick, a
half-finished copy) anywhere in the file, including zip headers nothing else covers, and reports it as
such. The signature covers the envelope, whose SHA-256 of each stored entry covers the contents; it
catches deliberate changes, which can recompute the digest but not the signature. AES-GCM with the
entry's name and the bundle id as associated data is the third lock: a part copied between bundles or
renamed inside one does not decrypt.

The per-bundle key is random, wrapped for the recipient's X25519 key (``keys.PublicKeys.wrap``) and
stored in the signed envelope, so only the sender and the recipient can read parts and attachments.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import struct
import uuid
import zipfile
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from app.sync import crypto
from app.sync.envelope import (
    ATTACHMENT_NAME,
    ENVELOPE_NAME,
    FORMAT_VERSION,
    KIND_PATTERN,
    KINDS,
    MIN_FORMAT_VERSION,
    PART_NAME,
    SHA256_HEX,
    SIGN_CONTEXT,
    SIGNATURE_BYTES,
    SIGNATURE_NAME,
    SUFFIX,
    AttachmentInfo,
    Envelope,
    EnvelopeDraft,
    Fields,
    PartInfo,
    attachment_entry,
    bundle_file_name,
    canonical_json,
    parse_envelope,
    part_entry,
)
from app.sync.errors import SyncError
from app.sync.keys import KeyPair, PublicKeys, random_key
from app.sync.limits import DEFAULT_LIMITS, Limits

# The envelope's names are part of this module's interface (callers import them from here).
__all__ = [
    "DEFAULT_LIMITS", "ENVELOPE_NAME", "FORMAT_VERSION", "KINDS", "MIN_FORMAT_VERSION", "SIGNATURE_NAME",
    "SIGN_CONTEXT", "SUFFIX", "AttachmentInfo", "Envelope", "EnvelopeDraft", "Limits", "PartInfo",
    "VerifiedBundle", "bundle_file_name", "canonical_json", "check_bundle", "decompress_part", "open_bundle",
    "peek_envelope", "write_bundle",
]

_TRAILER_PREFIX = b"XAB-SHA256:"
_TRAILER_BYTES = len(_TRAILER_PREFIX) + 64
_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record, 22 bytes
_EOCD_SIGNATURE = b"PK\x05\x06"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the envelope carries the real time
# zstd level 6: realistic rows shrink to ~12% of their NDJSON at ~240 MB/s (level 19: 10% at 4 MB/s);
# its window stays far below the reader's cap.
_ZSTD_LEVEL = 6
_ZSTD_MAX_WINDOW = 16 * 1024 * 1024
_READ_CHUNK = crypto.CHUNK
# What the zip reader raises on malformed input (besides OSError); all of it means a damaged file.
_ZIP_ERRORS = (zipfile.BadZipFile, ValueError, EOFError, struct.error, NotImplementedError, OverflowError,
               KeyError, IndexError)

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


def _now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


# -- writing ----------------------------------------------------------------------------------------
def write_bundle(path: Path, envelope: EnvelopeDraft | Mapping[str, Any], parts: Iterable[list[dict[str, Any]]],
                 attachments: Iterable[tuple[str, Path]], sender: KeyPair, recipient: PublicKeys,
                 progress: Progress | None = None, cancelled: Cancelled | None = None, *,
                 total_rows: int = 0, limits: Limits = DEFAULT_LIMITS) -> Envelope:
    """Write a bundle to ``path`` and verify it by reading it back; returns the signed envelope.

    Streaming: one part (≤500 rows) or one attachment chunk is in memory at a time. The file is built as
    ``<path>.tmp``, fsynced and renamed, so ``path`` is either complete or absent; a failure or a cancel
    (``SyncError`` code ``cancelled``) leaves neither. ``progress(done, total)`` counts rows and
    attachments; ``total`` is ``total_rows`` plus the attachments when they come as a list (0 = unknown)."""
    path = Path(path)
    draft = _draft(envelope, sender, recipient)
    tmp = path.with_name(path.name + ".tmp")
    writer = _Writer(draft, sender, recipient, limits, progress, cancelled, total_rows, attachments)
    try:
        with open(tmp, "w+b") as raw:  # read too: the trailer digest is computed over the written bytes
            signed = writer.write(raw, parts, attachments)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise SyncError("write_failed", f"{path.name}：{exc.strerror or exc}") from exc
        if isinstance(exc, zipfile.LargeZipFile):
            raise SyncError("too_large", "同步文件超过4GB，请分批导出") from exc
        raise
    _fsync_directory(path.parent)
    _verify_written(path, sender.public(), limits)
    return signed


def _draft(envelope: EnvelopeDraft | Mapping[str, Any], sender: KeyPair, recipient: PublicKeys) -> EnvelopeDraft:
    """The caller's fields, checked with the reader's own rules: a draft the reader would refuse is a
    programming error here, not a "damaged stick" at read-back."""
    draft = envelope if isinstance(envelope, EnvelopeDraft) else EnvelopeDraft(**dict(envelope))
    if draft.sender not in (None, sender.node_id):
        raise ValueError(f"envelope sender {draft.sender!r} is not the signing key's node {sender.node_id!r}")
    if draft.recipient not in (None, recipient.node_id):
        raise ValueError(f"envelope recipient {draft.recipient!r} is not {recipient.node_id!r}")
    fields = {key: value for key, value in vars(draft).items() if value is not None}
    try:
        reader = Fields(fields, "draft")
        reader.text("kind", KIND_PATTERN)
        reader.text("township")
        if reader.integer("seq_from") > reader.integer("seq_to"):
            raise SyncError("damaged", "seq_from > seq_to")
        reader.mapping("ack")
        reader.mapping("meta")
        if "bundle_id" in fields:
            reader.uuid("bundle_id")
        if "created_at" in fields:
            reader.text("created_at")
    except SyncError as exc:
        raise ValueError(f"bad envelope draft: {exc.detail}") from exc
    return draft


class _Writer:
    """One bundle being written: numbering, sealing and bookkeeping of its entries."""

    def __init__(self, draft: EnvelopeDraft, sender: KeyPair, recipient: PublicKeys, limits: Limits,
                 progress: Progress | None, cancelled: Cancelled | None, total_rows: int,
                 attachments: Iterable[tuple[str, Path]]) -> None:
        self.draft, self.sender, self.recipient, self.limits = draft, sender, recipient, limits
        self.progress, self.cancelled = progress, cancelled
        self.total = total_rows + (len(attachments) if isinstance(attachments, (list, tuple)) else 0)
        self.done = 0
        self.bundle_id = draft.bundle_id or str(uuid.uuid4())
        self.key = random_key()
        self.compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL, write_content_size=True)
        self.parts: list[PartInfo] = []
        self.attachments: list[AttachmentInfo] = []

    def write(self, raw: BinaryIO, parts: Iterable[list[dict[str, Any]]],
              attachments: Iterable[tuple[str, Path]]) -> Envelope:
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for rows in parts:
                for start in range(0, len(rows), self.limits.max_rows_per_part):
                    self._check_cancel()
                    self._add_part(archive, rows[start:start + self.limits.max_rows_per_part])
                    self._check_size(raw)
            seen: set[str] = set()
            for sha256, source in attachments:
                if sha256 not in seen:  # content-addressed: one copy however often it is referenced
                    seen.add(sha256)
                    self._add_attachment(archive, sha256, Path(source))
                    self._check_size(raw)
                self._advance(1)
            envelope = self._envelope()
            data = canonical_json(envelope.to_dict())
            if len(data) > self.limits.max_envelope_bytes:
                raise SyncError("too_large", "数据分段或附件过多，请分批导出")
            archive.writestr(_entry_info(ENVELOPE_NAME), data)
            archive.writestr(_entry_info(SIGNATURE_NAME), self.sender.sign(SIGN_CONTEXT, data))
            archive.comment = _TRAILER_PREFIX + bytes(64)  # the final length; see _stamp_trailer
        _stamp_trailer(raw)
        return envelope

    def _envelope(self) -> Envelope:
        draft = self.draft
        aad = self.bundle_id.encode("ascii")
        return Envelope(
            format=FORMAT_VERSION, kind=draft.kind, bundle_id=self.bundle_id, sender=self.sender.node_id,
            recipient=self.recipient.node_id, created_at=draft.created_at or _now_iso(),
            township=draft.township, seq_from=draft.seq_from, seq_to=draft.seq_to, ack=dict(draft.ack),
            meta=dict(draft.meta), parts=self.parts, attachments=self.attachments,
            key=self.recipient.wrap(self.key, aad),
        )

    def _add_part(self, archive: zipfile.ZipFile, rows: list[dict[str, Any]]) -> None:
        raw = _ndjson(rows)
        if len(raw) > self.limits.max_part_raw_bytes:
            raise SyncError("too_large", f"一个数据分段超过{self.limits.max_part_raw_bytes // 1048576}MB")
        name = part_entry(len(self.parts) + 1)
        sealed = crypto.seal(self.key, crypto.nonce(crypto.PART_NONCE, len(self.parts) + 1),
                             crypto.entry_aad(self.bundle_id, name), self.compressor.compress(raw))
        archive.writestr(_entry_info(name), sealed)
        self.parts.append(PartInfo(name, hashlib.sha256(sealed).hexdigest(), len(rows), len(sealed), len(raw)))
        self._advance(len(rows))

    def _add_attachment(self, archive: zipfile.ZipFile, sha256: str, source: Path) -> None:
        if not SHA256_HEX.fullmatch(sha256):
            raise ValueError(f"attachment hash must be 64 lowercase hex digits, got {sha256!r}")
        size = source.stat().st_size
        if size > self.limits.max_attachment_bytes:
            raise SyncError("too_large", f"附件「{source.name}」超过{self.limits.max_attachment_bytes // 1048576}MB")
        name = attachment_entry(sha256)
        content, stored = hashlib.sha256(), hashlib.sha256()
        stored_size = 0
        with open(source, "rb") as src, archive.open(_entry_info(name), "w") as entry:
            chunks = _chunks(src, content, self._check_cancel)
            number = len(self.attachments) + 1
            for piece in crypto.seal_stream(self.key, crypto.nonce(crypto.ATTACHMENT_NONCE, number),
                                            crypto.entry_aad(self.bundle_id, name), chunks):
                stored.update(piece)
                stored_size += len(piece)
                entry.write(piece)
        if content.hexdigest() != sha256:
            raise SyncError("write_failed", f"本机附件「{source.name}」的内容与登记的校验值不一致，可能已损坏")
        self.attachments.append(AttachmentInfo(sha256, size, name, stored.hexdigest(), stored_size))

    def _check_size(self, raw: BinaryIO) -> None:
        if raw.tell() > self.limits.max_file_bytes:
            raise SyncError("too_large", "同步文件超过U盘单个文件的上限（4GB），请分批导出")

    def _check_cancel(self) -> None:
        if self.cancelled is not None and self.cancelled():
            raise SyncError("cancelled")

    def _advance(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done) if self.total else 0)


def _ndjson(rows: list[dict[str, Any]]) -> bytes:
    lines = []
    for row in rows:
        if not isinstance(row, dict):
            raise TypeError(f"bundle rows must be dicts, got {type(row).__name__}")
        lines.append(json.dumps(row, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
    lines.append("")
    return "\n".join(lines).encode("utf-8")


def _chunks(source: BinaryIO, digest: Any, check_cancel: Callable[[], None]) -> Iterator[bytes]:
    while chunk := source.read(_READ_CHUNK):
        check_cancel()
        digest.update(chunk)
        yield chunk


def _entry_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    return info


def _stamp_trailer(raw: BinaryIO) -> None:
    """Write the SHA-256 of everything before the zip comment into the comment (fixed length)."""
    raw.flush()
    end = raw.seek(0, io.SEEK_END)
    digest = _digest_range(raw, end - 64)
    raw.seek(end - 64)
    raw.write(digest.encode("ascii"))


def _digest_range(raw: BinaryIO, length: int) -> str:
    raw.seek(0)
    digest = hashlib.sha256()
    remaining = length
    while remaining > 0:
        chunk = raw.read(min(_READ_CHUNK, remaining))
        if not chunk:
            raise SyncError("truncated")
        digest.update(chunk)
        remaining -= len(chunk)
    return digest.hexdigest()


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); Windows cannot open directories and flushes renames itself."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _verify_written(path: Path, sender: PublicKeys, limits: Limits) -> None:
    """Read the finished file back from the device (not the cache, where the OS allows) and check it.

    The writer cannot decrypt (only the recipient can), but digest, signature and every entry's hash
    prove the bytes on the stick are the bytes written. A file that fails is removed: a broken bundle
    must not travel."""
    try:
        _drop_cache(path)
        with _Inspection(path, limits) as inspection:
            inspection.check_signature(sender)
            inspection.check_hashes()
    except SyncError as exc:
        with contextlib.suppress(OSError):
            path.unlink()
        raise SyncError("write_failed", f"写入后读回校验不一致，U盘可能有质量问题：{exc.detail or exc.code}") from exc


def _drop_cache(path: Path) -> None:
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError), open(path, "rb") as handle:
            os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


# -- reading ----------------------------------------------------------------------------------------
_UNSAFE_NAME = re.compile(r"(^/|^[A-Za-z]:|\\|(^|/)\.\.(/|$)|\x00)")


class _Inspection:
    """An open bundle file whose structure, limits and envelope have been checked (not yet trusted).

    Order, each step only after the previous passed: file size limit → end record present (else
    ``truncated``) → trailer digest (``damaged``) → directory size and entry count from the end record
    (``too_large``) before the zip reader parses the directory → names (``unsafe_name``) → per-entry
    ratio, storage method and size (``too_large``/``damaged``) → envelope JSON and format version → the
    envelope's own figures within limits (rows per part, sizes). The format version is checked before the
    signature: a newer format may sign differently, and its user needs "update the app", not "tampered".
    Whether the zip holds exactly what the envelope lists is checked with the hashes, after the signature."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path, self.limits = Path(path), limits
        try:
            self.file: BinaryIO = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        except OSError as exc:
            raise SyncError("unreadable", exc.strerror or str(exc)) from exc
        try:
            self._check()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> _Inspection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        archive = getattr(self, "archive", None)
        if archive is not None:
            archive.close()
        self.file.close()

    def _check(self) -> None:
        try:
            size = os.fstat(self.file.fileno()).st_size
            if size > self.limits.max_file_bytes:
                raise SyncError("too_large", f"文件大小{_human(size)}超过上限{_human(self.limits.max_file_bytes)}")
            entries, directory_size = self._check_end(size)
            self._check_directory_bounds(entries, directory_size)
            try:
                self.archive = zipfile.ZipFile(self.file)
            except _ZIP_ERRORS as exc:
                raise SyncError("damaged", "压缩包目录无法读取") from exc
            self.infos = self._check_entries(self.archive.infolist())
            self.envelope_bytes = self._read_small(ENVELOPE_NAME, self.limits.max_envelope_bytes)
            self.signature = self._read_small(SIGNATURE_NAME, SIGNATURE_BYTES)
            self.envelope = parse_envelope(self.envelope_bytes)
            self._check_listing()
        except OSError as exc:
            raise SyncError("unreadable", exc.strerror or str(exc)) from exc

    def _check_end(self, size: int) -> tuple[int, int]:
        """The end record with our trailer must close the file; its digest must match everything before."""
        tail_length = _EOCD.size + _TRAILER_BYTES
        if size < tail_length:
            raise SyncError("truncated")
        self.file.seek(size - tail_length)
        tail = self.file.read(tail_length)
        fields = _EOCD.unpack(tail[:_EOCD.size])
        if fields[0] != _EOCD_SIGNATURE or fields[7] != _TRAILER_BYTES:
            self._raise_for_missing_end(size)
        trailer = tail[_EOCD.size:]
        if not trailer.startswith(_TRAILER_PREFIX):
            raise SyncError("damaged", "文件尾部校验信息缺失")
        if _digest_range(self.file, size - 64).encode("ascii") != trailer[len(_TRAILER_PREFIX):]:
            raise SyncError("damaged", "文件校验值不一致")
        return fields[4], fields[5]  # total entries, directory size

    def _raise_for_missing_end(self, size: int) -> None:
        """No end record where it belongs: the file was cut short — unless a complete end record with
        our trailer is there, just not where expected (its length field damaged, or bytes appended)."""
        length = min(size, 65_536 + _EOCD.size + _TRAILER_BYTES)
        self.file.seek(size - length)
        tail = self.file.read(length)
        at = tail.rfind(_EOCD_SIGNATURE + bytes(4))
        trailer = at + _EOCD.size
        if at >= 0 and tail[trailer:trailer + len(_TRAILER_PREFIX)] == _TRAILER_PREFIX \
                and trailer + _TRAILER_BYTES <= len(tail):
            raise SyncError("damaged", "文件结尾部分已损坏")
        raise SyncError("truncated")

    def _check_directory_bounds(self, entries: int, directory_size: int) -> None:
        if entries > self.limits.max_entries:
            raise SyncError("too_large", f"条目数{entries}超过上限{self.limits.max_entries}")
        if directory_size > entries * self.limits.max_directory_record:
            raise SyncError("too_large", "压缩包目录过大")

    def _check_entries(self, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        if len(infos) > self.limits.max_entries:
            raise SyncError("too_large", f"条目数{len(infos)}超过上限{self.limits.max_entries}")
        by_name: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            _check_name(info.filename)
            if info.filename in by_name:
                raise SyncError("unsafe_name", f"条目「{info.filename}」重复出现")
            by_name[info.filename] = info
        total = 0
        for info in infos:
            self._check_entry_size(info)
            total += info.file_size
        if total > self.limits.max_file_bytes:
            raise SyncError("too_large", "解压后的总大小超过上限")
        _check_layout(infos, self.archive.start_dir)
        return by_name

    def _check_entry_size(self, info: zipfile.ZipInfo) -> None:
        name = info.filename
        cap = (self.limits.max_envelope_bytes if name == ENVELOPE_NAME else SIGNATURE_BYTES
               if name == SIGNATURE_NAME else self.limits.max_part_bytes if name.startswith("parts/")
               else self.limits.max_attachment_bytes + crypto.TAG_BYTES)
        if info.file_size > max(info.compress_size, 1) * self.limits.max_entry_ratio:
            raise SyncError("too_large", f"条目「{name}」的压缩比异常")
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            raise SyncError("damaged", f"条目「{name}」的存储方式不对")  # never inflated, so no size risk
        if info.file_size > cap:
            raise SyncError("too_large", f"条目「{name}」大小超过上限")
        if info.flag_bits & 0x1:
            raise SyncError("damaged", f"条目「{name}」使用了不支持的压缩包加密")

    def _read_small(self, name: str, cap: int) -> bytes:
        info = self.infos.get(name)
        if info is None:
            raise SyncError("damaged", f"缺少条目「{name}」")
        data = b"".join(self.stream(name, cap + 1))
        if len(data) > cap:
            raise SyncError("too_large", f"条目「{name}」大小超过上限")
        return data

    def _open_entry(self, info: zipfile.ZipInfo) -> zipfile.ZipExtFile:
        try:
            return self.archive.open(info)
        except _ZIP_ERRORS as exc:
            raise SyncError("damaged", f"条目「{info.filename}」无法读取") from exc

    def _check_listing(self) -> None:
        """What the envelope lists stays within the limits (whether it matches the zip is checked after
        the signature: a mismatch then means tampering, not a malformed file)."""
        envelope, limits = self.envelope, self.limits
        listed = {ENVELOPE_NAME: -1, SIGNATURE_NAME: -1}
        for part in envelope.parts:
            if part.rows < 1 or part.rows > limits.max_rows_per_part:
                raise SyncError("too_large", f"数据分段「{part.name}」的行数{part.rows}不在1到{limits.max_rows_per_part}之间")
            if part.raw_size > limits.max_part_raw_bytes or part.raw_size > part.size * limits.max_part_ratio:
                raise SyncError("too_large", f"数据分段「{part.name}」解压后大小超过上限")
            listed[part.name] = part.size
        for item in envelope.attachments:
            if item.size > limits.max_attachment_bytes or item.stored_size != item.size + crypto.TAG_BYTES:
                raise SyncError("too_large", f"附件「{item.name}」大小超过上限或与清单不符")
            listed[item.name] = item.stored_size
        if len(listed) != 2 + len(envelope.parts) + len(envelope.attachments):
            raise SyncError("damaged", "清单中有重复的条目")
        self.listed = listed

    # -- steps that need the sender's key -----------------------------------------------------------
    def check_signature(self, sender: PublicKeys) -> None:
        if sender.node_id != self.envelope.sender:
            raise SyncError("unknown_sender", f"发送方「{self.envelope.sender}」")
        if not sender.verify(SIGN_CONTEXT, self.envelope_bytes, self.signature):
            raise SyncError("bad_signature")

    def check_hashes(self) -> None:
        """The zip holds exactly the entries the signed envelope lists, each of the listed size and hash
        (nothing decrypted yet)."""
        if set(self.listed) != set(self.infos):
            odd = sorted(set(self.listed) ^ set(self.infos))[0]
            raise SyncError("hash_mismatch", f"条目「{odd}」" + ("不在清单中" if odd in self.infos else "缺失"))
        for name, size in self.listed.items():
            if size >= 0 and self.infos[name].file_size != size:
                raise SyncError("hash_mismatch", f"条目「{name}」的大小与清单不符")
        expected = [(part.name, part.sha256) for part in self.envelope.parts]
        expected += [(item.name, item.stored_sha256) for item in self.envelope.attachments]
        for name, sha256 in expected:
            digest = hashlib.sha256()
            for chunk in self.stream(name):
                digest.update(chunk)
            if digest.hexdigest() != sha256:
                raise SyncError("hash_mismatch", f"条目「{name}」")

    def stream(self, name: str, limit: int | None = None) -> Iterator[bytes]:
        """The stored bytes of an entry in chunks (at most ``limit`` bytes when given)."""
        remaining = self.infos[name].file_size if limit is None else limit
        try:
            with self._open_entry(self.infos[name]) as entry:
                while remaining > 0 and (chunk := entry.read(min(_READ_CHUNK, remaining))):
                    remaining -= len(chunk)
                    yield chunk
        except _ZIP_ERRORS as exc:  # e.g. a CRC mismatch: the entry is not what the directory says
            raise SyncError("damaged", f"条目「{name}」校验不一致") from exc
        except OSError as exc:  # the stick was pulled out while reading
            raise SyncError("unreadable", exc.strerror or str(exc)) from exc

    def read(self, name: str) -> bytes:
        return b"".join(self.stream(name))


def _human(size: int) -> str:
    return f"{size / 1048576:.1f}MB" if size >= 1048576 else f"{max(1, round(size / 1024))}KB"


def _check_name(name: str) -> None:
    if _UNSAFE_NAME.search(name) or not (name in (ENVELOPE_NAME, SIGNATURE_NAME) or PART_NAME.fullmatch(name)
                                         or ATTACHMENT_NAME.fullmatch(name)):
        shown = name if len(name) <= 80 and name.isprintable() else repr(name[:80])
        raise SyncError("unsafe_name", f"条目名「{shown}」")


def _check_layout(infos: list[zipfile.ZipInfo], directory_start: int) -> None:
    """Entries follow one another without overlap and end before the directory: overlapping entries
    are how the smallest zip bombs reuse one compressed stream many times."""
    end = 0
    for info in sorted(infos, key=lambda item: item.header_offset):
        if info.header_offset < end:
            raise SyncError("damaged", f"条目「{info.filename}」与前一条目重叠")
        end = info.header_offset + 30 + len(info.filename.encode("utf-8")) + info.compress_size
    if end > directory_start:
        raise SyncError("damaged", "条目与压缩包目录重叠")


def decompress_part(data: bytes, raw_size: int, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """zstd → NDJSON bytes of exactly ``raw_size`` (≤ the part cap): the frame must declare that size,
    so at most ``raw_size`` bytes are ever allocated, whatever the frame claims or contains."""
    if raw_size > limits.max_part_raw_bytes:
        raise SyncError("too_large", "数据分段解压后大小超过上限")
    try:
        declared = zstandard.frame_content_size(data)
        if declared != raw_size:
            raise SyncError("damaged", "数据分段的解压大小与清单不符")
        plain = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW).decompress(
            data, max_output_size=raw_size)
    except zstandard.ZstdError as exc:
        raise SyncError("damaged", "数据分段无法解压") from exc
    if len(plain) != raw_size:
        raise SyncError("damaged", "数据分段的解压大小与清单不符")
    return plain


def _rows_of(ndjson: bytes, part: PartInfo) -> list[dict[str, Any]]:
    # Raw newlines never occur inside JSON text (they are escaped), so the lines become one JSON array
    # and are parsed in a single call: several times faster than json.loads per line.
    if ndjson.count(b"\n") != part.rows or not ndjson.endswith(b"\n"):
        raise SyncError("damaged", f"数据分段「{part.name}」的行数与清单不符")
    try:
        rows = json.loads(b"[" + ndjson[:-1].replace(b"\n", b",") + b"]")
    except (UnicodeDecodeError, ValueError) as exc:
        raise SyncError("damaged", f"数据分段「{part.name}」不是有效的数据") from exc
    if len(rows) != part.rows or not all(isinstance(row, dict) for row in rows):
        raise SyncError("damaged", f"数据分段「{part.name}」的内容格式不对")
    return rows


def peek_envelope(path: Path, limits: Limits = DEFAULT_LIMITS) -> Envelope:
    """The envelope of a bundle WITHOUT checking its signature (limits and structure are enforced).

    Only for deciding which key should verify it (the enrolment bootstrap); never act on it otherwise."""
    with _Inspection(Path(path), limits) as inspection:
        return inspection.envelope


def check_bundle(path: Path, sender: PublicKeys, limits: Limits = DEFAULT_LIMITS) -> Envelope:
    """Everything the sender's side can verify (it cannot decrypt): structure, signature, every hash."""
    with _Inspection(Path(path), limits) as inspection:
        inspection.check_signature(sender)
        inspection.check_hashes()
        return inspection.envelope


def open_bundle(path: Path, me: KeyPair, known: Callable[[str], PublicKeys | None], *,
                limits: Limits = DEFAULT_LIMITS) -> VerifiedBundle:
    """Open and fully verify a bundle addressed to ``me``; raises ``SyncError`` with the first problem.

    After the checks of ``_Inspection``: sender known (``unknown_sender``) → signature
    (``bad_signature``) → recipient is me (``wrong_recipient``) → every stored entry's hash
    (``hash_mismatch``) → the bundle key unwraps and every part and attachment decrypts and
    decompresses within its limits (``decrypt_failed``/``damaged``). Only then is anything returned, so
    a bundle that fails changes nothing; use it as a context manager."""
    inspection = _Inspection(Path(path), limits)
    try:
        envelope = inspection.envelope
        sender = known(envelope.sender)
        if sender is None:
            raise SyncError("unknown_sender", f"发送方「{envelope.sender}」")
        inspection.check_signature(sender)
        if envelope.recipient != me.node_id:
            raise SyncError("wrong_recipient", f"收件方为「{envelope.recipient}」，本机为「{me.node_id}」")
        inspection.check_hashes()
        if envelope.key.get("to") != me.public().fingerprint:
            raise SyncError("decrypt_failed", "文件是用本机的旧密钥加密的")
        bundle = VerifiedBundle(inspection, me.unwrap(envelope.key, envelope.bundle_id.encode("ascii")))
        bundle.verify_contents()
        return bundle
    except BaseException:
        inspection.close()
        raise


class VerifiedBundle:
    """A verified bundle, open for reading its rows and attachments (close it, or use ``with``)."""

    def __init__(self, inspection: _Inspection, key: bytes) -> None:
        self._inspection = inspection
        self._key = key
        self.envelope = inspection.envelope
        self.path = inspection.path
        # entry name → its number, the nonce counter the writer used
        self._numbers = {part.name: n for n, part in enumerate(self.envelope.parts, 1)}
        self._numbers.update({item.name: n for n, item in enumerate(self.envelope.attachments, 1)})

    def __enter__(self) -> VerifiedBundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._inspection.close()

    def verify_contents(self) -> None:
        """Decrypt and decompress everything once, discarding the result (called by ``open_bundle``)."""
        for part in self.envelope.parts:
            ndjson = self._ndjson(part)
            if ndjson.count(b"\n") != part.rows:
                raise SyncError("damaged", f"数据分段「{part.name}」的行数与清单不符")
        for item in self.envelope.attachments:
            self._decrypt_attachment(item, _HashingSink(None))

    def iter_parts(self, skip: Container[str] = ()) -> Iterator[tuple[PartInfo, list[dict[str, Any]]]]:
        """Each part's rows in order, one part in memory at a time; parts named in ``skip`` (already
        applied before an interruption) are not even decrypted."""
        for part in self.envelope.parts:
            if part.name not in skip:
                yield part, self.read_part(part)

    def read_part(self, part: PartInfo) -> list[dict[str, Any]]:
        return _rows_of(self._ndjson(part), part)

    def _ndjson(self, part: PartInfo) -> bytes:
        number = self._numbers[part.name]
        sealed = self._inspection.read(part.name)
        packed = crypto.open_sealed(self._key, crypto.nonce(crypto.PART_NONCE, number),
                                    crypto.entry_aad(self.envelope.bundle_id, part.name), sealed,
                                    f"数据分段「{part.name}」")
        return decompress_part(packed, part.raw_size, self._inspection.limits)

    def attachment(self, sha256: str) -> AttachmentInfo:
        for item in self.envelope.attachments:
            if item.sha256 == sha256:
                return item
        raise KeyError(sha256)

    def extract_attachment(self, sha256: str, dest: Path) -> Path:
        """Decrypt one attachment to ``dest`` (via ``dest``.tmp, renamed only when tag and content hash
        match), so ``dest`` never holds unverified bytes."""
        item = self.attachment(sha256)
        dest = Path(dest)
        tmp = dest.with_name(dest.name + ".tmp")
        try:
            with open(tmp, "wb") as out:
                self._decrypt_attachment(item, _HashingSink(out))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise SyncError("write_failed", f"附件{dest.name}：{exc.strerror or exc}") from exc
            raise
        return dest

    def _decrypt_attachment(self, item: AttachmentInfo, sink: _HashingSink) -> None:
        number = self._numbers[item.name]
        crypto.open_stream(self._key, crypto.nonce(crypto.ATTACHMENT_NONCE, number),
                           crypto.entry_aad(self.envelope.bundle_id, item.name),
                           self._inspection.stream(item.name), sink.write, f"附件「{item.name}」")
        if sink.size != item.size or sink.digest.hexdigest() != item.sha256:
            raise SyncError("hash_mismatch", f"附件「{item.name}」解密后的内容与校验值不符")


class _HashingSink:
    """Where decrypted attachment bytes go: hashed and counted, and written to ``out`` if given."""

    def __init__(self, out: BinaryIO | None) -> None:
        self.out, self.digest, self.size = out, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        if self.out is not None:
            self.out.write(data)
