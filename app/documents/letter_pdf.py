"""安全生产目标责任书 as an official-format PDF: one letter, its copies, or a whole year's batch.

Plain data in (:class:`~app.models.letter_content.LetterContent`, filled by the letter service), A4
portrait PDFs out, written atomically. The layout follows the letters townships sign with villages,
enterprises and units: centred title in the heavier face, letter number, 甲方/乙方 with their
responsible persons, preamble, 责任期限, numbered sections with hanging-indented clauses, the closing
sentence and both parties' signature and seal blocks side by side, kept on one page.

一式两份: ``copies=2`` puts both copies in one file, each starting on a new page, marked
「（甲方存）」/「（乙方存）」 under the title and numbered on its own ("第 1 页 共 3 页" restarts);
:func:`write_letter_copies_separately` writes them as two files instead.

控制指标: the section whose clauses are the targets' own wording (as the letter service writes them)
shows the structured targets; failing that, a section without clauses of its own — the first such
section whose heading mentions 指标, else the first such section; only one section gets them.
Targets that are 一票否决 conditions are marked 「【一票否决】」 in the heavier face, with a note.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import cache
from pathlib import Path

from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from app.documents.pdf_base import (
    NumberedCanvas,
    PageLayout,
    build_pdf,
    esc,
    gap,
    register_fonts,
    signature_block,
    write_atomic,
)
from app.models.letter_content import LetterContent, Party, Section, Target, target_wording

LETTER = PageLayout(A4, left=26 * mm, right=24 * mm, top=24 * mm, bottom=22 * mm)
COPY_MARKS = ("甲方存", "乙方存")
VETO_MARK = "【一票否决】"
VETO_NOTE = "注：标注「【一票否决】」的指标未完成的，年度考核实行一票否决。"
_ILLEGAL = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME_CHARS = 120  # file names stay well inside Windows' 260-character paths

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


# -- styles ---------------------------------------------------------------------------------------
@cache
def letter_styles() -> dict[str, ParagraphStyle]:
    """The letter's own paragraph styles, made once per process (sizes in points, CJK wrapping)."""
    body, heading = register_fonts()

    def style(name: str, font: str, size: float, leading: float, **kw: object) -> ParagraphStyle:
        return ParagraphStyle(f"letter_{name}", fontName=font, fontSize=size, leading=leading, wordWrap="CJK",
                              **kw)  # type: ignore[arg-type]

    return {
        "title": style("title", heading, 22, 32, alignment=TA_CENTER),
        "copy": style("copy", body, 11, 16, alignment=TA_CENTER),
        "number": style("number", body, 12, 18, alignment=TA_CENTER),
        "party": style("party", body, 13, 21),
        "body": style("body", body, 13, 22, firstLineIndent=26, alignment=TA_LEFT),
        "heading": style("heading", heading, 14, 21, spaceBefore=4 * mm, spaceAfter=1.5 * mm, keepWithNext=1),
        "clause": style("clause", body, 13, 22, leftIndent=26 + 22, bulletIndent=26, bulletFontName=body,
                        bulletFontSize=13, spaceAfter=1),
        "note": style("note", body, 11, 17, leftIndent=26 + 22, spaceBefore=1),
    }


def _heavy(text: str) -> str:
    _body, heading = register_fonts()
    return f'<font name="{heading}">{text}</font>'


# -- the story ------------------------------------------------------------------------------------
def target_text(target: Target) -> str:
    """How a 控制指标 reads: its own wording, else metric, comparator and threshold in words."""
    return target.text.strip() or target_wording(target.metric, target.comparator, Decimal(target.threshold))


def _target_section(sections: Sequence[Section], targets: Sequence[Target]) -> int | None:
    """Index of the section that shows the structured targets (see the module docstring)."""
    if not targets:
        return None
    wording = tuple(target_text(t) for t in targets)
    own = [i for i, s in enumerate(sections) if tuple(c.strip() for c in s.clauses) == wording]
    if own:
        return own[0]
    empty = [i for i, s in enumerate(sections) if not s.clauses]
    named = [i for i in empty if "指标" in sections[i].heading]
    return (named or empty or [None])[0]


def _clause(number: int, markup: str) -> Paragraph:
    return Paragraph(markup, letter_styles()["clause"], bulletText=f"{number}.")


def _mark_veto(text: str) -> str:
    """Escaped clause text with 一票否决 set in the heavier face, so the condition stands out."""
    return esc(text).replace("一票否决", _heavy("一票否决"))


