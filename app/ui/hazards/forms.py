"""The form of one lifecycle step (登记, 交办, 开始整改, …): only that step's fields, sensibly prefilled,
with a photo picker where the step takes photos. Errors stay on the form, next to their field."""

from __future__ import annotations

from datetime import date
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCompleter,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.models import HazardAction
from app.models.hazards import MAJOR
from app.services import Services
from app.services.hazards import PHOTO_ROLES, HazardDetail, HazardService, step_spec
from app.ui.style import WARNING
from app.ui.widgets.common import button, load_photo, show_error, ui_settings
from app.ui.widgets.record_form import RecordDialog

A = HazardAction
PHOTO_LABELS = {"before": "整改前照片", "after": "整改后照片", "review": "验收照片"}
IMAGE_FILTER = "图片 (*.jpg *.jpeg *.png *.bmp *.gif *.tif *.tiff *.webp);;所有文件 (*)"
# Dates of the paper being filled in today; a step's form opens with them set to today.
TODAY_FIELDS = frozenset({"found_on", "notice_issued_on", "completed_on", "reviewed_on", "closed_on",
                          "extension_requested_on", "event_date"})
THUMB = 56


class PhotoPicker(QWidget):
    """Photos chosen for a step, shown as small thumbnails until the step is saved."""

    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = label
        self.files: list[Path] = []
        self.add_button = button("添加照片…", name="add_photos_button")
        self.add_button.clicked.connect(self.on_add_clicked)
        self.clear_button = button("清除", name="clear_photos_button")
        self.clear_button.clicked.connect(self.on_clear_clicked)
        self.summary = QLabel()
        self.summary.setObjectName("hint")
        self.thumbs = QHBoxLayout()
        self.thumbs.setSpacing(4)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addLayout(self.thumbs)
        row.addWidget(self.add_button)
        row.addWidget(self.clear_button)
        row.addWidget(self.summary, 1)
        self._refresh()

    def on_add_clicked(self) -> None:
        settings = ui_settings()
        folder = str(settings.value("photos/folder", str(Path.home())))
        paths, _f = QFileDialog.getOpenFileNames(self, f"选择{self.label}", folder, IMAGE_FILTER)
        if not paths:
            return
        settings.setValue("photos/folder", str(Path(paths[0]).parent))
        for p in map(Path, paths):
            if p not in self.files:
                self.files.append(p)
        self._refresh()

    def on_clear_clicked(self) -> None:
        self.files = []
        self._refresh()

    def _refresh(self) -> None:
        while self.thumbs.count():
            widget = self.thumbs.takeAt(0).widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        for path in self.files[:6]:
            thumb = QLabel()
            thumb.setFixedSize(THUMB, THUMB)
            thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
            thumb.setStyleSheet("border: 1px solid #dde3ea; background: white;")
            pixmap = load_photo(path, max_side=THUMB * 2)
            if pixmap.isNull():
                thumb.setText("?")
            else:
                thumb.setPixmap(pixmap.scaled(THUMB - 2, THUMB - 2, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))
            thumb.setToolTip(path.name)
            self.thumbs.addWidget(thumb)
        count = len(self.files)
        self.summary.setText(f"已选 {count} 张" if count else "可选，JPG、PNG 等图片，可多选")
        self.clear_button.setVisible(bool(count))


def prefill(action: HazardAction, detail: HazardDetail | None, reviewer: str = "") -> dict[str, Any]:
    """What a step's form shows when it opens: today's date for the paper's date, the current deadline,
    what is already known about the hazard, and the extension that was asked for."""
    current = detail.values if detail else {}
    today = date.today().isoformat()
    values: dict[str, Any] = {}
    for f in step_spec(action).fields:
        if action is A.EDIT or action is A.START:
            value = current.get(f.name, "")
        elif f.name in TODAY_FIELDS:
            value = today
        elif f.name == "deadline":
            value = current.get("deadline", "")
        elif f.name == "reviewer":
            value = current.get("reviewer") or reviewer
        elif f.name in ("requested_deadline", "new_deadline") and detail is not None:
            value = next((e.data.get("requested_deadline", "") for e in reversed(detail.events)
                          if e.action == A.REQUEST_EXTENSION.value), "")
        else:
            value = ""
        values[f.name] = value or f.default
    return values


