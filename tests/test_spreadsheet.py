"""Reading messy and hostile spreadsheet files, and writing tidy ones."""

from __future__ import annotations

import errno
import os
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from app.documents import spreadsheet as ss
from app.documents.spreadsheet import cell_text, header_key, read_sheet, sheet_names, write_table
from app.errors import XiangAnError
from app.services.organisation import ENTERPRISES, VILLAGES

ENTERPRISE_HEADERS = [h for f in ENTERPRISES.fields for h in f.headers]
VILLAGE_HEADERS = [h for f in VILLAGES.fields for h in f.headers]


def messy_enterprise_sheet(path: Path) -> Path:
    """What a township office really sends: title, blank line, two-row header, merged villages, totals."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "企业"
    ws["A1"] = "青山镇企业名单（2026年）"
    ws.merge_cells("A1:G1")
    ws.append([])  # row 2 blank
    ws.append(["序号", "企业名称（必填）", "负责人", None, "所在村", "从业人数", "登记日期"])  # row 3
    ws.append([None, None, "姓名", "电话", None, None, None])  # row 4
    for ref in ("C3:D3", "A3:A4", "B3:B4", "E3:E4", "F3:F4", "G3:G4"):
        ws.merge_cells(ref)
    ws.append([1, "青山化工有限公司", "张三", 13800138000.0, "青山村", 12.0, datetime(2026, 1, 2)])  # row 5
    ws.append([2, " 绿水砂场 ", "李四", "１３９００１３９０００", None, 3, None])  # row 6, village merged from 5
    ws.merge_cells("E5:E6")
    ws.append([])  # row 7
    ws.append(["二、个体工商户"])  # row 8: a section title merged across the table
    ws.merge_cells("A8:G8")
    ws.append([3, "山货店", None, None, "白水村", None, None])  # row 9
    ws.append(["合计", None, None, None, None, 15])  # row 10
    ws.append(["填表人：王五"])  # row 11
    wb.save(path)
    return path


def test_messy_sheet_headers_found_below_title_and_combined(tmp_path: Path) -> None:
    data = read_sheet(messy_enterprise_sheet(tmp_path / "m.xlsx"), None, ENTERPRISE_HEADERS)
    assert data.header_row == 3 and data.header_rows == 2
    assert data.headers == ["序号", "企业名称（必填）", "负责人", "电话", "所在村", "从业人数", "登记日期"]
    assert data.sheet == "企业"


def test_messy_sheet_rows_are_records_only_with_excel_row_numbers(tmp_path: Path) -> None:
    data = read_sheet(messy_enterprise_sheet(tmp_path / "m.xlsx"), None, ENTERPRISE_HEADERS)
    assert [r.number for r in data.rows] == [5, 6, 9]  # blank, section, 合计 and 填表人 rows are gone
    first, second, third = (r.cells for r in data.rows)
    assert first == [1, "青山化工有限公司", "张三", 13800138000, "青山村", 12, date(2026, 1, 2)]
    assert second[1] == "绿水砂场"  # outer spaces stripped
    assert second[3] == "１３９００１３９０００"  # full-width is left for the field normalisers
    assert second[4] == "青山村"  # vertically merged village filled down
    assert third[4] == "白水村" and len(third) == len(data.headers)


def test_title_row_above_single_header_is_not_taken_as_a_parent(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "青山镇村（社区）基本情况表"
    ws.merge_cells("A1:D1")
    ws.append(["村（社区）名称", "户籍人口", "村书记", "联系电话"])
    ws.append(["青山村", 1200, "赵六", "13800138001"])
    wb.save(tmp_path / "v.xlsx")
    data = read_sheet(tmp_path / "v.xlsx", None, VILLAGE_HEADERS)
    assert (data.header_row, data.header_rows) == (2, 1)
    assert data.headers == ["村（社区）名称", "户籍人口", "村书记", "联系电话"]
    assert [r.number for r in data.rows] == [3]


def test_known_headers_beat_an_earlier_text_row(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["填报单位：青山镇", "填报日期：2026年3月"])
    ws.append(["名称", "人口", "负责人"])
    ws.append(["青山村", 800, "赵六"])
    wb.save(tmp_path / "v.xlsx")
    assert read_sheet(tmp_path / "v.xlsx", None, VILLAGE_HEADERS).header_row == 2
    # Without known labels the first row with two text cells is the best guess.
    assert read_sheet(tmp_path / "v.xlsx").header_row == 1


def test_numbers_never_become_scientific_notation() -> None:
    assert ss._plain(13800138000.0) == 13800138000
    assert cell_text(ss._plain(13800138000.0)) == "13800138000"
    assert cell_text(ss._plain(3.60726100001e17)) == "360726100001000000"
    assert cell_text(1e-05) == "0.00001"
    assert cell_text(12.5) == "12.5"
    assert cell_text(datetime(2026, 1, 2, 8, 30)) == "2026-01-02 08:30"
    assert ss._plain(datetime(2026, 1, 2)) == date(2026, 1, 2)
    assert ss._plain("　 ") is None  # ideographic space only counts as blank


def test_header_key_ignores_marks_spaces_and_width() -> None:
    assert header_key(" 企业名称（必填）") == header_key("企业名称")
    assert header_key("*联系\n电话：") == header_key("联系电话")
    assert header_key("ＡＢＣ") == "abc"


def test_formula_cells_give_cached_values(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["名称", "人口", "户数"])
    ws.append(["青山村", 100, "=B2*2"])
    wb.save(tmp_path / "f.xlsx")
    # openpyxl writes no cached value; add one as Excel would have.
    patched = tmp_path / "cached.xlsx"
    with zipfile.ZipFile(tmp_path / "f.xlsx") as src, zipfile.ZipFile(patched, "w") as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = re.sub(rb"<f>B2\*2</f><v\s*/>|<f>B2\*2</f><v></v>", b"<f>B2*2</f><v>200</v>", body)
                assert b"<v>200</v>" in body
            dst.writestr(item, body)
    assert read_sheet(patched, None, VILLAGE_HEADERS).rows[0].cells == ["青山村", 100, 200]


def test_content_sniffing_ignores_misleading_extensions(tmp_path: Path) -> None:
    messy_enterprise_sheet(tmp_path / "m.xlsx")
    disguised = tmp_path / "名单.xls"  # really an .xlsx, as often happens
    disguised.write_bytes((tmp_path / "m.xlsx").read_bytes())
    assert sheet_names(disguised) == ["企业"]
    assert len(read_sheet(disguised, "企业", ENTERPRISE_HEADERS).rows) == 3


def test_gbk_csv_with_blank_lines(tmp_path: Path) -> None:
    text = "序号,村名,户籍人口,联系电话\r\n\r\n1,青山村,1200,13800138000\r\n,,,\r\n2,白水村,800,\r\n合计,,2000,\r\n"
    path = tmp_path / "村.csv"
    path.write_bytes(text.encode("gbk"))
    data = read_sheet(path, None, VILLAGE_HEADERS)
    assert data.headers == ["序号", "村名", "户籍人口", "联系电话"]
    assert [(r.number, r.cells[1]) for r in data.rows] == [(3, "青山村"), (5, "白水村")]
    assert sheet_names(path) == ["村"]


def test_utf8_tab_separated_csv(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text("名称\t人口\n青山村\t1200\n", encoding="utf-8-sig")
    data = read_sheet(path, None, VILLAGE_HEADERS)
    assert data.rows[0].cells == ["青山村", "1200"]


def test_empty_cells_after_header_get_placeholder_names(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["名称", None, "人口"])
    ws.append(["青山村", "备用", 5, "多出来的"])
    wb.save(tmp_path / "v.xlsx")
    data = read_sheet(tmp_path / "v.xlsx", None, VILLAGE_HEADERS)
    assert data.headers == ["名称", "B列", "人口", "D列"]


# -- hostile and broken input ------------------------------------------------------------------------
def error_of(path: Path, **kwargs: object) -> str:
    with pytest.raises(XiangAnError) as info:
        read_sheet(path, **kwargs)
    return str(info.value)


def test_docx_renamed_to_xlsx_is_rejected_clearly(tmp_path: Path) -> None:
    path = tmp_path / "通知.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    assert error_of(path) == "文件「通知.xlsx」不是Excel表格（支持 .xlsx、.xls、.csv）"


def test_random_bytes_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(os.urandom(4096).replace(b"PK", b"QQ"))
    assert "不是Excel表格" in error_of(path)
    csv_path = tmp_path / "x.csv"
    csv_path.write_bytes(b"\x00\x01" + os.urandom(4096))
    assert "不是Excel表格" in error_of(csv_path)


def test_truncated_xlsx_is_reported_as_damaged(tmp_path: Path) -> None:
    messy_enterprise_sheet(tmp_path / "m.xlsx")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes((tmp_path / "m.xlsx").read_bytes()[:3000])
    message = error_of(broken)
    assert "broken.xlsx" in message and "损坏" in message


def test_fake_ole_header_gives_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "旧表.xls"
    path.write_bytes(ss.OLE_MAGIC + os.urandom(2048))
    message = error_of(path)
    assert "旧表.xls" in message and "损坏" in message


def test_password_protected_workbook(tmp_path: Path) -> None:
    path = tmp_path / "加密.xlsx"  # Excel stores an encrypted .xlsx inside an OLE container
    path.write_bytes(ss.OLE_MAGIC + b"\x00" * 600 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 600)
    assert "密码" in error_of(path)


def test_html_saved_as_xls(tmp_path: Path) -> None:
    path = tmp_path / "系统导出.xls"
    path.write_text("<html><body><table><tr><td>名称</td></tr></table></body></html>", encoding="utf-8")
    assert "网页" in error_of(path)


def test_empty_workbook(tmp_path: Path) -> None:
    openpyxl.Workbook().save(tmp_path / "empty.xlsx")
    assert "是空的" in error_of(tmp_path / "empty.xlsx")


def test_missing_file_and_zero_bytes(tmp_path: Path) -> None:
    assert "不存在" in error_of(tmp_path / "nowhere.xlsx")
    (tmp_path / "zero.xlsx").write_bytes(b"")
    assert "空文件" in error_of(tmp_path / "zero.xlsx")


def test_unknown_sheet_lists_the_real_ones(tmp_path: Path) -> None:
    messy_enterprise_sheet(tmp_path / "m.xlsx")
    message = error_of(tmp_path / "m.xlsx", sheet="Sheet9")
    assert "Sheet9" in message and "企业" in message


def test_no_header_row_found(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    for value in (1, 2, 3):
        wb.active.append([value])
    wb.save(tmp_path / "n.xlsx")
    assert "找不到表头" in error_of(tmp_path / "n.xlsx")


def test_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    messy_enterprise_sheet(tmp_path / "m.xlsx")
    monkeypatch.setattr(ss, "MAX_FILE_BYTES", 1000)
    assert "50MB" in error_of(tmp_path / "m.xlsx")


def test_zip_bomb_limit_checked_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    messy_enterprise_sheet(tmp_path / "m.xlsx")
    monkeypatch.setattr(ss, "MAX_UNPACKED_BYTES", 2000)
    monkeypatch.setattr(ss.openpyxl, "load_workbook", lambda *a, **k: pytest.fail("opened a zip bomb"))
    assert "解压后" in error_of(tmp_path / "m.xlsx")


def test_row_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ss, "MAX_DATA_ROWS", 10)
    path = tmp_path / "many.csv"
    path.write_text("名称,人口\n" + "".join(f"村{i},{i}\n" for i in range(40)), encoding="utf-8")
    assert "超过10行" in error_of(path)


def test_column_limit(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append([f"列{i}" for i in range(ss.MAX_COLUMNS + 1)])
    wb.save(tmp_path / "wide.xlsx")
    assert "超过200列" in error_of(tmp_path / "wide.xlsx")


# -- writing -----------------------------------------------------------------------------------------
def test_write_table_is_tidy_and_reimports(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    rows = [["青山化工", "91360726MA35XXXXXX", "13800138000", 12, "=HYPERLINK(\"x\")"],
            ["绿水\x01砂场", None, "0797-1234567", None, "#N/A"]]
    write_table(path, "村/社区", ["名称", "代码", "电话", "人数", "备注"], rows, None, {1, 2})
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    assert ws.title == "村-社区" and wb.properties.title == "村/社区"
    assert ws["A1"].font.b and ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:E3"
    assert ws["B2"].number_format == "@" and ws["C2"].data_type == "s"
    assert ws["E2"].data_type == "s" and ws["E2"].value == '=HYPERLINK("x")'  # text, never a formula
    assert ws["D2"].value == 12 and ws.column_dimensions["A"].width >= 8
    data = read_sheet(path)
    assert data.header_row == 1
    assert data.rows[0].cells[:3] == ["青山化工", "91360726MA35XXXXXX", "13800138000"]
    assert data.rows[1].cells[0] == "绿水砂场"  # control character dropped, not a crash
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]  # no temp file left behind


def test_write_table_guesses_code_columns(tmp_path: Path) -> None:
    write_table(tmp_path / "g.xlsx", "表", ["名称", "电话"], [["a", "13800138000"]])
    assert openpyxl.load_workbook(tmp_path / "g.xlsx").active["B2"].number_format == "@"


def test_write_table_target_open_in_excel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "名单.xlsx"
    path.write_bytes(b"old contents")

    def locked(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(ss.os, "replace", locked)
    with pytest.raises(XiangAnError, match=re.escape("文件「名单.xlsx」正被其他程序打开，请关闭后重试")):
        write_table(path, "表", ["名称"], [["a"]])
    assert path.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["名单.xlsx"]


def test_write_table_disk_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: object, filename: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(openpyxl.Workbook, "save", full)
    with pytest.raises(XiangAnError, match="磁盘空间不足"):
        write_table(tmp_path / "a.xlsx", "表", ["名称"], [["a"]])
    assert list(tmp_path.iterdir()) == []


def test_write_table_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(XiangAnError, match="不存在"):
        write_table(tmp_path / "nope" / "a.xlsx", "表", ["名称"], [["a"]])