def _party_table(content: LetterContent, width: float) -> Table:
    st = letter_styles()

    def who(p: Party) -> str:
        return f"{p.person}（{p.title}）" if p.title else p.person

    rows = [
        [Paragraph(f"{_heavy('甲方：')}{esc(content.party_a.organisation)}", st["party"]),
         Paragraph(f"{_heavy('负责人：')}{esc(who(content.party_a))}", st["party"])],
        [Paragraph(f"{_heavy('乙方：')}{esc(content.party_b.organisation)}", st["party"]),
         Paragraph(f"{_heavy('负责人：')}{esc(who(content.party_b))}", st["party"])],
    ]
    table = Table(rows, colWidths=[width * 0.58, width * 0.42])
    body, _heading = register_fonts()
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), body, 13),  # else the table's default Helvetica lands in the PDF
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def _signatures(content: LetterContent, width: float) -> Table:
    blank = f"{gap(4)}年{gap(2)}月{gap(2)}日"

    def column(side: str, party: Party) -> list[str]:
        return [
            f"{_heavy(side + '（盖章）：')}",
            esc(party.organisation),
            "",
            f"{_heavy('负责人（签字）：')}",
            "",
            f"{_heavy('日期：')}{blank}",
        ]

    return signature_block([column("甲方", content.party_a), column("乙方", content.party_b)], width,
                           style="plain", space=13 * mm)


def letter_story(content: LetterContent, copy_mark: bool = False, *, width: float = LETTER.width) -> list[Flowable]:
    """One copy of the letter as flowables; ``copy_mark`` keeps a small line under the title for 「（甲方存）」."""
    st = letter_styles()
    story: list[Flowable] = [Paragraph(esc(content.title), st["title"])]
    if copy_mark:
        story.append(_CopyMark())
    if content.number.strip():
        story.append(Paragraph(f"编号：{esc(content.number.strip())}", st["number"]))
    story += [Spacer(1, 5 * mm), _party_table(content, width), Spacer(1, 3 * mm)]
    if content.preamble.strip():
        story += [Paragraph(esc(p.strip()), st["body"]) for p in content.preamble.splitlines() if p.strip()]
    if content.period.strip():
        story.append(Paragraph(f"{_heavy('责任期限：')}{esc(content.period.strip())}", st["body"]))
    with_targets = _target_section(content.sections, content.targets)
    for index, section in enumerate(content.sections):
        story.append(Paragraph(esc(section.heading), st["heading"]))
        if index == with_targets:
            for number, target in enumerate(content.targets, start=1):
                text = esc(target_text(target)) + (_heavy(VETO_MARK) if target.veto else "")
                story.append(_clause(number, text))
            if any(t.veto for t in content.targets):
                story.append(Paragraph(esc(VETO_NOTE), st["note"]))
        else:
            story += [_clause(number, _mark_veto(clause)) for number, clause in enumerate(section.clauses, start=1)]
    closing = [Paragraph(esc(content.closing.strip()), st["body"])] if content.closing.strip() else []
    # the closing sentence stays with the signature blocks: a signature page never stands without text
    story.append(KeepTogether([Spacer(1, 3 * mm), *closing, Spacer(1, 9 * mm), _signatures(content, width)]))
    return story


def copy_marks(copies: int) -> list[str]:
    """「甲方存」「乙方存」 for 一式两份; none for a single copy; further copies are numbered."""
    if copies < 1:
        raise ValueError(f"copies must be at least 1, not {copies}")
    if copies == 1:
        return [""]
    return [COPY_MARKS[i] if i < len(COPY_MARKS) else f"第{i + 1}份" for i in range(copies)]


class _CopyMark(Flowable):
    """The line under the title that says whose copy it is; :class:`_CopiesCanvas` writes the text."""

    def wrap(self, avail_width: float, _ah: float) -> tuple[float, float]:
        self.width, self.height = avail_width, letter_styles()["copy"].leading
        return self.width, self.height

    def draw(self) -> None:
        st = letter_styles()["copy"]
        canvas = self.canv
        if isinstance(canvas, _CopiesCanvas):
            canvas.mark_at = (canvas.page_index, *canvas.absolutePosition(self.width / 2, self.height - st.fontSize))


