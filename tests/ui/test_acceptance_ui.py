"""Acceptance faults seen through the real screens: a locked database, a wrong deadline, long text,
sideways phone photos."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from app.paths import database_path
from app.services import Services
from app.ui.hazards.detail import HazardDetailDialog
from app.ui.hazards.forms import StepDialog
from app.ui.widgets.common import load_photo
from tests.ui.conftest import click
from tests.ui.test_hazards_ui import NEW_HAZARD, _fill, _ledger, _save


@pytest.fixture
def village(services: Services) -> None:
    services.register("villages").save({"name": "石桥村"})


def test_save_into_a_locked_database_keeps_the_form_and_says_why(qtbot, window, drive, village, data_dir, messages):
    page = _ledger(window)
    seen: dict = {}
    locker = sqlite3.connect(database_path(data_dir), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another program (or a second copy of the app) is writing

    def act(dialog: StepDialog) -> None:
        _fill(qtbot, dialog, NEW_HAZARD)
        _save(qtbot, dialog)
        seen["open"] = dialog.isVisible()
        seen["top"] = dialog.form_error.text()
        seen["kept"] = (dialog.form.editors["unit_name"].text(), dialog.form.editors["description"].toPlainText())
        dialog.reject()

    try:
        drive(StepDialog, act)
        click(qtbot, page.register_button)
    finally:
        locker.rollback()
        locker.close()
    assert seen["open"] is True
    shown = seen["top"] + "".join(text for _kind, text in messages)
    assert "占用" in shown, shown
    assert seen["kept"] == ("青山建材厂", "灭火器压力不足，两具已过期")
    assert page.model.rowCount() == 0


def test_deadline_before_the_found_date_is_named_on_its_field(qtbot, window, drive, village):
    page = _ledger(window)
    seen: dict = {}

    def act(dialog: StepDialog) -> None:
        _fill(qtbot, dialog, {**NEW_HAZARD, "found_on": "2026-11-20", "deadline": "2026-11-01"})
        _save(qtbot, dialog)
        seen["open"] = dialog.isVisible()
        seen["error"] = dialog.form.errors["deadline"].text()
        dialog.reject()

    drive(StepDialog, act)
    click(qtbot, page.register_button)
    assert seen["open"] is True
    assert "不能早于发现日期" in seen["error"]
    assert page.model.rowCount() == 0


def test_very_long_description_wraps_inside_the_detail_view(qtbot, services, village, tmp_path):
    long_text = "消防通道被杂物长期堵塞，" * 160  # ~1900 characters, no line breaks
    hazard_id = services.hazards.register({**NEW_HAZARD, "description": long_text, "location": "仓库" * 90,
                                           "unit_name": "青山" * 60 + "建材厂"})
    dialog = HazardDetailDialog(services, hazard_id)
    qtbot.addWidget(dialog)
    dialog.resize(1000, 760)
    dialog.show()
    qtbot.wait(50)
    image = dialog.grab()
    image.save(str(tmp_path / "detail.png"))
    assert dialog.width() <= 1000  # the header and fields wrap; they do not widen the window off the screen
    assert not image.isNull()


def test_phone_photo_with_exif_rotation_shows_upright(tmp_path: Path):
    path = tmp_path / "竖拍照片.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view", as phones save portrait shots
    Image.new("RGB", (200, 100), "red").save(path, exif=exif)
    pixmap = load_photo(path)
    assert (pixmap.width(), pixmap.height()) == (100, 200)
    assert load_photo(tmp_path / "missing.jpg").isNull()


def test_thumbnails_are_decoded_small(qtbot, tmp_path):
    from PySide6.QtGui import QImage

    from app.ui.widgets.common import load_photo

    big = tmp_path / "大图.jpg"
    image = QImage(4000, 3000, QImage.Format.Format_RGB32)
    image.fill(0x336699)
    assert image.save(str(big))
    thumb = load_photo(big, max_side=192)
    assert (thumb.width(), thumb.height()) == (192, 144)
    assert load_photo(big).width() == 4000
    assert load_photo(tmp_path / "missing.jpg", max_side=192).isNull()
