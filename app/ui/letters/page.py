"""安全生产目标责任书: the year's coverage by counterparty type, the letters with filters, generating and
batch-printing a year's letters off the UI thread, and the 事故信息 register the 考核 is computed from."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.models.letters import COUNTERPARTY_KINDS, STATUS_ORDER
from app.services import Services
from app.services.letters import AccidentRow, GenerationResult, KindCoverage, LetterRow
from app.ui.letters.detail import LetterDetailDialog, status_text
from app.ui.letters.dialogs import CopiesDialog, accident_dialog, show_list, unsigned_lines
from app.ui.letters.templates import TemplatesDialog
from app.ui.widgets.common import button, confirm, exec_once, page_header, show_error, show_info, ui_settings
from app.ui.widgets.progress import run_with_progress

LETTER_COLUMNS = (("number", "编号", 190), ("counterparty", "责任单位", 260), ("kind", "类型", 90),
                  ("status", "状态", 130), ("signed_on", "签订日期", 100))
ACCIDENT_COLUMNS = (("occurred_at", "发生时间", 130), ("where", "单位/地点", 300), ("village", "村/社区", 90),
                    ("category", "类别", 100), ("deaths", "死亡", 50), ("serious_injuries", "重伤", 50),
                    ("direct_loss", "直接损失（元）", 110), ("grade", "等级", 70), ("reported_at", "报告时间", 130))


def _table(name: str, columns: tuple[tuple[str, str, int], ...], multi: bool = False) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels([label for _k, label, _w in columns])
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection if multi
                           else QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(28)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    table.horizontalHeader().setStretchLastSection(True)
    for i, (_k, _label, width) in enumerate(columns):
        table.setColumnWidth(i, width)
    return table


def _fill(table: QTableWidget, rows: list[tuple[str, list[str]]]) -> None:
    table.setRowCount(len(rows))
    for r, (row_id, cells) in enumerate(rows):
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            if c == 0:
                item.setData(Qt.ItemDataRole.UserRole, row_id)
            table.setItem(r, c, item)


def _selected_ids(table: QTableWidget) -> list[str]:
    rows = sorted({index.row() for index in table.selectionModel().selectedRows()})
    return [table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in rows]


def _all_ids(table: QTableWidget) -> list[str]:
    return [table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(table.rowCount())]


class CoverageCard(QFrame):
    def __init__(self, kind: str, on_list) -> None:
        super().__init__()
        self.setObjectName("card")
        self.kind = kind
        self.title = QLabel(COUNTERPARTY_KINDS[kind])
        self.title.setObjectName("cardLabel")
        self.value = QLabel()
        self.value.setObjectName("cardValue")
        self.detail = QLabel()
        self.detail.setObjectName("cardLabel")
        self.list_button = button("未签名单", name=f"unsigned_{kind}_button")
        self.list_button.clicked.connect(lambda: on_list(kind))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 8, 10, 8)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        texts.addWidget(self.title)
        texts.addWidget(self.value)
        texts.addWidget(self.detail)
        layout.addLayout(texts, 1)
        layout.addWidget(self.list_button, 0, Qt.AlignmentFlag.AlignBottom)

    def show_coverage(self, cov: KindCoverage) -> None:
        self.value.setText(f"已签订 {cov.signed} / 共 {cov.total}")
        self.detail.setText(f"已打印 {cov.printed}　草稿 {cov.draft}　未生成 {cov.not_generated}")
        self.list_button.setEnabled(bool(cov.unsigned))


class LettersPage(QWidget):
    changed = Signal()

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.can_write = services.actor.role.can_write
        self.coverage: dict[str, KindCoverage] = {}

        self.year_combo = QComboBox()
        self.year_combo.setObjectName("year_combo")
        self.year_combo.currentIndexChanged.connect(lambda _i: self.refresh_all())
        self.generate_button = button("生成本年度责任书", primary=True, name="generate_button")
        self.generate_button.setToolTip("为所选年度尚无责任书的每个村（社区）、企业和站所生成草稿")
        self.generate_button.clicked.connect(self.on_generate_clicked)
        self.generate_button.setVisible(self.can_write)
        self.batch_print_button = button("批量打印", name="batch_print_button")
        self.batch_print_button.setToolTip("为选中的责任书（未选中则为列表中全部）生成 PDF 文件到一个文件夹")
        self.batch_print_button.clicked.connect(self.on_batch_print_clicked)
        self.templates_button = button("模板管理", name="templates_button")
        self.templates_button.setToolTip("查看责任书模板、选定本年度使用的模板版本、导入县里下发的模板")
        self.templates_button.clicked.connect(self.on_templates_clicked)
        self.template_label = QLabel()
        self.template_label.setObjectName("template_label")

        self.cards = {kind: CoverageCard(kind, self.on_unsigned_clicked) for kind in COUNTERPARTY_KINDS}

        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("search_edit")
        self.search_edit.setPlaceholderText("搜索编号或责任单位")
        self.search_edit.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.reload_letters)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.kind_filter = self._combo("kind_filter", [("全部类型", "")]
                                       + [(label, kind) for kind, label in COUNTERPARTY_KINDS.items()])
        self.status_filter = self._combo("status_filter", [("全部状态", "")] + [(s, s) for s in STATUS_ORDER])
        self.letter_table = _table("letter_table", LETTER_COLUMNS, multi=True)
        self.letter_table.doubleClicked.connect(lambda _i: self.on_open_clicked())
        self.open_button = button("查看/处理", name="open_button")
        self.open_button.clicked.connect(self.on_open_clicked)
        self.count_label = QLabel()
        self.count_label.setObjectName("count_label")

        letters_tab = QWidget()
        filters = QHBoxLayout()
        filters.addWidget(self.search_edit, 3)
        filters.addWidget(self.kind_filter, 1)
        filters.addWidget(self.status_filter, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count_label, 1)
        bottom.addWidget(self.open_button)
        column = QVBoxLayout(letters_tab)
        column.addLayout(filters)
        column.addWidget(self.letter_table, 1)
        column.addLayout(bottom)

        self.accident_table = _table("accident_table", ACCIDENT_COLUMNS)
        self.accident_table.doubleClicked.connect(lambda _i: self.on_edit_accident_clicked())
        self.record_accident_button = button("登记事故", primary=True, name="record_accident_button")
        self.edit_accident_button = button("编辑", name="edit_accident_button")
        self.delete_accident_button = button("删除", danger=True, name="delete_accident_button")
        self.delete_accident_button.setToolTip("删除误登记的事故（保留删除记录）；年终考核不再计入")
        self.record_accident_button.clicked.connect(self.on_record_accident_clicked)
        self.edit_accident_button.clicked.connect(self.on_edit_accident_clicked)
        self.delete_accident_button.clicked.connect(self.on_delete_accident_clicked)
        for b in (self.record_accident_button, self.edit_accident_button, self.delete_accident_button):
            b.setVisible(self.can_write)
        self.accident_count = QLabel()
        self.accident_count.setObjectName("accident_count")
        accidents_tab = QWidget()
        acc_bottom = QHBoxLayout()
        acc_bottom.addWidget(self.accident_count, 1)
        acc_bottom.addWidget(self.record_accident_button)
        acc_bottom.addWidget(self.edit_accident_button)
        acc_bottom.addWidget(self.delete_accident_button)
        acc_column = QVBoxLayout(accidents_tab)
        hint = QLabel("年终考核按本年度登记的事故计算各责任书的控制指标；事故等级按《生产安全事故报告和调查处理条例》自动判定。")
        hint.setObjectName("pageSubtitle")
        hint.setWordWrap(True)
        acc_column.addWidget(hint)
        acc_column.addWidget(self.accident_table, 1)
        acc_column.addLayout(acc_bottom)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("letters_tabs")
        self.tabs.addTab(letters_tab, "责任书")
        self.tabs.addTab(accidents_tab, "事故信息")

        year_row = QWidget()
        year_layout = QHBoxLayout(year_row)
        year_layout.setContentsMargins(0, 0, 0, 0)
        year_layout.addWidget(QLabel("年度："))
        year_layout.addWidget(self.year_combo)
        year_layout.addWidget(self.template_label)
        cards = QHBoxLayout()
        for card in self.cards.values():
            cards.addWidget(card, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(page_header(
            "安全生产目标责任书", "每年与村（社区）、企业、站所逐一签订；签订后锁定，年终按事故信息考核",
            [year_row, self.templates_button, self.generate_button, self.batch_print_button]))
        layout.addLayout(cards)
        layout.addWidget(self.tabs, 1)
        self.refresh_years()
        self.refresh_all()

    def _combo(self, name: str, items: list[tuple[str, str]]) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        for text, data in items:
            combo.addItem(text, data)
        combo.currentIndexChanged.connect(lambda _i: self.reload_letters())
        return combo

    # -- data ------------------------------------------------------------------------------
    def year(self) -> int:
        return int(self.year_combo.currentData() or date.today().year)

    def refresh_years(self) -> None:
        try:
            years = set(self.services.letters.years())
        except XiangAnError:
            years = set()
        this_year = date.today().year
        years |= {this_year, this_year + 1}
        current = self.year_combo.currentData() or this_year
        self.year_combo.blockSignals(True)
        self.year_combo.clear()
        for y in sorted(years, reverse=True):
            self.year_combo.addItem(f"{y}年", y)
        self.year_combo.setCurrentIndex(max(0, self.year_combo.findData(current)))
        self.year_combo.blockSignals(False)

    def refresh(self) -> None:
        self.refresh_years()
        self.refresh_all()

    def apply_filter(self, view: str) -> None:
        """The 工作台's 「尚未签订」 item: this year, every letter, coverage cards on top."""
        if view == "unsigned":
            for w in (self.search_edit, self.kind_filter, self.status_filter, self.year_combo):
                w.blockSignals(True)
            self.search_edit.clear()
            self.kind_filter.setCurrentIndex(0)
            self.status_filter.setCurrentIndex(0)
            self.year_combo.setCurrentIndex(max(0, self.year_combo.findData(date.today().year)))
            for w in (self.search_edit, self.kind_filter, self.status_filter, self.year_combo):
                w.blockSignals(False)
            self.tabs.setCurrentIndex(0)
            self.refresh_all()

    def refresh_all(self) -> None:
        self.reload_template_label()
        self.reload_coverage()
        self.reload_letters()
        self.reload_accidents()

    def reload_template_label(self) -> None:
        try:
            choice = self.services.letters.year_template(self.year())
        except XiangAnError as exc:
            self.template_label.setText("模板有误")  # the bundled default itself is unreadable
            self.template_label.setToolTip(str(exc))
            return
        self.template_label.setText(f"使用模板 {choice.version}{'（有误）' if choice.problem else ''}")
        how = "已选定" if choice.chosen else "未单独选定，使用最新版本"
        tip = f"{self.year()}年度生成责任书使用 {choice.version} 版模板（{how}）"
        self.template_label.setToolTip(f"{tip}。该版本有误：{choice.problem}" if choice.problem else tip)

    def reload_coverage(self) -> None:
        try:
            self.coverage = self.services.letters.coverage(self.year())
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        for kind, card in self.cards.items():
            if kind in self.coverage:
                card.show_coverage(self.coverage[kind])

    def reload_letters(self, select_id: str = "") -> None:
        select_id = select_id or next(iter(_selected_ids(self.letter_table)), "")
        try:
            rows = self.services.letters.list(self.year(), kind=self.kind_filter.currentData() or "",
                                              status=self.status_filter.currentData() or "",
                                              search=self.search_edit.text())
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        _fill(self.letter_table, [(r.id, self._letter_cells(r)) for r in rows])
        narrowed = bool(self.kind_filter.currentData() or self.status_filter.currentData()
                        or self.search_edit.text().strip())
        self.count_label.setText(f"{'筛选出' if narrowed else '共'} {len(rows)} 份责任书")
        ids = _all_ids(self.letter_table)
        if select_id in ids:
            self.letter_table.selectRow(ids.index(select_id))

    @staticmethod
    def _letter_cells(r: LetterRow) -> list[str]:
        return [r.number, r.counterparty_name, COUNTERPARTY_KINDS.get(r.counterparty_kind, r.counterparty_kind),
                status_text(r), r.signed_on.isoformat() if r.signed_on else ""]

    def reload_accidents(self) -> None:
        try:
            self.accident_rows = self.services.accidents.list(self.year())
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        _fill(self.accident_table, [(a.id, self._accident_cells(a)) for a in self.accident_rows])
        self.accident_count.setText(f"{self.year()}年共登记 {len(self.accident_rows)} 起事故")
        self.tabs.setTabText(1, f"事故信息（{len(self.accident_rows)}）" if self.accident_rows else "事故信息")

    @staticmethod
    def _accident_cells(a: AccidentRow) -> list[str]:
        where = "，".join(x for x in (a.unit_name, a.place) if x)
        return [a.occurred_at, where, a.village, a.category, str(a.deaths), str(a.serious_injuries), a.direct_loss,
                a.grade, a.reported_at]

    def _after_change(self, select_id: str = "") -> None:
        self.reload_coverage()
        self.reload_letters(select_id)
        self.reload_accidents()
        self.changed.emit()

    # -- slots -----------------------------------------------------------------------------
    def on_unsigned_clicked(self, kind: str) -> None:
        cov = self.coverage.get(kind)
        if cov is None or not cov.unsigned:
            show_info(self, "全部已签订。")
            return
        show_list(self, f"{self.year()}年度尚未签订的{cov.label}",
                  f"以下 {len(cov.unsigned)} 个{cov.label}尚未签订{self.year()}年度责任书（名称　状态　编号）：",
                  unsigned_lines(cov))

    def on_generate_clicked(self) -> None:
        year = self.year()
        letters = self.services.letters
        result: GenerationResult | None = run_with_progress(
            self, f"正在生成{year}年度责任书…",
            lambda progress, cancelled: letters.generate_year(year, progress=lambda d, t, _n: progress(d, t),
                                                              cancelled=cancelled))
        if result is None:
            return
        if result.cancelled:
            show_info(self, "已取消，没有生成任何责任书。")
            return
        self._after_change()
        made = "、".join(f"{COUNTERPARTY_KINDS[k]} {n} 份" for k, n in result.created.items()) or "0 份"
        had = sum(result.existing.values())
        text = f"{year}年度新生成责任书：{made}。" + (f"\n已有责任书的 {had} 个单位未重复生成。" if had else "")
        if result.problems:
            show_list(self, "生成结果", text + f"\n\n以下 {len(result.problems)} 个单位未能生成，"
                                                "请到「组织机构」补填负责人后再点「生成本年度责任书」：",
                      result.problems)
        else:
            show_info(self, text, "生成完成")

    def on_open_clicked(self) -> None:
        ids = _selected_ids(self.letter_table)
        if not ids:
            show_info(self, "请先在列表中选中一份责任书。")
            return
        dialog = LetterDetailDialog(self.services, ids[0], self)
        exec_once(dialog)
        if dialog.changed:
            self.refresh_years()
            self._after_change(dialog.letter_id)

    def on_batch_print_clicked(self) -> None:
        ids = _selected_ids(self.letter_table) if len(_selected_ids(self.letter_table)) > 1 else []
        ids = ids or _all_ids(self.letter_table)
        if not ids:
            show_info(self, "列表中没有责任书。请先生成本年度责任书。")
            return
        choice = CopiesDialog(len(ids), self)
        if not exec_once(choice):
            return
        separately = choice.separate.isChecked()
        settings = ui_settings()
        start = str(settings.value("letters/print_folder", str(Path.home())))
        folder_text = QFileDialog.getExistingDirectory(self, "选择保存责任书 PDF 的文件夹", start)
        if not folder_text:
            return
        folder = Path(folder_text)
        settings.setValue("letters/print_folder", folder_text)
        letters = self.services.letters

        def write(progress, cancelled) -> int:
            from app.documents.letter_pdf import write_letter_copies_separately, write_letters

            contents = [letters.content(i) for i in ids]
            if not separately:
                return len(write_letters(contents, folder, copies=2, progress=progress, cancelled=cancelled))
            done = 0
            for content in contents:
                if cancelled():
                    break
                write_letter_copies_separately(content, folder)
                done += 1
                progress(done, len(contents))
            return done

        written = run_with_progress(self, f"正在生成 {len(ids)} 份责任书…", write)
        if written is None:
            return
        if self.can_write:
            for letter_id in ids[:written]:
                try:
                    if letters.get(letter_id).row.status == "草稿":
                        letters.mark_printed(letter_id)
                except XiangAnError:
                    continue  # superseded or signed meanwhile: printing it is still fine
        self._after_change()
        if written < len(ids):
            show_info(self, f"已取消：生成了 {written} 份，另 {len(ids) - written} 份未生成。")
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            show_info(self, f"已生成 {written} 份责任书，保存在 {folder}")

    def on_templates_clicked(self) -> None:
        dialog = TemplatesDialog(self.services, self.year(), self)
        exec_once(dialog)
        if dialog.changed:
            self.reload_template_label()

    def on_delete_accident_clicked(self) -> None:
        if not self.can_write:
            return
        ids = _selected_ids(self.accident_table)
        row = next((a for a in self.accident_rows if ids and a.id == ids[0]), None)
        if row is None:
            show_info(self, "请先在列表中选中一起事故。")
            return
        where = "，".join(x for x in (row.unit_name, row.place) if x)
        if not confirm(self, f"确定删除这起事故吗？\n\n{row.occurred_at}　{where}\n死亡{row.deaths}人、重伤"
                             f"{row.serious_injuries}人，{row.grade}事故\n\n删除后年终考核不再计入这起事故"
                             "（删除操作会记入操作日志）。", "删除事故"):
            return
        try:
            self.services.accidents.delete(row.id)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self._after_change()

    def on_record_accident_clicked(self) -> None:
        if accident_dialog(self, self.services):
            self._after_change()

    def on_edit_accident_clicked(self) -> None:
        if not self.can_write:
            return
        ids = _selected_ids(self.accident_table)
        if not ids:
            show_info(self, "请先在列表中选中一起事故。")
            return
        row = next((a for a in self.accident_rows if a.id == ids[0]), None)
        if row is not None and accident_dialog(self, self.services, row):
            self._after_change()
