"""One hazard: every field in its group, the status with its tags, the photos, the full history, and a
button for each step the hazard may take next."""

from __future__ import annotations

from contextlib import suppress
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.localtime import format_local
from app.models import HazardAction
from app.models.hazards import MAJOR
from app.models.validation import format_fen
from app.services import Services
from app.services.hazards import (
    REGISTER_FIELDS,
    STEP_FIELDS,
    AttachmentRow,
    EventRow,
    HazardDetail,
    step_spec,
)
from app.ui.hazards.common import STATUS_COLOURS, TAG_COLOURS, badge
from app.ui.hazards.forms import PHOTO_LABELS, StepDialog
from app.ui.style import DANGER, WARNING
from app.ui.widgets.common import RememberingDialog, button, exec_once, load_photo, show_error
from app.ui.widgets.pdf_preview import PRINT_TIP, save_and_preview_pdf

A = HazardAction
GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("发现", (
        ("number", "编号"), ("found_on", "发现日期"), ("source", "隐患来源"), ("inspectors", "检查人员"),
        ("village", "所在村/社区"), ("grid", "网格"), ("unit_name", "单位/场所"),
        ("credit_code", "统一社会信用代码"), ("sector", "行业领域"), ("location", "具体位置"),
        ("description", "隐患描述"), ("category", "隐患类别"), ("level", "隐患等级"), ("level_basis", "判定依据"),
        ("temporary_measures", "临时管控措施"), ("remarks", "备注"),
    )),
    ("五到位", (
        ("measures", "整改措施"), ("responsible_unit", "责任单位"), ("responsible_person", "责任人"),
        ("responsible_phone", "责任人电话"), ("funds", "整改资金（元）"), ("deadline", "整改时限"),
        ("emergency_plan", "应急预案"),
    )),
    ("通知与验收", (
        ("notice_number", "整改通知书编号"), ("notice_issued_on", "下达日期"), ("reported_upward_on", "上报日期"),
        ("completed_on", "整改完成日期"), ("reviewer", "验收人"), ("reviewed_on", "验收日期"),
        ("review_opinion", "验收意见"), ("closed_on", "销号日期"),
    )),
    ("督办与延期", (
        ("supervised", "挂牌督办"), ("supervision_level", "督办层级"), ("supervision_doc", "督办文号"),
        ("extension_requested_on", "延期申请日期"), ("extension_reason", "延期理由"), ("extended", "已批准延期"),
    )),
)
# Labels of whatever a step wrote into its event's data; columns that are ids are not shown.
DATA_LABELS: dict[str, str] = {f.name: f.label for fields in (REGISTER_FIELDS, *STEP_FIELDS.values())
                               for f in fields}
DATA_LABELS.update(funds_fen="整改资金（元）")
HIDDEN_DATA = frozenset({"village_id", "enterprise_id", "sector_code", "note"})
FORWARD = (A.ASSIGN, A.START, A.REQUEST_ACCEPTANCE, A.ACCEPT, A.CLOSE)
BUTTON_TEXT = {A.EDIT: "修改信息"}
PHOTO_ORDER = ("before", "after", "review")
THUMB = 92
LABEL_WIDTH = 118  # the widest label (统一社会信用代码：) so the four groups line up


