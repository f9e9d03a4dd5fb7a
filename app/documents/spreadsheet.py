"""Reading untrusted office spreadsheets (.xlsx/.xlsm, .xls, .csv) into plain rows; writing tidy .xlsx tables."""

from __future__ import annotations

import csv
import html
import io
import math
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import xlrd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import coordinate_to_tuple, get_column_letter, range_boundaries

from app.documents.output import save_atomically
from app.errors import XiangAnError

Cell = str | int | float | date | datetime | None

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_DATA_ROWS = 100_000
MAX_COLUMNS = 200
MAX_UNPACKED_BYTES = 500 * 1024 * 1024  # an .xlsx is a zip: bound what it may inflate to
MAX_ZIP_MEMBERS = 10_000
HEADER_SCAN_ROWS = 20

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
SUPPORTED = "支持 .xlsx、.xls、.csv"

# Rows under the table that summarise or annotate it rather than being records.
_FOOTER = re.compile(
    r"^(?:(?:合计|小计|总计|共计|总合计)(?:[:\s\d(]|$)"
    r"|(?:备注说明|填表说明|填报说明)"
    r"|(?:备注|说明|注|填表人|填报人|制表人|审核人|负责人签字|填报单位|制表单位|填报日期|制表日期)[:])"
)
_REQUIRED_MARKS = re.compile(r"\((?:必填|必填项|选填|可选|非必填)\)|[*※★☆]")
_PARENTHETICAL = re.compile(r"\([^)]*\)")
_NAME_WORDS = {"姓名", "名称", "名字"}
_MERGE_REF = re.compile(rb"""<(?:\w+:)?mergeCell\b[^>]*?\bref=["']([A-Za-z]+[0-9]+(?::[A-Za-z]+[0-9]+)?)["']""")
_NO_RESULT = re.compile(  # <c r="D2"><f>100+200</f><v /></c>: a formula whose result was never saved
    rb"""<c\b([^>]*?\br=["']([A-Za-z]{1,3}[0-9]{1,7})["'][^>]*)>\s*<f\b[^>]*>([^<]{1,2000})</f>\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>"""
)
_ENCRYPTED_OLE = "EncryptedPackage".encode("utf-16-le")


@dataclass(frozen=True)
class SourceRow:
    number: int  # 1-based row number as Excel shows it, so error messages point at the right line
    cells: list[Cell]  # aligned with SheetData.headers


@dataclass
class SheetData:
    headers: list[str]
    rows: list[SourceRow]
    header_row: int  # row number of the (first) header row
    header_rows: int = 1  # 2 when a merged parent header spans child headers
    sheet: str = ""


@dataclass
class _Raw:
    """A sheet as read: non-blank rows with their numbers, and merged ranges (1-based, inclusive)."""

    name: str
    rows: list[tuple[int, list[Cell]]] = field(default_factory=list)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # min_row, min_col, max_row, max_col


# -- small helpers shared with the import service ------------------------------------------------------
def header_key(text: object) -> str:
    """A header reduced to what identifies it: half-width, no spaces or line breaks, no 必填/* marks."""
    key = unicodedata.normalize("NFKC", "" if text is None else str(text))
    key = re.sub(r"\s+", "", key)
    return _REQUIRED_MARKS.sub("", key).rstrip(":").lower()


def without_parenthetical(key: str) -> str:
    """「联系电话(手机)」→「联系电话」: offices annotate headers in brackets."""
    return _PARENTHETICAL.sub("", key)


def cell_text(value: Cell) -> str:
    """A cell as the text a person would type: whole numbers without '.0', never scientific notation."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _plain(value: Any) -> Cell:
    """Cell value from any reader → str/int/float/date/datetime/None (blank text is None)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("'", "\uff07"):  # '13800138000: the "keep as text" apostrophe, typed or exported
            text = text[1:].strip()
        return text or None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        # Phones and codes typed into General cells arrive as 13800138000.0.
        return int(value) if value.is_integer() else value
    if isinstance(value, datetime):
        return value.date() if value.time() == time() else value
    if isinstance(value, date):
        return value
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip() or None


# -- file checks -------------------------------------------------------------------------------------
def _fail(path: Path, problem: str) -> XiangAnError:
    return XiangAnError(f"文件「{path.name}」{problem}")


