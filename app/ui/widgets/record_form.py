"""A form generated from a register's field list, with the problem shown under each field.

The same Field definitions drive the service's validation, so a message always lands on the field it
is about, and whatever the user typed stays in the form until it saves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.errors import ValidationError, XiangAnError
from app.services.fields import Field, RegisterSpec
from app.ui.widgets.common import RememberingDialog, error_label

ChoicesFn = Callable[[str], list[str]]


def _combo(choices: list[str], editable: bool, allow_blank: bool) -> QComboBox:
    combo = QComboBox()
    combo.setEditable(editable)
    combo.addItems(([""] if allow_blank else []) + choices)
    combo.setMaxVisibleItems(20)
    return combo


class RolesEditor(QWidget):
    def __init__(self, choices: tuple[str, ...]) -> None:
        super().__init__()
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.boxes = [QCheckBox(choice) for choice in choices]
        for i, box in enumerate(self.boxes):
            grid.addWidget(box, i // 4, i % 4)

    def value(self) -> list[str]:
        return [b.text() for b in self.boxes if b.isChecked()]

    def set_value(self, value: Any) -> None:
        chosen = set(value if isinstance(value, list) else [r for r in str(value or "").split("、") if r])
        for b in self.boxes:
            b.setChecked(b.text() in chosen)


class RecordForm(QWidget):
    def __init__(self, spec: RegisterSpec, choices: ChoicesFn, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        layout = QFormLayout(self)
        layout.setVerticalSpacing(4)
        for f in spec.fields:
            editor = self._editor(f, choices)
            editor.setObjectName(f"{f.name}_edit")
            self.editors[f.name] = editor
            error = QLabel()
            error.setObjectName("fieldError")
            error.setWordWrap(True)
            error.hide()
            self.errors[f.name] = error
            cell = QWidget()
            column = QVBoxLayout(cell)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            column.addWidget(editor)
            column.addWidget(error)
            layout.addRow(f"{f.label}{' *' if f.required else ''}：", cell)

    def _editor(self, f: Field, choices: ChoicesFn) -> QWidget:
        if f.kind == "multiline":
            editor = QPlainTextEdit()
            editor.setFixedHeight(64)
            return editor
        if f.kind == "roles":
            return RolesEditor(f.choices)
        if f.kind == "choice":
            return _combo(list(f.choices), editable=False, allow_blank=not f.default)
        if f.kind in ("village", "sector", "team", "plan"):
            return _combo(choices(f.name), editable=False, allow_blank=True)
        if f.kind in ("org", "contact"):
            return _combo(choices(f.name), editable=True, allow_blank=False)
        editor = QLineEdit()
        editor.setPlaceholderText(f.hint)
        editor.setMaxLength(max(f.max_length, 40))
        return editor

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, editor in self.editors.items():
            if isinstance(editor, QLineEdit):
                out[name] = editor.text()
            elif isinstance(editor, QPlainTextEdit):
                out[name] = editor.toPlainText()
            elif isinstance(editor, QComboBox):
                out[name] = editor.currentText()
            elif isinstance(editor, RolesEditor):
                out[name] = editor.value()
        return out

    def set_values(self, values: dict[str, Any]) -> None:
        for name, editor in self.editors.items():
            value = values.get(name)
            text = "" if value is None else str(value)
            if isinstance(editor, QLineEdit):
                editor.setText(text)
            elif isinstance(editor, QPlainTextEdit):
                editor.setPlainText(text)
            elif isinstance(editor, QComboBox):
                if text and editor.findText(text) < 0:
                    editor.addItem(text)  # e.g. a sector code no longer in the county's list
                if editor.isEditable():
                    editor.setCurrentText(text)
                else:
                    editor.setCurrentIndex(editor.findText(text))
            elif isinstance(editor, RolesEditor):
                editor.set_value(value)

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, label in self.errors.items():
            problem = errors.get(name, "")
            label.setText(problem)
            label.setVisible(bool(problem))
            editor = self.editors[name]
            editor.setProperty("invalid", bool(problem))
            editor.style().unpolish(editor)
            editor.style().polish(editor)
        first = next((self.editors[n] for n in self.editors if n in errors), None)
        if first is not None:
            first.setFocus()


class RecordDialog(RememberingDialog):
    """Add/edit one record. The dialog stays open, with everything typed, until the save succeeds."""

    def __init__(self, spec: RegisterSpec, choices: ChoicesFn, save: Callable[[dict[str, Any]], str],
                 values: dict[str, Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings_key = f"record_dialog/{spec.kind}"
        self.setWindowTitle(f"{'编辑' if values else '新增'}{spec.title}")
        self._save = save
        self.saved_id = ""
        self.form = RecordForm(spec, choices)
        if values:
            self.form.set_values(values)
        self.form_error = error_label()
        content = QWidget()
        column = QVBoxLayout(content)
        column.addWidget(self.form)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(content)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText("保存")
        buttons.button(QDialogButtonBox.StandardButton.Save).setObjectName("save_button")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self.on_save_clicked)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form_error)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)
        self.resize(580, min(140 + 44 * len(spec.fields), 700))

    def on_save_clicked(self) -> None:
        try:
            self.saved_id = self._save(self.form.values())
        except ValidationError as exc:
            field_errors = {k: v for k, v in exc.errors.items() if k in self.form.editors}
            self.form.show_errors(field_errors)
            self._show_form_error("" if len(field_errors) == len(exc.errors) else str(exc),
                                  len(field_errors))
            return
        except XiangAnError as exc:
            self._show_form_error(str(exc), 0)
            return
        self.accept()

    def _show_form_error(self, text: str, field_count: int) -> None:
        if field_count and not text:
            text = f"有{field_count}处需要修改，请看标红的项目。"
        self.form_error.setText(text)
        self.form_error.setVisible(bool(text))
