"""Resumable uploads and downloadable returns on the county server's disk (``<data-dir>/http``).

An upload is two files: ``<id>.json`` (who, which bundle, its size and SHA-256, the answer once applied)
and ``<id>.part`` (the bytes so far). The committed offset IS the part file's size: every piece is
appended and fsynced before it is acknowledged, so a server restart keeps every acknowledged byte and a
client resumes from there. A return is a folder ``returns/<id>/`` with the bundle file and its meta.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.server.errors import ApiError

ID_PATTERN = r"^[0-9a-f]{32}$"
_ID = re.compile(ID_PATTERN)
STALE_SECONDS = 7 * 24 * 3600  # an upload nobody touched for a week is abandoned
RETURNS_KEPT = 3  # per PC: a client downloads the newest; older ones are superseded


def node_key(node_id: str) -> str:
    """A file-name-safe, fixed-length tag of a node id (node ids are arbitrary printable text)."""
    return hashlib.sha256(node_id.encode("utf-8")).hexdigest()[:12]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically and durably: a crash leaves the old or the new meta, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a directory; the rename is still atomic
        pass
    finally:
        os.close(fd)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Upload:
    upload_id: str
    node_id: str
    bundle_id: str
    size: int
    sha256: str
    created: float
    result: dict[str, Any] | None = None  # the answer to "complete", once applied

    @property
    def applied(self) -> bool:
        return self.result is not None


@dataclass
class UploadArea:
    root: Path
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def lock(self, upload_id: str) -> threading.Lock:
        """One writer per upload: two copies of the same piece (a retry racing the original) serialise."""
        with self._guard:
            return self._locks.setdefault(upload_id, threading.Lock())

    def meta_path(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.json"

    def data_path(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.part"

    @staticmethod
    def id_for(node_id: str, bundle_id: str) -> str:
        """Deterministic, so creating it again (the client never saw the answer) finds the same upload;
        prefixed by the node's tag, so one node's uploads are listed without reading the others'."""
        tail = hashlib.sha256(f"{node_id}\x00{bundle_id}".encode()).hexdigest()[:20]
        return node_key(node_id) + tail

    def committed(self, upload: Upload) -> int:
        if upload.applied:
            return upload.size
        try:
            return self.data_path(upload.upload_id).stat().st_size
        except FileNotFoundError:
            return 0

    def describe(self, upload: Upload) -> dict[str, Any]:
        return {"upload_id": upload.upload_id, "bundle_id": upload.bundle_id, "size": upload.size,
                "committed": self.committed(upload), "applied": upload.applied}

    def find(self, upload_id: str) -> Upload | None:
        if not _ID.match(upload_id):
            return None
        data = _read_json(self.meta_path(upload_id))
        if data is None:
            return None
        try:
            return Upload(**data)
        except TypeError:  # a meta file from another version: treat as gone
            return None

    def get(self, upload_id: str, node_id: str) -> Upload:
        upload = self.find(upload_id)
        if upload is None:
            raise ApiError("not_found", "没有找到该上传（可能已过期清理），请重新开始上传。")
        if upload.node_id != node_id:
            raise ApiError("forbidden", "这不是本机的上传，无权访问。")
        return upload

    def create(self, node_id: str, bundle_id: str, size: int, sha256: str, applied: dict[str, Any] | None) -> Upload:
        """The upload of ``bundle_id`` by ``node_id`` — the existing one if it was created before."""
        upload_id = self.id_for(node_id, bundle_id)
        with self.lock(upload_id):
            existing = self.find(upload_id)
            if existing is not None:
                if (existing.size, existing.sha256) != (size, sha256):
                    field_name = "size" if existing.size != size else "sha256"
                    raise ApiError("bad_request", f"请求字段「{field_name}」与该同步文件已开始的上传不一致。",
                                   extra={"field": field_name})
                return existing
            upload = Upload(upload_id, node_id, bundle_id, size, sha256, time.time(), applied)
            if applied is None:
                self.data_path(upload_id).touch()
            _write_json(self.meta_path(upload_id), asdict(upload))
        self.purge_node(node_id, keep=upload_id)
        return upload

    def append(self, upload: Upload, offset: int, data: bytes) -> int:
        """Append a piece at ``offset`` (must equal the committed size) and fsync it; the new offset."""
        with self.lock(upload.upload_id):
            committed = self.committed(upload)
            if upload.applied or offset != committed:
                raise ApiError("offset_mismatch", extra={"committed": committed})
            if committed + len(data) > upload.size:
                raise ApiError("too_large", f"上传内容超过声明的文件大小（{upload.size} 字节）。",
                               extra={"committed": committed})
            with open(self.data_path(upload.upload_id), "ab") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            return committed + len(data)

    def reset(self, upload: Upload) -> None:
        """Throw away the bytes of an upload whose content proved wrong; the client sends it again."""
        with open(self.data_path(upload.upload_id), "wb") as out:
            os.fsync(out.fileno())

    def mark_applied(self, upload: Upload, result: dict[str, Any]) -> None:
        upload.result = result
        _write_json(self.meta_path(upload.upload_id), asdict(upload))

    def drop_data(self, upload: Upload) -> None:
        self.data_path(upload.upload_id).unlink(missing_ok=True)

    def for_node(self, node_id: str) -> list[Upload]:
        found = (self.find(p.stem) for p in self.root.glob(f"{node_key(node_id)}*.json"))
        return sorted((u for u in found if u is not None and u.node_id == node_id), key=lambda u: u.created)

    def purge_node(self, node_id: str, keep: str) -> None:
        """A PC stages one upload at a time: when it starts another, its earlier ones are finished or
        abandoned (an applied bundle's answer stays in the county's ledger)."""
        for upload in self.for_node(node_id):
            if upload.upload_id != keep:
                self._delete(upload.upload_id)

    def purge_stale(self, now: float | None = None) -> None:
        horizon = (now or time.time()) - STALE_SECONDS
        for meta in self.root.glob("*.json"):
            upload = self.find(meta.stem)
            if upload is None or upload.created < horizon:
                self._delete(meta.stem)

    def _delete(self, upload_id: str) -> None:
        self.data_path(upload_id).unlink(missing_ok=True)
        self.meta_path(upload_id).unlink(missing_ok=True)
        with self._guard:
            self._locks.pop(upload_id, None)