def _not_spreadsheet(path: Path) -> XiangAnError:
    return _fail(path, f"不是Excel表格（{SUPPORTED}）")


def _damaged(path: Path) -> XiangAnError:
    return _fail(path, "已损坏或格式不正确，无法读取。请用Excel打开确认内容，另存为 .xlsx 后再导入")


def _password(path: Path) -> XiangAnError:
    return _fail(path, "设置了打开密码，无法读取。请在Excel中取消密码（文件 → 信息 → 保护工作簿）后再导入")


def _sniff(path: Path) -> str:
    """'xlsx', 'xls' or 'csv', decided by the file's first bytes (extensions are often wrong)."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise _not_spreadsheet(path)
        with path.open("rb") as fh:
            head = fh.read(512)
    except FileNotFoundError:
        raise _fail(path, "不存在，可能已被移动或删除") from None
    except PermissionError:
        raise _fail(path, "没有读取权限，或正被其他程序独占打开") from None
    except OSError as exc:
        raise _fail(path, f"无法读取：{exc.strerror or exc}") from None
    if size == 0:
        raise _fail(path, "是空文件（0字节）")
    if size > MAX_FILE_BYTES:
        raise _fail(path, f"有{size / 1024 / 1024:.0f}MB，超过50MB的上限。请删去无关的工作表或拆分后再导入")
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        return "xls"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith((b"<html", b"<!doctype", b"<table", b"<?xml")):
        raise _fail(path, "实际是网页或XML格式（常见于从业务系统导出的“xls”）。请用Excel打开后另存为 .xlsx 再导入")
    if path.suffix.lower() in (".csv", ".txt"):
        return "csv"
    raise _not_spreadsheet(path)


def _check_zip(path: Path) -> None:
    """Reject what openpyxl should never be handed: damaged, encrypted, non-Excel or zip-bomb archives."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
        raise _fail(path, "已损坏（压缩结构不完整），无法打开。如是从微信、QQ或邮件接收的，请重新下载") from None
    except OSError as exc:
        raise _fail(path, f"无法读取：{exc.strerror or exc}") from None
    names = {info.filename.lower() for info in infos}
    if any(info.flag_bits & 0x1 for info in infos):
        raise _password(path)
    if len(infos) > MAX_ZIP_MEMBERS or sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
        raise _fail(path, "解压后超过500MB，内容过大或文件异常，已拒绝读取")
    if "xl/workbook.bin" in names:
        raise _fail(path, "是Excel二进制工作簿（.xlsb）。请在Excel中另存为 .xlsx 后再导入")
    if "mimetype" in names and any(n.startswith("content.xml") for n in names):
        raise _fail(path, "是WPS/OpenOffice格式（.ods）。请另存为 .xlsx 后再导入")
    if not any(n.endswith("workbook.xml") for n in names):
        raise _not_spreadsheet(path)


# -- .xlsx ---------------------------------------------------------------------------------------------
@contextmanager
def _xlsx_workbook(path: Path) -> Iterator[Any]:
    _check_zip(path)
    with path.open("rb") as fh:  # a file object skips openpyxl's extension check: we sniffed content
        try:
            workbook = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # untrusted input: any parser failure means "damaged"
            raise _damaged(path) from exc
        try:
            yield workbook
        finally:
            workbook.close()


def _xlsx_merges(workbook: Any, sheet: Any) -> tuple[list[tuple[int, int, int, int]], dict[tuple[int, int], str]]:
    """Merged ranges, found by scanning the sheet XML: openpyxl's read-only mode does not expose them;
    and formulas saved without a result ((row, col) → "=formula"), which openpyxl reads as blank."""
    member = getattr(sheet, "_worksheet_path", None)
    archive = getattr(workbook, "_archive", None)
    if not member or archive is None:
        return [], {}
    refs: set[bytes] = set()
    uncomputed: dict[tuple[int, int], str] = {}
    tail = b""
    with archive.open(member) as src:
        while chunk := src.read(1 << 20):
            buffer = tail + chunk
            refs.update(m.group(1) for m in _MERGE_REF.finditer(buffer))
            for m in _NO_RESULT.finditer(buffer):
                if not re.search(rb"""\bt=["'](?:str|e)["']""", m.group(1)):  # "" or #N/A results are results
                    col, row = coordinate_to_tuple(m.group(2).decode("ascii").upper())[::-1]
                    uncomputed[(row, col)] = "=" + html.unescape(m.group(3).decode("utf-8", "replace"))
            tail = buffer[-4096:]  # a tag split across two chunks is found in the overlap
    merges = []
    for ref in refs:
        min_col, min_row, max_col, max_row = range_boundaries(ref.decode("ascii").upper())
        merges.append((min_row, min_col, max_row, max_col))
    return merges, uncomputed


