"""Main window, dashboard, organisation and settings areas."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QPushButton

from app.paths import backups_dir
from app.storage.backup import list_backups
from app.ui.main_window import AREAS, MainWindow


def test_sidebar_lists_the_areas_and_switches_pages(window):
    titles = [window.sidebar.item(i).text() for i in range(window.sidebar.count())]
    assert titles == ["工作台", "七有/五有", "组织机构", "隐患排查", "责任书", "同步", "设置"]
    for area in AREAS:
        window.show_area(area.key)
        assert window.stack.currentWidget() is window.page(area.key)
        assert window.current_area() == area.key
    assert "青山镇" in window.windowTitle()


def test_dashboard_counts_and_attention_navigation(qtbot, services, window):
    services.register("villages").save({"name": "石桥村", "population": "1200"})
    services.register("villages").save({"name": "城东社区", "kind": "社区", "head_phone": "13800138000",
                                        "population": "800"})
    page = window.page("dashboard")
    page.refresh()
    values = {lbl.accessibleName(): lbl.text() for lbl in page.findChildren(type(window.user_label))
              if lbl.accessibleName()}
    assert values["villages"] == "1"
    assert values["communities"] == "1"
    assert values["population"] == "2,000"
    items = [page.attention_list.item(i).text() for i in range(page.attention_list.count())]
    assert any("未填负责人电话" in text for text in items)
    target = next(page.attention_list.item(i) for i in range(page.attention_list.count())
                  if "负责人电话" in page.attention_list.item(i).text())
    page.on_attention_activated(target)
    assert window.current_area() == "organisation"


def test_township_profile_saves_and_updates_the_window(qtbot, window):
    window.show_area("organisation")
    profile = window.page("organisation").profile
    profile.form.editors["name"].setText("青山镇（新）")
    profile.form.editors["code"].setText("12")
    qtbot.mouseClick(profile.save_button, Qt.MouseButton.LeftButton)
    assert profile.form.errors["code"].text() == "区划代码应为9、12位数字，当前为2位"
    assert "青山镇（新）" not in window.windowTitle()
    profile.form.editors["code"].setText("360726100")
    qtbot.mouseClick(profile.save_button, Qt.MouseButton.LeftButton)
    assert profile.status.text() == "已保存。"
    assert "青山镇（新）" in window.windowTitle()


def test_change_password_in_settings(qtbot, services, window):
    actor = services.accounts.create_first_admin("boss", "abc12345")
    services.actor = actor
    fresh = MainWindow(services, window.data_dir)
    qtbot.addWidget(fresh)
    form = fresh.page("settings").tabs.widget(0)
    form.old_edit.setText("abc12345")
    form.new_edit.setText("xyz98765")
    form.again_edit.setText("xyz98765")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert form.message.text() == "密码已修改。"
    assert services.accounts.authenticate("boss", "xyz98765").username == "boss"


def test_backup_button_writes_a_backup(qtbot, window, data_dir, messages):
    window.show_area("settings")
    settings = window.page("settings")
    data_panel = next(settings.tabs.widget(i) for i in range(settings.tabs.count())
                      if settings.tabs.tabText(i) == "数据与备份")
    before = len(list_backups(backups_dir(data_dir)))
    qtbot.mouseClick(data_panel.findChild(QPushButton, "backup_button"), Qt.MouseButton.LeftButton)
    assert len(list_backups(backups_dir(data_dir))) == before + 1
    assert data_panel.backup_list.count() == before + 1
    assert messages[-1][0] == "information" and "已备份到" in messages[-1][1]


def test_window_geometry_is_remembered(qtbot, services, data_dir):
    first = MainWindow(services, data_dir)
    qtbot.addWidget(first)
    first.setGeometry(QRect(40, 50, 963, 677))
    first.close()
    second = MainWindow(services, data_dir)
    qtbot.addWidget(second)
    # The offscreen screen is 800 px wide, so Qt clamps the width to fit it; the height shows the
    # restore (a window without saved geometry opens 800 px high).
    assert second.size().height() == 677
    assert second.size().width() <= 963


def test_qt_standard_buttons_speak_chinese(qtbot):
    from PySide6.QtWidgets import QDialogButtonBox

    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Yes | QDialogButtonBox.StandardButton.Cancel)
    qtbot.addWidget(box)
    assert sorted(b.text() for b in box.buttons()) == sorted(["是(&Y)", "取消"])
