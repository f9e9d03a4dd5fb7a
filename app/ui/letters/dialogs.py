"""Small dialogs of the 责任书 screens: signing, editing a letter's text and 控制指标, batch-print options,
the accident form, and the list of counterparties still to sign."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QScrollArea,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.models.letter_content import COMPARATORS, LetterContent, Target, target_wording
from app.models.letters import ACCIDENT_CATEGORIES, METRICS
from app.services import Services
from app.services.fields import Field, RegisterSpec
from app.services.letters import AccidentRow, KindCoverage, parse_threshold
from app.ui.widgets.common import RememberingDialog, button, error_label, exec_once
from app.ui.widgets.record_form import RecordDialog

ACCIDENT_FIELDS = (
    Field("occurred_at", "事故发生时间", required=True, hint="如 2026-05-01 14:30"),
    Field("place", "事故地点", max_length=200),
    Field("unit_name", "事故单位", kind="org", max_length=128),
    Field("village", "所在村/社区", kind="village"),
    Field("sector", "行业领域", kind="sector"),
    Field("category", "事故类别", kind="choice", choices=ACCIDENT_CATEGORIES, default="生产安全事故"),
    Field("account", "事故经过", kind="multiline", max_length=2000),
    Field("deaths", "死亡人数", hint="0"),
    Field("serious_injuries", "重伤人数", hint="0"),
    Field("direct_loss", "直接经济损失（元）", hint="0"),
    Field("reported_at", "报告时间", hint="如 2026-05-01 15:10"),
)
ACCIDENT_SPEC = RegisterSpec("accidents", "事故信息", object, ACCIDENT_FIELDS, ())


def _buttons(dialog: QDialog, ok_text: str, ok_name: str) -> QDialogButtonBox:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    ok = box.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(ok_text)
    ok.setObjectName(ok_name)
    box.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
    box.rejected.connect(dialog.reject)
    return box


def accident_dialog(parent: QWidget, services: Services, row: AccidentRow | None = None) -> str:
    """登记 (row None) or edit an accident; returns its id when saved, "" when cancelled."""
    accidents = services.accidents

    def save(values: dict[str, Any]) -> str:
        if row is None:
            return accidents.record(values)
        accidents.update(row.id, values)
        return row.id

    values = None
    if row is not None:
        values = {"occurred_at": row.occurred_at, "place": row.place, "unit_name": row.unit_name,
                  "village": row.village, "sector": row.sector, "category": row.category, "account": row.account,
                  "deaths": row.deaths, "serious_injuries": row.serious_injuries, "direct_loss": row.direct_loss,
                  "reported_at": row.reported_at}
    dialog = RecordDialog(ACCIDENT_SPEC, services.hazards.choices, save, values, parent)
    dialog.setWindowTitle("编辑事故信息" if row else "登记事故")
    if row is None:  # the unit is optional: an editable list would otherwise preselect the first enterprise
        unit = dialog.form.editors["unit_name"]
        if isinstance(unit, QComboBox):
            unit.setCurrentText("")
    exec_once(dialog)
    return dialog.saved_id


class SignDialog(QDialog):
    """登记签订: the date and who signed for each side."""

    def __init__(self, services: Services, letter_id: str, content: LetterContent, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("登记签订")
        self.services = services
        self.letter_id = letter_id
        self.signed_on_edit = QLineEdit(date.today().isoformat())
        self.signed_on_edit.setObjectName("signed_on_edit")
        self.signed_on_edit.setPlaceholderText("如 2026-02-15")
        self.signed_by_a_edit = QLineEdit(content.party_a.person)
        self.signed_by_a_edit.setObjectName("signed_by_a_edit")
        self.signed_by_b_edit = QLineEdit(content.party_b.person)
        self.signed_by_b_edit.setObjectName("signed_by_b_edit")
        self.error = error_label()
        form = QFormLayout()
        form.addRow("签订日期 *：", self.signed_on_edit)
        form.addRow(f"甲方签字人（{content.party_a.organisation}）*：", self.signed_by_a_edit)
        form.addRow(f"乙方签字人（{content.party_b.organisation}）*：", self.signed_by_b_edit)
        note = QLabel("签订后责任书内容即锁定，不能再修改；如需更正，只能作废重签。")
        note.setObjectName("pageSubtitle")
        note.setWordWrap(True)
        buttons = _buttons(self, "登记签订", "confirm_sign_button")
        buttons.accepted.connect(self.on_save)
        layout = QVBoxLayout(self)
        layout.addWidget(self.error)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(520, 220)

    def on_save(self) -> None:
        try:
            self.services.letters.sign(self.letter_id, self.signed_on_edit.text(), self.signed_by_a_edit.text(),
                                       self.signed_by_b_edit.text())
        except XiangAnError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.accept()


def _clauses(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class TargetsEditor(QWidget):
    """The 控制指标 as a table: metric, comparator, threshold, 一票否决 and the wording, one target per
    row, with adding and removing. Changing a target's figures rewrites its wording so the printed
    letter says what the 考核 checks; the wording can then still be edited."""

    COLUMNS = (("指标", 170), ("要求", 96), ("数值（金额为元）", 130), ("一票否决", 70), ("条文", 0))

    def __init__(self, targets: tuple[Target, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("targets_table")
        self.table.setHorizontalHeaderLabels([label for label, _w in self.COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setDefaultSectionSize(32)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for i, (_label, width) in enumerate(self.COLUMNS[:-1]):
            self.table.setColumnWidth(i, width)
        self.table.setMinimumHeight(236)  # six targets without scrolling
        self.add_button = button("添加指标", name="add_target_button")
        self.remove_button = button("删除所选指标", name="remove_target_button")
        self.add_button.clicked.connect(lambda: self.add_row(Target("accidents", "=", Decimal(0), "")))
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        for target in targets:
            self.add_row(target)

    def add_row(self, target: Target) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        metric = QComboBox()
        metric.setObjectName("metric_combo")
        for key, label in METRICS.items():
            metric.addItem(label, key)
        metric.setCurrentIndex(max(0, metric.findData(target.metric)))
        comparator = QComboBox()
        comparator.setObjectName("comparator_combo")
        for key, words in COMPARATORS.items():
            comparator.addItem(words, key)
        comparator.setCurrentIndex(max(0, comparator.findData(target.comparator)))
        threshold = QLineEdit(f"{target.threshold:f}")
        threshold.setObjectName("threshold_edit")
        veto = QCheckBox()
        veto.setObjectName("veto_check")
        veto.setChecked(target.veto)
        veto.setToolTip("该指标未完成的，年度考核实行一票否决")
        text = QLineEdit(target.text or self._wording(metric, comparator, threshold))
        text.setObjectName("target_text_edit")
        text.setCursorPosition(0)
        for c, widget in enumerate((metric, comparator, threshold, veto, text)):
            self.table.setCellWidget(row, c, widget)
        reword = lambda *_a: self._reword(metric, comparator, threshold, text)  # noqa: E731
        metric.currentIndexChanged.connect(reword)
        comparator.currentIndexChanged.connect(reword)
        threshold.textEdited.connect(reword)

    @staticmethod
    def _wording(metric: QComboBox, comparator: QComboBox, threshold: QLineEdit) -> str:
        try:
            value = parse_threshold(metric.currentData(), threshold.text())
        except ValueError:
            return ""
        return target_wording(metric.currentData(), comparator.currentData(), value)

    def _reword(self, metric: QComboBox, comparator: QComboBox, threshold: QLineEdit, text: QLineEdit) -> None:
        wording = self._wording(metric, comparator, threshold)
        if wording:  # an unfinished figure keeps the last wording until it reads as a number
            text.setText(wording)
            text.setCursorPosition(0)

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()}, reverse=True)
        if not rows and self.table.currentRow() >= 0:
            rows = [self.table.currentRow()]
        for row in rows:
            self.table.removeRow(row)

    def cell(self, row: int, column: int) -> Any:
        return self.table.cellWidget(row, column)

    def targets(self) -> list[dict[str, Any]]:
        """The rows as the service takes them (it checks every figure and names the row)."""
        return [{"metric": self.cell(r, 0).currentData(), "comparator": self.cell(r, 1).currentData(),
                 "threshold": self.cell(r, 2).text(), "veto": self.cell(r, 3).isChecked(),
                 "text": self.cell(r, 4).text()} for r in range(self.table.rowCount())]


class EditLetterDialog(RememberingDialog):
    """The letter's text — preamble, each section's clauses (one per line), the closing — and its
    控制指标 (structured: what the year-end 考核 checks). The 控制指标 section of the text is the
    targets' wording, so it is edited in the targets table."""

    settings_key = "letter_edit_dialog"

    def __init__(self, services: Services, letter_id: str, content: LetterContent, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"编辑责任书 {content.number}")
        self.services = services
        self.letter_id = letter_id
        self.content = content
        self.saved = False
        self.error = error_label()
        body = QWidget()
        form = QFormLayout(body)
        self.preamble_edit = self._text(content.preamble, "preamble_edit", 90)
        form.addRow("前言：", self.preamble_edit)
        self.targets_editor = TargetsEditor(content.targets)
        form.addRow("控制指标：", self.targets_editor)
        self.section_edits: list[QPlainTextEdit] = []
        for i, section in enumerate(content.sections):
            if i == 0 and content.targets:
                continue  # the 控制指标 section is the targets above
            edit = self._text("\n".join(section.clauses), f"section_edit_{i}", 150)
            self.section_edits.append(edit)
            form.addRow(f"{section.heading}：", edit)
        self.closing_edit = self._text(content.closing, "closing_edit", 50)
        form.addRow("结尾：", self.closing_edit)
        hint = QLabel("每行一条条款。控制指标决定年终考核：改数值后条文随之改写，可再修改条文；"
                      "直接经济损失以元为单位（可写 300万）。")
        hint.setObjectName("pageSubtitle")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        buttons = _buttons(self, "保存", "save_button")
        buttons.accepted.connect(self.on_save)
        layout = QVBoxLayout(self)
        layout.addWidget(self.error)
        layout.addWidget(hint)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)
        self.resize(760, 640)

    @staticmethod
    def _text(text: str, name: str, height: int) -> QPlainTextEdit:
        edit = QPlainTextEdit(text)
        edit.setObjectName(name)
        edit.setMinimumHeight(height)
        return edit

    def changes(self) -> dict[str, Any]:
        """What the dialog shows, as the service's ``edit`` takes it; the service keeps the 控制指标
        section in step with the targets."""
        content = self.content
        edits = iter(self.section_edits)
        sections = []
        for i, section in enumerate(content.sections):
            clauses = list(section.clauses) if i == 0 and content.targets else _clauses(next(edits).toPlainText())
            sections.append({"heading": section.heading, "clauses": clauses})
        return {"preamble": self.preamble_edit.toPlainText(), "targets": self.targets_editor.targets(),
                "sections": sections, "closing": self.closing_edit.toPlainText()}

    def on_save(self) -> None:
        try:
            self.services.letters.edit(self.letter_id, self.changes())
        except XiangAnError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.saved = True
        self.accept()


