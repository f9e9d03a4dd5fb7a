"""Content-addressed file store beside the database: each file is kept once, named by its SHA-256.

Files come from outside (cameras, phones, scanners, USB sticks) and are untrusted: size is bounded
before reading, photos must really decode as images, and writes are atomic.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.errors import StorageError, ValidationError

MAX_FILE_BYTES = 30 * 1024 * 1024
MAX_IMAGE_PIXELS = 80_000_000  # a 12-megapixel phone photo is ~12M; this refuses decompression bombs
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "BMP": "image/bmp", "GIF": "image/gif",
               "TIFF": "image/tiff", "WEBP": "image/webp"}
DOCUMENT_TYPES = {b"%PDF": "application/pdf"}
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    media_type: str
    file_name: str


class AttachmentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def put(self, source: Path, images_only: bool = False, field: str = "photos", label: str = "照片") -> StoredFile:
        """Copy ``source`` into the store (once) and describe it; ValidationError says what is wrong."""
        try:
            size = source.stat().st_size
        except OSError:
            raise ValidationError.single(field, label, f"找不到文件「{source.name}」") from None
        if size == 0:
            raise ValidationError.single(field, label, f"文件「{source.name}」是空的")
        if size > MAX_FILE_BYTES:
            raise ValidationError.single(field, label, f"文件「{source.name}」超过{MAX_FILE_BYTES // 1048576}MB")
        media_type = self._media_type(source, images_only, field, label)
        digest = hashlib.sha256()
        with open(source, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        sha = digest.hexdigest()
        if not self.has(sha):
            self._write(source, sha)
        return StoredFile(sha, size, media_type, source.name)

    def _media_type(self, source: Path, images_only: bool, field: str, label: str) -> str:
        from PIL import Image, UnidentifiedImageError

        Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
        too_big = ValidationError.single(field, label, f"「{source.name}」的图片尺寸过大，不像是照片")
        try:
            with Image.open(source) as image:
                image.verify()
                kind = image.format or ""
            if kind in IMAGE_TYPES:
                # verify() checks little beyond the header for most formats (nothing for JPEG), so decode:
                # a photo cut off in transfer fails here. Pillow only warns between 1× and 2× the pixel
                # limit, hence the explicit size check. JPEG decodes at 1/8 scale, which still reads it all.
                with Image.open(source) as image:
                    if image.width * image.height > MAX_IMAGE_PIXELS:
                        raise too_big
                    image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                    image.load()
                return IMAGE_TYPES[kind]
        except Image.DecompressionBombError:
            raise too_big from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            pass
        with open(source, "rb") as fh:
            head = fh.read(12)
        magic = head[:4]
        if not images_only and magic in DOCUMENT_TYPES:
            return DOCUMENT_TYPES[magic]
        if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
            raise ValidationError.single(field, label, f"「{source.name}」是苹果手机的HEIC格式照片，暂不支持。"
                                         "请转换为JPG后再添加（或在手机「设置 → 相机 → 格式」中选「兼容性最佳」）")
        wanted = "照片（JPG、PNG 等图片）" if images_only else "图片或 PDF 文件"
        raise ValidationError.single(field, label, f"「{source.name}」不是有效的{wanted}，可能已损坏")

    def _write(self, source: Path, sha: str) -> None:
        target = self.path_of(sha)
        partial: Path | None = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=target.parent, suffix=".partial")
            partial = Path(name)
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        except OSError as exc:
            if partial is not None:
                partial.unlink(missing_ok=True)
            if exc.errno == errno.ENOSPC:
                raise StorageError("磁盘空间已满，附件未能保存。") from exc
            raise StorageError(f"附件未能保存：{exc.strerror or exc}") from exc