class _CopiesCanvas(NumberedCanvas):
    """Lays a letter out once and saves its pages once per copy, each copy with its own mark.

    The copies of a letter are identical but for 「（甲方存）」/「（乙方存）」, so the second copy
    costs no layout: every page kept by NumberedCanvas is written again, numbered "第 n 页 共 m 页"
    within its copy, with the copy's mark drawn where :class:`_CopyMark` reserved the line.
    """

    marks: tuple[str, ...] = ("",)
    mark_at: tuple[int, float, float] | None = None

    @property
    def page_index(self) -> int:
        return len(self._pages)

    def save(self) -> None:
        pages, mark_at = self._pages, self.mark_at
        st = letter_styles()["copy"]
        for mark in self.marks:
            for index, state in enumerate(pages):
                self.__dict__.update(state)
                self._code = list(state["_code"])  # the page is written once per copy
                if mark and mark_at is not None and mark_at[0] == index:
                    self.saveState()
                    self.setFont(st.fontName, st.fontSize)
                    self.drawCentredString(mark_at[1], mark_at[2], f"（{mark}）")
                    self.restoreState()
                self._draw_footer(len(pages))
                Canvas.showPage(self)
        Canvas.save(self)


def render_letter(content: LetterContent, copies: int = 2, marks: Sequence[str] | None = None) -> bytes:
    """The letter as PDF bytes: ``copies`` copies (or one per mark in ``marks``) in one file, each from a
    new page and numbered on its own."""
    chosen = tuple(copy_marks(copies) if marks is None else marks)
    canvas_class = type("_LetterCanvas", (_CopiesCanvas,), {"marks": chosen})
    return build_pdf(letter_story(content, any(chosen)), layout=LETTER, title=content.title,
                     author=content.party_a.organisation, canvas_class=canvas_class,
                     subject=f"{content.title}（{content.party_b.organisation}）")


# -- files ----------------------------------------------------------------------------------------
def safe_file_name(stem: str, extension: str = "", replacement: str = "_") -> str:
    """``stem`` + ``extension`` usable as a file name on Windows: no <>:"/\\|?* or control characters,
    no trailing dot or space, no reserved device name, not overly long."""
    cleaned = _ILLEGAL.sub(replacement, stem).strip()[:MAX_NAME_CHARS].rstrip(". ")
    if cleaned.split(".")[0].upper() in _RESERVED:
        cleaned = f"_{cleaned}"
    return (cleaned or replacement) + extension


def letter_file_name(content: LetterContent, suffix: str = "") -> str:
    """「2026-青山村村民委员会.pdf」 (``suffix`` e.g. 「-甲方存」 before the extension), Windows-safe."""
    organisation = content.party_b.organisation.strip() or "未命名"
    return safe_file_name(f"{content.year}-{organisation}{suffix}", ".pdf")


def write_letter(content: LetterContent, path: str | Path, copies: int = 2) -> Path:
    """Write the letter to ``path`` (``copies`` copies in one file) atomically; failures in Chinese."""
    return write_atomic(path, render_letter(content, copies))


def write_letter_copies_separately(content: LetterContent, folder: str | Path) -> list[Path]:
    """一式两份 as two files in ``folder``: 「…-甲方存.pdf」 and 「…-乙方存.pdf」."""
    folder = Path(folder)
    return [write_atomic(folder / letter_file_name(content, f"-{mark}"), render_letter(content, marks=[mark]))
            for mark in COPY_MARKS]


def write_letters(contents: Iterable[LetterContent], folder: str | Path, copies: int = 2,
                  progress: ProgressCallback | None = None, cancelled: CancelCheck | None = None) -> list[Path]:
    """One PDF per letter in ``folder`` (:func:`letter_file_name`; a repeated name gets 「（2）」…).

    ``progress(done, total)`` after each letter; ``cancelled()`` is asked before each letter and, if
    true, stops the batch and returns the files written so far. A failed write raises (XiangAnError)
    and leaves the letters already written in place.
    """
    folder = Path(folder)
    letters = list(contents)
    register_fonts()
    copy_marks(copies)  # a bad count fails before any file is written
    written: list[Path] = []
    used: set[str] = set()
    for done, content in enumerate(letters, start=1):
        if cancelled is not None and cancelled():
            break
        name = letter_file_name(content)
        stem = name[:-4]
        n = 2
        while name.casefold() in used:
            name, n = f"{stem}（{n}）.pdf", n + 1
        used.add(name.casefold())
        written.append(write_letter(content, folder / name, copies))
        if progress is not None:
            progress(done, len(letters))
    return written
