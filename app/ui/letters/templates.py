"""责任书模板: the template versions there are (bundled default, county-issued), one shown readably per
counterparty type, choosing the version a year's letters are generated from, importing a county file."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTabBar,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.models.letter_content import COMPARATORS
from app.models.letters import COUNTERPARTY_KINDS, METRICS, PLACEHOLDER_LABELS, template_placeholders
from app.services import Services
from app.services.letters import TemplateSet, YearTemplate
from app.ui.hazards.detail import fit_screen
from app.ui.style import DANGER
from app.ui.widgets.common import RememberingDialog, button, show_error, show_info, ui_settings

TEMPLATE_FILTER = "责任书模板 (*.json)"
MUTED = "#5b6b7f"


def _marked(text: str) -> str:
    """Escaped template text with its {placeholders} shown as what they stand for, highlighted."""
    out = escape(text)
    for name, label in PLACEHOLDER_LABELS.items():
        out = out.replace("{" + name + "}", f"<span style='color:#00838f'>〔{label}〕</span>")
    return out


def _threshold(target: dict[str, Any]) -> str:
    unit = " 元" if target["metric"] == "direct_loss_yuan" else ""
    return f"{target['threshold']}{unit}"


def template_html(template_set: TemplateSet, kind: str) -> str:
    """One counterparty type's template as the officer reviews it: every part in reading order, the
    控制指标 as a table of what the 考核 checks, and the placeholders it fills in."""
    if template_set.problem:
        return (f"<p style='color:{DANGER}'><b>该版本模板有误，不能使用：</b><br>{escape(template_set.problem)}</p>"
                "<p>请向县应急管理局索取正确的模板文件后重新导入。</p>")
    t = template_set.templates.get(kind)
    if t is None:
        return f"<p style='color:{DANGER}'>该版本没有「{COUNTERPARTY_KINDS[kind]}」的模板。</p>"
    parts = [f"<p align='center' style='font-size:18px'><b>{_marked(t['title'])}</b></p>",
             f"<p style='color:{MUTED}'>{escape(t.get('name', ''))}　版本 {escape(template_set.version)}"
             f"{'　' + escape(template_set.issuer) if template_set.issuer else ''}</p>",
             f"<p><b>前言与依据</b><br>{_marked(t['preamble'])}</p>",
             f"<p><b>责任期限</b>：{_marked(t['period'])}</p>",
             f"<p><b>{escape(t.get('targets_heading', '一、控制指标'))}</b></p>",
             "<table width='100%' cellpadding='4' style='border-collapse:collapse'>"
             "<tr style='background:#eef2f7'><th align='left'>指标</th><th>要求</th><th>数值</th><th>一票否决</th>"
             "<th align='left'>条文</th></tr>"]
    for target in t["targets"]:
        veto = f"<span style='color:{DANGER}'><b>是</b></span>" if target.get("veto") else "否"
        parts.append(f"<tr><td>{escape(METRICS.get(target['metric'], target['metric']))}</td>"
                     f"<td align='center'>{escape(COMPARATORS.get(target['comparator'], target['comparator']))}</td>"
                     f"<td align='center'>{escape(_threshold(target))}</td><td align='center'>{veto}</td>"
                     f"<td>{_marked(target['text'])}</td></tr>")
    parts.append("</table>")
    for section in t["sections"]:
        parts.append(f"<p><b>{escape(section['heading'])}</b></p>")
        parts += [f"<p style='margin-left:16px'>{n}. {_marked(c)}</p>" for n, c in enumerate(section["clauses"], 1)]
    parts.append(f"<p><b>结尾</b>：{_marked(t['closing'])}</p>")
    parts.append(f"<p><b>签字栏</b>：甲方 {escape(t.get('party_a_title', '') or '负责人')}；"
                 f"乙方 {escape(t.get('party_b_title', '') or '负责人')}</p>")
    used = "、".join(f"{{{p}}} {PLACEHOLDER_LABELS[p]}" for p in template_placeholders(t)) or "无"
    parts.append(f"<p style='color:{MUTED}'><b>使用的占位符</b>（生成时自动填入）：{escape(used)}</p>")
    return "".join(parts)


class TemplatesDialog(RememberingDialog):
    """Review the template versions and choose the one ``year``'s letters are generated from."""

    settings_key = "letter_templates_dialog"

    def __init__(self, services: Services, year: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("责任书模板")
        self.services = services
        self.year = year
        self.can_write = services.actor.role.can_write
        self.changed = False
        self.sets: list[TemplateSet] = []
        self.current_choice: YearTemplate | None = None

        self.year_label = QLabel()
        self.year_label.setObjectName("year_template_label")
        self.year_label.setWordWrap(True)
        self.set_list = QListWidget()
        self.set_list.setObjectName("template_list")
        self.set_list.currentRowChanged.connect(lambda _r: self.show_selected())
        self.kind_tabs = QTabBar()
        self.kind_tabs.setObjectName("kind_tabs")
        self.kinds = list(COUNTERPARTY_KINDS)
        for kind in self.kinds:
            self.kind_tabs.addTab(COUNTERPARTY_KINDS[kind])
        self.kind_tabs.currentChanged.connect(lambda _i: self.show_selected())
        self.view = QTextBrowser()
        self.view.setObjectName("template_view")
        self.choose_button = button(f"选用于{year}年度", primary=True, name="choose_template_button")
        self.choose_button.setToolTip(f"{year}年度此后生成的责任书使用所选版本；已生成的责任书不受影响")
        self.choose_button.clicked.connect(self.on_choose_clicked)
        self.import_button = button("导入模板文件…", name="import_template_button")
        self.import_button.setToolTip("导入县应急管理局下发的责任书模板文件（JSON）")
        self.import_button.clicked.connect(self.on_import_clicked)
        for b in (self.choose_button, self.import_button):
            b.setVisible(self.can_write)
        close = button("关闭", name="close_button")
        close.clicked.connect(self.accept)

        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.addWidget(QLabel("模板版本："))
        left_column.addWidget(self.set_list, 1)
        left_column.addWidget(self.import_button)
        right = QWidget()
        right_column = QVBoxLayout(right)
        right_column.setContentsMargins(0, 0, 0, 0)
        right_column.addWidget(self.kind_tabs)
        right_column.addWidget(self.view, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 740])
        actions = QHBoxLayout()
        actions.addWidget(self.choose_button)
        actions.addStretch(1)
        actions.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.year_label)
        layout.addWidget(splitter, 1)
        layout.addLayout(actions)
        fit_screen(self, 1000, 720)
        self.reload()

    # -- showing ---------------------------------------------------------------------------
    def reload(self, select_version: str = "") -> None:
        try:
            self.sets = self.services.letters.template_sets()
            self.current_choice = self.services.letters.year_template(self.year)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        in_use = self.current_choice.version
        how = "已选定" if self.current_choice.chosen else "未单独选定，使用最新版本"
        self.year_label.setText(f"{self.year}年度生成责任书使用的模板：{in_use}（{how}）。"
                                "选用其他版本只影响此后生成的责任书，已生成的保留原模板。")
        self.set_list.blockSignals(True)
        self.set_list.clear()
        for s in self.sets:
            tags = [f"【{self.year}年度使用】"] if s.version == in_use else []
            tags += ["【有误】"] if s.problem else []
            item = QListWidgetItem(f"{s.version}　{''.join(tags)}\n{s.source}")
            item.setToolTip("　".join(x for x in (s.title, s.issuer, s.problem) if x))
            item.setData(Qt.ItemDataRole.UserRole, s.version)
            self.set_list.addItem(item)
        self.set_list.blockSignals(False)
        wanted = select_version or in_use
        versions = [s.version for s in self.sets]
        self.set_list.setCurrentRow(versions.index(wanted) if wanted in versions else 0)
        self.show_selected()

    def selected(self) -> TemplateSet | None:
        row = self.set_list.currentRow()
        return self.sets[row] if 0 <= row < len(self.sets) else None

    def show_selected(self) -> None:
        chosen = self.selected()
        if chosen is None:
            self.view.clear()
            return
        self.view.setHtml(template_html(chosen, self.kinds[max(0, self.kind_tabs.currentIndex())]))
        in_use = self.current_choice is not None and self.current_choice.chosen \
            and self.current_choice.version == chosen.version
        self.choose_button.setEnabled(not chosen.problem and not in_use)

    # -- actions ---------------------------------------------------------------------------
    def on_choose_clicked(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        try:
            self.services.letters.choose_template(self.year, chosen.version)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self.changed = True
        self.reload(chosen.version)
        show_info(self, f"{self.year}年度此后生成的责任书将使用 {chosen.label} 模板。")

    def on_import_clicked(self) -> None:
        settings = ui_settings()
        folder = str(settings.value("letters/template_folder", str(Path.home())))
        path_text, _f = QFileDialog.getOpenFileName(self, "选择县里下发的责任书模板文件", folder, TEMPLATE_FILTER)
        if not path_text:
            return
        settings.setValue("letters/template_folder", str(Path(path_text).parent))
        try:
            version = self.services.letters.import_templates(Path(path_text))
        except XiangAnError as exc:
            show_error(self, str(exc), "模板文件有误")
            return
        self.changed = True
        self.reload(version)
        show_info(self, f"已导入 {version} 版责任书模板。请核对各类模板内容；"
                        f"如需用于{self.year}年度，请点「选用于{self.year}年度」。")