def _show_formulas(raw: _Raw, uncomputed: dict[tuple[int, int], str]) -> None:
    """Files written by other programs (not Excel/WPS) may hold formulas without a saved result. Show
    the formula in place of the blank, so the row is reported (「=100+200」不是数字) rather than silently empty."""
    rows = dict(raw.rows)
    for (number, col), formula in uncomputed.items():
        if col > MAX_COLUMNS:
            continue
        cells = rows.setdefault(number, [])
        cells.extend([None] * (col - len(cells)))
        if cells[col - 1] is None:
            cells[col - 1] = formula
    raw.rows = sorted(rows.items())


def _read_xlsx(path: Path, sheet: str | None) -> _Raw:
    with _xlsx_workbook(path) as workbook:
        name = _pick(path, list(workbook.sheetnames), sheet)
        ws = workbook[name]
        raw = _Raw(name)
        try:
            raw.merges, uncomputed = _xlsx_merges(workbook, ws)
            ws.reset_dimensions()  # a bogus A1:XFD1048576 dimension would otherwise pad a million rows
            for number, values in enumerate(ws.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True), start=1):
                _collect(path, raw, number, values)
            if uncomputed:
                _show_formulas(raw, uncomputed)
        except XiangAnError:
            raise
        except Exception as exc:
            raise _damaged(path) from exc
        return raw


def _xlsx_names(path: Path) -> list[str]:
    with _xlsx_workbook(path) as workbook:
        return list(workbook.sheetnames)


def _xlsx_hidden(path: Path) -> set[str]:
    with _xlsx_workbook(path) as workbook:
        return {ws.title for ws in workbook.worksheets if getattr(ws, "sheet_state", "visible") != "visible"}


# -- .xls ----------------------------------------------------------------------------------------------
@contextmanager
def _xls_book(path: Path) -> Iterator[Any]:
    data = path.read_bytes()
    if _ENCRYPTED_OLE in data:  # an encrypted .xlsx is stored inside an OLE container
        raise _password(path)
    try:
        book = _open_xls(data)
    except xlrd.XLRDError as exc:
        text = str(exc).lower()
        if "encrypt" in text:
            raise _password(path) from None
        if "can't find workbook" in text:
            raise _not_spreadsheet(path) from None
        raise _damaged(path) from exc
    except Exception as exc:
        raise _damaged(path) from exc
    try:
        yield book
    finally:
        book.release_resources()


def _open_xls(data: bytes) -> Any:
    try:  # formatting_info gives merged ranges, but some writers produce records it chokes on
        return xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower() or "can't find workbook" in str(exc).lower():
            raise
        return xlrd.open_workbook(file_contents=data, on_demand=True)
    except (AssertionError, KeyError, IndexError, ValueError):
        return xlrd.open_workbook(file_contents=data, on_demand=True)


def _xls_value(book: Any, cell: Any) -> Any:
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return cell.value
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    return cell.value


def _read_xls(path: Path, sheet: str | None) -> _Raw:
    with _xls_book(path) as book:
        name = _pick(path, list(book.sheet_names()), sheet)
        try:
            sh = book.sheet_by_name(name)
            raw = _Raw(name, merges=[(r0 + 1, c0 + 1, r1, c1) for r0, r1, c0, c1 in sh.merged_cells])
            width = min(sh.ncols, MAX_COLUMNS + 1)
            for r in range(sh.nrows):
                _collect(path, raw, r + 1, (_xls_value(book, sh.cell(r, c)) for c in range(min(width, sh.row_len(r)))))
        except XiangAnError:
            raise
        except Exception as exc:
            raise _damaged(path) from exc
        return raw


def _xls_names(path: Path) -> list[str]:
    with _xls_book(path) as book:
        return list(book.sheet_names())


