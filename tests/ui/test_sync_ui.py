"""同步 screen: enrolment, export to the stick, the county's return file, history — through the real buttons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog

from app.services import Services
from app.sync.county import CountyStore
from app.ui.sync.page import SyncPage
from tests.conftest import CLERK, READER
from tests.sync.sync_world import digest
from tests.ui.conftest import click

CODE = "360726100"


@pytest.fixture
def county(tmp_path: Path) -> CountyStore:
    store = CountyStore.init(tmp_path / "county", name="安远县应急管理局")
    yield store
    store.db.dispose()


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    stick = tmp_path / "usb"
    stick.mkdir()
    return stick


def _page(qtbot, services: Services, data_dir: Path) -> SyncPage:
    page = SyncPage(services, data_dir)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    return page


def _choose_file(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(path), ""))


def _choose_folder(monkeypatch: pytest.MonkeyPatch, folder: Path) -> list:
    asked: list = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **_k: asked.append(a) or str(folder))
    return asked


def _history(page: SyncPage) -> list[tuple[str, str, str]]:
    table = page.history_table
    return [tuple(table.item(r, c).text() for c in (2, 3, 4)) for r in range(table.rowCount())]


def _enrol(qtbot, page: SyncPage, county: CountyStore, tmp_path: Path, monkeypatch) -> None:
    _choose_file(monkeypatch, county.add_township(CODE, "青山镇", tmp_path / "enrol.xae"))
    click(qtbot, page.enrol_button)


def test_not_enrolled_says_so_and_export_is_refused_before_asking_for_a_folder(qtbot, services, data_dir, usb,
                                                                              messages, monkeypatch):
    page = _page(qtbot, services, data_dir)
    assert "本机尚未登记到县级平台" in page.status_text()
    asked = _choose_folder(monkeypatch, usb)
    click(qtbot, page.export_button)
    assert asked == []
    assert messages[-1][0] == "warning"
    assert "尚未登记" in messages[-1][1] and "不能导出" in messages[-1][1] and "导入登记文件" in messages[-1][1]
    assert list(usb.iterdir()) == []
    assert _history(page) == []


def test_enrol_export_and_the_return_file_round_trip(qtbot, services, data_dir, county, usb, tmp_path,
                                                    messages, monkeypatch):
    services.register("villages").save({"name": "石桥村"})
    page = _page(qtbot, services, data_dir)
    changed: list = []
    page.changed.connect(lambda: changed.append(True))
    _enrol(qtbot, page, county, tmp_path, monkeypatch)
    assert messages[-1][0] == "information" and "安远县应急管理局 · 青山镇" in messages[-1][1]
    assert page.status_labels["登记情况"].text() == "已登记：安远县应急管理局 · 青山镇"
    pending = page.sync.status().pending_records
    assert pending >= 2  # the township profile and the village
    assert page.status_labels["待上报"].text() == f"{pending} 条记录 / 0 个附件"
    assert page.status_labels["上次导出"].text() == "尚未导出过"
    assert changed

    _choose_folder(monkeypatch, usb)
    click(qtbot, page.export_button)
    written = list(usb.glob("*.xab"))
    assert len(written) == 1 and written[0].name.startswith(CODE)
    assert messages[-1][0] == "information"
    assert written[0].name in messages[-1][1] and f"共 {pending} 条记录、0 个附件" in messages[-1][1]
    assert _history(page)[0] == ("上报", written[0].name, f"上报 {pending} 条记录、0 个附件")
    assert written[0].name in page.status_labels["上次导出"].text()

    doc = tmp_path / "sectors.json"
    doc.write_text(json.dumps({"kind": "sector_codes", "version": "2027.1", "title": "行业领域代码表",
                               "items": [{"code": "road", "name": "道路交通", "group": "八大重点行业"}]},
                              ensure_ascii=False), encoding="utf-8")
    county.send_document("sectors", doc)
    returned = county.import_bundle(written[0], usb)
    _choose_file(monkeypatch, returned.return_path)
    click(qtbot, page.import_button)
    kind, text = messages[-1]
    assert kind == "information"
    assert f"县里已确认收到本机上报的第 {returned.acknowledged_to} 号及以前的全部记录" in text
    assert "本次收到：县级配置 1 条" in text
    assert page.status_labels["待上报"].text() == "0 条记录 / 0 个附件"
    assert f"已确认到第 {returned.acknowledged_to} 号" in page.status_labels["县里确认"].text()
    assert returned.return_path.name in page.status_labels["上次导入回执"].text()
    direction, name, summary = _history(page)[0]
    assert (direction, name) == ("下发", returned.return_path.name) and "收到 县级配置 1" in summary
    assert [s.name for s in services.township.sectors()] == ["道路交通"]

    click(qtbot, page.import_button)  # the same return file again: harmless and said so
    assert messages[-1] == ("information", "该回执文件已经导入过，数据没有变化。")


def test_a_tampered_return_file_is_refused_in_chinese_and_changes_nothing(qtbot, services, data_dir, county, usb,
                                                                         tmp_path, messages, monkeypatch):
    page = _page(qtbot, services, data_dir)
    _enrol(qtbot, page, county, tmp_path, monkeypatch)
    _choose_folder(monkeypatch, usb)
    click(qtbot, page.export_button)
    returned = county.import_bundle(next(usb.glob("*.xab")), usb)
    data = bytearray(returned.return_path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    returned.return_path.write_bytes(bytes(data))
    before, history, status = digest(services.db.path), _history(page), page.status_text()

    _choose_file(monkeypatch, returned.return_path)
    click(qtbot, page.import_button)
    kind, text = messages[-1]
    assert kind == "warning" and "同步文件" in text and ("损坏" in text or "篡改" in text)
    assert digest(services.db.path) == before
    assert _history(page) == history and page.status_text() == status
    assert "尚未收到县里的确认" in status


def test_a_data_file_is_not_a_return_file(qtbot, services, data_dir, county, usb, tmp_path, messages, monkeypatch):
    page = _page(qtbot, services, data_dir)
    _enrol(qtbot, page, county, tmp_path, monkeypatch)
    _choose_folder(monkeypatch, usb)
    click(qtbot, page.export_button)
    own = next(usb.glob("*.xab"))
    _choose_file(monkeypatch, own)
    click(qtbot, page.import_button)
    assert messages[-1][0] == "warning"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in messages[-1][1])
    assert [row[0] for row in _history(page)] == ["上报"]


def test_readers_see_the_status_only_and_clerks_cannot_enrol(qtbot, services, data_dir):
    reader = _page(qtbot, Services(services.db, READER), data_dir)
    assert "尚未登记" in reader.status_text()
    assert not any(b.isVisible() for b in (reader.enrol_button, reader.export_button, reader.import_button))
    clerk = _page(qtbot, Services(services.db, CLERK), data_dir)
    assert clerk.export_button.isVisible() and clerk.import_button.isVisible()
    assert not clerk.enrol_button.isVisible()


def test_sync_area_is_in_the_main_window(window):
    window.show_area("sync")
    page = window.page("sync")
    assert isinstance(page, SyncPage)
    assert window.stack.currentWidget() is page


def test_cancelling_an_export_writes_nothing(qtbot, services, data_dir, county, usb, tmp_path, messages, monkeypatch):
    from app.ui.workers import CancelToken

    page = _page(qtbot, services, data_dir)
    _enrol(qtbot, page, county, tmp_path, monkeypatch)
    pending = page.status_labels["待上报"].text()
    monkeypatch.setattr(CancelToken, "__call__", lambda _self: True)  # 取消 pressed as soon as it started
    _choose_folder(monkeypatch, usb)
    click(qtbot, page.export_button)
    assert messages[-1][0] == "warning" and "已取消" in messages[-1][1]
    assert list(usb.iterdir()) == []
    assert _history(page) == [] and page.status_labels["待上报"].text() == pending


def test_conflicts_from_two_pcs_are_listed(qtbot, tmp_path, messages, monkeypatch):
    from tests.sync.sync_world import World

    world = World(tmp_path / "world")
    first = world.township_pc()
    world.round_trip(first)  # binds the township to the data of the PC that had it
    second = world.second_pc()
    world.round_trip(second)
    try:
        [village] = first.sv().register("villages").query_ids()
        first.edit_village(village, population="100")
        second.edit_village(village, population="200")
        world.round_trip(first)
        world.round_trip(second)
        _, imported = world.upload(first)  # the county sends the second PC's version down to the first
        page = _page(qtbot, first.sv(), first.folder)
        assert not page.conflicts_table.isVisible()
        _choose_file(monkeypatch, imported.return_path)
        click(qtbot, page.import_button)
        assert "修改冲突：1 条" in messages[-1][1] and "本次收到：村/社区 1 条" in messages[-1][1]
        table = page.conflicts_table
        assert table.isVisible() and table.rowCount() >= 1
        assert table.item(0, 3).text() == "两台电脑同时修改" and table.item(0, 2).text() == "石桥村"
        assert "条（见下方列表）" in page.status_labels["修改冲突"].text()
    finally:
        for pc in world.pcs:
            pc.close()
        world.county.db.dispose()


# -- conflict resolution ---------------------------------------------------------------------------
@pytest.fixture
def conflicted(tmp_path: Path):
    """Two PCs of one township edited the same village; the first PC holds the winner and the kept loser."""
    from tests.sync.sync_world import World

    world = World(tmp_path / "world")
    first = world.township_pc()
    world.round_trip(first)
    second = world.second_pc()
    world.round_trip(second)
    [village] = first.sv().register("villages").query_ids()
    first.edit_village(village, population="100", head_name="李四")
    second.edit_village(village, population="200", head_name="王五")
    world.round_trip(first)
    world.round_trip(second)
    world.round_trip(first)
    yield world, first, village
    world.close()


def _open_conflict(qtbot, page: SyncPage, drive, act) -> list:
    from app.ui.sync.conflict_dialog import ConflictDialog

    opened = drive(ConflictDialog, act)
    page.conflicts_table.selectRow(0)
    click(qtbot, page.conflict_button)
    return opened


def _shown_fields(dialog) -> list[tuple[str, str, str]]:
    table = dialog.table
    return [tuple(table.item(r, c).text() for c in range(3)) for r in range(table.rowCount())]


def test_conflict_detail_shows_both_versions_and_using_the_other_one_edits_the_row(
        qtbot, conflicted, drive, messages):
    world, first, village = conflicted
    page = _page(qtbot, first.sv(), first.folder)
    assert page.conflicts_table.item(0, 4).text() == "未处理"
    assert not page.conflict_button.isEnabled()  # nothing selected yet
    current = first.village(village)
    other = {"population": 300 - current["population"], "head_name": ({"李四", "王五"} - {current["head_name"]}).pop()}
    seen: list = []

    def act(dialog) -> None:
        seen.append(_shown_fields(dialog))
        box = dialog.only_differing  # on its tick box: all fields, the differing ones first
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
        seen.append(_shown_fields(dialog))
        click(qtbot, dialog.other_button)

    opened = _open_conflict(qtbot, page, drive, act)
    assert opened and opened[0].windowTitle() == "修改冲突：村/社区「石桥村」"
    assert seen[0] == [("人口", str(current["population"]), str(other["population"])),
                       ("负责人", current["head_name"], other["head_name"])]
    assert seen[1][:2] == seen[0] and ("名称", "石桥村", "石桥村") in seen[1]
    assert messages[-2][0] == "question" and "人口、负责人" in messages[-2][1]
    assert messages[-1] == ("information", "已改用另一版本，这条冲突已标记为已处理。这次修改会在下次同步时上报县里。")
    assert {k: first.village(village)[k] for k in other} == other
    assert page.conflicts_table.item(0, 4).text() == "已处理"
    assert "修改冲突：" not in page.status_text()
    assert page.sync.status().pending_records == 1  # the adopted version waits to go up

    world.round_trip(first)
    with world.county.db.session() as session:
        from app.models.organisation import Village
        assert session.get(Village, village).population == other["population"]


def test_keeping_the_current_version_closes_the_conflict(qtbot, conflicted, drive, messages):
    _world, first, village = conflicted
    page = _page(qtbot, first.sv(), first.folder)
    before = first.village(village)
    _open_conflict(qtbot, page, drive, lambda dialog: click(qtbot, dialog.keep_button))
    assert messages[-1] == ("information", "已保留当前版本，这条冲突已标记为已处理。")
    assert first.village(village) == before
    assert page.conflicts_table.item(0, 4).text() == "已处理"
    assert page.sync.status().pending_records == 0

    def handled(dialog) -> None:  # opened again: the versions are still there, the decisions are not
        assert not dialog.keep_button.isEnabled() and not dialog.other_button.isEnabled()
        assert "已经处理过了" in dialog.note.text() and _shown_fields(dialog)
        click(qtbot, dialog.findChild(type(dialog.keep_button), "close_button"))

    assert _open_conflict(qtbot, page, drive, handled)


def test_read_only_users_may_look_at_a_conflict_but_not_resolve_it(qtbot, conflicted, drive):
    _world, first, _village = conflicted
    page = _page(qtbot, Services(first.db, READER), first.folder)
    assert page.conflict_button.text() == "查看…"

    def act(dialog) -> None:
        assert not dialog.keep_button.isVisible() and not dialog.other_button.isVisible()
        assert "只读账号" in dialog.note.text() and len(_shown_fields(dialog)) == 2
        dialog.reject()

    assert _open_conflict(qtbot, page, drive, act)
    assert page.conflicts_table.item(0, 4).text() == "未处理"


# -- enrolment order and refused return files ------------------------------------------------------
def test_the_enrolment_order_is_explained_until_the_first_upload_is_acknowledged(
        qtbot, services, data_dir, county, usb, tmp_path, messages, monkeypatch):
    page = _page(qtbot, services, data_dir)
    help_text = page.enrol_help.text()
    assert page.enrol_help.isVisible()
    assert "已经录有本乡镇数据的那台电脑" in help_text and "第二台电脑" in help_text
    assert help_text.index("已经录有本乡镇数据") < help_text.index("第二台电脑")
    _enrol(qtbot, page, county, tmp_path, monkeypatch)
    assert page.enrol_help.isVisible()
    _choose_folder(monkeypatch, usb)
    click(qtbot, page.export_button)
    returned = county.import_bundle(next(usb.glob("*.xab")), usb)
    _choose_file(monkeypatch, returned.return_path)
    click(qtbot, page.import_button)
    assert not page.enrol_help.isVisible()


def test_another_pcs_return_file_is_refused_with_what_to_do(qtbot, services, data_dir, county, usb, tmp_path,
                                                            messages, monkeypatch):
    from app.storage import open_database
    from app.sync.township import TownshipSync

    page = _page(qtbot, services, data_dir)
    _enrol(qtbot, page, county, tmp_path, monkeypatch)
    other_db = open_database(tmp_path / "other-pc")
    try:
        other = TownshipSync(other_db, tmp_path / "other-pc")
        other.enrol(county.add_township("360726200", "白云乡", tmp_path / "other.xae"))
        returned = county.import_bundle(other.export_bundle(usb).path, usb)
    finally:
        other_db.dispose()
    before = digest(services.db.path)
    _choose_file(monkeypatch, returned.return_path)
    click(qtbot, page.import_button)
    kind, text = messages[-1]
    assert kind == "warning" and text.startswith("回执文件没有导入，本机数据没有变化。")
    assert "Traceback" not in text and "每台电脑只能导入县里为它生成的回执文件" in text
    assert digest(services.db.path) == before


@pytest.mark.parametrize(("code", "expected"), [
    ("wrong_township", ("该同步文件属于其他乡镇", "发给本乡镇（青山镇）这台电脑的回执文件")),
    ("fork", ("检测到数据库从旧备份恢复", "请重新登记本机，数据不会丢失")),
])
def test_a_refused_return_file_says_what_happened_and_what_to_do(qtbot, services, data_dir, county, usb, tmp_path,
                                                                 messages, monkeypatch, code, expected):
    from app.sync.errors import SyncError
    from app.sync.township import TownshipSync

    page = _page(qtbot, services, data_dir)
    _enrol(qtbot, page, county, tmp_path, monkeypatch)

    def refuse(*_args, **_kwargs):
        raise SyncError(code)

    monkeypatch.setattr(TownshipSync, "import_return", refuse)
    stray = usb / "x.xab"
    stray.write_bytes(b"x")
    _choose_file(monkeypatch, stray)
    click(qtbot, page.import_button)
    kind, text = messages[-1]
    assert kind == "warning" and text.startswith("回执文件没有导入，本机数据没有变化。")
    assert all(part in text for part in expected), text
