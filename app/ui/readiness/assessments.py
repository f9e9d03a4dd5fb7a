"""自评 and 评估记录: record a dated assessment of a unit, and compare a unit's assessments year to year."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import ValidationError, XiangAnError
from app.models.readiness import ASSESSMENT_KINDS
from app.services import Services
from app.ui.hazards.detail import fit_screen
from app.ui.readiness.common import FAILED, PASSED, points, score_text, unit_status
from app.ui.widgets.common import RememberingDialog, button, error_label, show_error

KIND_TEXT = ASSESSMENT_KINDS  # self → 自评, county → 县级考核
HISTORY_COLUMNS = ("评估日期", "单位", "类型", "评估人", "得分", "结论", "标准版本", "备注")
NOTES_LIMIT = 2000


def unit_choices(services: Services) -> list[tuple[str, str]]:
    """(name, unit id) of the township and every village, in the overview's order."""
    summary = services.readiness.summary()
    return [(f"{summary.township.name}（乡镇）", summary.township.unit_id)] + [(v.name, v.unit_id)
                                                                            for v in summary.villages]


class SelfAssessmentDialog(RememberingDialog):
    """The score is the one evaluated today from the registers: the form adds who assessed, when and notes."""

    settings_key = "readiness_assessment_dialog"

    def __init__(self, services: Services, unit_id: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.saved_id = ""
        self.setWindowTitle("记录评估")
        self.unit_combo = QComboBox()
        self.unit_combo.setObjectName("unit_combo")
        for name, uid in unit_choices(services):
            self.unit_combo.addItem(name, uid)
        self.unit_combo.setCurrentIndex(max(0, self.unit_combo.findData(unit_id)))
        self.unit_combo.currentIndexChanged.connect(self.on_unit_changed)
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("kind_combo")
        for value, text in KIND_TEXT.items():
            self.kind_combo.addItem(text, value)
        self.date_edit = QDateEdit(QDate.currentDate())
        self.date_edit.setObjectName("date_edit")
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        self.date_edit.setMaximumDate(QDate.currentDate())
        self.assessor_edit = QLineEdit()
        self.assessor_edit.setObjectName("assessor_edit")
        self.assessor_edit.setPlaceholderText("评估人姓名，多人用顿号分隔")
        self.assessor_edit.setMaxLength(64)
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setObjectName("notes_edit")
        self.notes_edit.setPlaceholderText("评估意见、整改要求等")
        self.notes_edit.setFixedHeight(110)
        self.score_label = QLabel()
        self.score_label.setObjectName("score_label")
        self.score_label.setWordWrap(True)
        self.field_errors = {name: self._error() for name in ("unit", "assessed_on", "assessor", "notes")}
        self.form_error = error_label()

        form = QFormLayout()
        form.addRow("评估单位 *：", self._with_error(self.unit_combo, "unit"))
        form.addRow("评估类型 *：", self.kind_combo)
        form.addRow("评估日期 *：", self._with_error(self.date_edit, "assessed_on"))
        form.addRow("评估人 *：", self._with_error(self.assessor_edit, "assessor"))
        form.addRow("备注：", self._with_error(self.notes_edit, "notes"))
        form.addRow("当前得分：", self.score_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        save = buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setText("保存")
        save.setObjectName("save_button")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self.on_save_clicked)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form_error)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.resize(560, 400)
        self.on_unit_changed()

    @staticmethod
    def _error() -> QLabel:
        label = QLabel()
        label.setObjectName("fieldError")
        label.setWordWrap(True)
        label.hide()
        return label

    def _with_error(self, editor: QWidget, name: str) -> QWidget:
        cell = QWidget()
        column = QVBoxLayout(cell)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(editor)
        column.addWidget(self.field_errors[name])
        return cell

    def on_unit_changed(self) -> None:
        try:
            unit = self.services.readiness.unit(self.unit_combo.currentData())
        except XiangAnError as exc:
            self.score_label.setText(str(exc))
            return
        verdict = unit_status(unit)
        failing = [item.name for item in unit.items if not item.passed]
        detail = f"；未达标项：{'、'.join(failing)}" if failing else ""
        self.score_label.setText(f"{score_text(unit)}　{verdict.label}{detail}\n（按{unit.standard}，由台账自动评估）")

    def values(self) -> dict[str, Any]:
        return {"unit_id": self.unit_combo.currentData(), "kind": self.kind_combo.currentData(),
                "assessed_on": self.date_edit.date().toPython(), "assessor": self.assessor_edit.text().strip(),
                "notes": self.notes_edit.toPlainText().strip()}

    def check(self, values: dict[str, Any]) -> dict[str, str]:
        """What the officer can fix before the service is asked; the service checks again."""
        errors: dict[str, str] = {}
        if not values["assessor"]:
            errors["assessor"] = "必填，请填写评估人姓名"
        if values["assessed_on"] > date.today():
            errors["assessed_on"] = "不能晚于今天"
        if len(values["notes"]) > NOTES_LIMIT:
            errors["notes"] = f"不能超过{NOTES_LIMIT}个字（当前{len(values['notes'])}个）"
        return errors

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, label in self.field_errors.items():
            label.setText(errors.get(name, ""))
            label.setVisible(name in errors)
        unplaced = [text for name, text in errors.items() if name not in self.field_errors]
        count = len(errors) - len(unplaced)
        text = "；".join(unplaced) or (f"有{count}处需要修改，请看标红的项目。" if count else "")
        self.form_error.setText(text)
        self.form_error.setVisible(bool(text))

    def on_save_clicked(self) -> None:
        values = self.values()
        errors = self.check(values)
        if errors:
            self.show_errors(errors)
            return
        try:
            self.saved_id = self.services.readiness.record_assessment(
                values["unit_id"], values["kind"], values["assessed_on"], values["assessor"], values["notes"])
        except ValidationError as exc:
            self.show_errors({("unit" if k == "unit_id" else k): v for k, v in exc.errors.items()})
            return
        except XiangAnError as exc:
            self.show_errors({"_": str(exc)})
            return
        self.accept()


