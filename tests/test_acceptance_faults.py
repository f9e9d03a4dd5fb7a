"""Faults from real offices' files and machines: each was a bug before it was a test."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from app.cli import main
from app.documents.spreadsheet import read_sheet
from app.errors import StorageError, ValidationError
from app.models.validation import normalize_date, normalize_phone, uscc_check_char
from app.paths import database_path
from app.services.context import SYSTEM_ACTOR
from app.services.hazard_excel import HazardExcelService
from app.services.imports import ImportService
from app.storage import open_database
from app.storage.attachments import AttachmentStore
from app.storage.integrity import quick_check

ROOT = Path(__file__).resolve().parent.parent


def _code(n: int) -> str:
    base = f"91360424MA{n:07d}"[:17]
    return base + uscc_check_char(base)


# -- the database ----------------------------------------------------------------------------------
@pytest.fixture
def locked_rollback_db(db, data_dir: Path):
    """The database held by another program's BEGIN EXCLUSIVE, in a rollback-journal file (readers blocked)."""
    db.dispose()
    path = database_path(data_dir)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("BEGIN EXCLUSIVE")
    yield path
    conn.rollback()
    conn.close()


def test_a_locked_database_is_reported_as_busy_not_as_damaged(locked_rollback_db, monkeypatch):
    # Reporting "damaged" made the start-up offer to restore an older backup over a healthy file.
    monkeypatch.setattr("app.storage.integrity.connect_read_only",
                        lambda path, **kw: sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=0.2))
    with pytest.raises(StorageError, match="占用"):
        quick_check(locked_rollback_db)
    with pytest.raises(StorageError, match="占用") as caught:
        open_database(locked_rollback_db.parent)
    assert "损坏" not in str(caught.value)


def test_data_dir_that_is_a_file_is_explained(tmp_path, capsys):
    target = tmp_path / "数据"
    target.write_text("not a folder")
    for command in (["check"], ["demo"]):
        assert main(["--data-dir", str(target), *command]) == 1
        err = capsys.readouterr().err
        assert err.startswith("错误：") and "是一个文件" in err and "Traceback" not in err


# -- the command line ------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["import"], ["import", "garbage", "x.xlsx"], ["demo", "--seed", "abc"],
                                  ["hazards", "notice"], ["backup"], ["nosuch"], ["check", "--bogus"]])
def test_usage_errors_are_one_chinese_line(args):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=60, check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), done.stderr
    assert "error:" not in done.stderr and "usage" not in done.stderr


def test_register_import_with_rejected_rows_exits_non_zero(db, services, tmp_path, capsys):
    path = tmp_path / "企业.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["企业名称", "统一社会信用代码", "联系电话"])
    ws.append(["甲公司", _code(1), "13800138000"])
    ws.append(["乙公司", _code(2), "13800138000/13900139000"])
    wb.save(path)
    db.dispose()
    assert main(["import", "enterprises", str(path), "--data-dir", str(db.path.parent)]) == 3
    out = capsys.readouterr().out
    assert "新增 1 条" in out and "第3行：联系电话：" in out and "2个号码" in out


# -- office spreadsheets ---------------------------------------------------------------------------
def test_apostrophe_text_numbers_and_formulas_without_results(db, services, tmp_path):
    path = tmp_path / "村名单.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["村（社区）名称", "区划代码", "户籍人口", "负责人", "联系电话"])
    ws.append(["石桥村", "'360424100001", "=100+200", "甲", "'13800138000"])
    ws.append(["合计", None, "=SUM(C2:C2)", None, None])
    wb.save(path)  # openpyxl saves formulas without a result, as many non-Excel programs do
    data = read_sheet(path, None, ["村（社区）名称", "区划代码", "户籍人口", "联系电话"])
    assert [r.cells for r in data.rows] == [["石桥村", "360424100001", "=100+200", "甲", "13800138000"]]
    importer = ImportService(db, SYSTEM_ACTOR, services.scope)
    source = importer.load(path, "villages")
    result = importer.apply("villages", source, importer.suggest_mapping("villages", source.data.headers))
    assert result.created == 0
    assert result.skipped_rows == [(2, "人口：「=100+200」不是数字")]  # never imported as a blank population


def test_a_hidden_sheet_is_not_picked_for_import(db, services, tmp_path):
    path = tmp_path / "企业名单.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "填表说明"
    wb.active["A1"] = "填表说明：企业名称必填"
    hidden = wb.create_sheet("旧名单")
    hidden.sheet_state = "hidden"
    hidden.append(["企业名称", "联系电话"])
    hidden.append(["早已注销的公司", "13800138000"])
    sheet = wb.create_sheet("名单")
    sheet.append(["企业名称", "统一社会信用代码", "联系电话"])
    sheet.append(["甲公司", _code(1), "0797-1234567转8"])
    wb.save(path)
    importer = ImportService(db, SYSTEM_ACTOR, services.scope)
    source = importer.load(path, "enterprises")
    assert source.sheet == "名单"


def test_hazard_ledger_as_a_township_keeps_it(db, services, tmp_path):
    services.register("villages").save({"name": "石桥村"})
    path = tmp_path / "台账.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.merge_cells("A1:J1")
    ws["A1"] = "青山镇2026年隐患排查治理台账"
    ws.append(["序号", "排查时间", "隐患单位", "隐患地点", "存在问题", "隐患等级", "整改措施", "整改时限", "责任人",
               "整改情况"])
    ws.append([1, "2026.3.5", "青山建材厂", "仓库", "消防通道堵塞", "一般隐患", "清理", "2026-3-10 8:30", "张三", "未整改"])
    ws.append([2, "3月5日", "青山建材厂", "车间", "灭火器过期", "一般", "更换", "2026.3.8", "张三", "未整改"])
    ws.append([3, "2026-03-05 00:00:00", "青山建材厂", "厂房", "护栏缺失", "一般", "安装", "2026-03-01", "李四", "未整改"])
    wb.save(path)
    excel = HazardExcelService(db, SYSTEM_ACTOR, services.scope)
    source = excel.load(path)
    rows = excel.preview(source, excel.suggest_mapping(source.data.headers))
    by_row = {r.number: r for r in rows}
    assert not by_row[3].errors, by_row[3].errors  # 隐患地点 is the location; a time after the date is dropped
    assert by_row[4].errors["found_on"] == "「3月5日」没有写年份，请写成 2026-03-05 这样的完整日期"
    assert by_row[5].errors["deadline"] == "不能早于发现日期（2026-03-05）"


@pytest.mark.parametrize(("text", "expected"), [("2026-3-5 8:30", "2026-03-05"), ("2026年3月5日8:30", "2026-03-05"),
                                                 ("2026-03-05 00:00:00", "2026-03-05"), ("2026.3.5", "2026-03-05")])
def test_dates_with_a_time(text, expected):
    assert normalize_date(text).isoformat() == expected


def test_two_phones_in_one_cell_are_named_as_such():
    with pytest.raises(ValueError, match="2个号码"):
        normalize_phone("13800138000/13900139000")
    assert normalize_phone("139 0000 0000") == "13900000000"
    assert normalize_phone("0797-1234567转8") == "0797-1234567-8"


# -- photos ----------------------------------------------------------------------------------------
def test_a_heic_photo_is_named_as_heic(tmp_path):
    photo = tmp_path / "IMG_0001.HEIC"
    photo.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 200)
    with pytest.raises(ValidationError, match="HEIC"):
        AttachmentStore(tmp_path / "store").put(photo, images_only=True)
