"""Building blocks for every official-format PDF the app prints: fonts, styles, pages, tables, photos, saving.

Plain reportlab, no Qt, no database. Two bundled TrueType (glyf) faces are embedded as subsets, so a
file prints the same on a PC without Chinese fonts (CONVENTIONS.md, "Fonts and PDFs"):

- AR PL UMing CN (Ming/Song style) — body text, as official documents are set in a Song face;
- WenQuanYi Micro Hei (sans, visibly heavier) — titles, headings and table headers (neither face has
  a bold, so weight comes from switching face).

A document module builds a list of flowables with these helpers and calls :func:`write_pdf`, which
numbers the pages "第 N 页 共 M 页" and replaces the target file atomically.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from PIL import ImageOps
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, LongTable, Paragraph, SimpleDocTemplate, Table, TableStyle
from reportlab.platypus.doctemplate import LayoutError

from app.documents.output import save_atomically
from app.errors import XiangAnError
from app.paths import resource

BODY_FONT = "ARPLUMingCN"
HEADING_FONT = "WenQuanYiMicroHei"  # the same name roster_pdf registers: one registration serves both
_FONT_FILES = {
    # face index 0 of each collection: UMing CN (1–3 are the HK/TW variants), Micro Hei (1 is monospaced)
    BODY_FONT: (("fonts", "uming.ttc"), 0),
    HEADING_FONT: (("fonts", "wqy-microhei.ttc"), 0),
}
MAX_PHOTO_PIXELS = 1600  # longest side of a photo as embedded; phone photos are 4000+ px
PHOTO_JPEG_QUALITY = 82
_MAX_SOURCE_PIXELS = 120_000_000  # refuse to decode anything bigger (a "photo" that is a decompression bomb)
GRID = colors.black
HEADER_FILL = colors.HexColor("#e8e8e8")
MISSING_FILL = colors.HexColor("#d9d9d9")


# -- fonts and styles ----------------------------------------------------------------------------
# Full-width punctuation reportlab's CJK line breaker does not know must never start a line; with
# them listed it hangs the mark at the end of the line instead of opening the next line with "，".
_MUST_NOT_START_LINE = "，；：？！》」』】〕）"


def _hang_chinese_punctuation() -> None:
    from reportlab.platypus import paragraph

    missing = "".join(c for c in _MUST_NOT_START_LINE if c not in paragraph.ALL_CANNOT_START)
    paragraph.ALL_CANNOT_START += missing


@cache
def register_fonts() -> tuple[str, str]:
    """Register both bundled faces with reportlab once per process; return (body, heading) font names.

    Parsing the 21 MB UMing collection takes ~40 ms; glyphs are subset when a PDF is saved.
    """
    _hang_chinese_punctuation()
    for name, (parts, index) in _FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(resource(*parts)), subfontIndex=index))
    return BODY_FONT, HEADING_FONT


@cache
def styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles shared by every document (sizes in points, leading ≈1.5×, CJK line breaking).

    title — centred, heavier face; subtitle/doc_number — centred lines under it; heading — section
    heads; body — Ming text with a two-character first-line indent; plain — the same without indent;
    right/center — dates and the issuing office; sign* — signature blocks; summary — a heavier line of
    figures; note/small — remarks; meta — the line under a title; label/cell*/head/table* — table cells.
    """
    body, heading = register_fonts()

    def style(name: str, font: str, size: float, leading: float | None = None, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=leading or round(size * 1.5, 1),
                              wordWrap="CJK", **kw)

    return {
        "title": style("title", heading, 20, 30, alignment=TA_CENTER, spaceAfter=2 * mm),
        "issuer": style("issuer", heading, 14, 21, alignment=TA_CENTER),
        "subtitle": style("subtitle", body, 12, 18, alignment=TA_CENTER),
        "doc_number": style("doc_number", body, 12, 18, alignment=TA_CENTER, spaceAfter=4 * mm),
        "heading": style("heading", heading, 12, 18, spaceBefore=3 * mm, spaceAfter=1.5 * mm, keepWithNext=1),
        "body": style("body", body, 13, 20, firstLineIndent=26, alignment=TA_LEFT),
        "plain": style("plain", body, 13, 20),
        "right": style("right", body, 13, 20, alignment=TA_RIGHT),
        "center": style("center", body, 13, 20, alignment=TA_CENTER),
        "sign": style("sign", body, 12, 18),
        "sign_center": style("sign_center", body, 12, 18, alignment=TA_CENTER),
        "sign_right": style("sign_right", body, 12, 18, alignment=TA_RIGHT),
        "summary": style("summary", heading, 11, 16.5),
        "note": style("note", body, 10.5, 15.5),
        "small": style("small", body, 9, 13),
        "small_center": style("small_center", body, 9, 13, alignment=TA_CENTER),
        "meta": style("meta", body, 10.5, 15),
        "meta_right": style("meta_right", body, 10.5, 15, alignment=TA_RIGHT),
        "label": style("label", heading, 10.5, 15, alignment=TA_CENTER),
        "cell": style("cell", body, 10.5, 15.5),
        "cell_center": style("cell_center", body, 10.5, 15.5, alignment=TA_CENTER),
        "head": style("head", heading, 9, 12.5, alignment=TA_CENTER),
        "table": style("table", body, 8.5, 12),
        "table_center": style("table_center", body, 8.5, 12, alignment=TA_CENTER),
        "caption": style("caption", heading, 10, 14, alignment=TA_CENTER),
    }


