"""七有/五有达标情况报告: the township and every village — items, status, gaps and the evidence behind
them — as an A4 PDF for an inspection team.

Plain data in (the evaluation results), a PDF file out; no database, no Qt. Built from the shared
blocks of :mod:`app.documents.pdf_base` (embedded UMing / WenQuanYi subsets, numbered pages, atomic save).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from app.documents.pdf_base import (
    HEADING_FONT,
    PORTRAIT,
    build_pdf,
    clip,
    cn_date,
    data_table,
    esc,
    para,
    write_atomic,
)
from app.errors import XiangAnError

PASSED, FAILED = "达标", "未达标"
PASS_FILL = colors.HexColor("#e3f1e3")
FAIL_FILL = colors.HexColor("#f8dddd")
MAX_EVIDENCE_PER_ITEM = 12  # the report lists examples; the registers hold the full lists
CANCELLED = "已取消，未生成达标情况报告。"
EVIDENCE_KINDS = {
    "teams": "救援队伍", "team_members": "队员", "supplies": "应急物资", "shelters": "避难场所", "plans": "应急预案",
    "drills": "演练记录", "equipment": "指挥平台设备", "comm_tests": "通信测试", "call_trees": "叫应名单",
    "org_documents": "机构制度文件", "contacts": "联系人", "attachment": "附件",
}
# 序号, 单位, 类别, 得分, 结论, 未达标项目 — the portrait content width (168 mm)
OVERVIEW = (("序号", 10 * mm), ("单位", 34 * mm), ("类别", 21 * mm), ("得分", 18 * mm), ("结论", 14 * mm),
            ("未达标项目", 71 * mm))
ITEMS = (("项目", 30 * mm), ("类别", 12 * mm), ("分值", 12 * mm), ("得分", 12 * mm), ("结论", 14 * mm),
         ("差距", 88 * mm))
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ReportHeader:
    township: str
    county: str = ""
    office: str = ""


def _points(value: float) -> str:
    return f"{value:g}"


def _verdict(passed: bool) -> str:
    return PASSED if passed else FAILED


def _status_style(rows: Sequence[Any], column: int, first_row: int = 1) -> list[tuple[Any, ...]]:
    """Shade each status cell: a printed report is read in black and white too, so the word stays."""
    return [("BACKGROUND", (column, r), (column, r), PASS_FILL if row.passed else FAIL_FILL)
            for r, row in enumerate(rows, start=first_row)]


def _level(unit: Any) -> str:
    return "乡镇" if unit.level == "township" else "村（社区）"


def _overview(units: Sequence[Any]) -> Flowable:
    rows = [[str(n), unit.name, _level(unit), f"{_points(unit.score)}/{_points(unit.max_score)}",
             _verdict(unit.passed), "、".join(i.name for i in unit.items if not i.passed) or "—"]
            for n, unit in enumerate(units, start=1)]
    return data_table([t for t, _ in OVERVIEW], rows, [w for _, w in OVERVIEW], centred=(0, 2, 3, 4),
                      cell_style="cell", extra_style=_status_style(units, 4))


def _items_table(unit: Any) -> Flowable:
    rows = [[item.name, item.group, _points(item.max_score), _points(item.score), _verdict(item.passed),
             "\n".join(f"• {gap}" for gap in item.gaps) or "—"] for item in unit.items]
    return data_table([t for t, _ in ITEMS], rows, [w for _, w in ITEMS], centred=(1, 2, 3, 4),
                      extra_style=_status_style(unit.items, 4))


def _evidence_lines(item: Any) -> list[str]:
    seen: set[tuple[str, str]] = set()
    lines: list[str] = []
    for criterion in item.criteria:
        for e in criterion.evidence:
            if (e.kind, e.record_id) in seen:
                continue
            seen.add((e.kind, e.record_id))
            lines.append(f"[{EVIDENCE_KINDS.get(e.kind, e.kind)}] {clip(e.label, 60)}")
    return lines


def _evidence(unit: Any) -> list[Flowable]:
    out: list[Flowable] = [para("佐证材料", "heading")]
    for item in unit.items:
        lines = _evidence_lines(item)
        shown = "；".join(lines[:MAX_EVIDENCE_PER_ITEM]) or "暂无"
        more = f"（另有{len(lines) - MAX_EVIDENCE_PER_ITEM}项，见台账）" if len(lines) > MAX_EVIDENCE_PER_ITEM else ""
        out.append(para(f'<font name="{HEADING_FONT}">{esc(item.name)}</font>：{esc(shown + more)}', "note",
                        markup=True))
    return out


def _unit_section(number: int, unit: Any) -> list[Flowable]:
    title = (f"{number}. {unit.name}（{_level(unit)}，{unit.standard}）　得分 {_points(unit.score)}/"
             f"{_points(unit.max_score)}　{_verdict(unit.passed)}")
    return [KeepTogether([para(title, "heading"), _items_table(unit)]), *_evidence(unit), Spacer(1, 3 * mm)]


def render_readiness_report(header: ReportHeader, summary: Any, progress: Progress | None = None,
                            cancel: Callable[[], bool] | None = None) -> bytes:
    """The PDF as bytes. ``summary`` is a ReadinessSummary (township, villages, evaluated_on)."""
    units = [summary.township, *summary.villages]
    title = f"{header.township}应急管理“七有”“五有”达标情况报告"
    passed = sum(v.passed for v in summary.villages)
    meta = "　".join(x for x in (f"所属县（市、区）：{header.county}" if header.county else "",
                                  f"评估日期：{cn_date(summary.evaluated_on)}") if x)
    standards = "；".join(dict.fromkeys(u.standard for u in units))
    story: list[Flowable] = [
        para(title, "title"), para(meta, "subtitle"), para(f"评估标准：{standards}", "meta"),
        para(f"乡镇七有：{_verdict(summary.township.passed)}（{_points(summary.township.score)}分）；"
             f"村（社区）{len(summary.villages)}个，达标{passed}个，未达标{len(summary.villages) - passed}个。", "summary"),
        Spacer(1, 2 * mm), _overview(units), Spacer(1, 4 * mm),
    ]
    for number, unit in enumerate(units, start=1):
        if cancel is not None and cancel():
            raise XiangAnError(CANCELLED)
        story += _unit_section(number, unit)
        if progress is not None:
            progress(number, len(units), unit.name)
    office = header.office or f"{header.township}应急管理办公室"
    story += [Spacer(1, 6 * mm), para(office, "right"), para(cn_date(summary.evaluated_on), "right")]
    return build_pdf(story, layout=PORTRAIT, title=title, author=office, subject="七有五有达标情况",
                     footer_left=f"{header.township}　制表：乡安")


def write_readiness_report(path: str | os.PathLike[str], header: ReportHeader, summary: Any,
                           progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> Path:
    """Write the report to ``path`` atomically (never a half-written file, also when cancelled)."""
    data = render_readiness_report(header, summary, progress, cancel)
    if cancel is not None and cancel():
        raise XiangAnError(CANCELLED)
    return write_atomic(path, data)
