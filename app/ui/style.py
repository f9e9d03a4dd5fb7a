"""The look of the app: one stylesheet, the bundled CJK font, icons."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QFont, QFontDatabase, QIcon
from PySide6.QtWidgets import QApplication

from app.paths import resource

FONT_FILE = "wqy-microhei.ttc"
FALLBACK_FAMILY = "WenQuanYi Micro Hei"
ACCENT = "#1e6fd9"
DANGER = "#c62828"
WARNING = "#b26a00"
OK = "#2e7d32"

CHEVRON = resource("icons", "chevron-down.svg").as_posix()
STYLESHEET = f"""
QMainWindow, QDialog {{ background: #f4f6f9; }}
#sidebar {{ background: #1f3450; border: none; color: #dbe6f5; font-size: 15px; outline: 0; }}
#sidebar::item {{ padding: 12px 14px; border-left: 4px solid transparent; }}
#sidebar::item:selected {{ background: #2b4a72; border-left: 4px solid #5aa0f2; color: white; }}
#sidebar::item:hover:!selected {{ background: #263f60; }}
#brand {{ background: #1f3450; color: white; font-size: 20px; font-weight: bold; padding: 18px 14px 14px 14px; }}
#brandSub {{ background: #1f3450; color: #9fb3cc; font-size: 12px; padding: 0 14px 14px 14px; }}
#pageTitle {{ font-size: 20px; font-weight: bold; color: #1f3450; }}
#pageSubtitle {{ color: #5b6b7f; }}
#card {{ background: white; border: 1px solid #dde3ea; border-radius: 8px; }}
#cardValue {{ font-size: 26px; font-weight: bold; color: {ACCENT}; }}
#cardLabel {{ color: #5b6b7f; }}
#sectionTitle {{ font-size: 15px; font-weight: bold; color: #1f3450; }}
#fieldError {{ color: {DANGER}; font-size: 12px; }}
#formError {{ color: {DANGER}; background: #fdecea; border: 1px solid #f5c2bd; border-radius: 4px; padding: 6px; }}
#hint {{ color: #7a8899; font-size: 12px; }}
QLineEdit[invalid="true"], QComboBox[invalid="true"], QPlainTextEdit[invalid="true"] {{ border: 1px solid {DANGER}; }}
QTableView {{ background: white; gridline-color: #e6eaf0; selection-background-color: #d6e6fb;
              selection-color: black; alternate-background-color: #f8fafc; }}
QHeaderView::section {{ background: #eef2f7; padding: 5px; border: none; border-right: 1px solid #dde3ea;
                        border-bottom: 1px solid #dde3ea; font-weight: bold; color: #33475b; }}
QPushButton {{ padding: 5px 14px; border: 1px solid #c5cfdb; border-radius: 4px; background: white; }}
QPushButton:hover {{ background: #eef4fc; }}
QPushButton:disabled {{ color: #a0a8b3; background: #f1f3f6; }}
QPushButton[primary="true"] {{ background: {ACCENT}; color: white; border: 1px solid {ACCENT}; }}
QPushButton[primary="true"]:hover {{ background: #185cb4; }}
QPushButton[primary="true"]:disabled {{ background: #a9c4ea; border: 1px solid #a9c4ea; color: #f4f7fb; }}
QPushButton[danger="true"] {{ color: {DANGER}; }}
QLineEdit, QComboBox, QSpinBox, QPlainTextEdit {{ padding: 4px; border: 1px solid #c5cfdb; border-radius: 4px; background: white; }}
QComboBox {{ padding-right: 22px; }}
QComboBox::drop-down {{ subcontrol-origin: padding; subcontrol-position: center right; width: 20px; border: none; }}
QComboBox::down-arrow {{ image: url("{CHEVRON}"); width: 12px; height: 12px; }}
QComboBox QAbstractItemView {{ background: white; selection-background-color: #d6e6fb; selection-color: black; }}
QTabWidget::pane {{ border: 1px solid #dde3ea; background: white; border-radius: 4px; }}
QTabBar::tab {{ padding: 7px 16px; }}
QTabBar::tab:selected {{ color: {ACCENT}; font-weight: bold; }}
QStatusBar {{ background: #e9edf2; color: #33475b; }}
"""


@cache
def load_bundled_font() -> str:
    """Register the bundled CJK font so Chinese renders on PCs without Chinese fonts; return its family."""
    font_id = QFontDatabase.addApplicationFont(str(resource("fonts", FONT_FILE)))
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    return families[0] if families else FALLBACK_FAMILY


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    family = load_bundled_font()
    font = QFont(family, 10)
    font.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)
    app.setWindowIcon(icon("app"))


def icon(name: str) -> QIcon:
    return QIcon(str(resource("icons", f"{name}.svg")))