def _section(title: str) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName("card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(12, 10, 12, 10)
    heading = QLabel(title)
    heading.setObjectName("sectionTitle")
    layout.addWidget(heading)
    return frame, layout


def _clear(layout: Any) -> None:
    """Empty a layout now: the old widgets leave the widget tree at once, not at the next event loop."""
    while layout.count():
        item = layout.takeAt(0)
        widget, inner = item.widget(), item.layout()
        if widget is not None:
            widget.hide()
            widget.setParent(None)
            widget.deleteLater()
        elif inner is not None:
            _clear(inner)


def fit_screen(dialog: QWidget, width: int, height: int) -> None:
    """Large on a big monitor, but whole on the 1366×768 laptops many offices have."""
    screen = dialog.screen()
    if screen is not None:
        available = screen.availableGeometry()
        width, height = min(width, available.width() - 40), min(height, available.height() - 40)
    dialog.resize(width, height)


def deadline_text(values: dict[str, Any], overdue: bool, due_soon: bool, today: date | None = None) -> str:
    deadline = values.get("deadline") or ""
    if values.get("closed_on"):
        return f"已于 {values['closed_on']} 销号"
    if not deadline:
        return "未定整改时限"
    try:
        days = (date.fromisoformat(deadline) - (today or date.today())).days
    except ValueError:
        return f"整改时限 {deadline}"
    if overdue:
        return f"整改时限 {deadline}（已逾期 {-days} 天）"
    if due_soon:
        return f"整改时限 {deadline}（{'今天到期' if days == 0 else f'还剩 {days} 天'}）"
    return f"整改时限 {deadline}"


def event_details(event: EventRow) -> str:
    """The step's own data in words (a 登记 or 修改 repeats the whole record, shown on the left instead)."""
    if event.action in (A.REGISTER.value, A.EDIT.value):
        return ""
    try:  # the step's own labels first: 日期 is 批准日期 in one step and 督办日期 in another
        labels = {**DATA_LABELS, **step_spec(A(event.action)).labels}
    except ValueError:
        labels = DATA_LABELS
    parts = []
    for key, value in event.data.items():
        if key in HIDDEN_DATA or value in ("", None):
            continue
        if key == "funds_fen":
            with suppress(ValueError):
                value = format_fen(int(value))
        parts.append(f"{labels.get(key, key)}：{value}")
    return "；".join(parts)


class ImageViewer(RememberingDialog):
    """The photos of one kind at a size that fits the screen, with 上一张/下一张."""

    settings_key = "hazard_photo_viewer"

    def __init__(self, photos: list[AttachmentRow], index: int, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.photos = photos
        self.index = index
        self.title = title
        self.image = QLabel()
        self.image.setObjectName("full_image")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.image)
        self.previous_button = button("上一张", name="previous_button")
        self.next_button = button("下一张", name="next_button")
        self.previous_button.clicked.connect(lambda: self.show_photo(self.index - 1))
        self.next_button.clicked.connect(lambda: self.show_photo(self.index + 1))
        self.position = QLabel()
        self.position.setObjectName("hint")
        close = button("关闭", name="close_viewer_button")
        close.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.previous_button)
        row.addWidget(self.next_button)
        row.addWidget(self.position, 1)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(row)
        fit_screen(self, 1040, 780)
        self.show_photo(index)

    def show_photo(self, index: int) -> None:
        self.index = max(0, min(index, len(self.photos) - 1))
        photo = self.photos[self.index]
        self.setWindowTitle(f"{self.title} — {photo.file_name}")
        pixmap = load_photo(photo.path, max_side=2000)
        if pixmap.isNull():
            self.image.setText("照片文件缺失或已损坏。")
        else:
            if pixmap.width() > 1000 or pixmap.height() > 700:
                pixmap = pixmap.scaled(1000, 700, Qt.AspectRatioMode.KeepAspectRatio,
                                       Qt.TransformationMode.SmoothTransformation)
            self.image.setPixmap(pixmap)
        several = len(self.photos) > 1
        self.previous_button.setVisible(several)
        self.next_button.setVisible(several)
        self.previous_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index < len(self.photos) - 1)
        self.position.setText(f"第 {self.index + 1} 张，共 {len(self.photos)} 张　{photo.file_name}")


