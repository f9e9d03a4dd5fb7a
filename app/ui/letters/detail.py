"""One 责任书: its text as it will print, the status, the history, the scanned signed copies and the
year-end 考核, with a button for each step the letter may take next."""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.localtime import format_local
from app.models.letters import SIGNED_STATES, LetterStatus
from app.services import Services
from app.services.letters import Assessment, LetterDetail
from app.ui.hazards.common import badge
from app.ui.hazards.detail import _clear, fit_screen
from app.ui.letters.dialogs import EditLetterDialog, SignDialog
from app.ui.style import ACCENT, DANGER, OK, WARNING
from app.ui.widgets.common import RememberingDialog, button, confirm, exec_once, show_error, ui_settings
from app.ui.widgets.pdf_preview import PRINT_TIP, save_and_preview_pdf

S = LetterStatus
STATUS_COLOURS = {S.DRAFT.value: "#5b6b7f", S.PRINTED.value: ACCENT, S.SIGNED.value: OK,
                  S.SCANNED.value: "#00838f", S.ARCHIVED.value: "#455a64"}
EDITABLE_STATES = (S.DRAFT.value, S.PRINTED.value)
VETO_MARK = "【一票否决】"
SCAN_FILTER = "扫描件 (*.pdf *.png *.jpg *.jpeg *.tif *.tiff *.bmp)"


def status_text(row) -> str:
    return f"{row.status}（已被替代）" if row.superseded else row.status


def letter_html(detail: LetterDetail) -> str:
    c = detail.content
    veto = {t.text for t in c.targets if t.veto}
    parts = [f"<p align='center' style='font-size:20px'><b>{escape(c.title)}</b></p>",
             f"<p align='right' style='color:#5b6b7f'>{escape(c.number)}</p>",
             f"<p>甲方：{escape(c.party_a.organisation)}　　负责人：{escape(c.party_a.person)}<br>"
             f"乙方：{escape(c.party_b.organisation)}　　负责人：{escape(c.party_b.person)}</p>",
             f"<p>{escape(c.preamble)}</p>", f"<p>责任期限：{escape(c.period)}</p>"]
    for section in c.sections:
        parts.append(f"<p><b>{escape(section.heading)}</b></p>")
        for n, clause in enumerate(section.clauses, start=1):
            mark = f"<span style='color:{DANGER}'>{VETO_MARK}</span>" if clause in veto else ""
            parts.append(f"<p style='margin-left:16px'>{n}. {escape(clause)}{mark}</p>")
    parts.append(f"<p>{escape(c.closing)}</p>")
    parts.append("<table width='100%'><tr>"
                 f"<td>甲方（盖章）：{escape(c.party_a.organisation)}<br>签字：{escape(detail.signed_by_a)}</td>"
                 f"<td>乙方（盖章）：{escape(c.party_b.organisation)}<br>签字：{escape(detail.signed_by_b)}</td>"
                 "</tr></table>")
    if detail.row.signed_on:
        parts.append(f"<p>签订日期：{detail.row.signed_on.isoformat()}</p>")
    return "".join(parts)


def target_verdict(met: bool, veto_triggered: bool) -> tuple[str, str]:
    if veto_triggered:
        return "一票否决", DANGER
    return ("达标", OK) if met else ("未达标", WARNING)