def _xls_hidden(path: Path) -> set[str]:
    with _xls_book(path) as book:
        states = getattr(book, "_sheet_visibility", [])
        return {name for name, state in zip(book.sheet_names(), states, strict=False) if state}


# -- .csv ----------------------------------------------------------------------------------------------
def _decode(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's “Unicode text” export
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise _not_spreadsheet(path)
    for encoding in ("utf-8-sig", "gb18030"):  # gb18030 covers GBK/GB2312, what Chinese Excel saves
        with suppress(UnicodeDecodeError):
            return data.decode(encoding)
    raise _fail(path, "的文字编码无法识别。请用Excel打开后另存为 .xlsx 再导入")


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return max((",", "\t", ";"), key=first.count) if first else ","


def _read_csv(path: Path, sheet: str | None) -> _Raw:
    _pick(path, [path.stem], sheet)
    text = _decode(path, path.read_bytes())
    raw = _Raw(path.stem)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            _collect(path, raw, number, record)
    except csv.Error as exc:
        raise _fail(path, f"第{number + 1}行格式有误（{exc}）") from None
    return raw


# -- shared reading ------------------------------------------------------------------------------------
def _pick(path: Path, names: list[str], sheet: str | None) -> str:
    if not names:
        raise _fail(path, "中没有工作表")
    if sheet is None:
        return names[0]
    if sheet not in names:
        raise _fail(path, f"中没有名为「{sheet}」的工作表（现有：{'、'.join(names)}）")
    return sheet


def _collect(path: Path, raw: _Raw, number: int, values: Iterable[Any]) -> None:
    """Keep a non-blank row, enforcing the row and column limits as the file is read."""
    cells = [_plain(v) for v in values]
    while cells and cells[-1] is None:
        cells.pop()
    if not cells:
        return
    if len(cells) > MAX_COLUMNS:
        raise _fail(path, f"的工作表「{raw.name}」超过{MAX_COLUMNS}列，请删去无关的列后再导入")
    raw.rows.append((number, cells))
    if len(raw.rows) > MAX_DATA_ROWS + HEADER_SCAN_ROWS:
        raise _fail(path, f"的工作表「{raw.name}」超过{MAX_DATA_ROWS}行，请拆分后分批导入")


def _reader(kind: str) -> Callable[[Path, str | None], _Raw]:
    return {"xlsx": _read_xlsx, "xls": _read_xls, "csv": _read_csv}[kind]


def sheet_names(path: str | os.PathLike[str]) -> list[str]:
    """Worksheet names in file order (a CSV has one, named after the file)."""
    path = Path(path)
    kind = _sniff(path)
    if kind == "xlsx":
        return _xlsx_names(path)
    if kind == "xls":
        return _xls_names(path)
    return [path.stem]


def hidden_sheets(path: str | os.PathLike[str]) -> set[str]:
    """Names of the worksheets hidden in Excel: offices keep lookup lists and old copies there."""
    path = Path(path)
    kind = _sniff(path)
    if kind == "xlsx":
        return _xlsx_hidden(path)
    if kind == "xls":
        return _xls_hidden(path)
    return set()


def read_sheet(path: str | os.PathLike[str], sheet: str | None = None,
               known_headers: Iterable[str] = ()) -> SheetData:
    """Read one sheet (the first when ``sheet`` is None): find the header row, return the records below it.

    ``known_headers`` are labels and aliases the caller understands; the row matching most of them is
    taken as the header, so title rows and notes above the table are skipped.
    """
    path = Path(path)
    raw = _reader(_sniff(path))(path, sheet)
    if not raw.rows:
        raise _fail(path, f"的工作表「{raw.name}」是空的，没有可导入的内容")
    known = {k for k in (header_key(h) for h in known_headers) if k}
    return _tabulate(path, raw, known)


# -- header detection ----------------------------------------------------------------------------------
def _header_text(value: Cell) -> str:
    return "" if value is None else re.sub(r"\s+", "", cell_text(value))


def _score(labels: Sequence[str], known: set[str]) -> int:
    return len({header_key(t) for t in labels} & known)


def _merge_at(merges: list[tuple[int, int, int, int]], row: int, col: int) -> tuple[int, int, int, int] | None:
    return next((m for m in merges if m[0] <= row <= m[2] and m[1] <= col <= m[3]), None)


def _combine(parent: str, child: str, known: set[str]) -> str:
    """Label for a column under a two-row header: the most specific form the caller knows."""
    if not child or not parent:
        return child or parent
    options = [parent + child, child] + ([parent] if child in _NAME_WORDS else [])
    return next((o for o in options if header_key(o) in known), parent + child)


def _two_row_labels(raw: _Raw, index: int, known: set[str]) -> tuple[list[str], bool]:
    """Labels of rows index and index+1 read as one header, and whether merges say it is one."""
    number, top = raw.rows[index]
    below = raw.rows[index + 1][1]
    merges = [m for m in raw.merges if m[0] == number and (m[2] > m[0] or m[3] > m[1])]
    evidence = False
    labels = []
    for col in range(1, max(len(top), len(below)) + 1):
        parent = _header_text(top[col - 1]) if col <= len(top) else ""
        child = _header_text(below[col - 1]) if col <= len(below) else ""
        merge = _merge_at(merges, number, col)
        if merge and not parent and merge[2] == number:  # inside a parent spanning several children
            parent = _header_text(top[merge[1] - 1]) if merge[1] <= len(top) else ""
        if merge and (merge[2] > number or (merge[3] > merge[1] and child)):
            evidence = True
        labels.append(_combine(parent, child, known))
    return labels, evidence


def _find_header(raw: _Raw, known: set[str]) -> tuple[int, int, list[str]]:
    """(index into raw.rows, number of header rows, labels) for the best-matching header."""
    best: tuple[int, int, int, list[str]] | None = None  # score, index, depth, labels
    fallback: tuple[int, int, list[str]] | None = None
    for index, (number, cells) in enumerate(raw.rows[:HEADER_SCAN_ROWS]):
        single = [_header_text(c) for c in cells]
        depth, labels, score = 1, single, _score(single, known)
        if index + 1 < len(raw.rows) and raw.rows[index + 1][0] == number + 1:
            combined, evidence = _two_row_labels(raw, index, known)
            combined_score = _score(combined, known)
            # A title merged above the real header adds nothing the header row alone doesn't match.
            adds = combined_score > _score([_header_text(c) for c in raw.rows[index + 1][1]], known)
            better = combined_score > score or (evidence and combined_score >= score)
            if (adds and better) or (not known and evidence):
                depth, labels, score = 2, combined, combined_score
        if score and (best is None or score > best[0]):
            best = (score, index, depth, labels)
        if fallback is None and len({t for c, t in zip(cells, single, strict=True) if t and isinstance(c, str)}) >= 2:
            fallback = (index, depth, labels)
    if best is not None:
        return best[1], best[2], best[3]
    if fallback is not None:
        return fallback
    raise XiangAnError(f"工作表「{raw.name}」的前{HEADER_SCAN_ROWS}行中找不到表头（至少两列文字标题）")


# -- records below the header --------------------------------------------------------------------------
def _vertical_fill(raw: _Raw, first_data_row: int) -> dict[int, list[tuple[int, Cell]]]:
    """Cells hidden under a vertical merge (one village spanning its enterprises) get the merged value:
    row number → [(column, value)]."""
    top = dict(raw.rows)
    fill: dict[int, list[tuple[int, Cell]]] = {}
    for min_row, min_col, max_row, _max_col in raw.merges:
        if max_row <= min_row or min_row < first_data_row:
            continue
        cells = top.get(min_row, [])
        value = cells[min_col - 1] if min_col <= len(cells) else None
        if value is None:
            continue
        for row in range(min_row + 1, max_row + 1):
            fill.setdefault(row, []).append((min_col, value))
    return fill


def _filled(cells: list[Cell], fill: list[tuple[int, Cell]]) -> list[Cell]:
    cells = list(cells)
    for col, value in fill:
        cells.extend([None] * (col - len(cells)))
        if cells[col - 1] is None:
            cells[col - 1] = value
    return cells


def _is_note(starting: dict[int, list[tuple[int, int, int, int]]], number: int, cells: list[Cell]) -> bool:
    """A lone cell merged across the table: a section title or a note, not a record."""
    filled = [i for i, c in enumerate(cells) if c is not None]
    if len(filled) != 1:
        return False
    merge = _merge_at(starting.get(number, []), number, filled[0] + 1)
    return merge is not None and merge[3] - merge[1] >= 2


def _is_footer(cells: list[Cell]) -> bool:
    first = next((c for c in cells if c is not None), None)
    return isinstance(first, str) and bool(_FOOTER.match(unicodedata.normalize("NFKC", first).replace(" ", "")))


def _repeats_header(cells: list[Cell], labels: list[str]) -> bool:
    """Sheets pasted together from several villages repeat the header row; it is not a record."""
    texts = [(i, _header_text(c)) for i, c in enumerate(cells) if c is not None]
    return len(texts) >= 2 and all(i < len(labels) and labels[i] == t for i, t in texts)


def _tabulate(path: Path, raw: _Raw, known: set[str]) -> SheetData:
    index, depth, labels = _find_header(raw, known)
    header_number = raw.rows[index][0]
    fill = _vertical_fill(raw, header_number + depth)
    starting: dict[int, list[tuple[int, int, int, int]]] = {}  # merges by first row, for _is_note
    for merge in raw.merges:
        starting.setdefault(merge[0], []).append(merge)
    records: list[SourceRow] = []
    for number, cells in raw.rows[index + depth :]:
        if _is_note(starting, number, cells) or _is_footer(cells) or _repeats_header(cells, labels):
            continue
        records.append(SourceRow(number, _filled(cells, fill[number]) if number in fill else cells))
    if len(records) > MAX_DATA_ROWS:
        raise _fail(path, f"的工作表「{raw.name}」超过{MAX_DATA_ROWS}行数据，请拆分后分批导入")
    while labels and not labels[-1]:
        labels.pop()
    width = max([len(labels), *(len(r.cells) for r in records)])
    headers = [(labels[i] if i < len(labels) else "") or f"{get_column_letter(i + 1)}列" for i in range(width)]
    rows = [SourceRow(r.number, (r.cells + [None] * width)[:width]) for r in records]
    return SheetData(headers, rows, header_number, depth, raw.name)


# -- writing -------------------------------------------------------------------------------------------
def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "-", title).strip("'")[:31] or "Sheet1"


