"""Organisation registers clicked through the real widgets."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QPushButton

from app.services import Services
from app.ui.widgets.record_form import RecordDialog
from app.ui.widgets.register_view import RegisterView
from tests.conftest import READER
from tests.ui.conftest import type_into


def _view(qtbot, services: Services, kind: str, can_write: bool = True) -> RegisterView:
    view = RegisterView(lambda: services.register(kind), can_write)
    qtbot.addWidget(view)
    view.show()
    return view


def _type(qtbot, dialog: RecordDialog, values: dict[str, str]) -> None:
    for name, text in values.items():
        editor = dialog.form.editors[name]
        if isinstance(editor, QLineEdit):
            editor.clear()
            type_into(qtbot, editor, text)
        else:
            editor.setCurrentText(text)


def _save(qtbot, dialog: RecordDialog) -> None:
    qtbot.mouseClick(dialog.findChild(QPushButton, "save_button"), Qt.MouseButton.LeftButton)


def test_add_village_through_the_form_shows_it_in_the_table(qtbot, services, drive):
    view = _view(qtbot, services, "villages")
    drive(RecordDialog, lambda d: (_type(qtbot, d, {"name": "石桥村", "head_phone": "138 0013 8000",
                                                    "population": "1,500"}), _save(qtbot, d)))
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    assert view.model.rowCount() == 1
    row = view.model.record(0)
    assert row["name"] == "石桥村"
    assert row["head_phone"] == "13800138000"
    assert row["population"] == 1500
    assert view.count_label.text() == "共 1 条"


def test_invalid_input_keeps_the_dialog_open_with_what_was_typed(qtbot, services, drive):
    view = _view(qtbot, services, "enterprises")
    seen = {}

    def act(dialog: RecordDialog) -> None:
        _type(qtbot, dialog, {"name": "青山建材厂", "credit_code": "91350100M000100Y44", "phone": "12345"})
        _save(qtbot, dialog)
        seen["open"] = dialog.isVisible()
        seen["credit_error"] = dialog.form.errors["credit_code"].text()
        seen["phone_error"] = dialog.form.errors["phone"].text()
        seen["name_kept"] = dialog.form.editors["name"].text()
        dialog.reject()

    drive(RecordDialog, act)
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)
    assert seen["open"] is True
    assert "校验位错误" in seen["credit_error"]
    assert "电话" in seen["phone_error"]
    assert seen["name_kept"] == "青山建材厂"
    assert view.model.rowCount() == 0


def test_edit_and_delete_selected_row(qtbot, services, drive, messages):
    services.register("units").save({"name": "青山派出所", "kind": "派出所"})
    view = _view(qtbot, services, "units")
    view.table.selectRow(0)
    drive(RecordDialog, lambda d: (_type(qtbot, d, {"head_name": "李所长"}), _save(qtbot, d)))
    qtbot.mouseClick(view.edit_button, Qt.MouseButton.LeftButton)
    assert view.model.record(0)["head_name"] == "李所长"
    view.table.selectRow(0)
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    assert messages and messages[-1][0] == "question"
    assert view.model.rowCount() == 0
    assert services.register("units").count() == 0


def test_search_and_filter_narrow_the_list(qtbot, services):
    villages = services.register("villages")
    villages.save({"name": "石桥村"})
    villages.save({"name": "城东社区", "kind": "社区"})
    view = _view(qtbot, services, "villages")
    assert view.model.rowCount() == 2
    type_into(qtbot, view.search_edit, "石桥")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1)
    assert view.model.record(0)["name"] == "石桥村"
    view.search_edit.clear()
    qtbot.waitUntil(lambda: view.model.rowCount() == 2)
    view.filters["kind"].setCurrentIndex(view.filters["kind"].findData("社区"))
    assert view.model.rowCount() == 1
    assert view.model.record(0)["name"] == "城东社区"


def test_sorting_by_header_click(qtbot, services):
    villages = services.register("villages")
    for name, population in (("甲村", "300"), ("乙村", "900"), ("丙村", "600")):
        villages.save({"name": name, "population": population})
    view = _view(qtbot, services, "villages")
    column = [c[0] for c in view.model.columns].index("population")
    view.on_header_clicked(column)
    assert [view.model.record(i)["population"] for i in range(3)] == [300, 600, 900]
    view.on_header_clicked(column)
    assert [view.model.record(i)["population"] for i in range(3)] == [900, 600, 300]


def test_read_only_account_cannot_add_or_delete(qtbot, services):
    reader = Services(services.db, READER)
    view = _view(qtbot, reader, "villages", can_write=reader.actor.role.can_write)
    assert not view.add_button.isEnabled()
    assert not view.delete_button.isEnabled()
    assert view.edit_button.isEnabled()  # to look at a record