class CopiesDialog(QDialog):
    """批量打印: 一式两份 in one file per letter, or each copy as its own file."""

    def __init__(self, count: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("批量打印责任书")
        self.one_file = QRadioButton("每份责任书一个文件，内含甲方存、乙方存两份（一式两份）")
        self.one_file.setObjectName("one_file_radio")
        self.separate = QRadioButton("甲方存、乙方存分成两个文件")
        self.separate.setObjectName("separate_radio")
        self.one_file.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.one_file)
        group.addButton(self.separate)
        buttons = _buttons(self, "选择文件夹并生成", "confirm_print_button")
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"将为 {count} 份责任书生成 PDF 文件："))
        layout.addWidget(self.one_file)
        layout.addWidget(self.separate)
        layout.addWidget(buttons)


class ListDialog(QDialog):
    """A read-only list of lines (unsigned counterparties, generation problems)."""

    def __init__(self, title: str, intro: str, lines: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.text = text = QPlainTextEdit("\n".join(lines))
        text.setObjectName("list_text")
        text.setReadOnly(True)
        self.intro = label = QLabel(intro)
        label.setWordWrap(True)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(text, 1)
        layout.addWidget(box)
        self.resize(520, 420)


def unsigned_lines(coverage: KindCoverage) -> list[str]:
    return [f"{u['name']}　{u['status']}{'　' + u['number'] if u.get('number') else ''}" for u in coverage.unsigned]


def show_list(parent: QWidget, title: str, intro: str, lines: list[str],
              on_open: Callable[[ListDialog], None] | None = None) -> None:
    dialog = ListDialog(title, intro, lines, parent)
    if on_open is not None:
        on_open(dialog)
    exec_once(dialog)