def _display_width(value: Any) -> int:
    text = cell_text(value) if not isinstance(value, str) else value
    longest = max(text.splitlines() or [""], key=len)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in longest)


def _auto_widths(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[int]:
    widths = []
    for col, header in enumerate(headers):
        sample = (row[col] for row in rows[:500] if col < len(row) and row[col] is not None)
        widest = max([_display_width(header), *(_display_width(v) for v in sample)])
        widths.append(min(max(widest + 2, 6), 60))
    return widths


def _looks_like_code(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 6 and value.replace("-", "").isdigit()


def _text_columns(rows: Sequence[Sequence[Any]], count: int) -> set[int]:
    return {c for c in range(count) if any(c < len(r) and _looks_like_code(r[c]) for r in rows[:500])}


def _write_cell(ws: Any, row: int, col: int, value: Any, as_text: bool) -> None:
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # "=HYPERLINK(…)" typed into a remark must stay text, never a formula
    if as_text:
        cell.number_format = "@"  # codes and phones stay text when someone edits them in Excel
    elif isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"


def write_table(path: str | os.PathLike[str], title: str, headers: list[str], rows: list[list[Any]],
                widths: list[int] | None = None, text_columns: Collection[int] | None = None) -> None:
    """Write one tidy sheet: bold header in row 1 (so the file re-imports), frozen, filtered.

    ``widths`` are in Excel character units (auto-fitted when None); ``text_columns`` are 0-based
    columns formatted as text (guessed from digit-only values when None).
    """
    path = Path(path)
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = _sheet_title(title)
    workbook.properties.title = title
    workbook.properties.creator = "乡安"
    as_text = set(text_columns) if text_columns is not None else _text_columns(rows, len(headers))
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for col, header in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=col, value=header)
        cell.data_type = "s"
        cell.font, cell.fill, cell.alignment = bold, fill, Alignment(horizontal="center", vertical="center")
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row[: len(headers)], start=1):
            _write_cell(ws, r, c, value, c - 1 in as_text)
    for col, width in enumerate(widths or _auto_widths(headers, rows), start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
        if col - 1 in as_text:
            ws.column_dimensions[get_column_letter(col)].number_format = "@"
    ws.freeze_panes = "A2"
    if headers:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
    save_atomically(path, workbook.save)

