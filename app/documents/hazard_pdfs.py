"""隐患排查治理 documents: 整改通知书, 复查/验收意见书, the 台账 and the monthly major-hazard report, as PDFs.

Plain data in (a HazardDetail or ledger row dicts from HazardService, the township profile dict), an
A4 PDF out, written atomically. Layout follows the usual forms of township safety offices: centred
title, body in a Song/Ming face, seal and signature blocks for handwriting, 一式两份 notes, page numbers.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from app.documents.pdf_base import (
    BLANK_DATE,
    HEADING_FONT,
    LANDSCAPE,
    PORTRAIT,
    base_table_style,
    clip,
    cn_date,
    data_table,
    esc,
    form_table,
    gap,
    para,
    photo,
    signature_block,
    styles,
    to_date,
    write_pdf,
)
from app.models.hazards import MAJOR, HazardAction, HazardStatus

SAFETY_LAW = "《中华人民共和国安全生产法》"
MAX_PHOTO_PAIRS = 3
BLANK = "（未编号）"
TABLE_TEXT_LIMIT = 300  # characters of one ledger/report cell (a row must fit on a page; the forms have it all)
FORM_TEXT_LIMIT = 800
LEDGER_COLUMNS = (  # key in a fetch_rows() dict, header, width (273 mm: landscape A4 less margins), centred
    ("_seq", "序号", 9 * mm, True),
    ("number", "编号", 17.5 * mm, True),
    ("found_on", "发现日期", 18.5 * mm, True),
    ("village", "村/社区", 17 * mm, False),
    ("unit_name", "单位/场所", 28 * mm, False),
    ("sector", "行业", 15 * mm, False),
    ("description", "隐患描述", 49 * mm, False),
    ("level", "等级", 9 * mm, True),
    ("measures", "整改措施", 38 * mm, False),
    ("responsible_person", "责任人", 14 * mm, True),
    ("deadline", "整改时限", 18.5 * mm, True),
    ("status_text", "状态", 21 * mm, True),
    ("closed_on", "销号日期", 18.5 * mm, True),
)
MONTHLY_COLUMNS = (  # header, width (273 mm), centred
    ("序号", 9 * mm, True),
    ("编号", 17.5 * mm, True),
    ("单位/场所", 27 * mm, False),
    ("隐患描述及判定依据", 47 * mm, False),
    ("挂牌督办", 27 * mm, True),
    ("整改时限", 18.5 * mm, True),
    ("整改措施", 42 * mm, False),
    ("资金（元）", 17 * mm, True),
    ("责任单位/责任人", 26 * mm, False),
    ("整改进展", 42 * mm, False),
)


class HazardDetailLike(Protocol):
    """What the documents read from app.services.hazards.HazardDetail (services sit above documents)."""

    values: dict[str, Any]
    events: list[Any]
    photos: dict[str, list[Any]]


# -- shared pieces ------------------------------------------------------------------------------
def _get(values: Mapping[str, Any], key: str) -> str:
    value = values.get(key)
    return "" if value is None else str(value).strip()


def issuer(township: Mapping[str, Any]) -> str:
    """Who issues and seals the forms: the office named in the profile, else 「乡镇名」人民政府."""
    office = _get(township, "office_name")
    name = _get(township, "name")
    return office or (f"{name}人民政府" if name else "乡镇人民政府")


def _font(text: str, font: str = HEADING_FONT) -> str:
    return f'<font name="{font}">{text}</font>'


def _labelled(label: str, text: str, style: str = "body") -> Paragraph:
    """「标签：」in the heavier face followed by the (escaped) text."""
    return para(f"{_font(esc(label) + '：')}{esc(text)}", style, markup=True)


def _title_block(township: Mapping[str, Any], title: str, number_line: str = "",
                 subtitle: str = "") -> list[Flowable]:
    story: list[Flowable] = [para(issuer(township), "issuer"), para(title, "title")]
    if subtitle:
        story.append(para(subtitle, "subtitle"))
    if number_line:
        story.append(para(number_line, "doc_number"))
    else:
        story.append(Spacer(1, 3 * mm))
    return story


def _level_text(values: Mapping[str, Any]) -> str:
    level = _get(values, "level")
    return f"{level}事故隐患" if level and not level.endswith("隐患") else level


def _responsible(values: Mapping[str, Any]) -> str:
    return " ".join(x for x in (_get(values, "responsible_unit"), _get(values, "responsible_person")) if x)


def _funds(values: Mapping[str, Any]) -> str:
    funds = _get(values, "funds")
    return f"{funds}元" if funds else ""


# -- 隐患整改通知书 -------------------------------------------------------------------------------
def write_notice(detail: HazardDetailLike, township: dict[str, Any], path: Path) -> Path:
    """隐患整改通知书（责令限期整改）: usually one A4 page, ending with the seal and the unit's 签收 strip.

    Blank number and dates print as "（未编号）" and spaces to fill in by hand; printed 一式两份.
    """
    v = detail.values
    office = issuer(township)
    number = _get(v, "notice_number") or BLANK
    unit = _get(v, "unit_name")
    story = _title_block(township, "隐患整改通知书", number, subtitle="（责令限期整改）")
    story.append(para(f"{unit}：", "plain"))
    story.append(para("经检查，你单位存在以下事故隐患：", "body"))
    for label, key in (("隐患部位", "location"), ("隐患描述", "description")):
        if _get(v, key):
            story.append(_labelled(label, _get(v, key)))
    level_line = _level_text(v)
    if _get(v, "level") == MAJOR and _get(v, "level_basis"):
        level_line += f"（判定依据：{_get(v, 'level_basis')}）"
    found = f"（隐患编号：{_get(v, 'number')}，发现日期：{cn_date(v.get('found_on'), '')}）"
    story.append(_labelled("隐患等级", level_line + found))
    deadline = cn_date(v.get("deadline"))
    story.append(para(
        f"根据{SAFETY_LAW}第六十五条等规定，现责令你单位于"
        f"{_font(esc(deadline))}前整改完毕。", "body", markup=True))
    if _get(v, "level") == MAJOR:
        story.append(para("该隐患为重大事故隐患。在隐患排除前或者排除过程中无法保证安全的，你单位应当从危险区域内"
                          "撤出作业人员，暂时停产停业或者停止使用相关设施、设备。", "body"))
    if _get(v, "measures"):
        story.append(_labelled("整改措施及要求", _get(v, "measures")))
    if _get(v, "temporary_measures"):
        story.append(_labelled("整改完成前应落实的临时管控措施", _get(v, "temporary_measures")))
    if _responsible(v):
        extra = f"；整改资金：{_funds(v)}" if _funds(v) else ""
        story.append(_labelled("整改责任单位/责任人", _responsible(v) + extra))
    contact = f"联系电话：{_get(township, 'office_phone')}。" if _get(township, "office_phone") else ""
    story.append(para(
        f"你单位应当按期完成整改，整改完毕后及时将整改情况书面报告{office}，并申请复查（验收）。"
        f"逾期未整改或者整改不到位的，将依法依规处理。{contact}", "body"))
    if _get(v, "inspectors"):
        story.append(Spacer(1, 2 * mm))
        story.append(_labelled("检查人员", _get(v, "inspectors"), "plain"))
    seal_width = 88 * mm
    seal = signature_block(
        [[], ["", f"{esc(office)}（盖章）", esc(cn_date(v.get("notice_issued_on")))]],
        PORTRAIT.width, style="center", space=10 * mm, widths=[PORTRAIT.width - seal_width, seal_width])
    receipt = _receipt_box("被检查单位签收：本通知书已收到。", PORTRAIT.width)
    copies = para(f"本通知书一式两份，一份送达被检查单位，一份由{office}存档。", "note")
    story.append(KeepTogether([Spacer(1, 2 * mm), seal, Spacer(1, 8 * mm), receipt, Spacer(1, 2 * mm), copies]))
    return write_pdf(path, story, layout=PORTRAIT, title=f"隐患整改通知书 {number} {unit}", author=issuer(township),
                     subject="隐患整改通知书")


def _receipt_box(heading: str, width: float) -> Table:
    st = styles()
    lines = [
        Paragraph(esc(heading), st["plain"]),
        Spacer(1, 5 * mm),
        Paragraph(f"签收人（签字）：{gap(10)}签收日期：{BLANK_DATE}", st["plain"]),
    ]
    table = Table([[lines]], colWidths=[width])
    table.setStyle(TableStyle([*base_table_style(padding=6), ("BOX", (0, 0), (-1, -1), 0.8, "#000000")]))
    return table


# -- 整改复查/验收意见书 ----------------------------------------------------------------------------
def _review_result(detail: HazardDetailLike) -> bool | None:
    """True/False for the latest 验收通过/不通过 in the trail; None if nobody has reviewed it yet."""
    for event in reversed(detail.events):
        action = getattr(event, "action", "")
        if action == HazardAction.ACCEPT.value:
            return True
        if action == HazardAction.REJECT.value:
            return False
    status = _get(detail.values, "status")
    if status in (HazardStatus.ACCEPTED.value, HazardStatus.CLOSED.value):
        return True
    return None


def write_review(detail: HazardDetailLike, township: dict[str, Any], path: Path) -> Path:
    """整改复查（验收）意见书: the hazard, what was done, before/after photos side by side, the verdict."""
    v = detail.values
    office = issuer(township)
    w = PORTRAIT.width
    label_w, value_w = 27 * mm, w / 2 - 27 * mm
    widths = [label_w, value_w, label_w, value_w]
    rows: list[list[Any]] = [
        ["单位/场所", _get(v, "unit_name"), "隐患编号", _get(v, "number")],
        ["所在村/社区", _get(v, "village"), "整改通知书", _get(v, "notice_number") or BLANK],
        ["隐患部位", _get(v, "location"), "", ""],
        ["隐患描述", clip(_get(v, "description"), FORM_TEXT_LIMIT), "", ""],
        ["隐患等级", _level_text(v), "行业领域", _get(v, "sector")],
        ["发现日期", cn_date(v.get("found_on"), ""), "整改时限", cn_date(v.get("deadline"), "")],
        ["整改措施", clip(_get(v, "measures"), FORM_TEXT_LIMIT), "", ""],
        ["整改责任人", _responsible(v), "整改资金", _funds(v)],
        ["整改完成日期", cn_date(v.get("completed_on"), ""), "当前状态", _get(v, "status_text") or _get(v, "status")],
    ]
    spans = [((1, r), (3, r)) for r in (2, 3, 6)]
    labels = [(c, r) for r in range(len(rows)) for c in (0, 2)]
    basics = form_table(rows, widths, labels=labels, spans=spans)

    result = _review_result(detail)
    boxes = gap(3).join(f"{'■' if result is want else '□'} {text}"
                        for want, text in ((True, "通过，同意销号"), (False, "不通过，继续整改")))
    opinion = clip(_get(v, "review_opinion"), FORM_TEXT_LIMIT) if result is not None else ""
    verdict = _verdict_table(opinion, boxes, v, result, widths)

    story = _title_block(township, "隐患整改复查（验收）意见书", f"隐患编号：{_get(v, 'number')}")
    # The form to sign fills page 1; the photo comparison follows as its attachment (附).
    story += [
        para("一、隐患及整改情况", "heading"), basics,
        KeepTogether([
            para("二、复查（验收）意见", "heading"), verdict, Spacer(1, 4 * mm),
            signature_block([
                ["被检查单位（盖章）", "", "负责人（签字）：", para(BLANK_DATE, "sign_right", markup=True)],
                ["复查（验收）单位（盖章）", "", "复查（验收）人员（签字）：", para(BLANK_DATE, "sign_right", markup=True)],
            ], w, style="sign", space=18 * mm, boxed=True),
            Spacer(1, 2 * mm),
            para(f"本意见书一式两份，被检查单位和{office}各存一份。附：整改前后照片对照。", "note"),
        ]),
        para("附：整改前后照片对照", "heading"), _photo_pairs(detail, w),
    ]
    return write_pdf(path, story, layout=PORTRAIT, title=f"隐患整改复查（验收）意见书 {_get(v, 'number')}",
                     author=issuer(township), subject="隐患整改复查（验收）意见书")


def _verdict_table(opinion: str, boxes: str, v: Mapping[str, Any], result: bool | None,
                   widths: Sequence[float]) -> Table:
    reviewed = result is not None
    rows = [
        ["复查（验收）意见", _OpinionBox(opinion, sum(widths[1:])), "", ""],
        ["复查（验收）结论", boxes, "", ""],
        ["复查（验收）人员", _get(v, "reviewer") if reviewed else "", "复查日期",
         cn_date(v.get("reviewed_on")) if reviewed else para(BLANK_DATE, "cell", markup=True)],
    ]
    return form_table(rows, widths, labels=[(0, 0), (0, 1), (0, 2), (2, 2)],
                      spans=[((1, 0), (3, 0)), ((1, 1), (3, 1))])


class _OpinionBox(Flowable):
    """The opinion text, with at least room for three handwritten lines when empty or short."""

    MIN_HEIGHT = 26 * mm

    def __init__(self, text: str, width: float) -> None:
        super().__init__()
        self.paragraph = para(text, "cell")
        self.box_width = width

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        _w, h = self.paragraph.wrap(aw, ah)
        self._text_height = h
        return aw, max(h, self.MIN_HEIGHT)

    def draw(self) -> None:
        height = max(self._text_height, self.MIN_HEIGHT)
        self.paragraph.drawOn(self.canv, 0, height - self._text_height)


def _photo_pairs(detail: HazardDetailLike, width: float) -> Table:
    """整改前 | 整改后 side by side, up to three pairs; a missing side shows a grey box."""
    before = list(detail.photos.get("before", []))[:MAX_PHOTO_PAIRS]
    after = list(detail.photos.get("after", []))[:MAX_PHOTO_PAIRS]
    st = styles()
    col = width / 2
    box_w, box_h = col - 10 * mm, 62 * mm
    data: list[list[Any]] = [[Paragraph("整改前", st["caption"]), Paragraph("整改后", st["caption"])]]
    pairs = list(itertools.zip_longest(before, after)) or [(None, None)]
    for i, pair in enumerate(pairs, start=1):
        cells = []
        for which, item in zip(("整改前", "整改后"), pair, strict=True):
            if item is None:
                cells.append([photo(None, box_w, min(box_h, box_w * 3 / 4), missing_text="未附照片")])
            else:
                cells.append([photo(getattr(item, "path", None), box_w, box_h),
                              Spacer(1, 1.5 * mm), Paragraph(f"{which}照片{i}", st["small_center"])])
        data.append(cells)
    table = Table(data, colWidths=[col, col], repeatRows=1)
    table.setStyle(TableStyle([
        *base_table_style(padding=4, header_rows=1),
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 1), (-1, -1), "MIDDLE"),
    ]))
    return table


# -- 台账 ---------------------------------------------------------------------------------------
def write_ledger(rows: list[dict[str, Any]], township: dict[str, Any], path: Path,
                 title: str = "隐患排查治理台账") -> Path:
    """The ledger on landscape A4: one row per hazard, header repeated on every page."""
    name = _get(township, "name")
    full_title = title if not name or title.startswith(name) else f"{name}{title}"
    centred = [i for i, column in enumerate(LEDGER_COLUMNS) if column[3]]
    body = []
    for seq, row in enumerate(rows, start=1):
        body.append([str(seq) if key == "_seq" else clip(_get(row, key), TABLE_TEXT_LIMIT)
                     for key, *_rest in LEDGER_COLUMNS])
    if not body:
        body.append(["", "", "", "", "（无隐患记录）", *[""] * (len(LEDGER_COLUMNS) - 5)])
    table = data_table([c[1] for c in LEDGER_COLUMNS], body, [c[2] for c in LEDGER_COLUMNS], centred=centred,
                       extra_style=[("VALIGN", (0, 1), (-1, -1), "TOP")])
    closed = sum(1 for r in rows if _get(r, "closed_on"))
    counts = f"共 {len(rows)} 项（已销号 {closed} 项，未销号 {len(rows) - closed} 项）"
    story: list[Flowable] = [
        para(full_title, "title"),
        _meta_line(f"填报单位：{esc(issuer(township))}（盖章）{gap(2)}{counts}", f"制表日期：{cn_date(date.today())}"),
        Spacer(1, 2 * mm),
        table,
        Spacer(1, 5 * mm),
        para(f"填表人：{gap(12)}审核人：{gap(12)}单位负责人：", "meta", markup=True),
    ]
    return write_pdf(path, story, layout=LANDSCAPE, title=full_title, author=issuer(township),
                     subject="隐患排查治理台账", footer_left=name)


def _meta_line(left: str, right: str, width: float = LANDSCAPE.width) -> Table:
    table = Table([[para(left, "meta", markup=True), para(right, "meta_right")]],
                  colWidths=[width - 70 * mm, 70 * mm])
    table.setStyle(TableStyle([*base_table_style(grid=False, padding=0), ("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    return table


# -- 重大事故隐患整改进展月报 ------------------------------------------------------------------------
def _month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    last = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
    return first, last


def _latest_step(row: Mapping[str, Any]) -> str:
    """The most recent dated step a ledger row shows (rows carry dates, not the event trail)."""
    if _get(row, "latest_step"):
        return _get(row, "latest_step")
    steps = [
        ("closed_on", "已销号"),
        ("reviewed_on", "复查验收"),
        ("completed_on", "整改完成，申请验收"),
        ("extension_requested_on", "申请延期"),
        ("notice_issued_on", f"下达整改通知书{_get(row, 'notice_number')}"),
        ("reported_upward_on", "报告上级"),
        ("found_on", "登记"),
    ]
    dated = [(d, text) for key, text in steps if (d := to_date(row.get(key)))]
    if not dated:
        return ""
    when, text = max(dated, key=lambda item: item[0])
    return f"{cn_date(when)}{text}"


def monthly_summary(rows: Sequence[Mapping[str, Any]], year: int, month: int,
                    today: date | None = None) -> dict[str, int]:
    """新增/销号/在改/逾期 counts of the major hazards among ``rows`` for the month.

    新增: found in the month; 销号: closed in the month; 在改: found by the month's end and not closed
    by then; 逾期: of those, deadline before the as-of date (month end, or today while the month runs)
    and not accepted by then.
    """
    first, last = _month_bounds(year, month)
    as_of = min(last, today or date.today())
    counts = {"new": 0, "closed": 0, "open": 0, "overdue": 0}
    for row in _major_rows(rows, year, month):
        found, closed = to_date(row.get("found_on")), to_date(row.get("closed_on"))
        if found and first <= found <= last:
            counts["new"] += 1
        if closed and first <= closed <= last:
            counts["closed"] += 1
        if closed is None or closed > last:
            counts["open"] += 1
            deadline, reviewed = to_date(row.get("deadline")), to_date(row.get("reviewed_on"))
            accepted = _get(row, "status") in (HazardStatus.ACCEPTED.value, HazardStatus.CLOSED.value) \
                and reviewed is not None and reviewed <= as_of
            if deadline and deadline < as_of and not accepted:
                counts["overdue"] += 1
    return counts


def _major_rows(rows: Sequence[Mapping[str, Any]], year: int, month: int) -> list[Mapping[str, Any]]:
    """Major hazards that concern the month: found by its end and not closed before it began."""
    first, last = _month_bounds(year, month)
    out = []
    for row in rows:
        if _get(row, "level") != MAJOR:
            continue
        found, closed = to_date(row.get("found_on")), to_date(row.get("closed_on"))
        if found and found > last:
            continue
        if closed and closed < first:
            continue
        out.append(row)
    return out


def _supervision(row: Mapping[str, Any]) -> str:
    if not _get(row, "supervised"):
        return "否"
    level = _get(row, "supervision_level")
    doc = _get(row, "supervision_doc")
    return "\n".join(x for x in (f"{level}挂牌督办" if level else "挂牌督办", doc) if x)


def write_monthly_report(rows: list[dict[str, Any]], township: dict[str, Any], year: int, month: int,
                         path: Path) -> Path:
    """重大事故隐患整改进展月报 for ``year``-``month`` (landscape A4) from ledger rows."""
    name = _get(township, "name")
    major = _major_rows(rows, year, month)
    c = monthly_summary(rows, year, month)
    summary = (f"本月新增 {c['new']} 项，销号 {c['closed']} 项，在改 {c['open']} 项，逾期 {c['overdue']} 项。"
               f"（本表列出 {len(major)} 项重大事故隐患）")
    body: list[list[Any]] = []
    for seq, row in enumerate(major, start=1):
        description = _get(row, "description")
        if _get(row, "level_basis"):
            description += f"\n判定依据：{_get(row, 'level_basis')}"
        progress = "\n".join(x for x in (_get(row, "status_text"), _latest_step(row)) if x)
        body.append([clip(text, TABLE_TEXT_LIMIT) for text in (
            str(seq), _get(row, "number"), _get(row, "unit_name"), description, _supervision(row),
            _get(row, "deadline"), _get(row, "measures"), _get(row, "funds"), _responsible(row), progress,
        )])
    extra: list[tuple[Any, ...]] = [("VALIGN", (0, 1), (-1, -1), "TOP")]
    if not body:
        body.append(["", "", "本月无重大事故隐患", *[""] * (len(MONTHLY_COLUMNS) - 3)])
        extra.append(("SPAN", (2, 1), (-1, 1)))
    table = data_table([h for h, _w, _c in MONTHLY_COLUMNS], body, [w for _h, w, _c in MONTHLY_COLUMNS],
                       centred=[i for i, (_h, _w, centre) in enumerate(MONTHLY_COLUMNS) if centre],
                       extra_style=extra)
    phone = _get(township, "office_phone")
    story: list[Flowable] = [
        para(f"{name}重大事故隐患整改进展月报", "title"),
        para(f"（{year}年{month}月）", "subtitle"),
        Spacer(1, 2 * mm),
        _meta_line(f"填报单位：{esc(issuer(township))}（盖章）", f"填报日期：{cn_date(date.today())}"),
        Spacer(1, 1.5 * mm),
        para(summary, "summary"),
        Spacer(1, 1.5 * mm),
        table,
        Spacer(1, 6 * mm),
        para(f"填报人：{gap(12)}审核人：{gap(12)}单位负责人：{gap(12)}"
             + (f"联系电话：{esc(phone)}" if phone else ""), "meta", markup=True),
    ]
    return write_pdf(path, story, layout=LANDSCAPE, title=f"{name}重大事故隐患整改进展月报（{year}年{month}月）",
                     author=issuer(township), subject="重大事故隐患整改进展月报", footer_left=name)
