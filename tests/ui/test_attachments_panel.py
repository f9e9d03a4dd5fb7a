"""The attachments panel: list, add (including refused files), open and delete a row's attachments."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtWidgets import QFileDialog

from app.services.organisation import REGISTERS
from app.services.record_attachments import RecordAttachmentService
from app.ui.widgets.attachments_panel import AttachmentsPanel
from tests.ui.conftest import click


@pytest.fixture
def supply_id(services) -> str:
    return services.register("supplies").save({"name": "救生衣", "quantity": "40", "unit": "件"})


@pytest.fixture
def panel(qtbot, services, supply_id) -> AttachmentsPanel:
    def factory(kind: str) -> RecordAttachmentService:
        return RecordAttachmentService(services.db, services.actor, services.scope, REGISTERS[kind],
                                       max_bytes=64 * 1024)

    widget = AttachmentsPanel(factory, can_write=True)
    qtbot.addWidget(widget)
    widget.show()
    widget.set_record("supplies", supply_id, "救生衣")
    return widget


def choose_file(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))


def photo(tmp_path: Path) -> Path:
    path = tmp_path / "仓库照片.jpg"
    Image.new("RGB", (32, 24), (200, 40, 40)).save(path, "JPEG")
    return path


def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "物资清单.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    return path


def test_nothing_selected_disables_adding(qtbot, panel):
    panel.set_record("supplies", "", "")
    assert not panel.add_button.isEnabled()
    assert "选中一条记录" in panel.hint.text()


def test_add_a_scan_and_a_photo_then_open_and_delete(qtbot, monkeypatch, tmp_path, panel, messages,
                                                     opened_urls):
    assert panel.list.count() == 0 and panel.hint.text() == "暂无附件"
    assert not panel.open_button.isEnabled()
    choose_file(monkeypatch, pdf(tmp_path))
    click(qtbot, panel.add_button)
    panel.role_combo.setCurrentIndex(panel.role_combo.findData("photo"))
    choose_file(monkeypatch, photo(tmp_path))
    click(qtbot, panel.add_button)
    assert messages == []
    texts = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert texts[0].startswith("[扫描件] 物资清单.pdf") and texts[1].startswith("[照片] 仓库照片.jpg")
    assert panel.hint.text() == "共 2 个附件，双击打开"
    assert panel.title_label.text() == "附件 — 救生衣"

    panel.list.setCurrentRow(1)
    click(qtbot, panel.open_button)
    assert opened_urls[-1].toLocalFile() == str(panel.rows()[1].path)
    assert Path(opened_urls[-1].toLocalFile()).read_bytes() == (tmp_path / "仓库照片.jpg").read_bytes()

    panel.list.setCurrentRow(0)
    click(qtbot, panel.remove_button)
    assert messages[-1][0] == "question" and "物资清单.pdf" in messages[-1][1]
    assert [row.file_name for row in panel.rows()] == ["仓库照片.jpg"]


def test_a_photo_that_is_not_an_image_is_refused_with_the_reason(qtbot, monkeypatch, tmp_path, panel, messages):
    panel.role_combo.setCurrentIndex(panel.role_combo.findData("photo"))
    choose_file(monkeypatch, pdf(tmp_path))
    click(qtbot, panel.add_button)
    kind, text = messages[-1]
    assert kind == "warning"
    assert "物资清单.pdf" in text and "不是有效的照片" in text
    assert panel.list.count() == 0


def test_an_oversize_file_is_refused(qtbot, monkeypatch, tmp_path, panel, messages):
    big = tmp_path / "扫描件.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (100 * 1024))
    choose_file(monkeypatch, big)
    click(qtbot, panel.add_button)
    assert messages[-1][0] == "warning" and "超过" in messages[-1][1] and "扫描件.pdf" in messages[-1][1]
    assert panel.list.count() == 0


def test_cancelled_file_dialog_adds_nothing(qtbot, monkeypatch, panel, messages):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    click(qtbot, panel.add_button)
    assert panel.list.count() == 0 and messages == []


def test_read_only_users_can_open_but_not_change(qtbot, services, supply_id, tmp_path, opened_urls):
    service = RecordAttachmentService(services.db, services.actor, services.scope, REGISTERS["supplies"])
    service.add(supply_id, pdf(tmp_path), role="scan")
    widget = AttachmentsPanel(lambda _kind: service, can_write=False)
    qtbot.addWidget(widget)
    widget.set_record("supplies", supply_id, "救生衣")
    widget.list.setCurrentRow(0)
    assert widget.open_button.isEnabled()
    assert not widget.add_button.isEnabled() and not widget.remove_button.isEnabled()
    click(qtbot, widget.open_button)
    assert [url.fileName() for url in opened_urls] == [service.list(supply_id)[0].path.name]