# -- text helpers ---------------------------------------------------------------------------------
def esc(value: Any) -> str:
    """``value`` as text safe in reportlab's paragraph mini-markup; line breaks kept."""
    if value is None:
        return ""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r\n", "\n").replace("\n", "<br/>")


def para(text: Any, style: str | ParagraphStyle = "plain", *, markup: bool = False) -> Paragraph:
    """A Paragraph of plain ``text`` (escaped) or, with ``markup=True``, of trusted mini-markup."""
    st = styles()[style] if isinstance(style, str) else style
    return Paragraph(str(text) if markup else esc(text), st)


def clip(value: Any, limit: int) -> str:
    """At most ``limit`` characters of ``value`` ("…" marks the cut): one table row must fit on a page."""
    text = "" if value is None else str(value).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def to_date(value: Any) -> date | None:
    """A date from a date or an ISO display string (how services hand dates to documents)."""
    if isinstance(value, date):
        return value
    if value:
        with suppress(ValueError):
            return date.fromisoformat(str(value).strip()[:10])
    return None


def gap(chars: float) -> str:
    """Blank space about ``chars`` Chinese characters wide in the body face, which paragraphs keep.

    Runs of ordinary or ideographic spaces collapse to one when reportlab wraps a paragraph; no-break
    spaces (half an em in UMing) do not. Used for the blanks of forms ("　年　月　日", "签字：　　").
    """
    return "\xa0" * round(chars * 2)


BLANK_DATE = f"{gap(4)}年{gap(2)}月{gap(2)}日"


def cn_date(value: Any, blank: str = BLANK_DATE) -> str:
    """2026年3月5日 — how dates are written on official documents; ``blank`` (space to write by hand) if none."""
    d = to_date(value)
    return f"{d.year}年{d.month}月{d.day}日" if d else blank


# -- pages ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PageLayout:
    size: tuple[float, float]
    left: float
    right: float
    top: float
    bottom: float

    @property
    def width(self) -> float:
        """Width available to the content frame."""
        return self.size[0] - self.left - self.right

    @property
    def height(self) -> float:
        return self.size[1] - self.top - self.bottom


PORTRAIT = PageLayout(A4, left=22 * mm, right=20 * mm, top=20 * mm, bottom=20 * mm)
LANDSCAPE = PageLayout(landscape(A4), left=12 * mm, right=12 * mm, top=13 * mm, bottom=15 * mm)


class NumberedCanvas(Canvas):
    """Draws "第 n 页 共 m 页" (and an optional left-hand note) once the page count is known.

    Pages are kept until :meth:`save` (the usual two-pass trick without building the story twice).
    """

    footer_left = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._draw_footer(total)
            super().showPage()
        super().save()

    def _draw_footer(self, total: int) -> None:
        width, _height = self._pagesize
        self.saveState()
        self.setFont(BODY_FONT, 9)
        self.setFillColor(colors.HexColor("#333333"))
        self.drawCentredString(width / 2, 9 * mm, f"第 {self._pageNumber} 页  共 {total} 页")
        if self.footer_left:
            self.drawString(12 * mm, 9 * mm, self.footer_left)
        self.restoreState()


def build_pdf(story: list[Flowable], *, layout: PageLayout = PORTRAIT, title: str = "", author: str = "",
              subject: str = "", footer_left: str = "", canvas_class: type[NumberedCanvas] = NumberedCanvas) -> bytes:
    """The story laid out on A4 pages with numbered footers, as PDF bytes.

    ``canvas_class`` lets a document draw more at save time (a NumberedCanvas subclass).
    """
    body, _heading = register_fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=layout.size, leftMargin=layout.left, rightMargin=layout.right,
        topMargin=layout.top, bottomMargin=layout.bottom, title=title, author=author, subject=subject,
        creator="乡安", initialFontName=body, initialFontSize=10,  # else pages list Helvetica, not embedded
    )
    canvasmaker = type("_Canvas", (canvas_class,), {"footer_left": footer_left})
    try:
        doc.build(story, canvasmaker=canvasmaker)
    except LayoutError:
        # a single table row or picture taller than a page; callers clip text so this should not happen
        raise XiangAnError(f"「{title or '文档'}」中有一项内容过长，一页放不下，请精简后再生成") from None
    return buffer.getvalue()


