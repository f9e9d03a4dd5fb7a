"""A sync conflict in detail: the current and the kept version field by field, and the two decisions."""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.errors import XiangAnError
from app.localtime import format_local
from app.sync.conflicts import ConflictDetail, ConflictService
from app.ui.widgets.common import RememberingDialog, button, confirm, show_error

DIFFERS = QColor("#fff3d6")
EXPLAIN = {
    "concurrent": ("这条记录在本乡镇的两台电脑上被同时修改。系统已按统一规则采用「当前版本」（县里和本乡镇各台电脑都一样），"
                   "另一台电脑的修改作为「另一版本」保存在这里，没有丢失。请核对不同的字段后选择保留哪个版本。"),
    "fork": ("本机数据库曾从备份恢复，这条记录出现了两个版本。系统已按统一规则采用「当前版本」，另一版本保存在这里，"
             "没有丢失。请核对后选择保留哪个版本。"),
}


class ConflictDialog(RememberingDialog):
    """``decision`` is "keep" or "other" once the user resolved the conflict, else ""."""

    settings_key = "sync_conflict_dialog"

    def __init__(self, service: ConflictService, conflict_id: int, can_write: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.decision = ""
        self.detail: ConflictDetail = service.detail(conflict_id)
        detail = self.detail
        self.setWindowTitle(f"修改冲突：{detail.label}「{detail.summary}」")
        self.resize(820, 560)

        heading = QLabel(f"{detail.label}「{detail.summary}」")
        heading.setObjectName("sectionTitle")
        facts = QLabel(f"发现时间：{format_local(detail.detected_at)}　　原因：{detail.reason_text}　　"
                       f"状态：{'已处理' if detail.resolved else '未处理'}")
        facts.setObjectName("hint")
        explain = QLabel(EXPLAIN.get(detail.reason, detail.adopt_refusal or EXPLAIN["concurrent"]))
        explain.setWordWrap(True)
        self.only_differing = QCheckBox(f"只显示不同的字段（{len(detail.differing)} 个）")
        self.only_differing.setObjectName("only_differing")
        self.only_differing.setChecked(bool(detail.differing))
        self.only_differing.setEnabled(bool(detail.differing))
        self.only_differing.toggled.connect(self._fill)
        self.table = self._table()
        self._fill()

        self.note = QLabel()
        self.note.setObjectName("hint")
        self.note.setWordWrap(True)
        self.keep_button = button("保留当前版本", name="keep_current_button")
        self.other_button = button("改用另一版本", primary=True, name="use_other_button")
        close_button = button("关闭", name="close_button")
        self.keep_button.clicked.connect(self.on_keep_clicked)
        self.other_button.clicked.connect(self.on_other_clicked)
        close_button.clicked.connect(self.reject)
        self._explain_actions(can_write)

        actions = QHBoxLayout()
        actions.addWidget(self.note, 1)
        actions.addWidget(self.keep_button)
        actions.addWidget(self.other_button)
        actions.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(facts)
        layout.addWidget(explain)
        layout.addWidget(self.only_differing)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)

    def _table(self) -> QTableWidget:
        table = QTableWidget(0, 3)
        table.setObjectName("conflict_fields")
        table.setHorizontalHeaderLabels(("字段", "当前版本（正在使用）", "另一版本（已保存）"))
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setWordWrap(True)
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        return table

    def _fill(self) -> None:
        shown = self.detail.differing if self.only_differing.isChecked() else self.detail.fields
        self.table.setRowCount(len(shown))
        bold = QFont(self.font())
        bold.setBold(True)
        for row, diff in enumerate(shown):
            for column, text in enumerate((diff.label, diff.current, diff.other)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if diff.differs:
                    item.setBackground(QBrush(DIFFERS))
                    item.setFont(bold)
                self.table.setItem(row, column, item)
        self.table.resizeRowsToContents()

    def _explain_actions(self, can_write: bool) -> None:
        """Read-only accounts and handled conflicts see the versions only, and are told why."""
        detail = self.detail
        if not can_write:
            self.keep_button.hide()
            self.other_button.hide()
            self.note.setText("当前账号是只读账号，只能查看，不能处理冲突。")
            return
        if detail.resolved:
            self.keep_button.setEnabled(False)
            self.other_button.setEnabled(False)
            self.note.setText("这条冲突已经处理过了，两个版本仍保存在这里供查阅。")
            return
        self.other_button.setEnabled(not detail.adopt_refusal)
        self.other_button.setToolTip(detail.adopt_refusal or "用另一版本的内容替换当前版本，作为本机的一次修改，下次同步时上报")
        self.keep_button.setToolTip("维持当前版本不变，把这条冲突标记为已处理")
        if detail.adopt_refusal:
            self.note.setText(detail.adopt_refusal)

    # -- decisions ---------------------------------------------------------------------------------
    def _decide(self, decision: str) -> None:
        action = self.service.keep_current if decision == "keep" else self.service.use_other
        try:
            action(self.detail.id)
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self.decision = decision
        self.accept()

    def on_keep_clicked(self) -> None:
        self._decide("keep")

    def on_other_clicked(self) -> None:
        fields = "、".join(f.label for f in self.detail.differing) or "无"
        if confirm(self, f"确定改用另一版本吗？\n将改动的字段：{fields}\n\n当前版本的内容会被替换（操作日志中保留原值），"
                         "这次修改会在下次同步时上报县里，并同步到本乡镇的其他电脑。"):
            self._decide("other")