@dataclass(frozen=True)
class ReturnFile:
    return_id: str
    node_id: str
    path: Path
    size: int
    sha256: str

    def describe(self) -> dict[str, Any]:
        return {"return_id": self.return_id, "size": self.size, "sha256": self.sha256}


@dataclass
class ReturnArea:
    root: Path

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def new_folder(self, node_id: str) -> tuple[str, Path]:
        """A fresh folder the county writes one return bundle into."""
        return_id = node_key(node_id) + uuid.uuid4().hex[:20]
        folder = self.root / return_id
        folder.mkdir()
        return return_id, folder

    def register(self, return_id: str, node_id: str, path: Path) -> ReturnFile:
        item = ReturnFile(return_id, node_id, path, path.stat().st_size, sha256_file(path))
        _write_json(path.parent / "meta.json", {"node_id": node_id, "file": path.name, "size": item.size,
                                                 "sha256": item.sha256, "created": time.time()})
        self._keep_newest(node_id)
        return item

    def discard(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    def get(self, return_id: str, node_id: str) -> ReturnFile:
        meta = _read_json(self.root / return_id / "meta.json") if _ID.match(return_id) else None
        if meta is None or not isinstance(meta.get("file"), str):
            raise ApiError("not_found", "没有找到该回执（可能已被更新的回执取代），请重新同步。")
        if meta.get("node_id") != node_id:
            raise ApiError("forbidden", "这不是发给本机的回执，无权下载。")
        path = self.root / return_id / Path(meta["file"]).name
        if not path.is_file():
            raise ApiError("not_found", "没有找到该回执（可能已被更新的回执取代），请重新同步。")
        return ReturnFile(return_id, node_id, path, int(meta.get("size", 0)), str(meta.get("sha256", "")))

    def _for_node(self, node_id: str) -> list[tuple[float, Path]]:
        found = []
        for meta_path in self.root.glob(f"{node_key(node_id)}*/meta.json"):
            meta = _read_json(meta_path)
            if meta is not None and meta.get("node_id") == node_id:
                found.append((float(meta.get("created", 0)), meta_path.parent))
        return sorted(found)

    def _keep_newest(self, node_id: str) -> None:
        for _created, folder in self._for_node(node_id)[:-RETURNS_KEPT]:
            self.discard(folder)

    def acknowledged(self, node_id: str) -> None:
        """The PC applied a return: what it was sent before is superseded."""
        for _created, folder in self._for_node(node_id)[:-1]:
            self.discard(folder)

    def purge_stale(self, now: float | None = None) -> None:
        horizon = (now or time.time()) - STALE_SECONDS
        for folder in self.root.iterdir():
            if not folder.is_dir():
                continue
            meta = _read_json(folder / "meta.json")
            created = float(meta.get("created", 0)) if meta is not None else folder.stat().st_mtime
            if created < horizon:
                self.discard(folder)
