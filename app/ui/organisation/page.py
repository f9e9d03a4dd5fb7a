"""组织机构: the township profile and the registers of villages, enterprises, units and contacts."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from app.errors import ValidationError, XiangAnError
from app.services import Services
from app.services.organisation import ORGANISATION_KINDS, REGISTERS, TOWNSHIP_FIELDS
from app.ui.widgets.common import button, page_header, show_error
from app.ui.widgets.record_form import RecordForm
from app.ui.widgets.register_excel import RegisterExcel
from app.ui.widgets.register_view import RegisterView


class TownshipProfileForm(QWidget):
    """The township's own profile: edited in place, saved with one button."""

    saved = Signal()

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.form = RecordForm(TOWNSHIP_FIELDS, lambda _name: [])
        self.form.set_values(services.township.profile())
        self.form.setEnabled(services.actor.role.can_write)
        self.save_button = button("保存乡镇信息", primary=True, name="save_button")
        self.save_button.setEnabled(services.actor.role.can_write)
        self.save_button.clicked.connect(self.on_save_clicked)
        self.status = QLabel()
        self.status.setObjectName("hint")
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.save_button)
        self.form.setMaximumWidth(760)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(self.form)
        layout.addLayout(buttons)
        layout.addStretch(1)

    def on_save_clicked(self) -> None:
        try:
            self.services.township.save_profile(self.form.values())
        except ValidationError as exc:
            self.form.show_errors(exc.errors)
            self.status.setText("有项目需要修改，请看标红的提示。")
            return
        except XiangAnError as exc:
            show_error(self, str(exc))
            return
        self.form.show_errors({})
        self.services.refresh_scope()
        self.status.setText("已保存。")
        self.saved.emit()


class OrganisationPage(QWidget):
    changed = Signal()

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.excel = RegisterExcel(services, lambda text: self.window().statusBar().showMessage(text, 8000))
        can_write = services.actor.role.can_write
        self.tabs = QTabWidget()
        self.tabs.setObjectName("organisation_tabs")
        self.profile = TownshipProfileForm(services)
        self.profile.saved.connect(self.changed)
        self.tabs.addTab(self.profile, "乡镇信息")
        self.views: dict[str, RegisterView] = {}
        for kind in ORGANISATION_KINDS:
            spec = REGISTERS[kind]
            view = RegisterView(lambda k=kind: services.register(k), can_write, self.excel.open_import, self.excel.export)
            view.changed.connect(self.on_register_changed)
            self.views[kind] = view
            self.tabs.addTab(view, spec.title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(page_header("组织机构", "乡镇、村（社区）、企业、站所和联系人名录，可从Excel导入、导出"))
        layout.addWidget(self.tabs, 1)

    def refresh(self) -> None:
        for view in self.views.values():
            view.refresh_filters()
            view.reload(view.selected_id())

    def on_register_changed(self) -> None:
        # A renamed village or new enterprise changes the choices other registers offer.
        for view in self.views.values():
            view.refresh_filters()
        self.changed.emit()