def write_pdf(path: str | os.PathLike[str], story: list[Flowable], **options: Any) -> Path:
    """Lay out ``story`` (see :func:`build_pdf`) and save it to ``path`` atomically."""
    return write_atomic(path, build_pdf(story, **options))


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write a finished document: never half-written, failures in one Chinese sentence."""
    return save_atomically(path, lambda temp: temp.write_bytes(data))


# -- tables ---------------------------------------------------------------------------------------
def base_table_style(*, grid: bool = True, padding: float = 3, header_rows: int = 0) -> list[tuple[Any, ...]]:
    """Commands every table starts from (the FONT line keeps Helvetica out of the PDF)."""
    body, heading = register_fonts()
    cmds: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), body, 10),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), padding),
        ("BOTTOMPADDING", (0, 0), (-1, -1), padding),
        ("LEFTPADDING", (0, 0), (-1, -1), padding),
        ("RIGHTPADDING", (0, 0), (-1, -1), padding),
    ]
    if grid:
        cmds.append(("GRID", (0, 0), (-1, -1), 0.6, GRID))
    if header_rows:
        cmds += [("BACKGROUND", (0, 0), (-1, header_rows - 1), HEADER_FILL),
                 ("FONT", (0, 0), (-1, header_rows - 1), heading, 9)]
    return cmds


def data_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float], *,
               centred: Sequence[int] = (), cell_style: str = "table", head_style: str = "head",
               extra_style: Sequence[tuple[Any, ...]] = ()) -> LongTable:
    """A ruled table whose header row repeats on every page and whose long cells wrap.

    ``rows`` hold plain values or ready flowables; columns in ``centred`` are centred. A text cell
    that fits on one line is drawn as a plain string (same face and size) and only longer ones
    become Paragraphs: wrapping is what costs time in a 2,000-row ledger. LongTable keeps splitting
    linear in the number of rows.
    """
    st = styles()
    left = st[cell_style]
    centre = st.get(f"{cell_style}_center", left)
    font, size, leading = left.fontName, left.fontSize, left.leading
    pad = 2.5
    centred_set = set(centred)
    room = [w - 2 * pad - 0.5 for w in widths]
    data: list[list[Any]] = [[Paragraph(esc(h), st[head_style]) for h in headers]]
    for row in rows:
        cells: list[Any] = []
        for i, cell in enumerate(row):
            if isinstance(cell, Flowable):
                cells.append(cell)
                continue
            text = "" if cell is None else str(cell)
            if "\n" not in text and pdfmetrics.stringWidth(text, font, size) <= room[i]:
                cells.append(text)
            else:
                cells.append(Paragraph(esc(text), centre if i in centred_set else left))
        data.append(cells)
    table = LongTable(data, colWidths=list(widths), repeatRows=1)
    table.setStyle(TableStyle([
        *base_table_style(header_rows=1, padding=pad),
        ("FONT", (0, 1), (-1, -1), font, size, leading),
        *[("ALIGN", (i, 1), (i, -1), "CENTER") for i in sorted(centred_set)],
        *extra_style,
    ]))
    return table


def form_table(rows: Sequence[Sequence[Any]], widths: Sequence[float], *, labels: Sequence[tuple[int, int]] = (),
               spans: Sequence[tuple[tuple[int, int], tuple[int, int]]] = (),
               extra_style: Sequence[tuple[Any, ...]] = ()) -> Table:
    """A ruled "label | value" form grid (the body of 意见书-type documents).

    Plain strings become value paragraphs; cells listed in ``labels`` as (col, row) are set as shaded
    labels. ``spans`` are reportlab (start, end) cell pairs.
    """
    st = styles()
    hidden = {(c, r) for (c0, r0), (c1, r1) in spans for c in range(c0, c1 + 1) for r in range(r0, r1 + 1)
              if (c, r) != (c0, r0)}
    label_cells = set(labels) - hidden
    data = []
    for r, row in enumerate(rows):
        data.append([
            cell if isinstance(cell, Flowable) else
            Paragraph(esc(cell), st["label"] if (c, r) in label_cells else st["cell"])
            for c, cell in enumerate(row)
        ])
    table = Table(data, colWidths=list(widths))
    cmds = base_table_style(padding=4)
    cmds += [("BACKGROUND", cell, cell, HEADER_FILL) for cell in label_cells]
    cmds += [("SPAN", a, b) for a, b in spans]
    table.setStyle(TableStyle([*cmds, *extra_style]))
    return table


def signature_block(columns: Sequence[Sequence[str | Flowable]], width: float, *, style: str = "plain",
                    space: float = 7 * mm, widths: Sequence[float] | None = None, boxed: bool = False) -> Table:
    """Side-by-side signature/seal columns, each a list of lines (trusted mini-markup or flowables).

    Line i of every column sits on the same row, so "签字" and date lines align across columns. An
    empty string is a blank line of ``space`` height: room for a signature or the round seal (~42 mm).
    ``boxed`` draws a frame round each column (signature boxes at the foot of a form).
    """
    st = styles()[style]
    depth = max((len(lines) for lines in columns), default=0)
    padded: list[list[str | Flowable | None]] = [[*lines, *[None] * (depth - len(lines))] for lines in columns]

    def cell(line: str | Flowable | None) -> Flowable | str:
        if line is None:  # below the end of a shorter column
            return ""
        return line if isinstance(line, Flowable) else Paragraph(line, st) if line else _Gap(space)

    data = [[cell(col[i]) for col in padded] for i in range(depth)] or [[""] * len(columns)]
    col_widths = list(widths) if widths else [width / len(columns)] * len(columns)
    table = Table(data, colWidths=col_widths)
    cmds = [*base_table_style(grid=False, padding=2), ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 5 if boxed else 2),
            ("RIGHTPADDING", (0, 0), (-1, -1), 5 if boxed else 2)]
    if boxed:
        cmds += [("BOX", (c, 0), (c, -1), 0.6, GRID) for c in range(len(columns))]
        cmds += [("TOPPADDING", (0, 0), (-1, 0), 5), ("BOTTOMPADDING", (0, -1), (-1, -1), 5)]
    table.setStyle(TableStyle(cmds))
    return table


class _Gap(Flowable):
    def __init__(self, height: float) -> None:
        super().__init__()
        self.height = height

    def wrap(self, _aw: float, _ah: float) -> tuple[float, float]:
        return 0, self.height

    def draw(self) -> None:  # nothing: it is space
        pass


# -- photos ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PreparedPhoto:
    jpeg: bytes
    width: int
    height: int


def prepare_photo(path: str | os.PathLike[str] | None, max_pixels: int = MAX_PHOTO_PIXELS) -> PreparedPhoto | None:
    """An untrusted image file as upright, RGB, ≤ ``max_pixels`` JPEG bytes; None if it cannot be read.

    The file may be missing, truncated, not an image, or huge (a decompression bomb): all give None.
    EXIF orientation is applied (phones store portrait photos sideways plus a flag).
    """
    if not path:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(path) as im:
                if im.width * im.height > _MAX_SOURCE_PIXELS:
                    return None
                if im.format == "JPEG":
                    im.draft("RGB", (max_pixels, max_pixels))  # decode at 1/2…1/8 scale: fast, little memory
                im.load()
                img = ImageOps.exif_transpose(im)
                img = _to_rgb(img)
                img.thumbnail((max_pixels, max_pixels), PILImage.Resampling.LANCZOS)
                out = io.BytesIO()
                img.save(out, "JPEG", quality=PHOTO_JPEG_QUALITY, optimize=True)
                return PreparedPhoto(out.getvalue(), img.width, img.height)
    except Exception:  # any failure of an untrusted file means "no photo", never a crash
        return None


def _to_rgb(img: PILImage.Image) -> PILImage.Image:
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = PILImage.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        return img.point(lambda v: v / 256).convert("L").convert("RGB")  # 16-bit greyscale PNG/TIFF
    return img.convert("RGB") if img.mode != "RGB" else img


def photo(path: str | os.PathLike[str] | None, max_width: float, max_height: float,
          missing_text: str = "照片缺失") -> Flowable:
    """The photo scaled to fit the box (aspect kept), or a grey box saying ``missing_text``."""
    prepared = prepare_photo(path)
    if prepared is None:
        return MissingPhoto(max_width, max_height, missing_text)
    scale = min(max_width / prepared.width, max_height / prepared.height)
    return Image(io.BytesIO(prepared.jpeg), width=prepared.width * scale, height=prepared.height * scale)


class MissingPhoto(Flowable):
    """A grey box with a short note where a photo should have been."""

    def __init__(self, width: float, height: float, text: str = "照片缺失") -> None:
        super().__init__()
        self.width, self.height, self.text = width, height, text

    def wrap(self, _aw: float, _ah: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        c.saveState()
        c.setFillColor(MISSING_FILL)
        c.setStrokeColor(colors.HexColor("#9a9a9a"))
        c.rect(0, 0, self.width, self.height, fill=1, stroke=1)
        c.setFillColor(colors.HexColor("#555555"))
        c.setFont(HEADING_FONT, 12)
        c.drawCentredString(self.width / 2, self.height / 2 - 4, self.text)
        c.restoreState()