class AssessmentHistoryDialog(RememberingDialog):
    """Every recorded assessment, newest first; for one unit, its items side by side across the years."""

    settings_key = "readiness_history_dialog"

    def __init__(self, services: Services, unit_id: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.rows: list[Any] = []
        self.setWindowTitle("评估记录")
        self.unit_combo = QComboBox()
        self.unit_combo.setObjectName("unit_combo")
        self.unit_combo.addItem("全部单位", "*")
        for name, uid in unit_choices(services):
            self.unit_combo.addItem(name, uid)
        self.unit_combo.setCurrentIndex(max(0, self.unit_combo.findData(unit_id)))
        self.unit_combo.currentIndexChanged.connect(self.reload)
        self.history_table = self._table("history_table", HISTORY_COLUMNS)
        self.history_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.history_table.horizontalHeader().setSectionResizeMode(7, QHeaderView.ResizeMode.Stretch)
        for column, width in enumerate((96, 110, 76, 80, 76, 84, 170)):
            self.history_table.setColumnWidth(column, width)
        self.history_hint = QLabel()
        self.history_hint.setObjectName("hint")
        self.compare_table = self._table("compare_table", ("项目",))
        self.compare_hint = QLabel()
        self.compare_hint.setObjectName("hint")
        self.compare_hint.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(QLabel("单位："))
        top.addWidget(self.unit_combo)
        top.addSpacing(12)
        top.addWidget(self.history_hint, 1)
        lower = QWidget()
        column = QVBoxLayout(lower)
        column.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("逐项对比（各次评估）")
        heading.setObjectName("sectionTitle")
        column.addWidget(heading)
        column.addWidget(self.compare_hint)
        column.addWidget(self.compare_table, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.history_table)
        splitter.addWidget(lower)
        splitter.setSizes([240, 400])
        close = button("关闭", name="close_button")
        close.clicked.connect(self.accept)
        foot = QHBoxLayout()
        foot.addStretch(1)
        foot.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addLayout(foot)
        fit_screen(self, 980, 660)
        self.reload()

    @staticmethod
    def _table(name: str, columns: tuple[str, ...]) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setObjectName(name)
        table.setHorizontalHeaderLabels(columns)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setAlternatingRowColors(True)
        table.verticalHeader().hide()
        return table

    def reload(self) -> None:
        chosen = self.unit_combo.currentData()
        try:
            self.rows = (self.services.readiness.assessments() if chosen == "*"
                         else self.services.readiness.assessments(chosen))
        except XiangAnError as exc:
            show_error(self, str(exc))
            self.rows = []
        table = self.history_table
        table.setRowCount(len(self.rows))
        for row, a in enumerate(self.rows):
            verdict = PASSED if a.passed else FAILED
            cells = (a.assessed_on.isoformat(), a.unit_name, KIND_TEXT.get(a.kind, a.kind), a.assessor,
                     f"{points(a.score)}/{points(a.max_score)}", verdict.label, a.standard, a.notes)
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                if column == 5:
                    cell.setForeground(verdict.qcolour)
                table.setItem(row, column, cell)
        self.history_hint.setText(f"共 {len(self.rows)} 次评估，最新的在前" if self.rows
                                  else "尚无评估记录：在七有/五有页面点「自评」，按台账当前情况记录一次。")
        self._fill_comparison(chosen)

    def _fill_comparison(self, chosen: Any) -> None:
        """Rows are the items, columns the assessments oldest first, so a year's progress reads left to right."""
        table = self.compare_table
        if chosen == "*":
            table.setRowCount(0)
            table.setColumnCount(1)
            table.setHorizontalHeaderLabels(("项目",))
            self.compare_hint.setText("选择一个单位，可逐项对比它历次评估的结果。")
            self.compare_hint.show()
            return
        history = list(reversed(self.rows))
        self.compare_hint.setText("" if history else "该单位尚无评估记录。")
        self.compare_hint.setVisible(not history)
        names = list(dict.fromkeys(item.get("name", "") for a in history for item in a.items))
        table.setColumnCount(1 + len(history))
        table.setHorizontalHeaderLabels(["项目"] + [f"{a.assessed_on.isoformat()}\n{KIND_TEXT.get(a.kind, a.kind)}"
                                                    for a in history])
        table.setRowCount(len(names) + 1)
        for row, name in enumerate(names):
            table.setItem(row, 0, QTableWidgetItem(name))
            for column, a in enumerate(history, start=1):
                found = next((item for item in a.items if item.get("name") == name), None)
                table.setItem(row, column, self._result_cell(found))
        table.setItem(len(names), 0, QTableWidgetItem("总分"))
        for column, a in enumerate(history, start=1):
            verdict = PASSED if a.passed else FAILED
            total = QTableWidgetItem(f"{points(a.score)}/{points(a.max_score)} {verdict.label}")
            total.setForeground(verdict.qcolour)
            table.setItem(len(names), column, total)
        table.resizeColumnsToContents()

    @staticmethod
    def _result_cell(item: dict | None) -> QTableWidgetItem:
        if item is None:
            return QTableWidgetItem("—（当时标准无此项）")
        verdict = PASSED if item.get("passed") else FAILED
        score = item.get("score")
        text = verdict.label + (f" {points(score)}" if isinstance(score, (int, float)) else "")
        cell = QTableWidgetItem(text)
        cell.setForeground(verdict.qcolour)
        cell.setBackground(verdict.qbackground)
        gaps = item.get("gaps") or []
        if gaps:
            cell.setToolTip("\n".join(gaps))
        return cell
