"""村（社区）基本情况表: the township's villages and communities as an A4 PDF for the office wall and the county.

Plain data in, a PDF file out; no database, no Qt. Laid out with the shared building blocks of
:mod:`app.documents.pdf_base` (embedded UMing / WenQuanYi subsets, numbered pages, atomic save).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from app.documents.pdf_base import (
    HEADER_FILL,
    PORTRAIT,
    build_pdf,
    cn_date,
    data_table,
    para,
    register_fonts,
    write_atomic,
)

# 序号, 名称, 类型, 区划代码, 人口, 户数, 网格数, 负责人, 负责人电话: the portrait A4 content width (168 mm)
COLUMNS = (
    ("序号", 10 * mm), ("村（社区）名称", 28 * mm), ("类型", 13 * mm), ("区划代码", 29 * mm), ("人口", 15 * mm),
    ("户数", 14 * mm), ("网格数", 13 * mm), ("负责人", 17 * mm), ("负责人电话", 29 * mm),
)
NUMBER_COLUMNS = (4, 5, 6)


@dataclass(frozen=True)
class RosterHeader:
    """Who the table is from: printed under the title."""

    township: str
    county: str = ""
    office: str = ""
    office_phone: str = ""


@dataclass(frozen=True)
class VillageLine:
    name: str
    kind: str = ""
    code: str = ""
    population: int | None = None
    households: int | None = None
    grid_count: int | None = None
    head_name: str = ""
    head_phone: str = ""


def _number(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _total(values: Sequence[int | None]) -> str:
    known = [v for v in values if v is not None]
    return _number(sum(known)) if known else ""


def _meta(header: RosterHeader, made_on: date) -> Table:
    who = [f"所属县（市、区）：{header.county}"] if header.county else []
    who.append(f"填报单位：{header.office or header.township + '应急管理办公室'}")
    rows = [[para("　".join(who), "meta"), para(f"制表日期：{cn_date(made_on)}", "meta_right")]]
    if header.office_phone:
        rows.append([para(f"值班电话：{header.office_phone}", "meta"), ""])
    table = Table(rows, colWidths=[PORTRAIT.width - 45 * mm, 45 * mm])
    body, _heading = register_fonts()
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), body), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    return table


def _table(villages: Sequence[VillageLine]) -> Flowable:
    rows: list[list[object]] = [
        [str(number), v.name, v.kind, v.code, _number(v.population), _number(v.households),
         _number(v.grid_count), v.head_name, v.head_phone]
        for number, v in enumerate(villages, start=1)
    ]
    rows.append(["", "合计", f"{len(villages)}个", "", _total([v.population for v in villages]),
                 _total([v.households for v in villages]), _total([v.grid_count for v in villages]), "", ""])
    _body, heading = register_fonts()
    return data_table(
        [title for title, _ in COLUMNS], rows, [width for _, width in COLUMNS], centred=(0, 2), cell_style="cell",
        extra_style=[
            *[("ALIGN", (i, 1), (i, -1), "RIGHT") for i in NUMBER_COLUMNS],
            ("BACKGROUND", (0, -1), (-1, -1), HEADER_FILL),
            ("FONT", (0, -1), (-1, -1), heading, 10.5),
        ],
    )


def render_village_roster(header: RosterHeader, villages: Sequence[VillageLine], made_on: date) -> bytes:
    """The PDF as bytes: title, who made it and when, the table (header repeated on every page)."""
    title = f"{header.township}村（社区）基本情况表"
    story = [para(title, "title"), _meta(header, made_on), Spacer(1, 2 * mm), _table(villages)]
    return build_pdf(story, layout=PORTRAIT, title=title, author=header.office or header.township,
                     subject="村（社区）基本情况", footer_left=f"{header.township}　制表：乡安")


def write_village_roster(path: str | os.PathLike[str], header: RosterHeader, villages: Sequence[VillageLine],
                         made_on: date | None = None) -> Path:
    """Write the roster to ``path`` (beside it first, then renamed: never a half-written file)."""
    return write_atomic(path, render_village_roster(header, villages, made_on or date.today()))