class HazardDetailDialog(RememberingDialog):
    """``changed`` is True once a step was carried out, so the ledger knows to reload."""

    settings_key = "hazard_detail"

    def __init__(self, services: Services, hazard_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.hazard_id = hazard_id
        self.changed = False
        self.detail: HazardDetail | None = None
        self.step_buttons: dict[HazardAction, QPushButton] = {}
        self.print_buttons: dict[str, QPushButton] = {}
        self.setObjectName("hazard_detail_dialog")
        self._body = QVBoxLayout()
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        close.button(QDialogButtonBox.StandardButton.Close).setObjectName("close_dialog_button")
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(self._body, 1)
        layout.addWidget(close)
        fit_screen(self, 1180, 780)
        self.reload()

    # -- building ------------------------------------------------------------------------------
    def reload(self) -> None:
        try:
            self.detail = self.services.hazards.get(self.hazard_id)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        d = self.detail
        v = d.values
        self.setWindowTitle(f"隐患 {v['number']} — {v['unit_name']}")
        _clear(self._body)
        self.step_buttons = {}
        self.print_buttons = {}
        self._body.addLayout(self._header(d))
        self._body.addLayout(self._actions(d))
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._fields(d))
        splitter.addWidget(self._history(d))
        splitter.setSizes([560, 600])
        self._body.addWidget(splitter, 1)

    def _header(self, d: HazardDetail) -> QVBoxLayout:
        v = d.values
        column = QVBoxLayout()
        column.setSpacing(4)
        row = QHBoxLayout()
        title = QLabel(f"隐患 {v['number']}　{v['unit_name']}")
        title.setObjectName("pageTitle")
        title.setWordWrap(True)  # a long unit name or location must wrap, not widen the window past the screen
        row.addWidget(title)
        row.addSpacing(8)
        self.status_badge = badge(v["status"], STATUS_COLOURS.get(v["status"], "#5b6b7f"), name="status_badge")
        row.addWidget(self.status_badge, 0, Qt.AlignmentFlag.AlignVCenter)  # not stretched beside a wrapped title
        self.tags = [t for t, on in (("重大隐患", v.get("level") == MAJOR), ("逾期", d.overdue),
                                     ("临期", d.due_soon), ("延期", bool(v.get("extended"))),
                                     ("挂牌督办", bool(v.get("supervised")))) if on]
        for tag in self.tags:
            row.addWidget(badge(tag, TAG_COLOURS[tag], filled=False, name="tag_badge"), 0, Qt.AlignmentFlag.AlignVCenter)
        row.addStretch(1)
        column.addLayout(row)
        where = "　".join(x for x in (v.get("village"), v.get("sector"), v.get("location")) if x)
        line = QLabel(f"{where}　　{deadline_text(v, d.overdue, d.due_soon)}".strip())
        line.setObjectName("pageSubtitle")
        line.setWordWrap(True)
        if d.overdue or d.due_soon:
            line.setStyleSheet(f"color: {DANGER if d.overdue else WARNING};")
        column.addWidget(line)
        return column

    def _actions(self, d: HazardDetail) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setContentsMargins(0, 6, 0, 6)
        if self.services.actor.role.can_write:
            primary = next((a for a in d.allowed if a in FORWARD), None)
            for action in d.allowed:
                b = button(BUTTON_TEXT.get(action, action.value), primary=action is primary,
                           danger=action is A.REJECT, name=f"{action.name.lower()}_button")
                b.clicked.connect(lambda _c=False, a=action: self.on_step_clicked(a))
                self.step_buttons[action] = b
                row.addWidget(b)
        elif d.values["status"] != "已销号":
            hint = QLabel("只读账号：可以查看和打印，不能办理。")
            hint.setObjectName("hint")
            row.addWidget(hint)
        row.addStretch(1)
        v = d.values
        for kind, text, meaningful in (("notice", "打印整改通知书", bool(v.get("notice_number"))),
                                       ("review", "打印验收意见书", bool(v.get("reviewed_on")))):
            if not meaningful:
                continue
            b = button(text, name=f"print_{kind}_button")
            b.setToolTip(PRINT_TIP)
            b.clicked.connect(lambda _c=False, k=kind: self.on_print_clicked(k))
            self.print_buttons[kind] = b
            row.addWidget(b)
        return row

    def _fields(self, d: HazardDetail) -> QWidget:
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 6, 0)
        for title, fields in GROUPS:
            frame, layout = _section(title)
            form = QFormLayout()
            form.setHorizontalSpacing(14)
            form.setVerticalSpacing(6)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            for key, label in fields:
                value = d.values.get(key) or ""
                text = QLabel(str(value) if value else "—")
                text.setObjectName(f"{key}_value")
                text.setWordWrap(True)
                text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                if not value:
                    text.setStyleSheet("color: #a0a8b3;")
                elif key == "level" and value == MAJOR:
                    text.setStyleSheet(f"color: {DANGER}; font-weight: bold;")
                elif key == "deadline" and (d.overdue or d.due_soon):
                    text.setStyleSheet(f"color: {DANGER if d.overdue else WARNING}; font-weight: bold;")
                name = QLabel(f"{label}：")
                name.setStyleSheet("color: #5b6b7f;")
                name.setFixedWidth(LABEL_WIDTH)
                name.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
                form.addRow(name, text)
            layout.addLayout(form)
            column.addWidget(frame)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("fields_scroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        scroll.setMinimumWidth(420)
        return scroll

    def _history(self, d: HazardDetail) -> QWidget:
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(6, 0, 0, 0)
        column.addWidget(self._photos(d))
        frame, layout = _section(f"处理记录（{len(d.events)}）")
        self.timeline = QWidget()
        self.timeline.setObjectName("timeline")
        entries = QVBoxLayout(self.timeline)
        entries.setContentsMargins(0, 0, 0, 0)
        entries.setSpacing(0)
        for i, event in enumerate(d.events):
            entries.addWidget(self._event(event, last=i == len(d.events) - 1))
        layout.addWidget(self.timeline)
        column.addWidget(frame)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        scroll.setMinimumWidth(420)
        return scroll

    def _event(self, e: EventRow, last: bool) -> QWidget:
        entry = QFrame()
        entry.setObjectName("timeline_entry")
        border = "none" if last else "1px solid #e6eaf0"
        entry.setStyleSheet(f"#timeline_entry {{ border-bottom: {border}; }}")
        column = QVBoxLayout(entry)
        column.setContentsMargins(2, 6, 2, 6)
        column.setSpacing(2)
        head = QHBoxLayout()
        action = QLabel(e.action)
        action.setStyleSheet("font-weight: bold; color: #1f3450;")
        head.setSpacing(8)
        head.addWidget(action)
        if e.to_status and e.from_status != e.to_status:
            moved = f"{e.from_status} → {e.to_status}" if e.from_status else e.to_status
            head.addWidget(badge(moved, STATUS_COLOURS.get(e.to_status, "#5b6b7f"), filled=False))
        head.addStretch(1)
        when = QLabel(f"{format_local(e.at)}　{e.username or '系统'}")
        when.setObjectName("hint")
        head.addWidget(when)
        column.addLayout(head)
        facts = []
        shown = set(e.data.values())
        if e.event_date and e.event_date not in shown:
            facts.append(f"日期：{e.event_date}")
        if e.doc_number and e.doc_number not in shown:
            facts.append(f"文号：{e.doc_number}")
        details = event_details(e)
        if details:
            facts.append(details)
        if e.action == A.REGISTER.value and e.event_date:
            facts.append(f"发现日期：{e.event_date}")
        for text in ("；".join(facts), f"说明：{e.note}" if e.note else ""):
            if text:
                label = QLabel(text)
                label.setWordWrap(True)
                label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                column.addWidget(label)
        if e.attachments:
            files = QLabel(f"附照片 {len(e.attachments)} 张")
            files.setObjectName("hint")
            column.addWidget(files)
        return entry

    def _photos(self, d: HazardDetail) -> QFrame:
        """Before, after and review photos side by side, so the change shows at a glance; the first of
        each kind as a thumbnail, the viewer pages through the rest."""
        frame, layout = _section("照片")
        self.photo_buttons: list[QToolButton] = []
        if not any(d.photos.get(role) for role in PHOTO_ORDER):
            none = QLabel("暂无照片。登记、申请验收、验收时可以附上照片。")
            none.setStyleSheet("color: #a0a8b3;")
            layout.addWidget(none)
            return frame
        columns = QHBoxLayout()
        columns.setSpacing(12)
        for role in PHOTO_ORDER:
            column = QVBoxLayout()
            column.setSpacing(4)
            photos = d.photos.get(role, [])
            caption = QLabel(f"{PHOTO_LABELS[role]}（{len(photos)}张）" if photos else PHOTO_LABELS[role])
            caption.setStyleSheet("color: #5b6b7f;")
            column.addWidget(caption)
            if photos:
                column.addWidget(self._thumb(photos, 0, PHOTO_LABELS[role]))
            else:
                none = QLabel("暂无")
                none.setFixedHeight(THUMB + 8)
                none.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                none.setStyleSheet("color: #a0a8b3;")
                column.addWidget(none)
            columns.addLayout(column, 1)
        layout.addLayout(columns)
        return frame

    def _thumb(self, photos: list[AttachmentRow], index: int, title: str) -> QToolButton:
        photo = photos[index]
        thumb = QToolButton()
        thumb.setObjectName("photo_thumb")
        thumb.setIconSize(QSize(THUMB, THUMB))
        thumb.setFixedSize(THUMB + 8, THUMB + 8)
        thumb.setCursor(Qt.CursorShape.PointingHandCursor)
        more = f"，共{len(photos)}张" if len(photos) > 1 else ""
        thumb.setToolTip(f"{photo.file_name}（单击查看原图{more}）")
        thumb.setStyleSheet("QToolButton { border: 1px solid #dde3ea; background: white; border-radius: 4px; }"
                            " QToolButton:hover { border-color: #5aa0f2; }")
        pixmap = load_photo(photo.path, max_side=THUMB * 2)
        if pixmap.isNull():
            thumb.setText("缺失")
        else:
            thumb.setIcon(QIcon(pixmap.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation)))
        thumb.clicked.connect(lambda _c=False: self.on_photo_clicked(photos, index, title))
        self.photo_buttons.append(thumb)
        return thumb

    # -- slots -----------------------------------------------------------------------------
    def on_step_clicked(self, action: HazardAction) -> None:
        assert self.detail is not None
        dialog = StepDialog(self.services.hazards, action, self.detail, self)
        if dialog.exec():
            self.changed = True
        self.reload()  # also after 取消: a colleague may have moved the hazard on meanwhile

    def on_photo_clicked(self, photos: list[AttachmentRow], index: int, title: str) -> None:
        exec_once(ImageViewer(photos, index, title, self))

    def on_print_clicked(self, kind: str) -> None:
        assert self.detail is not None
        hazards, hazard_id = self.services.hazards, self.detail.id
        number = self.detail.values["number"]
        if kind == "notice":
            save_and_preview_pdf(self, "隐患整改通知书", f"隐患整改通知书-{number}.pdf",
                               lambda path: hazards.print_notice(hazard_id, Path(path)))
        else:
            save_and_preview_pdf(self, "整改验收意见书", f"整改验收意见书-{number}.pdf",
                               lambda path: hazards.print_review(hazard_id, Path(path)))