class LetterDetailDialog(RememberingDialog):
    settings_key = "letter_detail_dialog"

    def __init__(self, services: Services, letter_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.letter_id = letter_id
        self.can_write = services.actor.role.can_write
        self.changed = False
        self.detail: LetterDetail | None = None

        self.title_label = QLabel()
        self.title_label.setObjectName("sectionTitle")
        self.status_box = QHBoxLayout()
        self.info_label = QLabel()
        self.info_label.setObjectName("pageSubtitle")
        self.info_label.setWordWrap(True)
        self.text_view = QTextBrowser()
        self.text_view.setObjectName("letter_text")
        self.history_view = QTextBrowser()
        self.history_view.setObjectName("history_view")
        self.scans_widget = QWidget()
        self.scans_layout = QVBoxLayout(self.scans_widget)
        self.assessment_view = QTextBrowser()
        self.assessment_view.setObjectName("assessment_view")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.text_view, "正文")
        self.tabs.addTab(self.history_view, "办理记录")
        self.tabs.addTab(self.scans_widget, "扫描件")
        self.tabs.addTab(self.assessment_view, "考核")

        self.edit_button = button("编辑", name="edit_button")
        self.print_button = button("打印", name="print_button")
        self.print_button.setToolTip(PRINT_TIP)
        self.sign_button = button("登记签订", primary=True, name="sign_button")
        self.scan_button = button("附扫描件", name="scan_button")
        self.archive_button = button("归档", name="archive_button")
        self.supersede_button = button("更正（作废重签）", danger=True, name="supersede_button")
        close = button("关闭", name="close_button")
        self.edit_button.clicked.connect(self.on_edit_clicked)
        self.print_button.clicked.connect(self.on_print_clicked)
        self.sign_button.clicked.connect(self.on_sign_clicked)
        self.scan_button.clicked.connect(self.on_scan_clicked)
        self.archive_button.clicked.connect(self.on_archive_clicked)
        self.supersede_button.clicked.connect(self.on_supersede_clicked)
        close.clicked.connect(self.reject)

        head = QHBoxLayout()
        head.addWidget(self.title_label)
        head.addLayout(self.status_box)
        head.addStretch(1)
        actions = QHBoxLayout()
        for b in (self.edit_button, self.print_button, self.sign_button, self.scan_button, self.archive_button,
                  self.supersede_button):
            actions.addWidget(b)
        actions.addStretch(1)
        actions.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.info_label)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(actions)
        fit_screen(self, 900, 760)
        self.reload()

    # -- showing ---------------------------------------------------------------------------
    def reload(self) -> None:
        try:
            self.detail = detail = self.services.letters.get(self.letter_id)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        row = detail.row
        self.setWindowTitle(f"责任书 {row.number}")
        self.title_label.setText(f"{row.counterparty_name}　{row.number}")
        _clear(self.status_box)
        self.status_badge = badge(status_text(row), STATUS_COLOURS.get(row.status, "#5b6b7f"), name="status_badge")
        self.status_box.addWidget(self.status_badge)
        info = [f"{row.year}年度", f"模板 {detail.template_version}"]
        if row.signed_on:
            info.append(f"{row.signed_on.isoformat()} 签订（甲方 {detail.signed_by_a}，乙方 {detail.signed_by_b}）")
        if row.superseded:
            info.append("已被更正后的新责任书替代")
        self.info_label.setText("　·　".join(info))
        self.text_view.setHtml(letter_html(detail))
        self._show_history(detail)
        self._show_scans(detail)
        self._show_assessment()
        live = not row.superseded
        w = self.can_write and live
        self.edit_button.setVisible(w and row.status in EDITABLE_STATES)
        self.sign_button.setVisible(w and row.status in EDITABLE_STATES)
        self.scan_button.setVisible(self.can_write and row.status in SIGNED_STATES)
        self.archive_button.setVisible(self.can_write and row.status in (S.SIGNED.value, S.SCANNED.value))
        self.supersede_button.setVisible(w and row.status in SIGNED_STATES)

    def _show_history(self, detail: LetterDetail) -> None:
        lines = []
        for e in reversed(detail.events):
            step = f"{e.from_status} → {e.to_status}" if e.from_status and e.from_status != e.to_status else e.to_status
            extra = []
            if e.note:
                extra.append(escape(e.note))
            data = e.data
            if data.get("signed_on"):
                extra.append(f"签订日期 {data['signed_on']}，甲方 {escape(data.get('signed_by_a', ''))}，"
                             f"乙方 {escape(data.get('signed_by_b', ''))}")
            if data.get("file_name"):
                extra.append(f"文件 {escape(data['file_name'])}")
            if data.get("superseded_by"):
                extra.append(f"由 {escape(data['superseded_by'])} 替代")
            if data.get("supersedes"):
                extra.append(f"替代 {escape(data['supersedes'])}")
            lines.append(f"<p><b>{escape(e.action)}</b>　{escape(step)}<br>"
                         f"<span style='color:#5b6b7f'>{format_local(e.at)}　{escape(e.username)}</span>"
                         f"{'<br>' + '；'.join(extra) if extra else ''}</p>")
        self.history_view.setHtml("".join(lines) or "<p>暂无记录</p>")

    def _show_scans(self, detail: LetterDetail) -> None:
        _clear(self.scans_layout)
        if not detail.scans:
            note = QLabel("尚未上传签订后的扫描件。" if detail.row.status in SIGNED_STATES
                          else "签订后可在此上传盖章签字后的扫描件（PDF 或图片）。")
            note.setObjectName("pageSubtitle")
            self.scans_layout.addWidget(note)
        for scan in detail.scans:
            row = QHBoxLayout()
            label = QLabel(scan.file_name)
            label.setObjectName("scan_label")
            view = button("打开", name="open_scan_button")
            view.clicked.connect(lambda _c=False, p=scan.path: self._open_file(p))
            row.addWidget(label, 1)
            row.addWidget(view)
            self.scans_layout.addLayout(row)
        self.scans_layout.addStretch(1)
        self.tabs.setTabText(2, f"扫描件（{len(detail.scans)}）" if detail.scans else "扫描件")

    def _open_file(self, path: Path) -> None:
        if not path.exists():
            show_error(self, "扫描件文件缺失，请重新上传。")
        elif not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            show_error(self, f"本机没有可以打开 {path.name} 的程序。")

    def assessment(self) -> Assessment | None:
        assert self.detail is not None
        try:
            found = self.services.letters.assess(self.detail.row.year)
        except XiangAnError:
            return None
        return next((a for a in found if a.letter_id == self.letter_id), None)

    def _show_assessment(self) -> None:
        assert self.detail is not None
        result = self.assessment()
        if result is None:
            self.assessment_view.setHtml("<p>该责任书已被替代，考核按替代它的新责任书进行。</p>")
            return
        try:
            accidents = {a.id: a for a in self.services.accidents.list(self.detail.row.year)}
        except XiangAnError:
            accidents = {}
        verdict, colour = ("一票否决", DANGER) if result.vetoed else (
            ("全部达标", OK) if all(t.met for t in result.targets) else ("未全部达标", WARNING))
        parts = [f"<p><b>{self.detail.row.year}年度考核结果：</b>"
                 f"<span style='color:{colour}'><b>{verdict}</b></span>　"
                 f"（本年度记录在该单位名下的事故 {len(result.accidents)} 起）</p>",
                 "<table width='100%' cellpadding='4' style='border-collapse:collapse'>"
                 "<tr style='background:#eef2f7'><th align='left'>控制指标</th><th>实际</th><th>结果</th></tr>"]
        for t in result.targets:
            text, c = target_verdict(t.met, t.veto_triggered)
            causes = "".join(
                f"<br><span style='color:#5b6b7f'>· {escape(_accident_line(accidents[i]))}</span>"
                for i in t.accidents if i in accidents)
            parts.append(f"<tr><td>{escape(t.text)}{'（一票否决项）' if t.veto else ''}{causes}</td>"
                         f"<td align='center'>{t.value.normalize():,f}{' 元' if t.metric == 'direct_loss_yuan' else ''}</td>"
                         f"<td align='center' style='color:{c}'><b>{text}</b></td></tr>")
        parts.append("</table>")
        self.assessment_view.setHtml("".join(parts))

    # -- steps -----------------------------------------------------------------------------
    def _after_change(self) -> None:
        self.changed = True
        self.reload()

    def on_edit_clicked(self) -> None:
        assert self.detail is not None
        if self.detail.row.status in SIGNED_STATES:
            show_error(self, "该责任书已签订，不能修改；如需更正，请点「更正（作废重签）」。")
            return
        dialog = EditLetterDialog(self.services, self.letter_id, self.detail.content, self)
        exec_once(dialog)
        if dialog.saved:
            self._after_change()

    def on_print_clicked(self) -> None:
        assert self.detail is not None
        from app.documents.letter_pdf import letter_file_name, write_letter  # reportlab loads on first use

        content = self.detail.content
        path = save_and_preview_pdf(self, "安全生产目标责任书", letter_file_name(content),
                                  lambda p: write_letter(content, p, copies=2))
        if path is None:
            return
        if self.can_write and self.detail.row.status in EDITABLE_STATES and not self.detail.row.superseded:
            try:
                self.services.letters.mark_printed(self.letter_id)
            except XiangAnError as exc:
                show_error(self, str(exc))
        self._after_change()

    def on_sign_clicked(self) -> None:
        assert self.detail is not None
        dialog = SignDialog(self.services, self.letter_id, self.detail.content, self)
        accepted = exec_once(dialog)
        if accepted:
            self._after_change()

    def on_scan_clicked(self) -> None:
        settings = ui_settings()
        folder = str(settings.value("letters/scan_folder", str(Path.home())))
        path_text, _f = QFileDialog.getOpenFileName(self, "选择签订后的扫描件", folder, SCAN_FILTER)
        if not path_text:
            return
        settings.setValue("letters/scan_folder", str(Path(path_text).parent))
        try:
            self.services.letters.attach_scan(self.letter_id, Path(path_text))
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self._after_change()

    def on_archive_clicked(self) -> None:
        assert self.detail is not None
        if not self.detail.scans and not confirm(self, "尚未上传扫描件，确定现在归档吗？"):
            return
        try:
            self.services.letters.archive(self.letter_id)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self._after_change()

    def on_supersede_clicked(self) -> None:
        assert self.detail is not None
        reason, ok = QInputDialog.getText(self, "更正（作废重签）", "更正原因（将记入办理记录）：")
        if not ok:
            return
        if not reason.strip():
            show_error(self, "请填写更正原因。")
            return
        if not confirm(self, f"将新建一份替代 {self.detail.row.number} 的责任书（草稿），原责任书保留并标记为已被替代。"
                             "新责任书需重新打印、签订。继续吗？"):
            return
        try:
            new_id = self.services.letters.supersede(self.letter_id, reason.strip())
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self.letter_id = new_id
        self._after_change()


def _accident_line(a) -> str:
    who = "，".join(x for x in (a.unit_name, a.place) if x)
    return f"{a.occurred_at} {who}：{a.category}，死亡{a.deaths}人、重伤{a.serious_injuries}人，{a.grade}事故"
