"""``xiangan screenshots``: render every area (and the main dialogs) offscreen to PNG files."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QTabWidget, QWidget

from app.errors import ValidationError
from app.models import HazardAction, HazardStatus
from app.services import Services
from app.services.accounts import AccountService
from app.services.fields import normalise
from app.services.hazards import HazardQuery
from app.services.organisation import ENTERPRISES
from app.ui.application import create_application
from app.ui.hazards.detail import HazardDetailDialog
from app.ui.hazards.forms import StepDialog
from app.ui.login import FirstRunDialog, LoginDialog
from app.ui.main_window import AREAS
from app.ui.showcase import showcase_window
from app.ui.widgets.record_form import RecordDialog

SIZE = (1280, 800)


def _save(widget: QWidget, path: Path, written: list[Path]) -> None:
    QApplication.processEvents()
    widget.grab().save(str(path))
    written.append(path)


def _shoot_and_dispose(dialog: QWidget, path: Path, written: list[Path]) -> None:
    """Show, save, and delete the dialog while Qt still tracks it (not at garbage collection)."""
    dialog.show()
    _save(dialog, path, written)
    dialog.close()
    dialog.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def render_screenshots(data_dir: Path, out: Path) -> list[Path]:
    app = create_application()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with showcase_window(data_dir) as window:
        window.resize(*SIZE)
        window.show()
        for number, area in enumerate(AREAS, start=1):
            window.show_area(area.key)
            app.processEvents()
            _save(window, out / f"{number:02d}-{area.key}.png", written)
            tabs = window.page(area.key).findChild(QTabWidget)
            for index in range(1, tabs.count() if tabs else 0):
                tabs.setCurrentIndex(index)
                _save(window, out / f"{number:02d}-{area.key}-{index}.png", written)
            if tabs:
                tabs.setCurrentIndex(0)
        _dialogs(window, out, written)
    return written


def _dialogs(window: QWidget, out: Path, written: list[Path]) -> None:
    services = window.services
    login = LoginDialog(AccountService(services.db), services.scope.township_name)
    _shoot_and_dispose(login, out / "dialog-login.png", written)
    first = FirstRunDialog(services.db, lambda _p: False)
    first.pages.setCurrentIndex(0)
    _shoot_and_dispose(first, out / "dialog-first-run.png", written)
    _hazard_dialogs(services, window, out, written)
    _letter_dialogs(services, window, out, written)
    _readiness_dialogs(services, window, out, written)
    enterprises = services.register("enterprises")
    dialog = RecordDialog(ENTERPRISES, enterprises.choices, _validate_only, None, window)
    dialog.form.set_values({"name": "青山镇示例加工厂", "credit_code": "91360726MA35XXXX1", "phone": "1380013"})
    dialog.on_save_clicked()
    _shoot_and_dispose(dialog, out / "dialog-enterprise-errors.png", written)


def _hazard_dialogs(services: Services, window: QWidget, out: Path, written: list[Path]) -> None:
    """The detail of the most advanced open hazard, and the 五到位 form, as an officer sees them."""
    hazards = services.hazards
    ids = hazards.query_ids(HazardQuery(status=HazardStatus.ACCEPTANCE_REQUESTED.value))
    if not ids:
        return
    detail = HazardDetailDialog(services, ids[0], window)
    detail.resize(1200, 760)
    _shoot_and_dispose(detail, out / "dialog-hazard-detail.png", written)
    assigned = hazards.query_ids(HazardQuery(status=HazardStatus.ASSIGNED.value))
    if assigned:
        start = StepDialog(hazards, HazardAction.START, hazards.get(assigned[0]), window)
        _shoot_and_dispose(start, out / "dialog-hazard-five-in-place.png", written)


def _letter_dialogs(services: Services, window: QWidget, out: Path, written: list[Path]) -> None:
    """A village letter's text, its 考核 (the demo's accidents), and the signing and editing forms."""
    from app.ui.letters.detail import LetterDetailDialog
    from app.ui.letters.dialogs import EditLetterDialog, SignDialog

    rows = services.letters.list(include_superseded=False)
    if not rows:
        return
    vetoed = {a.letter_id for a in services.letters.assess(rows[0].year) if a.vetoed}
    shown = next((r for r in rows if r.id in vetoed), rows[0])
    detail = LetterDetailDialog(services, shown.id, window)
    _shoot_and_dispose(detail, out / "dialog-letter-detail.png", written)
    detail = LetterDetailDialog(services, shown.id, window)
    detail.tabs.setCurrentIndex(3)
    _shoot_and_dispose(detail, out / "dialog-letter-assessment.png", written)
    draft = next((r for r in rows if r.status == "草稿"), None)
    if draft is not None:
        content = services.letters.content(draft.id)
        _shoot_and_dispose(SignDialog(services, draft.id, content, window), out / "dialog-letter-sign.png", written)
        _shoot_and_dispose(EditLetterDialog(services, draft.id, content, window), out / "dialog-letter-edit.png",
                           written)


def _readiness_dialogs(services: Services, window: QWidget, out: Path, written: list[Path]) -> None:
    """The detail of the village furthest from 达标 (its weakest item), the assessment form and history."""
    from app.ui.readiness.assessments import AssessmentHistoryDialog, SelfAssessmentDialog

    page = window.page("readiness")
    villages = services.readiness.summary().villages
    if villages:
        village = min(villages, key=lambda v: v.score)
        weakest = min(village.items, key=lambda i: i.score - i.max_score)
        detail = page.show_detail(village.unit_id, weakest.key)
        detail.resize(1100, 720)
        _shoot_and_dispose(detail, out / "dialog-readiness-detail.png", written)
    _shoot_and_dispose(SelfAssessmentDialog(services, "", window), out / "dialog-readiness-assessment.png", written)
    history = AssessmentHistoryDialog(services, "", window)
    history.resize(1100, 700)
    _shoot_and_dispose(history, out / "dialog-readiness-history.png", written)


def _validate_only(values: dict) -> str:
    """Shows the real validation messages without writing anything to the user's data."""
    _clean, errors = normalise(ENTERPRISES, values)
    raise ValidationError(errors, ENTERPRISES.labels)