class StepDialog(RecordDialog):
    """登记 a new hazard (``detail`` None) or carry out ``action`` on the hazard ``detail`` describes."""

    def __init__(self, service: HazardService, action: HazardAction, detail: HazardDetail | None = None,
                 parent: QWidget | None = None) -> None:
        self.service = service
        self.action = action
        self.hazard_id = detail.id if detail else ""
        spec = step_spec(action)
        super().__init__(spec, service.choices, self._save_step,
                         prefill(action, detail, service.actor.display_name or service.actor.username), parent)
        self.setObjectName(f"{spec.kind}_dialog")
        if detail is None:
            self.setWindowTitle("登记隐患")
        else:
            v = detail.values
            verb = "修改隐患信息" if action is A.EDIT else action.value
            self.setWindowTitle(f"{verb} — 隐患 {v['number']} {v['unit_name']}")
        self.photos: PhotoPicker | None = None
        role = PHOTO_ROLES.get(action)
        if role:
            self._add_photo_row(PHOTO_LABELS[role])
        self._add_context(detail)
        self._add_hint(action, detail)
        self._complete_units()
        for f in spec.fields:
            editor = self.form.editors[f.name]
            if f.kind == "date" and isinstance(editor, QLineEdit) and not f.hint:
                editor.setPlaceholderText("年-月-日，如 2026-12-31")
            elif f.hint and isinstance(editor, QPlainTextEdit):
                editor.setPlaceholderText(f.hint)
        self._fit_height()

    def _add_photo_row(self, label: str) -> None:
        self.photos = PhotoPicker(label)
        self.photos.setObjectName("photos_edit")
        error = QLabel()
        error.setObjectName("fieldError")
        error.setWordWrap(True)
        error.hide()
        cell = QWidget()
        column = QVBoxLayout(cell)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.photos)
        column.addWidget(error)
        # Registered like a field so a bad file's message lands under the picker.
        self.form.editors["photos"] = self.photos
        self.form.errors["photos"] = error
        layout = self.form.layout()
        assert isinstance(layout, QFormLayout)
        # Photos of what was found belong next to its description, not below the remarks.
        description = self.form.editors.get("description")
        row = layout.getWidgetPosition(description.parentWidget())[0] + 1 if description else layout.rowCount()
        layout.insertRow(row, f"{label}：", cell)

    def _fit_height(self) -> None:
        """Tall enough for the whole form where the screen allows, so short steps need no scrolling."""
        layout = self.layout()
        above = sum(layout.itemAt(i).sizeHint().height() + layout.spacing() for i in range(layout.count() - 2))
        wanted = above + self.form.sizeHint().height() + 64
        self.resize(660, min(max(wanted, 300), 760))

    def _add_context(self, detail: HazardDetail | None) -> None:
        """Which hazard the step is for, as the paper on the desk says it."""
        if detail is None:
            text = "带 * 的必须填写。整改时限不填时，按县里下发的时限规则自动计算。"
        else:
            v = detail.values
            description = v.get("description", "").replace("\n", " ")
            if len(description) > 60:
                description = description[:60] + "…"
            text = (f"<b>隐患 {v['number']}&emsp;{escape(v['unit_name'])}</b>&emsp;{v.get('level', '')}隐患<br>"
                    f"{escape(description)}<br>"
                    f"<span style='color:#5b6b7f'>当前状态：{v['status']}&emsp;"
                    f"整改时限：{v.get('deadline') or '未定'}</span>")
        context = QLabel(text)
        context.setObjectName("step_context")
        context.setWordWrap(True)
        context.setStyleSheet("#step_context { background: white; border: 1px solid #dde3ea; border-radius: 6px;"
                              " padding: 8px 10px; }")
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(0, context)

    def _add_hint(self, action: HazardAction, detail: HazardDetail | None) -> None:
        text = ""
        if action is A.START and detail is not None and detail.values.get("level") == MAJOR:
            text = "这是重大隐患：整改措施、责任单位、责任人、整改资金、整改时限、应急预案（五到位）都要填写，才能开始整改。"
        elif action is A.REJECT:
            text = "验收不通过：隐患退回「整改中」，请在验收意见中写明需要继续整改的问题。"
        elif action is A.CLOSE:
            text = "销号后隐患归档，不能再修改。"
        if not text:
            return
        hint = QLabel(text)
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {WARNING};" if action is A.START else "")
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(1, hint)

    def _complete_units(self) -> None:
        """Units already in the 企业 register are offered as one types, so the ledger links them."""
        editor = self.form.editors.get("unit_name")
        if not isinstance(editor, QLineEdit):
            return
        try:
            names = self.service.choices("unit_name")
        except XiangAnError:
            return
        completer = QCompleter(names, editor)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        editor.setCompleter(completer)

    def _save_step(self, values: dict[str, Any]) -> str:
        files = list(self.photos.files) if self.photos else []
        if self.action is A.REGISTER:
            return self.service.register(values, files)
        self.service.act(self.hazard_id, self.action, values, files)
        return self.hazard_id


def register_hazard(parent: QWidget, services: Services) -> str:
    """Open the 登记 form; the new hazard's id, or "" when cancelled."""
    try:
        dialog = StepDialog(services.hazards, A.REGISTER, None, parent)
    except XiangAnError as exc:
        show_error(parent, str(exc))
        return ""
    return dialog.saved_id if dialog.exec() else ""
