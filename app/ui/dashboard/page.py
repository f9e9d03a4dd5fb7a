"""工作台: the township at a glance, what needs attention, and what happened lately."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.localtime import format_local
from app.services import Services
from app.services.dashboard import DashboardSummary
from app.services.organisation import REGISTERS
from app.ui.readiness.common import alert_target
from app.ui.style import DANGER, WARNING
from app.ui.widgets.common import page_header

WEEKDAYS = "一二三四五六日"


def _card(value: str, label: str, name: str) -> QFrame:
    card = QFrame()
    card.setObjectName("card")
    layout = QVBoxLayout(card)
    number = QLabel(value)
    number.setObjectName("cardValue")
    number.setAccessibleName(name)
    caption = QLabel(label)
    caption.setObjectName("cardLabel")
    layout.addWidget(number)
    layout.addWidget(caption)
    return card


class _LinkCard(QFrame):
    """A figure card that opens the place where those items are handled."""

    clicked = Signal()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()
        super().mouseReleaseEvent(event)


def _link_card(value: int, label: str, name: str, colour: str, tip: str) -> _LinkCard:
    card = _LinkCard()
    card.setObjectName("card")
    card.setCursor(Qt.CursorShape.PointingHandCursor)
    card.setToolTip(tip)
    layout = QVBoxLayout(card)
    number = QLabel(str(value))
    number.setObjectName("cardValue")
    number.setAccessibleName(name)
    if value and colour:
        number.setStyleSheet(f"color: {colour};")
    caption = QLabel(label)
    caption.setObjectName("cardLabel")
    layout.addWidget(number)
    layout.addWidget(caption)
    return card


def _section(title: str) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName("card")
    layout = QVBoxLayout(frame)
    heading = QLabel(title)
    heading.setObjectName("sectionTitle")
    layout.addWidget(heading)
    return frame, layout


def _clear(layout) -> None:
    """Remove everything from a layout now (deleteLater alone would leave old widgets painted)."""
    while layout.count():
        item = layout.takeAt(0)
        widget, inner = item.widget(), item.layout()
        if widget is not None:
            widget.hide()
            widget.deleteLater()
        elif inner is not None:
            _clear(inner)


class DashboardPage(QWidget):
    navigate = Signal(str)

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(20, 16, 20, 16)
        self.refresh()

    def refresh(self) -> None:
        _clear(self._layout)
        try:
            summary = self.services.dashboard.summary()
        except XiangAnError as exc:
            self._layout.addWidget(QLabel(str(exc)))
            return
        today = date.today()
        self._layout.addWidget(page_header(
            f"工作台 — {summary.township_name}",
            f"{today.year}年{today.month}月{today.day}日 星期{WEEKDAYS[today.weekday()]}",
        ))
        self._layout.addLayout(self._cards(summary))
        columns = QHBoxLayout()
        columns.addWidget(self._attention(summary), 1)
        columns.addWidget(self._readiness(), 1)
        columns.addWidget(self._sectors(summary), 1)
        self._layout.addLayout(columns, 2)  # the reminders matter more than the log of recent edits
        self._layout.addWidget(self._recent(summary), 1)

    def _cards(self, s: DashboardSummary) -> QGridLayout:
        grid = QGridLayout()
        cards = [
            (str(s.villages), "行政村", "villages"),
            (str(s.communities), "社区", "communities"),
            (f"{s.population:,}", "户籍人口", "population"),
            (str(s.enterprises), "企业", "enterprises"),
            (str(s.units), "站所", "units"),
            (str(s.contacts), "联系人", "contacts"),
        ]
        # 30 columns: six organisation cards of 5 above five hazard cards of 6, edges aligned.
        for i, (value, label, name) in enumerate(cards):
            grid.addWidget(_card(value, label, name), 0, i * 5, 1, 5)
        h = s.hazards
        hazard_cards = [
            (h.open, "在改隐患", "hazards_open", "", "open", "未销号的隐患"),
            (h.overdue, "逾期隐患", "hazards_overdue", DANGER, "overdue", "已过整改时限仍未验收的隐患"),
            (h.due_soon, f"临期（{s.due_soon_days}天内）", "hazards_due_soon", WARNING, "due_soon",
             f"{s.due_soon_days}天内到整改时限的隐患"),
            (h.major_open, "重大隐患", "hazards_major", DANGER, "major", "未销号的重大事故隐患"),
            (h.supervised_open, "挂牌督办", "hazards_supervised", "", "supervised", "未销号的挂牌督办隐患"),
        ]
        for i, (value, label, name, colour, target, tip) in enumerate(hazard_cards):
            card = _link_card(value, label, name, colour, f"{tip}，单击查看")
            card.clicked.connect(lambda t=target: self.navigate.emit(f"hazards:{t}"))
            grid.addWidget(card, 1, i * 6, 1, 6)
        for column in range(30):
            grid.setColumnStretch(column, 1)
        return grid

    def _attention(self, s: DashboardSummary) -> QFrame:
        frame, layout = _section("需要处理")
        self.attention_list = QListWidget()
        self.attention_list.setObjectName("attention_list")
        if not s.attention:
            self.attention_list.addItem(QListWidgetItem("✓ 暂无逾期、临期隐患，组织机构信息完整"))
        for item in s.attention:
            entry = QListWidgetItem(f"• {item.text}")
            entry.setData(Qt.ItemDataRole.UserRole, item.area)
            entry.setToolTip("双击前往处理")
            if item.area.startswith("hazards:"):
                entry.setForeground(QColor(DANGER if item.area.endswith("overdue") else WARNING))
            self.attention_list.addItem(entry)
        self.attention_list.itemDoubleClicked.connect(self.on_attention_activated)
        layout.addWidget(self.attention_list)
        return frame

    def _readiness(self) -> QFrame:
        """七有/五有 reminders; each line opens the record to fix (a supply, a plan) or the unit's detail."""
        frame, layout = _section("七有/五有提醒")
        self.readiness_list = QListWidget()
        self.readiness_list.setObjectName("readiness_list")
        self.readiness_list.setWordWrap(True)  # long reminders wrap instead of scrolling sideways
        self.readiness_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.readiness_list.itemDoubleClicked.connect(self.on_attention_activated)
        layout.addWidget(self.readiness_list)
        try:
            alerts = self.services.readiness.alerts()
        except XiangAnError as exc:
            self.readiness_list.addItem(str(exc))
            return frame
        groups = ((alerts.expired_supplies, DANGER), (alerts.expiring_supplies, WARNING), (alerts.plans_due, WARNING),
                  (alerts.teams_below_strength, WARNING), (alerts.villages_not_passed, DANGER))
        for lines, colour in groups:
            for line in lines:
                entry = QListWidgetItem(f"• {line.text}")
                entry.setData(Qt.ItemDataRole.UserRole, alert_target(line, REGISTERS))
                entry.setToolTip(f"{line.text}\n双击前往处理")
                entry.setForeground(QColor(colour))
                self.readiness_list.addItem(entry)
        if not alerts.total:
            self.readiness_list.addItem("✓ 物资、预案、队伍均无待办，各村（社区）均已达标")
        return frame

    def on_attention_activated(self, item: QListWidgetItem) -> None:
        area = item.data(Qt.ItemDataRole.UserRole)
        if area:
            self.navigate.emit(area)

    def _sectors(self, s: DashboardSummary) -> QFrame:
        frame, layout = _section("企业行业分布")
        top = s.enterprises_by_sector[:8]
        if not top:
            layout.addWidget(QLabel("尚未登记企业"))
        largest = max((n for _name, n in top), default=1)
        for name, count in top:
            row = QHBoxLayout()
            label = QLabel(name)
            label.setFixedWidth(110)
            bar = QProgressBar()
            bar.setRange(0, largest)
            bar.setValue(count)
            bar.setFormat(f"{count} 家")
            bar.setFixedHeight(18)
            row.addWidget(label)
            row.addWidget(bar, 1)
            layout.addLayout(row)
        layout.addStretch(1)
        return frame

    def _recent(self, s: DashboardSummary) -> QFrame:
        frame, layout = _section("最近操作")
        listing = QListWidget()
        listing.setObjectName("recent_list")
        for a in s.recent:
            who = "系统" if a.username in ("", "system") else a.username
            listing.addItem(f"{format_local(a.at, '%m-%d %H:%M')}　{who}　{a.summary}")
        if not s.recent:
            listing.addItem("暂无")
        layout.addWidget(listing)
        return frame
