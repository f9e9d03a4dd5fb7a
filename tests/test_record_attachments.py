"""Attachments on any register row: list, add (size limit, photos must be images), remove (tombstone)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from app.errors import NotFound, PermissionDenied, ValidationError
from app.services import Services
from app.services.record_attachments import RecordAttachmentService
from tests.conftest import READER


@pytest.fixture
def document(services: Services) -> str:
    return services.register("org_documents").save({"name": "值班值守制度", "kind": "值班制度"})


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "演练照片.jpg"
    Image.new("RGB", (64, 48), (200, 80, 40)).save(path, "JPEG")
    return path


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "值班制度.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    return path


def test_add_list_remove(services: Services, document: str, photo: Path, pdf: Path) -> None:
    files = services.attachments("org_documents")
    scan_id = files.add(document, pdf, role="scan")
    photo_id = files.add(document, photo, role="photo", caption="上墙照片")
    rows = files.list(document)
    assert [(r.id, r.file_name, r.media_type, r.role) for r in rows] == [
        (scan_id, "值班制度.pdf", "application/pdf", "scan"), (photo_id, "演练照片.jpg", "image/jpeg", "photo")]
    assert rows[1].caption == "上墙照片" and rows[1].size == photo.stat().st_size
    assert rows[0].path.read_bytes() == pdf.read_bytes()  # the stored copy, named by its hash
    assert rows[0].added_at.tzinfo is not None
    files.remove(scan_id)
    assert [r.id for r in files.list(document)] == [photo_id]
    with sqlite3.connect(services.db.path) as conn:
        assert conn.execute("SELECT deleted FROM attachment WHERE id = ?", (scan_id,)).fetchone() == (1,)
    with pytest.raises(NotFound):
        files.remove(scan_id)


def test_photo_must_be_an_image(services: Services, document: str, pdf: Path) -> None:
    files = services.attachments("org_documents")
    with pytest.raises(ValidationError) as info:
        files.add(document, pdf, role="photo")
    assert str(info.value).startswith("照片：「值班制度.pdf」不是有效的照片")
    assert files.list(document) == []


def test_file_over_the_size_limit_is_refused(services: Services, document: str, tmp_path: Path) -> None:
    big = tmp_path / "大文件.pdf"
    big.write_bytes(b"%PDF" + b"0" * 3 * 1024 * 1024)
    files = RecordAttachmentService(services.db, services.actor, services.scope,
                                    services.register("org_documents").spec, max_bytes=2 * 1024 * 1024)
    with pytest.raises(ValidationError, match=re.escape("扫描件：文件「大文件.pdf」有3.0MB，超过2MB的上限")):
        files.add(document, big, role="scan")
    assert files.list(document) == []
    assert [p for p in services.db.attachments_dir.rglob("*") if p.is_file()] == []  # nothing was copied


def test_not_a_file_unknown_role_and_unknown_record(services: Services, document: str, photo: Path,
                                                     tmp_path: Path) -> None:
    files = services.attachments("org_documents")
    with pytest.raises(ValidationError, match=re.escape("附件：找不到文件「没有.pdf」")):
        files.add(document, tmp_path / "没有.pdf")
    with pytest.raises(ValidationError, match="附件类型：「video」不是可用的附件类型"):
        files.add(document, photo, role="video")
    with pytest.raises(NotFound, match="机构制度文件记录不存在"):
        files.add("no-such-id", photo, role="photo")
    services.register("org_documents").delete(document)
    with pytest.raises(NotFound):
        files.add(document, photo, role="photo")


def test_attachments_of_another_register_are_not_visible(services: Services, document: str, photo: Path) -> None:
    attachment = services.attachments("org_documents").add(document, photo, role="photo")
    drills = services.attachments("drills")
    assert drills.list(document) == []
    with pytest.raises(NotFound):
        drills.remove(attachment)


def test_reader_cannot_add_or_remove(services: Services, document: str, photo: Path) -> None:
    attachment = services.attachments("org_documents").add(document, photo, role="photo")
    reader = Services(services.db, READER).attachments("org_documents")
    with pytest.raises(PermissionDenied):
        reader.add(document, photo)
    with pytest.raises(PermissionDenied):
        reader.remove(attachment)
    assert [r.id for r in reader.list(document)] == [attachment]
